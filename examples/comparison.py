"""Wolfram's comparison task: is a string of x's and y's "Less", "Equal" or "Greater"?

Every string of x's and y's up to length 8 (510 strings) is labeled by comparing the counts
of x and y. An LSTM reads the characters through a Characters encoder and a Class decoder
names the answer. The metric is the accuracy on the whole set (the aim: 100 %).

    python examples/comparison.py
"""

from __future__ import annotations

import itertools

import numpy as np

from netgraph import (
    EmbeddingLayer,
    LinearLayer,
    LongShortTermMemoryLayer,
    NetChain,
    NetDecoder,
    NetEncoder,
    NetTrain,
    SequenceLastLayer,
    SoftmaxLayer,
)

LABELS = ["Less", "Equal", "Greater"]


def label(s: str) -> str:
    x, y = s.count("x"), s.count("y")
    return "Less" if x < y else "Greater" if x > y else "Equal"


def main(max_length: int = 8, rounds: int = 40, seed: int = 0, report="Print") -> float:
    strings = [
        "".join(p) for n in range(1, max_length + 1) for p in itertools.product("xy", repeat=n)
    ]
    labels = [label(s) for s in strings]
    net = NetChain(
        [
            EmbeddingLayer(4),
            LongShortTermMemoryLayer(16),
            SequenceLastLayer(),
            LinearLayer(3),
            SoftmaxLayer(),
        ],
        input=NetEncoder("Characters", "xy"),
        output=NetDecoder("Class", LABELS),
    )
    trained = NetTrain(
        net,
        (strings, labels),
        batch_size=32,
        max_training_rounds=rounds,
        method=("ADAM", {"learning_rate": 0.01}),
        random_seed=seed,
        training_progress_reporting=report,
    )
    accuracy = float(np.mean([p == t for p, t in zip(trained(strings), labels)]))
    print(f"comparison: accuracy on all {len(strings)} strings: {accuracy:.1%}")
    print("  'xxyxy' →", trained("xxyxy"), " 'yyx' →", trained("yyx"), " 'xy' →", trained("xy"))
    return accuracy


if __name__ == "__main__":
    main()
