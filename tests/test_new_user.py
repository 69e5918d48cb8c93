"""What new users hit: each case failed before its fix."""

from __future__ import annotations

import numpy as np
import pytest

from netgraph import (
    Automatic,
    ElementwiseLayer,
    Information,
    LinearLayer,
    LongShortTermMemoryLayer,
    NetChain,
    NetInitialize,
    NetPort,
    NetPortGradient,
    SequenceLastLayer,
    SoftmaxLayer,
)


def test_a_bare_recurrent_layer_has_a_layers_graph_and_a_picture():
    lstm = LongShortTermMemoryLayer(3, input=("Varying", 2))
    g = Information(lstm, "LayersGraph")
    assert set(g.edges) == {
        (NetPort("Input"), "LongShortTermMemoryLayer"),
        ("LongShortTermMemoryLayer", NetPort("Output")),
    }
    pytest.importorskip("matplotlib", reason="SummaryGraphic draws with matplotlib")
    fig = Information(lstm, "SummaryGraphic")
    assert len(fig.axes) == 1


def test_a_bare_layer_prints_its_own_options_and_its_main_ports():
    lstm = LongShortTermMemoryLayer(3, input=("Varying", 2))
    text = repr(lstm)
    assert text.startswith(
        "LongShortTermMemoryLayer(n=3) [Input: (Varying, 2) -> Output: (Varying, 3)"
    )
    assert "states: State (3,), CellState (3,)" in text
    assert "dropout" not in text and "learning_rate_multipliers" not in text
    assert repr(LongShortTermMemoryLayer(3, gate_activation="HardSigmoid")).startswith(
        "LongShortTermMemoryLayer(n=3, gate_activation='HardSigmoid')"
    )


def test_the_layer_table_shows_a_recurrent_layers_output_and_the_summary_its_ports_once():
    net = NetChain([LongShortTermMemoryLayer(3), SequenceLastLayer()], input=("Varying", 2))
    row = next(line for line in repr(net).splitlines() if "LongShortTermMemoryLayer" in line)
    assert "(Varying, 3)" in row and "CellState" not in row
    summary = str(Information(net))
    assert summary.count("Input: (Varying, 2)") == 1


def test_automatic_stands_for_a_size_to_infer():
    chain = NetChain([LinearLayer(4)], input=(5, Automatic))
    assert chain.ports["Input"].dims == (5, None)
    lin = LinearLayer(2, input=("Varying", Automatic))
    assert (
        repr(lin.ports["Input"]) == "(Varying, ?)" and repr(lin.ports["Output"]) == "(Varying, 2)"
    )
    assert repr(LinearLayer(2, input=Automatic).ports["Input"]) == "?"


def test_a_scalar_regression_output_as_in_wolfram():
    lin = NetInitialize(LinearLayer(output="Real", input=3), random_seed=0)
    assert lin.ports["Output"].dims == ()
    assert lin.arrays["Weights"].shape == (3,)
    assert np.shape(lin(np.ones(3))) == ()
    chain = NetInitialize(
        NetChain([LinearLayer(4), LinearLayer(output="Real")], input=2), random_seed=0
    )
    assert chain(np.ones((5, 2))).shape == (5,)


def test_values_beyond_float32_are_refused_not_turned_into_infinity():
    lin = NetInitialize(LinearLayer(2, input=3), random_seed=0)
    with pytest.raises(ValueError, match=r'port "Input".*beyond the range of Real32'):
        lin(np.array([1e300, 0.0, 0.0]))
    assert np.all(np.isfinite(lin(np.array([1e300, 0.0, 0.0]), working_precision="Real64")))
    lstm = NetInitialize(LongShortTermMemoryLayer(2, input=("Varying", 1)), random_seed=0)
    with pytest.raises(ValueError, match="beyond the range of Real32"):
        lstm({"Input": np.ones((3, 1)), NetPort("State"): np.full(2, 1e300)})
    with pytest.raises(ValueError, match="beyond the range of Real32"):
        lin(
            {"Input": np.ones(3), NetPortGradient("Output"): np.full(2, 1e300)},
            NetPortGradient("Input"),
        )


def test_a_masked_array_is_refused():
    lin = NetInitialize(LinearLayer(2, input=3), random_seed=0)
    x = np.ma.masked_array(np.ones(3), mask=[0, 1, 0])
    with pytest.raises(TypeError, match="masked array"):
        lin(x)


def test_a_forced_output_gradient_of_the_wrong_shape_is_refused_even_without_a_gradient_asked():
    lin = NetInitialize(LinearLayer(2, input=3), random_seed=0)
    with pytest.raises(ValueError, match="forced gradient"):
        lin({"Input": np.ones((4, 3)), NetPortGradient("Output"): np.ones((3, 2))})


def test_a_softmax_classifier_output_is_not_disturbed(rng):  # the plain cases still work
    net = NetInitialize(NetChain([LinearLayer(3), SoftmaxLayer()], input=2), random_seed=0)
    assert np.allclose(net(rng.normal(size=(4, 2))).sum(axis=1), 1.0)


def _lstm():
    return NetInitialize(LongShortTermMemoryLayer(2, input=("Varying", 1)), random_seed=0)


def test_frozen_means_frozen():
    from netgraph import NetExtract

    net = NetInitialize(NetChain([LinearLayer(2), SoftmaxLayer()], input=3), random_seed=0)
    x = np.ones(3)
    before = net(x)
    w = NetExtract(net, ("1", "Weights"))
    with pytest.raises(ValueError):
        w.flags.writeable = True
    with pytest.raises(ValueError):
        w[...] = 0
    for mapping in (net.layers, net.ports, net.layers["1"].arrays, net.layers["1"].options):
        with pytest.raises(TypeError):
            mapping["x"] = 1
    np.testing.assert_array_equal(net(x), before)
    np.testing.assert_allclose(net(x, working_precision="Real64"), before, rtol=1e-6)


def test_state_object_states_are_copies():
    from netgraph import NetStateObject

    so = NetStateObject(_lstm())
    so(np.ones((3, 1)))
    st = so.states[NetPort("State")]
    kept = np.array(st)
    st[...] = 99.0  # changing what was shown changes nothing kept
    np.testing.assert_array_equal(so.states[NetPort("State")], kept)


def test_a_state_object_refuses_use_from_two_threads_at_once():
    import threading

    from netgraph import NetStateObject

    so = NetStateObject(_lstm())
    so(np.ones((3, 1)))
    entered, release = threading.Event(), threading.Event()
    real = so._kept.replay.plan.forward

    def slow_forward(*a, **k):
        entered.set()
        release.wait(5)
        return real(*a, **k)

    so._kept.replay.plan.forward = slow_forward
    t = threading.Thread(target=lambda: so(np.ones((3, 1))))
    t.start()
    entered.wait(5)
    try:
        with pytest.raises(RuntimeError, match="another thread"):
            so(np.ones((3, 1)))
    finally:
        release.set()
        t.join()
        del so._kept.replay.plan.forward


def test_evaluating_at_many_signatures_keeps_a_bounded_cache_and_one_cast_copy():
    from netgraph import EmbeddingLayer
    from netgraph.batching import SPECIALIZED
    from netgraph.plan import plan_of

    w = np.random.default_rng(0).normal(size=(50, 4))  # float64: Real32 needs a cast copy
    emb = EmbeddingLayer(4, arrays={"Weights": w})  # input left open: each length specializes
    casts = set()
    for length in range(1, 3 * SPECIALIZED + 1):
        emb(np.arange(length) % 50)
        run = emb._cache["specialized"][next(reversed(emb._cache["specialized"]))]
        casts.add(id(plan_of(run).arrays(np.float32)[()]["Weights"]))
    assert len(emb._cache["specialized"]) == SPECIALIZED
    assert len(casts) == 1


def test_a_decoder_property_that_takes_no_argument_refuses_one():
    from netgraph import NetDecoder

    dec = NetDecoder("Class", ["a", "b", "c"])
    with pytest.raises(ValueError, match='"Entropy" takes no argument'):
        dec(np.array([0.2, 0.3, 0.5]), ("Entropy", 3))
    assert dec(np.array([0.2, 0.3, 0.5]), ("TopDecisions", 2)) == ["c", "b"]


def test_text_targets_without_a_decoder_are_told_to_use_a_decoder(rng):
    from netgraph import NetTrain

    net = NetChain([LinearLayer(2), SoftmaxLayer()], input=2)
    with pytest.raises(TypeError, match="NetDecoder"):
        NetTrain(
            net, (rng.normal(size=(4, 2)), ["a", "b", "a", "b"]), training_progress_reporting=None
        )


@pytest.mark.parametrize("precision", ["Real32", "Real64"])
def test_cross_entropy_after_softmax_learns_from_a_confident_mistake(precision):
    """A logit gap of 40 makes the true class's probability 4e-18: the loss and its gradient
    come from the logits (log-softmax), so they are exact instead of clipped to zero."""
    from netgraph import CrossEntropyLossLayer, NetGraph

    W = np.array([[40.0, 0.0], [0.0, 0.0], [0.0, 1.0]])
    net = NetGraph(
        {
            "lin": LinearLayer(3, weights=W, biases=np.zeros(3)),
            "soft": SoftmaxLayer(),
            "loss": CrossEntropyLossLayer("Index"),
        },
        [("lin", "soft", "loss")],
        input=2,
    )
    x, t = np.array([1.0, 0.5]), 1  # logits (40, 0, 0.5): class 1 is far behind
    z = W @ x
    lse = z.max() + np.log(np.sum(np.exp(z - z.max())))
    p = np.exp(z - lse)
    feed = {"Input": x, "Target": t}
    loss = net(feed, "Loss", working_precision=precision)
    np.testing.assert_allclose(loss, lse - z[t], rtol=1e-6)
    dW = net(feed, NetPortGradient(["lin", "Weights"]), working_precision=precision)
    want = np.outer(p - np.eye(3)[t], x)  # (softmax − one-hot) ⊗ x
    np.testing.assert_allclose(dW, want, rtol=1e-5, atol=1e-6)
    # the softmax output itself is still there, and its gradient from elsewhere still flows
    np.testing.assert_allclose(
        net(feed, NetPort("soft", "Output"), working_precision=precision), p, atol=1e-7
    )


def test_cross_entropy_on_logits_over_ragged_sequences_matches_the_probabilities(rng):
    from netgraph import CrossEntropyLossLayer, NetGraph

    net = NetInitialize(
        NetGraph(
            {"lin": LinearLayer(4), "soft": SoftmaxLayer(), "loss": CrossEntropyLossLayer("Index")},
            [("lin", "soft", "loss")],
            input=("Varying", 3),
        ),
        random_seed=0,
    )
    xs = [rng.normal(size=(n, 3)) for n in (5, 2, 4)]
    ts = [rng.integers(0, 4, n) for n in (5, 2, 4)]
    loss = net({"Input": xs, "Target": ts}, "Loss", working_precision="Real64")
    for x, t, got in zip(xs, ts, loss):
        p = net({"Input": x, "Target": t}, NetPort("soft", "Output"), working_precision="Real64")
        assert got == pytest.approx(-np.mean(np.log(p[np.arange(len(t)), t])), rel=1e-12)
    g = net(
        {"Input": xs, "Target": ts}, NetPortGradient(["lin", "Weights"]), working_precision="Real64"
    )
    alone = sum(
        net(
            {"Input": [x], "Target": [t]},
            NetPortGradient(["lin", "Weights"]),
            working_precision="Real64",
        )
        for x, t in zip(xs, ts)
    )
    np.testing.assert_allclose(g, alone, rtol=1e-12)


def _classifier():
    from netgraph import NetDecoder

    return NetChain(
        [LinearLayer(4), LinearLayer(2), SoftmaxLayer()],
        input=3,
        output=NetDecoder("Class", ["x", "y"]),
    )


def test_editing_keeps_encoders_and_decoders():
    from netgraph import NetAppend, NetDrop, NetFlatten, NetRename, NetReplacePart, NetTake

    net = _classifier()
    dec = net.coders["Output"]
    for edited in (
        NetRename(net, {"1": "lin"}),
        NetReplacePart(net, {"1": LinearLayer(4)}),
        NetFlatten(NetChain({"inner": net})),
        NetDrop(net, 1),
    ):
        assert edited.coders.get("Output") == dec, edited
    # the layer that the decoder reads is gone or no longer last
    assert NetTake(net, 2).coders == {}
    assert NetAppend(net, ElementwiseLayer("Exp")).coders == {}


def test_replacing_a_port_with_a_coder_attaches_it():
    from netgraph import NetDecoder, NetEncoder, NetReplacePart

    net = NetChain([LinearLayer(2), SoftmaxLayer()], input=3)
    dec = NetDecoder("Class", ["p", "q"])
    new = NetReplacePart(net, {"Output": dec})
    assert new.coders["Output"] == dec
    enc = NetEncoder("Class", ["a", "b", "c"], "UnitVector")
    assert NetReplacePart(net, {"Input": enc}).coders["Input"] == enc


def test_an_embedding_keeps_its_encoder():
    from netgraph import EmbeddingLayer, NetEncoder

    enc = NetEncoder("Tokens", ["a", "b", "c"])
    emb = NetInitialize(EmbeddingLayer(4, input=enc), random_seed=0)
    assert emb.coders["Input"] == enc
    assert emb("a c zzz").shape == (3, 4)


def test_renaming_a_graph_port_moves_its_decoder():
    from netgraph import NetDecoder, NetGraph, NetRename

    dec = NetDecoder("Class", ["x", "y"])
    g = NetGraph(
        {"lin": LinearLayer(2), "soft": SoftmaxLayer()}, [("lin", "soft")], input=3, output=dec
    )
    assert NetRename(g, {NetPort("Output"): NetPort("Label")}).coders == {"Label": dec}


def test_one_net_evaluated_from_several_threads_gives_the_same_results(rng):
    from concurrent.futures import ThreadPoolExecutor

    net = NetInitialize(
        NetChain(
            [LongShortTermMemoryLayer(8), SequenceLastLayer(), LinearLayer(3)], input=("Varying", 2)
        ),
        random_seed=0,
    )
    xs = [rng.normal(size=(int(n), 2)) for n in rng.integers(2, 12, size=16)]
    alone = [net([x]) for x in xs]
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(lambda x: net([x]), xs * 4))
    for i, y in enumerate(together):
        np.testing.assert_array_equal(y, alone[i % len(xs)])


def test_scalar_targets_for_a_vector_output_get_advice(rng):
    from netgraph import NetTrain

    X = rng.normal(size=(8, 2))
    with pytest.raises(
        ValueError, match=r"8 examples of one number each.*\(8, 1\).*output=\"Real\""
    ):
        NetTrain(
            NetChain([LinearLayer(1)], input=2),
            (X, list(X[:, 0])),
            training_progress_reporting=None,
        )
