"""The training task of benchmarks/train.py and benchmarks/distributed.py, Japanese-Vowels
sized: ragged sequences of 12 features, lengths 7 to 29, 9 classes; an LSTM of 100 units →
last step → linear → softmax, trained with ADAM on batches of 27."""

from __future__ import annotations

import numpy as np

from netgraph import (
    LinearLayer,
    LongShortTermMemoryLayer,
    NetChain,
    NetInitialize,
    SequenceLastLayer,
    SoftmaxLayer,
)

K, N_UNITS, CLASSES, BATCH = 12, 100, 9, 27


def make_data(n, seed=0):
    """n float32 sequences (length, K) and their class labels."""
    rng = np.random.default_rng(seed)
    xs = [rng.standard_normal((int(rng.integers(7, 30)), K)).astype(np.float32) for _ in range(n)]
    ys = rng.integers(0, CLASSES, size=n)
    return xs, ys


def make_net():
    """The classifier, initialized (seed 0)."""
    chain = NetChain(
        [
            LongShortTermMemoryLayer(N_UNITS),
            SequenceLastLayer(),
            LinearLayer(CLASSES),
            SoftmaxLayer(),
        ],
        input=("Varying", K),
    )
    return NetInitialize(chain, random_seed=0)
