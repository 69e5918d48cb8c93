"""Numba kernels of the LSTM recurrence (Wolfram's equations), forward and backward.

Layout: batch-major ``(B, T, …)``. ``order`` lists the batch rows by decreasing length, so
the sequences still running at step t are ``order[:batch_sizes[t]]``; the running states are
kept in that order (and the inputs, by the caller), so each step's products run on one
contiguous block. The last axis of the pre-activations, ``A`` and ``dZ`` holds the four
gates in ``GATES`` order, gate g in columns g·n … g·n+n.

Forward, one step (z = Wx·x + Ws·s + b, the products in the step; u the StateUpdate mask,
or 1):

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

from .fastmath import FAST, dgate, dsquash, gate_rows, softsign, squash_rows, tanh
from .rnn_kernels import ADD, SET, block, copy_row, state_product, state_product_back, units
from .sync import barrier

# The LSTM's one gate order, for every fused array, activation, gradient and per-gate mask:
# Wolfram's array order, which is also ONNX's (i, o, f, c). The three gates come first, so
# that one σg loop covers columns 0 … 3n; the candidate m, under σs, is last. It lives here,
# beside the kernels that index by it, because numba's cache follows this file.
GATES = ("Input", "Output", "Forget", "Memory")
# the block of each gate, as in a[OG * n + j]: numpy integers, which numba types as int64
# (a Python int would be a literal, and each value would compile a helper of its own)
IG, OG, FG, MG = (np.intp(GATES.index(g)) for g in ("Input", "Output", "Forget", "Memory"))
assert MG == 3, "the candidate m must be the last block (σs after three σg blocks)"


@njit(**FAST)
def gate_views(a, n, u0, u1):
    """The i, o, f and m blocks of a fused row, units u0 … u1 − 1: views."""
    return (
        block(a, IG, n, u0, u1),
        block(a, OG, n, u0, u1),
        block(a, FG, n, u0, u1),
        block(a, MG, n, u0, u1),
    )


@njit(**FAST)
def activate(z, g, a, n, u0, u1, gk, sk):
    """a = σg(z + g) on the three gate blocks, σs(z + g) on the candidate block, for one row's
    units u0 … u1 − 1 (z: the biases, g: the row's products)."""
    w = u1 - u0
    for blk in (IG, OG, FG):
        gate_rows(
            block(z, blk, n, u0, u1), block(g, blk, n, u0, u1), block(a, blk, n, u0, u1), w, gk
        )
    squash_rows(block(z, MG, n, u0, u1), block(g, MG, n, u0, u1), block(a, MG, n, u0, u1), w, sk)


@njit(**FAST)
def cell_update(a, c, s, y, cs, ur, n, u0, u1, sk):
    """One row's units u0 … u1 − 1 (c, s, y, cs, ur: views of them), in place:
    c' = f*c + i*(m*u) (ur the row's StateUpdate mask at this step, or ones), cs = σs(c'),
    y = s' = o*cs."""
    i, o, f, m = gate_views(a, n, u0, u1)
    for j in range(c.shape[0]):
        c[j] = f[j] * c[j] + i[j] * m[j] * ur[j]
    if sk is None:
        for j in range(c.shape[0]):
            cs[j] = tanh(c[j])
    else:
        for j in range(c.shape[0]):
            cs[j] = softsign(c[j])
    for j in range(c.shape[0]):
        s[j] = o[j] * cs[j]
        y[j] = s[j]


@njit(**FAST, nogil=True)
def lstm_forward(
    X,
    Wx,
    Wxg,
    mx,
    bias,
    Ws,
    Wsg,
    S,
    c,
    order,
    batch_sizes,
    gk,
    sk,
    ms,
    u,
    Y,
    A,
    C,
    SC,
    store,
    lanes,
    part,
    parts,
    sync,
):
    """Run the recurrence over the inputs X: the share of ``part`` of ``parts`` threads
    (kernels/threads.py), its units of every step.

    X (T, B, k): the inputs, time-major (a step's rows contiguous, so that its product is
    compiled for the same layout as the states' one), rows in ``order``. Each step makes
    its pre-activations z = x·Wx + s·Ws + b on the part's columns (the input product, then
    the state product added to it): the input projection is not a separate GEMM over all
    steps (whose (B, T, 4n) result would go through memory twice, and be computed past
    each sequence's end). Wx (k, 4n), Ws (n, 4n): the stacked input and state weights
    transposed; Wxg, Wsg: their blocks per gate; all as
    they are, or their packed panels (``lanes``). mx (B, 4, k): input masks, rows in
    ``order``, or None; bias (4n,).
    S (2, B, n): the running states, rows in ``order``, S[0] the initial ones; step t reads
    S[t % 2] and writes S[(t + 1) % 2] (the other threads still read the first), so a row's
    final state is in S[length % 2]. c (B, n): the cells, rows in ``order``, updated in
    place. order, batch_sizes: the rows by decreasing length and how many run at each step.
    gk, sk: the kinds of σg and σs. ms (B, 4, n): state masks, rows in ``order``, or None;
    u (B, T, n): StateUpdate masks, or None. sync: the barrier's state (kernels/sync.py),
    met once per step.

    Fills Y (the states s) and, when ``store``, A (i, o, f, m), C (the cells c') and SC
    (σs(c')) for the backward pass."""
    T, B, k = X.shape
    n = S.shape[2]
    n4 = 4 * n
    dt = S.dtype
    p0, p1, u0, u1 = units(n, Wsg, part, parts, lanes)
    G = np.empty((B, n4), dt)
    masked = np.empty((B, n) if ms is not None else (0, n), dt)
    xmasked = np.empty((B, k) if mx is not None else (0, k), dt)
    scratch = np.empty(n4, dt)
    cs = np.empty(n, dt)
    ones = np.ones(n, dt)  # the StateUpdate mask when there is none (x·1 = x exactly)
    for t in range(T):
        Bt = batch_sizes[t]
        if Bt == 0:
            break
        s, s_next = S[t % 2], S[(t + 1) % 2]
        state_product(X[t], Wx, Wxg, mx, Bt, G, lanes, p0, p1, u0, u1, xmasked, SET)
        state_product(s, Ws, Wsg, ms, Bt, G, lanes, p0, p1, u0, u1, masked, ADD)
        for r in range(Bt):
            b = order[r]
            a = A[b, t] if store else scratch
            activate(bias, G[r], a, n, u0, u1, gk, sk)
            if u is None:
                ur = ones
            else:
                ur = u[b, t]
            cr, csr = c[r][u0:u1], cs[u0:u1]
            cell_update(a, cr, s_next[r][u0:u1], Y[b, t][u0:u1], csr, ur[u0:u1], n, u0, u1, sk)
            if store:
                copy_row(C[b, t][u0:u1], cr)
                copy_row(SC[b, t][u0:u1], csr)
        barrier(sync, parts)


@njit(**FAST, nogil=True)
def lstm_backward(
    dY,
    ds,
    dc,
    A,
    C,
    SC,
    c0,
    WsT,
    WsgT,
    order,
    batch_sizes,
    gk,
    sk,
    ms,
    u,
    dZ,
    D2,
    lanes,
    part,
    parts,
    sync,
):
    """Back-propagate through time: the share of ``part`` of ``parts`` threads, its units.

    dY (B, T, n): gradient of the outputs. ds, dc (B, n): the gradients of the final state
    and cell, rows in ``order``, updated in place into those of the initial ones. A, C, SC:
    what lstm_forward stored; c0 (B, n): the initial cell. WsT (4n, n): the stacked state
    weights, so that ds = dz·WsT; WsgT: its blocks per gate; both as they are, or their
    packed panels.
    D2 (2, B, 4n): the dz of each step, rows in ``order``; step t writes D2[t % 2] (its units)
    and, after the barrier, reads all of it for its units of ds. order, batch_sizes, gk, sk,
    ms, u, lanes, sync: as in lstm_forward.

    Fills dZ (B, T, 4n), the gradient of the pre-activations z (zero past each sequence's
    end)."""
    B, T, n4 = dZ.shape
    n = n4 // 4
    p0, p1, u0, u1 = units(n, WsgT, part, parts, lanes)
    work = np.empty((B, n) if ms is not None else (0, n), dZ.dtype)
    ones = np.ones(n, dZ.dtype)  # the StateUpdate mask when there is none
    for t in range(T - 1, -1, -1):
        Bt = batch_sizes[t]
        if Bt == 0:
            continue
        D = D2[t % 2]
        for r in range(Bt):
            b = order[r]
            a, dz = A[b, t], D[r]
            i, o, f, m = gate_views(a, n, u0, u1)
            di, do, df, dm = gate_views(dz, n, u0, u1)
            sc, dy = SC[b, t][u0:u1], dY[b, t][u0:u1]
            c = C[b, t - 1][u0:u1] if t > 0 else c0[b][u0:u1]
            dsr, dcr = ds[r][u0:u1], dc[r][u0:u1]
            if u is None:
                ur = ones[u0:u1]
            else:
                ur = u[b, t][u0:u1]
            for j in range(u1 - u0):
                dsv = dsr[j] + dy[j]
                dcv = dcr[j] + dsv * o[j] * dsquash(sc[j], sk)
                di[j] = dcv * m[j] * ur[j] * dgate(i[j], gk)
                do[j] = dsv * sc[j] * dgate(o[j], gk)
                df[j] = dcv * c[j] * dgate(f[j], gk)
                dm[j] = dcv * i[j] * ur[j] * dsquash(m[j], sk)
                dcr[j] = dcv * f[j]
            for blk in range(4):
                copy_row(block(dZ[b, t], blk, n, u0, u1), block(dz, blk, n, u0, u1))
        barrier(sync, parts)
        state_product_back(D, WsT, WsgT, ms, Bt, ds, lanes, p0, p1, u0, u1, work)
