"""Property tests: inferred shapes match a hand computation; a batch matches its examples one by one.

Nets are drawn at random from LinearLayer, ElementwiseLayer and SoftmaxLayer, wired as chains
and as graphs (with nested graphs and chains), on vector, fixed-length and "Varying" inputs.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from netgraph import (
    ElementwiseLayer,
    LinearLayer,
    NetChain,
    NetGraph,
    NetInitialize,
    NetPort,
    NetPortGradient,
    SoftmaxLayer,
)

SETTINGS = settings(deadline=None, max_examples=40, suppress_health_check=[HealthCheck.too_slow])
R64 = {"working_precision": "Real64"}
# defined on the whole real line, so random data never leaves their domain
FUNCTIONS = [
    "Ramp",
    "ReLU",
    "Tanh",
    "LogisticSigmoid",
    "SoftSign",
    "HardSigmoid",
    "ELU",
    "SELU",
    "GELU",
    "Sin",
    "Cos",
    "Exp",
    "Square",
    "Abs",
]
V = "Varying"

sizes = st.integers(1, 4)
seeds = st.integers(0, 2**32 - 1)


# -- the hand computation ------------------------------------------------------------------


def out_dims(n) -> tuple:
    return (n,) if isinstance(n, int) else tuple(n)


def shown(dims: tuple) -> str:
    """How a real-valued port of these dims prints: (Varying, 2, 3), (4,), Real."""
    if not dims:
        return "Real"
    return "(" + ", ".join(str(d) for d in dims) + ("," if len(dims) == 1 else "") + ")"


def step(desc: tuple, dims: tuple) -> tuple | None:
    """A layer's output dims for input dims, or None where the layer refuses the input."""
    kind = desc[0]
    if kind == "Linear":
        if not dims or dims[-1] == V:  # a scalar, or a sequence of scalars
            return None
        return dims[:-1] + out_dims(desc[1])
    if kind == "Softmax" and not dims:
        return None
    return dims


def chain_dims(in_dims: tuple, descs: list) -> list | None:
    """(input, output) dims of every layer of a chain, or None if some layer refuses its input."""
    out, dims = [], in_dims
    for d in descs:
        new = step(d, dims)
        if new is None:
            return None
        out.append((dims, new))
        dims = new
    return out


def linear_arrays(desc: tuple, in_dims: tuple) -> dict:
    n = out_dims(desc[1])
    shapes = {"Weights": n + (in_dims[-1],)}
    if desc[2] != "none":
        shapes["Biases"] = n
    return shapes


def vars_in(net) -> set:
    """Ids of every length variable on any port of the net, its layers and theirs."""
    found = {id(t.dims[0]) for t in net.ports.values() if t.var is not None}
    for child in getattr(net, "layers", {}).values():
        found |= vars_in(child)
    return found


def assert_ports(layer, expected: dict) -> None:
    got = {p: repr(t) for p, t in layer.ports.items()}
    assert got == {p: shown(d) for p, d in expected.items()}


# -- building nets from descriptions -------------------------------------------------------


@st.composite
def input_types(draw):
    """(shape spec as a user writes it, dims of one example with "Varying" kept as a string)."""
    k = draw(sizes)
    form = draw(st.sampled_from(["vector", "fixed", "varying", "varying"]))
    if form == "vector":
        return k, (k,)
    if form == "fixed":
        length = draw(sizes)
        return (length, k), (length, k)
    return (V, k), (V, k)


linear_descs = st.tuples(
    st.just("Linear"),
    st.one_of(sizes, st.tuples(sizes), st.tuples(sizes, sizes), st.just(())),
    st.sampled_from(["init", "given", "none"]),
)
elementwise_descs = st.tuples(st.just("Elementwise"), st.sampled_from(FUNCTIONS))
layer_descs = st.one_of(linear_descs, elementwise_descs, st.just(("Softmax",)))


@st.composite
def valid_chains(draw, max_layers=4):
    """(input spec, input dims, output dims, layer descriptions) of a chain that starts with
    a LinearLayer and in which every layer accepts its input."""
    spec, in_dims = draw(input_types())
    dims, descs = in_dims, []
    for i in range(draw(st.integers(1, max_layers))):
        d = draw(linear_descs if i == 0 else layer_descs)
        while step(d, dims) is None:
            d = draw(elementwise_descs)
        descs.append(d)
        dims = step(d, dims)
    return spec, in_dims, dims, descs


def make_layer(desc: tuple, rng=None, **ports):
    """The layer a description names; "given" biases are drawn from ``rng`` when there is one."""
    if desc[0] == "Elementwise":
        return ElementwiseLayer(desc[1], **ports)
    if desc[0] == "Softmax":
        return SoftmaxLayer(**ports)
    n, biases = desc[1], desc[2]
    if biases == "none":
        return LinearLayer(n, biases=None, **ports)
    if biases == "given" and rng is not None:
        return LinearLayer(n, biases=rng.normal(size=out_dims(n)), **ports)
    return LinearLayer(n, **ports)


def make_chain(spec, descs, rng=None, on_layer=False):
    """A chain with the input shape given to the chain, or to its first layer."""
    if on_layer:
        first = make_layer(descs[0], rng, input=spec)
        return NetChain([first] + [make_layer(d, rng) for d in descs[1:]])
    return NetChain([make_layer(d, rng) for d in descs], input=spec)


# -- 1. shape inference --------------------------------------------------------------------


@SETTINGS
@given(input_types(), st.lists(layer_descs, min_size=1, max_size=5), st.booleans())
@example(((V, 2), (V, 2)), [("Linear", (), "init"), ("Linear", 3, "init")], False)
def test_chain_shapes_match_hand_computation(inp, descs, on_layer):
    spec, in_dims = inp
    expected = chain_dims(in_dims, descs)
    if expected is None:
        with pytest.raises(ValueError, match="scalar"):
            make_chain(spec, descs, on_layer=on_layer)
        return
    net = make_chain(spec, descs, on_layer=on_layer)
    assert_ports(net, {"Input": in_dims, "Output": expected[-1][1]})
    assert list(net.layers) == [str(i + 1) for i in range(len(descs))]
    for layer, d, (x, y) in zip(net.layers.values(), descs, expected):
        assert_ports(layer, {"Input": x, "Output": y})
        if d[0] == "Linear":
            assert layer.array_shapes(layer.ports) == linear_arrays(d, x)
    # every sequence port shares the input's one length variable
    assert len(vars_in(net)) == (1 if in_dims[0] == V else 0)
    init = NetInitialize(net, random_seed=0)
    for layer, d, (x, _) in zip(init.layers.values(), descs, expected):
        shapes = {k: a.shape for k, a in layer.arrays.items()}
        assert shapes == (linear_arrays(d, x) if d[0] == "Linear" else {})


@st.composite
def dags(draw):
    """A random DAG: nodes are Linear or Elementwise layers taking one earlier output, or
    "pair" nodes (a nested NetGraph of a layer and a NetChain) taking two. Returns the node
    descriptions; each node's sources are ("Input",) or (node index, output port)."""
    nodes, avail = [], [("Input",)]
    single = st.one_of(
        st.tuples(st.just("Linear"), st.one_of(sizes, st.tuples(sizes, sizes))),
        elementwise_descs,
    )
    for i in range(draw(st.integers(1, 5))):
        pick = st.sampled_from(avail)
        if draw(st.booleans()):
            nodes.append(("Single", draw(single), [draw(pick)]))
            avail.append((i, "Output"))
        else:
            inner = draw(st.lists(single, min_size=1, max_size=2))
            nodes.append(("Pair", draw(single), inner, [draw(pick), draw(pick)]))
            avail += [(i, "Output1"), (i, "Output2")]
    return nodes


def _single(desc, rng):
    return make_layer(desc + ("given",) if desc[0] == "Linear" else desc, rng)


def build_dag(nodes, spec, rng=None):
    """The NetGraph of a DAG description; every unused output becomes "Out1", "Out2", …"""
    layers, edges, used = {}, [], set()

    def src(s):
        used.add(s)
        return NetPort("Input") if s == ("Input",) else NetPort(f"n{s[0]}", s[1])

    for i, node in enumerate(nodes):
        name = f"n{i}"
        if node[0] == "Single":
            layers[name] = _single(node[1], rng)
            edges.append((src(node[2][0]), name))
        else:
            chain = NetChain([_single(d, rng) for d in node[2]])
            layers[name] = NetGraph(
                {"a": _single(node[1], rng), "b": chain},
                [
                    (NetPort("Input1"), "a"),
                    (NetPort("Input2"), "b"),
                    ("a", NetPort("Output1")),
                    ("b", NetPort("Output2")),
                ],
            )
            edges += [(src(s), NetPort(name, f"Input{j + 1}")) for j, s in enumerate(node[3])]
    outs = []
    for i, node in enumerate(nodes):
        for port in ["Output"] if node[0] == "Single" else ["Output1", "Output2"]:
            if (i, port) not in used:
                outs.append(f"Out{len(outs) + 1}")
                edges.append((NetPort(f"n{i}", port), NetPort(outs[-1])))
    return NetGraph(layers, edges, input=spec), outs


def dag_dims(nodes, in_dims):
    """Dims of every node's ports and of the pair nodes' inner layers, by hand."""
    dims = {("Input",): in_dims}
    ports, inner = [], []
    for i, node in enumerate(nodes):
        if node[0] == "Single":
            x = dims[node[2][0]]
            dims[(i, "Output")] = step(node[1], x)
            ports.append({"Input": x, "Output": dims[(i, "Output")]})
            inner.append(None)
        else:
            x1, x2 = dims[node[3][0]], dims[node[3][1]]
            a = (x1, step(node[1], x1))
            b = chain_dims(x2, node[2])
            dims[(i, "Output1")], dims[(i, "Output2")] = a[1], b[-1][1]
            ports.append({"Input1": x1, "Input2": x2, "Output1": a[1], "Output2": b[-1][1]})
            inner.append((a, b))
    return dims, ports, inner


@SETTINGS
@given(input_types(), dags())
def test_graph_shapes_match_hand_computation(inp, nodes):
    spec, in_dims = inp
    net, outs = build_dag(nodes, spec)
    dims, ports, inner = dag_dims(nodes, in_dims)
    expected_outs = {}
    for i, node in enumerate(nodes):
        for port in ["Output"] if node[0] == "Single" else ["Output1", "Output2"]:
            if not any((i, port) in (n[2] if n[0] == "Single" else n[3]) for n in nodes):
                expected_outs[f"Out{len(expected_outs) + 1}"] = dims[(i, port)]
    assert list(expected_outs) == outs
    assert_ports(net, {"Input": in_dims, **expected_outs})
    for i, node in enumerate(nodes):
        layer = net.layers[f"n{i}"]
        assert_ports(layer, ports[i])
        if node[0] == "Pair":
            (ax, ay), chain = inner[i]
            assert_ports(layer.layers["a"], {"Input": ax, "Output": ay})
            for sub, (x, y) in zip(layer.layers["b"].layers.values(), chain):
                assert_ports(sub, {"Input": x, "Output": y})
    assert len(vars_in(net)) == (1 if in_dims[0] == V else 0)


@st.composite
def elementwise_dags(draw):
    """Elementwise layers in a random DAG (each takes the input or an earlier layer), all feeding
    one final LinearLayer through a single chosen layer; the others become outputs."""
    count = draw(st.integers(1, 5))
    preds = [draw(st.integers(-1, i - 1)) for i in range(count)]  # -1: the graph input
    fns = [draw(st.sampled_from(FUNCTIONS)) for _ in range(count)]
    return preds, fns, draw(st.integers(0, count - 1)), draw(sizes)


@SETTINGS
@given(input_types(), elementwise_dags())
def test_elementwise_dag_into_linear(inp, dag):
    spec, in_dims = inp
    preds, fns, last, n = dag
    layers = {f"e{i}": ElementwiseLayer(f) for i, f in enumerate(fns)}
    layers["lin"] = LinearLayer(n)
    edges = [(NetPort("Input") if p < 0 else f"e{p}", f"e{i}") for i, p in enumerate(preds)] + [
        (f"e{last}", "lin")
    ]
    net = NetGraph(layers, edges, input=spec)
    y = in_dims[:-1] + (n,)
    fed = {p for p in preds if p >= 0} | {last}
    free = [i for i in range(len(fns)) if i not in fed]
    # unconnected outputs in layer order: the elementwise ones, then the linear one
    names = [f"Output{j + 1}" for j in range(len(free) + 1)] if free else ["Output"]
    assert_ports(net, {"Input": in_dims, **dict(zip(names, [in_dims] * len(free) + [y]))})
    for i in range(len(fns)):
        assert_ports(net.layers[f"e{i}"], {"Input": in_dims, "Output": in_dims})
    assert_ports(net.layers["lin"], {"Input": in_dims, "Output": y})
    assert net.layers["lin"].array_shapes(net.layers["lin"].ports) == {
        "Weights": (n, in_dims[-1]),
        "Biases": (n,),
    }


@SETTINGS
@given(
    input_types(),
    sizes,
    sizes,
    st.lists(st.sampled_from(FUNCTIONS), max_size=2),
    st.sampled_from(["weights", "output", "graph"]),
)
def test_sizes_flow_backwards(inp, n, m, fns, where):
    """LinearLayer() without a size takes it from what follows: a layer with given weights,
    the chain's output shape, or a layer it feeds in a graph."""
    spec, in_dims = inp
    lead, k = in_dims[:-1], in_dims[-1]
    W = np.arange(m * n, dtype=float).reshape(m, n)
    middle = [ElementwiseLayer(f) for f in fns]
    if where == "weights":
        net = NetChain([LinearLayer(), *middle, LinearLayer(m, weights=W)], input=spec)
    elif where == "output":
        net = NetChain([LinearLayer(), *middle], input=spec, output=lead + (n,))
    else:
        layers = {"free": LinearLayer(), "known": LinearLayer(weights=W)}
        layers.update({f"e{i}": layer for i, layer in enumerate(middle)})
        path = ("free", *[f"e{i}" for i in range(len(middle))], "known")
        net = NetGraph(layers, [path], input=spec)
    name = "free" if where == "graph" else "1"
    free = net.layers[name]
    assert_ports(free, {"Input": in_dims, "Output": lead + (n,)})
    assert free.array_shapes(free.ports) == {"Weights": (n, k), "Biases": (n,)}
    last = m if where != "output" else n
    assert_ports(net, {"Input": in_dims, "Output": lead + (last,)})
    assert NetInitialize(net, random_seed=1).layers[name].arrays["Weights"].shape == (n, k)


# -- 2. batching ---------------------------------------------------------------------------


def close(a, b) -> None:
    np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


def one_shape(dims: tuple, length: int) -> tuple:
    return tuple(length if d == V else d for d in dims)


def draw_examples(rng, in_dims: tuple, lengths: list) -> list:
    """One example per entry of ``lengths`` (a sequence's length; ignored for other inputs)."""
    return [rng.normal(size=one_shape(in_dims, t)) for t in lengths]


lengths_lists = st.lists(st.integers(1, 5), min_size=1, max_size=4)


@SETTINGS
@given(valid_chains(), seeds, lengths_lists)
@example(((V, 2), (V, 2), (V,), [("Linear", (), "given"), ("Softmax",)]), 0, [3, 1, 4])
def test_chain_batch_equals_examples_one_by_one(chain, seed, lengths):
    spec, in_dims, out, descs = chain
    rng = np.random.default_rng(seed)
    net = NetInitialize(make_chain(spec, descs, rng), random_seed=seed)
    xs = draw_examples(rng, in_dims, lengths)
    singles = [net(x, **R64) for x in xs]
    for x, y in zip(xs, singles):
        assert y.dtype == np.float64 and y.shape == one_shape(out, len(x))
    # a list in gives a list out, ragged sequences included
    ys = net(xs, **R64)
    assert isinstance(ys, list) and len(ys) == len(xs)
    for y, one in zip(ys, singles):
        assert y.shape == one.shape
        close(y, one)
    # a batch array (sequences all of the first length) gives an array
    same = draw_examples(rng, in_dims, [lengths[0]] * len(lengths))
    Y = net(np.stack(same), **R64)
    assert isinstance(Y, np.ndarray)
    close(Y, np.stack([net(x, **R64) for x in same]))


@SETTINGS
@given(input_types(), dags(), seeds, lengths_lists)
def test_graph_batch_equals_examples_one_by_one(inp, nodes, seed, lengths):
    spec, in_dims = inp
    rng = np.random.default_rng(seed)
    net, outs = build_dag(nodes, spec, rng)
    net = NetInitialize(net, random_seed=seed)
    xs = draw_examples(rng, in_dims, lengths)
    ys = net(xs, **R64)
    singles = [net(x, **R64) for x in xs]
    if len(outs) == 1:  # one output port: its value, not a dict
        ys, singles = {outs[0]: ys}, [{outs[0]: s} for s in singles]
    assert sorted(ys) == sorted(outs)
    for name in outs:
        assert isinstance(ys[name], list) and len(ys[name]) == len(xs)
        for y, one in zip(ys[name], singles):
            close(y, one[name])


# -- 3. gradients --------------------------------------------------------------------------


@SETTINGS
@given(valid_chains(), seeds, lengths_lists, st.booleans())
@example(((V, 2), (V, 2), (V,), [("Linear", (), "given"), ("Softmax",)]), 0, [3, 1, 4], True)
@example((2, (2,), (), [("Linear", (), "given")]), 0, [1, 1], False)
def test_gradients_are_sums_over_the_batch(chain, seed, lengths, forced):
    """Array gradients of a batch are the sums of the examples' gradients; input gradients
    are the examples' own. With ``forced``, the output gradient is given per example."""
    spec, in_dims, out, descs = chain
    rng = np.random.default_rng(seed)
    net = NetInitialize(make_chain(spec, descs, rng), random_seed=seed)
    xs = draw_examples(rng, in_dims, lengths)
    # the sum of a softmax's outputs does not depend on its input: force a gradient there
    forced = forced or descs[-1][0] == "Softmax"
    arrays = [
        NetPortGradient([name, a]) for name, layer in net.layers.items() for a in layer.arrays
    ]
    assert NetPortGradient(["1", "Weights"]) in arrays
    wanted = arrays + [NetPortGradient("Input")]
    ogs = [rng.normal(size=one_shape(out, len(x))) for x in xs]

    def data(x, og):
        return {"Input": x, NetPortGradient("Output"): og} if forced else x

    batch = net(data(xs, ogs), wanted, **R64)
    singles = [net(data(x, og), wanted, **R64) for x, og in zip(xs, ogs)]
    for g in arrays:
        total = sum(s[g] for s in singles)
        assert batch[g].shape == total.shape == net.layers[g.target[0]].arrays[g.target[1]].shape
        close(batch[g], total)
    gx = batch[NetPortGradient("Input")]
    assert isinstance(gx, list)
    for g, s, x in zip(gx, singles, xs):
        assert g.shape == x.shape
        close(g, s[NetPortGradient("Input")])


# -- 4. evaluation in chunks ---------------------------------------------------------------


def close_in_form(a, b) -> None:
    """Equal up to round-off, in the same batch form: a list of the same length, or an array."""
    assert type(a) is type(b)
    if isinstance(b, list):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert x.shape == y.shape
            close(x, y)
    else:
        assert a.shape == b.shape
        close(a, b)


@SETTINGS
@given(
    valid_chains(), seeds, st.lists(st.integers(1, 5), min_size=1, max_size=8), st.integers(1, 5)
)
@example(((V, 2), (V, 2), (V,), [("Linear", (), "given"), ("Softmax",)]), 0, [3, 1, 4, 2, 5], 2)
def test_chunks_give_the_results_of_one_call(chain, seed, lengths, batch_size):
    """``batch_size=N``: the outputs, input gradients and array gradients of one call, for a
    list (ragged sequences included) and for a batch array."""
    spec, in_dims, out, descs = chain
    rng = np.random.default_rng(seed)
    net = NetInitialize(make_chain(spec, descs, rng), random_seed=seed)
    arrays = [
        NetPortGradient([name, a]) for name, layer in net.layers.items() for a in layer.arrays
    ]
    wanted = ["Output", NetPortGradient("Input"), *arrays]
    xs = draw_examples(rng, in_dims, lengths)
    stacked = np.stack(draw_examples(rng, in_dims, [lengths[0]] * len(lengths)))
    for data in (xs, stacked):
        one = net(data, wanted, **R64)
        chunked = net(data, wanted, batch_size=batch_size, **R64)
        for g in wanted:
            close_in_form(chunked[g], one[g])
