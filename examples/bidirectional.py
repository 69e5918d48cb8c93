"""Sequence-to-sequence labelling that needs both directions: a BiLSTM against an LSTM.

Each sequence has 10 to 30 steps of two channels: noise, and a marker channel that is 1 at
a few random steps and 0 elsewhere. Each step's label says whether a marker comes *later*
in the sequence — the future, which a forward LSTM cannot see at that step. A
NetBidirectionalOperator (MATLAB's bilstmLayer, PyTorch's ``bidirectional=True``) reads
each sequence both ways, within its own length, and labels every step; the metric is the
per-step accuracy on held-out sequences, for the BiLSTM and for an LSTM of the same size.

    python examples/bidirectional.py
"""

from __future__ import annotations

import numpy as np

from netgraph import (
    LinearLayer,
    LongShortTermMemoryLayer,
    NetBidirectionalOperator,
    NetChain,
    NetMapOperator,
    NetTrain,
    SoftmaxLayer,
)


def make(rng, n: int):
    xs, ys = [], []
    for _ in range(n):
        T = int(rng.integers(10, 31))
        marker = np.zeros(T)
        marker[rng.choice(T, size=int(rng.integers(0, 3)), replace=False)] = 1.0
        later = np.concatenate([np.cumsum(marker[::-1])[::-1][1:], [0.0]]) > 0
        xs.append(np.stack([rng.normal(size=T), marker], axis=1).astype(np.float32))
        ys.append(later.astype(np.int64))
    return xs, ys


def tagger(recurrent) -> NetChain:
    """A recurrent layer, then a linear map at every step (NetMapOperator) and a softmax
    over each step's two scores."""
    return NetChain(
        [recurrent, NetMapOperator(LinearLayer(2)), SoftmaxLayer()], input=("Varying", 2)
    )


def accuracy(net, xs, ys) -> float:
    right = sum(int(np.sum(np.argmax(p, -1) == y)) for p, y in zip(net(xs), ys))
    return right / sum(len(y) for y in ys)


def main(
    n_train: int = 800,
    n_test: int = 200,
    *,
    rounds: int = 12,
    units: int = 16,
    seed: int = 0,
    report="Print",
) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    (xs, ys), (tx, ty) = make(rng, n_train), make(rng, n_test)
    scores = {}
    for name, layer in (
        ("BiLSTM", NetBidirectionalOperator(LongShortTermMemoryLayer(units))),
        ("LSTM", LongShortTermMemoryLayer(2 * units)),
    ):
        trained = NetTrain(
            tagger(layer),
            (xs, ys),
            batch_size=32,
            max_training_rounds=rounds,
            method=("ADAM", {"learning_rate": 1e-2}),
            random_seed=seed,
            training_progress_reporting=report,
        )
        scores[name] = accuracy(trained, tx, ty)
        print(f"{name:6s}: per-step test accuracy {scores[name]:.1%}")
    return scores["BiLSTM"], scores["LSTM"]


if __name__ == "__main__":
    main()
