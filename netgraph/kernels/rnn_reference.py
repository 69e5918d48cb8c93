"""The basic recurrent step in plain numpy, written like the equations, and the recurrence over
a padded batch that the LSTM and GRU references share: the references that the numba kernels
(rnn_kernels.py, gru_kernels.py, lstm_kernels.py) are tested against.

A reference takes the layer's own arrays by name (no fused blocks, so no gate order) and the
dropout masks as inputs; it runs one example and one step at a time, in float64, and shares
no code with the kernels. It is slow and for tests only.
"""

from __future__ import annotations

import numpy as np

# An activation and its derivative, the derivative taken from the activation's output y.
ACTIVATIONS = {
    "Tanh": (np.tanh, lambda y: 1 - y**2),
    "Ramp": (lambda z: np.maximum(z, 0), lambda y: (y > 0) * 1.0),
    "LogisticSigmoid": (lambda z: 1 / (1 + np.exp(-z)), lambda y: y * (1 - y)),
    "HardSigmoid": (lambda z: np.clip(0.2 * z + 0.5, 0, 1), lambda y: 0.2 * ((y > 0) & (y < 1))),
    "SoftSign": (lambda z: z / (1 + np.abs(z)), lambda y: (1 - np.abs(y)) ** 2),
    "Identity": (lambda z: z, lambda y: np.ones_like(y)),
}
ACTIVATIONS["ReLU"] = ACTIVATIONS["Ramp"]


def masked(arrays: dict, w: dict | None) -> dict:
    """The arrays with the VariationalWeights masks ``w`` (array name → mask) applied."""
    return {a: v * w[a] if w and a in w else v for a, v in arrays.items()}


def gate_grads(names: dict, dz: dict, dzs: dict, xm: dict, sm: dict) -> dict:
    """Each gate's array gradients from dz (of its input and bias term) and dzs (of its state
    term; the same as dz but in the GRU's candidate, which r multiplies): W_gx: dz_g ⊗ xm_g,
    W_gs: dzs_g ⊗ sm_g, b_g: dz_g, with xm, sm the masked input and state of each gate."""
    grads = {}
    for g, G in names.items():
        grads[f"{G}GateInputWeights"] = np.outer(dz[g], xm[g])
        grads[f"{G}GateStateWeights"] = np.outer(dzs[g], sm[g])
        grads[f"{G}GateBiases"] = dz[g]
    return grads


def gate_masks_at(masks: dict, b: int) -> dict:
    """Example b's slice of the per-gate dropout masks ("x", "s"); "w" is shared."""
    m = {"w": masks.get("w")}
    for key in ("x", "s"):
        if key in masks:
            m[key] = {g: v[b] for g, v in masks[key].items()}
    return m


def rnn_step(arrays, x, s, activation="Tanh", masks=None):
    """s' = f(Wx·(x∘mx) + Ws·(s∘ms) + b); returns s' and what rnn_step_back needs.

    masks (all optional): "w" {array name: mask}, "x" (k,), "s" (n,)."""
    masks = masks or {}
    W = masked(arrays, masks.get("w"))
    xm, sm = x * masks.get("x", 1.0), s * masks.get("s", 1.0)
    f = ACTIVATIONS[activation][0]
    s1 = f(W["InputWeights"] @ xm + W["StateWeights"] @ sm + W["Biases"])
    return s1, (W, xm, sm, s1, activation, masks)


def rnn_step_back(ds1, cache):
    """From ds' (the whole gradient of s'): dz = ds'∘f'(s'), then dx, ds and the array
    gradients (dWx = dz·(x∘mx)ᵀ, dWs = dz·(s∘ms)ᵀ, db = dz; masked weights' ∘ their mask)."""
    W, xm, sm, s1, activation, masks = cache
    dz = ds1 * ACTIVATIONS[activation][1](s1)
    dx = (W["InputWeights"].T @ dz) * masks.get("x", 1.0)
    ds = (W["StateWeights"].T @ dz) * masks.get("s", 1.0)
    grads = {"InputWeights": np.outer(dz, xm), "StateWeights": np.outer(dz, sm), "Biases": dz}
    return dx, ds, masked(grads, masks.get("w"))


def recurrence(step, step_back, x, lengths, states, dys, dstates, masks_at):
    """Run ``step`` over each example of a padded batch up to its length, then back.

    x (B, T, k); lengths (B,); states: the initial states, each (B, n) (s first, then c for
    the LSTM); dys (B, T, n): the gradient of the outputs; dstates: of the final states.
    ``step(x_t, states, masks) -> (new states, cache)``; the output at t is the new s.
    ``step_back(dstates', cache) -> (dx_t, dstates, array gradients)``, dstates' holding
    the whole gradient of the new states. ``masks_at(b, t)``: example b's masks at step t.

    Returns (Y (B, T, n), final states, dX (B, T, k), gradients of the initial states, array
    gradients summed over the batch); Y and dX are zero past each sequence's end."""
    B, T, _ = x.shape
    n = states[0].shape[1]
    Y, dX = np.zeros((B, T, n)), np.zeros(x.shape)
    final = [np.zeros_like(s) for s in states]
    first = [np.zeros_like(s) for s in states]
    grads: dict = {}
    for b in range(B):
        st, caches = [s[b] for s in states], []
        for t in range(lengths[b]):
            st, cache = step(x[b, t], st, masks_at(b, t))
            Y[b, t] = st[0]
            caches.append(cache)
        for final_state, value in zip(final, st):
            final_state[b] = value
        d = [ds[b] for ds in dstates]
        for t in reversed(range(lengths[b])):
            d[0] = d[0] + dys[b, t]
            dX[b, t], d, g = step_back(d, caches[t])
            for a, v in g.items():
                grads[a] = grads.get(a, 0) + v
        for first_grad, value in zip(first, d):
            first_grad[b] = value
    return Y, final, dX, first, grads


def rnn_reference(arrays, x, lengths, s0, dy, dsT, activation="Tanh", masks=None):
    """The basic recurrence over a padded batch, forward and backward (see ``recurrence``).

    masks (all optional): "w" {array name: mask}, "x" (B, k), "s" (B, n)."""
    masks = masks or {}

    def at(b, t):
        return {"w": masks.get("w"), **{key: masks[key][b] for key in ("x", "s") if key in masks}}

    def step(xt, states, m):
        s1, cache = rnn_step(arrays, xt, states[0], activation, m)
        return [s1], cache

    def step_back(d, cache):
        dx, ds, g = rnn_step_back(d[0], cache)
        return dx, [ds], g

    return recurrence(step, step_back, x, lengths, [s0], dy, [dsT], at)
