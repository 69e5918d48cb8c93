"""Activation functions for numba kernels that vectorize in float32 and stay exact in float64.

``fexp`` is resolved when a kernel is compiled: for float32 it is a Cephes-style polynomial
(range reduction by powers of two, a degree-6 polynomial, the power of two built from its bits)
that LLVM turns into SIMD code, accurate to about 2 ulp; for float64 it is ``np.exp``. The
sigmoid and tanh below are built on it, so the same kernel source serves both precisions.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic, overload


@intrinsic
def _f32_from_bits(typingctx, bits):
    sig = types.float32(types.int32)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.FloatType())

    return sig, codegen


def fexp(x):
    """exp(x): a vectorizable polynomial for float32, np.exp for float64 (see module doc)."""
    return np.exp(x)


@overload(fexp, inline="always")
def _fexp(x):
    if isinstance(x, types.Float) and x.bitwidth == 32:
        lo, hi = np.float32(-87.3), np.float32(88.7)
        log2e, c1, c2 = (
            np.float32(1.44269504088896341),
            np.float32(0.693359375),
            np.float32(-2.12194440e-4),
        )
        p0, p1, p2 = (
            np.float32(1.9875691500e-4),
            np.float32(1.3981999507e-3),
            np.float32(8.3334519073e-3),
        )
        p3, p4, p5 = (
            np.float32(4.1665795894e-2),
            np.float32(1.6666665459e-1),
            np.float32(5.0000001201e-1),
        )
        one, half = np.float32(1.0), np.float32(0.5)

        def impl(x):
            x = min(max(x, lo), hi)
            fx = np.floor(x * log2e + half)
            r = x - fx * c1 - fx * c2
            y = ((((p0 * r + p1) * r + p2) * r + p3) * r + p4) * r + p5
            y = y * (r * r) + r + one
            return y * _f32_from_bits((np.int32(fx) + np.int32(127)) << np.int32(23))

        return impl
    return lambda x: np.exp(x)


# Compile options of every recurrent kernel: cached on disk, SIMD-friendly float math, and
# numpy's error model (no exception checks in the inner loops).
FAST = {"cache": True, "fastmath": True, "error_model": "numpy"}


def like(x, value):
    """``value`` in the precision of ``x`` (a bare literal would promote float32 to float64)."""
    return value


@overload(like, inline="always")
def _like(x, value):
    if isinstance(x, types.Float) and x.bitwidth == 32:
        return lambda x, value: np.float32(value)
    return lambda x, value: np.float64(value)


@njit(cache=True, inline="always")
def sigmoid(x):
    one = like(x, 1.0)
    return one / (one + fexp(-x))


@njit(cache=True, inline="always")
def tanh(x):
    one = like(x, 1.0)
    return one - like(x, 2.0) / (fexp(x + x) + one)


@njit(cache=True, inline="always")
def hard_sigmoid(x):
    return min(max(x * like(x, 0.2) + like(x, 0.5), like(x, 0.0)), like(x, 1.0))


@njit(cache=True, inline="always")
def softsign(x):
    return x / (abs(x) + like(x, 1.0))
