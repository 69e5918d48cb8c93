"""The GRU step in plain numpy, written like the equations (those of gru_kernels.py): the
reference that the numba kernels are tested against. It takes the nine arrays by name and every
dropout mask as an input, and shares no code with the kernels (rnn_reference.py says how the
references are written).
"""

from __future__ import annotations

import numpy as np

from .gru import STATE_BIAS
from .rnn_reference import ACTIVATIONS, gate_grads, gate_masks_at, masked, recurrence

# Each gate's array-name prefix, by its letter; the reference takes no fused order.
NAMES = {"i": "Input", "r": "Reset", "m": "Memory"}
sigmoid, tanh = ACTIVATIONS["LogisticSigmoid"][0], np.tanh


def gru_step(arrays, x, s, masks=None):
    """One step: returns s' and what gru_step_back needs.

        z_g = W_gx·(x∘mx_g) + b_g    p_g = W_gs·(s∘ms_g)             for g = i, r, m
        i = σ(z_i + p_i)    r = σ(z_r + p_r)    m = tanh(z_m + r*p_m)    s' = (1−i)*m + i*s

    with b_ms ("MemoryGateStateBiases", when the arrays have it) added to p_m.

    masks (all optional, 1 when absent): "w" {array name: mask} (VariationalWeights), "x"
    {gate letter: (k,)} (VariationalInput), "s" {gate letter: (n,)} (VariationalState)."""
    masks = masks or {}
    W = masked(arrays, masks.get("w"))
    mx, ms = masks.get("x", {}), masks.get("s", {})
    xm = {g: x * mx.get(g, 1.0) for g in NAMES}
    sm = {g: s * ms.get(g, 1.0) for g in NAMES}
    z = {g: W[f"{G}GateInputWeights"] @ xm[g] + W[f"{G}GateBiases"] for g, G in NAMES.items()}
    p = {g: W[f"{G}GateStateWeights"] @ sm[g] for g, G in NAMES.items()}
    p["m"] = p["m"] + W.get(STATE_BIAS, 0.0)
    i = sigmoid(z["i"] + p["i"])
    r = sigmoid(z["r"] + p["r"])
    m = tanh(z["m"] + r * p["m"])
    s1 = (1 - i) * m + i * s
    return s1, (W, xm, sm, s, i, r, m, p["m"], masks)


def gru_step_back(ds1, cache):
    """From ds' (the whole gradient of s'), with dz_g and dp_g the gradients of z_g and p_g:

        dz_m = ds'*(1−i)*(1−m²)       dz_i = ds'*(s−m)*i*(1−i)     dz_r = dz_m*p_m*r*(1−r)
        dp_i = dz_i    dp_r = dz_r    dp_m = dz_m*r
        ds = ds'*i + Σ_g ms_g∘(W_gsᵀ·dp_g)        dx = Σ_g mx_g∘(W_gxᵀ·dz_g)
        dW_gx = dz_g·(x∘mx_g)ᵀ    dW_gs = dp_g·(s∘ms_g)ᵀ    db_g = dz_g    db_ms = dp_m

    (a masked weight's gradient ∘ its mask). Returns dx, ds and the array gradients."""
    W, xm, sm, s, i, r, m, p_m, masks = cache
    dz = {"m": ds1 * (1 - i) * (1 - m**2), "i": ds1 * (s - m) * i * (1 - i)}
    dz["r"] = dz["m"] * p_m * r * (1 - r)
    dp = {"i": dz["i"], "r": dz["r"], "m": dz["m"] * r}
    mx, ms = masks.get("x", {}), masks.get("s", {})
    dx = sum(mx.get(g, 1.0) * (W[f"{G}GateInputWeights"].T @ dz[g]) for g, G in NAMES.items())
    ds = ds1 * i + sum(
        ms.get(g, 1.0) * (W[f"{G}GateStateWeights"].T @ dp[g]) for g, G in NAMES.items()
    )
    grads = gate_grads(NAMES, dz, dp, xm, sm)
    if STATE_BIAS in W:
        grads[STATE_BIAS] = dp["m"]
    return dx, ds, masked(grads, masks.get("w"))


def gru_reference(arrays, x, lengths, s0, dy, dsT, masks=None):
    """The GRU over a padded batch x (B, T, k) with ``lengths``, forward and backward, from the
    initial state s0 (B, n) and the gradients dy (B, T, n), dsT (B, n).

    masks (all optional): "w" {array name: mask}, "x" and "s" {gate letter: (B, k) or (B, n)}.
    Returns Y, [sT], dX, [ds0] and the array gradients (see rnn_reference.recurrence)."""
    masks = masks or {}

    def at(b, t):
        return gate_masks_at(masks, b)

    def step(xt, states, m):
        s1, cache = gru_step(arrays, xt, states[0], m)
        return [s1], cache

    def step_back(d, cache):
        dx, ds, g = gru_step_back(d[0], cache)
        return dx, [ds], g

    return recurrence(step, step_back, x, lengths, [s0], dy, [dsT], at)
