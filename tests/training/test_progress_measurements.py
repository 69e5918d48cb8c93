"""NetTrain's training_progress_measurements: each round's measurements on its training
batches and on the validation set equal NetMeasurements of the nets of those rounds."""

import numpy as np
import pytest

from netgraph import (
    LinearLayer,
    LongShortTermMemoryLayer,
    NetChain,
    NetDecoder,
    NetMeasurements,
    NetTrain,
    SoftmaxLayer,
)

QUIET = {"training_progress_reporting": None}
CLASSES = ["a", "b", "c"]
NAMES = ["Accuracy", "Precision", "Recall", "F1Score", "ConfusionMatrix"]


def labelled(rng, n):
    """Points labelled by their largest coordinate."""
    X = rng.normal(size=(n, 3))
    return X, [CLASSES[i] for i in np.argmax(X, axis=1)]


def classifier():
    return NetChain([LinearLayer(3), SoftmaxLayer()], input=3, output=NetDecoder("Class", CLASSES))


def assert_same(got: dict, want: dict, rel=1e-5):
    assert list(got) == list(want)
    for k, v in want.items():
        if isinstance(v, dict):
            assert list(got[k]) == list(v), k
            np.testing.assert_allclose(list(got[k].values()), list(v.values()), rtol=rel)
        else:
            np.testing.assert_allclose(got[k], v, rtol=rel, err_msg=k)


def test_validation_measurements_are_those_of_each_rounds_net(rng):
    train, valid = labelled(rng, 48), labelled(rng, 30)
    kw = dict(
        batch_size=8,
        random_seed=0,
        validation_set=valid,
        training_progress_measurements=NAMES,
        method=("ADAM", {"learning_rate": 0.05}),
        **QUIET,
    )
    r = NetTrain(classifier(), train, "All", max_training_rounds=2, **kw)
    one = NetTrain(classifier(), train, "FinalNet", max_training_rounds=1, **kw)
    lists = r["ValidationMeasurementsLists"]
    assert len(lists) == 2 and r["ValidationMeasurements"] is lists[-1]
    for got, net in zip(lists, [one, r["FinalNet"]]):
        assert_same(got, NetMeasurements(net, valid, ["Loss"] + NAMES))
    assert [v["Loss"] for v in lists] == r["ValidationLossList"]
    assert lists[0]["Accuracy"] != lists[1]["Accuracy"]  # the rounds' nets differ
    assert r["RoundMeasurements"] is r["RoundMeasurementsLists"][-1]
    assert [v["Loss"] for v in r["RoundMeasurementsLists"]] == r["RoundLossList"]


def test_round_measurements_come_from_the_rounds_batches(rng):
    """With a learning rate of 0 the net is the same in every batch of a round, so the
    measurements gathered from the batches are those of that net on the training data."""
    train = labelled(rng, 37)  # the last batch is short
    r = NetTrain(
        classifier(),
        train,
        "All",
        max_training_rounds=2,
        batch_size=8,
        learning_rate=0.0,
        random_seed=3,
        training_progress_measurements=["ConfusionMatrix", "Accuracy", "Loss", "Recall"],
        **QUIET,
    )
    want = NetMeasurements(r["FinalNet"], train, ["Loss", "ConfusionMatrix", "Accuracy", "Recall"])
    for got in r["RoundMeasurementsLists"]:
        assert_same(got, want)
        assert got["ConfusionMatrix"].sum() == 37


def test_per_step_measurements_on_ragged_sequences(rng):
    xs = [rng.normal(size=(n, 2)) for n in rng.integers(1, 8, size=20)]
    tags = [[CLASSES[i] for i in rng.integers(0, 3, size=len(x))] for x in xs]
    net = NetChain(
        [LongShortTermMemoryLayer(4), LinearLayer(3), SoftmaxLayer()],
        input=("Varying", 2),
        output=NetDecoder("Class", CLASSES, input_depth=2),
    )
    r = NetTrain(
        net,
        (xs, tags),
        "All",
        max_training_rounds=1,
        batch_size=6,
        learning_rate=0.0,
        random_seed=0,
        validation_set=(xs[:7], tags[:7]),
        training_progress_measurements=["Accuracy", "ConfusionMatrix"],
        **QUIET,
    )
    final = r["FinalNet"]
    names = ["Loss", "Accuracy", "ConfusionMatrix"]
    assert_same(r["RoundMeasurements"], NetMeasurements(final, (xs, tags), names))
    assert_same(r["ValidationMeasurements"], NetMeasurements(final, (xs[:7], tags[:7]), names))
    assert r["RoundMeasurements"]["ConfusionMatrix"].sum() == sum(len(x) for x in xs)


def test_regression_measurements(rng):
    X = rng.normal(size=(40, 2))
    Y = X @ np.array([[1.0], [-2.0]]) + 0.5
    r = NetTrain(
        LinearLayer(1, input=2),
        (X, Y),
        "All",
        max_training_rounds=3,
        batch_size=10,
        random_seed=0,
        validation_set=(X[:10], Y[:10]),
        training_progress_measurements=["MeanSquare", "RSquared"],
        **QUIET,
    )
    for got in r["ValidationMeasurementsLists"]:
        assert list(got) == ["Loss", "MeanSquare", "RSquared"]
        assert got["MeanSquare"] == pytest.approx(got["Loss"], rel=1e-6)  # one output element
    want = NetMeasurements(r["FinalNet"], (X[:10], Y[:10]), ["Loss", "MeanSquare", "RSquared"])
    assert_same(r["ValidationMeasurements"], want)


def test_without_the_option_the_measurements_are_the_losses(rng):
    X, Y = labelled(rng, 16)
    r = NetTrain(classifier(), (X, Y), "All", max_training_rounds=2, **QUIET)
    assert r["RoundMeasurementsLists"] == [{"Loss": v} for v in r["RoundLossList"]]
    assert r["ValidationMeasurementsLists"] == [] and r["ValidationMeasurements"] is None


def test_checkpoints_carry_the_measurements(rng, tmp_path):
    train, valid = labelled(rng, 24), labelled(rng, 9)
    kw = dict(
        batch_size=8,
        random_seed=1,
        validation_set=valid,
        training_progress_measurements=["Accuracy", "Precision", "ConfusionMatrix"],
        **QUIET,
    )
    whole = NetTrain(classifier(), train, "All", max_training_rounds=4, **kw)
    NetTrain(
        classifier(),
        train,
        max_training_rounds=2,
        training_progress_checkpointing=("Directory", tmp_path),
        **kw,
    )
    resumed = NetTrain(
        classifier(), train, "All", max_training_rounds=4, resume_from=tmp_path, **kw
    )
    for key in ("RoundMeasurementsLists", "ValidationMeasurementsLists"):
        assert len(resumed[key]) == 4
        for got, want in zip(resumed[key], whole[key]):
            assert_same(got, want, rel=1e-12)
            assert isinstance(got["ConfusionMatrix"], np.ndarray)


def test_progress_shows_the_measurements(rng, capsys):
    train, valid = labelled(rng, 16), labelled(rng, 8)
    seen = []
    kw = dict(
        max_training_rounds=2,
        validation_set=valid,
        training_progress_measurements=["Accuracy", "ConfusionMatrix"],
    )
    NetTrain(classifier(), train, training_progress_reporting="Print", **kw)
    out = capsys.readouterr().out
    assert "  Accuracy " in out and out.count("Accuracy") == 4  # the round's and validation's
    assert "ConfusionMatrix" not in out  # a matrix does not fit the line
    NetTrain(classifier(), train, training_progress_reporting=seen.append, **kw)
    assert [s["Round"] for s in seen] == [1, 2]
    assert set(seen[1]["RoundMeasurements"]) == {"Loss", "Accuracy", "ConfusionMatrix"}
    assert seen[1]["RoundLoss"] == seen[1]["RoundMeasurements"]["Loss"]
    assert set(seen[1]["ValidationMeasurements"]) == {"Loss", "Accuracy", "ConfusionMatrix"}
    assert seen[1]["ValidationLoss"] == seen[1]["ValidationMeasurements"]["Loss"]


def test_unknown_or_misfit_measurements_are_refused_before_training(rng):
    X, Y = labelled(rng, 8)
    with pytest.raises(
        ValueError,
        match=r"training_progress_measurements: unknown measurement 'accuracy' "
        r'\(did you mean "Accuracy"\?\)',
    ):
        NetTrain(classifier(), (X, Y), training_progress_measurements=["accuracy"], **QUIET)
    with pytest.raises(ValueError, match=r'NetTrain: "RSquared" measures a regression'):
        NetTrain(classifier(), (X, Y), training_progress_measurements="RSquared", **QUIET)
