"""Numba kernels of the LSTM recurrence (Wolfram's equations), forward and backward.

Layout: batch-major ``(B, T, …)``. ``order`` lists the batch rows by decreasing length, so
the sequences still running at step t are ``order[:batch_sizes[t]]``; the running states are
kept in that order, so each step's state GEMM runs on one contiguous block. Fused gate order
in the last axis of ``Z``, ``A`` and ``dZ``: i, f, o, m (three gates, then the candidate).

    i = σg(zi)   f = σg(zf)   o = σg(zo)   m = σs(zm)       z = Wx·x + Ws·s + b
    c' = f*c + i*(m*u)        s' = o*σs(c')                  u: the StateUpdate mask (or 1)

σg is LogisticSigmoid (kind 0) or HardSigmoid (1); σs is Tanh (0) or SoftSign (1).
Derivatives come from the activations' outputs. Every inner loop is branch-free over a
contiguous row, so that it compiles to SIMD code (see fastmath.py for exp in float32).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .fastmath import FAST, hard_sigmoid, like, sigmoid, softsign, tanh
from .rnn_kernels import batch_order, in_order, state_product, state_product_back


@njit(**FAST, inline="always")
def activate(z, g, a, n, gk, sk):
    """a = (σg(zi + gi), σg(zf + gf), σg(zo + go), σs(zm + gm)) for one row."""
    if gk == 0:
        for j in range(3 * n):
            a[j] = sigmoid(z[j] + g[j])
    else:
        for j in range(3 * n):
            a[j] = hard_sigmoid(z[j] + g[j])
    if sk == 0:
        for j in range(3 * n, 4 * n):
            a[j] = tanh(z[j] + g[j])
    else:
        for j in range(3 * n, 4 * n):
            a[j] = softsign(z[j] + g[j])


@njit(**FAST)
def lstm_forward(Z, Ws, Wsg, s0, c0, order, batch_sizes, gk, sk, ms, u, Y, A, C, SC, store):
    """Run the recurrence over Z (B, T, 4n) = input projection + biases.

    Fills Y (outputs s) and, when ``store``, A (activations i, f, o, m), C (cells) and SC
    (σs of the cells) for the backward pass; returns the final state and cell (B, n), taken
    at each sequence's last step. ``ms`` rows follow ``order``; ``u`` is (B, T, n) or empty."""
    B, T, n4 = Z.shape
    n = n4 // 4
    s = in_order(s0, order)
    c = in_order(c0, order)
    G = np.empty((B, n4), Z.dtype)
    scratch = np.empty(n4, Z.dtype)
    cs = np.empty(n, Z.dtype)
    for t in range(T):
        Bt = batch_sizes[t]
        if Bt == 0:
            break
        state_product(s, Ws, Wsg, ms, Bt, G)
        for r in range(Bt):
            b = order[r]
            a = A[b, t] if store else scratch
            activate(Z[b, t], G[r], a, n, gk, sk)
            cr, sr, y = c[r], s[r], Y[b, t]
            if u.shape[0] > 0:
                ur = u[b, t]
                for j in range(n):
                    cr[j] = a[n + j] * cr[j] + a[j] * a[3 * n + j] * ur[j]
            else:
                for j in range(n):
                    cr[j] = a[n + j] * cr[j] + a[j] * a[3 * n + j]
            if sk == 0:
                for j in range(n):
                    cs[j] = tanh(cr[j])
            else:
                for j in range(n):
                    cs[j] = softsign(cr[j])
            for j in range(n):
                sr[j] = a[2 * n + j] * cs[j]
                y[j] = sr[j]
            if store:
                C[b, t] = cr
                SC[b, t] = cs
    return batch_order(s, order), batch_order(c, order)


@njit(**FAST, inline="always")
def dgate(y, kind):
    one = like(y, 1.0)
    return y * (one - y) if kind == 0 else (like(y, 0.2) if (y > 0) & (y < one) else like(y, 0.0))


@njit(**FAST, inline="always")
def dsquash(y, kind):
    one = like(y, 1.0)
    return one - y * y if kind == 0 else (one - abs(y)) * (one - abs(y))


@njit(**FAST)
def lstm_backward(dY, dsT, dcT, A, C, SC, c0, WsT, WsgT, order, batch_sizes, gk, sk, ms, u, dZ):
    """Back-propagate through time. Fills dZ (B, T, 4n), the gradient of the
    pre-activations (zero past each sequence's end); returns the gradients of the initial
    state and cell (B, n)."""
    B, T, n4 = dZ.shape
    n = n4 // 4
    ds = in_order(dsT, order)
    dc = in_order(dcT, order)
    D = np.empty((B, n4), dZ.dtype)
    zero = like(dZ[0, 0, 0], 0.0)
    for t in range(T - 1, -1, -1):
        Bt = batch_sizes[t]
        if Bt == 0:
            continue
        for r in range(Bt):
            b = order[r]
            a, sc, dy, d = A[b, t], SC[b, t], dY[b, t], D[r]
            cp = C[b, t - 1] if t > 0 else c0[b]
            dsr, dcr = ds[r], dc[r]
            has_u = u.shape[0] > 0
            ur = u[b, t] if has_u else sc
            for j in range(n):
                uu = ur[j] if has_u else like(zero, 1.0)
                i, f, o, m = a[j], a[n + j], a[2 * n + j], a[3 * n + j]
                dsv = dsr[j] + dy[j]
                dcv = dcr[j] + dsv * o * dsquash(sc[j], sk)
                d[j] = dcv * m * uu * dgate(i, gk)
                d[n + j] = dcv * cp[j] * dgate(f, gk)
                d[2 * n + j] = dsv * sc[j] * dgate(o, gk)
                d[3 * n + j] = dcv * i * uu * dsquash(m, sk)
                dcr[j] = dcv * f
            dZ[b, t] = d
        state_product_back(D, WsT, WsgT, ms, Bt, ds)
    return batch_order(ds, order), batch_order(dc, order)
