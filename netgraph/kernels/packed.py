"""c = a·W (or c += a·W) on weights packed once into panels: the recurrent layers' state
products, per step, on a register-tiled SIMD micro-kernel of our own.

``pack(W, lanes)`` copies W (K, N) into panels of NR = 2 vectors of columns, (⌈N/NR⌉, K, NR),
zero-padded: the kernel then reads each panel from the start to the end, NR floats at a time,
whatever W's layout was. ``gemm(a, P, c, accumulate, lanes)`` runs, for every panel and every
block of MR = 6 rows of a, the micro-kernel: twelve vector accumulators (6 rows × 2 vectors),
and per k two vector loads of the panel, six broadcasts of a's column k and twelve fused
multiply-adds. Each tile goes to a scratch tile T and from there into c, so that the last
panel's padding (columns past N) is never stored. One leftover row takes a one-row kernel;
two to five leftover rows, padded with zeros, one more tile. BLAS (kernels/gemm.py) repacks W
at every call; here it is packed once per plan.
"""

from __future__ import annotations

from functools import cache

import numpy as np
from llvmlite import binding as llvm
from numba import carray, cfunc, njit, types
from numba.extending import overload

from . import simd
from .fastmath import FAST
from .gemm import gemm as blas

MR = 6  # rows of a micro-kernel tile


def pack(W, lanes):
    """W (K, N) as panels (⌈N/NR⌉, K, NR), NR = 2 vectors of W's dtype, zero-padded."""
    K, N = W.shape
    NR = 2 * lanes.bits // (8 * W.dtype.itemsize)
    panels = -(-N // NR)
    padded = np.zeros((K, panels * NR), W.dtype)
    padded[:, :N] = W
    return np.ascontiguousarray(padded.reshape(K, panels, NR).transpose(1, 0, 2))


@njit(**FAST)
def _tile(a, r, P, p, T, lanes):
    """T (MR, NR) = a[r:r+6] · P[p]: one micro-kernel tile."""
    K = P.shape[1]
    L = simd.count(P, lanes)
    NR = 2 * L
    base = p * (P.strides[0] // P.itemsize)
    c00 = c01 = c10 = c11 = c20 = c21 = simd.zero(P, lanes)
    c30 = c31 = c40 = c41 = c50 = c51 = simd.zero(P, lanes)
    for k in range(K):
        b0 = simd.load(P, base + k * NR, lanes)
        b1 = simd.load(P, base + k * NR + L, lanes)
        x = simd.broadcast(a[r, k], lanes)
        c00 = simd.fma(x, b0, c00)
        c01 = simd.fma(x, b1, c01)
        x = simd.broadcast(a[r + 1, k], lanes)
        c10 = simd.fma(x, b0, c10)
        c11 = simd.fma(x, b1, c11)
        x = simd.broadcast(a[r + 2, k], lanes)
        c20 = simd.fma(x, b0, c20)
        c21 = simd.fma(x, b1, c21)
        x = simd.broadcast(a[r + 3, k], lanes)
        c30 = simd.fma(x, b0, c30)
        c31 = simd.fma(x, b1, c31)
        x = simd.broadcast(a[r + 4, k], lanes)
        c40 = simd.fma(x, b0, c40)
        c41 = simd.fma(x, b1, c41)
        x = simd.broadcast(a[r + 5, k], lanes)
        c50 = simd.fma(x, b0, c50)
        c51 = simd.fma(x, b1, c51)
    simd.store(T, 0, c00)
    simd.store(T, L, c01)
    simd.store(T, NR, c10)
    simd.store(T, NR + L, c11)
    simd.store(T, 2 * NR, c20)
    simd.store(T, 2 * NR + L, c21)
    simd.store(T, 3 * NR, c30)
    simd.store(T, 3 * NR + L, c31)
    simd.store(T, 4 * NR, c40)
    simd.store(T, 4 * NR + L, c41)
    simd.store(T, 5 * NR, c50)
    simd.store(T, 5 * NR + L, c51)


@njit(**FAST)
def _row(a, r, P, p, T, lanes):
    """T[0] = a[r] · P[p]: a one-row tile (a streaming step), its sum split over four
    k-phases so that four fused multiply-adds per vector are in flight."""
    K = P.shape[1]
    L = simd.count(P, lanes)
    NR = 2 * L
    base = p * (P.strides[0] // P.itemsize)
    c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = simd.zero(P, lanes)
    K4 = K - K % 4
    for k in range(0, K4, 4):
        o = base + k * NR
        x = simd.broadcast(a[r, k], lanes)
        c00 = simd.fma(x, simd.load(P, o, lanes), c00)
        c01 = simd.fma(x, simd.load(P, o + L, lanes), c01)
        x = simd.broadcast(a[r, k + 1], lanes)
        c10 = simd.fma(x, simd.load(P, o + NR, lanes), c10)
        c11 = simd.fma(x, simd.load(P, o + NR + L, lanes), c11)
        x = simd.broadcast(a[r, k + 2], lanes)
        c20 = simd.fma(x, simd.load(P, o + 2 * NR, lanes), c20)
        c21 = simd.fma(x, simd.load(P, o + 2 * NR + L, lanes), c21)
        x = simd.broadcast(a[r, k + 3], lanes)
        c30 = simd.fma(x, simd.load(P, o + 3 * NR, lanes), c30)
        c31 = simd.fma(x, simd.load(P, o + 3 * NR + L, lanes), c31)
    for k in range(K4, K):
        x = simd.broadcast(a[r, k], lanes)
        c00 = simd.fma(x, simd.load(P, base + k * NR, lanes), c00)
        c01 = simd.fma(x, simd.load(P, base + k * NR + L, lanes), c01)
    simd.store(T, 0, simd.add(simd.add(c00, c10), simd.add(c20, c30)))
    simd.store(T, L, simd.add(simd.add(c01, c11), simd.add(c21, c31)))


@njit(**FAST, inline="always")
def gemm(a, P, c, accumulate, lanes):
    """c = a·W, or c += a·W when ``accumulate``; a (m, K) and c (m, N) with contiguous rows
    (any row stride), P = pack(W, lanes) or a slice of its panels (N ≤ panels·NR)."""
    m, N = c.shape
    K = a.shape[1]
    NR = P.shape[2]
    full = m - m % MR
    rest = m - full
    T = np.empty((MR, NR), c.dtype)
    A = _padded(a, full, rest if rest > 1 else 0)
    for p in range(P.shape[0]):
        j = p * NR
        cols = min(NR, N - j)
        for r in range(0, full, MR):
            _tile(a, r, P, p, T, lanes)
            _put(T, c, r, MR, j, cols, accumulate)
        if rest:
            if rest == 1:
                _row(a, full, P, p, T, lanes)
            else:
                _tile(A[:, 0:K], np.intp(0), P, p, T, lanes)  # not a literal 0: one compiled tile
            _put(T, c, full, rest, j, cols, accumulate)


@njit(**FAST, inline="always")
def _padded(a, full, rest):
    """a's rows full … full + rest − 1 padded with zeros to one tile (MR, K)."""
    K = a.shape[1]
    A = np.zeros((MR if rest else 0, K), a.dtype)
    for i in range(rest):
        for k in range(K):
            A[i, k] = a[full + i, k]
    return A


@njit(**FAST, inline="always")
def _put(T, c, r, rows, j, cols, accumulate):
    """c[r:r+rows, j:j+cols] (+)= T[:rows, :cols]."""
    for i in range(rows):
        if accumulate:
            for q in range(cols):
                c[r + i, j + q] += T[i, q]
        else:
            for q in range(cols):
                c[r + i, j + q] = T[i, q]


# -- the entry points the recurrent kernels call -------------------------------------------
#
# The micro-kernel is compiled once per dtype and width as a C-callable function (a numba
# cfunc, cached on disk) whose address is given to LLVM under a name of its own; a recurrent
# kernel calls it by that name, as it calls numba's BLAS helper. Called as an njit function
# instead, its code would be linked into, and optimized again with, every kernel that uses
# it: seconds of compilation for each kernel variant on a cold cache.

_L256, _L512 = simd.Lanes(256), simd.Lanes(512)


@njit(**FAST, inline="always")
def _call(a_ptr, lda, m, K, P_ptr, panels, c_ptr, ldc, N, accumulate, lanes):
    a = carray(a_ptr, (m, lda))
    NR = 2 * simd.count(a, lanes)
    P = carray(P_ptr, (panels, K, NR))
    c = carray(c_ptr, (m, ldc))
    gemm(a[:, 0:K], P, c[:, 0:N], accumulate, lanes)


def _f32_256(a, lda, m, K, P, panels, c, ldc, N, accumulate):
    _call(a, lda, m, K, P, panels, c, ldc, N, accumulate, _L256)


def _f64_256(a, lda, m, K, P, panels, c, ldc, N, accumulate):
    _call(a, lda, m, K, P, panels, c, ldc, N, accumulate, _L256)


def _f32_512(a, lda, m, K, P, panels, c, ldc, N, accumulate):
    _call(a, lda, m, K, P, panels, c, ldc, N, accumulate, _L512)


def _f64_512(a, lda, m, K, P, panels, c, ldc, N, accumulate):
    _call(a, lda, m, K, P, panels, c, ldc, N, accumulate, _L512)


_ENTRIES = {
    ("float32", 256): _f32_256,
    ("float64", 256): _f64_256,
    ("float32", 512): _f32_512,
    ("float64", 512): _f64_512,
}


def _signature(pointer):
    n = types.intp
    return types.void(pointer, n, n, n, pointer, n, pointer, n, n, types.boolean)


def _symbol(dtype, bits) -> str:
    return f"netgraph_packed_gemm_{dtype}_{bits}"


def ready(dtype, bits: int) -> str:
    """Compile (or load) the micro-kernel for ``dtype`` at ``bits`` and give its address to
    LLVM; a kernel that calls ``product`` with these must not be compiled or loaded before.
    Returns the symbol's name."""
    return _ready(np.dtype(dtype).name, bits)


@cache
def _ready(dtype: str, bits: int) -> str:
    nb = types.float32 if dtype == "float32" else types.float64
    compiled = cfunc(_signature(types.CPointer(nb)), **FAST)(_ENTRIES[dtype, bits])
    llvm.add_symbol(_symbol(dtype, bits), compiled.address)
    return _symbol(dtype, bits)


def product(a, W, c, accumulate, lanes):
    """c = a·W, or c += a·W: on BLAS when ``lanes`` is None (W as it is, kernels/gemm.py),
    on the micro-kernel otherwise (W = pack(·, lanes), ``ready`` called for a's dtype and
    the width). The one entry point of the recurrent kernels' state products; a (m, K) and
    c (m, N) with contiguous rows; numba compiles the branch a call's ``lanes`` selects."""


@overload(product)
def _product(a, W, c, accumulate, lanes):
    if isinstance(lanes, types.NoneType):
        return lambda a, W, c, accumulate, lanes: blas(a, W, c, accumulate)
    call = types.ExternalFunction(_symbol(a.dtype.name, lanes.bits), _signature(types.voidptr))

    def impl(a, W, c, accumulate, lanes):
        m, K = a.shape
        if m == 0:
            return
        unit = a.itemsize
        lda, ldc = a.strides[0] // unit, c.strides[0] // unit
        call(a.ctypes, lda, m, K, W.ctypes, W.shape[0], c.ctypes, ldc, c.shape[1], accumulate)

    return impl
