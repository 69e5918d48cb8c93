"""Data-parallel NetTrain on MPI against one process, on this machine.

The model and data of benchmarks/train.py (LSTM 100 → last → linear → softmax, ADAM, batch
27, 2,700 ragged sequences of 12 features, lengths 7–29): trained by one process (threads
"auto", which runs this small net's kernels on one thread, and threads=2: its kernels split
between both cores) and by ``mpiexec -n N`` ranks (``target_device="MPI"``, each rank on its
share of the cores: one thread each on 2 cores). Prints examples/s of each (wall time of the NetTrain call,
after an untimed warm-up round in the same process), and for the ranks the seconds per
batch spent in the gradients' Allreduce, against the whole batch's.

    pip install -e ".[mpi]"                    # mpi4py and mpich
    python benchmarks/distributed.py           # 1 process, then 2 ranks
    python benchmarks/distributed.py --ranks 2 --rounds 3
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from sequence_task import BATCH, N_UNITS, make_data, make_net  # noqa: E402

from netgraph import KernelOptions, NetTrain  # noqa: E402
from netgraph.distributed import mpi as distributed  # noqa: E402
from netgraph.walk import flatten  # noqa: E402


def worker(args) -> None:
    """One process's run (a rank of mpiexec, or alone): warm-up, then the timed training;
    rank 0 prints its figures as JSON."""
    xs, ys = make_data(args.examples)
    device = "MPI" if args.mpi else "CPU"
    spent = {"allreduce": 0.0, "calls": 0}
    original = distributed.Team.sum

    def timed(self, buf):
        t0 = time.perf_counter()
        out = original(self, buf)
        spent["allreduce"] += time.perf_counter() - t0
        spent["calls"] += 1
        return out

    distributed.Team.sum = timed
    kw = dict(
        batch_size=BATCH,
        method=("ADAM", {"learning_rate": 1e-3}),
        random_seed=0,
        training_progress_reporting=None,
        target_device=device,
    )
    threads = "auto" if args.threads is None else args.threads
    with KernelOptions(threads=threads):
        NetTrain(make_net(), (xs, ys), max_training_rounds=1, **kw)  # compiles, warms the caches
        spent.update(allreduce=0.0, calls=0)
        t0 = time.perf_counter()
        r = NetTrain(make_net(), (xs, ys), "All", max_training_rounds=args.rounds, **kw)
        wall = time.perf_counter() - t0
    rank = 0
    if args.mpi:
        from mpi4py import MPI

        rank = MPI.COMM_WORLD.Get_rank()
    if rank == 0:
        batches = len(r["BatchLossList"])
        leaves = flatten(r["TrainedNet"]).leaves.values()
        grads = sum(np.size(a) for leaf in leaves for a in leaf.arrays.values() if a is not None)
        print(
            json.dumps(
                {
                    "examples_per_s": args.rounds * args.examples / wall,
                    "batch_s": wall / batches,
                    "allreduce_s": spent["allreduce"] / max(spent["calls"], 1),
                    "gradient_values": grads,
                    "loss": r["RoundLossList"][-1],
                }
            )
        )


def launch(args, ranks: int, threads=None) -> dict:
    script = [sys.executable, os.path.abspath(__file__), "--worker"]
    script += ["--examples", str(args.examples), "--rounds", str(args.rounds)]
    if threads is not None:
        script += ["--threads", str(threads)]
    if ranks:
        mpiexec = shutil.which(
            "mpiexec", path=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"]
        )
        if mpiexec is None:
            sys.exit("mpiexec not found: pip install -e '.[mpi]' (mpi4py and mpich)")
        script = [mpiexec, "-n", str(ranks), *script, "--mpi"]
    out = subprocess.run(script, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ranks", type=int, default=2)
    p.add_argument("--examples", type=int, default=2700)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--threads", type=int, default=None, help=argparse.SUPPRESS)
    p.add_argument("--mpi", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        worker(args)
        return
    cores = len(os.sched_getaffinity(0))
    print(
        f"data-parallel NetTrain: LSTM {N_UNITS} → last → linear → softmax, ADAM, batch {BATCH}, "
        f"{args.examples} sequences, {args.rounds} rounds; {cores} cores"
    )
    setups = {
        "1 process, threads auto": (0, None),
        f"1 process, {cores} threads": (0, cores),
        f"{args.ranks} ranks": (args.ranks, None),
    }
    runs = {name: [] for name in setups}
    for rep in range(args.repeats):  # rotate the order, so that drift hits all alike
        names = list(setups)[rep % 3 :] + list(setups)[: rep % 3]
        for name in names:
            runs[name].append(launch(args, *setups[name]))
    print(f"{'':24s} {'examples/s':>11s} {'s/batch':>9s} {'allreduce s':>12s} {'share':>6s}")
    for name, rs in runs.items():
        ex = float(np.median([r["examples_per_s"] for r in rs]))
        batch = float(np.median([r["batch_s"] for r in rs]))
        ar = float(np.median([r["allreduce_s"] for r in rs]))
        print(f"{name:24s} {ex:11,.0f} {batch:9.5f} {ar:12.6f} {ar / batch:6.1%}")
    grads = runs[f"{args.ranks} ranks"][0]["gradient_values"]
    print(f"gradient values per batch: {grads:,} ({4 * grads / 1024:.0f} KiB in float32)")


if __name__ == "__main__":
    main()
