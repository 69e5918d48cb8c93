"""BLAS thread pools around the recurrent kernels.

numpy and scipy each ship their own OpenBLAS with its own thread pool, and the kernels'
products (kernels/gemm.py, through numba's BLAS helper) call scipy's. A recurrent op uses both in turn: numpy's for the weight gradients, scipy's
for the products at every step. When both pools keep two
threads on a 2-core machine, the idle pool's spinning threads steal the cores from the busy
one. ``numba_blas_only()`` sets every BLAS pool other than the one numba calls to one thread
for the duration of a call, and restores the user's settings after it; where numpy and scipy
share one BLAS, nothing changes. ``benchmarks/lstm.py --blas-sweep`` measures the choices.
"""

from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from functools import cache

from threadpoolctl import ThreadpoolController


@cache
def _other_pools() -> tuple:
    """Every BLAS pool but scipy's, the one numba's kernels call; () where there is one."""
    import scipy

    pools = [lib for lib in _controller().lib_controllers if lib.user_api == "blas"]
    scipy_dir = os.path.dirname(os.path.dirname(scipy.__file__))
    numba_pool = [
        lib
        for lib in pools
        if os.path.basename(os.path.dirname(lib.filepath)).startswith("scipy")
        or lib.filepath.startswith(os.path.join(scipy_dir, "scipy"))
    ]
    if len(pools) < 2 or not numba_pool:
        return ()
    return tuple(lib for lib in pools if lib not in numba_pool)


# The pools' thread counts are the process's, shared by every Python thread: the first of
# overlapping limits (calls from several threads, or one inside another) saves the user's
# counts, and the last to end restores them, not the counts another limit had set.
_LIMITS = threading.Lock()
_held = {"depth": 0, "saved": ()}


def _after_fork_in_child():
    """A forked child starts with no limit held, whatever its parent's threads were doing."""
    global _LIMITS
    _LIMITS = threading.Lock()
    _held.update(depth=0, saved=())


os.register_at_fork(after_in_child=_after_fork_in_child)


@contextmanager
def _limited(pools):
    """Each of ``pools`` at one thread for the duration of a call."""
    with _LIMITS:
        if _held["depth"] == 0:
            _held["saved"] = [(lib, lib.num_threads) for lib in _controller().lib_controllers]
        _held["depth"] += 1
        for lib in pools:
            if lib.num_threads != 1:
                lib.set_num_threads(1)
    try:
        yield
    finally:
        with _LIMITS:
            _held["depth"] -= 1
            if _held["depth"] == 0:
                for lib, n in _held["saved"]:
                    if lib.num_threads != n:
                        lib.set_num_threads(n)


def numba_blas_only():
    """Every BLAS pool but the one numba's kernels call at one thread for the duration of a
    call, the user's settings restored after it (see the module doc)."""
    return _limited(_other_pools())


def gemm(a, b):
    """``a @ b`` for 2-D float arrays on scipy's BLAS, the pool numba's kernels use, with no
    copies: C- and F-ordered operands (transposed views included) go in as they are."""
    from scipy.linalg import get_blas_funcs

    f = get_blas_funcs("gemm", (a, b))
    # (a @ b)ᵀ = bᵀ @ aᵀ, where bᵀ and aᵀ of C-ordered arrays are F-ordered: BLAS's own layout.
    x, tx = (b.T, 0) if b.T.flags.f_contiguous else (b, 1)
    y, ty = (a.T, 0) if a.T.flags.f_contiguous else (a, 1)
    return f(1.0, x, y, trans_a=tx, trans_b=ty).T


@cache
def _controller() -> ThreadpoolController:
    """The pools of every BLAS and OpenMP library loaded, scipy's BLAS (the one the kernels
    call, imported at the first recurrent call) loaded first so that it is among them."""
    import scipy.linalg.cython_blas  # noqa: F401

    return ThreadpoolController()


def one_blas_thread():
    """Every BLAS pool at one thread for the duration of a call, the user's settings restored
    after it. For products with one small side, a convolution's (n or c·K rows against every
    output position of the batch): OpenBLAS splits them so finely between its threads that on
    a busy 2-core machine the threads spend longer waiting for each other than computing
    (the weights' gradient of ``benchmarks/convolution.py``'s images: 200 ms on two threads,
    12 ms on one)."""
    return _limited([lib for lib in _controller().lib_controllers if lib.user_api == "blas"])


def every_pool_one_thread():
    """Every BLAS and OpenMP pool at one thread for the duration of a call (kernels/threads.py
    says when), the user's settings restored after it."""
    return _limited(_controller().lib_controllers)
