"""The tutorial notebooks in notebooks/ run from top to bottom in a Jupyter kernel (nbclient)
without an error, and their results are what they say: the LSTM by hand equals the layer,
the stepwise NetStateObject equals the whole sequence, the trained nets classify well, the
live training panel ends finished with its loss curves."""

import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"


def run(name: str):
    for package in ("nbclient", "nbformat", "ipykernel", "matplotlib"):
        pytest.importorskip(
            package, reason=f"the notebooks need {package}: pip install 'netgraph[notebook]'"
        )
    import nbclient
    import nbformat

    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}
    )
    client.execute()  # raises CellExecutionError on the first cell that fails
    return nb


def output(nb, source_part: str) -> str:
    """The text (or HTML) of the outputs of the one code cell whose source contains
    ``source_part`` (or, for a part that starts with "=", is it)."""
    cells = [c for c in nb.cells if c.cell_type == "code"]
    if source_part.startswith("="):
        found = [c for c in cells if c.source.strip() == source_part[1:]]
    else:
        found = [c for c in cells if source_part in c.source]
    assert len(found) == 1, f"{len(found)} cells with {source_part!r}"
    (cell,) = found
    texts = []
    for o in cell.outputs:
        assert o.output_type != "error", o
        texts.append(o.get("text", "") + "".join(str(v) for v in o.get("data", {}).values()))
    return "\n".join(texts)


def number(text: str) -> float:
    """The number in ``np.float64(1.2e-16)`` or ``1.0``."""
    return float(text.split("(")[-1].split(")")[0].split("\n")[0])


def test_lstm_notebook():
    nb = run("lstm.ipynb")
    assert number(output(nb, "by_hand.append(s)")) < 1e-12
    assert number(output(nb, "steps = np.concatenate")) < 1e-6
    picture = output(nb, "graph = NetGraph(")
    assert "<svg" in picture and ">State<" in picture.replace("\n", "<")
    panel = output(nb, "results = NetTrain(")
    assert "finished in" in panel and "round 40/40" in panel and "<svg" in panel
    assert number(output(nb, 'NetMeasurements(trained, (strings, labels), "Accuracy")')) >= 0.95
    assert "'xxxxyyyyx': 'Greater'" in output(nb, "tests = [")
    assert "<svg" in output(nb, '"SummaryGraphic"')  # a Figure made without pyplot shows
    assert 'port "Input" expects rank 2' in output(nb, "lstm(np.ones(4))")


def test_sequence_classification_notebook():
    nb = run("sequence_classification.ipynb")
    assert number(output(nb, "accuracy = np.mean")) >= 0.85
    assert "<svg" in output(nb, "=results") and "<svg" in output(nb, "results = NetTrain(")
    assert output(nb, "Import(path) == trained").startswith("(True, [")
