"""Training speed: NetTrain against a plain PyTorch CPU training loop, on this machine, in one run.

The model (the issue's sequence classifier): LSTM with 100 units → last step → linear →
softmax over 9 classes; ADAM (learning rate 1e-3); batch 27; sequences of 12 features with
lengths 7 to 29. netgraph: ``NetTrain`` on a list of ragged sequences (it groups them by
length). PyTorch: ``nn.LSTM`` on packed sequences (``pack_padded_sequence``), the last state of
each sequence, ``nn.Linear``, ``CrossEntropyLoss``, ``torch.optim.Adam``.

Each repeat trains each library for ``--rounds`` rounds (one untimed warm-up repeat first),
alternating which goes first; the figure is examples per second (wall time of the whole
training call, set-up included), median over repeats. Ratio = netgraph / PyTorch examples/s:
above 1 means netgraph trains faster.

    pip install torch==2.13.0          # the CPU build
    python benchmarks/train.py         # about a minute
    python benchmarks/train.py --examples 2700 --rounds 3 --repeats 5
    python benchmarks/train.py --busy  # and again with a busy process on one core
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from sequence_task import BATCH, CLASSES, N_UNITS, K, make_data, make_net  # noqa: E402

from netgraph import NetTrain  # noqa: E402

try:
    import torch
except ImportError:  # pragma: no cover
    sys.exit("PyTorch is needed for this benchmark: pip install torch==2.13.0 (CPU build)")


def netgraph_run(net, xs, ys, rounds, seed):
    t0 = time.perf_counter()
    r = NetTrain(
        net,
        (xs, ys),
        "All",
        batch_size=BATCH,
        max_training_rounds=rounds,
        method=("ADAM", {"learning_rate": 1e-3}),
        random_seed=seed,
        training_progress_reporting=None,
    )
    return time.perf_counter() - t0, r["RoundLossList"][-1]


class TorchModel(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = torch.nn.LSTM(K, N_UNITS, batch_first=True)
        self.out = torch.nn.Linear(N_UNITS, CLASSES)

    def forward(self, packed):
        _, (h, _) = self.lstm(packed)
        return self.out(h[-1])  # logits; CrossEntropyLoss applies the log-softmax


def torch_run(xs, ys, rounds, seed):
    torch.manual_seed(seed)
    model = TorchModel()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_f = torch.nn.CrossEntropyLoss()
    rng = np.random.default_rng(seed)
    tx = [torch.from_numpy(x) for x in xs]
    ty = torch.as_tensor(ys, dtype=torch.int64)
    lens = torch.as_tensor([len(x) for x in xs], dtype=torch.int64)
    pad = torch.nn.utils.rnn.pad_sequence
    pack = torch.nn.utils.rnn.pack_padded_sequence
    t0 = time.perf_counter()
    for _ in range(rounds):
        perm = rng.permutation(len(xs))
        total = 0.0
        for i in range(0, len(xs), BATCH):
            idx = perm[i : i + BATCH]
            batch = pack(
                pad([tx[j] for j in idx], batch_first=True),
                lens[idx],
                batch_first=True,
                enforce_sorted=False,
            )
            opt.zero_grad()
            loss = loss_f(model(batch), ty[idx])
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
    return time.perf_counter() - t0, total / len(xs)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--examples", type=int, default=2700)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    p.add_argument(
        "--busy",
        action="store_true",
        help="also measure with another process keeping one core busy (started here)",
    )
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    xs, ys = make_data(args.examples)
    net = make_net()
    print(
        f"training speed: LSTM {N_UNITS} → last → linear → softmax ({CLASSES} classes), ADAM, batch {BATCH},"
    )
    print(
        f"  {args.examples} sequences of {K} features, lengths 7–29, {args.rounds} rounds per repeat, "
        f"{args.repeats} repeats; torch {torch.__version__}, {args.threads} threads, cores {os.cpu_count()}"
    )
    netgraph_run(net, xs[:270], ys[:270], 1, 0)  # warm-up: kernels, plans, torch's pools
    torch_run(xs[:270], ys[:270], 1, 0)
    rows = [("quiet", *compare(net, xs, ys, args))]
    if args.busy:
        # another process keeping one core busy, as a shared machine has
        spin = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        try:
            time.sleep(1.0)  # long enough for netgraph's idle-core measure to see it
            rows.append(("busy", *compare(net, xs, ys, args)))
        finally:
            spin.kill()
            spin.wait()
    print()
    print(
        f"{'':6s} {'netgraph ex/s':>14s} {'torch ex/s':>11s} {'ratio':>6s} {'loss ng':>8s} {'loss torch':>10s}"
    )
    for name, a, b, la, lb in rows:
        print(f"{name:6s} {a:14,.0f} {b:11,.0f} {a / b:6.2f} {la:8.4f} {lb:10.4f}")
    if args.busy:
        (_, qa, qb, *_), (_, ba, bb, *_) = rows
        print(f"busy / quiet: netgraph {ba / qa:.2f}, torch {bb / qb:.2f} (target: netgraph ≥ 0.5)")
    print("ratio = netgraph / torch examples/s (target ≥ 1.5)")
    print("(random labels: the loss only shows that both train the same model; ln 9 = 2.197)")


def compare(net, xs, ys, args):
    """Median examples/s of each library and median last-round losses, interleaved."""
    ng, th, ng_loss, th_loss = [], [], [], []
    for r in range(args.repeats):
        order = (0, 1) if r % 2 == 0 else (1, 0)
        for which in order:
            if which == 0:
                t, loss = netgraph_run(net, xs, ys, args.rounds, r)
                ng.append(args.examples * args.rounds / t)
                ng_loss.append(loss)
            else:
                t, loss = torch_run(xs, ys, args.rounds, r)
                th.append(args.examples * args.rounds / t)
                th_loss.append(loss)
    med = lambda v: float(np.median(v))  # noqa: E731
    return med(ng), med(th), med(ng_loss), med(th_loss)


if __name__ == "__main__":
    main()
