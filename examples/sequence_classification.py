"""Sequence-to-label classification of generated multivariate sequences of varying length.

Each sequence has 3 channels and 20 to 60 steps. Its class (one of 4) sets the frequency of a
sine wave in the first channel and the sign of a slow drift in the second; the third channel
is noise, and every channel has noise added. An LSTM reads the sequence and its last state is
classified (MATLAB's "OutputMode last"). The metric is the accuracy on a separate test set.

    python examples/sequence_classification.py
"""

from __future__ import annotations

import numpy as np

from netgraph import (
    DropoutLayer,
    LinearLayer,
    LongShortTermMemoryLayer,
    NetChain,
    NetDecoder,
    NetTrain,
    Scaled,
    SequenceLastLayer,
    SoftmaxLayer,
)

CLASSES = ["slow rising", "slow falling", "fast rising", "fast falling"]


def make(rng, n: int):
    xs, ys = [], []
    for _ in range(n):
        c = int(rng.integers(4))
        T = int(rng.integers(20, 61))
        t = np.arange(T)
        freq = 0.15 if c < 2 else 0.45
        drift = (1 if c % 2 == 0 else -1) * t / T
        phase = rng.uniform(0, 2 * np.pi)
        x = np.stack([np.sin(freq * t + phase), drift, np.zeros(T)], axis=1)
        xs.append((x + 0.3 * rng.normal(size=x.shape)).astype(np.float32))
        ys.append(CLASSES[c])
    return xs, ys


def main(
    n_train: int = 1200, n_test: int = 400, rounds: int = 20, seed: int = 0, report="Print"
) -> float:
    rng = np.random.default_rng(seed)
    train, test = make(rng, n_train), make(rng, n_test)
    net = NetChain(
        [
            LongShortTermMemoryLayer(
                32, dropout={"VariationalInput": 0.1, "VariationalState": 0.1}
            ),
            SequenceLastLayer(),
            DropoutLayer(0.1),
            LinearLayer(len(CLASSES)),
            SoftmaxLayer(),
        ],
        input=("Varying", 3),
        output=NetDecoder("Class", CLASSES),
    )
    result = NetTrain(
        net,
        train,
        "All",
        batch_size=32,
        max_training_rounds=rounds,
        validation_set=Scaled(0.1),
        method=("ADAM", {"learning_rate": 5e-3}),
        random_seed=seed,
        training_progress_reporting=report,
    )
    trained = result["TrainedNet"]
    accuracy = float(np.mean([p == t for p, t in zip(trained(test[0]), test[1])]))
    print(
        f"sequence classification: test accuracy {accuracy:.1%} on {n_test} sequences "
        f"(best validation round {result['BestValidationRound']} of {result['TotalRounds']}, "
        f"{result['MeanExamplesPerSecond']:.0f} examples/s)"
    )
    return accuracy


if __name__ == "__main__":
    main()
