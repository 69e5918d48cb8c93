"""Sequence-to-sequence regression and stateful forecasting with NetStateObject.

A noisy periodic series (two sines of periods 20 and 7, noise 0.1) is cut into windows; an
LSTM learns to predict, at every step, the next value (targets are the window shifted by one).
Then, as MATLAB's predictAndUpdateState does, a NetStateObject reads the observed history one
value per call and runs forward on its own predictions. Metrics: the RMSE of one-step
predictions on unseen data, and of a 40-step closed-loop forecast against the noise-free series.

    python examples/forecasting.py
"""

from __future__ import annotations

import numpy as np

from netgraph import LinearLayer, LongShortTermMemoryLayer, NetChain, NetStateObject, NetTrain


def clean(t):
    return np.sin(2 * np.pi * t / 20) + 0.5 * np.sin(2 * np.pi * t / 7)


def main(
    *,
    n_train: int = 2000,
    window: int = 50,
    rounds: int = 30,
    horizon: int = 40,
    seed: int = 0,
    report="Print",
) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    t = np.arange(n_train + 400)
    series = (clean(t) + 0.1 * rng.normal(size=t.shape)).astype(np.float32)
    train = series[:n_train]
    starts = range(0, n_train - window - 1, 5)
    xs = np.stack([train[s : s + window] for s in starts])[..., None]
    ys = np.stack([train[s + 1 : s + window + 1] for s in starts])[..., None]
    net = NetChain([LongShortTermMemoryLayer(32), LinearLayer(1)], input=("Varying", 1))
    trained = NetTrain(
        net,
        (xs, ys),
        batch_size=16,
        max_training_rounds=rounds,
        method=("ADAM", {"learning_rate": 5e-3}),
        random_seed=seed,
        training_progress_reporting=report,
    )
    # one-step predictions over unseen data, the whole stretch in one call
    test = series[n_train : n_train + 300]
    pred = trained(test[:-1, None])[:, 0]
    one_step = float(np.sqrt(np.mean((pred - test[1:]) ** 2)))
    # stateful: read the history one value per call, then feed back each prediction
    so = NetStateObject(trained)
    for v in test[:-1]:
        nxt = so(np.array([[v]], np.float32))
    y = float(nxt[0, 0])
    forecast = []
    for _ in range(horizon):
        forecast.append(y)
        y = float(so(np.array([[y]], np.float32))[0, 0])
    truth = clean(np.arange(n_train + 299, n_train + 299 + horizon))
    closed = float(np.sqrt(np.mean((np.array(forecast) - truth) ** 2)))
    print(
        f"forecasting: one-step RMSE {one_step:.3f} (noise 0.1); {horizon}-step closed-loop RMSE {closed:.3f}"
    )
    return one_step, closed


if __name__ == "__main__":
    main()
