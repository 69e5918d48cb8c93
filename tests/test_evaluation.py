"""Evaluation: every batch form, inner ports, gradients, precision, modes and the plan cache."""

import numpy as np
import pytest

import netgraph.inference
import netgraph.plan
from netgraph import (
    ElementwiseLayer,
    LinearLayer,
    NetChain,
    NetGraph,
    NetPort,
    NetPortGradient,
    SoftmaxLayer,
)
from tests.containers.test_graph import DiffLayer

R64 = {"working_precision": "Real64"}


@pytest.fixture
def mlp(rng):
    """A Linear–Tanh–Linear chain on vectors of size 3, and its arrays."""
    W1, b1 = rng.normal(size=(4, 3)), rng.normal(size=4)
    W2, b2 = rng.normal(size=(2, 4)), rng.normal(size=2)
    net = NetChain(
        [
            LinearLayer(4, weights=W1, biases=b1),
            ElementwiseLayer("Tanh"),
            LinearLayer(2, weights=W2, biases=b2),
        ],
        input=3,
    )
    return net, (W1, b1, W2, b2)


def forward(arrays, x):
    W1, b1, W2, b2 = arrays
    return np.tanh(x @ W1.T + b1) @ W2.T + b2


def backward(arrays, x, og):
    """Gradients of sum(og · y) with respect to x and to every array (summed over the batch)."""
    W1, b1, W2, b2 = arrays
    h = np.tanh(x @ W1.T + b1)
    dh = og @ W2 * (1 - h**2)
    return {"x": dh @ W1, "W1": dh.T @ x, "b1": dh.sum(0), "W2": og.T @ h, "b2": og.sum(0)}


def test_single_example_batch_array_and_list(mlp, rng):
    net, arrays = mlp
    x = rng.normal(size=(5, 3))
    want = forward(arrays, x)
    single = net(x[0], **R64)
    assert isinstance(single, np.ndarray) and single.shape == (2,)
    np.testing.assert_allclose(single, want[0], rtol=1e-12)
    batch = net(x, **R64)
    assert isinstance(batch, np.ndarray) and batch.shape == (5, 2)
    np.testing.assert_allclose(batch, want, rtol=1e-12)
    as_list = net(list(x), **R64)
    assert isinstance(as_list, list) and len(as_list) == 5
    np.testing.assert_allclose(np.stack(as_list), want, rtol=1e-12)
    nested = net(x.tolist(), **R64)
    assert isinstance(nested, list)
    np.testing.assert_allclose(np.stack(nested), want, rtol=1e-12)
    np.testing.assert_allclose(net(x[0].tolist(), **R64), want[0], rtol=1e-12)


def test_ragged_sequences_are_trimmed_and_equal_evaluating_alone(rng):
    W = rng.normal(size=(4, 3))
    net = NetChain(
        [LinearLayer(4, weights=W, biases=np.zeros(4)), SoftmaxLayer()], input=("Varying", 3)
    )
    seqs = [rng.normal(size=(n, 3)) for n in (2, 5, 1)]
    out = net(seqs, **R64)
    assert isinstance(out, list) and [o.shape for o in out] == [(2, 4), (5, 4), (1, 4)]
    for o, s in zip(out, seqs):
        z = np.exp(s @ W.T)
        np.testing.assert_allclose(o, z / z.sum(-1, keepdims=True), rtol=1e-12)
        np.testing.assert_allclose(o, net(s, **R64), rtol=1e-12)
    # a padded array of equal lengths is a batch, returned as an array
    arr = net(np.stack([seqs[0], seqs[0]]), **R64)
    assert arr.shape == (2, 2, 4)
    np.testing.assert_allclose(arr[1], out[0], rtol=1e-12)


def test_softmax_over_a_ragged_sequence_of_scalars_ignores_padding(rng):
    net = SoftmaxLayer(input="Varying")
    seqs = [np.array([1.0, 2.0, 3.0]), np.array([0.5])]
    out = net(seqs, **R64)
    np.testing.assert_allclose(out[0], np.exp([1, 2, 3]) / np.exp([1, 2, 3]).sum(), rtol=1e-12)
    np.testing.assert_array_equal(out[1], [1.0])


def test_dict_of_input_ports(rng):
    g = NetGraph({"d": DiffLayer()}, [], input1=2, input2=2)
    a, b = rng.normal(size=(3, 2)), rng.normal(size=(3, 2))
    np.testing.assert_allclose(g({"Input1": a, "Input2": b}, **R64), a - 2 * b, rtol=1e-12)
    np.testing.assert_allclose(g({NetPort("Input1"): a[0], "Input2": b[0]}, **R64), a[0] - 2 * b[0])
    with pytest.raises(ValueError, match=r"has the input ports Input1, Input2; give a dict"):
        g(a)
    with pytest.raises(ValueError, match=r"No data was given for the input port\(s\) Input2"):
        g({"Input1": a})


def test_inner_port_values_and_several_outputs(mlp, rng):
    net, arrays = mlp
    W1, b1, W2, b2 = arrays
    x = rng.normal(size=(4, 3))
    h = np.tanh(x @ W1.T + b1)
    np.testing.assert_allclose(net(x, NetPort("2", "Output"), **R64), h, rtol=1e-12)
    np.testing.assert_allclose(net(x, NetPort(1, "Output"), **R64), x @ W1.T + b1, rtol=1e-12)
    # an inner input port gives the value arriving there
    np.testing.assert_allclose(net(x, NetPort(3, "Input"), **R64), h, rtol=1e-12)
    specs = [NetPort(2, "Output"), "Output", NetPortGradient("Input")]
    out = net(x, specs, **R64)
    assert isinstance(out, dict) and list(out) == specs
    np.testing.assert_allclose(out[NetPort(2, "Output")], h, rtol=1e-12)
    np.testing.assert_allclose(out["Output"], forward(arrays, x), rtol=1e-12)
    np.testing.assert_allclose(
        out[NetPortGradient("Input")], backward(arrays, x, np.ones((4, 2)))["x"], rtol=1e-10
    )
    # a one-element list still gives a dict
    assert list(net(x, ["Output"])) == ["Output"]


def test_inner_port_of_a_ragged_batch_is_trimmed(rng):
    net = NetChain([ElementwiseLayer("Tanh"), ElementwiseLayer("Sin")], input=("Varying", 2))
    seqs = [rng.normal(size=(3, 2)), rng.normal(size=(1, 2))]
    inner = net(seqs, NetPort("1", "Output"), **R64)
    assert [a.shape for a in inner] == [(3, 2), (1, 2)]
    np.testing.assert_allclose(inner[1], np.tanh(seqs[1]), rtol=1e-12)


def test_multi_output_graph_returns_a_dict_by_port_name(rng):
    g = NetGraph({"a": ElementwiseLayer("Sin"), "b": ElementwiseLayer("Cos")}, [], input=2)
    x = rng.normal(size=2)
    out = g(x, **R64)
    assert list(out) == ["Output1", "Output2"]
    np.testing.assert_allclose(out["Output2"], np.cos(x), rtol=1e-12)
    np.testing.assert_allclose(g(x, "Output1", **R64), np.sin(x), rtol=1e-12)


def test_default_seed_is_the_gradient_of_the_sum_of_outputs(mlp, rng):
    net, arrays = mlp
    x = rng.normal(size=(6, 3))
    want = backward(arrays, x, np.ones((6, 2)))
    specs = [
        NetPortGradient("Input"),
        NetPortGradient(["1", "Weights"]),
        NetPortGradient(["1", "Biases"]),
        NetPortGradient(["3", "Weights"]),
        NetPortGradient([3, "Biases"]),
    ]
    got = net(x, specs, **R64)
    for s, k in zip(specs, ["x", "W1", "b1", "W2", "b2"]):
        np.testing.assert_allclose(got[s], want[k], rtol=1e-10, err_msg=k)


def test_forced_output_gradient_matches_numpy(mlp, rng):
    net, arrays = mlp
    x, og = rng.normal(size=(6, 3)), rng.normal(size=(6, 2))
    want = backward(arrays, x, og)
    feed = {"Input": x, NetPortGradient("Output"): og}
    np.testing.assert_allclose(net(feed, NetPortGradient("Input"), **R64), want["x"], rtol=1e-10)
    gW = net(feed, NetPortGradient(["1", "Weights"]), **R64)
    np.testing.assert_allclose(gW, want["W1"], rtol=1e-10)
    # forcing a gradient of ones is the default seed; a different one is not
    ones = net(
        {"Input": x, NetPortGradient("Output"): np.ones((6, 2))}, NetPortGradient("Input"), **R64
    )
    np.testing.assert_allclose(ones, net(x, NetPortGradient("Input"), **R64), rtol=1e-12)
    assert not np.allclose(ones, want["x"])
    # a single example with a single forced gradient
    one = net({"Input": x[0], NetPortGradient("Output"): og[0]}, NetPortGradient("Input"), **R64)
    np.testing.assert_allclose(one, want["x"][0], rtol=1e-10)


def test_array_gradient_is_the_sum_of_per_example_gradients(mlp, rng):
    net, _ = mlp
    x = rng.normal(size=(5, 3))
    spec = NetPortGradient(["3", "Weights"])
    total = net(x, spec, **R64)
    parts = sum(net(x[i], spec, **R64) for i in range(5))
    np.testing.assert_allclose(total, parts, rtol=1e-12)
    assert total.shape == (2, 4)


def test_input_gradient_of_a_ragged_batch_equals_each_alone(rng):
    net = NetChain(
        [LinearLayer(3, weights=rng.normal(size=(3, 2)), biases=np.zeros(3)), SoftmaxLayer()],
        input=("Varying", 2),
    )
    seqs = [rng.normal(size=(n, 2)) for n in (3, 1, 2)]
    ogs = [rng.normal(size=(n, 3)) for n in (3, 1, 2)]
    g = net({"Input": seqs, NetPortGradient("Output"): ogs}, NetPortGradient("Input"), **R64)
    assert [a.shape for a in g] == [(3, 2), (1, 2), (2, 2)]
    for s, og, gi in zip(seqs, ogs, g):
        alone = net({"Input": s, NetPortGradient("Output"): og}, NetPortGradient("Input"), **R64)
        np.testing.assert_allclose(gi, alone, rtol=1e-12)


def test_forced_gradient_errors(mlp):
    net, _ = mlp
    x = np.ones((3, 3))
    with pytest.raises(ValueError, match=r"must name an output port; output ports: Output"):
        net({"Input": x, NetPortGradient("Outptu"): np.ones((3, 2))}, NetPortGradient("Input"))
    with pytest.raises(ValueError, match=r"NetPortGradient\(\'Output\'\)"):
        net({"Input": x, NetPortGradient("Output"): np.ones((3, 5))}, NetPortGradient("Input"))
    with pytest.raises(
        ValueError,
        match=r"The forced gradient for output \"Output\" has batch shape \(2, 2\); the output has \(3, 2\)",
    ):
        net({"Input": x, NetPortGradient("Output"): np.ones((2, 2))}, NetPortGradient("Input"))
    with pytest.raises(
        ValueError,
        match=r'NetPortGradient\("Inptu"\) must name an input port \(did you mean "Input"\?\)',
    ):
        net(x, NetPortGradient("Inptu"))
    with pytest.raises(
        ValueError, match=r'The net has no array "1/Weight" \(did you mean "1/Weights"\?\)'
    ):
        net(x, NetPortGradient(["1", "Weight"]))


def test_working_precision(mlp, rng):
    net, arrays = mlp
    x = rng.normal(size=(2, 3))
    y32, y64 = net(x), net(x, **R64)
    assert y32.dtype == np.float32 and y64.dtype == np.float64
    np.testing.assert_allclose(y32, forward(arrays, x), rtol=1e-5)
    g = net(x, [NetPortGradient("Input"), NetPortGradient(["1", "Weights"])])
    assert all(v.dtype == np.float32 for v in g.values())
    assert net(list(x))[0].dtype == np.float32
    with pytest.raises(
        ValueError, match=r"working_precision must be \"Real32\" or \"Real64\"; received 'Real16'"
    ):
        net(x, working_precision="Real16")


def test_evaluation_mode_is_validated(mlp, rng):
    net, arrays = mlp
    x = rng.normal(size=3)
    # no dropout here: training mode gives the same values
    np.testing.assert_allclose(
        net(x, evaluation_mode="Train", random_seed=0, **R64), forward(arrays, x)
    )
    with pytest.raises(
        ValueError, match=r"evaluation_mode must be \"Test\" or \"Train\"; received 'Training'"
    ):
        net(x, evaluation_mode="Training")
    with pytest.raises(
        TypeError, match=r'unknown option "evaluation_mod" \(did you mean "evaluation_mode"\?\)'
    ):
        net(x, evaluation_mod="Train")


def test_plan_is_built_once_and_cached(mlp, rng, monkeypatch):
    net, _ = mlp
    counts = {"plan": 0, "infer": 0}
    real_plan, real_infer = netgraph.plan.Plan, netgraph.inference.infer_types

    def plan(*a, **k):
        counts["plan"] += 1
        return real_plan(*a, **k)

    def infer(*a, **k):
        counts["infer"] += 1
        return real_infer(*a, **k)

    monkeypatch.setattr(netgraph.plan, "Plan", plan)
    monkeypatch.setattr(netgraph.inference, "infer_types", infer)
    x = rng.normal(size=(4, 3))
    net(x)
    first = net._cache["plan"]
    net(x[0])
    net(list(x), NetPortGradient("Input"))
    net(x, working_precision="Real64")
    assert net._cache["plan"] is first
    assert counts == {"plan": 1, "infer": 0}


def test_open_input_is_specialized_once_per_signature(rng, monkeypatch):
    net = NetChain([ElementwiseLayer("Tanh"), SoftmaxLayer()])
    calls = []
    real = netgraph.inference.infer_types
    monkeypatch.setattr(
        netgraph.inference, "infer_types", lambda *a, **k: calls.append(1) or real(*a, **k)
    )
    x = rng.normal(size=4)
    net(x)
    net(x + 1)
    assert len(calls) == 1
    net(rng.normal(size=5))
    assert len(calls) == 2


def test_integer_input_to_a_real_port(mlp):
    net, arrays = mlp
    x = np.array([[1, 2, 3], [0, -1, 4]])
    got = net(x, **R64)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, forward(arrays, x.astype(float)), rtol=1e-12)
    np.testing.assert_allclose(net([1, 2, 3], **R64), got[0], rtol=1e-12)
    np.testing.assert_allclose(
        net(np.array([True, False, True]), **R64), forward(arrays, np.array([1.0, 0, 1]))
    )


def test_specs_are_not_changed_by_evaluation(mlp, rng):
    net, _ = mlp
    before = np.array(net.layers["1"].arrays["Weights"])
    net(rng.normal(size=(2, 3)), NetPortGradient(["1", "Weights"]))
    np.testing.assert_array_equal(net.layers["1"].arrays["Weights"], before)
    with pytest.raises(AttributeError, match="immutable"):
        net.layers = {}


def test_gradient_of_an_input_feeding_two_layers_is_summed(rng):
    Wa, Wb = rng.normal(size=(2, 3)), rng.normal(size=(4, 3))
    g = NetGraph(
        {
            "a": LinearLayer(2, weights=Wa, biases=np.zeros(2)),
            "b": LinearLayer(4, weights=Wb, biases=np.zeros(4)),
        },
        [],
        input=3,
    )
    x = rng.normal(size=(2, 3))
    gx = g(x, NetPortGradient("Input"), **R64)
    np.testing.assert_allclose(gx, np.ones((2, 2)) @ Wa + np.ones((2, 4)) @ Wb, rtol=1e-12)
    # forcing the gradient of one output leaves the other out
    og = rng.normal(size=(2, 4))
    feed = {"Input": x, NetPortGradient("Output2"): og}
    np.testing.assert_allclose(g(feed, NetPortGradient("Input"), **R64), og @ Wb, rtol=1e-12)
    np.testing.assert_array_equal(
        g(feed, NetPortGradient(["a", "Weights"]), **R64), np.zeros((2, 3))
    )


def test_graph_input_passed_straight_to_an_output(rng):
    g = NetGraph({"t": ElementwiseLayer("Tanh")}, [(NetPort("Input"), NetPort("Copy"))], input=2)
    assert g.output_ports() == ("Copy", "Output")
    x = rng.normal(size=(3, 2))
    out = g(x, **R64)
    np.testing.assert_array_equal(out["Copy"], x)
    np.testing.assert_allclose(out["Output"], np.tanh(x), rtol=1e-12)
    # d/dx Σ(x + tanh x) = 1 + 1 − tanh²x
    np.testing.assert_allclose(
        g(x, NetPortGradient("Input"), **R64), 2 - np.tanh(x) ** 2, rtol=1e-12
    )
