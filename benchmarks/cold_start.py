"""Cold start: how long the first calls take in a fresh process, with numba's on-disk cache
empty (a fresh install: every kernel compiles) and then filled (every later process).

Each repeat starts a new Python process with ``NUMBA_CACHE_DIR`` pointing at a new empty
folder (cold), then another process on the same folder (warm), and times in each: importing
netgraph, the first ``lstm(x)`` (a float32 LSTM on one sequence), the first gradient
``lstm(x, NetPortGradient("Input"))``, and a first float32 GRU evaluation. Wall and CPU
seconds (the process's CPU time, less disturbed by other work on a busy machine) are printed
as medians over the repeats.

    python benchmarks/cold_start.py              # 3 repeats, about a minute
    python benchmarks/cold_start.py --repeats 5
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CHILD = r"""
import json, time
def clock():
    return time.perf_counter(), time.process_time()
def since(t):
    w, c = clock()
    return [w - t[0], c - t[1]]
out = {}
t = clock()
import numpy as np
from netgraph import GatedRecurrentLayer, LongShortTermMemoryLayer, NetInitialize, NetPortGradient
out["import"] = since(t)
lstm = NetInitialize(LongShortTermMemoryLayer(3, input=("Varying", 2)), random_seed=0)
x = np.ones((5, 2))
t = clock(); lstm(x); out["first LSTM evaluation"] = since(t)
t = clock(); lstm(x, NetPortGradient("Input")); out["first LSTM gradient"] = since(t)
gru = NetInitialize(GatedRecurrentLayer(3, input=("Varying", 2)), random_seed=0)
t = clock(); gru(x); out["first GRU evaluation"] = since(t)
t = clock(); lstm(x); out["second LSTM evaluation"] = since(t)
print(json.dumps(out))
"""


def child(cache: str) -> dict:
    env = dict(os.environ, NUMBA_CACHE_DIR=cache, PYTHONPATH=ROOT)
    run = subprocess.run(
        [sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, check=True
    )
    return json.loads(run.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    runs = {"cold": [], "warm": []}
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory() as cache:
            runs["cold"].append(child(cache))
            runs["warm"].append(child(cache))
    phases = list(runs["cold"][0])
    print(f"median of {args.repeats} fresh processes, seconds (wall / CPU)")
    print(f"{'':26s} {'cold cache':>16s} {'warm cache':>16s}")
    for p in phases:
        cells = []
        for kind in ("cold", "warm"):
            wall = statistics.median(r[p][0] for r in runs[kind])
            cpu = statistics.median(r[p][1] for r in runs[kind])
            cells.append(f"{wall:7.2f} / {cpu:5.2f}")
        print(f"{p:26s} {cells[0]:>16s} {cells[1]:>16s}")


if __name__ == "__main__":
    main()
