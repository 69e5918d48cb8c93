"""NetTrain: data forms, automatic losses, validation, stopping, divergence, seeds, padding."""

import numpy as np
import pytest

from netgraph import (
    CrossEntropyLossLayer,
    ElementwiseLayer,
    EmbeddingLayer,
    LinearLayer,
    LongShortTermMemoryLayer,
    MeanAbsoluteLossLayer,
    NetChain,
    NetDecoder,
    NetEncoder,
    NetGraph,
    NetInitialize,
    NetPort,
    NetPortGradient,
    NetTrain,
    NetTrainDivergenceWarning,
    Scaled,
    SequenceLastLayer,
    SoftmaxLayer,
)
from netgraph.training.data import Examples, batches, encoded
from netgraph.training.losses import training_net

QUIET = {"training_progress_reporting": None}


def regression(rng, n=40):
    X = rng.normal(size=(n, 2))
    return X, X @ np.array([[1.0], [-2.0]]) + 0.5


def mse(net, X, Y):
    return float(np.mean((net(X, working_precision="Real64") - Y) ** 2))


def test_data_forms_give_the_same_training(rng):
    X, Y = regression(rng)
    kw = dict(max_training_rounds=3, batch_size=8, random_seed=3, **QUIET)
    lin = LinearLayer(1, input=2)
    a = NetTrain(lin, (X, Y), **kw)
    b = NetTrain(lin, list(zip(X, Y)), **kw)
    c = NetTrain(lin, {"Input": X, "Output": Y}, **kw)
    d = NetTrain(lin, {"Input": list(X), "Target": list(Y)}, **kw)
    for net in (b, c, d):
        np.testing.assert_array_equal(net.arrays["Weights"], a.arrays["Weights"])
    with pytest.raises(TypeError, match="training data must be"):
        NetTrain(lin, X, **kw)
    with pytest.raises(
        ValueError, match=r"same number of examples; received Input: 40, Target: 39"
    ):
        NetTrain(lin, (X, Y[:-1]), **kw)
    with pytest.raises(ValueError, match=r'names the port "Inptu" \(did you mean "Input"\?\)'):
        NetTrain(lin, {"Inptu": X, "Target": Y}, **kw)
    with pytest.raises(
        TypeError, match=r'unknown option "batchsize" \(did you mean "batch_size"\?\)'
    ):
        NetTrain(lin, (X, Y), batchsize=3)


def test_automatic_losses():
    soft = NetChain([LinearLayer(3), SoftmaxLayer()], input=2)
    sig = NetChain([LinearLayer(1), ElementwiseLayer("LogisticSigmoid")], input=2)
    lin = LinearLayer(1, input=2)
    kinds = [
        (
            type(training_net(n, None).net.layers["lossOutput"]).__name__,
            training_net(n, None).net.layers["lossOutput"].options.get("target_form"),
        )
        for n in (soft, sig, lin)
    ]
    assert kinds == [
        ("CrossEntropyLossLayer", "Index"),
        ("CrossEntropyLossLayer", "Binary"),
        ("MeanSquaredLossLayer", None),
    ]


def test_classifier_learns_and_seeds_reproduce(rng):
    X = rng.normal(size=(200, 2))
    Y = (X[:, 0] > X[:, 1]).astype(int) + (X[:, 0] > 1).astype(int)
    net = NetChain(
        [LinearLayer(8), ElementwiseLayer("Tanh"), LinearLayer(3), SoftmaxLayer()], input=2
    )
    kw = dict(max_training_rounds=30, batch_size=16, random_seed=5, **QUIET)
    r = NetTrain(net, (X, Y), "All", method=("ADAM", {"learning_rate": 0.02}), **kw)
    acc = np.mean(np.argmax(r["TrainedNet"](X), axis=1) == Y)
    assert acc > 0.9
    assert r["RoundLossList"][-1] < 0.5 * r["RoundLossList"][0]
    again = NetTrain(net, (X, Y), method=("ADAM", {"learning_rate": 0.02}), **kw)
    for name in ("1", "3"):
        for k, a in again.layers[name].arrays.items():
            np.testing.assert_array_equal(a, r["TrainedNet"].layers[name].arrays[k])


def test_validation_returns_the_best_round(rng):
    X = rng.normal(size=(30, 1))
    lin = LinearLayer(1, input=1, weights=[[0.0]], biases=[0.0])
    # the validation set contradicts the training set: it gets worse as training goes on
    r = NetTrain(
        lin,
        (X, 2 * X),
        "All",
        validation_set=(X, -2 * X),
        max_training_rounds=5,
        batch_size=10,
        random_seed=0,
        method=("SGD", {"learning_rate": 0.05}),
        **QUIET,
    )
    v = r["ValidationLossList"]
    assert len(v) == 5 and np.argmin(v) == 0 and r["BestValidationRound"] == 1
    np.testing.assert_allclose(mse(r["TrainedNet"], X, -2 * X), v[0], rtol=1e-5)
    np.testing.assert_allclose(mse(r["FinalNet"], X, -2 * X), v[-1], rtol=1e-5)
    assert v[-1] > v[0]
    # Scaled: a held-out fraction
    r = NetTrain(lin, (X, 2 * X), "All", validation_set=Scaled(0.2), max_training_rounds=2, **QUIET)
    assert len(r["ValidationLossList"]) == 2 and r["ExamplesProcessed"] == 2 * 24


def test_divergence_stops_with_the_last_finite_net(rng):
    X, Y = regression(rng)
    with pytest.warns(NetTrainDivergenceWarning, match="lower learning rate|gradient clipping"):
        r = NetTrain(
            LinearLayer(1, input=2),
            (1e3 * X, 1e3 * Y),
            "All",
            max_training_rounds=50,
            method=("SGD", {"learning_rate": 1e3}),
            random_seed=0,
            **QUIET,
        )
    assert r["ReasonTrainingStopped"] == "Divergence"
    for a in r["TrainedNet"].arrays.values():
        assert np.all(np.isfinite(a))
    assert r["TotalRounds"] < 50


def test_an_array_made_infinite_by_a_finite_gradient_rolls_back_to_the_last_finite_net(rng):
    """The loss and its gradient stay finite, but the third step's learning rate overflows the
    arrays: training stops, and the net is the one after the second step."""
    X, Y = rng.normal(size=(6, 2)), 10 + rng.normal(size=(6, 1))  # a bias gradient near −20
    W, b = np.array([[0.3, -0.2]]), np.array([0.1])

    def rate(batch, total=None):  # the learning rate of each batch; float64 overflows at 1.8e308
        return 0.1 if batch < 3 else 1e308

    losses = []
    for batch in (1, 2, 3):  # full-batch SGD on the mean squared loss, by hand
        res = X @ W.T + b - Y
        losses.append(np.mean(res**2))
        gW, gb = 2 * res.T @ X / len(X), 2 * res.mean(0)
        if batch < 3:
            W, b = W - rate(batch) * gW, b - rate(batch) * gb
    assert np.isfinite(losses[2]) and np.all(np.isfinite(gb))
    with np.errstate(over="ignore"):
        assert not np.all(np.isfinite(b - rate(3) * gb))  # the third step overflows
    with pytest.warns(NetTrainDivergenceWarning, match="because an array became NaN or infinite"):
        r = NetTrain(
            LinearLayer(1, input=2, weights=np.array([[0.3, -0.2]]), biases=np.array([0.1])),
            (X, Y),
            "All",
            max_training_rounds=5,
            batch_size=len(X),
            method=("SGD", {"learning_rate": 1.0, "momentum": 0.0, "learning_rate_schedule": rate}),
            working_precision="Real64",
            random_seed=0,
            **QUIET,
        )
    assert r["ReasonTrainingStopped"] == "Divergence" and r["TotalBatches"] == 2
    np.testing.assert_allclose(r["BatchLossList"], losses[:2], rtol=1e-12)
    for key in ("TrainedNet", "FinalNet"):
        np.testing.assert_allclose(r[key].arrays["Weights"], W, rtol=1e-12)
        np.testing.assert_allclose(r[key].arrays["Biases"], b, rtol=1e-12)


def test_generator_data(rng):
    w = np.array([[2.0], [-1.0]])
    calls = []

    def gen(batch_size, round):
        calls.append((batch_size, round))
        X = rng.normal(size=(batch_size, 2))
        return X, X @ w

    net = NetTrain(
        LinearLayer(1, input=2),
        gen,
        max_training_rounds=4,
        round_length=320,
        batch_size=16,
        method=("ADAM", {"learning_rate": 0.05}),
        random_seed=0,
        **QUIET,
    )
    np.testing.assert_allclose(net.arrays["Weights"], w.T, atol=0.05)
    assert calls[0] == (16, 1) and calls[-1][1] == 4 and len(calls) == 1 + 4 * 20


def test_stopping_time_goal_and_interrupt(rng):
    X, Y = regression(rng)
    lin = LinearLayer(1, input=2)
    r = NetTrain(
        lin,
        (X, X[:, :1] * 0 + rng.normal(size=(40, 1))),
        "All",
        training_stopping_criterion={"patience": 2, "absolute_change": 10.0},
        max_training_rounds=50,
        random_seed=0,
        **QUIET,
    )
    assert r["ReasonTrainingStopped"] == "StoppingCriterion" and r["TotalRounds"] == 3
    r = NetTrain(lin, (X, Y), "All", time_goal=1e-9, max_training_rounds=50, **QUIET)
    assert r["ReasonTrainingStopped"] == "TimeGoalReached" and r["TotalBatches"] == 1

    seen = []

    def stop_at_two(info):
        seen.append(info["Round"])
        if info["Round"] == 2:
            raise KeyboardInterrupt

    r = NetTrain(
        lin,
        (X, Y),
        "All",
        training_progress_reporting=stop_at_two,
        max_training_rounds=50,
        random_seed=0,
    )
    assert r["ReasonTrainingStopped"] == "ManualStop" and r["TotalRounds"] == 2 and seen == [1, 2]
    two = NetTrain(lin, (X, Y), max_training_rounds=2, random_seed=0, **QUIET)
    np.testing.assert_array_equal(r["TrainedNet"].arrays["Weights"], two.arrays["Weights"])


def test_padding_never_enters_a_sequence_loss(rng):
    """One SGD step on a ragged batch moves the arrays by the mean of each sequence's own
    gradient, each computed alone (no padding) through NetPortGradient."""
    net = NetInitialize(
        NetChain([LongShortTermMemoryLayer(3), LinearLayer(1)], input=("Varying", 2)), random_seed=2
    )
    xs = [rng.normal(size=(L, 2)) for L in (2, 5, 3)]
    ys = [rng.normal(size=(L, 1)) for L in (2, 5, 3)]
    lr = 0.1
    trained = NetTrain(
        net,
        (xs, ys),
        max_training_rounds=1,
        batch_size=3,
        working_precision="Real64",
        method=("SGD", {"learning_rate": lr, "momentum": 0.0}),
        **QUIET,
    )
    tn = training_net(net, None).net
    spec = NetPortGradient(["net", "1", "ForgetGateInputWeights"])
    g = np.mean(
        [tn({"Input": x, "Target": y}, spec, working_precision="Real64") for x, y in zip(xs, ys)],
        axis=0,
    )
    want = net.layers["1"].arrays["ForgetGateInputWeights"] - lr * g
    np.testing.assert_allclose(
        trained.layers["1"].arrays["ForgetGateInputWeights"], want, rtol=1e-10
    )


def test_loss_function_forms(rng):
    X, Y = regression(rng)
    W0, b0 = np.array([[0.3, -0.2]]), np.array([0.1])
    sgd = ("SGD", {"learning_rate": 0.1, "momentum": 0.0})
    kw = dict(
        max_training_rounds=1,
        batch_size=len(X),
        method=sgd,
        random_seed=0,
        working_precision="Real64",
        **QUIET,
    )
    # a given loss layer: one full-batch step of mean |W x + b − y|
    r = NetTrain(
        LinearLayer(1, input=2, weights=W0, biases=b0),
        (X, Y),
        "All",
        loss_function=MeanAbsoluteLossLayer(),
        **kw,
    )
    res = X @ W0.T + b0 - Y
    np.testing.assert_allclose(r["RoundLossList"][0], np.mean(np.abs(res)), rtol=1e-12)
    sign = np.sign(res)
    np.testing.assert_allclose(
        r["FinalNet"].arrays["Weights"], W0 - 0.1 * (sign.T @ X) / len(X), rtol=1e-12
    )
    np.testing.assert_allclose(r["FinalNet"].arrays["Biases"], b0 - 0.1 * sign.mean(0), rtol=1e-12)
    # a net that computes its own loss, trained through its "Loss" port: the step follows
    # the gradient that evaluation gives for the mean of that port
    g = NetInitialize(
        NetGraph(
            {
                "lin": LinearLayer(3, input=2),
                "sm": SoftmaxLayer(),
                "loss": CrossEntropyLossLayer("Index"),
            },
            [("lin", "sm", NetPort("loss", "Input")), (NetPort("loss", "Loss"), NetPort("Loss"))],
        ),
        random_seed=1,
    )
    labels = (X[:, 0] > 0).astype(int)
    data = {"Input": X, "Target": labels}
    r = NetTrain(g, data, "All", loss_function="Loss", **kw)
    np.testing.assert_allclose(
        r["RoundLossList"][0], np.mean(g(data, working_precision="Real64")), rtol=1e-12
    )
    grad = g(data, NetPortGradient(["lin", "Weights"]), working_precision="Real64") / len(X)
    want = g.layers["lin"].arrays["Weights"] - 0.1 * grad
    np.testing.assert_allclose(r["FinalNet"].layers["lin"].arrays["Weights"], want, rtol=1e-10)
    with pytest.raises(
        ValueError, match=r'loss_function "Los" must name an output port.*did you mean "Loss"'
    ):
        NetTrain(g, {"Input": X, "Target": labels}, loss_function="Los", **kw)


def test_results_properties_and_plot(rng):
    X, Y = regression(rng)
    r = NetTrain(
        LinearLayer(1, input=2), (X, Y), "All", max_training_rounds=3, batch_size=10, **QUIET
    )
    assert (
        r["TotalBatches"] == 12 and len(r["BatchLossList"]) == 12 and r["ExamplesProcessed"] == 120
    )
    assert r["MeanExamplesPerSecond"] > 0 and r["TotalTrainingTime"] > 0
    assert "LossPlot" in r["Properties"]
    fig = r["LossPlot"]
    assert fig.axes[0].get_xlabel() == "round" and len(fig.axes[0].lines) == 1
    with pytest.raises(KeyError, match=r'no property "RoundLoss".*did you mean "RoundLossList"'):
        r["RoundLoss"]
    with pytest.raises(ValueError, match="unknown property"):
        NetTrain(LinearLayer(1, input=2), (X, Y), "Bogus", **QUIET)
    assert NetTrain(
        LinearLayer(1, input=2),
        (X, Y),
        ["TotalRounds", "BatchSize"],
        max_training_rounds=2,
        **QUIET,
    ) == [2, 64]


def test_batches_are_grouped_by_length(rng):
    lens = rng.integers(5, 100, size=640)
    ex = Examples({"Input": [np.zeros((L, 1)) for L in lens]})
    got = batches(ex, 32, np.random.default_rng(0))
    assert sorted(np.concatenate(got).tolist()) == list(range(640))
    spread = np.mean([lens[b].max() - lens[b].min() for b in got])
    shuffled = np.mean([lens[b].max() - lens[b].min() for b in np.split(rng.permutation(640), 20)])
    assert spread < 0.25 * shuffled


def test_length_groups_come_in_a_new_random_order_every_round(rng):
    """Sorting by length within windows would leave the batches in order of length; the
    batches are shuffled, every round anew (one generator across rounds, as in NetTrain)."""
    lens = rng.integers(5, 100, size=640)
    ex = Examples({"Input": [np.zeros((L, 1)) for L in lens]})
    r = np.random.default_rng(0)
    orders = []
    for _ in range(3):
        got = batches(ex, 32, r)
        assert sorted(np.concatenate(got).tolist()) == list(range(640))
        spread = np.mean([np.ptp(lens[b]) for b in got])
        assert spread < 15  # still grouped by length: about 90 in batches drawn at random
        means = np.array([lens[b].mean() for b in got])
        # in length order 18 of the 19 neighbours would rise; in random order about half do
        assert 4 <= np.sum(np.diff(means) > 0) <= 15
        orders.append(np.argsort(means))
    assert not np.array_equal(orders[0], orders[1]) and not np.array_equal(orders[1], orders[2])
    same_seed = [batches(ex, 32, np.random.default_rng(0)) for _ in range(2)]
    np.testing.assert_array_equal(*(np.concatenate(b) for b in same_seed))


def test_checkpoints_resume_exactly(rng, tmp_path):
    X = [rng.normal(size=(int(L), 2)) for L in rng.integers(2, 7, size=30)]
    Y = rng.integers(0, 3, size=30)
    net = NetChain(
        [
            LongShortTermMemoryLayer(4, dropout=0.2),
            SequenceLastLayer(),
            LinearLayer(3),
            SoftmaxLayer(),
        ],
        input=("Varying", 2),
    )
    kw = dict(batch_size=8, random_seed=4, validation_set=Scaled(0.2), **QUIET)
    whole = NetTrain(net, (X, Y), "All", max_training_rounds=4, **kw)
    NetTrain(
        net,
        (X, Y),
        max_training_rounds=2,
        training_progress_checkpointing=("Directory", tmp_path),
        **kw,
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "checkpoint-round0001.ngnet",
        "checkpoint-round0002.ngnet",
    ]
    resumed = NetTrain(net, (X, Y), "All", max_training_rounds=4, resume_from=tmp_path, **kw)
    for which in ("TrainedNet", "FinalNet"):
        for k, a in whole[which].layers["1"].arrays.items():
            np.testing.assert_array_equal(resumed[which].layers["1"].arrays[k], a)
    assert resumed["RoundLossList"] == whole["RoundLossList"]
    assert resumed["ValidationLossList"] == whole["ValidationLossList"]
    other = NetChain(
        [LongShortTermMemoryLayer(5), SequenceLastLayer(), LinearLayer(3), SoftmaxLayer()],
        input=("Varying", 2),
    )
    with pytest.raises(ValueError, match="does not fit this net"):
        NetTrain(other, (X, Y), resume_from=tmp_path, **kw)


def test_several_outputs_each_get_a_loss(rng):
    X = rng.normal(size=(60, 2))
    cls = (X[:, 0] > 0).astype(int)
    val = X @ np.array([[1.0], [1.0]])
    g = NetGraph(
        {
            "h": LinearLayer(8, input=2),
            "t": ElementwiseLayer("Tanh"),
            "c": LinearLayer(2),
            "s": SoftmaxLayer(),
            "r": LinearLayer(1),
        },
        [("h", "t", "c", "s", NetPort("Class")), ("t", "r", NetPort("Value"))],
    )
    tn = training_net(g, None).net
    assert set(tn.input_ports()) == {"Input", "ClassTarget", "ValueTarget"}
    assert set(tn.output_ports()) == {"ClassLoss", "ValueLoss"}
    r = NetTrain(
        g,
        {"Input": X, "Class": cls, "Value": val},
        "All",
        max_training_rounds=40,
        batch_size=10,
        method=("ADAM", {"learning_rate": 0.02}),
        random_seed=0,
        **QUIET,
    )
    out = r["TrainedNet"](X)
    assert np.mean(np.argmax(out["Class"], axis=1) == cls) > 0.9
    assert np.mean((out["Value"] - val) ** 2) < 0.1
    with pytest.raises(ValueError, match="several outputs.*dict of output port"):
        NetTrain(
            g,
            {"Input": X, "Class": cls, "Value": val},
            loss_function=MeanAbsoluteLossLayer(),
            **QUIET,
        )


def test_progress_bar_and_print(rng, capsys):
    X, Y = regression(rng)
    NetTrain(
        LinearLayer(1, input=2), (X, Y), max_training_rounds=2, training_progress_reporting="Print"
    )
    out = capsys.readouterr().out
    assert "round 1/2  loss" in out and "round 2/2" in out
    r = NetTrain(LinearLayer(1, input=2), (X, Y), "All", max_training_rounds=3000, time_goal=0.3)
    err = capsys.readouterr().err
    assert r["ReasonTrainingStopped"] == "TimeGoalReached"
    # not a terminal (pytest captures it): a line per round, no carriage returns
    assert err.startswith("round 1/3000  loss") and "ex/s" in err and err.endswith("\n")
    assert "\r" not in err
    with pytest.raises(ValueError, match="training_progress_reporting must be"):
        NetTrain(LinearLayer(1, input=2), (X, Y), training_progress_reporting="Bar")


# -- classifiers whose targets are labels of a Class decoder ---------------------------------

AB = NetDecoder("Class", ["a", "b"])
FAST = dict(batch_size=8, random_seed=0, method=("ADAM", {"learning_rate": 0.1}), **QUIET)


def separable(rng, n=32):
    """Points left (label "b") or right ("a") of x = 0, at least 0.5 from it."""
    side = rng.permutation(np.arange(n) % 2)
    X = rng.normal(size=(n, 2))
    X[:, 0] = (0.5 + np.abs(X[:, 0])) * np.where(side == 0, 1, -1)
    return X, ["a" if s == 0 else "b" for s in side]


@pytest.mark.parametrize("form", ["array", "list"])
def test_a_plain_classifier_trains_on_labels(rng, form):
    X, labels = separable(rng)
    net = NetChain([LinearLayer(2), SoftmaxLayer()], input=2, output=AB)
    data = X if form == "array" else list(X)
    trained = NetTrain(net, (data, labels), max_training_rounds=20, **FAST)
    assert trained(X) == labels and trained(list(X)) == labels


def sequence_classifier(input):
    return NetChain(
        [LongShortTermMemoryLayer(4), SequenceLastLayer(), LinearLayer(2), SoftmaxLayer()],
        input=input,
        output=AB,
    )


def signed_sequences(rng, lengths):
    """Sequences of 2-vectors around +1 (label "a") or −1 ("b")."""
    side = rng.permutation(np.arange(len(lengths)) % 2)
    xs = [(1.0 - 2 * s) + 0.3 * rng.normal(size=(L, 2)) for s, L in zip(side, lengths)]
    return xs, ["a" if s == 0 else "b" for s in side]


@pytest.mark.parametrize("form", ["array", "equal-length list", "ragged list"])
def test_a_sequence_classifier_trains_on_labels(rng, form):
    lengths = rng.integers(2, 6, size=24) if form == "ragged list" else [4] * 24
    xs, labels = signed_sequences(rng, lengths)
    data = np.stack(xs) if form == "array" else xs
    trained = NetTrain(
        sequence_classifier(("Varying", 2)), (data, labels), max_training_rounds=15, **FAST
    )
    assert trained(data) == labels


def test_equal_length_strings_train_on_labels():
    words = ["xxx", "xxy", "xyx", "yxx", "xyy", "yxy", "yyx", "yyy"] * 3
    labels = ["a" if w.count("x") > w.count("y") else "b" for w in words]
    net = NetChain(
        [
            EmbeddingLayer(3),
            LongShortTermMemoryLayer(4),
            SequenceLastLayer(),
            LinearLayer(2),
            SoftmaxLayer(),
        ],
        input=NetEncoder("Characters", "xy"),
        output=AB,
    )
    trained = NetTrain(net, (words, labels), max_training_rounds=40, **FAST)
    assert trained(words) == labels


def test_converted_labels_are_one_array_and_have_no_length():
    labels = Examples({"Input": np.zeros((3, 2)), "Target": np.array(["b", "a", "b"])})
    got = encoded(labels, {"Target": lambda y: AB.target(y)})
    assert isinstance(got.ports["Target"], np.ndarray)
    assert got.ports["Target"].tolist() == [1, 0, 1] and got.lengths is None
    # examples that are 0-d arrays are not sequences; ragged sequences still have lengths
    assert Examples({"Target": [np.array(1), np.array(0)]}).lengths is None
    ragged = Examples({"Input": [np.zeros(2), np.zeros(3)], "Target": [np.array(1), np.array(0)]})
    assert ragged.lengths.tolist() == [2, 3]
