"""The GRU's numba kernels (netgraph/kernels/gru_kernels.py, run by its op) against the
plain-numpy reference (gru_reference.py): outputs, final state and every gradient."""

import numpy as np
import pytest

from netgraph import GatedRecurrentLayer
from netgraph.kernels.gru_kernels import GATES
from netgraph.kernels.gru_reference import gru_reference
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

DROPOUT = VARIATIONAL


MODES = ("after-multiplication", "recurrent-bias-after-multiplication", "before-multiplication")
ACTIVATIONS = [
    ("LogisticSigmoid", "SoftSign"),
    ("HardSigmoid", "Tanh"),
    ("HardSigmoid", "SoftSign"),
]


def compare_with_reference(mode, dropout, lengths, dtype, gate="LogisticSigmoid", state="Tanh"):
    rng = np.random.default_rng(0)
    layer = GatedRecurrentLayer(
        N,
        input=("Varying", K),
        dropout=dropout,
        reset_gate_mode=mode,
        gate_activation=gate,
        state_activation=state,
    )
    arrays = random_arrays(rng, GatedRecurrentLayer, N, K)
    if mode == MODES[1]:  # the state bias inside the reset product
        arrays["MemoryGateStateBiases"] = 0.5 * rng.normal(size=N)
    x, states, dy, dstates = batch(rng, lengths, T, K, N, states=1)
    got = run_op(layer, arrays, x, lengths, states, dy, dstates, dtype)
    masks = got[3]
    assert set(masks) == {MASK_KEYS[m] for m in dropout or {}}  # the masks were drawn
    arrays, x, states, dy, dstates = (as_run(v, dtype) for v in (arrays, x, states, dy, dstates))
    want = gru_reference(
        arrays,
        x,
        lengths,
        *states,
        dy,
        *dstates,
        gate_masks(masks, GATES),
        before=mode == MODES[2],
        gate=gate,
        state=state,
    )
    compare(got, want, dtype)


# Each combination below compiles kernels of its own (a cold numba cache takes seconds per
# combination), so the matrix covers every code path once rather than every product: the
# default mode with every dropout method, both length patterns and both precisions; the other
# two modes (the second state product of "before-multiplication", the state bias of
# "recurrent-bias-after-multiplication") with every method on ragged float32 batches, the
# precision users run, and with all methods at once in float64.
DROPOUT_CASES = [
    (MODES[0], method, lengths, dtype)
    for method in DROPOUT
    for lengths in ("ragged", "full")
    for dtype in (np.float64, np.float32)
] + [
    (mode, method, "ragged", dtype)
    for mode in MODES[1:]
    for method, dtype in [(m, np.float32) for m in DROPOUT] + [("all three", np.float64)]
]


def _id(v) -> str:
    return v.__name__ if isinstance(v, type) else str(v)


@pytest.mark.parametrize(("mode", "method", "lengths", "dtype"), DROPOUT_CASES, ids=_id)
def test_kernels_match_the_reference_with_each_dropout_method(mode, method, lengths, dtype):
    compare_with_reference(mode, DROPOUT[method], {"ragged": RAGGED, "full": FULL}[lengths], dtype)


@pytest.mark.parametrize(
    ("mode", "gate", "state", "dtype"),
    [(mode, g, s, np.float32) for mode in MODES for g, s in ACTIVATIONS]
    + [(MODES[2], "HardSigmoid", "SoftSign", np.float64)],
    ids=_id,
)
def test_kernels_match_the_reference_with_each_activation(mode, gate, state, dtype):
    """Every activation in every mode, ragged, with all three dropout methods (float32, and
    the mode with the most code in float64)."""
    compare_with_reference(mode, DROPOUT["all three"], RAGGED, dtype, gate, state)


@pytest.mark.parametrize(
    ("before", "gate", "state"),
    [
        (False, "LogisticSigmoid", "Tanh"),
        (True, "LogisticSigmoid", "Tanh"),
        (True, "HardSigmoid", "SoftSign"),
    ],
)
def test_reference_backward_equals_finite_differences(before, gate, state):
    rng = np.random.default_rng(2)
    n, k, T, lengths = 3, 2, 4, [4, 2]
    arrays = random_arrays(rng, GatedRecurrentLayer, n, k)
    if not before:
        arrays["MemoryGateStateBiases"] = rng.normal(size=n)
    x, (s0,), dy, (dsT,) = batch(rng, lengths, T, k, n, states=1)
    masks = {
        "w": {a: rng.uniform(0.5, 1.5, v.shape) for a, v in arrays.items() if "Weights" in a},
        "x": {g: rng.uniform(0.5, 1.5, (2, k)) for g in "irm"},
        "s": {g: rng.uniform(0.5, 1.5, (2, n)) for g in "irm"},
    }

    def run(inputs):
        a = {name: inputs[name] for name in arrays}
        Y, (sT,), dX, (ds0,), grads = gru_reference(
            a, inputs["x"], lengths, inputs["s0"], dy, dsT, masks, before, gate, state
        )
        loss = np.sum(Y * dy) + np.sum(sT * dsT)
        return loss, {"x": dX, "s0": ds0, **grads}

    finite_difference_check(run, {**arrays, "x": x, "s0": s0})
