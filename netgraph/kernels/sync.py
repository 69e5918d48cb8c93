"""A barrier for the threads of one recurrent kernel call (kernels/threads.py), in numba.

``barrier(state, parts)``: each of the ``parts`` threads calls it once per step and returns
when all have. ``state`` is an int64 array of 16 (two cache lines, its own): [0] the count of
arrivals, [8] the generation. The last to arrive resets the count and advances the
generation; the others wait for the generation to change, first spinning briefly (a step
takes microseconds, and a woken thread would take longer), then giving their core away with
``sched_yield`` at every check, so that a thread waiting for a partner that the OS has put
aside does not take the core from it, or from another process on a busy machine. The
atomic operations are LLVM's (sequentially consistent), emitted by the intrinsics below;
``sched_yield`` is libc's, registered with LLVM by name so that kernels that call it are
cached like any other.
"""

from __future__ import annotations

import ctypes

from llvmlite import binding as llvm
from numba import njit, types
from numba.extending import intrinsic

SPINS = 2000  # checks before a waiting thread starts yielding its core: a few microseconds

# the process's own symbols, libc's among them (no search for the library file at import)
_libc = ctypes.CDLL(None)
llvm.add_symbol("sched_yield", ctypes.cast(_libc.sched_yield, ctypes.c_void_p).value)
_sched_yield = types.ExternalFunction("sched_yield", types.intc())


def _slot(context, builder, arrty, arr, index):
    data = context.make_array(arrty)(context, builder, arr).data
    return builder.gep(data, [index])


@intrinsic
def atomic_add(typingctx, arr, index, value):
    """arr[index] += value, atomically; returns the value before."""
    sig = arr.dtype(arr, index, arr.dtype)

    def codegen(context, builder, signature, args):
        ptr = _slot(context, builder, signature.args[0], args[0], args[1])
        return builder.atomic_rmw("add", ptr, args[2], "seq_cst")

    return sig, codegen


@intrinsic
def atomic_load(typingctx, arr, index):
    """arr[index], read atomically."""
    sig = arr.dtype(arr, index)

    def codegen(context, builder, signature, args):
        ptr = _slot(context, builder, signature.args[0], args[0], args[1])
        return builder.load_atomic(ptr, "seq_cst", arr.dtype.bitwidth // 8)

    return sig, codegen


@intrinsic
def atomic_store(typingctx, arr, index, value):
    """arr[index] = value, atomically."""
    sig = types.none(arr, index, arr.dtype)

    def codegen(context, builder, signature, args):
        ptr = _slot(context, builder, signature.args[0], args[0], args[1])
        builder.store_atomic(args[2], ptr, "seq_cst", arr.dtype.bitwidth // 8)
        return context.get_dummy_value()

    return sig, codegen


@njit(cache=True, nogil=True)
def barrier(state, parts):
    """Wait until all ``parts`` threads have called it (see the module doc)."""
    if parts == 1:
        return
    generation = atomic_load(state, 8)
    if atomic_add(state, 0, 1) == parts - 1:
        atomic_store(state, 0, 0)
        atomic_add(state, 8, 1)
        return
    spins = 0
    while atomic_load(state, 8) == generation:
        spins += 1
        if spins > SPINS:
            _sched_yield()
