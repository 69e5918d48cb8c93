"""GatedRecurrentLayer's reset gate modes and activations against its default, on this machine,
in one run: forward, and forward with the gradient of every array, for each variant as a ratio
of its time to the default's ("after-multiplication", LogisticSigmoid, Tanh) measured in the
same run (above 1: slower than the default).

    python benchmarks/gru_modes.py                      # 32 sequences of 50 steps, k 32, n 128
    python benchmarks/gru_modes.py --size 16x100x64x256 --repeats 15

Timings are medians over interleaved repeats (every variant once per round), after one
warm-up call each, in float32.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from netgraph import GatedRecurrentLayer, NetInitialize, NetPortGradient  # noqa: E402

VARIANTS = {
    "default": {},
    "recurrent-bias-after-multiplication": {
        "reset_gate_mode": "recurrent-bias-after-multiplication"
    },
    "before-multiplication": {"reset_gate_mode": "before-multiplication"},
    "HardSigmoid, SoftSign": {"gate_activation": "HardSigmoid", "state_activation": "SoftSign"},
    "before-multiplication, HardSigmoid, SoftSign": {
        "reset_gate_mode": "before-multiplication",
        "gate_activation": "HardSigmoid",
        "state_activation": "SoftSign",
    },
}


def make(options: dict, k: int, n: int):
    net = NetInitialize(GatedRecurrentLayer(n, input=("Varying", k), **options), random_seed=0)
    grads = [NetPortGradient([a]) for a in net.arrays]
    return lambda x: net(x), lambda x: net(x, grads)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--size", default="32x50x32x128", help="BxTxKxN (default 32x50x32x128)")
    p.add_argument("--repeats", type=int, default=9)
    args = p.parse_args(argv)
    B, T, k, n = map(int, args.size.split("x"))
    x = np.random.default_rng(0).normal(size=(B, T, k)).astype(np.float32)
    calls = {name: make(o, k, n) for name, o in VARIANTS.items()}
    times = {(name, what): [] for name in calls for what in ("forward", "gradient")}
    for fwd, grad in calls.values():  # warm-up: compile every kernel first
        fwd(x), grad(x)
    for _ in range(args.repeats):
        for name, (fwd, grad) in calls.items():
            for what, f in (("forward", fwd), ("gradient", grad)):
                t = time.perf_counter()
                f(x)
                times[name, what].append(time.perf_counter() - t)
    base = {w: statistics.median(times["default", w]) for w in ("forward", "gradient")}
    print(f"B={B} T={T} k={k} n={n}, float32, median of {args.repeats}")
    print(f"{'variant':48s} {'forward':>16s} {'with gradients':>20s}")
    for name in calls:
        cells = []
        for w in ("forward", "gradient"):
            m = statistics.median(times[name, w])
            cells.append(f"{m * 1e3:7.2f} ms ×{m / base[w]:4.2f}")
        print(f"{name:48s} {cells[0]:>16s} {cells[1]:>20s}")


if __name__ == "__main__":
    main()
