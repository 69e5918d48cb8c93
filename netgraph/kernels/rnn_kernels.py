"""Numba kernels of the basic recurrence s' = f(Wx·x + Ws·s + b), forward and backward, and
the state products that every recurrent kernel of the family shares.

Layout: batch-major ``(B, T, …)``. ``order`` lists the batch rows by decreasing length, so
the sequences still running at step t are ``order[:batch_sizes[t]]``; the running states are
kept in that order, and so are the time-major inputs ``X``, so each step's products run on
one contiguous block. ``G`` holds a step's products ``x·Wx + s·Ws`` (with per-gate masks
``mx`` (B, gates, k), ``ms`` (B, gates, n), whose rows follow ``order``,
``Σ_g (x∘mx_g)·Wx_g + (s∘ms_g)·Ws_g``). An absent
mask is None, not an empty array, so that numba compiles a kernel without its mask code
until a call has masks (dropout in training).

Forward, one step, and backward (BPTT) from the end: ds'₊ is the gradient of s' from the
next step, dy that of the output y = s'; ds goes to the previous step:

    s'  = f(z + Ws·s)                z = Wx·x + b, each step's own product
    dz  = (ds'₊ + dy)*f'(s')         ds = Wsᵀ·dz   (with a state mask ms: ms∘(Wsᵀ·dz))

The weight gradients dWx = Σ dz·xᵀ, dWs = Σ dz·sᵀ, db = Σ dz are a few GEMMs after the loop
(rnn.py). f is Tanh (kind 0), Ramp (1), LogisticSigmoid (2), SoftSign (3) or Identity (4); f' is
taken from f's output. rnn_reference.py is the same step in plain numpy, written like the
equations; the tests hold these kernels to it. Every inner loop is branch-free over a contiguous
row, so that it compiles to SIMD code (see fastmath.py for exp in float32).
"""

from __future__ import annotations

import numpy as np
from numba import njit, types
from numba.extending import overload

from . import simd
from .fastmath import FAST, like, sigmoid, softsign, tanh
from .packed import product
from .sync import barrier


@njit(**FAST)
def copy_row(dst, src):
    """dst[:] = src for two rows of one length, as a loop: numba's array assignment would
    compile its shape-mismatch message, seconds of a cold start, for a check not needed here."""
    for j in range(dst.shape[0]):
        dst[j] = src[j]


def panel_width(W, lanes):
    """The columns of one panel of W: 2 vectors of ``lanes`` (packed), 1 (BLAS)."""


@overload(panel_width)
def _panel_width(W, lanes):
    if isinstance(lanes, types.NoneType):
        return lambda W, lanes: 1
    return lambda W, lanes: 2 * simd.count(W, lanes)


def columns(W, p0, p1, lanes):
    """Panels p0 … p1 − 1 of one gate's state weights: W[p0:p1] packed, W[:, p0:p1] (the
    units themselves) for BLAS."""


@overload(columns)
def _columns(W, p0, p1, lanes):
    if isinstance(lanes, types.NoneType):
        return lambda W, p0, p1, lanes: W[:, p0:p1]
    return lambda W, p0, p1, lanes: W[p0:p1]


@njit(**FAST)
def units(n, W, part, parts, lanes):
    """(p0, p1, u0, u1): the panels p0 … p1 − 1 of every gate's state weights W (per gate,
    as state_product takes them) that ``part`` of ``parts`` computes, and its units
    u0 … u1 − 1: the panels split as evenly as they go."""
    NR = panel_width(W, lanes)
    panels = (n + NR - 1) // NR
    p0 = panels * part // parts
    p1 = panels * (part + 1) // parts
    return p0, p1, p0 * NR, min(p1 * NR, n)


# ``accumulate`` flags: numpy booleans, which numba types as booleans (True and False
# themselves would be literals, compiling a product for each)
SET, ADD = np.bool_(False), np.bool_(True)


@njit(**FAST)
def state_product(s, Ws, Wsg, ms, Bt, G, lanes, p0, p1, u0, u1, masked, accumulate):
    """G[:Bt] = s·Ws (K, gates·n), or with per-gate masks Σ_g (s∘ms_g)·Ws_g per gate block,
    in the columns of units u0 … u1 − 1 of every gate (panels p0 … p1 − 1, see ``units``);
    G[:Bt] += … when ``accumulate``. s (B, K): the states (K = n), or a step's inputs (its
    input product, K = k: the same code on the input weights). ``lanes`` None: on
    BLAS, Ws fused and Wsg (gates, K, n) its blocks; otherwise on the micro-kernel, Ws and
    Wsg their packed panels (kernels/packed.py). ``ms`` (B, gates, K) is None without masks
    (numba then compiles the branches a call takes only); ``masked`` (B, K): work."""
    n = G.shape[1] // Wsg.shape[0]
    if ms is None:
        if u1 - u0 == n:  # one thread: one product for every gate
            # as column views, as below: the product on BLAS compiles for one layout
            W = columns(Ws, 0, Ws.shape[1] if lanes is None else Ws.shape[0], lanes)
            product(s[:Bt], W, G[:Bt, 0 : G.shape[1]], accumulate, lanes)
            return
        for g in range(Wsg.shape[0]):
            W = columns(Wsg[g], p0, p1, lanes)
            product(s[:Bt], W, G[:Bt, g * n + u0 : g * n + u1], accumulate, lanes)
    else:
        for g in range(Wsg.shape[0]):
            for r in range(Bt):
                for j in range(s.shape[1]):
                    masked[r, j] = s[r, j] * ms[r, g, j]
            W = columns(Wsg[g], p0, p1, lanes)
            product(masked[:Bt], W, G[:Bt, g * n + u0 : g * n + u1], accumulate, lanes)


@njit(**FAST)
def state_product_back(D, WsT, WsgT, ms, Bt, out, lanes, p0, p1, u0, u1, part):
    """out[:Bt] = the gradient of s from D[:Bt] (gates·n): D·WsT = Σ_g D_g·Ws_gᵀ, or
    Σ_g (D_g·Ws_gᵀ)∘ms_g, in the columns of units u0 … u1 − 1; ``lanes``, ``ms`` and the
    panels as in state_product (WsgT: the blocks Ws_gᵀ, or their packed panels); ``part``
    (B, n): work."""
    n = out.shape[1]
    if ms is None:  # one product for every gate: the part's units are columns of WsT
        product(D[:Bt], columns(WsT, p0, p1, lanes), out[:Bt, u0:u1], SET, lanes)
    else:
        w = u1 - u0
        for r in range(Bt):
            o = out[r][u0:u1]
            for j in range(w):
                o[j] = 0
        for g in range(WsgT.shape[0]):
            W = columns(WsgT[g], p0, p1, lanes)
            product(D[:Bt, g * n : (g + 1) * n], W, part[:Bt, :w], SET, lanes)
            for r in range(Bt):
                o, pr, m = out[r][u0:u1], part[r], ms[r, g][u0:u1]
                for j in range(w):
                    o[j] += pr[j] * m[j]


@njit(**FAST)
def block(x, blk, n, u0, u1):
    """Units u0 … u1 − 1 of gate block ``blk`` (n units each) of a fused row x, as a view:
    the kernels' loops run from 0 over views, which numba's index arithmetic leaves
    vectorizable (a loop from an offset it cannot prove non-negative is not)."""
    return x[blk * n + u0 : blk * n + u1]


@njit(**FAST)
def activate(z, g, s, kind):
    """s = f(z + g) for one row (views of one part's units), one loop per kind."""
    if kind == 0:
        for j in range(s.shape[0]):
            s[j] = tanh(z[j] + g[j])
    elif kind == 1:
        for j in range(s.shape[0]):
            s[j] = max(z[j] + g[j], like(s[j], 0.0))
    elif kind == 2:
        for j in range(s.shape[0]):
            s[j] = sigmoid(z[j] + g[j])
    elif kind == 3:
        for j in range(s.shape[0]):
            s[j] = softsign(z[j] + g[j])
    else:
        for j in range(s.shape[0]):
            s[j] = z[j] + g[j]


@njit(**FAST, nogil=True)
def rnn_forward(
    X, Wx, Wxg, mx, bias, Ws, Wsg, S, order, batch_sizes, kind, ms, Y, lanes, part, parts, sync
):
    """Run s' = f(x·Wx + s·Ws + b) over X (T, B, k), time-major, rows in ``order``, the
    units of ``part`` of ``parts`` threads: each step's products are made on the part's
    columns, of its inputs and of its states (Wx, Wxg, mx and bias as in lstm_forward); S
    (2, B, n) the double buffer of running states, as in lstm_forward. Fills Y."""
    T, B, k = X.shape
    n = S.shape[2]
    dt = S.dtype
    p0, p1, u0, u1 = units(n, Wsg, part, parts, lanes)
    G = np.empty((B, n), dt)
    masked = np.empty((B, n) if ms is not None else (0, n), dt)
    xmasked = np.empty((B, k) if mx is not None else (0, k), dt)
    for t in range(T):
        Bt = batch_sizes[t]
        if Bt == 0:
            break
        s, s_next = S[t % 2], S[(t + 1) % 2]
        state_product(X[t], Wx, Wxg, mx, Bt, G, lanes, p0, p1, u0, u1, xmasked, SET)
        state_product(s, Ws, Wsg, ms, Bt, G, lanes, p0, p1, u0, u1, masked, ADD)
        for r in range(Bt):
            b = order[r]
            sr = s_next[r][u0:u1]
            activate(bias[u0:u1], G[r][u0:u1], sr, kind)
            copy_row(Y[b, t][u0:u1], sr)
        barrier(sync, parts)


@njit(**FAST)
def back_activate(ds, dy, y, d, kind):
    """d = (ds + dy) * f'(f⁻¹(y)) for one row (views of one part's units), one loop per kind."""
    one, zero = like(d[0], 1.0), like(d[0], 0.0)
    if kind == 0:
        for j in range(d.shape[0]):
            d[j] = (ds[j] + dy[j]) * (one - y[j] * y[j])
    elif kind == 1:
        for j in range(d.shape[0]):
            d[j] = (ds[j] + dy[j]) if y[j] > zero else zero
    elif kind == 2:
        for j in range(d.shape[0]):
            d[j] = (ds[j] + dy[j]) * y[j] * (one - y[j])
    elif kind == 3:
        for j in range(d.shape[0]):
            d[j] = (ds[j] + dy[j]) * (one - abs(y[j])) * (one - abs(y[j]))
    else:
        for j in range(d.shape[0]):
            d[j] = ds[j] + dy[j]


@njit(**FAST, nogil=True)
def rnn_backward(
    dY, ds, Y, WsT, WsgT, order, batch_sizes, kind, ms, dZ, D2, lanes, part, parts, sync
):
    """Back-propagate through time, the units of ``part`` of ``parts`` threads: ds (B, n),
    rows in ``order``, the final state's gradient, updated in place into the initial
    state's; D2 (2, B, n) the double buffer of each step's dz, as in lstm_backward. Fills dZ
    (B, T, n), the gradient of the pre-activations (zero past each sequence's end)."""
    B, T, n = dZ.shape
    p0, p1, u0, u1 = units(n, WsgT, part, parts, lanes)
    work = np.empty((B, n) if ms is not None else (0, n), dZ.dtype)
    for t in range(T - 1, -1, -1):
        Bt = batch_sizes[t]
        if Bt == 0:
            continue
        D = D2[t % 2]
        for r in range(Bt):
            b = order[r]
            d = D[r][u0:u1]
            back_activate(ds[r][u0:u1], dY[b, t][u0:u1], Y[b, t][u0:u1], d, kind)
            copy_row(dZ[b, t][u0:u1], d)
        barrier(sync, parts)
        state_product_back(D, WsT, WsgT, ms, Bt, ds, lanes, p0, p1, u0, u1, work)
