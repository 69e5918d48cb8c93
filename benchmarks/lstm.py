"""LongShortTermMemoryLayer against PyTorch's CPU nn.LSTM, on this machine, in one run.

Run from the repository root (PyTorch CPU must be installed: ``pip install torch==2.13.0``):

    python benchmarks/lstm.py                 # everything, a few minutes
    python benchmarks/lstm.py --quick         # fewer repeats
    python benchmarks/lstm.py --sizes 27x20x12x100,32x50x32x128

Both libraries get the same weights and the same float32 data, and their outputs (and one
weight gradient) are checked to agree before anything is timed. Timings are medians over
interleaved repeats (netgraph then torch, then torch then netgraph, ...) after a warm-up, so
that drift on a noisy machine hits both alike; in each repeat the first call after switching
libraries is not timed (see ``interleaved``). Ratios are torch time / netgraph time: above 1
means netgraph is faster.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import textwrap
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import machine  # noqa: E402

import netgraph  # noqa: E402
from netgraph import (  # noqa: E402
    LongShortTermMemoryLayer,
    NetInitialize,
    NetPortGradient,
)

try:
    import torch
except ImportError:  # pragma: no cover - the message is the point
    sys.exit("PyTorch is needed for this benchmark: pip install torch==2.13.0 (CPU build)")

try:
    from netgraph import NetStateObject
except ImportError:
    NetStateObject = None

SIZES = [(27, 20, 12, 100), (32, 50, 32, 128), (64, 100, 64, 256), (16, 200, 128, 512)]
GRAD_ARRAY = "InputGateInputWeights"
FWD_TOL = 1e-4


# -- building the two nets -----------------------------------------------------------------


def make_pair(k, n, seed=1):
    """The netgraph net and an nn.LSTM holding the same weights."""
    net = NetInitialize(LongShortTermMemoryLayer(n, input=("Varying", k)), random_seed=seed)
    a = {name: np.asarray(v, np.float32) for name, v in net.arrays.items()}
    lstm = torch.nn.LSTM(k, n, batch_first=True)
    order = ("Input", "Forget", "Memory", "Output")  # torch's i, f, g, o
    with torch.no_grad():
        lstm.weight_ih_l0.copy_(
            torch.from_numpy(np.concatenate([a[f"{g}GateInputWeights"] for g in order]))
        )
        lstm.weight_hh_l0.copy_(
            torch.from_numpy(np.concatenate([a[f"{g}GateStateWeights"] for g in order]))
        )
        lstm.bias_ih_l0.copy_(
            torch.from_numpy(np.concatenate([a[f"{g}GateBiases"] for g in order]))
        )
        lstm.bias_hh_l0.zero_()
    return net, lstm


def make_data(B, T, k, seed=0, ragged=False):
    """A float32 batch (B, T, k); ragged: a list of sequences with lengths in [T/2, T]."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((B, T, k)).astype(np.float32)
    if not ragged:
        return x, None
    lengths = rng.integers(max(1, T // 2), T + 1, B)
    lengths[0] = T
    for b, L in enumerate(lengths):
        x[b, L:] = 0.0
    return x, lengths


# -- the timed calls -----------------------------------------------------------------------


def torch_runner(lstm, x, lengths):
    """A zero-argument callable: torch's LSTM on the full batch, or on packed sequences."""
    xt = torch.from_numpy(x)
    if lengths is None:
        return lambda: lstm(xt)[0]
    lt = torch.as_tensor(lengths, dtype=torch.int64)
    pack = torch.nn.utils.rnn.pack_padded_sequence
    unpack = torch.nn.utils.rnn.pad_packed_sequence

    def t_run():
        packed = pack(xt, lt, batch_first=True, enforce_sorted=False)
        return unpack(lstm(packed)[0], batch_first=True, total_length=x.shape[1])[0]

    return t_run


def calls(net, lstm, x, lengths):
    """Four zero-argument callables: netgraph fwd, torch fwd, netgraph fwd+bwd, torch fwd+bwd."""
    spec = NetPortGradient([GRAD_ARRAY])
    params = list(lstm.parameters())
    ng_in = x if lengths is None else [x[b, :L] for b, L in enumerate(lengths)]
    t_run = torch_runner(lstm, x, lengths)

    def ng_fwd():
        return net(ng_in)

    def t_fwd():
        with torch.no_grad():
            return t_run()

    def ng_fb():
        return net(ng_in, spec)

    def t_fb():
        for p in params:
            p.grad = None
        t_run().sum().backward()  # padding is zero
        return lstm.weight_ih_l0.grad

    return ng_fwd, t_fwd, ng_fb, t_fb


def check(net, lstm, x, lengths, n):
    """Max abs differences of the outputs and of the InputGateInputWeights gradient."""
    ng_fwd, t_fwd, ng_fb, t_fb = calls(net, lstm, x, lengths)
    y = ng_fwd()
    if lengths is not None:
        pad = np.zeros_like(t_fwd().numpy())
        for b, L in enumerate(lengths):
            pad[b, :L] = y[b]
        y = pad
    dy = float(np.max(np.abs(y - t_fwd().numpy())))
    g_ng = np.asarray(ng_fb())
    g_t = t_fb()[:n].numpy()
    dg = float(np.max(np.abs(g_ng - g_t)))
    rel = dg / max(1e-30, float(np.max(np.abs(g_t))))
    return dy, dg, rel


def interleaved(a, b, repeats, warmup, block=3):
    """Median seconds of a() and b(), alternating which goes first at each repeat.

    Each repeat runs one library for an untimed call and then ``block`` timed calls. The
    untimed call absorbs the switch: the other library's BLAS/OpenMP worker threads keep
    spinning for a while after its last call and take the two cores from whichever code runs
    next. Without it each library's time would mostly measure the other's idle threads."""
    for _ in range(warmup):
        a()
        b()
    ta, tb = [], []
    for r in range(repeats):
        pair = ((a, ta), (b, tb)) if r % 2 == 0 else ((b, tb), (a, ta))
        for f, acc in pair:
            f()
            for _ in range(block):
                t0 = time.perf_counter()
                f()
                acc.append(time.perf_counter() - t0)
    return float(np.median(ta)), float(np.median(tb))


def repeats_for(fs, budget_s, lo, hi):
    """Repeats so that one pass over the callables fits the budget (one untimed call each)."""
    t0 = time.perf_counter()
    for f in fs:
        f()
    per = time.perf_counter() - t0
    return int(min(hi, max(lo, budget_s / max(per, 1e-6))))


# -- streaming: one step per call ----------------------------------------------------------


def streaming(k, n, steps, repeats):
    """µs per step: netgraph (NetStateObject, or explicit state ports) vs lstm(x, (h, c))."""
    net, lstm = make_pair(k, n)
    xs = np.random.default_rng(2).standard_normal((steps, k)).astype(np.float32)
    xts = [torch.from_numpy(xs[i : i + 1][None]) for i in range(steps)]

    if NetStateObject is not None:
        how = "NetStateObject(net); so(x_step)"

        def ng_run():
            so = NetStateObject(net)
            return np.concatenate([np.asarray(so(xs[i : i + 1])) for i in range(steps)])
    else:
        how = 'net({"Input": x_step, "State": s, "CellState": c}, ["Output", "State", "CellState"])'
        outs = ["Output", "State", "CellState"]

        def ng_run():
            s = np.zeros(n, np.float32)
            c = np.zeros(n, np.float32)
            ys = []
            for i in range(steps):
                r = net({"Input": xs[i : i + 1], "State": s, "CellState": c}, outs)
                s, c = r["State"], r["CellState"]
                ys.append(r["Output"])
            return np.concatenate(ys)

    def t_run():
        h = torch.zeros(1, 1, n)
        c = torch.zeros(1, 1, n)
        ys = []
        with torch.no_grad():
            for xt in xts:
                y, (h, c) = lstm(xt, (h, c))
                ys.append(y)
        return torch.cat(ys, 1)[0]

    whole = net(xs)
    d_ng = float(np.max(np.abs(ng_run() - whole)))
    d_t = float(np.max(np.abs(t_run().numpy() - whole)))
    a, b = interleaved(ng_run, t_run, repeats, 1)
    return how, a / steps * 1e6, b / steps * 1e6, d_ng, d_t


# -- first-call overhead in a fresh process ------------------------------------------------

FRESH = textwrap.dedent(
    """
    import json, sys, time
    t0 = time.perf_counter()
    import numpy as np
    sys.path.insert(0, {root!r})
    from netgraph import LongShortTermMemoryLayer, NetInitialize, NetPortGradient
    t1 = time.perf_counter()
    net = NetInitialize(LongShortTermMemoryLayer({n}, input=("Varying", {k})), random_seed=1)
    x = np.random.default_rng(0).standard_normal(({B}, {T}, {k})).astype(np.float32)
    g = NetPortGradient(["InputGateInputWeights"])
    ts = [time.perf_counter()]
    for f in (lambda: net(x), lambda: net(x), lambda: net(x, g), lambda: net(x, g)):
        f()
        ts.append(time.perf_counter())
    d = [b - a for a, b in zip(ts, ts[1:])]
    print(json.dumps({{"import": t1 - t0, "fwd1": d[0], "fwd2": d[1], "fb1": d[2], "fb2": d[3]}}))
    """
)


def first_call(B, T, k, n, runs):
    code = FRESH.format(root=ROOT, B=B, T=T, k=k, n=n)
    results = []
    for i in range(runs + 1):  # the first run only makes sure the numba cache is warm
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout
        if i:
            results.append(json.loads(out.strip().splitlines()[-1]))
    return {key: float(np.median([r[key] for r in results])) for key in results[0]}


# -- BLAS thread pools ---------------------------------------------------------------------


def blas_pools():
    """threadpoolctl's view of the loaded BLAS/OpenMP pools (None if it is not installed)."""
    try:
        import threadpoolctl
    except ImportError:
        return None, None
    ctl = threadpoolctl.ThreadpoolController()
    return threadpoolctl, ctl


def describe_pools():
    _, ctl = blas_pools()
    if ctl is None:
        return ["threadpoolctl not installed: pools unknown"]
    lines = []
    for lib in ctl.lib_controllers:
        where = (
            os.path.basename(os.path.dirname(lib.filepath)) + "/" + os.path.basename(lib.filepath)
        )
        lines.append(f"{lib.internal_api:8s} {lib.num_threads} threads  {where}")
    return lines


def blas_sweep(B, T, k, n, repeats):
    """netgraph fwd and fwd+bwd with numpy's and scipy's OpenBLAS pools at 1 or 2 threads."""
    _, ctl = blas_pools()
    if ctl is None:
        print("  threadpoolctl is not installed; skipping")
        return
    pools = {}
    for lib in ctl.lib_controllers:
        if lib.internal_api == "openblas":
            pools["numpy" if "numpy" in lib.filepath else "scipy"] = lib
    if set(pools) != {"numpy", "scipy"}:
        print(f"  one OpenBLAS only ({', '.join(pools)}); nothing to sweep")
        return
    net, _ = make_pair(k, n)
    x, _ = make_data(B, T, k)
    spec = NetPortGradient([GRAD_ARRAY])
    saved = {name: lib.num_threads for name, lib in pools.items()}
    print(f"  {B}x{T}x{k}x{n}, netgraph only, medians of {repeats}")
    print(f"  {'numpy':>6s} {'scipy':>6s} {'fwd ms':>9s} {'fwd+bwd ms':>11s}")
    try:
        for a, b in ((2, 2), (1, 2), (2, 1), (1, 1)):
            pools["numpy"].set_num_threads(a)
            pools["scipy"].set_num_threads(b)
            f, fb = interleaved(lambda: net(x), lambda: net(x, spec), repeats, 1)
            print(f"  {a:6d} {b:6d} {f * 1e3:9.2f} {fb * 1e3:11.2f}")
    finally:
        for name, lib in pools.items():
            lib.set_num_threads(saved[name])


# -- main ----------------------------------------------------------------------------------


def parse_sizes(text):
    out = []
    for item in text.split(","):
        parts = item.lower().replace("×", "x").split("x")
        if len(parts) != 4:
            raise argparse.ArgumentTypeError(f"size {item!r} is not BxTxKxN")
        out.append(tuple(int(p) for p in parts))
    return out


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="fewer repeats (about a minute)")
    p.add_argument(
        "--sizes",
        type=parse_sizes,
        default=SIZES,
        help="comma-separated BxTxKxN (batch, steps, inputs, units); default: "
        + ",".join("x".join(map(str, s)) for s in SIZES),
    )
    p.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default 2)")
    p.add_argument("--no-ragged", action="store_true", help="skip the ragged-batch rows")
    p.add_argument("--no-streaming", action="store_true", help="skip one-step-per-call timing")
    p.add_argument("--no-first-call", action="store_true", help="skip the fresh-process timing")
    p.add_argument(
        "--blas-sweep",
        action="store_true",
        help="also time netgraph with numpy's and scipy's OpenBLAS pools at 1/2 threads",
    )
    args = p.parse_args(argv)
    return args


def print_header(quick):
    print(
        f"python {sys.version.split()[0]}, numpy {np.__version__}, torch {torch.__version__}, "
        f"netgraph {getattr(netgraph, '__version__', '?')}, cores {os.cpu_count()}"
    )
    print(
        f"torch: num_threads {torch.get_num_threads()}, interop {torch.get_num_interop_threads()}, "
        f"mkldnn {torch.backends.mkldnn.is_available() and torch.backends.mkldnn.enabled}"
    )
    env = {
        v: os.environ.get(v)
        for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")
    }
    print("env: " + ", ".join(f"{k}={v or 'unset'}" for k, v in env.items()))
    print(f"timing: medians over interleaved repeats ({'quick' if quick else 'full'})")


def print_machine(sizes, gates):
    for line in machine.describe(sizes, gates):
        print(line)


def measure(args, variants, budget, lo, hi):
    """Check, then time, each size: rows of (label, times…)."""
    rows = []
    for B, T, k, n in args.sizes:
        net, lstm = make_pair(k, n)
        for ragged in variants:
            x, lengths = make_data(B, T, k, ragged=ragged)
            dy, dg, rel = check(net, lstm, x, lengths, n)
            label = f"{B}x{T}x{k}x{n}" + (" ragged" if ragged else "")
            if not dy < FWD_TOL or not rel < 1e-3:
                sys.exit(
                    f"{label}: netgraph and torch disagree (output max |diff| {dy:.2e}, "
                    f"{GRAD_ARRAY} gradient max |diff| {dg:.2e}, relative {rel:.2e}); not timing."
                )
            ng_fwd, t_fwd, ng_fb, t_fb = calls(net, lstm, x, lengths)
            r = repeats_for([ng_fwd, t_fwd, ng_fb, t_fb], budget / 4, lo, hi)
            fa, fb = interleaved(ng_fwd, t_fwd, r, 2)
            ba, bb = interleaved(ng_fb, t_fb, r, 2)
            rows.append((label, fa, fb, ba, bb, r, dy, rel))
            print(
                f"  checked {label}: output |diff| {dy:.1e}, gradient rel diff {rel:.1e}; "
                f"{r} repeats",
                flush=True,
            )
    return rows


def print_table(rows, ragged):
    print("BLAS/OpenMP pools loaded (threadpoolctl):")
    for line in describe_pools():
        print("  " + line)

    print()
    head = (
        f"{'B x T x k x n':22s} {'ng fwd ms':>10s} {'torch fwd':>10s} {'torch/ng':>9s}"
        f" {'ng f+b ms':>10s} {'torch f+b':>10s} {'torch/ng':>9s}"
    )
    print(head)
    print("-" * len(head))
    for label, fa, fb, ba, bb, *_ in rows:
        print(
            f"{label:22s} {fa * 1e3:10.2f} {fb * 1e3:10.2f} {fb / fa:9.2f}"
            f" {ba * 1e3:10.2f} {bb * 1e3:10.2f} {bb / ba:9.2f}"
        )
    print(
        f"f+b: netgraph net(x, NetPortGradient([{GRAD_ARRAY!r}])) (all weight and input "
        "gradients of sum(output)); torch out.sum().backward() (parameter gradients)."
    )
    if ragged:
        print("ragged: lengths in [T/2, T]; netgraph takes a list, torch pack/pad_packed_sequence.")


def print_streaming(args):
    print()
    print("Streaming, batch 1, one step per call (µs per step)")
    steps = 50 if args.quick else 100
    reps = 5 if args.quick else 11
    print(f"{'k x n':12s} {'netgraph':>10s} {'torch':>10s} {'torch/ng':>9s}")
    how = None
    for _, _, k, n in args.sizes:
        how, a, b, d_ng, d_t = streaming(k, n, steps, reps)
        if max(d_ng, d_t) >= FWD_TOL:
            print(
                f"  warning {k}x{n}: step-by-step differs from the whole sequence "
                f"(netgraph {d_ng:.1e}, torch {d_t:.1e})"
            )
        print(f"{f'{k}x{n}':12s} {a:10.1f} {b:10.1f} {b / a:9.3f}")
    print(
        f"netgraph: {how}"
        + (
            ""
            if NetStateObject is not None
            else "  (NetStateObject not available: explicit state ports)"
        )
    )
    print(
        f"torch: the module on (x_step, its state) under no_grad; {steps} steps per repeat, {reps} repeats"
    )


def print_first_call(args):
    print()
    B, T, k, n = args.sizes[0]
    runs = 2 if args.quick else 3
    r = first_call(B, T, k, n, runs)
    print(f"First call in a fresh process (warm numba cache; {B}x{T}x{k}x{n}; median of {runs})")
    print(f"  import netgraph         {r['import']:7.3f} s")
    print(
        f"  1st net(x)              {r['fwd1']:7.3f} s   2nd {r['fwd2']:.3f} s   "
        f"overhead {r['fwd1'] - r['fwd2']:.3f} s"
    )
    print(
        f"  1st net(x, gradient)    {r['fb1']:7.3f} s   2nd {r['fb2']:.3f} s   "
        f"overhead {r['fb1'] - r['fb2']:.3f} s"
    )
    ok = r["fwd1"] - r["fwd2"] < 0.5
    print(f"  target: first-call overhead < 0.5 s: {'met' if ok else 'NOT met'}")


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    budget = 1.5 if args.quick else 6.0  # seconds of timed calls per row
    lo, hi = (3, 5) if args.quick else (5, 21)  # repeats of 1 untimed + 3 timed calls
    print("netgraph LSTM vs torch.nn.LSTM (CPU), float32")
    print_header(args.quick)
    print_machine(args.sizes, 4)
    variants = [False] if args.no_ragged else [False, True]
    rows = measure(args, variants, budget, lo, hi)
    print_table(rows, len(variants) > 1)
    if not args.no_streaming:
        print_streaming(args)
    if not args.no_first_call:
        print_first_call(args)
    if args.blas_sweep:
        print()
        print("netgraph with numpy's and scipy's OpenBLAS pools at 1 or 2 threads (threadpoolctl)")
        for B, T, k, n in args.sizes:
            blas_sweep(B, T, k, n, 5 if args.quick else 9)


if __name__ == "__main__":
    main()
