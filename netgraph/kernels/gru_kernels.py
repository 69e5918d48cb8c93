"""Numba kernels of the GRU recurrence (Wolfram's equations), forward and backward.

Layout: time-major ``(T, B, …)``, the batch sorted by decreasing length so that the
sequences still running at step t are the first ``batch_sizes[t]`` rows. Fused gate order
in the last axis of ``Z``, ``A``, ``dZ`` and ``dG``: i, r, m (input gate, reset gate,
memory). One GEMM per step gives all three state products g = s·Ws at once:

    i = σ(zi + gi)     r = σ(zr + gr)     m = tanh(zm + r*gm)     s' = (1−i)*m + i*s

with z = Wx·x + b the hoisted input projection. ``dZ`` is the gradient of z, ``dG`` that
of g (equal to dZ but for the memory block, where dgm = dzm*r).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .rnn_kernels import state_product, state_product_back


@njit(cache=True)
def gru_forward(Z, Ws, Wsg, s0, batch_sizes, ms, Y, A, GM):
    """Run the recurrence over Z (T, B, 3n). Fills Y (the states), A (i, r, m) and GM (the
    memory block gm of the state product); returns the final state (B, n), taken at each
    sequence's last step."""
    T, B, n3 = Z.shape
    n = n3 // 3
    s = s0.copy()
    G = np.empty((B, n3), Z.dtype)
    for t in range(T):
        Bt = batch_sizes[t]
        state_product(s, Ws, Wsg, ms, Bt, G)
        for b in range(Bt):
            for j in range(n):
                i = 1.0 / (1.0 + np.exp(-(Z[t, b, j] + G[b, j])))
                r = 1.0 / (1.0 + np.exp(-(Z[t, b, n + j] + G[b, n + j])))
                gm = G[b, 2 * n + j]
                m = np.tanh(Z[t, b, 2 * n + j] + r * gm)
                sn = (1.0 - i) * m + i * s[b, j]
                A[t, b, j] = i
                A[t, b, n + j] = r
                A[t, b, 2 * n + j] = m
                GM[t, b, j] = gm
                Y[t, b, j] = sn
                s[b, j] = sn
    return s


@njit(cache=True)
def gru_backward(dY, dsT, A, GM, Y, s0, WsT, WsgT, batch_sizes, ms, dZ, dG):
    """Back-propagate through time. Fills dZ and dG (T, B, 3n); returns the gradient of
    the initial state (B, n)."""
    T, B, n3 = dZ.shape
    n = n3 // 3
    ds = dsT.copy()
    for t in range(T - 1, -1, -1):
        Bt = batch_sizes[t]
        for b in range(Bt):
            for j in range(n):
                i = A[t, b, j]
                r = A[t, b, n + j]
                m = A[t, b, 2 * n + j]
                sp = Y[t - 1, b, j] if t > 0 else s0[b, j]
                dsv = ds[b, j] + dY[t, b, j]
                dzi = dsv * (sp - m) * i * (1.0 - i)
                dzm = dsv * (1.0 - i) * (1.0 - m * m)
                dzr = dzm * GM[t, b, j] * r * (1.0 - r)
                dZ[t, b, j] = dzi
                dZ[t, b, n + j] = dzr
                dZ[t, b, 2 * n + j] = dzm
                dG[t, b, j] = dzi
                dG[t, b, n + j] = dzr
                dG[t, b, 2 * n + j] = dzm * r
                ds[b, j] = dsv * i
        ds[:Bt] += state_product_back(dG[t, :Bt], WsT, WsgT, ms, Bt)
    return ds
