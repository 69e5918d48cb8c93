"""The GRU step in plain numpy, written like the equations (those of gru_kernels.py): the
reference that the numba kernels are tested against. It takes the nine arrays by name (ten with
"MemoryGateStateBiases") and every dropout mask as an input, and shares no code with the
kernels (rnn_reference.py says how the references are written).
"""

from __future__ import annotations

from .gru import STATE_BIAS
from .rnn_reference import ACTIVATIONS, gate_grads, gate_masks_at, masked, recurrence

# Each gate's array-name prefix, by its letter; the reference takes no fused order.
NAMES = {"i": "Input", "r": "Reset", "m": "Memory"}


def gru_step(arrays, x, s, masks=None, before=False, gate="LogisticSigmoid", state="Tanh"):
    """One step: returns s' and what gru_step_back needs.

        z_g = W_gx·(x∘mx_g) + b_g                                    for g = i, r, m
        i = σg(z_i + W_is·(s∘ms_i))      r = σg(z_r + W_rs·(s∘ms_r))
        after the product:  p_m = W_ms·(s∘ms_m) + b_ms    m = σs(z_m + r*p_m)
        before it:          p_m = W_ms·(r*(s∘ms_m))       m = σs(z_m + p_m)
        s' = (1−i)*m + i*s

    with b_ms ("MemoryGateStateBiases") zero when the arrays lack it.

    masks (all optional, 1 when absent): "w" {array name: mask} (VariationalWeights), "x"
    {gate letter: (k,)} (VariationalInput), "s" {gate letter: (n,)} (VariationalState)."""
    masks = masks or {}
    W = masked(arrays, masks.get("w"))
    mx, ms = masks.get("x", {}), masks.get("s", {})
    sg, ss = ACTIVATIONS[gate][0], ACTIVATIONS[state][0]
    xm = {g: x * mx.get(g, 1.0) for g in NAMES}
    sm = {g: s * ms.get(g, 1.0) for g in NAMES}
    z = {g: W[f"{G}GateInputWeights"] @ xm[g] + W[f"{G}GateBiases"] for g, G in NAMES.items()}
    i = sg(z["i"] + W["InputGateStateWeights"] @ sm["i"])
    r = sg(z["r"] + W["ResetGateStateWeights"] @ sm["r"])
    if before:
        sm["m"] = r * sm["m"]  # the state the memory block's weights see
        p_m = W["MemoryGateStateWeights"] @ sm["m"]
        m = ss(z["m"] + p_m)
    else:
        p_m = W["MemoryGateStateWeights"] @ sm["m"] + W.get(STATE_BIAS, 0.0)
        m = ss(z["m"] + r * p_m)
    s1 = (1 - i) * m + i * s
    return s1, (W, xm, sm, s, i, r, m, p_m, masks, before, gate, state)


def gru_step_back(ds1, cache):
    """From ds' (the whole gradient of s'), with dz_g and dp_g the gradients of z_g and of the
    state product p_g = W_gs·(gate g's state):

        dz_m = ds'*(1−i)*σs'(m)      dz_i = ds'*(s−m)*σg'(i)      dp_i = dz_i    dp_r = dz_r
        after:  dz_r = dz_m*p_m*σg'(r)     dp_m = dz_m*r     db_ms = dp_m
                ds = ds'*i + Σ_g ms_g∘(W_gsᵀ·dp_g)
        before: q = W_msᵀ·dz_m   dz_r = q*(s∘ms_m)*σg'(r)    dp_m = dz_m
                ds = ds'*i + ms_m∘(r*q) + Σ_{g=i,r} ms_g∘(W_gsᵀ·dp_g)
        dx = Σ_g mx_g∘(W_gxᵀ·dz_g)     dW_gx = dz_g·(x∘mx_g)ᵀ     db_g = dz_g
        dW_gs = dp_g·(gate g's state)ᵀ: s∘ms_g, but r*(s∘ms_m) for W_ms before the product

    (a masked weight's gradient ∘ its mask). Returns dx, ds and the array gradients."""
    W, xm, sm, s, i, r, m, p_m, masks, before, gate, state = cache
    dg, dsq = ACTIVATIONS[gate][1], ACTIVATIONS[state][1]
    mx, ms = masks.get("x", {}), masks.get("s", {})
    dz = {"m": ds1 * (1 - i) * dsq(m), "i": ds1 * (s - m) * dg(i)}
    ds = ds1 * i
    if before:
        q = W["MemoryGateStateWeights"].T @ dz["m"]
        dz["r"] = q * s * ms.get("m", 1.0) * dg(r)
        dp = {"i": dz["i"], "r": dz["r"], "m": dz["m"]}
        ds = ds + ms.get("m", 1.0) * r * q
        gates = ("i", "r")
    else:
        dz["r"] = dz["m"] * p_m * dg(r)
        dp = {"i": dz["i"], "r": dz["r"], "m": dz["m"] * r}
        gates = ("i", "r", "m")
    dx = sum(mx.get(g, 1.0) * (W[f"{G}GateInputWeights"].T @ dz[g]) for g, G in NAMES.items())
    ds = ds + sum(ms.get(g, 1.0) * (W[f"{NAMES[g]}GateStateWeights"].T @ dp[g]) for g in gates)
    grads = gate_grads(NAMES, dz, dp, xm, sm)
    if STATE_BIAS in W:
        grads[STATE_BIAS] = dp["m"]
    return dx, ds, masked(grads, masks.get("w"))


def gru_reference(
    arrays, x, lengths, s0, dy, dsT, masks=None, before=False, gate="LogisticSigmoid", state="Tanh"
):
    """The GRU over a padded batch x (B, T, k) with ``lengths``, forward and backward, from the
    initial state s0 (B, n) and the gradients dy (B, T, n), dsT (B, n); ``before``: the reset
    gate mode "before-multiplication"; ``gate``, ``state``: the activations σg, σs.

    masks (all optional): "w" {array name: mask}, "x" and "s" {gate letter: (B, k) or (B, n)}.
    Returns Y, [sT], dX, [ds0] and the array gradients (see rnn_reference.recurrence)."""
    masks = masks or {}

    def at(b, t):
        return gate_masks_at(masks, b)

    def step(xt, states, m):
        s1, cache = gru_step(arrays, xt, states[0], m, before, gate, state)
        return [s1], cache

    def step_back(d, cache):
        dx, ds, g = gru_step_back(d[0], cache)
        return dx, [ds], g

    return recurrence(step, step_back, x, lengths, [s0], dy, [dsT], at)
