"""Numba kernels of the LSTM recurrence (Wolfram's equations), forward and backward.

Layout: time-major ``(T, B, …)``, the batch sorted by decreasing length so that the
sequences still running at step t are the first ``batch_sizes[t]`` rows. Fused gate order
in the last axis of ``Z``, ``A`` and ``dZ``: i, f, o, m (three gates, then the candidate).

    i = σg(zi)   f = σg(zf)   o = σg(zo)   m = σs(zm)       z = Wx·x + Ws·s + b
    c' = f*c + i*(m*u)        s' = o*σs(c')                  u: the StateUpdate mask (or 1)

σg is LogisticSigmoid (kind 0) or HardSigmoid (1); σs is Tanh (0) or SoftSign (1).
Derivatives are taken from the activations' outputs.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, inline="always")
def gate(x, kind):
    if kind == 0:
        return 1.0 / (1.0 + np.exp(-x))
    return min(max(0.2 * x + 0.5, 0.0), 1.0)


@njit(cache=True, inline="always")
def dgate(y, kind):
    if kind == 0:
        return y * (1.0 - y)
    return 0.2 if 0.0 < y < 1.0 else 0.0


@njit(cache=True, inline="always")
def squash(x, kind):
    if kind == 0:
        return np.tanh(x)
    return x / (1.0 + abs(x))


@njit(cache=True, inline="always")
def dsquash(y, kind):
    if kind == 0:
        return 1.0 - y * y
    return (1.0 - abs(y)) * (1.0 - abs(y))


@njit(cache=True)
def state_product(s, Ws, Wsg, ms, Bt, G):
    """G[:Bt] = s·Ws, or with per-gate state masks Σ_g (s∘ms_g)·Ws_g (VariationalState)."""
    if ms.shape[0] == 0:
        G[:Bt] = np.dot(s[:Bt], Ws)
        return
    n = s.shape[1]
    for g in range(4):
        G[:Bt, g * n : (g + 1) * n] = np.dot(s[:Bt] * ms[:Bt, g], Wsg[g])


@njit(cache=True)
def lstm_forward(Z, Ws, Wsg, s0, c0, batch_sizes, gk, sk, ms, u, Y, A, C, SC):
    """Run the recurrence over Z (T, B, 4n) = input projection + biases.

    Fills Y (outputs s), A (activations i, f, o, m), C (cells), SC (σs of cells);
    returns the final state and cell (B, n), taken at each sequence's last step."""
    T, B, n4 = Z.shape
    n = n4 // 4
    s = s0.copy()
    c = c0.copy()
    G = np.empty((B, n4), Z.dtype)
    for t in range(T):
        Bt = batch_sizes[t]
        state_product(s, Ws, Wsg, ms, Bt, G)
        for b in range(Bt):
            for j in range(n):
                i = gate(Z[t, b, j] + G[b, j], gk)
                f = gate(Z[t, b, n + j] + G[b, n + j], gk)
                o = gate(Z[t, b, 2 * n + j] + G[b, 2 * n + j], gk)
                m = squash(Z[t, b, 3 * n + j] + G[b, 3 * n + j], sk)
                um = m * u[t, b, j] if u.shape[0] > 0 else m
                cn = f * c[b, j] + i * um
                sc = squash(cn, sk)
                sn = o * sc
                A[t, b, j] = i
                A[t, b, n + j] = f
                A[t, b, 2 * n + j] = o
                A[t, b, 3 * n + j] = m
                C[t, b, j] = cn
                SC[t, b, j] = sc
                Y[t, b, j] = sn
                c[b, j] = cn
                s[b, j] = sn
    return s, c


@njit(cache=True)
def lstm_backward(dY, dsT, dcT, A, C, SC, c0, WsT, WsgT, batch_sizes, gk, sk, ms, u, dZ):
    """Back-propagate through time. Fills dZ (T, B, 4n), the gradient of the
    pre-activations; returns the gradients of the initial state and cell (B, n)."""
    T, B, n4 = dZ.shape
    n = n4 // 4
    ds = dsT.copy()
    dc = dcT.copy()
    for t in range(T - 1, -1, -1):
        Bt = batch_sizes[t]
        for b in range(Bt):
            for j in range(n):
                i = A[t, b, j]
                f = A[t, b, n + j]
                o = A[t, b, 2 * n + j]
                m = A[t, b, 3 * n + j]
                sc = SC[t, b, j]
                dsv = ds[b, j] + dY[t, b, j]
                dcv = dc[b, j] + dsv * o * dsquash(sc, sk)
                cp = C[t - 1, b, j] if t > 0 else c0[b, j]
                uu = u[t, b, j] if u.shape[0] > 0 else 1.0
                dZ[t, b, j] = dcv * m * uu * dgate(i, gk)
                dZ[t, b, n + j] = dcv * cp * dgate(f, gk)
                dZ[t, b, 2 * n + j] = dsv * sc * dgate(o, gk)
                dZ[t, b, 3 * n + j] = dcv * i * uu * dsquash(m, sk)
                dc[b, j] = dcv * f
        if ms.shape[0] == 0:
            ds[:Bt] = np.dot(dZ[t, :Bt], WsT)
        else:
            acc = np.zeros((Bt, n), dZ.dtype)
            for g in range(4):
                acc += (
                    np.dot(np.ascontiguousarray(dZ[t, :Bt, g * n : (g + 1) * n]), WsgT[g])
                    * ms[:Bt, g]
                )
            ds[:Bt] = acc
    return ds, dc
