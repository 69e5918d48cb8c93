"""The threads of a recurrent call (netgraph/kernels/threads.py, sync.py) and the BLAS pools
around it (blas.py): the barrier, the thread count "auto" chooses from the measured load,
and that the pool limits reach scipy's BLAS, the one the kernels call."""

import json
import os
import subprocess
import sys
import threading

import numpy as np
from numba import njit

from netgraph import KernelOptions
from netgraph.kernels import threads
from netgraph.kernels.sync import barrier

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@njit(nogil=True, cache=True)
def _steps(state, parts, part, seen, bad):
    """Each part counts its steps; after each barrier every part must see all counts equal."""
    for t in range(seen.shape[1]):
        seen[part, t] = 1
        barrier(state, parts)
        for q in range(parts):
            if seen[q, t] != 1:
                bad[part] += 1
        barrier(state, parts)


def test_barrier_holds_every_part_until_all_arrive():
    parts, steps = 3, 2000
    state = np.zeros(16, np.int64)
    seen = np.zeros((parts, steps), np.int64)
    bad = np.zeros(parts, np.int64)
    others = [
        threading.Thread(target=_steps, args=(state, parts, p, seen, bad)) for p in range(1, parts)
    ]
    for t in others:
        t.start()
    _steps(state, parts, 0, seen, bad)
    for t in others:
        t.join()
    assert seen.all() and not bad.any()
    assert state[0] == 0 and state[8] == 2 * steps  # every barrier completed, count reset


def test_auto_threads_follow_the_idle_cores(monkeypatch):
    """A fake /proc/stat: over the window another process used one of two cores fully."""
    clock = {"now": 100.0, "ticks": (1000, 4000), "own": 10.0}
    monkeypatch.setattr(threads, "cores", lambda: 2)
    monkeypatch.setattr(threads.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(threads.os, "sysconf", lambda name: 100)
    monkeypatch.setattr(threads.time, "monotonic", lambda: clock["now"])
    monkeypatch.setattr(threads.time, "process_time", lambda: clock["own"])
    monkeypatch.setattr(threads, "_cpu_ticks", lambda: clock["ticks"])
    load = threads._Load()
    assert load.idle_cores() == 2  # nothing measured yet
    # one second later: 200 jiffies in all (2 CPUs × 100), 150 busy, 50 of them ours
    clock.update(now=101.0, ticks=(1150, 4200), own=10.5)
    assert load.idle_cores() == 1
    clock.update(now=101.1, ticks=(1150, 4200), own=10.5)  # within the window: kept
    assert load.idle_cores() == 1
    clock.update(now=102.0, ticks=(1250, 4400), own=11.5)  # all the busy time was ours
    assert load.idle_cores() == 2
    monkeypatch.setattr(threads, "_load", lambda: load)
    with KernelOptions(threads="auto"):
        assert threads.parts_for(threads.MIN_WORK / 2) == 1  # too small to split
        assert threads.parts_for(threads.MIN_WORK * 2) == 2
    with KernelOptions(threads=3):
        assert threads.parts_for(1.0) == 3


def test_split_product_equals_numpy():
    rng = np.random.default_rng(0)
    for m, k, n in [(50, 7, 9), (4, 30, 40)]:  # split by rows, then by columns
        a, b = rng.standard_normal((m, k)), rng.standard_normal((k, n))
        np.testing.assert_allclose(threads.gemm(a, b, 3), a @ b, rtol=1e-13, atol=1e-13)


POOLS = """
import json
import netgraph
from netgraph.kernels.blas import every_pool_one_thread, one_blas_thread
from threadpoolctl import threadpool_info
with one_blas_thread():
    inside = [(p["filepath"], p["num_threads"]) for p in threadpool_info() if p["user_api"] == "blas"]
print(json.dumps(inside))
"""


def test_pool_limits_reach_scipys_blas_loaded_after_netgraph():
    """In a fresh process scipy's BLAS is not loaded when netgraph is imported; the limit
    must load it first and include it (it did not: busy training ran 3× slower)."""
    out = subprocess.run(
        [sys.executable, "-c", POOLS], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout
    pools = json.loads(out.strip().splitlines()[-1])
    assert any("scipy" in path for path, _ in pools), pools
    assert all(n == 1 for _, n in pools), pools


@njit(nogil=True, cache=True)
def _meet(steps, part, parts, sync):
    for _ in range(steps):
        barrier(sync, parts)


def test_concurrent_calls_on_three_threads_do_not_deadlock():
    """Two Python threads each running three-part calls: sharing one pool of two workers,
    each call could hold a worker waiting for a part queued behind the other call's."""
    done = [0, 0]

    def loop(i):
        for j in range(300):
            threads.run(_meet, 3, steps=2)
            done[i] = j + 1

    callers = [threading.Thread(target=loop, args=(i,), daemon=True) for i in range(2)]
    for t in callers:
        t.start()
    for t in callers:
        t.join(timeout=60)
    assert done == [300, 300]


FORK = """
import os, signal, numpy as np
from numba import njit
from netgraph.kernels import threads
from netgraph.kernels.sync import barrier

@njit(nogil=True)
def meet(steps, part, parts, sync):
    for _ in range(steps):
        barrier(sync, parts)

threads.run(meet, 2, steps=3)  # the parent's pool has a live worker
threads._TEAM.acquire()  # as if another thread were in a call when the process forks
pid = os.fork()
if pid == 0:
    signal.alarm(20)  # a hung child is killed
    threads.run(meet, 2, steps=3)
    threads.gemm(np.ones((50, 4)), np.ones((4, 3)), 2)
    os._exit(0)
threads._TEAM.release()
_, status = os.waitpid(pid, 0)
print("child", "hung" if os.WIFSIGNALED(status) else os.WEXITSTATUS(status))
"""


def test_a_forked_child_runs_calls_on_several_threads():
    """A forked child inherits the pools without their threads, and the lock of calls on
    several threads as its parent held it: it must make its own."""
    out = subprocess.run(
        [sys.executable, "-c", FORK], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout
    assert out.strip().splitlines()[-1] == "child 0"


def test_overlapping_limits_restore_the_users_thread_counts():
    """A limit entered in one thread and one in another, the first ending first: the user's
    counts come back at the end of the last (they were left at one thread)."""
    from threadpoolctl import threadpool_info, threadpool_limits

    from netgraph.kernels import blas

    blas._controller()  # scipy's BLAS loaded and listed
    with threadpool_limits(2, user_api="blas"):
        before = [(p["filepath"], p["num_threads"]) for p in threadpool_info()]
        first, second = blas.one_blas_thread(), blas.every_pool_one_thread()
        first.__enter__()
        second.__enter__()
        assert all(p["num_threads"] == 1 for p in threadpool_info() if p["user_api"] == "blas")
        first.__exit__(None, None, None)
        second.__exit__(None, None, None)
        assert [(p["filepath"], p["num_threads"]) for p in threadpool_info()] == before


def test_a_batch_of_empty_sequences_keeps_its_states():
    """Zero steps: the final states are the initial ones (an empty batch_sizes)."""
    from netgraph.kernels.base import by_length
    from netgraph.kernels.rnn import Pass

    order, sizes = by_length(None, 3, 0)
    s0 = np.arange(12.0).reshape(3, 4)
    run = Pass({}, {}, order, sizes, np.zeros((3, 0, 2)), s0, None, 1, 0.0)
    np.testing.assert_array_equal(run.finals(run.states(s0)), s0)
