"""What a notebook shows (``_repr_html_``): a net's summary box (ports, layer table or options
and arrays, counts, a picture of the graph), NetTrainResultsObject (loss plot, figures,
measurements, properties), NetStateObject (the states), NetEncoder and NetDecoder. The tables
are read back with an HTML parser and compared cell by cell."""

import sys
from html.parser import HTMLParser

import numpy as np
import pytest

from netgraph import *


class Tables(HTMLParser):
    """Every table row's cells as text, and the titles of the <details> sections."""

    def __init__(self, text: str):
        super().__init__()
        self.rows, self.sections, self.row, self.cell, self.where = [], [], None, None, []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.where.append(tag)
        if tag == "tr":
            self.row = []
        elif tag in ("td", "th"):
            self.cell = ""

    def handle_endtag(self, tag):
        self.where.pop()
        if tag in ("td", "th"):
            self.row.append(self.cell.strip())
            self.cell = None
        elif tag == "tr":
            self.rows.append(self.row)

    def handle_data(self, data):
        if self.cell is not None:
            self.cell += data
        elif self.where and self.where[-1] == "summary":
            self.sections.append(data)


def graph():
    return NetGraph(
        {"a": LinearLayer(3), "b": ElementwiseLayer("Tanh"), "c": NetChain([LinearLayer(4)]),
         "loss": MeanSquaredLossLayer()},
        [("a", "b", "c"), ("c", "loss"), ("a", NetPort("A"))],
        input=2,
    )  # fmt: skip


def test_a_net_shows_its_ports_layers_counts_and_picture():
    pytest.importorskip("matplotlib", reason="the summary's picture draws with matplotlib")
    h = graph()._repr_html_()
    t = Tables(h)
    assert ["input", "Input", "(2,)"] in t.rows and ["input", "Target", "(4,)"] in t.rows
    assert ["output", "A", "(3,)"] in t.rows and ["output", "Loss", "Real"] in t.rows
    assert ["layer", "type", "output", "elements"] in t.rows
    assert ["c/1", "LinearLayer", "(4,)", "16 (uninitialized)"] in t.rows
    assert t.sections == ["ports", "layers", "graph"]
    assert "4 layers, 4 arrays, 25 elements" in h
    assert h.count("<svg") == 1 and ">MeanSquaredLossLayer<" in h.replace("\n", "<")
    # a wide picture keeps its size (readable labels) in a box that scrolls
    assert '<div style="overflow-x:auto"><svg style="max-width:none" ' in h


def test_without_matplotlib_the_summary_has_no_picture(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    t = Tables(h := graph()._repr_html_())
    assert t.sections == ["ports", "layers"] and "<svg" not in h


def test_a_layer_shows_its_options_ports_and_arrays():
    lstm = LongShortTermMemoryLayer(3, input=("Varying", 2), dropout=0.25)
    t = Tables(lstm._repr_html_())
    assert ["state", "CellState", "(3,)"] in t.rows
    assert ["InputGateInputWeights", "(3, 2)", "uninitialized"] in t.rows
    assert ["InputGateInputWeights", "(3, 2)", "float32"] in Tables(
        NetInitialize(lstm)._repr_html_()
    ).rows
    assert "dropout={&#x27;VariationalWeights&#x27;: 0.25}" in lstm._repr_html_()


def test_training_results_show_the_loss_plot_figures_and_measurements():
    pytest.importorskip("matplotlib", reason="the loss plot draws with matplotlib")
    x = np.linspace(-1, 1, 24)[:, None]
    y = np.where(x[:, 0] > 0, "pos", "neg")
    net = NetChain(
        [LinearLayer(2), SoftmaxLayer()], input=1, output=NetDecoder("Class", ["neg", "pos"])
    )
    r = NetTrain(net, (x, list(y)), "All", max_training_rounds=4, batch_size=8, random_seed=0,
                 validation_set=(x, list(y)), training_progress_reporting=None,
                 training_progress_measurements=["Accuracy"])  # fmt: skip
    h = r._repr_html_()
    t = Tables(h)
    assert ["rounds", "4"] in t.rows and ["batches", "12"] in t.rows
    assert ["final round loss", f"{r['RoundLossList'][-1]:.5g}"] in t.rows
    assert ["stopped", "MaxTrainingRounds"] in t.rows
    accuracy = r["ValidationMeasurements"]["Accuracy"]
    assert ["Accuracy", f"{accuracy:.4g}"] in t.rows
    assert t.sections == ["run", "round measurements", "validation measurements", "properties"]
    assert h.count("<svg") == 1 and "validation loss" in h


def test_a_state_object_shows_its_states():
    lstm = NetInitialize(LongShortTermMemoryLayer(2, input=("Varying", 1)), random_seed=0)
    so = NetStateObject(lstm)
    assert "zeros" in so._repr_html_()
    so(np.array([[1.0], [2.0]]))
    rows = Tables(so._repr_html_()).rows
    state = so.states[NetPort("State")]
    assert ["state", "shape", "values"] in rows
    (row,) = [r for r in rows if r[0] == "NetPort('State')"]
    assert row[1] == "(2,)"
    shown = np.array(row[2].strip("[]").split(), dtype=float)
    np.testing.assert_allclose(shown, state, atol=1e-4)


def test_coders_show_their_kind_port_and_labels():
    t = Tables(NetDecoder("Class", list("abcdefghijklmnopqrstuvwxyz"))._repr_html_())
    assert ["takes", "(26,)"] in t.rows
    (labels,) = [r[1] for r in t.rows if r[0] == "labels"]
    assert labels.startswith("'a', 'b'") and labels.endswith("(26 in all)")
    t = Tables(NetEncoder("Characters", "xy")._repr_html_())
    assert ["gives", "(Varying, Restricted('Integer', 2))"] in t.rows
    assert ["characters", "'x', 'y'"] in t.rows and ["form", "'Index'"] in t.rows
