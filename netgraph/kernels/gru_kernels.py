"""Numba kernels of the GRU recurrence (Wolfram's equations and MATLAB's reset gate modes),
forward and backward.

Layout: batch-major ``(B, T, …)``, with ``order`` and ``batch_sizes`` as in rnn_kernels.py.
The last axis of ``Z``, ``A``, ``dZ`` and ``dG`` holds the three blocks in ``GATES`` order.
z = Wx·x + b is the hoisted input projection; g = Ws·s the state products. σg is the gate
activation, LogisticSigmoid (kind None) or HardSigmoid (1); σs the state activation, Tanh
(None) or SoftSign (1), each compiled only when a call passes its kind (rnn.py's GATE_KINDS);
each derivative is taken from the activation's output (fastmath.py). Forward, one step, with
the candidate m in one of two forms:

    i = σg(zi + gi)     r = σg(zr + gr)     s' = (1−i)*m + i*s
    after the product (reset gate modes "after-multiplication" and
    "recurrent-bias-after-multiplication"):       m = σs(zm + r*gm),   gm = Wms·s + bs
    before the product ("before-multiplication"): m = σs(zm + gm),     gm = Wms·(r*s)

bs is the memory block's state bias (zero but for "recurrent-bias-after-multiplication",
PyTorch's b_hn). After the product, one GEMM per step gives the three state products at once;
before it, one GEMM gives gi and gr, and a second one gm once r is known.

Backward (BPTT), the same step from the end: ds'₊ is the gradient of s' from the next step,
dy that of the output y = s'; ds goes to the previous step:

    ds' = ds'₊ + dy
    dzm = ds'*(1−i)*σs'(m)    dzi = ds'*(s−m)*σg'(i)      dgi = dzi    dgr = dzr
    after:   dzr = dzm*gm*σg'(r)                 dgm = dzm*r     (dbs = Σ dgm)
             ds  = ds'*i + Wsᵀ·dg
    before:  q = Wmsᵀ·dzm    dzr = q*s*σg'(r)    dgm = dzm
             ds  = ds'*i + r*q + Wisᵀ·dgi + Wrsᵀ·dgr

With state masks ms (VariationalState), s is s∘ms_g in gate g's product: ds gets ms_g∘(…)
per block, and before the product the candidate's state is r*(s∘ms_m).

``dZ`` holds dz and ``dG`` holds dg (equal to dz but for the memory block); the weight gradients
dWx = Σ dz·xᵀ, dWs = Σ dg·sᵀ (before the product, Σ dgm·(r*s)ᵀ for Wms), db = Σ dz are a few
GEMMs after the loop (gru.py, rnn.py). gru_reference.py is the same step in plain numpy,
written like the equations; the tests hold these kernels to it. Every inner loop is branch-free
over a contiguous row, so that it compiles to SIMD code.

The mode is chosen by the type of ``rs``: None after the product, an array (the rows r*s of
one step) before it, so that numba compiles each mode's kernel only when a call needs it.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .fastmath import FAST, dgate, dsquash, gate_rows, like, softsign, tanh
from .gemm import gemm
from .rnn_kernels import batch_order, copy_row, in_order, state_product, state_product_back

# The GRU's one gate order (Wolfram's array order, and ONNX's z, r, h order): the two
# σg gates, so that one loop covers columns 0 … 2n, then the memory block m. It lives
# here, beside the kernels that index by it, because numba's cache follows this file.
GATES = ("Input", "Reset", "Memory")
# the block of each gate, as in a[RG * n + j]
IG, RG, MG = map(GATES.index, ("Input", "Reset", "Memory"))
assert MG == 2, "the memory block must be the last (σs after two σg blocks)"


@njit(**FAST, inline="always")
def candidate(z, p, a, n, sk):
    """a's memory block = σs(z's memory block + p), p the row's state term (n,)."""
    if sk is None:
        for j in range(n):
            a[MG * n + j] = tanh(z[MG * n + j] + p[j])
    else:
        for j in range(n):
            a[MG * n + j] = softsign(z[MG * n + j] + p[j])


@njit(**FAST, inline="always")
def update(a, s, y, n):
    """s' = (1−i)*m + i*s in place, and the output y = s'."""
    one = like(s[0], 1.0)
    for j in range(n):
        i, m = a[IG * n + j], a[MG * n + j]
        s[j] = (one - i) * m + i * s[j]
        y[j] = s[j]


@njit(**FAST)
def memory_masks(ms, rs):
    """The memory block's state masks, shaped like rs (B, n), rows in ``order``: ms's, or ones
    without masks."""
    out = np.ones_like(rs)
    if ms is not None:
        for row in range(rs.shape[0]):
            copy_row(out[row], ms[row, MG])
    return out


@njit(**FAST, inline="always")
def rows_after(Z, G, s, Y, A, GM, scratch, p, t, Bt, order, bs, gk, sk, store):
    """One step's rows, reset after the product: m = σs(zm + r*(gm + bs))."""
    n = s.shape[1]
    for row in range(Bt):
        b = order[row]
        a = A[b, t] if store else scratch[row]
        g = G[row]
        gate_rows(Z[b, t], g, a, MG * n, gk)  # the i and r blocks
        for j in range(n):
            g[MG * n + j] += bs[j]
            p[j] = a[RG * n + j] * g[MG * n + j]
        if store:
            copy_row(GM[b, t], g[MG * n :])
        candidate(Z[b, t], p, a, n, sk)
        update(a, s[row], Y[b, t], n)


@njit(**FAST, inline="always")
def rows_before(Z, G, s, Y, A, scratch, rs, msm, Wm, t, Bt, order, gk, sk, store):
    """One step's rows, reset before the product: rs = r*(s∘ms_m), gm = rs·Wm (Wm = Wmsᵀ),
    m = σs(zm + gm)."""
    n = s.shape[1]
    for row in range(Bt):
        b = order[row]
        a = A[b, t] if store else scratch[row]
        gate_rows(Z[b, t], G[row], a, MG * n, gk)  # the i and r blocks
        for j in range(n):
            rs[row, j] = a[RG * n + j] * s[row, j] * msm[row, j]
    gemm(rs[:Bt], Wm, G[:Bt, MG * n :], False)
    for row in range(Bt):
        b = order[row]
        a = A[b, t] if store else scratch[row]
        candidate(Z[b, t], G[row, MG * n :], a, n, sk)
        update(a, s[row], Y[b, t], n)


@njit(**FAST)
def gru_forward(Z, Ws, Wsg, s0, order, batch_sizes, ms, bs, gk, sk, rs, Y, A, GM, store):
    """Run the recurrence over Z (B, T, 3n) = x·Wx + b.

    Ws (n, 3n): the stacked state weights transposed, so that a step's product is s·Ws; Wsg
    (3, n, n): its blocks per gate. s0 (B, n): the initial state. order, batch_sizes: the rows
    by decreasing length and how many run at each step. ms (B, 3, n): state masks, rows in
    ``order``, or None. bs (n,): the memory block's state bias, inside the reset product. gk,
    sk: the kinds of σg and σs. rs: None to reset after the product, or a (B, n) work array to
    reset before it.

    Fills Y (the states s) and, when ``store``, A (i, r, m) and GM (after the product, the
    memory block gm of the state product, bias included) for the backward pass; returns the
    final state (B, n), taken at each sequence's last step."""
    B, T, n3 = Z.shape
    n = n3 // 3
    s = in_order(s0, order)
    G = np.empty((B, n3), Z.dtype)
    scratch = np.empty((B, n3), Z.dtype)
    p = np.empty(n, Z.dtype)
    if rs is not None:
        msm = memory_masks(ms, rs)
    for t in range(T):
        Bt = batch_sizes[t]
        if Bt == 0:
            break
        if rs is None:
            state_product(s, Ws, Wsg, ms, Bt, G)
            rows_after(Z, G, s, Y, A, GM, scratch, p, t, Bt, order, bs, gk, sk, store)
        else:
            state_product(s, Ws[:, : MG * n], Wsg[:MG], ms, Bt, G[:, : MG * n])
            rows_before(Z, G, s, Y, A, scratch, rs, msm, Wsg[MG], t, Bt, order, gk, sk, store)
    return batch_order(s, order)


@njit(**FAST, inline="always")
def step_back(a, s, dsr, dy, dz, dg, n, gk, sk):
    """One row of one step, all but the reset gate: dzi, dzm (into dz and dg) and ds'*i (into
    dsr, which held ds'₊)."""
    one = like(dsr[0], 1.0)
    for j in range(n):
        i, m = a[IG * n + j], a[MG * n + j]
        dsv = dsr[j] + dy[j]
        dzi = dsv * (s[j] - m) * dgate(i, gk)
        dzm = dsv * (one - i) * dsquash(m, sk)
        dz[IG * n + j] = dzi
        dz[MG * n + j] = dzm
        dg[IG * n + j] = dzi
        dg[MG * n + j] = dzm
        dsr[j] = dsv * i


@njit(**FAST, inline="always")
def reset_back_after(a, gm, dz, dg, n, gk):
    """The reset gate's row, reset after the product: dzr = dzm*gm*σg'(r), dgm = dzm*r."""
    for j in range(n):
        r = a[RG * n + j]
        dzr = dz[MG * n + j] * gm[j] * dgate(r, gk)
        dz[RG * n + j] = dzr
        dg[RG * n + j] = dzr
        dg[MG * n + j] = dz[MG * n + j] * r


@njit(**FAST, inline="always")
def reset_back_before(a, s, q, msm, dz, dg, dsr, n, gk):
    """The reset gate's row, reset before the product, from q = Wmsᵀ·dzm:
    dzr = q*(s∘ms_m)*σg'(r), and ds += r*q∘ms_m."""
    for j in range(n):
        r, qm = a[RG * n + j], q[j] * msm[j]
        dzr = qm * s[j] * dgate(r, gk)
        dz[RG * n + j] = dzr
        dg[RG * n + j] = dzr
        dsr[j] += qm * r


@njit(**FAST)
def gru_backward(dY, dsT, A, GM, Y, s0, WsT, WsgT, order, batch_sizes, ms, gk, sk, rs, dZ, dG):
    """Back-propagate through time.

    dY (B, T, n): gradient of the outputs; dsT (B, n): of the final state. A, GM: what
    gru_forward stored; Y: its states; s0 (B, n): the initial state. WsT (3n, n): the stacked
    state weights, so that ds = dg·WsT; WsgT (3, n, n): its blocks per gate. order,
    batch_sizes, ms, gk, sk: as in gru_forward; rs: None after the product, or a (B, n) work
    array before it (there it holds q = Wmsᵀ·dzm).

    Fills dZ (the gradient of z) and dG (of g), both (B, T, 3n) and zero past each sequence's
    end; returns the gradient of the initial state (B, n)."""
    B, T, n3 = dZ.shape
    n = n3 // 3
    ds = in_order(dsT, order)
    D = np.empty((B, n3), dZ.dtype)
    back = np.empty((B, n), dZ.dtype)
    if rs is not None:
        msm = memory_masks(ms, rs)
    for t in range(T - 1, -1, -1):
        Bt = batch_sizes[t]
        if Bt == 0:
            continue
        for row in range(Bt):
            b = order[row]
            s = Y[b, t - 1] if t > 0 else s0[b]
            step_back(A[b, t], s, ds[row], dY[b, t], dZ[b, t], D[row], n, gk, sk)
        if rs is None:
            for row in range(Bt):
                b = order[row]
                reset_back_after(A[b, t], GM[b, t], dZ[b, t], D[row], n, gk)
                copy_row(dG[b, t], D[row])
            state_product_back(D, WsT, WsgT, ms, Bt, back)
        else:
            gemm(D[:Bt, MG * n :], WsgT[MG], rs[:Bt], False)
            for row in range(Bt):
                b = order[row]
                s = Y[b, t - 1] if t > 0 else s0[b]
                reset_back_before(A[b, t], s, rs[row], msm[row], dZ[b, t], D[row], ds[row], n, gk)
                copy_row(dG[b, t], D[row])
            state_product_back(D[:, : MG * n], WsT[: MG * n], WsgT[:MG], ms, Bt, back)
        for row in range(Bt):
            for j in range(n):
                ds[row, j] += back[row, j]
    return batch_order(ds, order)
