"""One BLAS thread while recurrent kernels run.

numpy and scipy each ship their own OpenBLAS with its own thread pool, and numba's ``np.dot``
calls scipy's. Around a recurrent op both pools run turn about (numpy for the hoisted input
projection and the weight gradients, scipy for every step): on a 2-core machine the idle pool's
spinning threads steal the cores from the busy one, and the op runs several times slower than
with one thread each (``benchmarks/lstm.py`` measures it). ``one_blas_thread()`` sets every
BLAS pool to one thread for the duration of a call and restores the user's settings after it.
"""

from __future__ import annotations

from contextlib import contextmanager
from functools import cache

import scipy.linalg.cython_blas  # noqa: F401  (loads the BLAS that numba's np.dot calls)
from threadpoolctl import ThreadpoolController


@cache
def _blas_pools() -> tuple:
    return tuple(lib for lib in ThreadpoolController().lib_controllers if lib.user_api == "blas")


@contextmanager
def one_blas_thread():
    saved = [(lib, lib.num_threads) for lib in _blas_pools()]
    for lib, n in saved:
        if n != 1:
            lib.set_num_threads(1)
    try:
        yield
    finally:
        for lib, n in saved:
            if n != 1:
                lib.set_num_threads(n)
