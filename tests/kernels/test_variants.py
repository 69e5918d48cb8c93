"""Every state-product kernel this CPU runs (the packed micro-kernel at each vector width, and
BLAS), on one thread and on three that split the units, against the plain-numpy references:
LSTM, the GRU's three reset modes and the basic recurrence, forward and backward, ragged and
full batches, float32 and float64, with and without every dropout method (whose masks change
the state products into per-gate ones). Units n = 37 span several panels of every width, and
the batch of 8 both full six-row tiles and the leftover rows."""

import numpy as np
import pytest
from numba import njit

from netgraph import (
    BasicRecurrentLayer,
    GatedRecurrentLayer,
    KernelOptions,
    LongShortTermMemoryLayer,
    NetInitialize,
)
from netgraph.kernels import packed, settings
from netgraph.kernels.gru_kernels import GATES as GRU_GATES
from netgraph.kernels.gru_reference import gru_reference
from netgraph.kernels.lstm_kernels import GATES as LSTM_GATES
from netgraph.kernels.lstm_reference import lstm_reference
from netgraph.kernels.rnn_reference import rnn_reference
from netgraph.kernels.simd import Lanes
from tests.kernels.ops import (
    as_run,
    batch,
    compare,
    gate_masks,
    random_arrays,
    recorded_runs,
    run_op,
)

N, K, T = 37, 4, 7
LENGTHS = {"ragged": [7, 3, 6, 1, 7, 2, 5, 4], "full": [7] * 8}
DROPOUT = {
    "none": None,
    "all": {"VariationalWeights": 0.2, "VariationalInput": 0.3, "VariationalState": 0.25},
}
KERNELS = settings.host_kernels()


def arrays_at(rng, layer_class):
    """The layer's arrays at the scale of tests/kernels/ops.py's five units: the same gain
    per step, so that float32 round-off grows over the steps no more than there."""
    scale = np.sqrt(5 / N)
    return {a: v * scale for a, v in random_arrays(rng, layer_class, N, K).items()}


GRU_MODES = ("after-multiplication", "recurrent-bias-after-multiplication", "before-multiplication")


def lstm_case(rng, dropout, lengths, dtype):
    if dropout:
        dropout = {**dropout, "StateUpdate": 0.1}
    layer = LongShortTermMemoryLayer(N, input=("Varying", K), dropout=dropout)
    arrays = arrays_at(rng, LongShortTermMemoryLayer)
    x, states, dy, dstates = batch(rng, lengths, T, K, N, states=2)

    def reference(masks, arrays, x, states, dy, dstates):
        return lstm_reference(
            arrays, x, lengths, *states, dy, *dstates, masks=gate_masks(masks, LSTM_GATES)
        )

    return layer, arrays, (x, states, dy, dstates), reference


def gru_case(mode):
    def case(rng, dropout, lengths, dtype):
        layer = GatedRecurrentLayer(N, input=("Varying", K), dropout=dropout, reset_gate_mode=mode)
        arrays = arrays_at(rng, GatedRecurrentLayer)
        if mode == GRU_MODES[1]:
            arrays["MemoryGateStateBiases"] = 0.5 * rng.normal(size=N)
        x, states, dy, dstates = batch(rng, lengths, T, K, N, states=1)

        def reference(masks, arrays, x, states, dy, dstates):
            m = gate_masks(masks, GRU_GATES)
            return gru_reference(
                arrays, x, lengths, *states, dy, *dstates, m, before=mode == GRU_MODES[2]
            )

        return layer, arrays, (x, states, dy, dstates), reference

    return case


def rnn_case(rng, dropout, lengths, dtype):
    layer = BasicRecurrentLayer(N, input=("Varying", K), dropout=dropout)
    arrays = arrays_at(rng, BasicRecurrentLayer)
    x, states, dy, dstates = batch(rng, lengths, T, K, N, states=1)

    def reference(masks, arrays, x, states, dy, dstates):
        masks = {key: (m[:, 0] if key in ("x", "s") else m) for key, m in masks.items()}
        return rnn_reference(arrays, x, lengths, *states, dy, *dstates, "Tanh", masks)

    return layer, arrays, (x, states, dy, dstates), reference


CASES = {"lstm": lstm_case, **{f"gru {m}": gru_case(m) for m in GRU_MODES}, "rnn": rnn_case}


# Each case compiles kernels of its own (seconds each on a cold cache), so every kernel runs
# each cell twice: float32 without dropout (the fused products) and float64 with every
# dropout method (the per-gate masked products); each on ragged and full batches, on one
# thread and on three.
CASES_RUN = [(c, "none", "float32") for c in CASES] + [(c, "all", "float64") for c in CASES]


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize(("cell", "dropout", "dtype"), CASES_RUN, ids=str)
def test_every_kernel_and_thread_count_matches_the_reference(cell, dropout, dtype, kernel):
    dtype = np.dtype(dtype).type
    for lengths in LENGTHS.values():
        rng = np.random.default_rng(7)
        layer, arrays, (x, states, dy, dstates), reference = CASES[cell](
            rng, DROPOUT[dropout], lengths, dtype
        )
        for threads in (1, 3):
            with KernelOptions(kernel=kernel, threads=threads), recorded_runs() as calls:
                got = run_op(layer, arrays, x, lengths, states, dy, dstates, dtype)
            assert calls and set(calls) == {(threads, settings.WIDTHS.get(kernel))}
            inputs = (as_run(v, dtype) for v in (arrays, x, states, dy, dstates))
            compare(got, reference(got[3], *inputs), dtype)


@njit(cache=True)
def _product(a, W, c, accumulate, lanes):
    packed.product(a, W, c, accumulate, lanes)


@pytest.mark.parametrize("kernel", list(settings.WIDTHS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_micro_kernel_matches_numpy_for_every_edge(kernel, dtype):
    """Rows 1 … 13 (a one-row tile, padded tiles, full ones), columns across a partial last
    panel, no inner dimension (zeros), accumulation, a column block of c and a slice of the
    panels. Every width runs,
    also one wider than this CPU's registers (LLVM splits its vectors), so that the AVX-512
    variant's panels and tiles are checked on any x86 machine."""
    lanes = Lanes(settings.WIDTHS[kernel])
    packed.ready(dtype, lanes.bits)
    rng = np.random.default_rng(0)
    tol = 1e-5 if dtype == np.float32 else 1e-13
    for m, k, n in [
        (1, 9, 5),
        (2, 33, 40),
        (5, 1, 17),
        (6, 16, 32),
        (7, 50, 70),
        (13, 64, 100),
        (3, 0, 20),
    ]:
        a = rng.standard_normal((m, k)).astype(dtype)
        W = rng.standard_normal((k, n)).astype(dtype)
        P = packed.pack(W, lanes)
        c = np.full((m, n), np.nan, dtype)
        _product(a, P, c, False, lanes)
        np.testing.assert_allclose(c, a @ W, rtol=tol, atol=tol * k)
        c0 = rng.standard_normal((m, n)).astype(dtype)
        c = c0.copy()
        _product(a, P, c, True, lanes)
        np.testing.assert_allclose(c, c0 + a @ W, rtol=tol, atol=tol * k)
        NR = P.shape[2]
        if n > NR:  # panels 1 … into a column block, as a thread's units of a gate's block
            wide = np.zeros((m, n + 9), dtype)
            _product(a, P[1:], wide[:, 3 : 3 + n - NR], False, lanes)
            np.testing.assert_allclose(
                wide[:, 3 : 3 + n - NR], a @ W[:, NR:], rtol=tol, atol=tol * k
            )
            assert not wide[:, :3].any() and not wide[:, 3 + n - NR :].any()


def test_kernel_options_are_checked_and_restored():
    before = repr(KernelOptions())
    with KernelOptions(kernel="blas", threads=2) as options:
        assert (options.kernel, options.threads) == ("blas", 2)
    assert repr(KernelOptions()) == before
    kernel = KernelOptions().kernel
    with KernelOptions(threads=2):
        KernelOptions(kernel="blas")  # for the process: the block restores threads only
    assert (KernelOptions().kernel, KernelOptions().threads) == ("blas", "auto")
    KernelOptions(kernel=kernel)
    with pytest.raises(
        ValueError, match="expected one of 'auto', 'avx512', 'avx2', 'blas', got 'sse'"
    ):
        KernelOptions(kernel="sse")
    with pytest.raises(ValueError, match="a whole number ≥ 1 or 'auto', got 0"):
        KernelOptions(threads=0)
    if "avx512" not in KERNELS:
        with pytest.raises(ValueError, match="lacks the instructions of the 'avx512' kernel"):
            KernelOptions(kernel="avx512")


@pytest.mark.skipif(KERNELS == ["blas"], reason="this CPU runs no micro-kernel variant")
def test_auto_runs_one_row_and_small_calls_on_blas():
    """With the kernel "auto", a batch of one row (a stream: each step a matrix-vector
    product, BLAS's) and a call under SMALL_WORK multiply-adds run on BLAS; a bigger batch
    runs on the micro-kernel; a kernel named runs every call on itself. The results agree."""
    net = NetInitialize(LongShortTermMemoryLayer(64, input=("Varying", 8)), random_seed=0)
    rng = np.random.default_rng(0)
    one = rng.standard_normal((1, 80, 8)).astype(np.float32)  # 80·4·64² ≈ 1.3e6 ≥ SMALL_WORK
    small = rng.standard_normal((2, 3, 8)).astype(np.float32)
    big = rng.standard_normal((8, 80, 8)).astype(np.float32)
    bits = settings.WIDTHS[KERNELS[0]]
    with KernelOptions(kernel="auto", threads=1), recorded_runs() as calls:
        auto = [net(x) for x in (one, small, big)]
    assert calls == [(1, None), (1, None), (1, bits)]
    with KernelOptions(kernel=KERNELS[0], threads=1), recorded_runs() as calls:
        named = [net(x) for x in (one, small, big)]
    assert calls == [(1, bits)] * 3
    for a, b in zip(auto, named):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
