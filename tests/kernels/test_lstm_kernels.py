"""The LSTM's numba kernels (netgraph/kernels/lstm_kernels.py, run by its op) against the
plain-numpy reference (lstm_reference.py): outputs, final states and every gradient."""

import numpy as np
import pytest

from netgraph import LongShortTermMemoryLayer
from netgraph.kernels.lstm_kernels import GATES
from netgraph.kernels.lstm_reference import lstm_reference
from tests.kernels.ops import (
    FULL,
    MASK_KEYS,
    RAGGED,
    VARIATIONAL,
    K,
    N,
    T,
    as_run,
    batch,
    compare,
    finite_difference_check,
    gate_masks,
    random_arrays,
    run_op,
)

DROPOUT = {
    **VARIATIONAL,
    "StateUpdate": {"StateUpdate": 0.3},
    "all four": {**VARIATIONAL["all three"], "StateUpdate": 0.1},
}


def check(lengths, dropout, dtype, gate="LogisticSigmoid", state="Tanh", seed=0):
    rng = np.random.default_rng(seed)
    layer = LongShortTermMemoryLayer(
        N, input=("Varying", K), dropout=dropout, gate_activation=gate, state_activation=state
    )
    arrays = random_arrays(rng, LongShortTermMemoryLayer, N, K)
    x, states, dy, dstates = batch(rng, lengths, T, K, N, states=2)
    got = run_op(layer, arrays, x, lengths, states, dy, dstates, dtype, seed=seed)
    masks = got[3]
    assert set(masks) == {MASK_KEYS[m] for m in dropout or {}}  # the masks were drawn
    arrays, x, states, dy, dstates = (as_run(v, dtype) for v in (arrays, x, states, dy, dstates))
    want = lstm_reference(
        arrays, x, lengths, *states, dy, *dstates, gate, state, gate_masks(masks, GATES)
    )
    compare(got, want, dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("lengths", [RAGGED, FULL], ids=["ragged", "full"])
@pytest.mark.parametrize("method", list(DROPOUT), ids=str)
def test_kernels_match_the_reference_with_each_dropout_method(method, lengths, dtype):
    check(lengths, DROPOUT[method], dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("gate", ["LogisticSigmoid", "HardSigmoid"])
@pytest.mark.parametrize("state", ["Tanh", "SoftSign"])
def test_kernels_match_the_reference_with_each_activation(gate, state, dtype):
    check(RAGGED, DROPOUT["all four"], dtype, gate, state, seed=1)


@pytest.mark.parametrize(
    ("gate", "state"), [("LogisticSigmoid", "Tanh"), ("HardSigmoid", "SoftSign")]
)
def test_reference_backward_equals_finite_differences(gate, state):
    rng = np.random.default_rng(2)
    n, k, T, lengths = 3, 2, 4, [4, 2]
    arrays = random_arrays(rng, LongShortTermMemoryLayer, n, k)
    x, (s0, c0), dy, (dsT, dcT) = batch(rng, lengths, T, k, n, states=2)
    masks = {
        "w": {a: rng.uniform(0.5, 1.5, v.shape) for a, v in arrays.items() if "Weights" in a},
        "x": {g: rng.uniform(0.5, 1.5, (2, k)) for g in "iofm"},
        "s": {g: rng.uniform(0.5, 1.5, (2, n)) for g in "iofm"},
        "u": rng.uniform(0.5, 1.5, (2, T, n)),
    }

    def run(inputs):
        a = {name: inputs[name] for name in arrays}
        Y, (sT, cT), dX, (ds0, dc0), grads = lstm_reference(
            a, inputs["x"], lengths, inputs["s0"], inputs["c0"], dy, dsT, dcT, gate, state, masks
        )
        loss = np.sum(Y * dy) + np.sum(sT * dsT) + np.sum(cT * dcT)
        return loss, {"x": dX, "s0": ds0, "c0": dc0, **grads}

    finite_difference_check(run, {**arrays, "x": x, "s0": s0, "c0": c0})
