"""NetMapOperator, NetBidirectionalOperator, NetFoldOperator and NetNestOperator through the
shared harness against plain-numpy references, and what they do in NetTrain,
NetStateObject, Information and files."""

import numpy as np
import pytest

from netgraph import (
    BasicRecurrentLayer,
    ElementwiseLayer,
    GatedRecurrentLayer,
    Information,
    LinearLayer,
    LongShortTermMemoryLayer,
    NetBidirectionalOperator,
    NetChain,
    NetExtract,
    NetFoldOperator,
    NetGraph,
    NetInitialize,
    NetMapOperator,
    NetNestOperator,
    NetPort,
    NetPortGradient,
    NetStateObject,
    NetTrain,
    SequenceLastLayer,
    SequenceRestLayer,
    SoftmaxLayer,
    ThreadingLayer,
)
from tests.harness import as64, check_gradients, check_layer
from tests.layers.test_gru_rnn import rnn_reference
from tests.layers.test_recurrent import lstm_reference


def ragged(rng, lengths, k):
    return [rng.normal(size=(L, k)) for L in lengths]


def sub(arrays: dict, prefix: str) -> dict:
    """The arrays under "prefix/", by the rest of their key."""
    n = len(prefix) + 1
    return {k[n:]: a for k, a in arrays.items() if k.startswith(prefix + "/")}


# -- NetMapOperator ---------------------------------------------------------------------------


def frame_net():
    return NetChain([LinearLayer(3), ElementwiseLayer("Tanh"), LinearLayer(2)])


def frame_reference(x, a):
    return a["3/Weights"] @ np.tanh(a["1/Weights"] @ x + a["1/Biases"]) + a["3/Biases"]


def test_map_over_ragged_sequences(rng):
    net = NetMapOperator(frame_net(), input=("Varying", 4))
    assert net.ports["Output"].dims[1:] == (2,)
    check_layer(
        net,
        {"Input": ragged(rng, [3, 1, 4], 4)},
        lambda ex, a: {
            "Output": np.array([frame_reference(x, sub(a, "Net")) for x in ex["Input"]])
        },
    )


def test_map_over_a_fixed_dimension_of_matrices(rng):
    net = NetMapOperator(frame_net(), input=(5, 2, 4))  # maps over 5 matrices 2×4
    assert net.ports["Output"].dims == (5, 2, 2)

    def reference(ex, a):
        a = sub(a, "Net")
        return {"Output": np.array([[frame_reference(r, a) for r in m] for m in ex["Input"]])}

    check_layer(net, {"Input": [rng.normal(size=(5, 2, 4)) for _ in range(2)]}, reference)


def test_map_refuses_recurrent_and_varying_inner_nets():
    with pytest.raises(ValueError, match="NetFoldOperator to carry a state"):
        NetMapOperator(LongShortTermMemoryLayer(3))
    with pytest.raises(ValueError, match="fixed shape"):
        NetMapOperator(NetChain([LongShortTermMemoryLayer(2), SequenceLastLayer()]))


def test_map_refuses_ports_of_different_lengths():
    g = NetGraph([ThreadingLayer("Plus")], [([NetPort("A"), NetPort("B")], 1)], A=2, B=2)
    op = NetMapOperator(g, A=(3, 2))
    assert op.ports["B"].dims == (3, 2)
    with pytest.raises(ValueError, match="same length"):
        NetMapOperator(g, A=(3, 2), B=(4, 2))


# -- NetBidirectionalOperator --------------------------------------------------------------------


def bi_reference(ex, a, agg="Catenate", cell=rnn_reference):
    x = ex["Input"]
    f = cell(x, sub(a, "ForwardNet"))
    b = cell(x[::-1], sub(a, "BackwardNet"))
    yb = b["Output"][::-1]
    y = {"Catenate": lambda: np.concatenate([f["Output"], yb], -1)}.get(
        agg, lambda: (f["Output"] + yb) * (0.5 if agg == "Mean" else 1.0)
    )()
    out = {"Output": y}
    for name, r in (("Forward", f), ("Backward", b)):
        out.update({name + p: v for p, v in r.items() if p != "Output"})
    return out


@pytest.mark.parametrize("agg", ["Catenate", "Total", "Mean"])
def test_bidirectional_basic_rnn_on_ragged_batches(rng, agg):
    net = NetBidirectionalOperator(BasicRecurrentLayer(3), agg, input=("Varying", 2))
    assert net.ports["Output"].dims[1:] == ((6,) if agg == "Catenate" else (3,))
    data = {"Input": ragged(rng, [4, 1, 3], 2)}
    check_layer(net, data, lambda ex, a: bi_reference(ex, a, agg))


def test_bidirectional_lstm_with_initial_states(rng):
    net = NetBidirectionalOperator(LongShortTermMemoryLayer(3), input=("Varying", 2))
    assert net.state_ports == (
        "ForwardState",
        "ForwardCellState",
        "BackwardState",
        "BackwardCellState",
    )
    data = {"Input": ragged(rng, [3, 2], 2)}
    data.update({p: [rng.normal(size=3) for _ in range(2)] for p in net.state_ports})

    def reference(ex, a):
        f = lstm_reference(
            ex["Input"], sub(a, "ForwardNet"), ex["ForwardState"], ex["ForwardCellState"]
        )
        b = lstm_reference(
            ex["Input"][::-1], sub(a, "BackwardNet"), ex["BackwardState"], ex["BackwardCellState"]
        )
        return {
            "Output": np.concatenate([f["Output"], b["Output"][::-1]], -1),
            "ForwardState": f["State"],
            "ForwardCellState": f["CellState"],
            "BackwardState": b["State"],
            "BackwardCellState": b["CellState"],
        }

    net = check_layer(net, data, reference)
    check_gradients(net, data, ports=list(net.state_ports), arrays=False)


def test_bidirectional_two_nets_and_a_vector_output(rng):
    f = NetChain([GatedRecurrentLayer(2), SequenceLastLayer()])
    b = NetChain([BasicRecurrentLayer(3), SequenceLastLayer()])
    net = NetBidirectionalOperator([f, b], input=("Varying", 2))
    assert net.ports["Output"].dims == (5,)  # not sequences: the backward output is not reversed
    net = as64(net)
    xs = ragged(rng, [4, 2], 2)
    got = net(xs, working_precision="Real64")
    for x, y in zip(xs, got):
        fw = net.layers["ForwardNet"](x, working_precision="Real64")
        bw = net.layers["BackwardNet"](x[::-1], working_precision="Real64")
        np.testing.assert_allclose(y, np.concatenate([fw, bw]), rtol=1e-12)
    check_gradients(net, {"Input": xs})


def test_bidirectional_refusals():
    with pytest.raises(ValueError, match="aggregation must be one of"):
        NetBidirectionalOperator(BasicRecurrentLayer(2), "Max")
    with pytest.raises(ValueError, match="list of two"):
        NetBidirectionalOperator([BasicRecurrentLayer(2)] * 3)
    with pytest.raises(ValueError, match="Total adds"):
        NetBidirectionalOperator(
            [BasicRecurrentLayer(2), BasicRecurrentLayer(3)], "Total", input=("Varying", 1)
        )
    with pytest.raises(ValueError, match='"Input" must be a sequence'):
        NetBidirectionalOperator(BasicRecurrentLayer(2), input=3)
    bi = NetInitialize(NetBidirectionalOperator(BasicRecurrentLayer(2), input=("Varying", 1)))
    with pytest.raises(ValueError, match="cannot keep the states of a bidirectional net"):
        NetStateObject(NetChain([bi, SequenceLastLayer()]))


def test_bidirectional_arrays_are_separate_and_reachable(rng):
    net = NetInitialize(
        NetBidirectionalOperator(BasicRecurrentLayer(2), input=("Varying", 1)), random_seed=3
    )
    f = NetExtract(net, ["ForwardNet", "InputWeights"])
    b = NetExtract(net, ["BackwardNet", "InputWeights"])
    assert not np.array_equal(f, b)  # two copies, drawn independently
    assert Information(net, "ArraysCount") == 6
    assert Information(net, "RecurrentStatesCount") == 2
    g = net(rng.normal(size=(3, 1)), NetPortGradient(["BackwardNet", "Biases"]))
    assert g.shape == (2,) and np.all(g != 0)


# -- NetFoldOperator ------------------------------------------------------------------------------


def rnn_cell(k=2, n=3):
    """s' = tanh(Wx·x + Ws·s + b), written as a graph with a state input."""
    return NetGraph(
        {
            "x": LinearLayer(n),
            "s": LinearLayer(n, biases=None),
            "add": ThreadingLayer("Plus"),
            "f": ElementwiseLayer("Tanh"),
        },
        [(NetPort("Input"), "x"), (NetPort("State"), "s"), (["x", "s"], "add"), ("add", "f")],
        input=k,
        State=n,
    )


def fold_reference(ex, a):
    rnn = {
        "InputWeights": a["Net/x/Weights"],
        "StateWeights": a["Net/s/Weights"],
        "Biases": a["Net/x/Biases"],
    }
    r = rnn_reference(ex["Input"], rnn, ex.get("State"))
    return {"Output": r["Output"], "State": r["State"]}


def test_fold_is_a_custom_recurrent_cell(rng):
    net = NetFoldOperator(rnn_cell())
    assert net.ports["Output"].dims[1:] == (3,) and net.state_ports == ("State",)
    check_layer(net, {"Input": ragged(rng, [4, 1, 3], 2)}, fold_reference)


def test_fold_with_initial_state_and_its_gradient(rng):
    net = NetFoldOperator(rnn_cell())
    data = {"Input": ragged(rng, [3, 2], 2), "State": [rng.normal(size=3) for _ in range(2)]}
    net = check_layer(net, data, fold_reference)
    check_gradients(net, data, ports=["State"], arrays=False)


def test_fold_equals_basic_recurrent_layer_with_its_arrays(rng):
    fold = NetInitialize(NetFoldOperator(rnn_cell()), random_seed=2)
    a = {
        "InputWeights": NetExtract(fold, ["Net", "x", "Weights"]),
        "StateWeights": NetExtract(fold, ["Net", "s", "Weights"]),
        "Biases": NetExtract(fold, ["Net", "x", "Biases"]),
    }
    rnn = BasicRecurrentLayer(3, input=("Varying", 2), arrays=a)
    xs = ragged(rng, [5, 2, 3], 2)
    for y, want in zip(fold(xs, working_precision="Real64"), rnn(xs, working_precision="Real64")):
        np.testing.assert_allclose(y, want, rtol=1e-12, atol=1e-14)


def test_fold_in_net_state_object(rng):
    fold = NetInitialize(NetFoldOperator(rnn_cell()), random_seed=0)
    x = rng.normal(size=(5, 2))
    so = NetStateObject(fold)
    parts = [so(x[:2]), so(x[2:])]
    np.testing.assert_allclose(np.concatenate(parts), fold(x), rtol=1e-6)
    np.testing.assert_allclose(so.states[NetPort("State")], fold(x)[-1], rtol=1e-6)


def test_fold_refusals():
    cell = rnn_cell()
    with pytest.raises(ValueError, match='feedback "Out" → "State"'):
        NetFoldOperator(cell, {"Out": "State"})
    with pytest.raises(ValueError, match="constants names"):
        NetFoldOperator(cell, None, ["Bias"])
    lstm = LongShortTermMemoryLayer(2)
    with pytest.raises(ValueError, match="State names both a state and an output"):
        NetFoldOperator(lstm, {"Output": "State"}, outputs=["Output", "State"])
    with pytest.raises(ValueError, match='port "Input" of the net must have a fixed shape'):
        NetFoldOperator(lstm, {"Output": "State"})


# -- NetNestOperator -----------------------------------------------------------------------------


def test_nest_applies_the_net_n_times(rng):
    net = NetNestOperator(NetChain([LinearLayer(3), ElementwiseLayer("Tanh")]), 3, input=3)

    def reference(ex, a):
        x = ex["Input"]
        for _ in range(3):
            x = np.tanh(a["Net/1/Weights"] @ x + a["Net/1/Biases"])
        return {"Output": x}

    check_layer(net, {"Input": [rng.normal(size=3) for _ in range(3)]}, reference)


def test_nest_refusals():
    with pytest.raises(ValueError, match="positive integer"):
        NetNestOperator(LinearLayer(2), 0)
    with pytest.raises(ValueError, match='in its "Net": LinearLayer: port "Output"'):
        NetNestOperator(LinearLayer(2), 2, input=3)


# -- training ---------------------------------------------------------------------------------


def test_train_a_bidirectional_classifier(rng):
    """The sign of the last step; both directions train."""
    xs, ys = [], []
    for _ in range(200):
        L = int(rng.integers(4, 9))
        x = rng.normal(size=(L, 1))
        xs.append(x)
        ys.append(int(x[-1, 0] > 0))
    net = NetChain(
        [
            NetBidirectionalOperator(GatedRecurrentLayer(6)),
            SequenceLastLayer(),
            LinearLayer(2),
            SoftmaxLayer(),
        ],
        input=("Varying", 1),
    )
    res = NetTrain(net, (xs, ys), "All", max_training_rounds=15, batch_size=20, random_seed=0)
    losses = res["RoundLossList"]
    assert losses[-1] < 0.5 * losses[0]
    trained, start = res["TrainedNet"], NetInitialize(net, random_seed=0)
    for d in ("ForwardNet", "BackwardNet"):
        w = ["1", d, "InputGateInputWeights"]
        assert not np.allclose(NetExtract(trained, w), NetExtract(start, w), atol=1e-3)


# -- ONNX -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "layer", [LongShortTermMemoryLayer(3), GatedRecurrentLayer(3)], ids=["LSTM", "GRU"]
)
def test_bidirectional_as_one_onnx_node(rng, tmp_path, layer):
    """One LSTM/GRU node with direction="bidirectional", run by onnxruntime on a ragged batch
    with initial states (each sequence reversed within its length), and read back equal."""
    pytest.importorskip("onnxruntime", reason="the ONNX checks need onnx and onnxruntime")
    import onnx

    from netgraph import Export
    from tests.harness import with_dtype
    from tests.io.onnx_check import check_onnx

    net = with_dtype(
        NetInitialize(NetBidirectionalOperator(layer, input=("Varying", 2)), random_seed=0),
        np.float32,
    )
    xs = [rng.normal(size=(t, 2)).astype(np.float32) for t in (4, 1, 3)]
    initial = {
        f"{p}/initial": rng.normal(size=(3, 3)).astype(np.float32) for p in net.state_ports[:1]
    }
    check_onnx(net, {"Input": xs}, tmp_path, initial, losses=True)
    model = onnx.load(str(Export(tmp_path / "bi.onnx", net)))
    nodes = [n for n in model.graph.node if n.op_type in ("LSTM", "GRU")]
    assert len(nodes) == 1
    assert {a.name: a.s for a in nodes[0].attribute}["direction"] == b"bidirectional"


def test_bidirectional_of_two_kinds_has_no_onnx_counterpart(tmp_path):
    pytest.importorskip("onnxruntime", reason="the ONNX checks need onnx and onnxruntime")
    from netgraph import Export

    net = NetInitialize(
        NetBidirectionalOperator(
            [GatedRecurrentLayer(2), BasicRecurrentLayer(2)], input=("Varying", 1)
        )
    )
    with pytest.raises(
        ValueError, match="no ONNX counterpart.*GatedRecurrentLayer and BasicRecurrentLayer"
    ):
        Export(tmp_path / "bi.onnx", net)


def test_moving_statistics_inside_a_map_are_updated_by_net_train(rng):
    """A BatchNormalizationLayer in a mapped frame net: NetTrain's one batch of one round
    moves its MovingMean by (1 − 0.9)·(the mean over every real step of its input)."""
    from netgraph import BatchNormalizationLayer

    frame = NetChain([LinearLayer(4), BatchNormalizationLayer(), ElementwiseLayer("Ramp")])
    net = NetChain(
        [
            NetMapOperator(frame),
            LongShortTermMemoryLayer(3),
            SequenceLastLayer(),
            LinearLayer(2),
            SoftmaxLayer(),
        ],
        input=("Varying", 5),
    )
    xs = [rng.normal(size=(int(rng.integers(2, 6)), 5)) + 3.0 for _ in range(40)]
    ys = [int(x[0, 0] > 3) for x in xs]
    trained = NetTrain(
        net, (xs, ys), batch_size=40, max_training_rounds=1, method="SGD", random_seed=0
    )
    linear = NetExtract(NetInitialize(net, random_seed=0), ["1", "Net", "1"])
    h = np.concatenate([linear(x, working_precision="Real64") for x in xs])
    got = NetExtract(trained, ["1", "Net", "2", "MovingMean"])
    np.testing.assert_allclose(got, 0.1 * h.mean(0), rtol=1e-5, atol=1e-6)


# -- regressions ----------------------------------------------------------------------------


def test_moving_statistics_in_a_fold_move_at_every_step():
    """A BatchNormalizationLayer in a folded cell moves its statistics once per step, each
    from the last (as a PyTorch loop calling the module at every step), not only at the
    last step."""
    from netgraph import BatchNormalizationLayer

    cell = NetGraph(
        {
            "x": LinearLayer(2, weights=np.eye(2), biases=np.zeros(2)),
            "bn": BatchNormalizationLayer(),
            "s": LinearLayer(2),
            "add": ThreadingLayer("Plus"),
        },
        [(NetPort("Input"), "x"), ("x", "bn"), (NetPort("State"), "s"), (["bn", "s"], "add")],
        input=2,
        State=2,
    )
    net = NetChain([NetFoldOperator(cell), SequenceLastLayer(), LinearLayer(2), SoftmaxLayer()])
    xs = [np.array([[10.0 * t + 1 + i] * 2 for t in range(n)]) for i, n in enumerate((3, 3, 1))]
    trained = NetTrain(
        net, (xs, [0, 1, 0]), batch_size=3, max_training_rounds=1, method="SGD", random_seed=0
    )
    want = 0.0
    for t in range(3):  # the sequences still running at step t
        want = 0.9 * want + 0.1 * np.mean([x[t, 0] for x in xs if len(x) > t])
    got = NetExtract(trained, ["1", "Net", "bn", "MovingMean"])
    np.testing.assert_allclose(got, [want, want], rtol=1e-5)


def test_net_flatten_keeps_operators_whole(rng):
    from netgraph import NetFlatten

    net = NetInitialize(
        NetChain(
            [
                NetChain(
                    [
                        NetMapOperator(LinearLayer(3)),
                        NetBidirectionalOperator(BasicRecurrentLayer(2)),
                    ]
                ),
                SequenceLastLayer(),
            ],
            input=("Varying", 2),
        ),
        random_seed=0,
    )
    flat = NetFlatten(net)
    assert [type(v).__name__ for v in flat.layers.values()] == [
        "NetMapOperator",
        "NetBidirectionalOperator",
        "SequenceLastLayer",
    ]
    x = rng.normal(size=(4, 2))
    np.testing.assert_array_equal(flat(x), net(x))


def test_replacing_the_net_of_a_top_level_operator(rng):
    from netgraph import NetReplacePart

    bi = NetBidirectionalOperator(GatedRecurrentLayer(3), input=("Varying", 2))
    new = NetReplacePart(bi, {"ForwardNet": GatedRecurrentLayer(5)})
    assert new.ports["ForwardState"].dims == (5,) and new.ports["Output"].dims[1:] == (8,)
    two = NetReplacePart(
        bi, {"ForwardNet": NetChain([GatedRecurrentLayer(2), GatedRecurrentLayer(2)])}
    )
    assert two.state_ports == ("Forward1State", "Forward2State", "BackwardState")


def test_more_refusals():
    with pytest.raises(TypeError, match="NetMapOperator: net must be a layer or a net"):
        NetMapOperator(3)
    with pytest.raises(ValueError, match="at least one must be a sequence"):
        NetFoldOperator(LinearLayer(3, input=3), feedback={"Output": "Input"})
    with pytest.raises(ValueError, match="arrays of one shape"):
        NetNestOperator(LongShortTermMemoryLayer(2), 2, input=("Varying", 2))
    with pytest.raises(
        ValueError, match='each net.s "Output" must be a sequence as long as its "Input"'
    ):
        NetBidirectionalOperator(
            NetChain([BasicRecurrentLayer(2), SequenceRestLayer()]), input=("Varying", 1)
        )
    net = NetInitialize(
        NetChain(
            [NetBidirectionalOperator(BasicRecurrentLayer(2)), SequenceLastLayer()],
            input=("Varying", 1),
        )
    )
    with pytest.raises(
        ValueError, match=r'"1/ForwardNet" is inside the NetBidirectionalOperator "1"'
    ):
        net(np.ones((3, 1)), NetPort(["1", "ForwardNet"], "Output"))
