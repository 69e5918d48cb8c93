"""``c = a·b`` (or ``c += a·b``) inside numba kernels, straight on the BLAS that numba's own
``np.dot`` calls (scipy's, through numba's ``numba_xxgemm`` helper), for 2-D float arrays
whose rows or columns are contiguous: slices such as ``s[:Bt]``, ``G[:Bt, g*n:(g+1)*n]`` and
transposed views go in as they are, with their leading dimension.

``np.dot`` in a kernel costs about ten seconds of compilation on a cold cache, most of it the
formatting of its shape-error messages; this costs a fraction of a second. The shapes are the
kernels' own, so they are checked by the tests, not at every step. The declaration is the
one numba itself emits for ``numba_xxgemm`` (a symbol numba exports at import), so kernels
that call it are cached on disk like any other. numba's helper imports scipy's BLAS at the
first product.
"""

from __future__ import annotations

import numpy as np
from numba import njit, types
from numba.extending import overload

from .fastmath import like

_XXGEMM = types.ExternalFunction(
    "numba_xxgemm",
    types.intc(
        types.char,  # kind: "s" or "d"
        types.char,  # transa
        types.char,  # transb
        types.intp,  # m
        types.intp,  # n
        types.intp,  # k
        types.voidptr,  # alpha
        types.voidptr,  # a
        types.intp,  # lda
        types.voidptr,  # b
        types.intp,  # ldb
        types.voidptr,  # beta
        types.voidptr,  # c
        types.intp,  # ldc
    ),
)
_XXGEMV = types.ExternalFunction(
    "numba_xxgemv",
    types.intc(
        types.char,  # kind
        types.char,  # trans
        types.intp,  # m
        types.intp,  # n
        types.voidptr,  # alpha
        types.voidptr,  # a
        types.intp,  # lda
        types.voidptr,  # x (unit stride)
        types.voidptr,  # beta
        types.voidptr,  # y (unit stride)
    ),
)
_N, _T = np.int8(ord("n")), np.int8(ord("t"))  # BLAS flags: as it lies, transposed
_S, _D = np.int8(ord("s")), np.int8(ord("d"))  # BLAS kinds: float32, float64


def _layout(x):
    """(transpose flag, leading dimension) of a non-empty 2-D x read as xᵀ in BLAS's
    column-major order: a row-major x is xᵀ as it lies ("n"), a column-major x is read
    transposed ("t"). Resolved from x's numba layout where that settles it (C and F arrays
    compile to two reads), from its strides otherwise; a leading dimension of −1: x has
    neither contiguous rows nor contiguous columns."""


@overload(_layout)
def _layout_of(x):
    if x.layout == "C":
        return lambda x: (_N, x.shape[1])
    if x.layout == "F":
        return lambda x: (_T, x.shape[0])
    return lambda x: _strided_layout(x)


@njit(cache=True)
def _strided_layout(x):
    rows, cols = x.shape
    unit = x.itemsize
    if cols == 1 or x.strides[1] == unit:
        ld = x.strides[0] // unit if rows > 1 else cols
        if ld >= cols:
            return _N, ld
    if rows == 1 or x.strides[0] == unit:
        ld = x.strides[1] // unit if cols > 1 else rows
        if ld >= rows:
            return _T, ld
    return _N, np.intp(-1)


@njit(cache=True)
def gemm(a, b, c, accumulate):
    """c = a·b, or c += a·b when ``accumulate``; a (m, k), b (k, n), c (m, n) of one float
    dtype, each with contiguous rows or columns (c with contiguous rows)."""
    m, k = a.shape
    n = b.shape[1]
    if m == 0 or n == 0:
        return
    if k == 0:
        if not accumulate:
            for i in range(m):
                for j in range(n):
                    c[i, j] = 0
        return
    ta, lda = _layout(a)
    tb, ldb = _layout(b)
    tc, ldc = _layout(c)
    if lda < 0 or ldb < 0 or ldc < 0 or tc != _N:
        raise ValueError("gemm: an operand has neither contiguous rows nor contiguous columns")
    scalars = np.empty(2, a.dtype)
    scalars[0] = like(scalars[0], 1.0)
    scalars[1] = like(scalars[0], 1.0 if accumulate else 0.0)
    kind = _S if a.itemsize == 4 else _D
    if m == 1 and ta == _N:
        # one contiguous row (a streaming step): y = bᵀ·x as a matrix-vector product, faster
        # than a one-row matrix product (as numba's np.dot does); b read as it lies in
        # column-major order is bᵀ (n, k) when row-major, b (k, n) when column-major
        rows, cols = (n, k) if tb == _N else (k, n)
        _XXGEMV(
            kind,
            tb,
            rows,
            cols,
            scalars[0:].ctypes,
            b.ctypes,
            ldb,
            a.ctypes,
            scalars[1:].ctypes,
            c.ctypes,
        )
        return
    # row-major c = a·b is column-major cᵀ = bᵀ·aᵀ
    _XXGEMM(
        kind,
        tb,
        ta,
        n,
        m,
        k,
        scalars[0:].ctypes,
        b.ctypes,
        ldb,
        a.ctypes,
        lda,
        scalars[1:].ctypes,
        c.ctypes,
        ldc,
    )
