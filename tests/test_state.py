"""Recurrent states across calls (NetStateObject) and through graph ports (NetPort(All, "States"))."""

import numpy as np
import pytest

from netgraph import (
    All,
    ConvolutionLayer,
    EmbeddingLayer,
    LinearLayer,
    LongShortTermMemoryLayer,
    NetChain,
    NetGraph,
    NetInitialize,
    NetPort,
    NetStateObject,
    PoolingLayer,
    Restricted,
    SequenceLastLayer,
    SequenceMostLayer,
    SequenceRestLayer,
)
from tests.harness import as64, check_gradients, check_layer
from tests.layers.test_recurrent import lstm_reference

STATES = NetPort(All, "States")


def stack():
    return as64(
        NetChain([LongShortTermMemoryLayer(3), LongShortTermMemoryLayer(2)], input=("Varying", 2)),
        seed=3,
    )


@pytest.mark.parametrize(
    "make", [lambda: as64(LongShortTermMemoryLayer(3, input=("Varying", 2)), seed=1), stack]
)
def test_step_by_step_equals_whole_sequence(rng, make):
    net = make()
    x = rng.normal(size=(7, 2))
    whole = net(x, working_precision="Real64")
    so = NetStateObject(net)
    steps = [so(x[t : t + 1], working_precision="Real64") for t in range(7)]
    np.testing.assert_allclose(np.concatenate(steps), whole, rtol=0, atol=1e-15)
    pieces = NetStateObject(net)
    parts = [pieces(x[a:b], working_precision="Real64") for a, b in ((0, 3), (3, 4), (4, 7))]
    np.testing.assert_allclose(np.concatenate(parts), whole, atol=1e-15)


def test_batches_keep_one_state_per_example(rng):
    net = stack()
    X = rng.normal(size=(4, 5, 2))
    whole = net(X, working_precision="Real64")
    so = NetStateObject(net)
    steps = [so(X[:, t : t + 1], working_precision="Real64") for t in range(5)]
    np.testing.assert_allclose(np.concatenate(steps, axis=1), whole, atol=1e-15)
    assert set(so.states) == {
        NetPort("1", "State"),
        NetPort("1", "CellState"),
        NetPort("2", "State"),
        NetPort("2", "CellState"),
    }
    assert so.states[NetPort("2", "State")].shape == (4, 2)
    np.testing.assert_allclose(so.states[NetPort("2", "State")], whole[:, -1], atol=1e-15)


def test_reset_and_given_initial_states(rng):
    net = as64(LongShortTermMemoryLayer(2, input=("Varying", 1)), seed=4)
    x = rng.normal(size=(3, 1))
    so = NetStateObject(net)
    first = so(x, working_precision="Real64")
    assert not np.allclose(
        so(x, working_precision="Real64"), first
    )  # continues from the kept state
    so.reset()
    np.testing.assert_array_equal(so(x, working_precision="Real64"), first)
    s0, c0 = rng.normal(size=2), rng.normal(size=2)
    so = NetStateObject(net, states={NetPort("State"): s0, NetPort("CellState"): c0})
    want = lstm_reference(x, net.arrays, s0, c0)["Output"]
    np.testing.assert_allclose(so(x, working_precision="Real64"), want, rtol=1e-12)
    so.reset()
    np.testing.assert_allclose(so(x, working_precision="Real64"), want, rtol=1e-12)


def design_graph():
    return NetGraph(
        {"lstm": LongShortTermMemoryLayer(4), "last": SequenceLastLayer(), "out": LinearLayer(2)},
        [
            ("lstm", "last", "out"),
            (NetPort("init"), NetPort("lstm", "State")),
            (NetPort("lstm", "CellState"), NetPort("FinalCell")),
        ],
        input=("Varying", 3),
    )


def test_state_ports_as_graph_inputs_and_outputs(rng):
    g = design_graph()
    assert g.input_ports() == ("init", "Input") and set(g.output_ports()) == {"FinalCell", "Output"}
    assert repr(g.ports["init"]) == "(4,)" and repr(g.ports["FinalCell"]) == "(4,)"
    xs = [rng.normal(size=(L, 3)) for L in (4, 2)]
    inits = [rng.normal(size=4) for _ in xs]

    def ref(ex, a):
        lstm = {k.split("/")[1]: v for k, v in a.items() if k.startswith("lstm/")}
        r = lstm_reference(ex["Input"], lstm, s=ex["init"])
        return {
            "FinalCell": r["CellState"],
            "Output": a["out/Weights"] @ r["State"] + a["out/Biases"],
        }

    check_layer(g, {"Input": xs, "init": inits}, ref, seed=5)  # includes gradients at "init"


def test_all_states_read_and_set(rng):
    net = stack()
    x = rng.normal(size=(6, 2))
    a = net(x[:4], ["Output", STATES], working_precision="Real64")
    b = net({"Input": x[4:], STATES: a[STATES]}, working_precision="Real64")
    np.testing.assert_allclose(
        np.concatenate([a["Output"], b]), net(x, working_precision="Real64"), atol=1e-15
    )
    with pytest.raises(ValueError, match=r"NetPort\('3', 'State'\) is not a recurrent state"):
        net({"Input": x, STATES: {NetPort("3", "State"): np.zeros(3)}})
    with pytest.raises(ValueError, match="wired from another port"):
        as64(design_graph())(
            {
                "Input": x[:, :1].repeat(3, 1),
                "init": np.zeros(4),
                STATES: {NetPort("lstm", "State"): np.zeros(4)},
            }
        )


def test_gradients_flow_through_initial_states(rng):
    net = stack()
    data = {"Input": [rng.normal(size=(3, 2))]}
    check_gradients(net, data)
    single = as64(LongShortTermMemoryLayer(2, input=("Varying", 2)), seed=6)
    check_gradients(single, {"Input": [rng.normal(size=(3, 2))], "State": [rng.normal(size=2)]})


def test_repeated_calls_of_one_shape_check_data_and_follow_the_net(rng):
    """Calls after the first with data of the same shape take a shorter path: it must still
    refuse bad data without losing the kept states, give every output, and notice a new net."""
    emb = as64(
        NetChain(
            [EmbeddingLayer(2, 5), LongShortTermMemoryLayer(3)],
            input=("Varying", Restricted("Integer", 5)),
        ),
        seed=7,
    )
    idx = np.array([[1, 4, 0, 2], [3, 3, 1, 0]])
    whole = emb(idx, working_precision="Real64")
    so = NetStateObject(emb)
    first = so(idx[:, :1], working_precision="Real64")
    with pytest.raises(ValueError, match=r"integers in 0\.\.4; received 5"):
        so(np.array([[5], [0]]), working_precision="Real64")
    rest = [so(idx[:, t : t + 1], working_precision="Real64") for t in range(1, 4)]
    np.testing.assert_allclose(np.concatenate([first, *rest], axis=1), whole, atol=1e-15)

    net = as64(LongShortTermMemoryLayer(3, input=("Varying", 2)), seed=8)
    x = rng.normal(size=(5, 2))
    so = NetStateObject(net)
    a = [so(x[t : t + 1], working_precision="Real64") for t in range(2)]
    with pytest.raises(ValueError, match="NaN or infinite"):
        so(np.full((1, 2), np.nan), working_precision="Real64")
    a += [so(x[t : t + 1], working_precision="Real64") for t in range(2, 5)]
    np.testing.assert_allclose(np.concatenate(a), net(x, working_precision="Real64"), atol=1e-15)
    y32 = so(x[:1])  # Real32 after Real64: the precision of this call
    assert y32.dtype == np.float32

    so.net = as64(LongShortTermMemoryLayer(3, input=("Varying", 2)), seed=9)
    so.reset()
    steps = [so(x[t : t + 1], working_precision="Real64") for t in range(5)]
    np.testing.assert_allclose(
        np.concatenate(steps), so.net(x, working_precision="Real64"), atol=1e-15
    )

    two = as64(
        NetGraph(
            {
                "lstm": LongShortTermMemoryLayer(3),
                "head": LinearLayer(1),
                "last": SequenceLastLayer(),
            },
            [
                ("lstm", "last"),
                ("lstm", "head"),
                ("head", NetPort("Head")),
                ("last", NetPort("Last")),
            ],
            input=("Varying", 2),
        ),
        seed=10,
    )
    so = NetStateObject(two)
    outs = [so(x[t : t + 1], working_precision="Real64") for t in range(5)]
    want = two(x, working_precision="Real64")
    assert all(set(o) == {"Head", "Last"} for o in outs)
    np.testing.assert_allclose(outs[-1]["Last"], want["Last"], atol=1e-15)
    np.testing.assert_allclose(np.concatenate([o["Head"] for o in outs]), want["Head"], atol=1e-15)


def test_initial_states_of_the_wrong_batch_form_are_refused_by_name():
    lstm = NetInitialize(LongShortTermMemoryLayer(2, input=("Varying", 1)), random_seed=0)
    states = {NetPort("State"): np.zeros(2), NetPort("CellState"): np.zeros(2)}
    with pytest.raises(
        ValueError, match=r"initial state NetPort\('State'\) must be given in the same batch form"
    ):
        lstm({"Input": np.ones((3, 4, 1)), NetPort(All, "States"): states})
    so = NetStateObject(lstm)
    so(np.ones((3, 4, 1)))  # a batch of three: three rows of states kept
    with pytest.raises(
        ValueError, match=r"initial state NetPort\('State'\) must be given in the same batch form"
    ):
        so(np.ones((4, 1)))  # then one example


def test_a_graph_port_may_not_name_an_input_and_an_output():
    lstm = LongShortTermMemoryLayer(2)
    with pytest.raises(ValueError, match='"State" names both an input and an output port'):
        NetGraph(
            {"l": lstm},
            [(NetPort("State"), NetPort("l", "State")), (NetPort("l", "State"), NetPort("State"))],
            input=("Varying", 1),
        )


@pytest.mark.parametrize(
    "after",
    [
        lambda: SequenceMostLayer(),
        lambda: SequenceRestLayer(),
        lambda: ConvolutionLayer(2, 2, interleaving=True),
        lambda: PoolingLayer(2, interleaving=True),
    ],
    ids=["most", "rest", "convolution", "pooling"],
)
def test_repeated_calls_through_layers_that_change_lengths(rng, after):
    """The shorter path of a repeated call gives the layers after the recurrent one the
    sequence lengths they compute their own from (a second call once failed there)."""
    net = as64(NetChain([LongShortTermMemoryLayer(3), after()], input=("Varying", 2)), seed=4)
    x = rng.standard_normal((5, 2))
    so = NetStateObject(net)
    first, second = so(x), so(x)
    fresh = NetStateObject(net)
    fresh(x)
    np.testing.assert_allclose(second, fresh(x), atol=1e-12)
    assert np.shape(first) == np.shape(second)
