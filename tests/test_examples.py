"""The worked examples in examples/, run at a reduced size; each asserts its metric."""

import importlib.util
import pathlib

import numpy as np

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"


def load(name):
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_comparison():
    assert load("comparison").main(max_length=6, rounds=40, report=None) >= 0.95


def test_addition():
    mae = load("addition").main(n_train=1500, n_test=300, rounds=12, units=32, report=None)
    assert mae < 4.0  # predicting the mean sum would give about 30


def test_sequence_classification():
    assert (
        load("sequence_classification").main(n_train=300, n_test=100, rounds=8, report=None) >= 0.85
    )


def test_forecasting():
    one_step, closed = load("forecasting").main(n_train=800, rounds=12, report=None)
    assert one_step < 0.25  # the noise alone gives 0.1; the series' own spread is about 0.8
    assert closed < 0.5


def test_bidirectional():
    bi, uni = load("bidirectional").main(n_train=300, n_test=100, rounds=8, report=None)
    assert bi >= 0.95  # the future is in view
    assert uni < 0.75  # an LSTM cannot see it: about the share of steps with nothing later


def test_custom_cell():
    assert load("custom_cell").main(n_train=300, n_test=100, rounds=10, report=None) >= 0.8


def test_custom_cell_without_peepholes_is_the_lstm_layer(rng):
    """The example's cell with zero peephole matrices and an LSTM's arrays gives the
    LongShortTermMemoryLayer's outputs."""
    from netgraph import LongShortTermMemoryLayer, NetFoldOperator, NetInitialize
    from tests.harness import set_array

    cell = load("custom_cell").peephole_lstm_cell(3, 2)
    fold = NetFoldOperator(
        cell, {"Output": "State", "NewCellState": "CellState"}, outputs=["Output"]
    )
    fold = NetInitialize(fold, random_seed=0)
    lstm = NetInitialize(LongShortTermMemoryLayer(3, input=("Varying", 2)), random_seed=1)
    gates = {"i": "InputGate", "f": "ForgetGate", "m": "MemoryGate", "o": "OutputGate"}
    for g, name in gates.items():
        a = lstm.arrays
        fold = set_array(fold, ("Net", f"x{g}"), "Weights", a[name + "InputWeights"])
        fold = set_array(fold, ("Net", f"x{g}"), "Biases", a[name + "Biases"])
        fold = set_array(fold, ("Net", f"s{g}"), "Weights", a[name + "StateWeights"])
        if g != "m":
            fold = set_array(fold, ("Net", f"p{g}"), "Weights", np.zeros((3, 3)))
    xs = [rng.normal(size=(t, 2)) for t in (5, 2, 4)]
    for got, want in zip(
        fold(xs, working_precision="Real64"), lstm(xs, working_precision="Real64")
    ):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)


def test_video_classification():
    accuracy = load("video_classification").main(
        n_train=200, n_test=100, size=16, rounds=6, report=None
    )
    assert accuracy >= 0.9  # four directions: chance is 0.25


def test_layer_norm_lstm_cell_gradients(rng):
    """The example's layer-normalized LSTM cell, folded over ragged sequences: outputs of
    the right shapes, and input, state and array gradients equal to finite differences."""
    from netgraph import NetFoldOperator
    from tests.harness import as64, check_gradients

    cell = load("custom_cell").layer_norm_lstm_cell(4, 2)
    fold = NetFoldOperator(
        cell, {"Output": "State", "NewCellState": "CellState"}, outputs=["Output"]
    )
    assert fold.state_ports == ("State", "CellState")
    data = {"Input": [rng.normal(size=(t, 2)) for t in (3, 1)]}
    check_gradients(as64(fold, 1), data, max_elements=3)
