"""NetExtract, NetReplacePart, NetTake, NetDrop, NetAppend, NetPrepend, NetFlatten, NetRename."""

import numpy as np
import pytest

from netgraph import (
    All,
    ElementwiseLayer,
    Information,
    LinearLayer,
    MeanSquaredLossLayer,
    NetAppend,
    NetChain,
    NetDrop,
    NetExtract,
    NetFlatten,
    NetGraph,
    NetInitialize,
    NetPort,
    NetPrepend,
    NetRename,
    NetReplacePart,
    NetTake,
    SoftmaxLayer,
)

X = np.array([[0.5, -1.0, 2.0], [0.1, 0.2, -0.3]])


def chain():
    net = NetChain([LinearLayer(5), ElementwiseLayer("Tanh"), LinearLayer(2)], input=3)
    return NetInitialize(net, random_seed=0)


def graph():
    inner = NetChain([LinearLayer(4), ElementwiseLayer("Ramp")])
    net = NetGraph(
        {
            "a": LinearLayer(3),
            "b": ElementwiseLayer("Tanh"),
            "c": inner,
            "d": ElementwiseLayer("Sin"),
        },
        [("a", "b", "c"), ("a", "d")],
        input=3,
    )
    return NetInitialize(net, random_seed=1)


def run(net, x=X):
    return net(x, working_precision="Real64")


def snapshot(net):
    return Information(net, "TopologyHash"), {
        k: None if a is None else a.copy() for k, a in Information(net, "Arrays").items()
    }


def unchanged(net, snap):
    h, arrays = snapshot(net)
    assert h == snap[0] and arrays.keys() == snap[1].keys()
    for k in arrays:
        np.testing.assert_array_equal(arrays[k], snap[1][k])


# -- NetExtract ----------------------------------------------------------------------------


def test_extract_layers_by_name_int_and_path():
    net, g = chain(), graph()
    assert NetExtract(net, 2) is net.layers["2"]
    assert NetExtract(net, "3") is net.layers["3"]
    assert NetExtract(net, -1) is net.layers["3"]
    assert NetExtract(g, ["c", 1]) is g.layers["c"].layers["1"]
    assert NetExtract(g, ("c", "2")).options["function"] == "Ramp"
    named = NetChain({"x": LinearLayer(2), "y": SoftmaxLayer()}, input=3)
    assert NetExtract(named, 2) is named.layers["y"]  # the 2nd layer, counting from 1


def test_extract_arrays_options_ports():
    net = chain()
    w = NetExtract(net, ["1", "Weights"])
    np.testing.assert_array_equal(w, net.layers["1"].arrays["Weights"])
    assert w.shape == (5, 3) and not w.flags.writeable
    assert NetExtract(NetChain([LinearLayer(2)], input=3), ["1", "Weights"]) is None
    assert NetExtract(net, ["2", "function"]) == "Tanh"
    assert NetExtract(net, NetPort("Input")).dims == (3,)
    assert NetExtract(net, NetPort("2", "Output")).dims == (5,)
    assert NetExtract(graph(), NetPort(["c", "1"], "Input")).dims == (3,)
    lin = LinearLayer(2, weights=[[1.0, 2.0]] * 2, input=2)
    np.testing.assert_array_equal(NetExtract(lin, "Weights"), [[1, 2], [1, 2]])
    assert NetExtract(lin, "Output").dims == (2,)


def test_extract_several_and_all():
    net = chain()
    w1, b3 = NetExtract(net, [["1", "Weights"], ("3", "Biases")])
    assert w1.shape == (5, 3) and b3.shape == (2,)
    assert list(NetExtract(net, All)) == ["1", "2", "3"]
    everything = NetExtract(net.layers["1"], All)
    assert everything["n"] == (5,) and everything["Weights"].shape == (5, 3)


def test_extract_errors_name_the_valid_choices():
    net = chain()
    with pytest.raises(ValueError, match=r'no part "Wieghts" \(did you mean "Weights"\?\).*Biases'):
        NetExtract(net, ["1", "Wieghts"])
    with pytest.raises(ValueError, match=r"no layer 7; the NetChain has 3 layers"):
        NetExtract(net, 7)
    with pytest.raises(ValueError, match=r'no layer or port "Inptu" \(did you mean "Input"\?\)'):
        NetExtract(net, "Inptu")
    with pytest.raises(ValueError, match=r'no port "Out" \(did you mean "Output"\?\)'):
        NetExtract(net, NetPort("2", "Out"))
    with pytest.raises(TypeError, match="a part is named by"):
        NetExtract(net, 2.5)


# -- NetReplacePart ------------------------------------------------------------------------


def test_replace_array_changes_the_output_as_by_hand():
    net = chain()
    snap = snapshot(net)
    w = np.arange(15.0).reshape(5, 3) / 10
    new = NetReplacePart(net, {("1", "Weights"): w})
    b1 = net.layers["1"].arrays["Biases"]
    w3, b3 = net.layers["3"].arrays["Weights"], net.layers["3"].arrays["Biases"]
    expected = np.tanh(X @ w.T + b1) @ w3.T.astype(np.float64) + b3
    np.testing.assert_allclose(run(new), expected, rtol=1e-6)
    assert not np.allclose(run(net), expected)
    unchanged(net, snap)


def test_replace_array_of_a_bare_layer_and_a_pair_list():
    lin = LinearLayer(1, weights=[[1.0, 1.0]], biases=[0.0])
    new = NetReplacePart(lin, [("Weights", [[2.0, 3.0]]), ("Biases", [1.0])])
    np.testing.assert_array_equal(new([1.0, 2.0]), [9.0])
    np.testing.assert_array_equal(lin([1.0, 2.0]), [3.0])


def test_replace_array_of_the_wrong_shape():
    with pytest.raises(ValueError, match=r'array "1/Weights".*shape \(5, 3\).*shape \(4, 3\)'):
        NetReplacePart(chain(), {("1", "Weights"): np.zeros((4, 3))})


def test_replace_a_layer_reinfers_sizes():
    net = chain()
    snap = snapshot(net)
    new = NetReplacePart(net, {3: LinearLayer(4)})
    assert new.ports["Output"].dims == (4,)
    assert Information(new, "ArraysDimensions")[("3", "Weights")] == (4, 5)
    np.testing.assert_array_equal(
        new.layers["1"].arrays["Weights"], net.layers["1"].arrays["Weights"]
    )
    unchanged(net, snap)
    # a layer in a nested net, by path
    g = graph()
    new = NetReplacePart(g, {("c", "2"): ElementwiseLayer("Tanh")})
    assert NetExtract(new, ["c", "2", "function"]) == "Tanh"
    out = new(X[0], NetPort(["c", "1"], "Output"))
    np.testing.assert_allclose(new(X[0])["Output1"], np.tanh(out), rtol=1e-6)


def test_replace_a_layer_that_does_not_fit():
    with pytest.raises(ValueError, match=r'NetReplacePart: .*layer "3".*size 5.*size 6'):
        NetReplacePart(chain(), {2: LinearLayer(6)})
    with pytest.raises(TypeError, match="must be replaced by a layer"):
        NetReplacePart(chain(), {2: "Tanh"})


def test_replace_port_shape():
    net = chain()
    snap = snapshot(net)
    seq = NetReplacePart(net, {"Input": ("Varying", 3)})
    assert repr(seq.ports["Output"]) == "(Varying, 2)"
    xs = np.stack([X[0], X[1], X[0]])
    np.testing.assert_allclose(run(seq, xs), run(net, xs), rtol=1e-12)
    unchanged(net, snap)
    by_port = NetReplacePart(net, {NetPort("Input"): ("Varying", 3)})
    assert repr(by_port.ports["Input"]) == "(Varying, 3)"
    with pytest.raises(ValueError, match=r'NetReplacePart: .*"Weights" has shape \(5, 3\)'):
        NetReplacePart(net, {"Input": 4})


def test_replace_refuses_options_and_the_whole_net():
    with pytest.raises(ValueError, match=r'"2/function" is an option'):
        NetReplacePart(chain(), {("2", "function"): "Sin"})
    with pytest.raises(TypeError, match="give a dict"):
        NetReplacePart(chain(), "Input")


# -- NetTake -------------------------------------------------------------------------------


def test_take_chain_matches_inner_ports():
    net = chain()
    snap = snapshot(net)
    for k in (1, 2, 3):
        taken = NetTake(net, k)
        assert list(taken.layers) == [str(i + 1) for i in range(k)]
        inner = net(X, NetPort(str(k), "Output"), working_precision="Real64")
        np.testing.assert_array_equal(run(taken), inner)
    unchanged(net, snap)


def test_take_chain_span_and_names():
    net = chain()
    span = NetTake(net, (2, 3))
    assert list(span.layers) == ["1", "2"]
    assert span.ports["Input"].dims == (5,)
    hidden = net(X, NetPort("1", "Output"), working_precision="Real64")
    np.testing.assert_allclose(run(span, hidden), run(net), rtol=1e-12)
    named = NetRename(net, {"1": "lin", "2": "act", "3": "out"})
    assert list(NetTake(named, "act").layers) == ["lin", "act"]
    assert list(NetTake(named, ("act", "out")).layers) == ["act", "out"]
    assert list(NetTake(net, -2).layers) == ["1", "2"]
    with pytest.raises(ValueError, match="runs backwards"):
        NetTake(net, (3, 1))
    with pytest.raises(ValueError, match=r'no layer "ac" \(did you mean "act"\?\)'):
        NetTake(named, "ac")


def test_take_graph():
    g = graph()
    snap = snapshot(g)
    t = NetTake(g, "b")
    assert list(t.layers) == ["a", "b"]
    assert t.output_ports() == ("Output",)
    np.testing.assert_allclose(run(t), g(X, NetPort("b", "Output"), working_precision="Real64"))
    t = NetTake(g, NetPort("Output2"))
    assert list(t.layers) == ["a", "d"] and t.output_ports() == ("Output2",)
    np.testing.assert_allclose(run(t), run(g)["Output2"])
    t = NetTake(g, ("b", "c"))
    assert list(t.layers) == ["b", "c"] and t.ports["Input"].dims == (3,)
    a = g(X, NetPort("a", "Output"), working_precision="Real64")
    np.testing.assert_allclose(run(t, a), run(g)["Output1"], rtol=1e-12)
    with pytest.raises(ValueError, match='"d" is not reached'):
        NetTake(g, ("b", "d"))
    unchanged(g, snap)


# -- NetDrop -------------------------------------------------------------------------------


def test_drop_chain():
    net = chain()
    snap = snapshot(net)
    first = NetDrop(net, 1)
    assert list(first.layers) == ["1", "2"] and first.ports["Input"].dims == (5,)
    hidden = net(X, NetPort("1", "Output"), working_precision="Real64")
    np.testing.assert_allclose(run(first, hidden), run(net), rtol=1e-12)
    last = NetDrop(net, -1)
    np.testing.assert_allclose(
        run(last), net(X, NetPort("2", "Output"), working_precision="Real64")
    )
    assert last.ports["Output"].dims == (5,)
    middle = NetDrop(net, (2, 2))
    w1, b1 = net.layers["1"].arrays["Weights"], net.layers["1"].arrays["Biases"]
    w3, b3 = net.layers["3"].arrays["Weights"], net.layers["3"].arrays["Biases"]
    np.testing.assert_allclose(run(middle), (X @ w1.T + b1) @ w3.T + b3, rtol=1e-6)
    assert list(NetDrop(net, "2").layers) == ["1", "2"]
    assert list(NetDrop(net, ["1", "2"]).layers) == ["1"]
    unchanged(net, snap)


def test_drop_errors():
    net = NetInitialize(
        NetChain([LinearLayer(5), LinearLayer(4), LinearLayer(2)], input=3), random_seed=0
    )
    with pytest.raises(
        ValueError, match=r'NetDrop: Cannot connect port "Output" of layer "1".*size 5.*size 4'
    ):
        NetDrop(net, (2, 2))
    with pytest.raises(ValueError, match="every layer"):
        NetDrop(net, 3)
    with pytest.raises(ValueError, match="cannot drop 4 layers"):
        NetDrop(net, -4)
    with pytest.raises(TypeError, match="NetChain or a NetGraph"):
        NetDrop(LinearLayer(2), 1)


def test_drop_graph_layers():
    g = graph()
    new = NetDrop(g, "d")
    assert list(new.layers) == ["a", "b", "c"] and new.output_ports() == ("Output1",)
    np.testing.assert_allclose(run(new), run(g)["Output1"])
    new = NetDrop(g, ["b", "c"])
    assert list(new.layers) == ["a", "d"] and new.output_ports() == ("Output2",)
    np.testing.assert_allclose(run(new), run(g)["Output2"])
    new = NetDrop(g, ["c", "d"])  # "b" now feeds nothing: its output becomes the graph's
    assert new.output_ports() == ("Output",)
    np.testing.assert_allclose(run(new), g(X, NetPort("b", "Output"), working_precision="Real64"))


# -- NetAppend and NetPrepend --------------------------------------------------------------


def softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def test_append_to_chain():
    net = chain()
    snap = snapshot(net)
    new = NetAppend(net, SoftmaxLayer())
    assert list(new.layers) == ["1", "2", "3", "4"]
    np.testing.assert_allclose(run(new), softmax(run(net)), rtol=1e-12)
    new = NetAppend(net, [ElementwiseLayer("Sin"), SoftmaxLayer()])
    np.testing.assert_allclose(run(new), softmax(np.sin(run(net))), rtol=1e-12)
    new = NetAppend(net, {"sm": SoftmaxLayer()})
    assert list(new.layers) == ["1", "2", "3", "sm"]
    unchanged(net, snap)
    with pytest.raises(ValueError, match='already has a layer named "3"'):
        NetAppend(net, {"3": SoftmaxLayer()})
    with pytest.raises(ValueError, match="size 2.*size 3"):
        NetAppend(net, LinearLayer(2, input=3))
    with pytest.raises(TypeError, match="expected a layer"):
        NetAppend(net, "Tanh")


def test_prepend_to_chain():
    net = chain()
    pre = LinearLayer(3, weights=np.eye(3)[::-1], biases=np.zeros(3), input=3)
    new = NetPrepend(net, pre)
    assert list(new.layers) == ["1", "2", "3", "4"]
    np.testing.assert_allclose(run(new), run(net, X[:, ::-1]), rtol=1e-12)
    named = NetRename(net, {1: "lin"})
    assert list(NetPrepend(named, {"rev": pre}).layers) == ["rev", "lin", "2", "3"]
    assert NetPrepend(net, LinearLayer(3, input=7)).ports["Input"].dims == (7,)


def test_append_and_prepend_on_a_graph_with_one_port():
    g = NetDrop(graph(), "d")
    new = NetAppend(g, SoftmaxLayer())
    assert new.output_ports() == ("Output",)
    np.testing.assert_allclose(run(new), softmax(run(g)), rtol=1e-12)
    pre = LinearLayer(3, weights=2 * np.eye(3), biases=np.zeros(3))
    new = NetPrepend(g, {"pre": pre})
    np.testing.assert_allclose(run(new), run(g, 2 * X), rtol=1e-12)
    with pytest.raises(ValueError, match="one output port"):
        NetAppend(graph(), SoftmaxLayer())


# -- NetFlatten ----------------------------------------------------------------------------


def nested():
    inner = NetChain({"lin": LinearLayer(4), "act": ElementwiseLayer("Tanh")})
    deeper = NetChain({"x": inner, "y": ElementwiseLayer("Sin")})
    return NetInitialize(NetChain({"a": deeper, "out": LinearLayer(2)}, input=3), random_seed=2)


def test_flatten_chain_of_chains():
    net = nested()
    snap = snapshot(net)
    flat = NetFlatten(net)
    assert isinstance(flat, NetChain)
    assert list(flat.layers) == ["a.x.lin", "a.x.act", "a.y", "out"]
    np.testing.assert_array_equal(run(flat), run(net))
    one = NetFlatten(net, 1)
    assert list(one.layers) == ["a.x", "a.y", "out"]
    np.testing.assert_array_equal(run(one), run(net))
    unchanged(net, snap)


def test_flatten_numbered_and_graphs():
    numbered = NetInitialize(
        NetChain([NetChain([LinearLayer(4), ElementwiseLayer("Tanh")]), LinearLayer(2)], input=3),
        random_seed=0,
    )
    assert list(NetFlatten(numbered).layers) == ["1", "2", "3"]
    np.testing.assert_array_equal(run(NetFlatten(numbered)), run(numbered))
    g = graph()
    flat = NetFlatten(g)
    assert isinstance(flat, NetGraph)
    assert list(flat.layers) == ["a", "b", "c.1", "c.2", "d"]
    out, ref = run(flat), run(g)
    assert out.keys() == ref.keys()
    for k in ref:
        np.testing.assert_array_equal(out[k], ref[k])
    assert NetFlatten(LinearLayer(2)).options["n"] == (2,)
    with pytest.raises(ValueError, match="positive int"):
        NetFlatten(g, 0)


def test_flatten_graph_inside_a_chain_with_two_inputs():
    inner = NetGraph({"f": LinearLayer(2), "loss": MeanSquaredLossLayer()}, [("f", "loss")])
    net = NetInitialize(
        NetChain({"pre": ElementwiseLayer("Tanh"), "g": inner}, input=3), random_seed=0
    )
    flat = NetFlatten(net)
    assert isinstance(flat, NetGraph) and set(flat.input_ports()) == {"Input", "Target"}
    data = {"Input": X, "Target": np.ones((2, 2))}
    np.testing.assert_array_equal(
        flat(data, working_precision="Real64"), net(data, working_precision="Real64")
    )


# -- NetRename -----------------------------------------------------------------------------


def test_rename_layers():
    net = chain()
    snap = snapshot(net)
    new = NetRename(net, {"1": "lin", 2: "act"})
    assert list(new.layers) == ["lin", "act", "3"]
    np.testing.assert_array_equal(run(new), run(net))
    assert list(NetRename(net, lambda k: "L" + k).layers) == ["L1", "L2", "L3"]
    unchanged(net, snap)
    with pytest.raises(ValueError, match='"3" would name two layers'):
        NetRename(net, {"1": "3"})
    with pytest.raises(ValueError, match=r'no layer "4"'):
        NetRename(net, {"4": "x"})


def test_rename_graph_layers_and_ports():
    g = graph()
    new = NetRename(g, {"a": "A", NetPort("Output1"): NetPort("Y"), NetPort("Input"): NetPort("x")})
    assert list(new.layers) == ["A", "b", "c", "d"]
    assert new.input_ports() == ("x",) and set(new.output_ports()) == {"Y", "Output2"}
    out = new({"x": X}, working_precision="Real64")
    np.testing.assert_array_equal(out["Y"], run(g)["Output1"])
    with pytest.raises(ValueError, match="NetChain's ports"):
        NetRename(chain(), {NetPort("Input"): NetPort("x")})
    with pytest.raises(ValueError, match=r'no port "Outptu1" \(did you mean "Output1"\?\)'):
        NetRename(g, {NetPort("Outptu1"): NetPort("Y")})
