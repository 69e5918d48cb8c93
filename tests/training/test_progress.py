"""NetTrain's progress line: live in a terminal, ending at 100 %; one line per round when the
output is not a terminal (a log file), never a carriage return there."""

import io

import numpy as np
import pytest

from netgraph import LinearLayer, NetTrain
from netgraph.training import progress


class Terminal(io.StringIO):
    def isatty(self):
        return True


def train(out, monkeypatch, rounds=3):
    monkeypatch.setattr(progress.sys, "stderr", out)
    x = np.linspace(-1, 1, 64)[:, None]
    NetTrain(
        LinearLayer(1, input=1),
        (x, 2 * x),
        max_training_rounds=rounds,
        batch_size=8,
        random_seed=0,
        validation_set=(x[:8], 2 * x[:8]),
    )
    return out.getvalue()


def test_a_log_file_gets_one_line_per_round(monkeypatch):
    text = train(io.StringIO(), monkeypatch)
    assert "\r" not in text
    lines = text.splitlines()
    assert [line.split()[1] for line in lines] == ["1/3", "2/3", "3/3"], text
    assert all("loss" in line and "val" in line and "ex/s" in line for line in lines)


def test_a_terminal_line_ends_at_100_percent(monkeypatch):
    text = train(Terminal(), monkeypatch)
    assert text.count("\n") == 1 and text.endswith("\n")
    last = text.rstrip("\n").split("\r")[-1]
    assert last.startswith("round 3/3") and "100%" in last and "0 s left" in last, last


class Handle:
    """A stand-in for IPython's display handle: keeps every HTML it is given."""

    def __init__(self, first):
        self.shown = [first]

    def update(self, obj, raw=False):
        assert raw and set(obj) == {"text/html", "text/plain"}
        self.shown.append(obj["text/html"])


@pytest.fixture
def handles(monkeypatch):
    """Every panel's display handle, with the panel chosen as in a notebook."""
    display = pytest.importorskip("IPython.display", reason="the panel needs IPython")
    made = []

    def show(obj, raw=False, display_id=False):
        assert raw and display_id is True
        made.append(Handle(obj["text/html"]))
        return made[-1]

    monkeypatch.setattr(display, "display", show)
    monkeypatch.setattr(progress, "in_notebook", lambda: True)
    return made


def test_in_a_notebook_the_default_is_a_live_panel(monkeypatch, handles):
    pytest.importorskip("matplotlib", reason="the panel's curves draw with matplotlib")
    text = train(io.StringIO(), monkeypatch)
    assert text == ""  # nothing on standard error
    (handle,) = handles
    last = handle.shown[-1]
    assert "round 3/3" in last and "finished in" in last and 'value="1.0000"' in last
    assert "val " in last and "ex/s" in last
    assert last.count("<svg") == 1 and "validation loss" in last


def test_the_panel_redraws_at_most_twice_a_second(handles):
    panel = progress.reporter("Panel")
    for r in range(1, 101):  # 100 rounds in one second
        panel.batch(r, 100, seen=8, per_round=8, loss=1.0 / r, elapsed=r / 100)
        panel.round(r, 100, {"Loss": 1.0 / r}, None, r / 100)
    panel.close()
    (handle,) = handles
    # the start, a redraw at 0.01 s and one at 0.51 s (none in between), the end
    assert len(handle.shown) == 1 + 2 + 1
    assert "round 100/100" in handle.shown[-1] and "finished" in handle.shown[-1]


def test_a_resumed_run_shows_its_own_rounds(handles):
    pytest.importorskip("matplotlib", reason="the panel's curves draw with matplotlib")
    panel = progress.reporter("Panel")
    for r in (6, 7):  # resumed after round 5
        panel.batch(r, 10, seen=8, per_round=8, loss=0.5, elapsed=r)
        panel.round(r, 10, {"Loss": 0.5}, None, r)
    panel.close()
    last = handles[0].shown[-1]
    assert "round 7/10" in last and "finished" in last


def test_a_run_stopped_in_its_first_round_says_it_finished(handles):
    panel = progress.reporter("Panel")
    panel.batch(1, 10, seen=8, per_round=64, loss=float("nan"), elapsed=0.1)
    panel.close()
    last = handles[0].shown[-1]
    assert "round 1/10" in last and "finished in" in last and "s left" not in last


def test_outside_a_notebook_panel_falls_back_to_the_progress_line(monkeypatch):
    assert not progress.in_notebook()
    assert type(progress.reporter("Panel")) is progress._Bar
    assert type(progress.reporter("ProgressBar")) is progress._Bar
