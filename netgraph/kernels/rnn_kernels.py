"""Numba kernels of the basic recurrence s' = f(Wx·x + Ws·s + b), forward and backward, and
the state products that every recurrent kernel of the family shares.

Layout: time-major ``(T, B, …)``, the batch sorted by decreasing length so that the
sequences still running at step t are the first ``batch_sizes[t]`` rows. ``Z`` holds the
input projection plus biases; ``G`` the state product ``s·Ws`` (or, with per-gate state
masks ``ms`` (B, gates, n), ``Σ_g (s∘ms_g)·Ws_g``).

f is Tanh (kind 0), Ramp (1), LogisticSigmoid (2), SoftSign (3) or Identity (4); its
derivative is taken from its output.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, inline="always")
def act(x, kind):
    if kind == 0:
        return np.tanh(x)
    if kind == 1:
        return max(x, 0.0)
    if kind == 2:
        return 1.0 / (1.0 + np.exp(-x))
    if kind == 3:
        return x / (1.0 + abs(x))
    return x


@njit(cache=True, inline="always")
def dact(y, kind):
    if kind == 0:
        return 1.0 - y * y
    if kind == 1:
        return 1.0 if y > 0.0 else 0.0
    if kind == 2:
        return y * (1.0 - y)
    if kind == 3:
        return (1.0 - abs(y)) * (1.0 - abs(y))
    return 1.0


@njit(cache=True)
def state_product(s, Ws, Wsg, ms, Bt, G):
    """G[:Bt] = s·Ws (n, gates·n), or with state masks Σ_g (s∘ms_g)·Ws_g per gate block."""
    if ms.shape[0] == 0:
        G[:Bt] = np.dot(s[:Bt], Ws)
        return
    n = s.shape[1]
    for g in range(Wsg.shape[0]):
        G[:Bt, g * n : (g + 1) * n] = np.dot(s[:Bt] * ms[:Bt, g], Wsg[g])


@njit(cache=True)
def state_product_back(dG, WsT, WsgT, ms, Bt):
    """The gradient of s from dG (Bt, gates·n): dG·WsT, or Σ_g (dG_g·Ws_gᵀ)∘ms_g."""
    if ms.shape[0] == 0:
        return np.dot(dG, WsT)
    n = WsT.shape[1]
    acc = np.zeros((Bt, n), dG.dtype)
    for g in range(WsgT.shape[0]):
        acc += np.dot(np.ascontiguousarray(dG[:, g * n : (g + 1) * n]), WsgT[g]) * ms[:Bt, g]
    return acc


@njit(cache=True)
def rnn_forward(Z, Ws, Wsg, s0, batch_sizes, kind, ms, Y):
    """Run s' = f(z + s·Ws) over Z (T, B, n); fills Y (the states) and returns the final
    state (B, n), taken at each sequence's last step."""
    T, B, n = Z.shape
    s = s0.copy()
    G = np.empty((B, n), Z.dtype)
    for t in range(T):
        Bt = batch_sizes[t]
        state_product(s, Ws, Wsg, ms, Bt, G)
        for b in range(Bt):
            for j in range(n):
                sn = act(Z[t, b, j] + G[b, j], kind)
                Y[t, b, j] = sn
                s[b, j] = sn
    return s


@njit(cache=True)
def rnn_backward(dY, dsT, Y, WsT, WsgT, batch_sizes, kind, ms, dZ):
    """Back-propagate through time. Fills dZ (T, B, n), the gradient of the
    pre-activations; returns the gradient of the initial state (B, n)."""
    T, B, n = dZ.shape
    ds = dsT.copy()
    for t in range(T - 1, -1, -1):
        Bt = batch_sizes[t]
        for b in range(Bt):
            for j in range(n):
                dZ[t, b, j] = (ds[b, j] + dY[t, b, j]) * dact(Y[t, b, j], kind)
        ds[:Bt] = state_product_back(dZ[t, :Bt], WsT, WsgT, ms, Bt)
    return ds
