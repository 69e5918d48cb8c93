"""Video classification: a convolutional frame net mapped over the frames, then an LSTM.

Each video is 6 to 12 frames of 3×S×S pixels (S = 24 by default): a bright square on a noisy
background moves steadily left, right, up or down, and the direction is the class. The net
is MATLAB's video classifier in netgraph's terms: a frame net — convolution, batch
normalization, ReLU (Wolfram's "Ramp"), max pooling, twice, then a flatten — applied to every
frame by NetMapOperator (MATLAB's sequenceFoldingLayer … sequenceUnfoldingLayer), an LSTM
over the frames' features, its last state, a linear layer and a softmax. Videos of different
lengths train in one batch; the batch normalization's statistics are taken over the real
frames only, and NetTrain keeps its moving statistics for evaluation. The metric is the
accuracy on held-out videos.

    python examples/video_classification.py
"""

from __future__ import annotations

import numpy as np

from netgraph import (
    BatchNormalizationLayer,
    ConvolutionLayer,
    ElementwiseLayer,
    FlattenLayer,
    LinearLayer,
    LongShortTermMemoryLayer,
    NetChain,
    NetDecoder,
    NetMapOperator,
    NetTrain,
    PoolingLayer,
    SequenceLastLayer,
    SoftmaxLayer,
)

DIRECTIONS = {"left": (0, -1), "right": (0, 1), "up": (-1, 0), "down": (1, 0)}


def make(rng, n: int, size: int):
    """n videos (frames, 3, size, size) and their directions."""
    videos, labels = [], []
    names = list(DIRECTIONS)
    side = max(3, size // 6)
    for _ in range(n):
        label = names[int(rng.integers(len(names)))]
        dy, dx = DIRECTIONS[label]
        T = int(rng.integers(6, 13))
        speed = (size - side) / T
        color = rng.uniform(0.5, 1.0, size=3)
        y0, x0 = rng.uniform(0, size - side, size=2)
        video = 0.2 * rng.normal(size=(T, 3, size, size))
        for t in range(T):  # start so that the whole path stays in the frame
            y = int(
                np.clip(
                    (y0 if dy == 0 else (0 if dy > 0 else size - side)) + dy * speed * t,
                    0,
                    size - side,
                )
            )
            x = int(
                np.clip(
                    (x0 if dx == 0 else (0 if dx > 0 else size - side)) + dx * speed * t,
                    0,
                    size - side,
                )
            )
            video[t, :, y : y + side, x : x + side] += color[:, None, None]
        videos.append(video.astype(np.float32))
        labels.append(label)
    return videos, labels


def frame_net(channels: int = 8) -> NetChain:
    """One frame (3, S, S) → a feature vector."""
    return NetChain(
        [
            ConvolutionLayer(channels, (3, 3), padding_size=1),
            BatchNormalizationLayer(),
            ElementwiseLayer("Ramp"),
            PoolingLayer((2, 2), 2),
            ConvolutionLayer(channels, (3, 3), padding_size=1),
            BatchNormalizationLayer(),
            ElementwiseLayer("Ramp"),
            PoolingLayer((2, 2), 2),
            FlattenLayer(),
        ]
    )


def main(
    n_train: int = 600,
    n_test: int = 200,
    *,
    size: int = 24,
    rounds: int = 10,
    seed: int = 0,
    report="Print",
) -> float:
    rng = np.random.default_rng(seed)
    train, test = make(rng, n_train, size), make(rng, n_test, size)
    net = NetChain(
        [
            NetMapOperator(frame_net()),
            LongShortTermMemoryLayer(32),
            SequenceLastLayer(),
            LinearLayer(len(DIRECTIONS)),
            SoftmaxLayer(),
        ],
        input=("Varying", 3, size, size),
        output=NetDecoder("Class", list(DIRECTIONS)),
    )
    result = NetTrain(
        net,
        train,
        "All",
        batch_size=16,
        max_training_rounds=rounds,
        method=("ADAM", {"learning_rate": 3e-3}),
        random_seed=seed,
        training_progress_reporting=report,
    )
    trained = result["TrainedNet"]
    accuracy = float(np.mean([p == t for p, t in zip(trained(test[0]), test[1])]))
    print(
        f"video classification: test accuracy {accuracy:.1%} on {n_test} videos "
        f"({result['MeanExamplesPerSecond']:.0f} videos/s in training)"
    )
    return accuracy


if __name__ == "__main__":
    main()
