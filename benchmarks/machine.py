"""What the recurrent benchmarks print about the machine and netgraph's kernels: the CPU,
the state-product kernel and threads in use, this machine's single-thread sgemm peak (numpy's
BLAS on a large square product) and the micro-kernel's rate on a benchmark's per-step state
products, as a fraction of that peak."""

from __future__ import annotations

import platform
import time

import numpy as np
from numba import njit
from threadpoolctl import threadpool_limits

from netgraph import KernelOptions
from netgraph.kernels import packed, settings
from netgraph.kernels.simd import Lanes


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def best_of(f, repeats=5) -> float:
    f()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        f()
        times.append(time.perf_counter() - t0)
    return min(times)


def sgemm_peak(size=2048) -> float:
    """GFLOP/s of numpy's float32 product of two size × size matrices on one thread."""
    a = np.random.default_rng(0).standard_normal((size, size)).astype(np.float32)
    with threadpool_limits(1, user_api="blas"):
        return 2 * size**3 / best_of(lambda: a @ a) / 1e9


@njit(cache=True)
def _steps(S, P, G, steps, lanes):
    n = S.shape[1]
    for _ in range(steps):
        for g in range(P.shape[0]):
            packed.product(S, P[g], G[:, g * n : (g + 1) * n], False, lanes)


def state_product_rate(B: int, n: int, gates: int) -> float | None:
    """GFLOP/s of the micro-kernel (in use) on one step's state products, B rows by n units
    and ``gates`` blocks, on one thread; None when the kernel in use is BLAS."""
    lanes = settings.lanes()
    if lanes is None:
        return None
    packed.ready(np.float32, lanes.bits)
    rng = np.random.default_rng(0)
    S = rng.standard_normal((B, n)).astype(np.float32)
    W = rng.standard_normal((n, n)).astype(np.float32)
    P = np.stack([packed.pack(W, Lanes(lanes.bits))] * gates)
    G = np.empty((B, gates * n), np.float32)
    steps = max(1, int(2e8 / (2 * B * n * n * gates)))
    return 2 * B * n * n * gates * steps / best_of(lambda: _steps(S, P, G, steps, lanes)) / 1e9


def describe(sizes, gates: int) -> list[str]:
    """Lines for a benchmark's header: the machine, the kernel, the peak and the rates."""
    peak = sgemm_peak()
    lines = [
        f"CPU: {cpu_model()}; kernels this CPU runs: {', '.join(settings.host_kernels())}",
        f"netgraph: {KernelOptions()!r}: state products on {settings.kernel()!r}",
        f"sgemm peak, one thread (numpy's BLAS, 2048³): {peak:.1f} GFLOP/s",
    ]
    for B, _, _, n in sizes:
        rate = state_product_rate(B, n, gates)
        if rate is not None:
            lines.append(
                f"  state products of a {B}-row step, n = {n}: {rate:.1f} GFLOP/s on one "
                f"thread = {100 * rate / peak:.0f}% of the peak"
            )
    return lines
