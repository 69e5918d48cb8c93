"""Information, Options and the net tables."""

import os
import subprocess
import sys

import networkx as nx
import numpy as np
import pytest

from netgraph import (
    ElementwiseLayer,
    Information,
    LinearLayer,
    MeanSquaredLossLayer,
    NetChain,
    NetGraph,
    NetInitialize,
    NetPort,
    Options,
    SoftmaxLayer,
)
from netgraph.types import describe_shape


def chain(**kw):
    return NetChain([LinearLayer(5), ElementwiseLayer("Tanh"), LinearLayer(2)], input=3, **kw)


def graph():
    inner = NetChain([LinearLayer(4), ElementwiseLayer("Ramp")])
    return NetGraph(
        {
            "a": LinearLayer(3),
            "b": ElementwiseLayer("Tanh"),
            "c": inner,
            "loss": MeanSquaredLossLayer(),
        },
        [("a", "b", "c"), ("c", "loss"), ("a", NetPort("A"))],
        input=2,
    )


# -- arrays --------------------------------------------------------------------------------


def test_array_counts_uninitialized_and_initialized():
    total = 5 * 3 + 5 + 2 * 5 + 2
    for net in (chain(), NetInitialize(chain(), random_seed=0)):
        assert Information(net, "ArraysTotalElementCount") == total
        assert Information(net, "ArraysTotalByteCount") == 4 * total
        assert Information(net, "ArraysCount") == 4
        assert Information(net, "ArraysDimensions") == {
            ("1", "Weights"): (5, 3),
            ("1", "Biases"): (5,),
            ("3", "Weights"): (2, 5),
            ("3", "Biases"): (2,),
        }
        assert Information(net, "ArraysPositionList") == [
            ("1", "Weights"),
            ("1", "Biases"),
            ("3", "Weights"),
            ("3", "Biases"),
        ]


def test_arrays_values_and_none_while_uninitialized():
    assert set(Information(chain(), "Arrays").values()) == {None}
    net = NetInitialize(chain(), random_seed=3)
    arrays = Information(net, "Arrays")
    w = net.layers["1"].arrays["Weights"]
    np.testing.assert_array_equal(arrays[("1", "Weights")], w)
    np.testing.assert_array_equal(arrays[("3", "Biases")], np.zeros(2))
    assert not arrays[("1", "Weights")].flags.writeable


def test_float64_arrays_count_their_bytes():
    lin = LinearLayer(2, weights=np.ones((2, 3)), biases=np.zeros(2))
    assert Information(lin, "ArraysTotalByteCount") == 8 * (6 + 2)


def test_unknown_shapes_give_none():
    lin = LinearLayer(5)
    assert Information(lin, "ArraysDimensions") == {("Weights",): None, ("Biases",): (5,)}
    assert Information(lin, "ArraysTotalElementCount") is None
    assert Information(lin, "ArraysTotalByteCount") is None
    assert Information(lin, "ArraysCount") == 2


def test_nested_array_positions():
    dims = Information(graph(), "ArraysDimensions")
    assert dims == {
        ("a", "Weights"): (3, 2),
        ("a", "Biases"): (3,),
        ("c", "1", "Weights"): (4, 3),
        ("c", "1", "Biases"): (4,),
    }
    assert Information(graph(), "ArraysTotalElementCount") == 6 + 3 + 12 + 4


# -- layers and ports ----------------------------------------------------------------------


def test_layers_of_a_nested_graph():
    g = graph()
    layers = Information(g, "Layers")
    assert list(layers) == [("a",), ("b",), ("c", "1"), ("c", "2"), ("loss",)]
    assert layers[("c", "1")].ports["Output"].dims == (4,)
    assert Information(g, "LayersCount") == 5
    assert [type(x).__name__ for x in Information(g, "LayersList")] == [
        "LinearLayer",
        "ElementwiseLayer",
        "LinearLayer",
        "ElementwiseLayer",
        "MeanSquaredLossLayer",
    ]
    assert Information(g, "LayerTypeCounts") == {
        "LinearLayer": 2,
        "ElementwiseLayer": 2,
        "MeanSquaredLossLayer": 1,
    }


def test_ports():
    g = graph()
    ins, outs = Information(g, "InputPorts"), Information(g, "OutputPorts")
    assert {p: describe_shape(t) for p, t in ins.items()} == {"Input": "(2,)", "Target": "(4,)"}
    assert {p: describe_shape(t) for p, t in outs.items()} == {"A": "(3,)", "Loss": "Real"}
    seq = NetChain([LinearLayer(4)], input=("Varying", 2))
    assert repr(Information(seq, "OutputPorts")["Output"]) == "(Varying, 4)"


def test_bare_layer():
    lin = LinearLayer(2, input=3)
    assert Information(lin, "Layers") == {(): lin}
    assert Information(lin, "LayersCount") == 1
    assert Information(lin, "ArraysPositionList") == [("Weights",), ("Biases",)]
    assert Information(lin, "ArraysTotalElementCount") == 8
    g = Information(lin, "LayersGraph")
    assert set(g.edges) == {(NetPort("Input"), "LinearLayer"), ("LinearLayer", NetPort("Output"))}


class StatefulTanh(ElementwiseLayer):
    state_ports = ("Output",)


def test_recurrent_states_are_read_from_state_ports():
    assert Information(chain(), "RecurrentStatesCount") == 0
    assert Information(chain(), "RecurrentStatesPositionList") == []
    net = NetChain({"lin": LinearLayer(3), "s": StatefulTanh("Tanh")}, input=2)
    assert Information(net, "RecurrentStatesCount") == 1
    assert Information(net, "RecurrentStatesPositionList") == [NetPort("s", "Output")]
    assert Information(StatefulTanh("Tanh"), "RecurrentStatesPositionList") == [NetPort("Output")]
    assert "recurrent states: 1" in Information(net)


# -- the graph -----------------------------------------------------------------------------


def test_layers_graph_sees_through_nesting():
    g = Information(graph(), "LayersGraph")
    assert isinstance(g, nx.DiGraph)
    assert set(g.edges) == {
        (NetPort("Input"), "a"),
        ("a", "b"),
        ("a", NetPort("A")),
        ("b", "c/1"),
        ("c/1", "c/2"),
        ("c/2", "loss"),
        (NetPort("Target"), "loss"),
        ("loss", NetPort("Loss")),
    }
    assert g.nodes["c/1"]["type"] == "LinearLayer"
    assert g.nodes["c/1"]["kind"] == "layer"
    assert g.nodes["c/1"]["ports"]["Input"].dims == (3,)
    assert g.nodes[NetPort("Target")]["kind"] == "input"
    assert g.nodes[NetPort("Loss")]["kind"] == "output"
    assert g.edges["c/2", "loss"]["ports"] == [("Output", "Input")]
    assert g.edges[NetPort("Target"), "loss"]["ports"] == [("Target", "Target")]
    assert list(nx.topological_sort(g))  # acyclic


def test_summary_graphic_needs_matplotlib(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ImportError, match=r"pip install netgraph\[plot\]"):
        Information(chain(), "SummaryGraphic")


def test_summary_graphic_draws_every_node():
    figure = pytest.importorskip("matplotlib.figure")
    fig = Information(graph(), "SummaryGraphic")
    assert isinstance(fig, figure.Figure)
    texts = " ".join(t.get_text() for t in fig.axes[0].texts)
    for word in ("c/1", "MeanSquaredLossLayer", "Target", "Loss", "(4,)"):
        assert word in texts
    assert sum(bool(t.get_text()) for t in fig.axes[0].texts) == 5 + 4  # layers and ports


# -- the topology hash ---------------------------------------------------------------------


def test_topology_hash_ignores_array_values():
    a = Information(NetInitialize(chain(), random_seed=0), "TopologyHash")
    b = Information(NetInitialize(chain(), random_seed=1), "TopologyHash")
    assert a == b == Information(chain(), "TopologyHash")
    assert len(a) == 64 and int(a, 16) >= 0


def test_topology_hash_sees_sizes_layers_and_names():
    h = Information(chain(), "TopologyHash")
    wider = NetChain([LinearLayer(6), ElementwiseLayer("Tanh"), LinearLayer(2)], input=3)
    other_input = NetChain([LinearLayer(5), ElementwiseLayer("Tanh"), LinearLayer(2)], input=4)
    other_fn = NetChain([LinearLayer(5), ElementwiseLayer("Sin"), LinearLayer(2)], input=3)
    named = NetChain(
        {"x": LinearLayer(5), "y": ElementwiseLayer("Tanh"), "z": LinearLayer(2)}, input=3
    )
    hashes = {Information(n, "TopologyHash") for n in (wider, other_input, other_fn, named)}
    assert len(hashes) == 4 and h not in hashes


def test_topology_hash_is_the_same_in_another_process():
    code = (
        "from netgraph import *\n"
        "n = NetChain([LinearLayer(5), ElementwiseLayer('Tanh'), LinearLayer(2)], input=3)\n"
        "print(Information(n, 'TopologyHash'))"
    )
    out = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
        ).stdout.strip()
        for seed in ("1", "2")
    }
    assert out == {Information(chain(), "TopologyHash")}


# -- properties and the summary ------------------------------------------------------------


def test_properties_and_unknown_property():
    props = Information(chain(), "Properties")
    assert "ArraysTotalElementCount" in props and "TopologyHash" in props and len(props) == 19
    with pytest.raises(ValueError, match=r'did you mean "ArraysCount"\?.*LayersGraph'):
        Information(chain(), "ArrayCount")
    with pytest.raises(TypeError, match="layer or a net"):
        Information([1, 2], "ArraysCount")


def test_every_property_of_a_known_net():
    net = NetInitialize(graph(), random_seed=0)
    a, c, loss = net.layers["a"], net.layers["c"], net.layers["loss"]
    layers = {
        ("a",): a,
        ("b",): net.layers["b"],
        ("c", "1"): c.layers["1"],
        ("c", "2"): c.layers["2"],
        ("loss",): loss,
    }
    arrays = {
        ("a", "Weights"): a.arrays["Weights"],
        ("a", "Biases"): np.zeros(3),
        ("c", "1", "Weights"): c.layers["1"].arrays["Weights"],
        ("c", "1", "Biases"): np.zeros(4),
    }
    dims = {("a", "Weights"): (3, 2), ("a", "Biases"): (3,)}
    dims.update({("c", "1", "Weights"): (4, 3), ("c", "1", "Biases"): (4,)})
    want = {
        "Arrays": {k: np.asarray(v).tolist() for k, v in arrays.items()},
        "ArraysCount": 4,
        "ArraysDimensions": dims,
        "ArraysPositionList": list(dims),
        "ArraysTotalByteCount": 4 * 25,  # float32
        "ArraysTotalElementCount": 3 * 2 + 3 + 4 * 3 + 4,
        "InputPorts": {"Input": "(2,)", "Target": "(4,)"},
        "Layers": layers,
        "LayersCount": 5,
        "LayersGraph": {
            (NetPort("Input"), "a", (("Input", "Input"),)),
            ("a", "b", (("Output", "Input"),)),
            ("a", NetPort("A"), (("Output", "A"),)),
            ("b", "c/1", (("Output", "Input"),)),
            ("c/1", "c/2", (("Output", "Input"),)),
            ("c/2", "loss", (("Output", "Input"),)),
            (NetPort("Target"), "loss", (("Target", "Target"),)),
            ("loss", NetPort("Loss"), (("Loss", "Loss"),)),
        },
        "LayersList": list(layers.values()),
        "LayerTypeCounts": {"LinearLayer": 2, "ElementwiseLayer": 2, "MeanSquaredLossLayer": 1},
        "OutputPorts": {"A": "(3,)", "Loss": "Real"},
        "Properties": None,  # every name of this dict, in this order (set below)
        "RecurrentStatesCount": 0,
        "RecurrentStatesPositionList": [],
        "SummaryGraphic": {
            "a\nLinearLayer\n(3,)",
            "b\nElementwiseLayer\n(3,)",
            "c/1\nLinearLayer\n(4,)",
            "c/2\nElementwiseLayer\n(4,)",
            "loss\nMeanSquaredLossLayer\nReal",
            "Input\n(2,)",
            "Target\n(4,)",
            "A\n(3,)",
            "Loss\nReal",
        },
        "TopologyHash": Information(graph(), "TopologyHash"),  # the arrays' values do not count
        "UpdatedArraysPositionList": [],  # no arrays set without gradients
    }
    want["Properties"] = list(want)
    shown = {
        "Arrays": lambda v: {k: np.asarray(x).tolist() for k, x in v.items()},
        "InputPorts": lambda v: {p: describe_shape(t) for p, t in v.items()},
        "OutputPorts": lambda v: {p: describe_shape(t) for p, t in v.items()},
        "LayersGraph": lambda g: {(u, v, tuple(d["ports"])) for u, v, d in g.edges(data=True)},
        "SummaryGraphic": lambda fig: {t.get_text() for t in fig.axes[0].texts if t.get_text()},
    }
    for p in Information(net, "Properties"):
        got = shown.get(p, lambda v: v)(Information(net, p))
        assert got == want[p], p
    assert Information(net, "TopologyHash") != Information(chain(), "TopologyHash")


def test_summary_text():
    s = Information(NetInitialize(chain(), random_seed=0))
    assert isinstance(s, str)
    assert repr(s) == str(s)  # prints without quotes
    assert "input ports:  Input: (3,)" in s
    assert "layers: 3 (LinearLayer: 2, ElementwiseLayer: 1)" in s
    assert "arrays: 4, 32 elements, 128 bytes" in s
    assert Information(chain(), "TopologyHash")[:16] in s
    assert "arrays: 4 (4 uninitialized)" in Information(chain())
    assert s._repr_html_().startswith("<pre>")


# -- Options -------------------------------------------------------------------------------


def test_options_of_a_class():
    assert Options(LinearLayer) == LinearLayer.option_defaults()
    assert Options(LinearLayer)["n"] is None and "weights" in Options(LinearLayer)
    assert Options(ElementwiseLayer)["function"] == "Ramp"
    assert Options(NetChain) == {"layers": None, "input": None, "output": None}
    assert "edges" in Options(NetGraph)


def test_options_of_values():
    o = Options(ElementwiseLayer("Tanh", input=(2, 3)))
    assert o["function"] == "Tanh"
    assert o["input"].dims == (2, 3) and o["output"].dims == (2, 3)
    o = Options(graph())
    assert sorted(o) == ["a", "input", "loss", "target"]
    assert o["target"].dims == (4,)
    with pytest.raises(TypeError, match="Options"):
        Options(3)


# -- the tables ----------------------------------------------------------------------------


def test_repr_table():
    text = repr(NetInitialize(chain(), random_seed=0))
    lines = text.splitlines()
    assert lines[0] == "NetChain[Input: (3,) -> Output: (2,)]"
    assert lines[1].split() == ["layer", "type", "output", "elements"]
    assert lines[2].split() == ["1", "LinearLayer", "(5,)", "20"]
    assert lines[3].split() == ["2", "ElementwiseLayer", "(5,)"]
    assert lines[4].split() == ["3", "LinearLayer", "(2,)", "12"]
    assert lines[5].strip() == "3 layers, 4 arrays, 32 elements"
    assert "20 (uninitialized)" in repr(chain())


def test_repr_nested_and_multi_output():
    text = repr(graph())
    assert "NetGraph[Input: (2,), Target: (4,) -> A: (3,), Loss: Real]" in text
    row = next(line for line in text.splitlines() if line.strip().startswith("c/1"))
    assert row.split()[:3] == ["c/1", "LinearLayer", "(4,)"]


def test_repr_of_a_layer():
    assert repr(LinearLayer(2, input=3)) == (
        "LinearLayer(n=(2,), biases=True) [Input: (3,) -> Output: (2,)] (uninitialized)"
    )
    assert repr(SoftmaxLayer(input=4)).startswith("SoftmaxLayer() [Input: (4,) -> Output: (4,)]")
