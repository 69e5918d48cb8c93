"""The training loop keeps the last good arrays whole: an update is written into spare arrays
and swapped in only when it is complete and finite."""

from __future__ import annotations

import re

import numpy as np
import pytest

from netgraph import LinearLayer, NetTrain, NetTrainDivergenceWarning
from netgraph.training import optimizers


def _data(rng, n=16):
    x = rng.normal(size=(n, 3))
    return x, x @ np.array([[1.0], [-2.0], [0.5]]) + 0.3


def _train(data, **kw):
    net = LinearLayer(1, input=3)
    kw = {
        "batch_size": 16,
        "random_seed": 1,
        "training_progress_reporting": None,
        "working_precision": "Real64",
        **kw,
    }
    return NetTrain(net, data, "All", method=("ADAM", {"learning_rate": 0.1}), **kw)


def test_an_update_cut_off_midway_leaves_the_arrays_before_it(rng, monkeypatch):
    data = _data(rng)
    two = _train(data, max_training_rounds=2)["FinalNet"]  # one batch per round
    real, calls = optimizers.Optimizer._adam, []

    def interrupted(self, w, gk, eta, st, out):
        calls.append(1)
        real(self, w, gk, eta, st, out)  # the new values are written...
        if len(calls) > 2 * 2:  # ...then Ctrl-C lands in the third batch (two arrays each)
            raise KeyboardInterrupt

    monkeypatch.setattr(optimizers.Optimizer, "_adam", interrupted)
    r = _train(data, max_training_rounds=5)
    assert r["ReasonTrainingStopped"] == "ManualStop"
    assert r["TotalBatches"] == 2
    for k in ("Weights", "Biases"):
        np.testing.assert_array_equal(r["FinalNet"].arrays[k], two.arrays[k])


def test_a_non_finite_update_is_not_applied(rng, monkeypatch):
    data = _data(rng)
    two = _train(data, max_training_rounds=2)["FinalNet"]
    real, calls = optimizers.Optimizer._adam, []

    def overflow(self, w, gk, eta, st, out):
        calls.append(1)
        real(self, w, gk, eta, st, out)
        if len(calls) > 2 * 2:
            out[...] = np.inf  # the loss and gradient were finite; the new array is not

    monkeypatch.setattr(optimizers.Optimizer, "_adam", overflow)
    with pytest.warns(NetTrainDivergenceWarning, match="an array became NaN or infinite") as w:
        r = _train(data, max_training_rounds=5)
    assert w[0].filename == __file__  # the warning points at the line that called NetTrain
    assert r["ReasonTrainingStopped"] == "Divergence"
    for k in ("Weights", "Biases"):
        np.testing.assert_array_equal(r["FinalNet"].arrays[k], two.arrays[k])


def test_divergence_returns_the_net_of_the_last_whole_round(rng, monkeypatch):
    """Four batches a round; the sixth update overflows: the net is the one after round 1, not
    the one after batch 5 (which may already be far gone), and the warning says so."""
    data = _data(rng, n=16)
    one = _train(data, max_training_rounds=1, batch_size=4)["FinalNet"]
    real, calls = optimizers.Optimizer._adam, []

    def overflow(self, w, gk, eta, st, out):
        calls.append(1)
        real(self, w, gk, eta, st, out)
        if len(calls) > 5 * 2:
            out[...] = np.inf

    monkeypatch.setattr(optimizers.Optimizer, "_adam", overflow)
    with pytest.warns(NetTrainDivergenceWarning, match="the net after round 1") as w:
        r = _train(data, max_training_rounds=5, batch_size=4)
    assert w[0].filename == __file__
    assert r["ReasonTrainingStopped"] == "Divergence" and r["TotalBatches"] == 5
    for k in ("Weights", "Biases"):
        np.testing.assert_array_equal(r["FinalNet"].arrays[k], one.arrays[k])


def test_trained_net_round_says_which_round_the_trained_net_is(rng, monkeypatch):
    """The results' "TrainedNetRound" is the round whose net "TrainedNet" is: the last round,
    the best validation round, or after a divergence the last whole round (0: the net before
    training)."""
    data = _data(rng, n=16)
    r = _train(data, max_training_rounds=3, batch_size=4)
    assert r["TrainedNetRound"] == 3
    valid = (data[0][:4], data[1][:4] + 5.0)  # far from the training targets: round 1 is best
    r = _train(data, max_training_rounds=3, batch_size=4, validation_set=valid)
    assert (
        r["TrainedNetRound"]
        == r["BestValidationRound"]
        == 1 + int(np.argmin(r["ValidationLossList"]))
    )
    one = _train(data, max_training_rounds=1, batch_size=4)["FinalNet"]
    real, calls = optimizers.Optimizer._adam, []

    def overflow(self, w, gk, eta, st, out):
        calls.append(1)
        real(self, w, gk, eta, st, out)
        if len(calls) > 5 * 2:  # the sixth update, in round 2
            out[...] = np.inf

    monkeypatch.setattr(optimizers.Optimizer, "_adam", overflow)
    with pytest.warns(NetTrainDivergenceWarning, match="the net after round 1"):
        r = _train(data, max_training_rounds=5, batch_size=4)
    assert r["TrainedNetRound"] == 1
    np.testing.assert_array_equal(r["TrainedNet"].arrays["Weights"], one.arrays["Weights"])
    calls.clear()
    with pytest.warns(NetTrainDivergenceWarning, match="the net before training"):
        r = _train(data, max_training_rounds=5, batch_size=2)  # the sixth update is in round 1
    assert r["TrainedNetRound"] == 0


def test_a_huge_learning_rate_diverges_and_names_the_round_returned(rng):
    x, y = _data(rng, n=16)
    with pytest.warns(NetTrainDivergenceWarning, match="The returned net is the net") as w:
        r = NetTrain(
            LinearLayer(1, input=3),
            (x, y),
            "All",
            max_training_rounds=50,
            batch_size=4,
            method=("SGD", {"learning_rate": 2.0, "momentum": 0.0}),  # diverges in round 11
            random_seed=0,
            training_progress_reporting=None,
        )
    assert r["ReasonTrainingStopped"] == "Divergence"
    named = re.search(r"after round (\d+)|before training", str(w[0].message))
    assert r["TrainedNetRound"] == int(named.group(1) or 0) == r["TotalRounds"]
