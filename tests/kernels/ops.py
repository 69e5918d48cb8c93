"""Running a recurrent op (its numba kernels) the way the plan does, and comparing it with a
plain-numpy reference (netgraph/kernels/*_reference.py).

The op draws its dropout masks itself (from the seed); the reference is given those masks, so
that the comparison checks the kernels' arithmetic. That each mask lands where the docs say is
checked in tests/layers, against masks drawn independently.
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np

from netgraph.kernels import threads
from netgraph.kernels.base import Ctx

# The sizes every kernel test runs at, a ragged and a full batch, and the dropout methods the
# three cells share (the LSTM adds "StateUpdate").
N, K, T = 5, 3, 6
RAGGED, FULL = [6, 2, 5, 1], [6, 6, 6]
VARIATIONAL = {
    None: None,
    "VariationalWeights": {"VariationalWeights": 0.3},
    "VariationalInput": {"VariationalInput": 0.3},
    "VariationalState": {"VariationalState": 0.3},
    "all three": {"VariationalWeights": 0.2, "VariationalInput": 0.3, "VariationalState": 0.25},
}
# the key of each method's masks in the op's ``masks``
MASK_KEYS = {
    "VariationalWeights": "w",
    "VariationalInput": "x",
    "VariationalState": "s",
    "StateUpdate": "u",
}

# the gate letter of each array-name prefix, for the per-gate masks
LETTER = {"Input": "i", "Output": "o", "Forget": "f", "Memory": "m", "Reset": "r"}

# Largest difference from the float64 reference, relative to the largest value compared (or 1).
# float64 kernels agree to round-off (about 1e-15 seen). float32 kernels round every value
# and use a polynomial exp (fastmath.py): up to about 1e-6 seen at these sizes; 1e-5 allows ten times.
TOLERANCE = {np.float64: 1e-12, np.float32: 1e-5}


def batch(rng, lengths, T, k, n, states):
    """Padded input x (B, T, k), initial states (B, n), output gradients dy (B, T, n) and
    final-state gradients (B, n), all float64; x and dy are zero past each length."""
    B = len(lengths)
    live = (np.arange(T)[None, :] < np.asarray(lengths)[:, None])[..., None]
    x = rng.normal(size=(B, T, k)) * live
    dy = rng.normal(size=(B, T, n)) * live
    s0 = [rng.normal(size=(B, n)) for _ in range(states)]
    dsT = [rng.normal(size=(B, n)) for _ in range(states)]
    return x, s0, dy, dsT


def random_arrays(rng, layer_class, n, k):
    """The layer's arrays, float64, drawn at scale 0.5."""
    shapes = {"InputWeights": (n, k), "StateWeights": (n, n), "Biases": (n,)}
    return {
        a: 0.5 * rng.normal(size=shapes[next(p for p in shapes if a.endswith(p))])
        for a in layer_class.array_names()
    }


def as_run(v, dtype):
    """``v`` (an array, or a list or dict of them) rounded to ``dtype`` and back to float64:
    the values the op computes with, for the reference."""
    if isinstance(v, dict):
        return {a: as_run(w, dtype) for a, w in v.items()}
    if isinstance(v, list):
        return [as_run(w, dtype) for w in v]
    return np.asarray(v, dtype).astype(np.float64)


def run_op(layer, arrays, x, lengths, states, dy, dstates, dtype, seed=0):
    """The op of ``layer`` forward and backward in ``dtype``, in training mode (dropout on)
    when the layer has dropout. Returns outputs (Y, final states), gradients (dX, initial
    states' gradients, array gradients) and the masks the op drew, all as float64."""
    op = layer.op(None)
    P = op.prepare({a: np.ascontiguousarray(v, dtype) for a, v in arrays.items()})
    ctx = Ctx(training=bool(layer.options["dropout"]), seed=seed, dtype=dtype, grad=True)
    lens = [np.asarray(lengths)] + [None] * len(states)
    xs = [np.asarray(v, dtype) for v in [x, *states]]
    ys, saved = op.forward(xs, lens, P, ctx)
    plain, _ = op.forward(xs, lens, P, Ctx(ctx.training, seed, dtype, grad=False))
    for a, b in zip(ys, plain):  # the pass that keeps nothing for backward computes the same
        np.testing.assert_array_equal(a, b)
    dxs, grads = op.backward(saved, [np.asarray(v, dtype) for v in [dy, *dstates]], P, ctx)
    f64 = [np.asarray(v, np.float64) for v in ys], [np.asarray(v, np.float64) for v in dxs]
    return f64[0], f64[1], {a: np.asarray(g, np.float64) for a, g in grads.items()}, saved[0].masks


def gate_masks(masks: dict, gates: tuple) -> dict:
    """The op's masks in the reference's form: per-gate masks keyed by gate letter."""
    out = {"w": masks["w"]} if "w" in masks else {}
    for key in ("x", "s"):
        if key in masks:
            out[key] = {LETTER[g]: masks[key][:, j] for j, g in enumerate(gates)}
    if "u" in masks:
        out["u"] = masks["u"].transpose(1, 0, 2)  # drawn (T, B, n)
    return out


def assert_close(got, want, dtype, what):
    """|got − want| ≤ tol·max(1, max|want|), elementwise."""
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape, f"{what}: shape {got.shape}, expected {want.shape}"
    tol = TOLERANCE[dtype] * max(1.0, float(np.max(np.abs(want), initial=0.0)))
    np.testing.assert_allclose(got, want, rtol=0, atol=tol, err_msg=what)


def compare(got, want, dtype):
    """``got`` from run_op, ``want`` from a reference: outputs, final states, every gradient."""
    Y, finals, dxs, grads = got[0][0], got[0][1:], got[1], got[2]
    wY, wfinals, wdX, wfirsts, wgrads = want
    assert_close(Y, wY, dtype, "outputs")
    for j, (a, b) in enumerate(zip(finals, wfinals)):
        assert_close(a, b, dtype, f"final state {j}")
    assert_close(dxs[0], wdX, dtype, "input gradient")
    for j, (a, b) in enumerate(zip(dxs[1:], wfirsts)):
        assert_close(a, b, dtype, f"initial state {j} gradient")
    assert set(grads) == set(wgrads)
    for a in grads:
        assert_close(grads[a], wgrads[a], dtype, f"gradient of {a}")


def finite_difference_check(run, inputs: dict, eps=1e-6, rtol=1e-6, atol=1e-9, picks=3):
    """Check a reference's backward against central differences of its forward, float64.

    ``run(inputs) -> (loss, gradients)`` with gradients keyed like ``inputs``; a few entries
    of each input are bumped."""
    _, grads = run(inputs)
    rng = np.random.default_rng(1)
    for name, value in inputs.items():
        for flat in rng.choice(value.size, min(picks, value.size), replace=False):
            idx = np.unravel_index(flat, value.shape)
            up, dn = value.copy(), value.copy()
            up[idx] += eps
            dn[idx] -= eps
            fd = (run({**inputs, name: up})[0] - run({**inputs, name: dn})[0]) / (2 * eps)
            np.testing.assert_allclose(grads[name][idx], fd, rtol=rtol, atol=atol, err_msg=name)


@contextmanager
def recorded_runs():
    """The (threads, vector bits or None for BLAS) of every recurrent kernel call made inside
    the block (kernels/threads.run), so that a test can tell that the kernel and thread
    count it asked for are the ones that ran."""
    calls = []
    original = threads.run

    def run(kernel, parts, **args):
        calls.append((parts, None if args["lanes"] is None else args["lanes"].bits))
        return original(kernel, parts, **args)

    threads.run = run
    try:
        yield calls
    finally:
        threads.run = original
