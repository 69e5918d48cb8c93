"""Arrays that training sets without gradients: a BatchNormalizationLayer's moving statistics
(after every training batch) and an InputNormalizationLayer's statistics (fitted from the
training data before the first round). Each is checked against an independent numpy
computation over the batches NetTrain actually ran, and through checkpoints, .ngnet files,
divergence, resuming and frozen layers."""

from __future__ import annotations

import numpy as np
import pytest

from netgraph import (
    BatchNormalizationLayer,
    Export,
    Import,
    InputNormalizationLayer,
    LinearLayer,
    NetChain,
    NetTrain,
    NetTrainDivergenceWarning,
    SequenceLastLayer,
)
from netgraph.training import optimizers

KW = {"training_progress_reporting": None, "working_precision": "Real64", "random_seed": 2}
M = 0.8  # the momentum of the tests' layers


def vectors(rng, n=8):
    X = rng.normal(size=(n, 2)) * [2.0, 0.5] + [3.0, -1.0]
    return X, X @ np.array([[1.0], [-2.0]])


def bn_net(**kw):
    return NetChain(
        {"bn": BatchNormalizationLayer(momentum=M, **kw), "lin": LinearLayer(1)}, input=2
    )


def moving(batches, c, m=M):
    """The moving mean and biased variance after the batches, in order (each a (n, c) array
    of the values each channel saw), from MovingMean 0 and MovingVariance 1."""
    mean, var = np.zeros(c), np.ones(c)
    for b in batches:
        mean = m * mean + (1 - m) * b.mean(0)
        var = m * var + (1 - m) * b.var(0)
    return mean, var


def stats(net):
    a = net.layers["bn"].arrays
    return np.array(a["MovingMean"]), np.array(a["MovingVariance"])


def test_moving_statistics_follow_every_training_batch(rng):
    """One batch a round, the batch norm first: its input is the data, so after r rounds the
    statistics are r updates with the whole data's mean and variance; the learned arrays
    move by gradients."""
    X, Y = vectors(rng)
    r = NetTrain(bn_net(), (X, Y), "All", batch_size=8, max_training_rounds=3, **KW)
    net = r["TrainedNet"]
    want = moving([X] * 3, 2)
    np.testing.assert_allclose(stats(net)[0], want[0], rtol=1e-12)
    np.testing.assert_allclose(stats(net)[1], want[1], rtol=1e-12)
    assert not np.allclose(net.layers["bn"].arrays["Scaling"], 1.0)  # trained by gradients
    # evaluation normalizes with the moving statistics
    a = net.layers["bn"].arrays
    xhat = (X - a["MovingMean"]) / np.sqrt(a["MovingVariance"] + 1e-3) * a["Scaling"] + a["Biases"]
    np.testing.assert_allclose(net.layers["bn"](X, working_precision="Real64"), xhat, rtol=1e-12)


def test_moving_statistics_over_the_batches_seen_in_order(rng):
    """A generator gives the batches, so their order is known: the statistics are the moving
    averages over exactly those batches, on the real steps of ragged sequences."""
    pool = [
        [rng.normal(size=(int(n), 2)) * [1.0, 3.0] + [0.5, 2.0] for n in rng.integers(1, 6, 4)]
        for _ in range(5)
    ]
    seen = []

    def gen(batch_size, round):
        xs = pool[len(seen) % len(pool)]
        seen.append(xs)
        return {"Input": xs, "Target": [np.array([x.sum()]) for x in xs]}

    net = NetChain(
        {
            "bn": BatchNormalizationLayer(momentum=M),
            "last": SequenceLastLayer(),
            "lin": LinearLayer(1),
        },
        input=("Varying", 2),
    )
    trained = NetTrain(net, gen, batch_size=4, round_length=8, max_training_rounds=3, **KW)
    batches = [np.concatenate(xs) for xs in seen[1:]]  # the first draw only sets the shapes
    assert len(batches) == 6
    want = moving(batches, 2)
    np.testing.assert_allclose(stats(trained)[0], want[0], rtol=1e-12)
    np.testing.assert_allclose(stats(trained)[1], want[1], rtol=1e-12)


def test_saved_in_ngnet_files_and_checkpoints(rng, tmp_path):
    X, Y = vectors(rng)
    kw = dict(batch_size=8, **KW)
    net = NetTrain(
        bn_net(),
        (X, Y),
        max_training_rounds=2,
        training_progress_checkpointing=("Directory", tmp_path / "ck"),
        **kw,
    )
    one = Import(tmp_path / "ck" / "checkpoint-round0001.ngnet")
    np.testing.assert_allclose(stats(one)[0], moving([X], 2)[0], rtol=1e-12)
    two = Import(tmp_path / "ck" / "checkpoint-round0002.ngnet")
    assert two == net
    back = Import(Export(str(tmp_path / "net.ngnet"), net))
    assert np.array_equal(stats(back)[0], stats(net)[0])
    assert np.array_equal(stats(back)[1], stats(net)[1])
    # resuming from round 1 continues the statistics as an unbroken run does
    whole = NetTrain(bn_net(), (X, Y), max_training_rounds=3, **kw)
    resumed = NetTrain(
        bn_net(),
        (X, Y),
        max_training_rounds=3,
        resume_from=tmp_path / "ck" / "checkpoint-round0001.ngnet",
        **kw,
    )
    assert np.array_equal(stats(resumed)[0], stats(whole)[0])
    assert np.array_equal(stats(resumed)[1], stats(whole)[1])


def test_divergence_returns_the_statistics_of_the_last_whole_round(rng, monkeypatch):
    """The update of round 2 overflows: the net returned is round 1's, its moving statistics
    too (one update), not those of the diverged batch."""
    X, Y = vectors(rng)
    real, calls = optimizers.Optimizer._adam, []

    def overflow(self, w, gk, eta, st, out):
        calls.append(1)
        real(self, w, gk, eta, st, out)
        if len(calls) > 4:  # four trained arrays a batch, one batch a round: round 2
            out[...] = np.inf

    monkeypatch.setattr(optimizers.Optimizer, "_adam", overflow)
    with pytest.warns(NetTrainDivergenceWarning, match="the net after round 1"):
        r = NetTrain(bn_net(), (X, Y), "All", batch_size=8, max_training_rounds=4, **KW)
    assert r["ReasonTrainingStopped"] == "Divergence"
    want = moving([X], 2)
    np.testing.assert_allclose(stats(r["FinalNet"])[0], want[0], rtol=1e-12)
    np.testing.assert_allclose(stats(r["FinalNet"])[1], want[1], rtol=1e-12)


def test_ctrl_c_within_an_update_leaves_the_statistics_of_the_batch_before(rng, monkeypatch):
    """An interrupt while the optimizer writes round 2's update: the net returned is round
    1's whole, its moving statistics too (one update, not two)."""
    X, Y = vectors(rng)
    real, calls = optimizers.Optimizer._adam, []

    def interrupted(self, w, gk, eta, st, out):
        calls.append(1)
        real(self, w, gk, eta, st, out)
        if len(calls) > 4:
            raise KeyboardInterrupt

    monkeypatch.setattr(optimizers.Optimizer, "_adam", interrupted)
    r = NetTrain(bn_net(), (X, Y), "All", batch_size=8, max_training_rounds=4, **KW)
    assert r["ReasonTrainingStopped"] == "ManualStop"
    want = moving([X], 2)
    np.testing.assert_allclose(stats(r["FinalNet"])[0], want[0], rtol=1e-12)
    np.testing.assert_allclose(stats(r["FinalNet"])[1], want[1], rtol=1e-12)


def test_a_frozen_layer_keeps_its_statistics(rng):
    """Learning-rate multiplier 0 freezes the layer's learned arrays and its moving
    statistics (as in Wolfram); momentum 1 freezes the statistics alone."""
    X, Y = vectors(rng)
    kw = dict(batch_size=4, max_training_rounds=2, **KW)
    frozen = NetTrain(bn_net(), (X, Y), learning_rate_multipliers={"bn": 0}, **kw)
    a = frozen.layers["bn"].arrays
    assert np.array_equal(a["MovingMean"], [0, 0]) and np.array_equal(a["MovingVariance"], [1, 1])
    assert np.array_equal(a["Scaling"], [1, 1])
    still = NetTrain(
        NetChain({"bn": BatchNormalizationLayer(momentum=1), "lin": LinearLayer(1)}, input=2),
        (X, Y),
        **kw,
    )
    assert np.array_equal(still.layers["bn"].arrays["MovingMean"], [0, 0])
    assert not np.allclose(still.layers["bn"].arrays["Scaling"], 1.0)


def test_moving_statistics_are_not_given_to_the_optimizer(rng):
    """Neither a gradient nor L2 regularization touches them: with a huge L2 factor and a
    learning rate, the statistics are still the moving averages."""
    X, Y = vectors(rng)
    net = NetTrain(
        bn_net(),
        (X, Y),
        batch_size=8,
        max_training_rounds=2,
        method=("SGD", {"learning_rate": 0.01, "l2_regularization": 100.0}),
        **KW,
    )
    np.testing.assert_allclose(stats(net)[0], moving([X] * 2, 2)[0], rtol=1e-12)


# -- input normalization ------------------------------------------------------------------------


def ragged(rng, n=10, scale=(2.0, 0.1, 5.0), shift=(1.0, -3.0, 10.0)):
    xs = [rng.normal(size=(int(L), 3)) * scale + shift for L in rng.integers(1, 7, n)]
    return xs, [np.array([x[:, 0].mean()]) for x in xs]


def norm_net(method, **kw):
    return NetChain(
        {
            "norm": InputNormalizationLayer(method, **kw),
            "last": SequenceLastLayer(),
            "lin": LinearLayer(1),
        },
        input=("Varying", 3),
    )


@pytest.mark.parametrize(
    "method", ["zscore", "zerocenter", "rescale-zero-one", "rescale-symmetric"]
)
def test_input_statistics_are_fitted_over_the_real_steps(rng, method):
    """Fitted in batches of 3 (combined exactly) over every real step of the ragged training
    sequences: numpy's per-feature mean, population deviation, min and max."""
    xs, ys = ragged(rng)
    net = NetTrain(norm_net(method), (xs, ys), batch_size=3, max_training_rounds=1, **KW)
    steps = np.concatenate(xs)
    want = {
        "Mean": steps.mean(0),
        "StandardDeviation": steps.std(0),
        "Min": steps.min(0),
        "Max": steps.max(0),
    }
    a = net.layers["norm"].arrays
    assert set(a) == set(InputNormalizationLayer(method).arrays)
    for k, v in a.items():
        np.testing.assert_allclose(v, want[k], rtol=1e-12, err_msg=k)
    # evaluation normalizes with them
    y = net.layers["norm"](xs[0], working_precision="Real64")
    center, scale = {
        "zscore": (want["Mean"], 1 / want["StandardDeviation"]),
        "zerocenter": (want["Mean"], 1.0),
        "rescale-zero-one": (want["Min"], 1 / (want["Max"] - want["Min"])),
        "rescale-symmetric": (
            (want["Min"] + want["Max"]) / 2,
            2 / (want["Max"] - want["Min"]),
        ),
    }[method]
    np.testing.assert_allclose(y, (xs[0] - center) * scale, rtol=1e-10, atol=1e-12)
    if method.startswith("rescale"):
        lo = -1.0 if method == "rescale-symmetric" else 0.0
        out = net.layers["norm"](xs, working_precision="Real64")
        assert min(o.min() for o in out) == pytest.approx(lo)
        assert max(o.max() for o in out) == pytest.approx(1.0)


def test_fitted_on_the_training_set_only(rng):
    xs, ys = ragged(rng)
    far = [x * 100 + 50 for x in xs[:4]]
    net = NetTrain(
        norm_net("zscore"),
        (xs, ys),
        batch_size=4,
        max_training_rounds=1,
        validation_set=(far, ys[:4]),
        **KW,
    )
    steps = np.concatenate(xs)
    np.testing.assert_allclose(net.layers["norm"].arrays["Mean"], steps.mean(0), rtol=1e-12)


def test_reset_input_normalization_false_keeps_the_arrays(rng):
    xs, ys = ragged(rng)
    given = {"Mean": [1.0, 2.0, 3.0], "StandardDeviation": [4.0, 5.0, 6.0]}
    kw = dict(batch_size=4, max_training_rounds=1, **KW)
    kept = NetTrain(
        norm_net("zscore", arrays=given), (xs, ys), reset_input_normalization=False, **kw
    )
    for k, v in given.items():
        np.testing.assert_array_equal(kept.layers["norm"].arrays[k], v)
    refit = NetTrain(norm_net("zscore", arrays=given), (xs, ys), **kw)
    assert not np.allclose(refit.layers["norm"].arrays["Mean"], given["Mean"])
    with pytest.raises(ValueError, match="reset_input_normalization must be True or False"):
        NetTrain(norm_net("zscore"), (xs, ys), reset_input_normalization="no", **kw)


def test_a_constant_feature_becomes_zero(rng):
    """A zero deviation or range divides by 1 (documented): no NaN, the feature is 0."""
    xs = [np.concatenate([rng.normal(size=(L, 2)), np.full((L, 1), 7.0)], 1) for L in (2, 3, 4)]
    ys = [np.array([1.0])] * 3
    for method in ("zscore", "rescale-zero-one", "rescale-symmetric"):
        net = NetTrain(norm_net(method), (xs, ys), batch_size=2, max_training_rounds=1, **KW)
        out = net.layers["norm"](xs, working_precision="Real64")
        assert all(np.array_equal(o[:, 2], np.zeros(len(o))) for o in out), method


def test_a_frozen_input_normalization_is_not_fitted(rng):
    xs, ys = ragged(rng)
    net = NetTrain(
        norm_net("zscore"),
        (xs, ys),
        batch_size=4,
        max_training_rounds=1,
        learning_rate_multipliers={"norm": 0},
        **KW,
    )
    assert np.array_equal(net.layers["norm"].arrays["Mean"], [0, 0, 0])
    assert np.array_equal(net.layers["norm"].arrays["StandardDeviation"], [1, 1, 1])
