"""The LSTM step in plain numpy, written like the equations (those of lstm_kernels.py): the
reference that the numba kernels are tested against. It takes the twelve arrays by name and
every dropout mask as an input, and shares no code with the kernels (rnn_reference.py says how
the references are written).
"""

from __future__ import annotations

from .rnn_reference import ACTIVATIONS, gate_grads, gate_masks_at, masked, recurrence

# Each gate's array-name prefix, by its letter; the reference takes no fused order.
NAMES = {"i": "Input", "o": "Output", "f": "Forget", "m": "Memory"}


def lstm_step(arrays, x, s, c, gate="LogisticSigmoid", state="Tanh", masks=None):
    """One step: returns s', c' and what lstm_step_back needs.

        z_g = W_gx·(x∘mx_g) + W_gs·(s∘ms_g) + b_g               for g = i, o, f, m
        i = σg(zi)   o = σg(zo)   f = σg(zf)   m = σs(zm)
        c' = f*c + i*m*u          s' = o*σs(c')

    masks (all optional, 1 when absent): "w" {array name: mask} (VariationalWeights), "x"
    {gate letter: (k,)} (VariationalInput), "s" {gate letter: (n,)} (VariationalState), "u"
    (n,) (StateUpdate, this step's)."""
    masks = masks or {}
    W = masked(arrays, masks.get("w"))
    mx, ms, u = masks.get("x", {}), masks.get("s", {}), masks.get("u", 1.0)
    xm = {g: x * mx.get(g, 1.0) for g in NAMES}
    sm = {g: s * ms.get(g, 1.0) for g in NAMES}
    z = {
        g: W[f"{G}GateInputWeights"] @ xm[g]
        + W[f"{G}GateStateWeights"] @ sm[g]
        + W[f"{G}GateBiases"]
        for g, G in NAMES.items()
    }
    sg, ss = ACTIVATIONS[gate][0], ACTIVATIONS[state][0]
    i, o, f, m = sg(z["i"]), sg(z["o"]), sg(z["f"]), ss(z["m"])
    c1 = f * c + i * m * u
    s1 = o * ss(c1)
    return s1, c1, (W, xm, sm, c, i, o, f, m, u, ss(c1), gate, state, masks)


def lstm_step_back(ds1, dc1, cache):
    """From ds' (the whole gradient of s') and dc' (that of c' from the next step):

        dc' += ds'*o*σs'(c')
        dzi = dc'*m*u*σg'(i)      dzo = ds'*σs(c')*σg'(o)
        dzf = dc'*c*σg'(f)        dzm = dc'*i*u*σs'(m)
        dc  = dc'*f               ds = Σ_g ms_g∘(W_gsᵀ·dz_g)      dx = Σ_g mx_g∘(W_gxᵀ·dz_g)
        dW_gx = dz_g·(x∘mx_g)ᵀ    dW_gs = dz_g·(s∘ms_g)ᵀ          db_g = dz_g

    (a masked weight's gradient ∘ its mask). Returns dx, ds, dc and the array gradients."""
    W, xm, sm, c, i, o, f, m, u, sc, gate, state, masks = cache
    dg, dsq = ACTIVATIONS[gate][1], ACTIVATIONS[state][1]
    dc1 = dc1 + ds1 * o * dsq(sc)
    dz = {
        "i": dc1 * m * u * dg(i),
        "o": ds1 * sc * dg(o),
        "f": dc1 * c * dg(f),
        "m": dc1 * i * u * dsq(m),
    }
    mx, ms = masks.get("x", {}), masks.get("s", {})
    dx = sum(mx.get(g, 1.0) * (W[f"{G}GateInputWeights"].T @ dz[g]) for g, G in NAMES.items())
    ds = sum(ms.get(g, 1.0) * (W[f"{G}GateStateWeights"].T @ dz[g]) for g, G in NAMES.items())
    grads = gate_grads(NAMES, dz, dz, xm, sm)
    return dx, ds, dc1 * f, masked(grads, masks.get("w"))


def lstm_reference(
    arrays, x, lengths, s0, c0, dy, dsT, dcT, gate="LogisticSigmoid", state="Tanh", masks=None
):
    """The LSTM over a padded batch x (B, T, k) with ``lengths``, forward and backward, from
    the initial states s0, c0 (B, n) and the gradients dy (B, T, n), dsT, dcT (B, n).

    masks (all optional): "w" {array name: mask}, "x" and "s" {gate letter: (B, k) or (B, n)},
    "u" (B, T, n). Returns Y, [sT, cT], dX, [ds0, dc0] and the array gradients (see
    rnn_reference.recurrence)."""
    masks = masks or {}

    def at(b, t):
        m = gate_masks_at(masks, b)
        if "u" in masks:
            m["u"] = masks["u"][b, t]
        return m

    def step(xt, states, m):
        s1, c1, cache = lstm_step(arrays, xt, states[0], states[1], gate, state, m)
        return [s1, c1], cache

    def step_back(d, cache):
        dx, ds, dc, g = lstm_step_back(d[0], d[1], cache)
        return dx, [ds, dc], g

    return recurrence(step, step_back, x, lengths, [s0, c0], dy, [dsT, dcT], at)
