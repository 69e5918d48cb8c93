"""NetGraph: every edge form, graph ports, nesting, and the wiring errors."""

import numpy as np
import pytest

from netgraph import (
    ElementwiseLayer,
    LinearLayer,
    NetChain,
    NetGraph,
    NetInitialize,
    NetPort,
    SoftmaxLayer,
)
from netgraph.kernels.base import Op
from netgraph.layers.base import Layer, meet, same
from netgraph.types import REAL, TensorType


class _DiffOp(Op):
    def forward(self, xs, lens, arrays, ctx):
        a, b = xs
        return [a - 2 * b], None

    def backward(self, saved, dys, arrays, ctx):
        (dy,) = dys
        return [dy, -2 * dy], {}


class DiffLayer(Layer):
    """A two-input test layer: Output = Input1 − 2·Input2 (all three of one shape)."""

    inputs = ("Input1", "Input2")

    def __init__(self, *, input1=None, input2=None, output=None, **unknown):
        self.check_unknown(unknown)
        self._init({}, {"Input1": input1, "Input2": input2, "Output": output})

    def infer(self, t, u):
        t = {p: meet(u, t[p], TensorType(None, REAL), f'port "{p}"') for p in t}
        t = same(u, t, "Input1", "Input2", "DiffLayer")
        return same(u, t, "Input1", "Output", "DiffLayer")

    def op(self, t):
        return _DiffOp(self, t)


def _lin(rng, n, k):
    return LinearLayer(n, weights=rng.normal(size=(n, k)), biases=rng.normal(size=n))


def _affine(layer, x):
    return x @ np.asarray(layer.arrays["Weights"]).T + layer.arrays["Biases"]


def test_pair_edge_and_chain_edge_compute_the_same(rng):
    a, b, c = _lin(rng, 4, 3), ElementwiseLayer("Tanh"), _lin(rng, 2, 4)
    pairs = NetGraph({"a": a, "b": b, "c": c}, [("a", "b"), ("b", "c")], input=3)
    chained = NetGraph({"a": a, "b": b, "c": c}, [("a", "b", "c")], input=3)
    assert pairs.edges == chained.edges
    assert pairs.input_ports() == ("Input",) and pairs.output_ports() == ("Output",)
    x = rng.normal(size=(5, 3))
    want = _affine(c, np.tanh(_affine(a, x)))
    np.testing.assert_allclose(chained(x, working_precision="Real64"), want, rtol=1e-12)
    np.testing.assert_allclose(pairs(x, working_precision="Real64"), want, rtol=1e-12)


def test_single_edge_tuple_need_not_be_in_a_list():
    g = NetGraph({"a": LinearLayer(2), "b": ElementwiseLayer("Tanh")}, ("a", "b"), input=3)
    assert (("a", "Output"), ("b", "Input")) in g.edges
    assert g.ports["Output"].dims == (2,)


def test_int_names_in_edges_refer_to_list_layers(rng):
    lin = _lin(rng, 3, 2)
    g = NetGraph([lin, ElementwiseLayer("Sin"), ElementwiseLayer("Cos")], [(1, 2), (1, 3)], input=2)
    assert list(g.layers) == ["1", "2", "3"]
    # two unconnected "Output"s: numbered in layer order
    assert g.output_ports() == ("Output1", "Output2")
    x = rng.normal(size=2)
    out = g(x, working_precision="Real64")
    np.testing.assert_allclose(out["Output1"], np.sin(_affine(lin, x)), rtol=1e-12)
    np.testing.assert_allclose(out["Output2"], np.cos(_affine(lin, x)), rtol=1e-12)


def test_multi_input_edge_into_a_two_input_layer(rng):
    g = NetGraph(
        {"a": ElementwiseLayer("Tanh"), "b": ElementwiseLayer("Sin"), "d": DiffLayer()},
        [(["a", "b"], "d")],
        input=3,
    )
    assert (("a", "Output"), ("d", "Input1")) in g.edges
    assert (("b", "Output"), ("d", "Input2")) in g.edges
    # the unconnected inputs of "a" and "b" share the one graph input "Input"
    assert g.input_ports() == ("Input",)
    x = rng.normal(size=(4, 3))
    np.testing.assert_allclose(
        g(x, working_precision="Real64"), np.tanh(x) - 2 * np.sin(x), rtol=1e-12
    )


def test_multi_input_edge_into_a_graph_exposing_two_inputs(rng):
    inner = NetGraph({"d": DiffLayer()}, [])
    assert inner.input_ports() == ("Input1", "Input2")
    g = NetGraph(
        {"a": ElementwiseLayer("Exp"), "b": ElementwiseLayer("Abs"), "in": inner},
        [(["b", "a"], "in")],
        input=2,
    )
    x = rng.normal(size=2)
    np.testing.assert_allclose(g(x, working_precision="Real64"), np.abs(x) - 2 * np.exp(x))
    with pytest.raises(
        ValueError,
        match=r'3 sources go into layer "in" \(NetGraph\), which has only the input ports Input1, Input2',
    ):
        NetGraph({"a": LinearLayer(2), "in": inner}, [(["a", "a", "a"], "in")])


def test_netports_with_custom_names_on_either_end(rng):
    lin = _lin(rng, 3, 4)
    g = NetGraph(
        {"a": lin, "b": ElementwiseLayer("Tanh")},
        [
            (NetPort("init"), "a"),
            ("a", NetPort("FinalOut")),
            (NetPort("a", "Output"), NetPort("b", "Input")),
        ],
        init=4,
    )
    assert g.input_ports() == ("init",)
    assert g.output_ports() == ("FinalOut", "Output")
    assert g.ports["FinalOut"].dims == (3,) and g.ports["Output"].dims == (3,)
    x = rng.normal(size=(2, 4))
    out = g({"init": x}, working_precision="Real64")
    np.testing.assert_allclose(out["FinalOut"], _affine(lin, x), rtol=1e-12)
    np.testing.assert_allclose(out["Output"], np.tanh(_affine(lin, x)), rtol=1e-12)
    # a graph input named by NetPort feeds a named port of a layer
    g2 = NetGraph({"d": DiffLayer()}, [(NetPort("x"), NetPort("d", "Input2"))], x=2, input1=2)
    assert g2.input_ports() == ("x", "Input1")
    np.testing.assert_allclose(g2({"x": [1.0, 2.0], "Input1": [0.0, 0.0]}), [-2.0, -4.0])


def test_unconnected_outputs_are_numbered_per_name():
    other = NetGraph({"x": ElementwiseLayer("Tanh")}, [("x", NetPort("Other"))])
    g = NetGraph(
        {"a": ElementwiseLayer("Sin"), "o": other, "c": ElementwiseLayer("Cos")}, [], input=2
    )
    assert g.output_ports() == ("Output1", "Other", "Output2")
    out = g(np.array([0.0, 1.0]))
    np.testing.assert_allclose(out["Output2"], np.cos([0.0, 1.0]), rtol=1e-6)
    np.testing.assert_allclose(out["Other"], np.tanh([0.0, 1.0]), rtol=1e-6)


def test_shared_input_feeds_two_layers(rng):
    a, b = _lin(rng, 2, 3), _lin(rng, 5, 3)
    g = NetGraph({"a": a, "b": b}, [], input=(None,))
    assert g.input_ports() == ("Input",)
    assert g.ports["Input"].dims == (3,)
    assert ((None, "Input"), ("a", "Input")) in g.edges and (
        (None, "Input"),
        ("b", "Input"),
    ) in g.edges
    x = rng.normal(size=3)
    out = g(x, working_precision="Real64")
    np.testing.assert_allclose(out["Output1"], _affine(a, x), rtol=1e-12)
    np.testing.assert_allclose(out["Output2"], _affine(b, x), rtol=1e-12)


def test_graph_in_chain_in_graph(rng):
    inner = NetGraph(
        {"t": ElementwiseLayer("Tanh"), "s": ElementwiseLayer("Sin"), "d": DiffLayer()},
        [(["t", "s"], "d")],
    )
    chain = NetChain([LinearLayer(3), inner])
    outer = NetGraph({"c": chain, "p": SoftmaxLayer()}, [("c", "p")], input=2)
    assert outer.layers["c"].layers["2"].layers["d"].ports["Input2"].dims == (3,)
    outer = NetInitialize(outer, random_seed=3)
    W = np.asarray(outer.layers["c"].layers["1"].arrays["Weights"], np.float64)
    x = rng.normal(size=(3, 2))
    h = x @ W.T
    z = np.tanh(h) - 2 * np.sin(h)
    want = np.exp(z) / np.exp(z).sum(-1, keepdims=True)
    np.testing.assert_allclose(outer(x, working_precision="Real64"), want, rtol=1e-6)
    got = outer(x, NetPort(["c", "2", "s"], "Output"), working_precision="Real64")
    np.testing.assert_allclose(got, np.sin(h), rtol=1e-6)


def test_cycle_is_refused_and_named():
    with pytest.raises(ValueError, match=r"cycle a -> b -> c -> a.*acyclic"):
        NetGraph(
            {"a": LinearLayer(3), "b": ElementwiseLayer("Tanh"), "c": LinearLayer(3)},
            [("a", "b", "c", "a")],
            input=3,
        )
    with pytest.raises(ValueError, match=r"cycle a -> a"):
        NetGraph({"a": ElementwiseLayer("Tanh")}, [("a", "a")])


def test_unknown_layer_in_edge_suggests_the_closest():
    with pytest.raises(
        ValueError,
        match=r'names layer "linn", which is not in the graph \(did you mean "lin"\?\)\. Layers: lin, tanh',
    ):
        NetGraph({"lin": LinearLayer(2), "tanh": ElementwiseLayer("Tanh")}, [("linn", "tanh")])
    with pytest.raises(ValueError, match=r'names layer "3".*Layers: 1, 2'):
        NetGraph([LinearLayer(2), ElementwiseLayer("Tanh")], [(1, 3)])


def test_unknown_port_in_edge_suggests_the_closest():
    with pytest.raises(
        ValueError,
        match=r'layer "d" \(DiffLayer\) has no input port "Inpt1" \(did you mean "Input1"\?\)\. Its input ports: Input1, Input2',
    ):
        NetGraph({"a": LinearLayer(2), "d": DiffLayer()}, [("a", NetPort("d", "Inpt1"))])
    with pytest.raises(
        ValueError,
        match=r'layer "a" \(LinearLayer\) has no output port "Outptu" \(did you mean "Output"\?\)',
    ):
        NetGraph(
            {"a": LinearLayer(2), "b": ElementwiseLayer("Tanh")}, [(NetPort("a", "Outptu"), "b")]
        )


def test_input_port_connected_twice_is_refused():
    with pytest.raises(
        ValueError,
        match=r'port "Input" of "c" is connected twice, from port "Output" of "a" and from port "Output" of "b"',
    ):
        NetGraph(
            {"a": LinearLayer(2), "b": LinearLayer(2), "c": ElementwiseLayer("Tanh")},
            [("a", "c"), ("b", "c")],
        )


def test_edge_errors():
    with pytest.raises(TypeError, match=r"each edge is a tuple"):
        NetGraph({"a": LinearLayer(2)}, [["a", "a"]])
    with pytest.raises(TypeError, match=r"a list of sources may only start an edge"):
        NetGraph({"a": LinearLayer(2), "b": LinearLayer(2)}, [("a", ["b"])])
    with pytest.raises(ValueError, match=r"reaches inside a nested net"):
        NetGraph(
            {"c": NetChain([LinearLayer(2)]), "b": ElementwiseLayer("Tanh")},
            [(NetPort(["c", "1"], "Output"), "b")],
        )


def test_conflict_across_an_edge_names_both_ends():
    msg = (
        r'Cannot connect port "Output" of layer "a" \(LinearLayer\) to port "Input1" of layer "d" '
        r"\(DiffLayer\): the first is a vector of size 3 \(reals\), the second expects a vector of size 4"
    )
    with pytest.raises(ValueError, match=msg):
        NetGraph(
            {"a": LinearLayer(3), "d": DiffLayer()},
            [("a", NetPort("d", "Input1"))],
            input=2,
            input2=4,
        )


def test_graph_output_connected_twice_and_empty_graph_are_refused():
    with pytest.raises(
        ValueError,
        match=r'the graph port "Out" is connected twice, from port "Output" of "a" and from port "Output" of "b"',
    ):
        NetGraph(
            {"a": LinearLayer(2), "b": LinearLayer(2)},
            [("a", NetPort("Out")), ("b", NetPort("Out"))],
        )
    with pytest.raises(ValueError, match=r"NetGraph: give at least one layer"):
        NetGraph({}, [])
    with pytest.raises(ValueError, match=r'layer names may not contain "/"; received "a/b"'):
        NetGraph({"a/b": LinearLayer(2)}, [])
    with pytest.raises(
        ValueError,
        match=r'there is no port "Inptu" to give a shape to \(did you mean "Input"\?\)\. Ports: Input, Output',
    ):
        NetGraph({"a": LinearLayer(2)}, [], inptu=3)


def test_edge_from_graph_input_through_a_chain_to_a_named_output():
    g = NetGraph(
        {"a": ElementwiseLayer("Abs"), "b": ElementwiseLayer("Sqrt")},
        [(NetPort("Input"), "a", "b", NetPort("Out"))],
        input=3,
    )
    assert g.input_ports() == ("Input",) and g.output_ports() == ("Out",)
    np.testing.assert_allclose(g(np.array([-4.0, 9.0, 0.25])), [2.0, 3.0, 0.5])
