"""The Net base: pickle and deepcopy keep a net whole and frozen."""

import copy
import pickle

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
    SequenceLastLayer,
    SoftmaxLayer,
)
from netgraph.walk import all_arrays


def _classifier():
    net = NetChain(
        [
            EmbeddingLayer(4),
            LongShortTermMemoryLayer(3),
            SequenceLastLayer(),
            LinearLayer(2),
            SoftmaxLayer(),
        ],
        input=NetEncoder("Tokens", ["the", "cat", "sat"]),
        output=NetDecoder("Class", ["no", "yes"]),
    )
    return NetInitialize(net, random_seed=0)


def _graph():
    g = NetGraph(
        {"lstm": LongShortTermMemoryLayer(3), "last": SequenceLastLayer(), "out": LinearLayer(2)},
        [
            ("lstm", "last", "out"),
            (NetPort("init"), NetPort("lstm", "State")),
            (NetPort("lstm", "CellState"), NetPort("FinalCell")),
        ],
        input=("Varying", 2),
    )
    return NetInitialize(g, random_seed=1)


@pytest.mark.parametrize("clone", [lambda n: pickle.loads(pickle.dumps(n)), copy.deepcopy])
def test_pickle_and_deepcopy_keep_a_net_with_coders(clone):
    net = _classifier()
    net("the cat sat")  # a cached plan does not travel
    back = clone(net)
    assert back == net and back is not net
    assert repr(back.coders["Input"]) == repr(net.coders["Input"])
    assert back("The CAT sat") == net("The CAT sat")  # the encoder still ignores case
    assert back("the cat", "Probabilities") == net("the cat", "Probabilities")


@pytest.mark.parametrize("clone", [lambda n: pickle.loads(pickle.dumps(n)), copy.deepcopy])
def test_a_cloned_net_stays_frozen(clone):
    back = clone(_graph())
    for key, a in all_arrays(back).items():
        assert not a.flags.writeable, key
        with pytest.raises(ValueError):
            a.flags.writeable = True
    with pytest.raises(TypeError, match="read-only"):
        back.layers["out"].arrays["Weights"] = None
    with pytest.raises(AttributeError, match="immutable"):
        back.layers = {}


def test_a_cloned_graph_with_state_ports_computes_the_same(rng):
    net = _graph()
    x = rng.normal(size=(5, 2))
    init = rng.normal(size=3)
    data = {"Input": x, "init": init}
    want = net(data, ["Output", "FinalCell"])
    for back in (pickle.loads(pickle.dumps(net)), copy.deepcopy(net)):
        got = back(data, ["Output", "FinalCell"])
        for p in want:
            np.testing.assert_array_equal(got[p], want[p])
