"""Activation functions for numba kernels that vectorize in float32 and stay exact in float64.

``fexp`` is resolved when a kernel is compiled: for float32 it is a Cephes-style polynomial
(range reduction by powers of two, a degree-6 polynomial, the power of two built from its bits)
that LLVM turns into SIMD code; for float64 it is ``np.exp``. The float32 ``fexp`` is finite for
every finite argument: exp(x) on [ln 2⁻¹²⁶, 88.37], 0 below (where exp is under the smallest
normal float; between ln 2⁻¹²⁶ and −88 it gives exp's subnormal values or 0) and exp(88.37) ≈
2.4e38 above (2¹²⁷ is the largest power of two it builds). Its Cody–Waite reduction is two
fused multiply-adds, which fastmath cannot regroup (the plain expression loses up to 4.5 ulp).

``sigmoid`` and ``tanh`` take exp of −|x| only, a number in [0, 1], so that no inf and no
0·inf appears whatever the argument: under fastmath a division is a reciprocal estimate and a
Newton step, which turns 1/inf into NaN. They saturate where float64 does: tanh(x) = ±1 for
|x| ≥ 9.1, sigmoid(x) = 1 for x ≥ 17.4 and 0 for x < −87.3 (where float64 gives less than the
smallest normal float32). In float32, for |x| < 0.625 tanh is Cephes' odd polynomial, which
keeps its relative accuracy near 0 (tanh(1e-30) = 1e-30). In float32 each is within 4 ulp of
float64 numpy rounded to float32, wherever that is a normal float, over the whole float32 range
(worst seen: sigmoid 3.1, tanh 1.9, fexp 1.2, over every 251st float32 and the edge values at
every position of a row, SIMD body and scalar remainder: tests/kernels/test_fastmath.py);
sigmoid's worst is for x < 0, exp's error plus the division's reciprocal estimate. In float64, tanh is
``np.tanh`` and sigmoid is within a few ulp of ``scipy.special.expit``.
"""

from __future__ import annotations

import math

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


@intrinsic
def _reduce(typingctx, x, fx, c1, c2):
    """r = (x − fx·c1) − fx·c2 (Cody–Waite) as two fused multiply-adds, which fastmath cannot
    regroup into x − fx·(c1 + c2) (as it does the plain expression, costing up to 4.5 ulp)."""
    sig = types.float32(types.float32, types.float32, types.float32, types.float32)

    def codegen(context, builder, signature, args):
        x, fx, c1, c2 = args
        t = builder.fma(builder.fneg(fx), c1, x)
        return builder.fma(builder.fneg(fx), c2, t)

    return sig, codegen


def fexp(x):
    """exp(x): a vectorizable polynomial for float32, np.exp for float64 (see module doc)."""
    return np.exp(x)


@overload(fexp)
def _fexp(x):
    if isinstance(x, types.Float) and x.bitwidth == 32:
        # below lo the power of two is 2⁻¹²⁷, whose bits are those of 0.0; below (127 + ½)·ln 2
        lo, hi = np.float32(-88.0), np.float32(88.37)
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
            fx = np.floor(x * log2e + half)  # −127 … 127
            r = _reduce(x, fx, c1, c2)
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


@overload(like)
def _like(x, value):
    if isinstance(x, types.Float) and x.bitwidth == 32:
        return lambda x, value: np.float32(value)
    return lambda x, value: np.float64(value)


@njit(cache=True)
def sigmoid(x):
    """1/(1 + e⁻ˣ) for x ≥ 0, eˣ/(1 + eˣ) below: exp of −|x| only (see module doc)."""
    one = like(x, 1.0)
    e = fexp(-abs(x))
    q = e / (one + e)  # sigmoid(−|x|)
    w = like(x, x >= like(x, 0.0))  # 1 or 0: a blend, not a branch, and exact
    return (one - q) * w + q * (one - w)


# tanh on |x| < 0.625 in float32: x + x³·P(x²) (Cephes' tanhf)
_T = tuple(map(np.float32, (-5.70498872745e-3, 2.06390887954e-2, -5.37397155531e-2)))
_T += tuple(map(np.float32, (1.33314422036e-1, -3.33332819422e-1)))


@njit(cache=True)
def _tanh32(x):
    one = np.float32(1.0)
    a = abs(x)
    e = fexp(a * np.float32(-2.0))  # exp(−2|x|) in [0, 1]
    big = one - (e + e) / (one + e)
    w = min(a, np.float32(0.625))  # finite where the polynomial is not used
    z = w * w
    near0 = ((((_T[0] * z + _T[1]) * z + _T[2]) * z + _T[3]) * z + _T[4]) * z * w + w
    w = np.float32(a < np.float32(0.625))  # 1 or 0: a blend, not a branch, and exact
    return math.copysign(near0 * w + big * (one - w), x)


def tanh(x):
    """tanh(x): branch-free and inf-free for float32, np.tanh for float64 (see module doc)."""
    return np.tanh(x)


@overload(tanh)
def _tanh(x):
    if isinstance(x, types.Float) and x.bitwidth == 32:
        return lambda x: _tanh32(x)
    return lambda x: np.tanh(x)


@njit(cache=True)
def hard_sigmoid(x):
    return min(max(x * like(x, 0.2) + like(x, 0.5), like(x, 0.0)), like(x, 1.0))


@njit(**FAST)
def gate_rows(z, g, a, stop, gk):
    """a[j] = σg(z[j] + g[j]) for j < stop (the gate blocks of a fused LSTM or GRU row): the
    logistic sigmoid, or the hard one when ``gk`` is not None."""
    if gk is None:
        for j in range(stop):
            a[j] = sigmoid(z[j] + g[j])
    else:
        for j in range(stop):
            a[j] = hard_sigmoid(z[j] + g[j])


@njit(cache=True)
def softsign(x):
    return x / (abs(x) + like(x, 1.0))


@njit(**FAST)
def squash_rows(z, g, a, stop, sk):
    """a[j] = σs(z[j] + g[j]) for j < stop (the candidate block of a fused LSTM or GRU row):
    tanh, or SoftSign when ``sk`` is not None."""
    if sk is None:
        for j in range(stop):
            a[j] = tanh(z[j] + g[j])
    else:
        for j in range(stop):
            a[j] = softsign(z[j] + g[j])


@njit(cache=True)
def dgate(y, kind):
    """A gate activation's derivative from its output y: LogisticSigmoid (kind None), y(1−y);
    HardSigmoid (1), 0.2 inside (0, 1), else 0. A None kind is the default so that numba
    compiles, for a kernel given None, the default's code only (and the other's otherwise)."""
    one = like(y, 1.0)
    if kind is None:
        return y * (one - y)
    return like(y, 0.2) if (y > 0) & (y < one) else like(y, 0.0)


@njit(cache=True)
def dsquash(y, kind):
    """A state activation's derivative from its output y: Tanh (kind None), 1−y²; SoftSign
    (1), (1−|y|)²."""
    one = like(y, 1.0)
    if kind is None:
        return one - y * y
    return (one - abs(y)) * (one - abs(y))
