"""NetEncoder and NetDecoder: codes, errors, nets that take strings and return labels."""

import numpy as np
import pytest

from netgraph import (
    EmbeddingLayer,
    LinearLayer,
    LongShortTermMemoryLayer,
    NetChain,
    NetDecoder,
    NetEncoder,
    NetGraph,
    NetInitialize,
    NetPort,
    NetStateObject,
    NetTrain,
    SequenceLastLayer,
    SoftmaxLayer,
)
from netgraph.coders import DEFAULT_CHARACTERS


def test_characters_encoder():
    enc = NetEncoder("Characters")
    assert len(DEFAULT_CHARACTERS) == 97 and enc.size == 97
    # tab, newline, then chr(32) … chr(126): "A" is code 2 + 65 − 32
    assert enc("A\t\n ").tolist() == [2 + 65 - 32, 0, 1, 2]
    one_hot = NetEncoder("Characters", "abc", "UnitVector")("cab")
    np.testing.assert_array_equal(one_hot, np.eye(3)[[2, 0, 1]])
    assert repr(NetEncoder("Characters", "abc", "UnitVector").port_type()) == "(Varying, 3)"
    with pytest.raises(ValueError, match=r"the character 'é' in 'café' is not among"):
        enc("café")
    with pytest.raises(ValueError, match="repeat a character"):
        NetEncoder("Characters", "aba")
    with pytest.raises(
        ValueError, match=r"unknown kind 'Character' \(did you mean \"Characters\"\?\)"
    ):
        NetEncoder("Character")


def test_tokens_class_boolean_encoders():
    tok = NetEncoder("Tokens", ["the", "cat", "sat", "."])
    assert tok("The cat sat on the mat.").tolist() == [0, 1, 2, 4, 0, 4, 3]  # 4: not in vocabulary
    assert repr(tok.port_type()) == "(Varying, Restricted('Integer', 5))"
    cls = NetEncoder("Class", ["a", "b", "c"])
    assert cls("c").tolist() == 2 and [int(v) for v in cls(["b", "a"])] == [1, 0]
    with pytest.raises(ValueError, match=r"unknown label 'd'.*Labels: 'a', 'b', 'c'"):
        cls("d")
    with pytest.raises(ValueError, match="appears more than once"):
        NetEncoder("Class", ["a", "a"])
    assert NetEncoder("Boolean")([True, False]) == [1.0, 0.0]
    with pytest.raises(TypeError, match="expects True or False"):
        NetEncoder("Boolean")("yes")


def test_class_and_boolean_decoders():
    dec = NetDecoder("Class", ["a", "b", "c"])
    p = np.array([0.2, 0.7, 0.1])
    assert dec(p) == "b" and dec(np.stack([p, [0.6, 0.3, 0.1]])) == ["b", "a"]
    assert dec(p, "Probabilities") == pytest.approx({"a": 0.2, "b": 0.7, "c": 0.1})
    assert dec(p, "TopProbabilities") == [("b", pytest.approx(0.7)), ("a", pytest.approx(0.2))]
    assert dec(p, ("TopProbabilities", 1)) == [("b", pytest.approx(0.7))]
    assert dec(p, ("Probability", "c")) == pytest.approx(0.1)
    assert dec(p, "Entropy") == pytest.approx(-np.sum(p * np.log(p)))
    assert dec(p, ("TopDecisions", 2)) == ["b", "a"]
    with pytest.raises(
        ValueError, match=r"no property 'Probabilites' \(did you mean \"Probabilities\"\?\)"
    ):
        dec(p, "Probabilites")
    with pytest.raises(ValueError, match=r'give the label, as \("Probability", label\)'):
        dec(p, ("Probability", "z"))
    assert dec.target("c").tolist() == 2
    with pytest.raises(ValueError, match="unknown label 'z'"):
        dec.target("z")
    b = NetDecoder("Boolean")
    assert b(0.7) is True and b([0.2, 0.9]) == [False, True]
    assert b(0.7, "Entropy") == pytest.approx(-(0.7 * np.log(0.7) + 0.3 * np.log(0.3)))


def classifier():
    return NetInitialize(
        NetChain(
            [
                EmbeddingLayer(3),
                LongShortTermMemoryLayer(4),
                SequenceLastLayer(),
                LinearLayer(3),
                SoftmaxLayer(),
            ],
            input=NetEncoder("Characters", "xy"),
            output=NetDecoder("Class", ["Less", "Equal", "Greater"]),
        ),
        random_seed=0,
    )


def test_nets_take_strings_and_return_labels():
    net = classifier()
    assert "Input: NetEncoder(\"Characters\", 'xy'" in repr(net)
    raw = net("xyy", NetPort("Output"))
    plain = NetChain(list(net.layers.values()))  # the same layers, no coders
    assert plain.coders == {}
    np.testing.assert_array_equal(raw, plain(np.array([0, 1, 1])))
    assert net("xyy") == ["Less", "Equal", "Greater"][int(np.argmax(raw))]
    assert net(["xy", "yyy"]) == [net("xy"), net("yyy")]
    assert net("xyy", "Probabilities") == pytest.approx(
        dict(zip(["Less", "Equal", "Greater"], raw))
    )
    with pytest.raises(ValueError, match="the character 'z'"):
        net("xz")
    # a graph takes the coders of the layer ports that become its ports
    g = NetGraph({"body": net}, [])
    assert set(g.coders) == {"Input", "Output"} and g("xyy") == net("xyy")
    # NetStateObject decodes too: after "x", "y", "y" the label is that of "xyy"
    so = NetStateObject(net)
    assert [so(c) for c in "xyy"] == [net("x"), net("xy"), net("xyy")]
    assert NetStateObject(net)(["x", "yx"]) == net(["x", "yx"])  # a batch
    with pytest.raises(ValueError, match="goes on an output port"):
        LinearLayer(2, input=NetDecoder("Boolean"))


def test_netTrain_with_an_encoder_and_a_decoder():
    words = ["xy", "yx", "xxy", "yyx", "x", "y", "xxxy", "yyyx", "xyxy"] * 4
    lab = [
        "Less"
        if w.count("x") < w.count("y")
        else "Greater"
        if w.count("x") > w.count("y")
        else "Equal"
        for w in words
    ]
    trained = NetTrain(
        classifier(),
        (words, lab),
        max_training_rounds=60,
        batch_size=12,
        random_seed=0,
        method=("ADAM", {"learning_rate": 0.05}),
        training_progress_reporting=None,
    )
    assert isinstance(trained.coders["Input"], NetEncoder)
    assert isinstance(trained.coders["Output"], NetDecoder)
    assert np.mean([p == t for p, t in zip(trained(words), lab)]) > 0.9
    with pytest.raises(ValueError, match="unknown label 'Same'"):
        NetTrain(classifier(), (["xy"], ["Same"]), training_progress_reporting=None)


ABC = ["a", "b", "c"]


def per_step_classifier():
    """A label per step: the label of each step's largest input."""
    return NetChain(
        [LongShortTermMemoryLayer(6), LinearLayer(3), SoftmaxLayer()],
        input=("Varying", 3),
        output=NetDecoder("Class", ABC, input_depth=2),
    )


def argmax_labels(p):
    return [ABC[i] for i in np.argmax(p, axis=-1)]


def test_a_per_step_decoder_gives_a_label_per_step(rng):
    net = NetInitialize(per_step_classifier(), random_seed=0)
    one, batch = rng.normal(size=(5, 3)), rng.normal(size=(2, 4, 3))
    ragged = [rng.normal(size=(L, 3)) for L in (2, 5, 1)]
    assert net(one) == argmax_labels(net(one, NetPort("Output")))
    assert net(batch) == [argmax_labels(p) for p in net(batch, NetPort("Output"))]
    assert net(ragged) == [argmax_labels(p) for p in net(ragged, NetPort("Output"))]
    raw = net(ragged, NetPort("Output"))
    assert [len(labels) for labels in net(ragged)] == [2, 5, 1]
    assert net(ragged, "Probabilities")[1] == [
        pytest.approx(dict(zip(ABC, p.tolist()))) for p in raw[1]
    ]
    assert net(one, ("Probability", "c")) == pytest.approx(net(one, NetPort("Output"))[:, 2])
    dec = net.coders["Output"]
    assert dec(raw[1]) == argmax_labels(raw[1]) and dec(raw[1], ("TopDecisions", 1)) == [
        [x] for x in argmax_labels(raw[1])
    ]
    assert dec.target(["c", "a"]).tolist() == [2, 0]
    assert repr(dec) == 'NetDecoder("Class", 3 labels, input_depth=2)'
    with pytest.raises(
        ValueError, match=r"a target is a list of labels, one per step; received 'a'"
    ):
        dec.target("a")


def test_netTrain_with_per_step_labels(rng):
    xs = [rng.normal(size=(L, 3)) for L in rng.integers(2, 7, size=24)]
    labels = [argmax_labels(x) for x in xs]
    kw = dict(max_training_rounds=40, batch_size=8, random_seed=0, training_progress_reporting=None)
    kw["method"] = ("ADAM", {"learning_rate": 0.05})
    trained = NetTrain(per_step_classifier(), (xs, labels), **kw)
    steps = [p == t for got, want in zip(trained(xs), labels) for p, t in zip(got, want)]
    assert np.mean(steps) > 0.95  # untrained: about a third
    # sequences of one length, as an array, with their labels as a list of equal lists
    X = rng.normal(size=(24, 4, 3))
    trained = NetTrain(per_step_classifier(), (X, [argmax_labels(x) for x in X]), **kw)
    assert np.mean(np.array(trained(X)) == np.array([argmax_labels(x) for x in X])) > 0.95
    with pytest.raises(ValueError, match="a target is a list of labels, one per step"):
        NetTrain(per_step_classifier(), (xs, [w[0] for w in labels]), **kw)


def test_nets_that_differ_only_in_their_coders_are_not_equal():
    def net(labels, letters="xy"):
        return NetChain(
            [EmbeddingLayer(3), SequenceLastLayer(), LinearLayer(2), SoftmaxLayer()],
            input=NetEncoder("Characters", letters),
            output=NetDecoder("Class", labels),
        )

    assert net(["a", "b"]) == net(["a", "b"])
    assert net(["a", "b"]) != net(["b", "a"])  # another label order: other decisions
    assert net(["a", "b"]) != net(["a", "b"], "yx")  # another encoding of the same letters
    plain = NetChain([LinearLayer(2), SoftmaxLayer()], input=3)
    decoded = NetChain(
        [LinearLayer(2), SoftmaxLayer()], input=3, output=NetDecoder("Class", ["a", "b"])
    )
    assert plain != decoded
