"""Numba kernels of the GRU recurrence (Wolfram's equations), forward and backward.

Layout: batch-major ``(B, T, …)``, with ``order`` and ``batch_sizes`` as in rnn_kernels.py.
The last axis of ``Z``, ``A``, ``dZ`` and ``dG`` holds the three blocks in ``GATES`` order.
One GEMM per step gives all three state products g = Ws·s at once; z = Wx·x + b is the
hoisted input projection. Forward, one step:

    i = σ(zi + gi)     r = σ(zr + gr)     m = tanh(zm + r*gm)     s' = (1−i)*m + i*s

where gm includes the memory block's state bias bs (zero but for MATLAB's reset gate mode
"recurrent-bias-after-multiplication", PyTorch's b_hn): gm = Wms·s + bs, inside the reset
product.

Backward (BPTT), the same step from the end: ds'₊ is the gradient of s' from the next step,
dy that of the output y = s'; ds goes to the previous step:

    ds' = ds'₊ + dy
    dzm = ds'*(1−i)*(1−m²)    dzi = ds'*(s−m)*i*(1−i)    dzr = dzm*gm*r*(1−r)
    dgi = dzi                 dgr = dzr                  dgm = dzm*r    (dbs = Σ dgm)
    ds  = ds'*i + Wsᵀ·dg      (with state masks ms: ds'*i + Σ_g ms_g∘(Ws_gᵀ·dg_g))

``dZ`` holds dz and ``dG`` holds dg (equal to dz but for the memory block); the weight gradients
dWx = Σ dz·xᵀ, dWs = Σ dg·sᵀ, db = Σ dz are a few GEMMs after the loop (rnn.py).
gru_reference.py is the same step in plain numpy, written like the equations; the tests hold
these kernels to it. Every inner loop is branch-free over a contiguous row, so that it compiles
to SIMD code.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .fastmath import FAST, like, sigmoid, tanh
from .rnn_kernels import batch_order, copy_row, in_order, state_product, state_product_back

# The GRU's one gate order (Wolfram's array order, and ONNX's z, r, h order): the two
# sigmoid gates, so that one σ loop covers columns 0 … 2n, then the memory block m. It lives
# here, beside the kernels that index by it, because numba's cache follows this file.
GATES = ("Input", "Reset", "Memory")
# the block of each gate, as in a[RG * n + j]
IG, RG, MG = map(GATES.index, ("Input", "Reset", "Memory"))
assert MG == 2, "the memory block must be the last (tanh after two σ blocks)"


@njit(**FAST)
def gru_forward(Z, Ws, Wsg, s0, order, batch_sizes, ms, bs, Y, A, GM, store):
    """Run the recurrence over Z (B, T, 3n) = x·Wx + b.

    Ws (n, 3n): the stacked state weights transposed, so that a step's product is s·Ws; Wsg
    (3, n, n): its blocks per gate. s0 (B, n): the initial state. order, batch_sizes: the rows
    by decreasing length and how many run at each step. ms (B, 3, n): state masks, rows in
    ``order``, or None. bs (n,): the memory block's state bias, inside the reset product.

    Fills Y (the states s) and, when ``store``, A (i, r, m) and GM (the memory block gm of the
    state product, bias included) for the backward pass; returns the final state (B, n), taken at each
    sequence's last step."""
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
        for row in range(Bt):
            b = order[row]
            z, g, sr, y = Z[b, t], G[row], s[row], Y[b, t]
            a = A[b, t] if store else scratch
            for j in range(MG * n):  # i, r
                a[j] = sigmoid(z[j] + g[j])
            for j in range(n):
                g[MG * n + j] += bs[j]
            for j in range(n):
                r = a[RG * n + j]
                a[MG * n + j] = tanh(z[MG * n + j] + r * g[MG * n + j])
            for j in range(n):
                i, m = a[IG * n + j], a[MG * n + j]
                sr[j] = (one - i) * m + i * sr[j]
                y[j] = sr[j]
            if store:
                copy_row(GM[b, t], g[MG * n :])
    return batch_order(s, order)


@njit(**FAST)
def gru_backward(dY, dsT, A, GM, Y, s0, WsT, WsgT, order, batch_sizes, ms, dZ, dG):
    """Back-propagate through time.

    dY (B, T, n): gradient of the outputs; dsT (B, n): of the final state. A, GM: what
    gru_forward stored; Y: its states; s0 (B, n): the initial state. WsT (3n, n): the stacked
    state weights, so that ds = dg·WsT; WsgT (3, n, n): its blocks per gate. order,
    batch_sizes, ms: as in gru_forward.

    Fills dZ (the gradient of z) and dG (of g), both (B, T, 3n) and zero past each sequence's
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
        for row in range(Bt):
            b = order[row]
            a, gm, dy, dg, dz, dsr = A[b, t], GM[b, t], dY[b, t], D[row], dZ[b, t], ds[row]
            s = Y[b, t - 1] if t > 0 else s0[b]
            for j in range(n):
                i, r, m = a[IG * n + j], a[RG * n + j], a[MG * n + j]
                dsv = dsr[j] + dy[j]
                dzi = dsv * (s[j] - m) * i * (one - i)
                dzm = dsv * (one - i) * (one - m * m)
                dzr = dzm * gm[j] * r * (one - r)
                dz[IG * n + j] = dzi
                dz[RG * n + j] = dzr
                dz[MG * n + j] = dzm
                dg[IG * n + j] = dzi
                dg[RG * n + j] = dzr
                dg[MG * n + j] = dzm * r
                dsr[j] = dsv * i
            copy_row(dG[b, t], dg)
        state_product_back(D, WsT, WsgT, ms, Bt, back)
        for row in range(Bt):
            for j in range(n):
                ds[row, j] += back[row, j]
    return batch_order(ds, order)
