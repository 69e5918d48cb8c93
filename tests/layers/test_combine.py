"""CatenateLayer, TotalLayer, ThreadingLayer through the shared harness."""

import numpy as np
import pytest

from netgraph import (
    CatenateLayer,
    LinearLayer,
    NetGraph,
    NetPort,
    NetPortGradient,
    ThreadingLayer,
    TotalLayer,
)
from netgraph.types import Var
from tests.harness import check_layer


def seqs(rng, lengths, *feat):
    return [rng.normal(size=(n, *feat)) for n in lengths]


def inputs(ex, n):
    return [ex[f"Input{i + 1}"] for i in range(n)]


# -- CatenateLayer ---------------------------------------------------------------------------


def test_catenate_vectors(rng):
    data = {
        f"Input{i + 1}": [rng.normal(size=k) for _ in range(3)] for i, k in enumerate([2, 3, 1])
    }
    net = CatenateLayer(inputs=[2, 3, 1])
    assert net.ports["Output"].dims == (6,)
    check_layer(net, data, lambda ex, a: {"Output": np.concatenate(inputs(ex, 3))})


@pytest.mark.parametrize("level, axis", [(1, 0), (2, 1), (-1, 1), (-2, 0)])
def test_catenate_matrices_at_each_level(rng, level, axis):
    a = (2, 3) if axis == 1 else (1, 3)
    b = (2, 4) if axis == 1 else (4, 3)
    data = {"Input1": [rng.normal(size=a) for _ in range(2)], "Input2": [rng.normal(size=b)] * 2}
    net = CatenateLayer(level, inputs=[a, b])
    want = np.concatenate([np.zeros(a), np.zeros(b)], axis=axis).shape
    assert net.ports["Output"].dims == want
    check_layer(net, data, lambda ex, a: {"Output": np.concatenate(inputs(ex, 2), axis=axis)})


def test_catenate_ragged_sequences_along_steps(rng):
    net = CatenateLayer(inputs=[("Varying", 2), (2, 2), ("Varying", 2)])
    out = net.ports["Output"].var
    assert out is not None and out not in (net.ports["Input1"].var, net.ports["Input3"].var)
    data = {
        "Input1": seqs(rng, [3, 1, 2], 2),
        "Input2": seqs(rng, [2, 2, 2], 2),
        "Input3": seqs(rng, [1, 4, 2], 2),
    }
    check_layer(
        net,
        data,
        lambda ex, a: {"Output": np.concatenate(inputs(ex, 3))},
        lengths={"Output": lambda ex: sum(len(x) for x in inputs(ex, 3))},
    )
    got = net(data)
    assert [len(y) for y in got] == [6, 7, 6]
    np.testing.assert_allclose(got[1][:1], data["Input1"][1], rtol=1e-6)
    np.testing.assert_allclose(got[1][3:], data["Input3"][1], rtol=1e-6)


def test_catenate_sequences_inner_level_keeps_length(rng):
    net = CatenateLayer(-1, inputs=[("Varying", 2), ("Varying", 3)])
    v = net.ports["Output"].var
    assert v is net.ports["Input1"].var is net.ports["Input2"].var
    data = {"Input1": seqs(rng, [3, 1, 2], 2), "Input2": seqs(rng, [3, 1, 2], 3)}
    check_layer(net, data, lambda ex, a: {"Output": np.concatenate(inputs(ex, 2), axis=-1)})


def test_catenate_infers_a_missing_size_from_the_output():
    net = CatenateLayer(inputs=[3, None], output=5)
    assert net.ports["Input2"].dims == (2,)
    with pytest.raises(ValueError, match="other inputs already add up to 3"):
        CatenateLayer(inputs=[3, None], output=3)


def test_catenate_evaluates_a_list_of_inputs():
    y = CatenateLayer(inputs=2)([[1.0, 2.0], [3.0, 4.0, 5.0]])
    np.testing.assert_array_equal(y, [1, 2, 3, 4, 5])


def test_catenate_errors():
    with pytest.raises(ValueError, match=r'"level" must be a nonzero int.*received 0'):
        CatenateLayer(0)
    with pytest.raises(ValueError, match="inputs=n, as in CatenateLayer\\(inputs=2\\)"):
        CatenateLayer()([[1.0], [2.0]])
    with pytest.raises(ValueError, match=r'port "Input1" has rank 1, port "Input2" has rank 2'):
        CatenateLayer(inputs=[3, (2, 3)])
    with pytest.raises(ValueError, match=r"shape \(\?, 4\).*except level 1 to agree"):
        CatenateLayer(inputs=[(2, 4), (3, 5)])
    with pytest.raises(ValueError, match=r"level 3 does not exist in arrays of rank 2"):
        CatenateLayer(3, inputs=[(2, 4), (3, 4)])
    with pytest.raises(ValueError, match='fixed length 5.*"Varying" length'):
        CatenateLayer(inputs=[("Varying", 2), ("Varying", 2)], output=(5, 2))
    with pytest.raises(ValueError, match="scalar; CatenateLayer joins arrays of rank"):
        CatenateLayer(inputs=["Real", "Real"])
    with pytest.raises(ValueError, match=r'"inputs" must be at least 1'):
        CatenateLayer(inputs=0)


# -- TotalLayer ------------------------------------------------------------------------------


def test_total_of_sequences(rng):
    lengths = [2, 4, 1]
    data = {f"Input{i + 1}": seqs(rng, lengths, 3) for i in range(3)}
    net = TotalLayer(inputs=[("Varying", 3), None, None])
    assert net.ports["Output"].var is net.ports["Input3"].var
    check_layer(net, data, lambda ex, a: {"Output": sum(inputs(ex, 3))})


def test_total_refuses_unequal_shapes():
    with pytest.raises(ValueError, match="TotalLayer needs all its inputs and its output of one"):
        TotalLayer(inputs=[3, 4])


# -- ThreadingLayer --------------------------------------------------------------------------

REFS = {
    "Plus": lambda *xs: sum(xs),
    "Subtract": lambda a, b: a - b,
    "Times": lambda *xs: np.prod(np.broadcast_arrays(*xs), axis=0),
    "Divide": lambda a, b: a / b,
    "Min": lambda *xs: np.minimum.reduce(np.broadcast_arrays(*xs)),
    "Max": lambda *xs: np.maximum.reduce(np.broadcast_arrays(*xs)),
}


def away_from_zero(x):
    return np.where(x >= 0, x + 0.3, x - 0.3)


@pytest.mark.parametrize("f", sorted(REFS))
@pytest.mark.parametrize(
    "shapes, out",
    [
        ([(3,), (3,)], (3,)),
        ([(3, 1), (1, 4)], (3, 4)),
        ([(2, 3), (3,)], (2, 3)),
        ([(1,), (2, 2)], (2, 2)),
    ],
)
def test_threading_broadcasts_fixed_shapes(rng, f, shapes, out):
    net = ThreadingLayer(f, inputs=shapes)
    assert net.ports["Output"].dims == out
    data = {
        f"Input{i + 1}": [away_from_zero(rng.normal(size=s)) for _ in range(3)]
        for i, s in enumerate(shapes)
    }
    check_layer(net, data, lambda ex, a: {"Output": REFS[f](*inputs(ex, 2))})


@pytest.mark.parametrize("f", sorted(REFS))
@pytest.mark.parametrize("seq_first", [True, False])
def test_threading_sequence_with_vector(rng, f, seq_first):
    shapes = [("Varying", 4), 4] if seq_first else [4, ("Varying", 4)]
    net = ThreadingLayer(f, inputs=shapes)
    assert net.ports["Output"].var is not None
    s = [away_from_zero(x) for x in seqs(rng, [3, 1, 2], 4)]
    v = [away_from_zero(rng.normal(size=4)) for _ in range(3)]
    data = {"Input1": s, "Input2": v} if seq_first else {"Input1": v, "Input2": s}
    check_layer(net, data, lambda ex, a: {"Output": REFS[f](*inputs(ex, 2))})


@pytest.mark.parametrize("f", ["Plus", "Times", "Min", "Max"])
def test_threading_three_inputs(rng, f):
    net = ThreadingLayer(f, inputs=[("Varying", 1), ("Varying", 3), 3])
    lengths = [2, 3, 1]
    data = {
        "Input1": seqs(rng, lengths, 1),
        "Input2": seqs(rng, lengths, 3),
        "Input3": [rng.normal(size=3) for _ in lengths],
    }
    check_layer(net, data, lambda ex, a: {"Output": REFS[f](*inputs(ex, 3))})


def test_threading_gradient_sums_over_broadcast_dimensions():
    net = ThreadingLayer("Times", inputs=[("Varying", 2), 2])
    s = [np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[5.0, 6.0]])]
    v = [np.array([10.0, 100.0]), np.array([1.0, 1.0])]
    g = net({"Input1": s, "Input2": v}, NetPortGradient("Input2"), working_precision="Real64")
    np.testing.assert_allclose(g[0], [4.0, 6.0])  # Σ over the real steps only
    np.testing.assert_allclose(g[1], [5.0, 6.0])


@pytest.mark.parametrize("f", ["Max", "Min"])
def test_threading_ties_route_the_gradient_to_the_first_input(f):
    net = ThreadingLayer(f, inputs=3)
    x = {"Input1": [2.0, 1.0], "Input2": [2.0, 5.0], "Input3": [2.0, -1.0]}
    g = net(x, [NetPortGradient(f"Input{i}") for i in (1, 2, 3)])
    np.testing.assert_array_equal(g[NetPortGradient("Input1")], [1.0, 0.0])
    np.testing.assert_array_equal(
        g[NetPortGradient("Input2")], [0.0, 1.0] if f == "Max" else [0.0, 0.0]
    )
    np.testing.assert_array_equal(
        g[NetPortGradient("Input3")], [0.0, 0.0] if f == "Max" else [0.0, 1.0]
    )


def test_threading_divide_by_a_ragged_sequence_stays_finite(rng):
    net = ThreadingLayer("Divide", inputs=[3, ("Varying", 3)])
    b = [rng.uniform(0.5, 2.0, size=(n, 3)) for n in (1, 4)]
    a = [rng.normal(size=3) for _ in b]
    g = net({"Input1": a, "Input2": b}, NetPortGradient("Input1"), working_precision="Real64")
    np.testing.assert_allclose(g[0], 1 / b[0][0])
    np.testing.assert_allclose(g[1], (1 / b[1]).sum(0))


def test_threading_subtract_defaults_to_two_inputs():
    net = ThreadingLayer("Subtract")
    assert net.arity == 2 and net.input_ports() == ("Input1", "Input2")
    np.testing.assert_array_equal(net([[5.0, 7.0], [1.0, 2.0]]), [4.0, 5.0])


def test_threading_errors():
    with pytest.raises(ValueError, match=r"unknown function 'Power'.*Valid functions: Plus, "):
        ThreadingLayer("Power")
    with pytest.raises(ValueError, match='"Subtract" takes exactly 2 inputs; received 3'):
        ThreadingLayer("Subtract", inputs=3)
    with pytest.raises(ValueError, match="sizes 2 and 3 do not broadcast"):
        ThreadingLayer("Plus", inputs=[(2, 4), (3, 4)])
    with pytest.raises(
        ValueError, match='"Varying" length where port "Input2" has the fixed size 3'
    ):
        ThreadingLayer("Plus", inputs=[("Varying", 4), (3, 4)])
    with pytest.raises(ValueError, match="sequence input needs the highest rank"):
        ThreadingLayer("Plus", inputs=[("Varying", 4), (2, 3, 4)])
    with pytest.raises(ValueError, match="inputs=n"):
        ThreadingLayer("Plus")([1.0, 2.0])


# -- variadic layers in a NetGraph -----------------------------------------------------------


def test_graph_wires_variadic_layers(rng):
    g = NetGraph(
        {
            "a": LinearLayer(3),
            "b": LinearLayer(3),
            "cat": CatenateLayer(),
            "plus": ThreadingLayer("Plus"),
        },
        [(["a", "b"], "cat"), (["a", "b"], "plus")],
        input=2,
    )
    assert g.layers["cat"].arity == 2 and g.layers["plus"].input_ports() == ("Input1", "Input2")
    assert g.ports["Output1"].dims == (6,) and g.ports["Output2"].dims == (3,)

    def ref(ex, w):
        a = w["a/Weights"] @ ex["Input"] + w["a/Biases"]
        b = w["b/Weights"] @ ex["Input"] + w["b/Biases"]
        return {"Output1": np.concatenate([a, b]), "Output2": a + b}

    check_layer(g, {"Input": [rng.normal(size=2) for _ in range(3)]}, ref)


def test_graph_catenates_ragged_sequences(rng):
    g = NetGraph(
        {"a": LinearLayer(2), "cat": CatenateLayer()},
        [(["a", NetPort("Other")], "cat")],
        input=("Varying", 3),
        other=("Varying", 2),
    )
    out = g.ports["Output"]
    assert isinstance(out.var, Var) and out.var not in (g.ports["Input"].var, g.ports["Other"].var)
    data = {"Input": seqs(rng, [2, 3], 3), "Other": seqs(rng, [4, 1], 2)}

    def ref(ex, w):
        return {
            "Output": np.concatenate([ex["Input"] @ w["a/Weights"].T + w["a/Biases"], ex["Other"]])
        }

    check_layer(g, data, ref, lengths={"Output": lambda ex: len(ex["Input"]) + len(ex["Other"])})


def test_graph_refuses_too_many_inputs_for_a_fixed_arity():
    with pytest.raises(ValueError, match="built for 2 inputs but 3 are connected"):
        NetGraph(
            {
                "a": LinearLayer(2),
                "b": LinearLayer(2),
                "c": LinearLayer(2),
                "s": TotalLayer(inputs=2),
            },
            [(["a", "b", "c"], "s")],
            input=2,
        )
    with pytest.raises(ValueError, match="built for 2 inputs but 3 are connected"):
        NetGraph(
            {
                "a": LinearLayer(2),
                "b": LinearLayer(2),
                "c": LinearLayer(2),
                "s": ThreadingLayer("Divide"),
            },
            [(["a", "b", "c"], "s")],
            input=2,
        )


def test_graph_separate_edges_fill_inputs_in_order(rng):
    g = NetGraph(
        {
            "a": LinearLayer(2),
            "b": LinearLayer(3),
            "cat": CatenateLayer(),
            "sub": ThreadingLayer("Subtract"),
        },
        [("a", "cat"), ("b", "cat"), ("a", "sub"), (NetPort("Other"), "sub")],
        input=4,
        other=2,
    )
    assert g.layers["cat"].arity == 2 and g.ports["Output1"].dims == (5,)

    def ref(ex, w):
        a = w["a/Weights"] @ ex["Input"] + w["a/Biases"]
        b = w["b/Weights"] @ ex["Input"] + w["b/Biases"]
        return {"Output1": np.concatenate([a, b]), "Output2": a - ex["Other"]}

    data = {"Input": [rng.normal(size=4) for _ in range(2)], "Other": [rng.normal(size=2)] * 2}
    check_layer(g, data, ref)


def test_graph_catenating_a_sequence_with_itself_doubles_its_length():
    g = NetGraph(
        {"cat": CatenateLayer()},
        [([NetPort("Input"), NetPort("Input")], "cat")],
        input=("Varying", 2),
    )
    x = [np.arange(4.0).reshape(2, 2), np.ones((3, 2))]
    y = g(x)
    np.testing.assert_array_equal(y[0], np.concatenate([x[0], x[0]]))
    assert [len(v) for v in y] == [4, 6]
    with pytest.raises(ValueError, match="shares its sequence length with an input"):
        NetGraph(
            {"cat": CatenateLayer(), "p": ThreadingLayer("Plus")},
            [([NetPort("Input"), NetPort("Input")], "cat"), (["cat", NetPort("Input")], "p")],
            input=("Varying", 2),
        )
