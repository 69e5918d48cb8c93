"""NetMeasurements against references written out here: hand-computed small cases, and the
usual (scikit-learn) definitions in plain numpy over the net's own decisions."""

import numpy as np
import pytest

from netgraph import (
    CrossEntropyLossLayer,
    ElementwiseLayer,
    LinearLayer,
    LongShortTermMemoryLayer,
    MeanAbsoluteLossLayer,
    NetChain,
    NetDecoder,
    NetGraph,
    NetInitialize,
    NetMeasurements,
    NetPort,
    SoftmaxLayer,
)

CLASSES = ["a", "b", "c"]


def classifier(labels=CLASSES):
    """Identity weights: the input's largest element is the predicted class."""
    k = len(labels)
    return NetChain(
        [LinearLayer(k, weights=np.eye(k), biases=np.zeros(k)), SoftmaxLayer()],
        input=k,
        output=NetDecoder("Class", labels),
    )


def scores(actual, predicted, classes):
    """Accuracy, per-class precision, recall and F1 and the confusion matrix, as
    scikit-learn defines them (0 where a ratio is 0/0), from two lists of labels."""
    actual, predicted = np.array(actual, object), np.array(predicted, object)
    out = {"Accuracy": float(np.mean(actual == predicted))}
    for name in ("Precision", "Recall", "F1Score"):
        out[name] = {}
    for c in classes:
        tp = np.sum((predicted == c) & (actual == c))
        fp = np.sum((predicted == c) & (actual != c))
        fn = np.sum((predicted != c) & (actual == c))
        out["Precision"][c] = tp / (tp + fp) if tp + fp else 0.0
        out["Recall"][c] = tp / (tp + fn) if tp + fn else 0.0
        out["F1Score"][c] = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0
    out["ConfusionMatrix"] = np.array(
        [[np.sum((actual == a) & (predicted == p)) for p in classes] for a in classes]
    )
    return out


ALL = ["Accuracy", "Precision", "Recall", "F1Score", "ConfusionMatrix"]


def assert_scores(got, want):
    assert got["Accuracy"] == pytest.approx(want["Accuracy"], abs=1e-12)
    for name in ("Precision", "Recall", "F1Score"):
        assert list(got[name]) == list(want[name])  # keyed by label, in the decoder's order
        np.testing.assert_allclose(list(got[name].values()), list(want[name].values()))
    np.testing.assert_array_equal(got["ConfusionMatrix"], want["ConfusionMatrix"])


# -- classification ------------------------------------------------------------------------


def test_a_hand_computed_classifier():
    predicted = ["a", "a", "b", "b", "b", "a"]  # "c" is never predicted
    actual = ["a", "b", "b", "c", "b", "a"]
    X = 2.0 * np.eye(3)[[CLASSES.index(p) for p in predicted]]
    net = classifier()
    assert net(X) == predicted
    got = NetMeasurements(net, (X, actual), ALL + ["Loss"], working_precision="Real64")
    assert got["Accuracy"] == pytest.approx(4 / 6)
    assert got["Precision"] == pytest.approx({"a": 2 / 3, "b": 2 / 3, "c": 0.0})
    assert got["Recall"] == pytest.approx({"a": 1.0, "b": 2 / 3, "c": 0.0})
    assert got["F1Score"] == pytest.approx({"a": 0.8, "b": 2 / 3, "c": 0.0})
    # rows: the actual class; columns: the predicted one
    np.testing.assert_array_equal(got["ConfusionMatrix"], [[2, 0, 0], [1, 2, 0], [0, 1, 0]])
    right, wrong = np.exp(2) / (np.exp(2) + 2), 1 / (np.exp(2) + 2)  # softmax of (2, 0, 0)
    assert got["Loss"] == pytest.approx((-4 * np.log(right) - 2 * np.log(wrong)) / 6, rel=1e-12)
    assert_scores(got, scores(actual, predicted, CLASSES))


def test_a_single_name_gives_its_value_and_a_list_a_dict_in_order():
    X, Y = 2.0 * np.eye(3), ["a", "c", "c"]
    net = classifier()
    assert NetMeasurements(net, (X, Y), "Accuracy") == pytest.approx(2 / 3)
    got = NetMeasurements(net, (X, Y), ["Recall", "Accuracy"])
    assert list(got) == ["Recall", "Accuracy"]
    assert got["Recall"] == pytest.approx({"a": 1.0, "b": 0.0, "c": 0.5})


def test_every_data_form_gives_the_same_measurements():
    X, Y = 2.0 * np.eye(3)[[0, 1, 2, 1]], ["a", "b", "b", "b"]
    net = classifier()
    forms = [(X, Y), list(zip(X, Y)), {"Input": X, "Output": Y}, {"Input": list(X), "Target": Y}]
    for data in forms:
        assert NetMeasurements(net, data, "Accuracy") == pytest.approx(0.75)


def test_index_targets_without_a_decoder_are_keyed_by_class_index(rng):
    net = NetInitialize(NetChain([LinearLayer(4), SoftmaxLayer()], input=3), random_seed=2)
    X = rng.normal(size=(40, 3))
    Y = rng.integers(0, 4, size=40)
    predicted = list(np.argmax(net(X), axis=1))
    got = NetMeasurements(net, (X, Y), ALL, batch_size=7)
    assert list(got["Precision"]) == [0, 1, 2, 3]
    assert_scores(got, scores(list(Y), predicted, range(4)))
    assert 0 < got["Accuracy"] < 1  # a case that tells right from wrong


def tagger(rng):
    """One label per step, over ragged sequences."""
    net = NetChain(
        [LongShortTermMemoryLayer(5), LinearLayer(3), SoftmaxLayer()],
        input=("Varying", 2),
        output=NetDecoder("Class", CLASSES, input_depth=2),
    )
    net = NetInitialize(net, random_seed=1)
    xs = [rng.normal(size=(n, 2)) for n in (1, 6, 3, 2, 7, 4, 5, 1, 3)]
    tags = [[CLASSES[i] for i in rng.integers(0, 3, size=len(x))] for x in xs]
    return net, xs, tags


def test_per_step_classes_count_each_true_step_once(rng):
    net, xs, tags = tagger(rng)
    decided = net(xs)  # a list of labels per sequence
    actual = [t for seq in tags for t in seq]
    predicted = [t for seq in decided for t in seq]
    for size in (256, 2):  # one padded batch, or batches of two
        got = NetMeasurements(net, (xs, tags), ALL + ["Loss"], batch_size=size)
        assert_scores(got, scores(actual, predicted, CLASSES))
        assert got["ConfusionMatrix"].sum() == sum(len(x) for x in xs)  # padding never counts
    probs = net(xs, NetPort("Output"), working_precision="Real64")
    want = np.mean(
        [
            np.mean([-np.log(p[i, CLASSES.index(t)]) for i, t in enumerate(ts)])
            for p, ts in zip(probs, tags)
        ]
    )
    got = NetMeasurements(net, (xs, tags), "Loss", working_precision="Real64")
    assert got == pytest.approx(want, rel=1e-10)  # each sequence's loss over its own steps


def test_a_binary_classifier_with_a_boolean_decoder(rng):
    net = NetChain(
        [LinearLayer(output="Real"), ElementwiseLayer("LogisticSigmoid")],
        input=2,
        output=NetDecoder("Boolean"),
    )
    net = NetInitialize(net, random_seed=0)
    X = rng.normal(size=(30, 2))
    Y = list(rng.random(30) < 0.5)
    got = NetMeasurements(net, (X, Y), ALL)
    assert list(got["Precision"]) == [False, True]
    assert_scores(got, scores(Y, net(X), [False, True]))


def test_probability_targets_count_their_most_probable_class(rng):
    net = NetInitialize(NetChain([LinearLayer(3), SoftmaxLayer()], input=2), random_seed=0)
    X = rng.normal(size=(25, 2))
    T = rng.dirichlet(np.ones(3), size=25)  # soft targets
    got = NetMeasurements(
        net,
        (X, T),
        ALL + ["Loss"],
        loss_function=CrossEntropyLossLayer("Probabilities"),
        working_precision="Real64",
    )
    p = net(X, working_precision="Real64")
    assert_scores(got, scores(list(T.argmax(axis=1)), list(p.argmax(axis=1)), range(3)))
    assert got["Loss"] == pytest.approx(np.mean(-np.sum(T * np.log(p), axis=1)), rel=1e-10)


# -- regression ----------------------------------------------------------------------------


def regression_refs(y, t):
    e = y - t
    return {
        "MeanSquare": np.mean(e**2),
        "MeanDeviation": np.mean(np.abs(e)),
        "RSquared": 1 - np.sum(e**2) / np.sum((t - t.mean()) ** 2),
    }


def test_regression_over_every_element(rng):
    net = NetInitialize(LinearLayer(2, input=3), random_seed=0)
    X, T = rng.normal(size=(50, 3)), rng.normal(size=(50, 2))
    y = net(X, working_precision="Real64")
    names = ["MeanSquare", "MeanDeviation", "RSquared", "Loss"]
    for size in (256, 8):
        got = NetMeasurements(net, (X, T), names, batch_size=size, working_precision="Real64")
        want = regression_refs(y, T)
        for k, v in want.items():
            assert got[k] == pytest.approx(v, rel=1e-10), k
        assert got["Loss"] == pytest.approx(np.mean(np.mean((y - T) ** 2, axis=1)), rel=1e-10)
    good = NetMeasurements(net, (X, y + 0.01 * T), "RSquared")
    assert good == pytest.approx(1 - 1e-4 * np.sum(T**2) / np.sum((y - y.mean()) ** 2), rel=1e-3)


def test_a_scalar_output(rng):
    net = NetInitialize(LinearLayer(output="Real", input=2), random_seed=0)
    X, T = rng.normal(size=(12, 2)), rng.normal(size=12)
    y = net(X, working_precision="Real64")
    got = NetMeasurements(net, (X, T), ["MeanSquare", "MeanDeviation", "RSquared"])
    for k, v in regression_refs(y, T).items():
        assert got[k] == pytest.approx(v, rel=1e-5), k


def test_regression_on_ragged_sequences_counts_true_steps_only(rng):
    net = NetInitialize(LinearLayer(2, input=("Varying", 3)), random_seed=0)
    xs = [rng.normal(size=(n, 3)) + 5 for n in (2, 7, 1, 4)]  # padding would add errors
    ts = [rng.normal(size=(len(x), 2)) for x in xs]
    ys = net(xs, working_precision="Real64")
    y, t = np.concatenate(ys), np.concatenate(ts)
    got = NetMeasurements(net, (xs, ts), ["MeanSquare", "MeanDeviation", "RSquared"], batch_size=3)
    for k, v in regression_refs(y, t).items():
        assert got[k] == pytest.approx(v, rel=1e-5), k


def test_mean_absolute_loss_and_constant_targets(rng):
    net = NetInitialize(LinearLayer(1, input=2), random_seed=0)
    X = rng.normal(size=(10, 2))
    y = net(X, working_precision="Real64")
    got = NetMeasurements(
        net,
        (X, np.zeros((10, 1))),
        ["Loss", "RSquared"],
        loss_function=MeanAbsoluteLossLayer(),
        working_precision="Real64",
    )
    assert got["Loss"] == pytest.approx(np.mean(np.abs(y)), rel=1e-10)
    assert got["RSquared"] == 0.0  # constant targets not fitted exactly
    assert NetMeasurements(net, (X, y), "RSquared", working_precision="Real64") == pytest.approx(
        1.0
    )


# -- errors --------------------------------------------------------------------------------


def test_unknown_and_misfit_measurements_are_refused_with_advice(rng):
    X, Y = 2.0 * np.eye(3), ["a", "b", "c"]
    net = classifier()
    with pytest.raises(
        ValueError,
        match=r"unknown measurement 'Acuracy' \(did you mean \"Accuracy\"\?\).*Measurements: Loss, Accuracy",
    ):
        NetMeasurements(net, (X, Y), "Acuracy")
    with pytest.raises(
        ValueError, match=r'"MeanSquare" measures a regression.*Measurements for it: Loss, Accuracy'
    ):
        NetMeasurements(net, (X, Y), ["Accuracy", "MeanSquare"])
    reg = NetInitialize(LinearLayer(2, input=3), random_seed=0)
    with pytest.raises(
        ValueError,
        match=r'"Accuracy" measures a classifier.*MeanSquaredLossLayer.*Loss, MeanSquare',
    ):
        NetMeasurements(reg, (X, X[:, :2]), "Accuracy")
    with pytest.raises(TypeError, match="give a measurement name"):
        NetMeasurements(net, (X, Y), [])


def test_bad_data_and_options_are_refused():
    X, Y = 2.0 * np.eye(3), ["a", "b", "c"]
    net = classifier()
    with pytest.raises(
        ValueError,
        match=r"NetMeasurements: every port needs the same number of examples; received Input: 3, Target: 2",
    ):
        NetMeasurements(net, (X, Y[:2]), "Accuracy")
    with pytest.raises(ValueError, match=r"unknown label 'd'"):
        NetMeasurements(net, (X, ["a", "b", "d"]), "Accuracy")
    with pytest.raises(TypeError, match="NetMeasurements: the data must be"):
        NetMeasurements(net, X, "Accuracy")
    with pytest.raises(TypeError, match="a generator function is for NetTrain"):
        NetMeasurements(net, lambda batch_size, round: (X, Y), "Accuracy")
    with pytest.raises(ValueError, match=r'names the port "Inptu" \(did you mean "Input"\?\)'):
        NetMeasurements(net, {"Inptu": X, "Target": Y}, "Accuracy")
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        NetMeasurements(net, (X, Y), "Accuracy", batch_size=0)
    with pytest.raises(ValueError, match='working_precision must be "Real32" or "Real64"'):
        NetMeasurements(net, (X, Y), "Accuracy", working_precision="Real16")
    with pytest.raises(
        TypeError, match=r'unknown option "batchsize" \(did you mean "batch_size"\?\)'
    ):
        NetMeasurements(net, (X, Y), "Accuracy", batchsize=2)
    with pytest.raises(
        ValueError, match=r"uninitialized arrays \(1/Weights, 1/Biases\).*NetInitialize"
    ):
        NetMeasurements(NetChain([LinearLayer(3), SoftmaxLayer()], input=3), (X, [0, 1, 2]), "Loss")
    with pytest.raises(TypeError, match="the first argument must be a net"):
        NetMeasurements("net", (X, Y), "Accuracy")


def test_a_net_with_several_outputs_measures_its_loss_only(rng):
    g = NetGraph(
        {"a": LinearLayer(2), "b": LinearLayer(1)},
        [(NetPort("Input"), "a"), (NetPort("Input"), "b")],
        input=3,
    )
    g = NetInitialize(g, random_seed=0)
    X = rng.normal(size=(6, 3))
    data = {"Input": X, "Output1": rng.normal(size=(6, 2)), "Output2": rng.normal(size=(6, 1))}
    y = g(X, working_precision="Real64")
    want = np.mean(np.mean((y["Output1"] - data["Output1"]) ** 2, axis=1)) + np.mean(
        (y["Output2"] - data["Output2"]) ** 2
    )
    assert NetMeasurements(g, data, "Loss", working_precision="Real64") == pytest.approx(
        want, rel=1e-10
    )
    with pytest.raises(
        ValueError,
        match=r'"MeanSquare" measures one output, and this net has several \(Output1, Output2\)',
    ):
        NetMeasurements(g, data, "MeanSquare")
