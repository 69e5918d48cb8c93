"""NetTrain's updates against hand computations: ADAM, SGD, RMSProp, L2, clipping, multipliers."""

import numpy as np
import pytest

from netgraph import (
    LinearLayer,
    LongShortTermMemoryLayer,
    NetChain,
    NetInitialize,
    NetPortGradient,
    NetTrain,
    SequenceLastLayer,
)

W0 = np.array([[0.5, -1.0, 0.25], [1.5, 0.0, -0.5]])
B0 = np.array([0.1, -0.2])


def data(rng, n=6):
    X = rng.normal(size=(n, 3))
    Y = rng.normal(size=(n, 2))
    return X, Y


def linear():
    return LinearLayer(2, input=3, weights=W0, biases=B0)


def grads(W, b, X, Y):
    """Gradient of mean_i mean_j (W x_i + b − y_i)_j² (MeanSquaredLossLayer, batch mean)."""
    r = X @ W.T + b - Y  # d/dpred of the mean over 2 outputs is 2r/2
    return r.T @ X / len(X), r.mean(0)


def train(X, Y, method, rounds, **kw):
    """Full-batch training (one batch per round), float64."""
    return NetTrain(
        linear(),
        (X, Y),
        max_training_rounds=rounds,
        batch_size=len(X),
        method=method,
        training_progress_reporting=None,
        working_precision="Real64",
        random_seed=0,
        **kw,
    )


def arrays(net):
    return net.arrays["Weights"], net.arrays["Biases"]


def test_sgd_with_momentum(rng):
    X, Y = data(rng)
    lr, mu = 0.1, 0.9
    W, b = W0.copy(), B0.copy()
    uW, ub = np.zeros_like(W), np.zeros_like(b)
    for _ in range(3):
        gW, gb = grads(W, b, X, Y)
        uW, ub = mu * uW - lr * gW, mu * ub - lr * gb
        W, b = W + uW, b + ub
    got = arrays(train(X, Y, ("SGD", {"learning_rate": lr, "momentum": mu}), 3))
    np.testing.assert_allclose(got[0], W, rtol=1e-12)
    np.testing.assert_allclose(got[1], b, rtol=1e-12)


def test_adam(rng):
    X, Y = data(rng)
    lr, b1, b2, eps = 0.01, 0.8, 0.99, 1e-6
    P = [W0.copy(), B0.copy()]
    m = [np.zeros_like(p) for p in P]
    v = [np.zeros_like(p) for p in P]
    for t in range(1, 4):
        g = grads(*P, X, Y)
        for i in range(2):
            m[i] = b1 * m[i] + (1 - b1) * g[i]
            v[i] = b2 * v[i] + (1 - b2) * g[i] ** 2
            mh, vh = m[i] / (1 - b1**t), v[i] / (1 - b2**t)
            P[i] = P[i] - lr * mh / (np.sqrt(vh) + eps)
    method = ("ADAM", {"learning_rate": lr, "beta1": b1, "beta2": b2, "epsilon": eps})
    got = arrays(train(X, Y, method, 3))
    np.testing.assert_allclose(got[0], P[0], rtol=1e-12)
    np.testing.assert_allclose(got[1], P[1], rtol=1e-12)


def test_rmsprop_and_a_schedule(rng):
    X, Y = data(rng)
    lr, beta, eps = 0.01, 0.9, 1e-7
    P = [W0.copy(), B0.copy()]
    s = [np.zeros_like(p) for p in P]
    for batch in range(1, 4):
        eta = lr * (1.0 - (batch - 1) / 3)  # the schedule below: f(batch, total)
        g = grads(*P, X, Y)
        for i in range(2):
            s[i] = beta * s[i] + (1 - beta) * g[i] ** 2
            P[i] = P[i] - eta * g[i] / (np.sqrt(s[i]) + eps)
    sub = {
        "learning_rate": lr,
        "beta": beta,
        "epsilon": eps,
        "learning_rate_schedule": lambda batch, total: 1.0 - (batch - 1) / total,
    }
    got = arrays(train(X, Y, ("RMSProp", sub), 3))
    np.testing.assert_allclose(got[0], P[0], rtol=1e-12)
    np.testing.assert_allclose(got[1], P[1], rtol=1e-12)


def sgd(lr=1.0, **more):
    return ("SGD", {"learning_rate": lr, "momentum": 0.0, **more})


def test_l2_regularization_spares_biases(rng):
    X, Y = data(rng)
    lam = 0.3
    gW, gb = grads(W0, B0, X, Y)
    W, b = arrays(train(X, Y, sgd(0.5, l2_regularization=lam), 1))
    np.testing.assert_allclose(W, W0 - 0.5 * (gW + lam * W0), rtol=1e-12)
    np.testing.assert_allclose(b, B0 - 0.5 * gb, rtol=1e-12)
    # per array, naming the biases explicitly
    W, b = arrays(train(X, Y, sgd(0.5, l2_regularization={"Biases": lam}), 1))
    np.testing.assert_allclose(W, W0 - 0.5 * gW, rtol=1e-12)
    np.testing.assert_allclose(b, B0 - 0.5 * (gb + lam * B0), rtol=1e-12)


def test_gradient_clipping(rng):
    X, Y = data(rng)
    X, Y = 5 * X, 5 * Y  # large gradients, so every clip is active somewhere
    gW, gb = grads(W0, B0, X, Y)
    W, b = arrays(train(X, Y, sgd(gradient_clipping=0.5), 1))
    np.testing.assert_allclose(W, W0 - np.clip(gW, -0.5, 0.5), rtol=1e-12)
    np.testing.assert_allclose(b, B0 - np.clip(gb, -0.5, 0.5), rtol=1e-12)

    W, b = arrays(train(X, Y, sgd(gradient_clipping=("L2Norm", 1.0)), 1))
    assert np.linalg.norm(gW) > 1 and np.linalg.norm(gb) > 1
    np.testing.assert_allclose(W, W0 - gW / np.linalg.norm(gW), rtol=1e-12)
    np.testing.assert_allclose(b, B0 - gb / np.linalg.norm(gb), rtol=1e-12)

    W, b = arrays(train(X, Y, sgd(gradient_clipping=("GlobalL2Norm", 1.0)), 1))
    norm = np.sqrt(np.sum(gW**2) + np.sum(gb**2))
    np.testing.assert_allclose(W, W0 - gW / norm, rtol=1e-12)
    np.testing.assert_allclose(b, B0 - gb / norm, rtol=1e-12)


def test_learning_rate_multipliers_and_freezing(rng):
    X = rng.normal(size=(8, 3))
    Y = rng.normal(size=(8, 1))
    chain = NetChain([linear(), LinearLayer(1)], input=3)
    common = dict(
        max_training_rounds=3,
        batch_size=4,
        training_progress_reporting=None,
        random_seed=1,
        method=sgd(0.1),
    )
    frozen = NetTrain(chain, (X, Y), learning_rate_multipliers={"1": 0}, **common)
    np.testing.assert_array_equal(frozen.layers["1"].arrays["Weights"], W0.astype(np.float32))
    np.testing.assert_array_equal(frozen.layers["1"].arrays["Biases"], B0.astype(np.float32))
    moved = NetTrain(chain, (X, Y), **common)
    assert not np.array_equal(moved.layers["1"].arrays["Weights"], W0.astype(np.float32))
    start2 = NetInitialize(chain, random_seed=1).layers["2"].arrays["Weights"]
    assert not np.array_equal(frozen.layers["2"].arrays["Weights"], start2)  # "2" still trains
    # the most specific key wins: the whole chain frozen except one array
    only = NetTrain(
        chain,
        (X, Y),
        learning_rate_multipliers={("1",): 0, ("1", "Biases"): 1, ("2",): 0},
        **common,
    )
    np.testing.assert_array_equal(only.layers["1"].arrays["Weights"], W0.astype(np.float32))
    assert not np.array_equal(only.layers["1"].arrays["Biases"], B0.astype(np.float32))
    with pytest.raises(ValueError, match='names "3", which is no layer or array'):
        NetTrain(chain, (X, Y), learning_rate_multipliers={"3": 0}, **common)


def test_learning_rate_multipliers_scale_each_arrays_step(rng):
    X, Y = data(rng)
    lr = 0.1
    W, b = W0.copy(), B0.copy()
    for _ in range(2):
        gW, gb = grads(W, b, X, Y)
        W, b = W - lr * 3 * gW, b - lr * 0.5 * gb
    got = arrays(train(X, Y, sgd(lr), 2, learning_rate_multipliers={"Weights": 3, "Biases": 0.5}))
    np.testing.assert_allclose(got[0], W, rtol=1e-12)
    np.testing.assert_allclose(got[1], b, rtol=1e-12)


def test_a_recurrent_layers_own_multipliers_reach_netTrain(rng):
    """One full-batch SGD step moves each array by −η · (the layer's own factor) · (NetTrain's
    factor) · its gradient, the gradient taken from evaluation."""
    own = {"ForgetGateBiases": 3.0, "InputGateInputWeights": 0.5, "MemoryGateStateWeights": 0}
    chain = NetInitialize(
        NetChain(
            [LongShortTermMemoryLayer(3, learning_rate_multipliers=own), SequenceLastLayer()],
            input=("Varying", 2),
        ),
        random_seed=2,
    )
    X, Y = rng.normal(size=(5, 4, 2)), rng.normal(size=(5, 3))
    start = chain.layers["1"].arrays
    dy = 2 * (chain(X, working_precision="Real64") - Y) / (3 * len(X))  # mean squared loss
    specs = [NetPortGradient(["1", k]) for k in start]
    g = chain({"Input": X, NetPortGradient("Output"): dy}, specs, working_precision="Real64")
    lr = 0.1
    for outer, factor in ((None, 1.0), ({"1": 2.0}, 2.0)):
        net = NetTrain(
            chain,
            (X, Y),
            max_training_rounds=1,
            batch_size=len(X),
            method=sgd(lr),
            learning_rate_multipliers=outer,
            training_progress_reporting=None,
            working_precision="Real64",
            random_seed=0,
        )
        for k, spec in zip(start, specs):
            want = start[k] - lr * factor * own.get(k, 1.0) * g[spec]
            np.testing.assert_allclose(net.layers["1"].arrays[k], want, rtol=1e-10, err_msg=k)
        np.testing.assert_array_equal(
            net.layers["1"].arrays["MemoryGateStateWeights"], start["MemoryGateStateWeights"]
        )


def test_method_errors():
    X, Y = np.zeros((4, 3)), np.zeros((4, 2))
    with pytest.raises(ValueError, match=r"unknown method 'Adam' \(did you mean \"ADAM\"\?\)"):
        train(X, Y, "Adam", 1)
    with pytest.raises(ValueError, match=r'unknown suboption "beta_1".*did you mean "beta1"'):
        train(X, Y, ("ADAM", {"beta_1": 0.9}), 1)
    with pytest.raises(ValueError, match=r'"beta1" must be a number in \[0, 1\)'):
        train(X, Y, ("ADAM", {"beta1": 1.5}), 1)
    with pytest.raises(ValueError, match="gradient_clipping must be a positive number"):
        train(X, Y, sgd(gradient_clipping=("Norm", 1)), 1)
    with pytest.raises(ValueError, match="learning rate is given twice"):
        train(X, Y, ("ADAM", {"learning_rate": 0.1}), 1, learning_rate=0.2)
