"""Numba kernels of the LSTM recurrence (Wolfram's equations), forward and backward.

Layout: batch-major ``(B, T, …)``. ``order`` lists the batch rows by decreasing length, so
the sequences still running at step t are ``order[:batch_sizes[t]]``; the running states are
kept in that order, so each step's state GEMM runs on one contiguous block. The last axis of
``Z``, ``A`` and ``dZ`` holds the four gates in ``GATES`` order, gate g in columns g·n … g·n+n.

Forward, one step (z = Wx·x + Ws·s + b; u the StateUpdate mask, or 1):

    i = σg(zi)   o = σg(zo)   f = σg(zf)   m = σs(zm)
    c' = f*c + i*m*u          s' = o*σs(c')

Backward (BPTT), the same step from the end: ds'₊ and dc'₊ are the gradients of s' and c'
from the next step, dy that of the output y = s'; ds and dc go to the previous step:

    ds' = ds'₊ + dy           dc' = dc'₊ + ds'*o*σs'(c')
    dzi = dc'*m*u*σg'(i)      dzo = ds'*σs(c')*σg'(o)
    dzf = dc'*c*σg'(f)        dzm = dc'*i*u*σs'(m)
    dc  = dc'*f               ds  = Wsᵀ·dz   (with state masks ms: Σ_g ms_g∘(Ws_gᵀ·dz_g))

Ws is the (4n, n) stack of the gates' state weights. The kernels return dz at every step; the
weight gradients dWx = Σ dz·xᵀ, dWs = Σ dz·sᵀ, db = Σ dz are a few GEMMs after the loop
(rnn.py). Each derivative is taken from the activation's output y: σg is LogisticSigmoid (kind
None, σ' = y(1−y)) or HardSigmoid (1, σ' = 0.2 inside (0, 1), else 0); σs is Tanh (None,
σ' = 1−y²) or SoftSign (1, σ' = (1−|y|)²); numba compiles the code of the kinds a call passes
only (rnn.py's GATE_KINDS). lstm_reference.py is the same step in plain numpy, written like the
equations; the tests hold these kernels to it. Every inner loop is branch-free over a contiguous
row, so that it compiles to SIMD code (see fastmath.py for exp in float32).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .fastmath import FAST, dgate, dsquash, gate_rows, softsign, tanh
from .rnn_kernels import batch_order, copy_row, in_order, state_product, state_product_back

# The LSTM's one gate order, for every fused array, activation, gradient and per-gate mask:
# Wolfram's array order, which is also ONNX's (i, o, f, c). The three gates come first, so
# that one σg loop covers columns 0 … 3n; the candidate m, under σs, is last. It lives here,
# beside the kernels that index by it, because numba's cache follows this file.
GATES = ("Input", "Output", "Forget", "Memory")
# the block of each gate, as in a[OG * n + j]
IG, OG, FG, MG = map(GATES.index, ("Input", "Output", "Forget", "Memory"))
assert MG == 3, "the candidate m must be the last block (σs after three σg blocks)"


@njit(**FAST, inline="always")
def activate(z, g, a, n, gk, sk):
    """a = σg(z + g) on the three gate blocks, σs(z + g) on the candidate block, for one row."""
    gate_rows(z, g, a, MG * n, gk)
    if sk is None:
        for j in range(MG * n, 4 * n):
            a[j] = tanh(z[j] + g[j])
    else:
        for j in range(MG * n, 4 * n):
            a[j] = softsign(z[j] + g[j])


@njit(**FAST, inline="always")
def cell_update(a, c, s, y, cs, ur, sk):
    """One row, in place: c' = f*c + i*(m*u) (ur the row's StateUpdate mask at this step, or
    ones), cs = σs(c'), y = s' = o*cs."""
    n = c.shape[0]
    for j in range(n):
        i, f, m = a[IG * n + j], a[FG * n + j], a[MG * n + j]
        c[j] = f * c[j] + i * m * ur[j]
    if sk is None:
        for j in range(n):
            cs[j] = tanh(c[j])
    else:
        for j in range(n):
            cs[j] = softsign(c[j])
    for j in range(n):
        s[j] = a[OG * n + j] * cs[j]
        y[j] = s[j]


@njit(**FAST)
def lstm_forward(Z, Ws, Wsg, s0, c0, order, batch_sizes, gk, sk, ms, u, Y, A, C, SC, store):
    """Run the recurrence over Z (B, T, 4n) = input projection + biases.

    Z: (B, T, 4n) x·Wx + b. Ws (n, 4n): the stacked state weights transposed, so that a
    step's product is s·Ws; Wsg (4, n, n): its blocks per gate.
    s0, c0 (B, n): initial state and cell. order, batch_sizes: the rows by decreasing length
    and how many run at each step. gk, sk: the kinds of σg and σs. ms (B, 4, n): state masks,
    rows in ``order``, or None; u (B, T, n): StateUpdate masks, or None.

    Fills Y (the states s) and, when ``store``, A (i, o, f, m), C (the cells c') and SC (σs(c'))
    for the backward pass; returns the final state and cell (B, n), taken at each sequence's
    last step."""
    B, T, n4 = Z.shape
    n = n4 // 4
    s = in_order(s0, order)
    c = in_order(c0, order)
    G = np.empty((B, n4), Z.dtype)
    scratch = np.empty(n4, Z.dtype)
    cs = np.empty(n, Z.dtype)
    ones = np.ones(n, Z.dtype)  # the StateUpdate mask when there is none (x·1 = x exactly)
    for t in range(T):
        Bt = batch_sizes[t]
        if Bt == 0:
            break
        state_product(s, Ws, Wsg, ms, Bt, G)
        for r in range(Bt):
            b = order[r]
            a = A[b, t] if store else scratch
            activate(Z[b, t], G[r], a, n, gk, sk)
            if u is None:
                ur = ones
            else:
                ur = u[b, t]
            cell_update(a, c[r], s[r], Y[b, t], cs, ur, sk)
            if store:
                copy_row(C[b, t], c[r])
                copy_row(SC[b, t], cs)
    return batch_order(s, order), batch_order(c, order)


@njit(**FAST)
def lstm_backward(dY, dsT, dcT, A, C, SC, c0, WsT, WsgT, order, batch_sizes, gk, sk, ms, u, dZ):
    """Back-propagate through time.

    dY (B, T, n): gradient of the outputs; dsT, dcT (B, n): of the final state and cell.
    A, C, SC: what lstm_forward stored; c0 (B, n): the initial cell. WsT (4n, n): the stacked
    state weights, so that ds = dz·WsT; WsgT (4, n, n): its blocks per gate. order,
    batch_sizes, gk, sk, ms, u: as in lstm_forward.

    Fills dZ (B, T, 4n), the gradient of the pre-activations z (zero past each sequence's
    end); returns the gradients of the initial state and cell (B, n)."""
    B, T, n4 = dZ.shape
    n = n4 // 4
    ds = in_order(dsT, order)
    dc = in_order(dcT, order)
    D = np.empty((B, n4), dZ.dtype)
    ones = np.ones(n, dZ.dtype)  # the StateUpdate mask when there is none
    for t in range(T - 1, -1, -1):
        Bt = batch_sizes[t]
        if Bt == 0:
            continue
        for r in range(Bt):
            b = order[r]
            a, sc, dy, dz = A[b, t], SC[b, t], dY[b, t], D[r]
            c = C[b, t - 1] if t > 0 else c0[b]
            dsr, dcr = ds[r], dc[r]
            if u is None:
                ur = ones
            else:
                ur = u[b, t]
            for j in range(n):
                uj = ur[j]
                i, o, f, m = a[IG * n + j], a[OG * n + j], a[FG * n + j], a[MG * n + j]
                dsv = dsr[j] + dy[j]
                dcv = dcr[j] + dsv * o * dsquash(sc[j], sk)
                dz[IG * n + j] = dcv * m * uj * dgate(i, gk)
                dz[OG * n + j] = dsv * sc[j] * dgate(o, gk)
                dz[FG * n + j] = dcv * c[j] * dgate(f, gk)
                dz[MG * n + j] = dcv * i * uj * dsquash(m, sk)
                dcr[j] = dcv * f
            copy_row(dZ[b, t], dz)
        state_product_back(D, WsT, WsgT, ms, Bt, ds)
    return batch_order(ds, order), batch_order(dc, order)
