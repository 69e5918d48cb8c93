"""Which kernel runs the recurrent layers' state products, and on how many threads.

``kernel``: "avx512" or "avx2" (the packed micro-kernel of kernels/packed.py at that vector
width, where the CPU has the instructions), "blas" (kernels/gemm.py, the portable path), or
"auto": the widest the CPU runs. ``threads``: how many threads split a recurrence's units,
or "auto" (see kernels/threads.py). Their defaults come from the environment variables
``NETGRAPH_KERNEL`` and ``NETGRAPH_NUM_THREADS``; ``KernelOptions`` (netgraph's public
setting) changes them for the process or for a ``with`` block. They are the one piece of
mutable state at module level in netgraph, as the thread count is in numpy's BLAS or torch.
"""

from __future__ import annotations

import os
from functools import cache

from llvmlite import binding as llvm

from .simd import Lanes

WIDTHS = {"avx512": 512, "avx2": 256}  # the micro-kernel's variants: vector bits
KERNELS = (*WIDTHS, "blas")


@cache
def host_kernels() -> tuple[str, ...]:
    """The kernels this CPU runs, widest first; "blas" runs everywhere."""
    features = llvm.get_host_cpu_features()
    names = []
    if features.get("avx512f"):
        names.append("avx512")
    if features.get("avx2") and features.get("fma"):
        names.append("avx2")
    return (*names, "blas")


def check_kernel(kernel: str, origin: str) -> str:
    """``kernel`` if this CPU runs it (or "auto"); else a ValueError naming ``origin``."""
    if kernel == "auto" or kernel in host_kernels():
        return kernel
    if kernel in KERNELS:
        raise ValueError(
            f"{origin}: this CPU lacks the instructions of the {kernel!r} kernel; "
            f"it runs {', '.join(map(repr, host_kernels()))} (or 'auto')."
        )
    raise ValueError(
        f"{origin}: expected one of {', '.join(map(repr, ('auto', *KERNELS)))}, got {kernel!r}."
    )


def check_threads(threads, origin: str):
    """``threads`` if it is a positive whole number or "auto"; else a ValueError."""
    if threads == "auto":
        return threads
    if isinstance(threads, str) and threads.strip().isdigit():
        threads = int(threads)
    if isinstance(threads, int) and not isinstance(threads, bool) and threads >= 1:
        return threads
    raise ValueError(f"{origin}: expected a whole number ≥ 1 or 'auto', got {threads!r}.")


OPTIONS = {
    "kernel": check_kernel(os.environ.get("NETGRAPH_KERNEL", "auto"), "NETGRAPH_KERNEL"),
    "threads": check_threads(
        os.environ.get("NETGRAPH_NUM_THREADS", "auto"), "NETGRAPH_NUM_THREADS"
    ),
}


def kernel() -> str:
    """The kernel the state products run on now: "avx512", "avx2" or "blas"."""
    name = OPTIONS["kernel"]
    return host_kernels()[0] if name == "auto" else name


def lanes() -> Lanes | None:
    """The micro-kernel's vector width for the kernel in use; None: BLAS."""
    bits = WIDTHS.get(kernel())
    return None if bits is None else _LANES[bits]


_LANES = {bits: Lanes(bits) for bits in WIDTHS.values()}


class KernelOptions:
    """The recurrent layers' kernel and thread count, for the process or a ``with`` block.

    ``KernelOptions()`` shows the settings in force; ``KernelOptions(kernel=…, threads=…)``
    sets those given, for the rest of the process, or until the end of the ``with`` block
    it opens. ``kernel``: "auto" (the widest this CPU runs), "avx512", "avx2" (netgraph's
    packed-weight micro-kernel at that vector width) or "blas" (the BLAS that scipy ships:
    the portable path). ``threads``: "auto" (the cores other processes leave idle, and one
    for a small call) or a whole number of threads that split each recurrent call's units.
    The defaults come from the environment variables ``NETGRAPH_KERNEL`` and
    ``NETGRAPH_NUM_THREADS``. A changed kernel applies to nets evaluated after the change.

    >>> from netgraph import KernelOptions
    >>> with KernelOptions(kernel="blas", threads=1):
    ...     KernelOptions()
    KernelOptions(kernel='blas', threads=1)
    """

    def __init__(self, kernel: str | None = None, threads: int | str | None = None):
        given = {"kernel": kernel, "threads": threads}
        checked = {
            "kernel": kernel if kernel is None else check_kernel(kernel, "KernelOptions: kernel"),
            "threads": threads
            if threads is None
            else check_threads(threads, "KernelOptions: threads"),
        }
        self.previous = {k: OPTIONS[k] for k, v in given.items() if v is not None}
        OPTIONS.update({k: v for k, v in checked.items() if v is not None})

    @property
    def kernel(self) -> str:
        return OPTIONS["kernel"]

    @property
    def threads(self):
        return OPTIONS["threads"]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        OPTIONS.update(self.previous)  # the settings it changed, as they were

    def __repr__(self):
        return f"KernelOptions(kernel={self.kernel!r}, threads={self.threads!r})"
