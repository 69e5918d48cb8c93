"""Numba kernels of the GRU recurrence (Wolfram's equations), forward and backward.

Layout: batch-major ``(B, T, …)``, with ``order`` and ``batch_sizes`` as in rnn_kernels.py.
Fused gate order in the last axis of ``Z``, ``A``, ``dZ`` and ``dG``: i, r, m (input gate,
reset gate, memory). One GEMM per step gives all three state products g = s·Ws at once:

    i = σ(zi + gi)     r = σ(zr + gr)     m = tanh(zm + r*gm)     s' = (1−i)*m + i*s

with z = Wx·x + b the hoisted input projection. ``dZ`` is the gradient of z, ``dG`` that
of g (equal to dZ but for the memory block, where dgm = dzm*r). Every inner loop is
branch-free over a contiguous row, so that it compiles to SIMD code.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .fastmath import FAST, like, sigmoid, tanh
from .rnn_kernels import batch_order, in_order, state_product, state_product_back


@njit(**FAST)
def gru_forward(Z, Ws, Wsg, s0, order, batch_sizes, ms, Y, A, GM, store):
    """Run the recurrence over Z (B, T, 3n). Fills Y (the states) and, when ``store``, A
    (i, r, m) and GM (the memory block gm of the state product) for the backward pass;
    returns the final state (B, n), taken at each sequence's last step."""
    B, T, n3 = Z.shape
    n = n3 // 3
    s = in_order(s0, order)
    G = np.empty((B, n3), Z.dtype)
    scratch = np.empty(n3, Z.dtype)
    one = like(Z[0, 0, 0], 1.0)
    for t in range(T):
        Bt = batch_sizes[t]
        if Bt == 0:
            break
        state_product(s, Ws, Wsg, ms, Bt, G)
        for r in range(Bt):
            b = order[r]
            z, g, sr, y = Z[b, t], G[r], s[r], Y[b, t]
            a = A[b, t] if store else scratch
            for j in range(2 * n):  # i, r
                a[j] = sigmoid(z[j] + g[j])
            for j in range(n):  # m
                a[2 * n + j] = tanh(z[2 * n + j] + a[n + j] * g[2 * n + j])
            for j in range(n):
                sr[j] = (one - a[j]) * a[2 * n + j] + a[j] * sr[j]
                y[j] = sr[j]
            if store:
                GM[b, t] = g[2 * n :]
    return batch_order(s, order)


@njit(**FAST)
def gru_backward(dY, dsT, A, GM, Y, s0, WsT, WsgT, order, batch_sizes, ms, dZ, dG):
    """Back-propagate through time. Fills dZ and dG (B, T, 3n), zero past each sequence's
    end; returns the gradient of the initial state (B, n)."""
    B, T, n3 = dZ.shape
    n = n3 // 3
    ds = in_order(dsT, order)
    D = np.empty((B, n3), dZ.dtype)
    back = np.empty((B, n), dZ.dtype)
    one = like(dZ[0, 0, 0], 1.0)
    for t in range(T - 1, -1, -1):
        Bt = batch_sizes[t]
        if Bt == 0:
            continue
        for r in range(Bt):
            b = order[r]
            a, gm, dy, d, dz, dsr = A[b, t], GM[b, t], dY[b, t], D[r], dZ[b, t], ds[r]
            sp = Y[b, t - 1] if t > 0 else s0[b]
            for j in range(n):
                i, rr, m = a[j], a[n + j], a[2 * n + j]
                dsv = dsr[j] + dy[j]
                dzi = dsv * (sp[j] - m) * i * (one - i)
                dzm = dsv * (one - i) * (one - m * m)
                dzr = dzm * gm[j] * rr * (one - rr)
                dz[j] = dzi
                dz[n + j] = dzr
                dz[2 * n + j] = dzm
                d[j] = dzi
                d[n + j] = dzr
                d[2 * n + j] = dzm * rr
                dsr[j] = dsv * i
            dG[b, t] = d
        state_product_back(D, WsT, WsgT, ms, Bt, back)
        ds[:Bt] += back[:Bt]
    return batch_order(ds, order)
