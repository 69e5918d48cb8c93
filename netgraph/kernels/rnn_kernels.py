"""Numba kernels of the basic recurrence s' = f(Wx·x + Ws·s + b), forward and backward, and
the state products that every recurrent kernel of the family shares.

Layout: batch-major ``(B, T, …)``. ``order`` lists the batch rows by decreasing length, so
the sequences still running at step t are ``order[:batch_sizes[t]]``; the running states are
kept in that order, so each step's state GEMM runs on one contiguous block. ``Z`` holds the
input projection plus biases; ``G`` the state product ``s·Ws`` (or, with per-gate state
masks ``ms`` (B, gates, n) whose rows follow ``order``, ``Σ_g (s∘ms_g)·Ws_g``). An absent
mask is None, not an empty array, so that numba compiles a kernel without its mask code
until a call has masks (dropout in training).

Forward, one step, and backward (BPTT) from the end: ds'₊ is the gradient of s' from the
next step, dy that of the output y = s'; ds goes to the previous step:

    s'  = f(z + Ws·s)                z = Wx·x + b, hoisted out of the loop
    dz  = (ds'₊ + dy)*f'(s')         ds = Wsᵀ·dz   (with a state mask ms: ms∘(Wsᵀ·dz))

The weight gradients dWx = Σ dz·xᵀ, dWs = Σ dz·sᵀ, db = Σ dz are a few GEMMs after the loop
(rnn.py). f is Tanh (kind 0), Ramp (1), LogisticSigmoid (2), SoftSign (3) or Identity (4); f' is
taken from f's output. rnn_reference.py is the same step in plain numpy, written like the
equations; the tests hold these kernels to it. Every inner loop is branch-free over a contiguous
row, so that it compiles to SIMD code (see fastmath.py for exp in float32).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .fastmath import FAST, like, sigmoid, softsign, tanh
from .gemm import gemm


@njit(**FAST, inline="always")
def copy_row(dst, src):
    """dst[:] = src for two rows of one length, as a loop: numba's array assignment would
    compile its shape-mismatch message, seconds of a cold start, for a check not needed here."""
    for j in range(dst.shape[0]):
        dst[j] = src[j]


@njit(**FAST, inline="always")
def in_order(a, order):
    """The rows of ``a`` (B, n) in the order of ``order``: running states, longest first."""
    out = np.empty((order.shape[0], a.shape[1]), a.dtype)
    for r in range(order.shape[0]):
        copy_row(out[r], a[order[r]])
    return out


@njit(**FAST, inline="always")
def batch_order(a, order):
    """Undo ``in_order``: row r of ``a`` goes back to batch row ``order[r]``."""
    out = np.empty_like(a)
    for r in range(order.shape[0]):
        copy_row(out[order[r]], a[r])
    return out


@njit(**FAST)
def state_product(s, Ws, Wsg, ms, Bt, G):
    """G[:Bt] = s·Ws (n, gates·n), or with state masks Σ_g (s∘ms_g)·Ws_g per gate block. ``ms``
    is None without masks: numba then compiles the first branch only."""
    if ms is None:
        gemm(s[:Bt], Ws, G[:Bt], False)
    else:
        n = s.shape[1]
        masked = np.empty((Bt, n), s.dtype)
        for g in range(Wsg.shape[0]):
            for r in range(Bt):
                for j in range(n):
                    masked[r, j] = s[r, j] * ms[r, g, j]
            gemm(masked, Wsg[g], G[:Bt, g * n : (g + 1) * n], False)


@njit(**FAST)
def state_product_back(D, WsT, WsgT, ms, Bt, out):
    """out[:Bt] = the gradient of s from D[:Bt] (gates·n): D·WsT, or Σ_g (D_g·Ws_gᵀ)∘ms_g;
    ``ms`` None: no masks."""
    if ms is None:
        gemm(D[:Bt], WsT, out[:Bt], False)
    else:
        n = WsT.shape[1]
        part = np.empty((Bt, n), D.dtype)
        out[:Bt] = 0  # a scalar fill: no shape check to compile
        for g in range(WsgT.shape[0]):
            gemm(D[:Bt, g * n : (g + 1) * n], WsgT[g], part, False)
            for r in range(Bt):
                for j in range(n):
                    out[r, j] += part[r, j] * ms[r, g, j]


@njit(**FAST, inline="always")
def activate(z, g, s, kind):
    """s = f(z + g) for one row, one loop per kind."""
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


@njit(**FAST)
def rnn_forward(Z, Ws, Wsg, s0, order, batch_sizes, kind, ms, Y):
    """Run s' = f(z + s·Ws) over Z (B, T, n); fills Y (the states) and returns the final
    state (B, n), taken at each sequence's last step."""
    B, T, n = Z.shape
    s = in_order(s0, order)
    G = np.empty((B, n), Z.dtype)
    for t in range(T):
        Bt = batch_sizes[t]
        if Bt == 0:
            break
        state_product(s, Ws, Wsg, ms, Bt, G)
        for r in range(Bt):
            b = order[r]
            activate(Z[b, t], G[r], s[r], kind)
            copy_row(Y[b, t], s[r])
    return batch_order(s, order)


@njit(**FAST, inline="always")
def back_activate(ds, dy, y, d, kind):
    """d = (ds + dy) * f'(f⁻¹(y)) for one row, one loop per kind."""
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


@njit(**FAST)
def rnn_backward(dY, dsT, Y, WsT, WsgT, order, batch_sizes, kind, ms, dZ):
    """Back-propagate through time. Fills dZ (B, T, n), the gradient of the
    pre-activations (zero past each sequence's end); returns the gradient of the initial
    state (B, n)."""
    B, T, n = dZ.shape
    ds = in_order(dsT, order)
    D = np.empty((B, n), dZ.dtype)
    for t in range(T - 1, -1, -1):
        Bt = batch_sizes[t]
        if Bt == 0:
            continue
        for r in range(Bt):
            b = order[r]
            back_activate(ds[r], dY[b, t], Y[b, t], D[r], kind)
            copy_row(dZ[b, t], D[r])
        state_product_back(D, WsT, WsgT, ms, Bt, ds)
    return batch_order(ds, order)
