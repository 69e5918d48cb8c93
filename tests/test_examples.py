"""The worked examples in examples/, run at a reduced size; each asserts its metric."""

import importlib.util
import pathlib

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
