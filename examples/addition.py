"""Wolfram's addition task: read "a+b" for two-digit numbers a, b and output the sum.

Stacked LSTMs read the characters of the string through a Characters encoder (one-hot
vectors over "0123456789+"); the last state goes through a linear layer to one number.
The net is trained by regression on part of the 8100 pairs and the metric is the mean
absolute error of the sum on pairs it never saw.

    python examples/addition.py
"""

from __future__ import annotations

import numpy as np

from netgraph import (
    LinearLayer,
    LongShortTermMemoryLayer,
    NetChain,
    NetEncoder,
    NetTrain,
    SequenceLastLayer,
)

SCALE = 100.0  # targets are sums / 100: inputs and targets of order 1 train best


def pairs(rng, n_train: int, n_test: int):
    allp = [(a, b) for a in range(10, 100) for b in range(10, 100)]
    idx = rng.permutation(len(allp))
    pick = [allp[i] for i in idx[: n_train + n_test]]
    strings = [f"{a}+{b}" for a, b in pick]
    sums = np.array([a + b for a, b in pick], np.float64)
    return (strings[:n_train], sums[:n_train]), (strings[n_train:], sums[n_train:])


def main(
    *,
    n_train: int = 4000,
    n_test: int = 1000,
    rounds: int = 40,
    units: int = 64,
    seed: int = 0,
    report="Print",
) -> float:
    rng = np.random.default_rng(seed)
    (xs, ys), (xt, yt) = pairs(rng, n_train, n_test)
    net = NetChain(
        [
            LongShortTermMemoryLayer(units),
            LongShortTermMemoryLayer(units),
            SequenceLastLayer(),
            LinearLayer(()),
        ],
        input=NetEncoder("Characters", "0123456789+", "UnitVector"),
    )
    trained = NetTrain(
        net,
        (xs, ys / SCALE),
        batch_size=32,
        max_training_rounds=rounds,
        method=("ADAM", {"learning_rate": 3e-3}),
        random_seed=seed,
        training_progress_reporting=report,
    )
    pred = np.asarray(trained(xt)) * SCALE
    mae = float(np.mean(np.abs(pred - yt)))
    print(f"addition: mean absolute error of the sum on {len(xt)} held-out pairs: {mae:.2f}")
    for s in xt[:3]:
        print(f"  {s} → {float(trained(s)) * SCALE:.1f}")
    return mae


if __name__ == "__main__":
    main()
