"""The threads of a recurrent kernel call: how many, and running them.

A recurrent kernel splits the units of every step between ``parts`` threads (each owns a
slice of units across all gates: its columns of the state product and its part of the gate
and cell update) that meet once per step at a barrier (kernels/sync.py). ``run`` calls the
kernel once per part, part 0 on the calling thread and the others on a pool of Python
threads (the kernels release the GIL); the pool's idle threads sleep on a queue, so nothing
spins between calls.

How many (``parts``): the setting ``threads`` (settings.py) when it is a number; "auto"
takes the cores that other processes have left idle (of those this process may run on),
measured from Linux's /proc/stat over the last half second or more (elsewhere: the cores),
and one thread for work too small to split (``MIN_WORK``). So on a 2-core machine where
another process keeps a core busy, "auto" runs one thread: a thread that shares its core
with a busy process is put aside for milliseconds at a time while its partner waits at every
step's barrier (measured: 3–4× slower than one thread). A CPU quota (a container's
``--cpus``) is not read: give ``threads`` there.
"""

from __future__ import annotations

import inspect
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from functools import cache
from operator import itemgetter

import numpy as np

from . import settings
from .blas import every_pool_one_thread, numba_blas_only, one_blas_thread
from .blas import gemm as blas_gemm

MIN_WORK = 5e7  # multiply-adds of a call's state products below which one thread runs it
SMALL_WORK = 1e6  # multiply-adds below which a call's BLAS threads are left as they are
WINDOW = 0.5  # seconds: the shortest interval over which the idle cores are measured


def cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _cpu_ticks():
    """(busy, total) jiffies since boot of the CPUs this process may run on, from
    /proc/stat's per-CPU lines (user … steal; guest time is counted in user already); None
    where there is no /proc/stat."""
    try:
        mine = {f"cpu{c}" for c in os.sched_getaffinity(0)}
        with open("/proc/stat") as f:
            lines = [line.split() for line in f if line.startswith("cpu")]
    except (OSError, AttributeError):
        return None
    busy = total = 0
    for name, *fields in lines:
        if name in mine:
            ticks = [int(v) for v in fields[:8]]
            total += sum(ticks)
            busy += sum(ticks) - ticks[3] - ticks[4]  # less idle and iowait
    return busy, total


class _Load:
    """The idle cores, measured between successive calls at least WINDOW apart."""

    def __init__(self):
        self.last = None  # (time, busy, total, own cpu seconds)
        self.free = cores()

    def idle_cores(self) -> int:
        now = time.monotonic()
        if self.last is not None and now - self.last[0] < WINDOW:
            return self.free
        ticks = _cpu_ticks()
        if ticks is None:
            return self.free
        own = time.process_time()
        if self.last is not None:
            _, busy0, total0, own0 = self.last
            span = (ticks[1] - total0) / cores()  # jiffies per CPU
            if span > 0:
                hz = os.sysconf("SC_CLK_TCK")
                others = (ticks[0] - busy0) / span - (own - own0) * hz / span
                self.free = max(1, min(cores(), round(cores() - max(0.0, others))))
        self.last = (now, ticks[0], ticks[1], own)
        return self.free


@cache
def _load() -> _Load:
    return _Load()


def parts_for(work: float) -> int:
    """How many threads split a call whose state products take ``work`` multiply-adds."""
    threads = settings.OPTIONS["threads"]
    if threads != "auto":
        return threads
    if work < MIN_WORK or cores() < 2:
        return 1
    return _load().idle_cores()


@cache
def _pool(workers: int) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=workers, thread_name_prefix="netgraph")


# One call on several threads at a time: two calls sharing a pool could each hold a worker
# that waits at its barrier for a part queued behind the other call's.
_TEAM = threading.Lock()


def _after_fork_in_child():
    """A forked child inherits the pools but not their threads, and the lock as another
    thread may have held it: it makes its own."""
    global _TEAM
    _pool.cache_clear()
    _TEAM = threading.Lock()


os.register_at_fork(after_in_child=_after_fork_in_child)


@cache
def _parameters(kernel):
    """The kernel's arguments but its last three (part, parts, sync), in order, as a tuple,
    from a dict of them by name."""
    names = tuple(inspect.signature(kernel.py_func).parameters)[:-3]
    if len(names) == 1:  # itemgetter of one name gives the item, not a tuple
        return lambda args: (args[names[0]],)
    return itemgetter(*names)


def _positional(kernel, args: dict, part: int, parts: int, sync) -> list:
    """The kernel's arguments in order (its last three: part, parts, sync): numba's
    dispatcher takes positional arguments in C, keyword arguments in Python (tens of
    microseconds a call, felt at one step a call)."""
    return [*_parameters(kernel)(args), part, parts, sync]


_ALONE = np.zeros(16, np.int64)  # the barrier's state for one part, which never touches it


def _together(work, parts: int) -> None:
    """work(p) for every p < parts at once: part 0 on this thread, the others on the pool;
    returns when all have, raising the first part's exception."""
    with _TEAM:
        others = [_pool(parts - 1).submit(work, p) for p in range(1, parts)]
        try:
            work(0)
        finally:
            for f in others:
                f.result()


def run(kernel, parts: int, **args):
    """kernel(**args, part=…, parts=parts, sync=…) for every part at once, part 0 on this
    thread (the caller holds ``blas_for(parts)``: a part's products on BLAS, with the
    "blas" kernel, stay on its thread). An exception in any part is raised here once every
    part has returned (the kernels raise none inside their step loops, so no part is left
    waiting at a barrier)."""
    if parts == 1:
        kernel(*_positional(kernel, args, 0, 1, _ALONE))
        return
    sync = np.zeros(16, np.int64)
    _together(lambda p: kernel(*_positional(kernel, args, p, parts, sync)), parts)


def gemm(a, b, parts: int):
    """a @ b for a recurrent call that runs on ``parts`` threads: with one part, on the BLAS
    as it is set (blas.gemm); with more, split between the same threads as the steps, each
    on one BLAS thread (the caller holds ``blas_for(parts)``), by rows of a or, for fewer
    rows than columns (a weight gradient), by columns of b."""
    if parts == 1:
        return blas_gemm(a, b)
    m, n = a.shape[0], b.shape[1]
    out = np.empty((m, n), np.result_type(a, b))
    rows = m >= n
    cuts = [(m if rows else n) * p // parts for p in range(parts + 1)]

    def part(p):
        lo, hi = cuts[p], cuts[p + 1]
        if rows:
            np.matmul(a[lo:hi], b, out=out[lo:hi])
        else:
            out[:, lo:hi] = a @ b[:, lo:hi]

    _together(part, parts)
    return out


def blas_for(parts: int, work: float):
    """The BLAS threads around a recurrent call on ``parts`` threads whose state products
    take ``work`` multiply-adds: one when the call runs on more (so that no BLAS thread
    spins on a core the steps' threads need) or when another process keeps a core busy (a
    BLAS thread sharing a core with it is put aside for milliseconds while the others wait:
    measured 3–4× slower than one thread); otherwise, and for a call too small for BLAS to
    split (a streaming step: no limits to set and restore), as the user set them."""
    if parts > 1 or (work >= SMALL_WORK and busy()):
        return one_blas_thread()
    return nullcontext()


def busy() -> bool:
    """Whether another process keeps one of this process's cores busy (see ``_Load``)."""
    return cores() > 1 and _load().idle_cores() < cores()


def pools_for_plan(numba_blas: bool, big: bool):
    """The BLAS and OpenMP pools around a plan's forward or backward pass: all at one
    thread while another process keeps a core busy (measured on this 2-core machine with
    one busy process: training 3× faster than with the pools' default two threads); else,
    for a big call of a net whose kernels call BLAS through numba, every BLAS pool but
    that one at one thread (blas.numba_blas_only)."""
    if big and busy():
        return every_pool_one_thread()
    return numba_blas_only() if numba_blas and big else nullcontext()
