"""SIMD vectors in numba kernels: a vector type and the four operations a GEMM micro-kernel
needs (load, store, broadcast, fused multiply-add), emitted as LLVM vector IR.

A kernel takes a ``Lanes`` value as an argument; its numba type carries the vector width in
bits, so numba compiles (and caches) one version of the kernel per width a call passes, and
each operation reads its vector type from it: ``<8 x float>`` for float32 at 256 bits (AVX2),
``<16 x float>`` at 512 (AVX-512), half as many lanes for float64. LLVM lowers the vectors to
the host CPU's registers, so a width wider than the CPU's is split, not refused; which widths
a CPU runs well is ``packed.variants()``'s business.

Loads and stores are unaligned and address elements by a flat offset from an array's data
pointer (the caller computes row·stride + column), so that rows of strided views, such as a
gate's block of a fused row, are read in place. The fused multiply-add is ``llvm.fma`` on the
vector type, declared by hand (llvmlite's ``declare_intrinsic`` takes scalar types only).
"""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.core.imputils import lower_constant
from numba.extending import (
    NativeValue,
    intrinsic,
    models,
    register_model,
    typeof_impl,
    unbox,
)


class Lanes:
    """The vector width, in bits, a kernel is compiled for (256: AVX2, 512: AVX-512)."""

    __slots__ = ("bits",)

    def __init__(self, bits: int):
        self.bits = int(bits)

    def __repr__(self):
        return f"Lanes({self.bits})"


class LanesType(types.Type):
    def __init__(self, bits):
        self.bits = bits
        super().__init__(name=f"Lanes({bits})")


class VectorType(types.Type):
    def __init__(self, dtype, count):
        self.dtype = dtype
        self.count = count
        super().__init__(name=f"Vector({dtype}x{count})")


_LANES_TYPES: dict = {}  # bits → LanesType: numba types each call's Lanes argument


@typeof_impl.register(Lanes)
def _typeof_lanes(val, c):
    if val.bits not in _LANES_TYPES:
        _LANES_TYPES[val.bits] = LanesType(val.bits)
    return _LANES_TYPES[val.bits]


@register_model(LanesType)
class _LanesModel(models.StructModel):
    def __init__(self, dmm, fe_type):
        super().__init__(dmm, fe_type, [])


@unbox(LanesType)
def _unbox_lanes(typ, obj, c):
    return NativeValue(cgutils.create_struct_proxy(typ)(c.context, c.builder)._getvalue())


@lower_constant(LanesType)
def _lanes_constant(context, builder, ty, pyval):
    return cgutils.create_struct_proxy(ty)(context, builder)._getvalue()


@register_model(VectorType)
class _VectorModel(models.PrimitiveModel):
    def __init__(self, dmm, fe_type):
        element = dmm.lookup(fe_type.dtype).get_value_type()
        super().__init__(dmm, fe_type, ir.VectorType(element, fe_type.count))


def _vector_of(dtype, lanes):
    return VectorType(dtype, lanes.bits // dtype.bitwidth)


def _element_pointer(context, builder, arrty, arr, offset, vty):
    """A pointer to element ``offset`` of arr's data, cast to a pointer to ``vty``."""
    data = context.make_array(arrty)(context, builder, arr).data
    ptr = builder.gep(data, [offset])
    return builder.bitcast(ptr, context.get_value_type(vty).as_pointer())


@intrinsic
def count(typingctx, arr, lanes):
    """The number of arr's elements in one vector of ``lanes``: a compile-time constant."""
    vty = _vector_of(arr.dtype, lanes)
    sig = types.intp(arr, lanes)

    def codegen(context, builder, signature, args):
        return ir.Constant(context.get_value_type(types.intp), vty.count)

    return sig, codegen


@intrinsic
def zero(typingctx, arr, lanes):
    """A vector of zeros of arr's dtype."""
    vty = _vector_of(arr.dtype, lanes)
    sig = vty(arr, lanes)

    def codegen(context, builder, signature, args):
        return ir.Constant(context.get_value_type(vty), None)

    return sig, codegen


@intrinsic
def load(typingctx, arr, offset, lanes):
    """The vector of arr's elements offset … offset + count − 1 (flat, from the data pointer)."""
    vty = _vector_of(arr.dtype, lanes)
    sig = vty(arr, offset, lanes)

    def codegen(context, builder, signature, args):
        ptr = _element_pointer(context, builder, signature.args[0], args[0], args[1], vty)
        return builder.load(ptr, align=arr.dtype.bitwidth // 8)

    return sig, codegen


@intrinsic
def store(typingctx, arr, offset, v):
    """arr's elements offset … offset + count − 1 = v."""
    sig = types.none(arr, offset, v)

    def codegen(context, builder, signature, args):
        ptr = _element_pointer(context, builder, signature.args[0], args[0], args[1], v)
        builder.store(args[2], ptr, align=arr.dtype.bitwidth // 8)
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def broadcast(typingctx, x, lanes):
    """The vector with x in every lane."""
    vty = _vector_of(x, lanes)
    sig = vty(x, lanes)

    def codegen(context, builder, signature, args):
        llty = context.get_value_type(vty)
        one = builder.insert_element(ir.Constant(llty, ir.Undefined), args[0], ir.IntType(32)(0))
        mask = ir.Constant(ir.VectorType(ir.IntType(32), vty.count), [0] * vty.count)
        return builder.shuffle_vector(one, ir.Constant(llty, ir.Undefined), mask)

    return sig, codegen


@intrinsic
def fma(typingctx, a, b, c):
    """a·b + c, lane by lane, rounded once."""
    sig = c(a, b, c)

    def codegen(context, builder, signature, args):
        llty = context.get_value_type(c)
        suffix = "f32" if c.dtype.bitwidth == 32 else "f64"
        fnty = ir.FunctionType(llty, [llty] * 3)
        fn = cgutils.get_or_insert_function(builder.module, fnty, f"llvm.fma.v{c.count}{suffix}")
        return builder.call(fn, args)

    return sig, codegen


@intrinsic
def add(typingctx, a, b):
    """a + b, lane by lane."""
    sig = a(a, b)

    def codegen(context, builder, signature, args):
        return builder.fadd(args[0], args[1])

    return sig, codegen
