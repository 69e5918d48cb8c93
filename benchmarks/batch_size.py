"""Evaluation in chunks (``net(x, batch_size=N)``) on ragged sequences: does evaluating the
examples in order of length, so that each chunk pads little, pay?

Run from the repository root:

    python benchmarks/batch_size.py                  # 2000 sequences, a minute or more
    python benchmarks/batch_size.py --examples 500 --repeats 3
    python benchmarks/batch_size.py --threads 1      # steadier on a machine shared with others

A sequence classifier (LSTM → last step → linear → softmax) evaluates a list of ragged
sequences (lengths uniform in [5, 200]) four ways, checked to agree before timing:

- one call, ``net(xs)``: the whole list as one padded batch;
- chunks in the data's order, ``net(chunk)`` for each run of ``batch_size`` examples;
- chunks in order of length: the same, over the examples sorted by length, the results put
  back in the data's order;
- ``net(xs, batch_size=N)``: what netgraph does.

Timings are medians over repeats, the order of the four rotating at every repeat, as wall
time and as the process's CPU time (all its threads; steadier than wall time on a machine
that other work shares); ratios are against the chunks in the data's order (above 1:
faster). "padded steps" counts the steps each way computes, padding included, against the
real steps.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from netgraph import (  # noqa: E402
    LinearLayer,
    LongShortTermMemoryLayer,
    NetChain,
    NetInitialize,
    SequenceLastLayer,
    SoftmaxLayer,
)


def make(args):
    """The net and the ragged sequences (float32)."""
    net = NetChain(
        [LongShortTermMemoryLayer(args.units), SequenceLastLayer(), LinearLayer(9), SoftmaxLayer()],
        input=("Varying", args.features),
    )
    net = NetInitialize(net, random_seed=args.seed)
    rng = np.random.default_rng(args.seed)
    lengths = rng.integers(args.min_length, args.max_length + 1, args.examples)
    xs = [rng.standard_normal((L, args.features)).astype(np.float32) for L in lengths]
    return net, xs, lengths


def by_hand(net, xs, order, size):
    """``net`` over chunks of ``size`` examples taken in ``order``, results in the data's order."""
    out = [None] * len(xs)
    for i in range(0, len(xs), size):
        idx = order[i : i + size]
        for j, y in zip(idx, net([xs[j] for j in idx])):
            out[j] = y
    return out


def padded_steps(lengths, order, size):
    """Steps computed over chunks of ``size`` in ``order``: each chunk pads to its longest."""
    return sum(
        len(c) * int(lengths[c].max()) for c in np.split(order, range(size, len(order), size))
    )


def ways(net, xs, lengths, size):
    """name → (a zero-argument call, padded steps)."""
    n, data_order, length_order = len(xs), np.arange(len(xs)), np.argsort(lengths, kind="stable")
    return {
        "one call": (lambda: net(xs), n * int(lengths.max())),
        "chunks, data order": (
            lambda: by_hand(net, xs, data_order, size),
            padded_steps(lengths, data_order, size),
        ),
        "chunks, by length": (
            lambda: by_hand(net, xs, length_order, size),
            padded_steps(lengths, length_order, size),
        ),
        f"batch_size={size}": (
            lambda: net(xs, batch_size=size),
            padded_steps(lengths, length_order, size),
        ),
    }


def timed(calls: dict, repeats: int) -> dict:
    """name → (median wall seconds, median CPU seconds of the process), the order of the
    calls rotating at every repeat."""
    names, times = list(calls), {k: [] for k in calls}
    for r in range(repeats):
        for k in names[r % len(names) :] + names[: r % len(names)]:
            wall, cpu = time.perf_counter(), time.process_time()
            calls[k]()
            times[k].append((time.perf_counter() - wall, time.process_time() - cpu))
    return {k: tuple(statistics.median(x) for x in zip(*v)) for k, v in times.items()}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--examples", type=int, default=2000)
    p.add_argument("--min-length", type=int, default=5)
    p.add_argument("--max-length", type=int, default=200)
    p.add_argument("--features", type=int, default=12)
    p.add_argument("--units", type=int, default=64)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--threads",
        type=int,
        default=None,
        help="limit the BLAS/OpenMP pools to N threads (threadpoolctl); default: as loaded",
    )
    args = p.parse_args(argv)
    with thread_limit(args.threads):
        run(args)


def thread_limit(n):
    """The BLAS/OpenMP pools limited to ``n`` threads (nothing when ``n`` is None)."""
    if n is None:
        return contextlib.nullcontext()
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        sys.exit("--threads needs threadpoolctl: pip install threadpoolctl")
    return threadpool_limits(n)


def run(args):

    net, xs, lengths = make(args)
    calls = ways(net, xs, lengths, args.batch_size)
    want = calls["one call"][0]()
    for name, (call, _) in calls.items():  # also a warm-up
        got = call()
        err = max(float(np.max(np.abs(g - w))) for g, w in zip(got, want))
        if not err < 1e-5:
            sys.exit(f"{name}: differs from one call by {err:.1e}; not timing.")
    t = timed({k: c for k, (c, _) in calls.items()}, args.repeats)

    real = int(lengths.sum())
    print(
        f"{args.examples} sequences of lengths {args.min_length}–{args.max_length} "
        f"({real} steps), LSTM({args.units}) on {args.features} features, float32; "
        f"medians of {args.repeats} repeats, cores {os.cpu_count()}, "
        f"BLAS threads {args.threads or 'as loaded'}"
    )
    wall, cpu = t["chunks, data order"]
    print(
        f"{'':22s} {'wall s':>8s} {'ratio':>6s} {'CPU s':>8s} {'ratio':>6s} {'padded steps':>13s}"
    )
    for name, (_, steps) in calls.items():
        w, c = t[name]
        print(f"{name:22s} {w:8.3f} {wall / w:6.2f} {c:8.3f} {cpu / c:6.2f} {steps / real:12.2f}x")


if __name__ == "__main__":
    main()
