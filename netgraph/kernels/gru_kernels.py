"""Numba kernels of the GRU recurrence (Wolfram's equations and MATLAB's reset gate modes),
forward and backward.

Layout: batch-major ``(B, T, …)``, with ``order`` and ``batch_sizes`` as in rnn_kernels.py.
The last axis of ``Z``, ``A``, ``dZ`` and ``dG`` holds the three blocks in ``GATES`` order.
z = Wx·x + b is the input projection, which each step makes of its own inputs (a product on
the part's columns, as the LSTM's steps do); g = Ws·s the state products. σg is the gate
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

from .fastmath import FAST, dgate, dsquash, gate_rows, like, squash_rows
from .packed import product
from .rnn_kernels import SET, block, columns, copy_row, state_product, state_product_back, units
from .sync import barrier

# The GRU's one gate order (Wolfram's array order, and ONNX's z, r, h order): the two
# σg gates, so that one loop covers columns 0 … 2n, then the memory block m. It lives
# here, beside the kernels that index by it, because numba's cache follows this file.
GATES = ("Input", "Reset", "Memory")
# the block of each gate, as in a[RG * n + j]: numpy integers, which numba types as int64
# (a Python int would be a literal, and each value would compile a helper of its own)
IG, RG, MG = (np.intp(GATES.index(g)) for g in ("Input", "Reset", "Memory"))
assert MG == 2, "the memory block must be the last (σs after two σg blocks)"


@njit(**FAST)
def candidate(z, p, a, n, u0, u1, sk):
    """a's memory block = σs(z's memory block + p) for units u0 … u1 − 1, p the row's state
    term (a view of those units)."""
    squash_rows(block(z, MG, n, u0, u1), p, block(a, MG, n, u0, u1), u1 - u0, sk)


@njit(**FAST)
def update(a, s, s_next, y, n, u0, u1):
    """s' = (1−i)*m + i*s for units u0 … u1 − 1 (s, s_next, y: views of them), and the
    output y = s'."""
    one = like(s[0], 1.0)
    i, m = block(a, IG, n, u0, u1), block(a, MG, n, u0, u1)
    for j in range(u1 - u0):
        s_next[j] = (one - i[j]) * m[j] + i[j] * s[j]
        y[j] = s_next[j]


@njit(**FAST)
def gates(z, g, a, n, u0, u1, gk):
    """The i and r blocks of a = σg(z + g), units u0 … u1 − 1."""
    for blk in (IG, RG):
        gate_rows(
            block(z, blk, n, u0, u1),
            block(g, blk, n, u0, u1),
            block(a, blk, n, u0, u1),
            u1 - u0,
            gk,
        )


@njit(**FAST)
def add_bias(Z, bias, Bt, n, u0, u1):
    """Z[:Bt] += bias in the columns of units u0 … u1 − 1 of every gate block."""
    for row in range(Bt):
        for blk in (IG, RG, MG):
            z, b = block(Z[row], blk, n, u0, u1), block(bias, blk, n, u0, u1)
            for j in range(u1 - u0):
                z[j] += b[j]


@njit(**FAST)
def memory_masks(ms, rs):
    """The memory block's state masks, shaped like rs (B, n), rows in ``order``: ms's, or ones
    without masks."""
    out = np.ones_like(rs)
    if ms is not None:
        for row in range(rs.shape[0]):
            copy_row(out[row], ms[row, MG])
    return out


@njit(**FAST)
def rows_after(Z, G, S, Y, A, GM, scratch, p, t, Bt, order, bs, gk, sk, store, u0, u1):
    """One step's rows, reset after the product: m = σs(zm + r*(gm + bs)); Z (B, 3n): the
    step's x·Wx + b, rows in ``order``."""
    n = S.shape[2]
    s, s_next = S[t % 2], S[(t + 1) % 2]
    for row in range(Bt):
        b = order[row]
        a = A[b, t] if store else scratch[row]
        g = G[row]
        gates(Z[row], g, a, n, u0, u1, gk)
        gm, r, bsu = block(g, MG, n, u0, u1), block(a, RG, n, u0, u1), bs[u0:u1]
        for j in range(u1 - u0):
            gm[j] += bsu[j]
            p[j] = r[j] * gm[j]
        if store:
            copy_row(GM[b, t][u0:u1], gm)
        candidate(Z[row], p, a, n, u0, u1, sk)
        update(a, s[row][u0:u1], s_next[row][u0:u1], Y[b, t][u0:u1], n, u0, u1)


@njit(**FAST)
def rows_before(Z, G, S, Y, A, scratch, rs, msm, Wm, t, Bt, order, gk, sk, store, lanes, cut, sync):
    """One step's rows, reset before the product: rs = r*(s∘ms_m), gm = rs·Wm (Wm = Wmsᵀ, or
    its packed panels), m = σs(zm + gm); Z (B, 3n): the step's x·Wx + b, rows in
    ``order``. rs (B, n) is shared: every thread writes its units, then after a barrier
    reads all of them for its units of the product."""
    n = rs.shape[1]
    p0, p1, u0, u1, parts = cut
    s, s_next = S[t % 2], S[(t + 1) % 2]
    for row in range(Bt):
        b = order[row]
        a = A[b, t] if store else scratch[row]
        gates(Z[row], G[row], a, n, u0, u1, gk)
        r, rsr, sr, mr = block(a, RG, n, u0, u1), rs[row][u0:u1], s[row][u0:u1], msm[row][u0:u1]
        for j in range(u1 - u0):
            rsr[j] = r[j] * sr[j] * mr[j]
    barrier(sync, parts)
    product(rs[:Bt], columns(Wm, p0, p1, lanes), G[:Bt, MG * n + u0 : MG * n + u1], SET, lanes)
    for row in range(Bt):
        b = order[row]
        a = A[b, t] if store else scratch[row]
        candidate(Z[row], block(G[row], MG, n, u0, u1), a, n, u0, u1, sk)
        update(a, s[row][u0:u1], s_next[row][u0:u1], Y[b, t][u0:u1], n, u0, u1)


@njit(**FAST, nogil=True)
def gru_forward(
    X,
    Wx,
    Wxg,
    mx,
    bias,
    Ws,
    Wsg,
    S,
    order,
    batch_sizes,
    ms,
    bs,
    gk,
    sk,
    rs,
    Y,
    A,
    GM,
    store,
    lanes,
    part,
    parts,
    sync,
):
    """Run the recurrence over the inputs X: the units of ``part`` of ``parts`` threads
    (kernels/threads.py).

    X (T, B, k): the inputs, time-major, rows in ``order``; each step projects its own,
    x·Wx + b, on the part's columns (as lstm_forward does; Wx, Wxg, mx: the input weights
    fused and per gate, and the input masks or None; bias (3n,)).

    Ws (n, 3n): the stacked state weights transposed, so that a step's product is s·Ws (before
    the product: those of the i and r blocks only, (n, 2n)); Wsg: its blocks per gate; both
    as they are, or their packed panels (``lanes``). S (2, B, n): the double buffer
    of running states, as in lstm_forward. order, batch_sizes: the rows by decreasing length
    and how many run at each step. ms (B, 3, n): state masks, rows in ``order``, or None.
    bs (n,): the memory block's state bias, inside the reset product. gk, sk: the kinds of
    σg and σs. rs: None to reset after the product, or a shared (B, n) work array to reset
    before it. sync: the barrier's state, met once per step (twice before the product).

    Fills Y (the states s) and, when ``store``, A (i, r, m) and GM (after the product, the
    memory block gm of the state product, bias included) for the backward pass."""
    T, B, k = X.shape
    n = S.shape[2]
    n3 = 3 * n
    dt = S.dtype
    p0, p1, u0, u1 = units(n, Wsg, part, parts, lanes)
    G = np.empty((B, n3), dt)
    Z = np.empty((B, n3), dt)
    scratch = np.empty((B, n3), dt)
    masked = np.empty((B, n) if ms is not None else (0, n), dt)
    xmasked = np.empty((B, k) if mx is not None else (0, k), dt)
    p = np.empty(n, dt)
    if rs is not None:
        msm = memory_masks(ms, rs)
    for t in range(T):
        Bt = batch_sizes[t]
        if Bt == 0:
            break
        s = S[t % 2]
        state_product(X[t], Wx, Wxg, mx, Bt, Z, lanes, p0, p1, u0, u1, xmasked, SET)
        add_bias(Z, bias, Bt, n, u0, u1)
        if rs is None:
            state_product(s, Ws, Wsg, ms, Bt, G, lanes, p0, p1, u0, u1, masked, SET)
            rows_after(Z, G, S, Y, A, GM, scratch, p, t, Bt, order, bs, gk, sk, store, u0, u1)
        else:
            Gir = G[:, : MG * n]
            state_product(s, Ws, Wsg[:MG], ms, Bt, Gir, lanes, p0, p1, u0, u1, masked, SET)
            cut = (p0, p1, u0, u1, parts)
            rows_before(
                Z,
                G,
                S,
                Y,
                A,
                scratch,
                rs,
                msm,
                Wsg[MG],
                t,
                Bt,
                order,
                gk,
                sk,
                store,
                lanes,
                cut,
                sync,
            )
        barrier(sync, parts)


@njit(**FAST)
def step_back(a, s, dsr, dy, dz, dg, n, u0, u1, gk, sk):
    """One row of one step, units u0 … u1 − 1 (s, dsr, dy: views of them), all but the reset
    gate: dzi, dzm (into dz and dg) and ds'*i (into dsr, which held ds'₊)."""
    one = like(dsr[0], 1.0)
    i, m = block(a, IG, n, u0, u1), block(a, MG, n, u0, u1)
    dzi, dzm = block(dz, IG, n, u0, u1), block(dz, MG, n, u0, u1)
    dgi, dgm = block(dg, IG, n, u0, u1), block(dg, MG, n, u0, u1)
    for j in range(u1 - u0):
        dsv = dsr[j] + dy[j]
        dzi[j] = dsv * (s[j] - m[j]) * dgate(i[j], gk)
        dzm[j] = dsv * (one - i[j]) * dsquash(m[j], sk)
        dgi[j] = dzi[j]
        dgm[j] = dzm[j]
        dsr[j] = dsv * i[j]


@njit(**FAST)
def reset_back_after(a, gm, dz, dg, n, u0, u1, gk):
    """The reset gate's row, reset after the product (gm: a view of units u0 … u1 − 1):
    dzr = dzm*gm*σg'(r), dgm = dzm*r."""
    r, dzr, dzm = block(a, RG, n, u0, u1), block(dz, RG, n, u0, u1), block(dz, MG, n, u0, u1)
    dgr, dgm = block(dg, RG, n, u0, u1), block(dg, MG, n, u0, u1)
    for j in range(u1 - u0):
        dzr[j] = dzm[j] * gm[j] * dgate(r[j], gk)
        dgr[j] = dzr[j]
        dgm[j] = dzm[j] * r[j]


@njit(**FAST)
def reset_back_before(a, s, q, msm, dz, dg, dsr, n, u0, u1, gk):
    """The reset gate's row, reset before the product, from q = Wmsᵀ·dzm (s, q, msm, dsr:
    views of units u0 … u1 − 1): dzr = q*(s∘ms_m)*σg'(r), and ds += r*q∘ms_m."""
    r, dzr, dgr = block(a, RG, n, u0, u1), block(dz, RG, n, u0, u1), block(dg, RG, n, u0, u1)
    for j in range(u1 - u0):
        qm = q[j] * msm[j]
        dzr[j] = qm * s[j] * dgate(r[j], gk)
        dgr[j] = dzr[j]
        dsr[j] += qm * r[j]


@njit(**FAST, nogil=True)
def gru_backward(
    dY,
    ds,
    A,
    GM,
    Y,
    s0,
    WsT,
    WsgT,
    order,
    batch_sizes,
    ms,
    gk,
    sk,
    rs,
    dZ,
    dG,
    D2,
    lanes,
    part,
    parts,
    sync,
):
    """Back-propagate through time: the units of ``part`` of ``parts`` threads.

    dY (B, T, n): gradient of the outputs; ds (B, n): that of the final state, rows in
    ``order``, updated in place into the initial state's. A, GM: what gru_forward stored;
    Y: its states; s0 (B, n): the initial state. WsT (3n, n): the stacked state weights, so
    that ds = dg·WsT (before the product: the i and r blocks', (2n, n)); WsgT: its blocks
    per gate; both as they are, or their packed panels. D2 (2, B, 3n): the
    double buffer of each step's dg, rows in ``order``, as in lstm_backward. order,
    batch_sizes, ms, gk, sk, lanes, sync: as in gru_forward; rs: None after the product, or
    a (B, n) array before it (its shape only: each thread keeps its units of q = Wmsᵀ·dzm).

    Fills dZ (the gradient of z) and dG (of g), both (B, T, 3n) and zero past each sequence's
    end."""
    B, T, n3 = dZ.shape
    n = n3 // 3
    p0, p1, u0, u1 = units(n, WsgT, part, parts, lanes)
    back = np.empty((B, n), dZ.dtype)
    work = np.empty((B, n) if ms is not None else (0, n), dZ.dtype)
    qs = np.empty((B, n) if rs is not None else (0, n), dZ.dtype)  # this thread's q
    if rs is not None:
        msm = memory_masks(ms, rs)
    for t in range(T - 1, -1, -1):
        Bt = batch_sizes[t]
        if Bt == 0:
            continue
        D = D2[t % 2]
        for row in range(Bt):
            b = order[row]
            s = Y[b, t - 1] if t > 0 else s0[b]
            sr, dsr, dyr = s[u0:u1], ds[row][u0:u1], dY[b, t][u0:u1]
            step_back(A[b, t], sr, dsr, dyr, dZ[b, t], D[row], n, u0, u1, gk, sk)
        if rs is None:
            for row in range(Bt):
                b = order[row]
                reset_back_after(A[b, t], GM[b, t][u0:u1], dZ[b, t], D[row], n, u0, u1, gk)
                _copy_units(dG[b, t], D[row], n, u0, u1)
            barrier(sync, parts)
            state_product_back(D, WsT, WsgT, ms, Bt, back, lanes, p0, p1, u0, u1, work)
        else:
            barrier(sync, parts)  # q needs every unit's dzm
            q = qs[:Bt, : u1 - u0]
            product(D[:Bt, MG * n :], columns(WsgT[MG], p0, p1, lanes), q, SET, lanes)
            for row in range(Bt):
                b = order[row]
                s = Y[b, t - 1] if t > 0 else s0[b]
                sr, mr, dsr = s[u0:u1], msm[row][u0:u1], ds[row][u0:u1]
                reset_back_before(A[b, t], sr, q[row], mr, dZ[b, t], D[row], dsr, n, u0, u1, gk)
                _copy_units(dG[b, t], D[row], n, u0, u1)
            barrier(sync, parts)
            DI = D[:, : MG * n]
            state_product_back(DI, WsT, WsgT[:MG], ms, Bt, back, lanes, p0, p1, u0, u1, work)
        for row in range(Bt):
            dsr, br = ds[row][u0:u1], back[row][u0:u1]
            for j in range(u1 - u0):
                dsr[j] += br[j]


@njit(**FAST)
def _copy_units(dst, src, n, u0, u1):
    """dst = src in units u0 … u1 − 1 of each of the three blocks."""
    for blk in range(3):
        copy_row(block(dst, blk, n, u0, u1), block(src, blk, n, u0, u1))
