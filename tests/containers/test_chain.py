"""NetChain: naming, wiring, inference through the chain, nesting and evaluation."""

import numpy as np
import pytest

from netgraph import ElementwiseLayer, LinearLayer, NetChain, NetGraph, NetPort, SoftmaxLayer


def _lin(rng, n, k):
    return LinearLayer(n, weights=rng.normal(size=(n, k)), biases=rng.normal(size=n))


def test_list_layers_are_named_from_one(rng):
    chain = NetChain([_lin(rng, 4, 3), ElementwiseLayer("Tanh"), _lin(rng, 2, 4)], input=(None,))
    assert list(chain.layers) == ["1", "2", "3"]
    assert chain.input_ports() == ("Input",) and chain.output_ports() == ("Output",)
    assert chain.edges[:2] == ((("1", "Output"), ("2", "Input")), (("2", "Output"), ("3", "Input")))
    # a vector input: its size comes from the first layer's weights
    assert chain.ports["Input"].dims == (3,) and chain.ports["Output"].dims == (2,)
    assert chain.layers["2"].ports["Input"].dims == (4,)


def test_dict_layers_keep_their_names_and_order(rng):
    chain = NetChain({"lin": _lin(rng, 4, 3), "soft": SoftmaxLayer()}, input=("Varying", None))
    assert list(chain.layers) == ["lin", "soft"]
    assert chain.edges[0] == (("lin", "Output"), ("soft", "Input"))
    assert repr(chain.ports["Input"]) == "(Varying, 3)"
    assert repr(chain.ports["Output"]) == "(Varying, 4)"


def test_chain_computes_the_composition(rng):
    W1, b1, W2, b2 = rng.normal(size=(4, 3)), rng.normal(size=4), rng.normal(size=(2, 4)), [1, -1]
    chain = NetChain(
        [
            LinearLayer(4, weights=W1, biases=b1),
            ElementwiseLayer("Tanh"),
            LinearLayer(2, weights=W2, biases=b2),
            SoftmaxLayer(),
        ]
    )
    x = rng.normal(size=(5, 3))
    z = np.tanh(x @ W1.T + b1) @ W2.T + np.array(b2)
    want = np.exp(z) / np.exp(z).sum(-1, keepdims=True)
    np.testing.assert_allclose(chain(x, working_precision="Real64"), want, rtol=1e-12)
    np.testing.assert_allclose(chain(x[2]), want[2], rtol=1e-5)
    # an inner port's value, by name and by int
    h = chain(x, NetPort(2, "Output"), working_precision="Real64")
    np.testing.assert_allclose(h, np.tanh(x @ W1.T + b1), rtol=1e-12)


def test_chain_port_shapes_by_keyword():
    chain = NetChain([LinearLayer(5), ElementwiseLayer("Tanh")], input=("Varying", 3))
    assert repr(chain.ports["Input"]) == "(Varying, 3)"
    assert repr(chain.ports["Output"]) == "(Varying, 5)"
    assert chain.ports["Input"].var is chain.ports["Output"].var
    with pytest.raises(
        ValueError, match=r'no port "Outptu" to give a shape to \(did you mean "Output"'
    ):
        NetChain([LinearLayer(5)], outptu=5)


def test_chain_inside_graph_inside_chain_three_levels(rng):
    W = rng.normal(size=(3, 5))
    inner = NetChain([LinearLayer(3, weights=W, biases=np.zeros(3)), ElementwiseLayer("Tanh")])
    mid = NetGraph({"c": inner, "s": SoftmaxLayer()}, [("c", "s")])
    outer = NetChain([mid, ElementwiseLayer("Square")], input=5)
    # the outer input shape reached the innermost layer; its output came back out
    assert outer.layers["1"].layers["c"].layers["1"].ports["Input"].dims == (5,)
    assert outer.ports["Output"].dims == (3,)
    x = rng.normal(size=(4, 5))
    z = np.tanh(x @ W.T)
    p = np.exp(z) / np.exp(z).sum(-1, keepdims=True)
    np.testing.assert_allclose(outer(x, working_precision="Real64"), p**2, rtol=1e-12)
    inner_value = outer(x, NetPort(["1", "c", "1"], "Output"), working_precision="Real64")
    np.testing.assert_allclose(inner_value, x @ W.T, rtol=1e-12)
    np.testing.assert_allclose(
        outer(x, NetPort(["1", "c"], "Output"), working_precision="Real64"), z, rtol=1e-12
    )


def test_chain_of_chains_infers_backwards_from_the_end(rng):
    W = rng.normal(size=(2, 6))
    net = NetChain(
        [NetChain([LinearLayer(), ElementwiseLayer("Tanh")]), LinearLayer(2, weights=W)], input=3
    )
    # the size 6 of the first LinearLayer comes from the last layer's weights
    assert net.layers["1"].layers["1"].ports["Output"].dims == (6,)
    assert net.layers["1"].ports["Output"].dims == (6,)


def test_chain_errors():
    with pytest.raises(ValueError, match="at least one layer"):
        NetChain([])
    with pytest.raises(TypeError, match=r'layer "2" must be a layer .* received 3 of type int'):
        NetChain([LinearLayer(2), 3])
    with pytest.raises(TypeError, match="must be a list or a dict of layers; received LinearLayer"):
        NetChain(LinearLayer(2))
    with pytest.raises(
        ValueError,
        match=r'Cannot connect port "Output" of layer "1" \(LinearLayer\) to port "Input" of layer "2"',
    ):
        NetChain([LinearLayer(3, input=4), LinearLayer(2, input=5)])
