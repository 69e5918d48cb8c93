"""The basic recurrence's numba kernels (netgraph/kernels/rnn_kernels.py, run by its op)
against the plain-numpy reference (rnn_reference.py): outputs, final state and every gradient."""

import numpy as np
import pytest

from netgraph import BasicRecurrentLayer
from netgraph.kernels.rnn_reference import rnn_reference
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
    random_arrays,
    run_op,
)

DROPOUT = VARIATIONAL
ACTIVATIONS = ["Tanh", "Ramp", "LogisticSigmoid", "SoftSign", "Identity"]


def check(lengths, dropout, dtype, activation="Tanh", seed=0):
    rng = np.random.default_rng(seed)
    layer = BasicRecurrentLayer(N, input=("Varying", K), dropout=dropout, activation=activation)
    arrays = random_arrays(rng, BasicRecurrentLayer, N, K)
    x, states, dy, dstates = batch(rng, lengths, T, K, N, states=1)
    got = run_op(layer, arrays, x, lengths, states, dy, dstates, dtype, seed=seed)
    masks = dict(got[3])
    assert set(masks) == {MASK_KEYS[m] for m in dropout or {}}  # the masks were drawn
    for key in ("x", "s"):  # one gate: (B, 1, …) → (B, …)
        if key in masks:
            masks[key] = masks[key][:, 0]
    arrays, x, states, dy, dstates = (as_run(v, dtype) for v in (arrays, x, states, dy, dstates))
    want = rnn_reference(arrays, x, lengths, *states, dy, *dstates, activation, masks)
    compare(got, want, dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("lengths", [RAGGED, FULL], ids=["ragged", "full"])
@pytest.mark.parametrize("method", list(DROPOUT), ids=str)
def test_kernels_match_the_reference_with_each_dropout_method(method, lengths, dtype):
    check(lengths, DROPOUT[method], dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_kernels_match_the_reference_with_each_activation(activation, dtype):
    check(RAGGED, DROPOUT["all three"], dtype, activation, seed=1)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_reference_backward_equals_finite_differences(activation):
    rng = np.random.default_rng(2)
    n, k, T, lengths = 3, 2, 4, [4, 2]
    arrays = random_arrays(rng, BasicRecurrentLayer, n, k)
    x, (s0,), dy, (dsT,) = batch(rng, lengths, T, k, n, states=1)
    masks = {
        "w": {a: rng.uniform(0.5, 1.5, v.shape) for a, v in arrays.items() if "Weights" in a},
        "x": rng.uniform(0.5, 1.5, (2, k)),
        "s": rng.uniform(0.5, 1.5, (2, n)),
    }

    def run(inputs):
        a = {name: inputs[name] for name in arrays}
        Y, (sT,), dX, (ds0,), grads = rnn_reference(
            a, inputs["x"], lengths, inputs["s0"], dy, dsT, activation, masks
        )
        loss = np.sum(Y * dy) + np.sum(sT * dsT)
        return loss, {"x": dX, "s0": ds0, **grads}

    finite_difference_check(run, {**arrays, "x": x, "s0": s0})
