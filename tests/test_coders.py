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
