"""export_onnx, layer by layer: onnxruntime on ragged batches (batch sizes 1 and 3, several
lengths, NaN padding) against netgraph's own outputs and final states."""

from __future__ import annotations

import numpy as np
import pytest

from netgraph import *
from netgraph.io.onnx import export_onnx, import_onnx
from netgraph.walk import flatten

from .onnx_check import check_onnx, session

LENGTHS = {1: [4], 3: [5, 1, 3]}


@pytest.fixture(params=[1, 3], ids=["B1", "B3"])
def lengths(request):
    return LENGTHS[request.param]


def seqs(rng, lengths, *dims, low=None):
    """Random sequences of the given lengths (uniform in [low, low + 2] when ``low`` is given)."""
    if low is not None:
        return [rng.uniform(low, low + 2, size=(n, *dims)).astype(np.float32) for n in lengths]
    return [rng.normal(size=(n, *dims)).astype(np.float32) for n in lengths]


def ready(net, rng, seed=0):
    """The net initialized, with random float32 biases (NetInitialize starts them at zero)."""
    net = NetInitialize(net, random_seed=seed)
    for path, leaf in flatten(net).leaves.items():
        for name, a in leaf.arrays.items():
            if name.endswith("Biases"):
                value = rng.normal(size=a.shape).astype(np.float32)
                net = NetReplacePart(net, {(*path, name) if path else name: value})
    return net


# -- recurrent layers --------------------------------------------------------------------------

RECURRENT = {
    "lstm": lambda **kw: LongShortTermMemoryLayer(4, **kw),
    "lstm-hard-softsign": lambda **kw: LongShortTermMemoryLayer(
        4, gate_activation="HardSigmoid", state_activation="SoftSign", **kw
    ),
    "lstm-dropout": lambda **kw: LongShortTermMemoryLayer(4, dropout={"StateUpdate": 0.3}, **kw),
    "gru": lambda **kw: GatedRecurrentLayer(4, **kw),
    "gru-state-bias": lambda **kw: GatedRecurrentLayer(
        4, reset_gate_mode="recurrent-bias-after-multiplication", **kw
    ),
    "gru-reset-before": lambda **kw: GatedRecurrentLayer(
        4, reset_gate_mode="before-multiplication", **kw
    ),
    "gru-hard-softsign": lambda **kw: GatedRecurrentLayer(
        4, gate_activation="HardSigmoid", state_activation="SoftSign", **kw
    ),
    **{
        f"rnn-{f}": (lambda f=f, **kw: BasicRecurrentLayer(4, activation=f, **kw))
        for f in ("Tanh", "Ramp", "ReLU", "LogisticSigmoid", "SoftSign", "Identity")
    },
}


@pytest.mark.parametrize("kind", list(RECURRENT))
def test_recurrent_layer_and_its_final_states(kind, lengths, rng, tmp_path):
    net = ready(NetChain([RECURRENT[kind]()], input=("Varying", 3)), rng)
    got = check_onnx(net, {"Input": seqs(rng, lengths, 3)}, tmp_path)
    assert "1/State/final" in got


@pytest.mark.parametrize("kind", ["lstm", "gru", "rnn-Tanh"])
def test_bare_recurrent_layer_from_given_initial_states(kind, lengths, rng, tmp_path):
    net = ready(RECURRENT[kind](input=("Varying", 2)), rng)
    initial = {f"{p}/initial": rng.normal(size=(len(lengths), 4)) for p in net.state_ports}
    got = check_onnx(net, {"Input": seqs(rng, lengths, 2)}, tmp_path, initial=initial)
    assert set(got) >= {f"{p}/final" for p in net.state_ports}


@pytest.mark.parametrize("mode", ["before-multiplication", "after-multiplication"])
def test_gru_node_holds_the_mode_and_the_activations(mode, rng, tmp_path):
    """The GRU node says the layer's reset gate mode (linear_before_reset) and activations
    (MATLAB's HardSigmoid: alpha 0.2, beta 0.5), with Rb = 0; onnxruntime agrees."""
    import onnx

    layer = GatedRecurrentLayer(
        4, reset_gate_mode=mode, gate_activation="HardSigmoid", state_activation="SoftSign"
    )
    net = ready(NetChain([layer], input=("Varying", 3)), rng)
    check_onnx(net, {"Input": seqs(rng, [5, 1, 3], 3)}, tmp_path)
    model = onnx.load(tmp_path / "net.onnx")
    (node,) = [n for n in model.graph.node if n.op_type == "GRU"]
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
    assert attrs["linear_before_reset"] == (mode == "after-multiplication")
    assert attrs["activations"] == [b"HardSigmoid", b"Softsign"]
    assert np.allclose(attrs["activation_alpha"], [0.2])
    assert np.allclose(attrs["activation_beta"], [0.5])
    (B,) = [i for i in model.graph.initializer if i.name == node.input[3]]
    assert not np.any(onnx.numpy_helper.to_array(B)[0, 12:])  # Rb = 0


def test_initial_states_default_to_zero(rng, tmp_path):
    net = ready(NetChain([LongShortTermMemoryLayer(3)], input=("Varying", 2)), rng)
    x = seqs(rng, [3, 2], 2)
    zeros = {"1/State/initial": np.zeros((2, 3)), "1/CellState/initial": np.zeros((2, 3))}
    (tmp_path / "fed").mkdir()
    fed = check_onnx(net, {"Input": x}, tmp_path / "fed", initial=zeros)
    plain = check_onnx(net, {"Input": x}, tmp_path)
    np.testing.assert_array_equal(fed["Output"], plain["Output"])


def test_recurrent_stack_with_a_fixed_length(rng, tmp_path):
    net = NetChain(
        [LongShortTermMemoryLayer(5), GatedRecurrentLayer(4), BasicRecurrentLayer(3)], input=(6, 2)
    )
    check_onnx(ready(net, rng), {"Input": seqs(rng, [6, 6, 6], 2)}, tmp_path)


def test_states_wired_through_a_graph(lengths, rng, tmp_path):
    graph = NetGraph(
        {"lstm": LongShortTermMemoryLayer(3), "last": SequenceLastLayer(), "out": LinearLayer(2)},
        [
            ("lstm", "last", "out"),
            (NetPort("init"), NetPort("lstm", "State")),
            (NetPort("lstm", "CellState"), NetPort("FinalCell")),
        ],
        input=("Varying", 4),
    )
    net = ready(graph, rng)
    B = len(lengths)
    data = {"Input": seqs(rng, lengths, 4), "init": list(rng.normal(size=(B, 3)).astype("f4"))}
    got = check_onnx(net, data, tmp_path)
    assert "lstm/CellState/initial" not in [
        i.name for i in session(tmp_path / "net.onnx").get_inputs()
    ]
    assert {"FinalCell", "lstm/State/final", "lstm/CellState/final"} <= set(got)


def test_states_left_out(rng, tmp_path):
    net = ready(NetChain([GatedRecurrentLayer(3)], input=("Varying", 2)), rng)
    got = check_onnx(net, {"Input": seqs(rng, [2, 4], 2)}, tmp_path, states=False)
    assert set(got) == {"Output"}
    assert [i.name for i in session(tmp_path / "net.onnx").get_inputs()] == [
        "Input",
        "sequence_lens",
    ]


# -- layers on each example ------------------------------------------------------------------


@pytest.mark.parametrize(
    "layer",
    [LinearLayer(3), LinearLayer((2, 3)), LinearLayer(()), LinearLayer(3, biases=None)],
    ids=["vector", "matrix", "scalar", "no-biases"],
)
@pytest.mark.parametrize("sequence", [False, True], ids=["vectors", "sequences"])
def test_linear(layer, sequence, lengths, rng, tmp_path):
    net = ready(NetChain([layer], input=("Varying", 4) if sequence else 4), rng)
    x = seqs(rng, lengths, 4) if sequence else list(rng.normal(size=(len(lengths), 4)))
    check_onnx(net, {"Input": x}, tmp_path)


FUNCTIONS = [
    "Ramp",
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
    "Log",
    "Sqrt",
    "Square",
    "Abs",
]


@pytest.mark.parametrize("f", FUNCTIONS)
def test_elementwise(f, lengths, rng, tmp_path):
    net = NetChain([ElementwiseLayer(f)], input=("Varying", 3))
    x = seqs(rng, lengths, 3, low=0.1 if f in ("Log", "Sqrt") else -3.0)
    check_onnx(net, {"Input": x}, tmp_path)


@pytest.mark.parametrize("shape", [("Varying", 3), ("Varying",), (2, 3)], ids=str)
def test_softmax(shape, lengths, rng, tmp_path):
    net = NetChain([SoftmaxLayer()], input=shape)
    x = (
        seqs(rng, lengths, *shape[1:])
        if shape[0] == "Varying"
        else [rng.normal(size=shape).astype("f4") for _ in lengths]
    )
    check_onnx(net, {"Input": x}, tmp_path)


@pytest.mark.parametrize("shape", [("Varying", 3), (4,), (2, 3)], ids=str)
def test_normalization(shape, lengths, rng, tmp_path):
    layer = NormalizationLayer(
        epsilon=1e-2, arrays={"Scaling": rng.uniform(0.5, 1.5, shape[-1]).astype("f4")}
    )
    net = ready(NetChain([layer], input=shape), rng)
    x = (
        seqs(rng, lengths, *shape[1:])
        if shape[0] == "Varying"
        else [rng.normal(size=shape).astype("f4") for _ in lengths]
    )
    check_onnx(net, {"Input": x}, tmp_path)


@pytest.mark.parametrize("padding", ["Same", 1, ((2, 0),)], ids=str)
def test_convolution_and_pooling_over_time(padding, lengths, rng, tmp_path):
    """Conv and MaxPool with strides 2 over ragged sequences: each sequence's outputs and
    lengths (the "Same" padding of each, shifted row by row), then Max over time."""
    net = NetChain(
        [
            ConvolutionLayer(4, 3, stride=2, padding_size=padding, interleaving=True),
            ElementwiseLayer("Ramp"),
            PoolingLayer(2, 2, function="Max", padding_size="Same", interleaving=True),
            ConvolutionLayer(3, 2, dilation=2, padding_size="Same", interleaving=True),
            PoolingLayer(2, function="Mean", padding_size=((1, 0),), interleaving=True),
        ],
        input=("Varying", 2),
    )
    xs = [rng.normal(size=(n + 6, 2)).astype("f4") for n in lengths]
    check_onnx(ready(net, rng), {"Input": xs}, tmp_path)
    pooled = NetChain([net, AggregationLayer("Max", 1)])
    check_onnx(ready(pooled, rng), {"Input": xs}, tmp_path)


@pytest.mark.parametrize("function", ["Max", "Mean", "Total"])
def test_convolution_and_pooling_of_images(function, rng, tmp_path):
    net = NetChain(
        [
            ConvolutionLayer(4, (3, 3), padding_size=1, channel_groups=2, dilation=(1, 2)),
            ElementwiseLayer("Tanh"),
            PoolingLayer((2, 2), (2, 1), function=function, padding_size=((1, 0), (0, 1))),
            ConvolutionLayer(2, (2, 1), stride=2, padding_size="Same", biases=None),
            FlattenLayer(),
            LinearLayer(3),
        ],
        input=(2, 7, 6),
    )
    x = [rng.normal(size=(2, 7, 6)).astype("f4") for _ in range(3)]
    check_onnx(ready(net, rng), {"Input": x}, tmp_path)
    last = NetChain(
        [
            ConvolutionLayer(3, (2, 2), interleaving=True),
            PoolingLayer((2, 2), 2, interleaving=True),
        ],
        input=("Varying", 5, 2),
    )
    check_onnx(
        ready(last, rng),
        {"Input": [rng.normal(size=(n, 5, 2)).astype("f4") for n in (3, 6)]},
        tmp_path,
    )


def test_dropout_is_the_identity(lengths, rng, tmp_path):
    net = ready(
        NetChain(
            [DropoutLayer(0.5), LinearLayer(2), DropoutLayer(0.2, method="AlphaDropout")],
            input=("Varying", 3),
        ),
        rng,
    )
    check_onnx(net, {"Input": seqs(rng, lengths, 3)}, tmp_path)


def test_embedding_of_index_sequences(lengths, rng, tmp_path):
    net = ready(
        NetChain(
            [EmbeddingLayer(3, 7), LongShortTermMemoryLayer(2)],
            input=("Varying", Restricted("Integer", 7)),
        ),
        rng,
    )
    x = [rng.integers(0, 7, size=n) for n in lengths]
    check_onnx(net, {"Input": x}, tmp_path)


@pytest.mark.parametrize(
    "layer, shape",
    [
        (FlattenLayer(), (2, 3)),
        (FlattenLayer(-1), ("Varying", 2, 3)),
        (FlattenLayer(1), (2, 3, 2)),
        (ReshapeLayer((3, 2)), (6,)),
        (ReshapeLayer((2, Automatic)), (2, 2, 2)),
    ],
    ids=["flatten-all", "flatten-inner", "flatten-first", "reshape", "reshape-automatic"],
)
def test_flatten_and_reshape(layer, shape, lengths, rng, tmp_path):
    net = NetChain([layer], input=shape)
    x = (
        seqs(rng, lengths, *shape[1:])
        if shape[0] == "Varying"
        else [rng.normal(size=shape).astype("f4") for _ in lengths]
    )
    check_onnx(net, {"Input": x}, tmp_path)


@pytest.mark.parametrize("f", ["Max", "Min", "Mean", "Total"])
@pytest.mark.parametrize("levels", [1, None, [1, 3], -1], ids=["steps", "inner", "both", "last"])
def test_aggregation(f, levels, lengths, rng, tmp_path):
    net = NetChain([AggregationLayer(f, levels)], input=("Varying", 2, 3))
    check_onnx(net, {"Input": seqs(rng, lengths, 2, 3)}, tmp_path)


def test_aggregation_of_fixed_arrays(rng, tmp_path):
    net = NetChain([AggregationLayer("Mean", (1, 2))], input=(3, 2, 2))
    check_onnx(net, {"Input": list(rng.normal(size=(3, 3, 2, 2)))}, tmp_path)


# -- layers on sequences -----------------------------------------------------------------------

SEQUENCE = {
    "last": SequenceLastLayer,
    "most": SequenceMostLayer,
    "rest": SequenceRestLayer,
    "reverse": SequenceReverseLayer,
}


@pytest.mark.parametrize("kind", list(SEQUENCE))
def test_sequence_layer_on_ragged_batches(kind, rng, tmp_path):
    net = ready(
        NetChain([LinearLayer(3), SEQUENCE[kind](), ElementwiseLayer("Exp")], input=("Varying", 2)),
        rng,
    )
    for i, lengths in enumerate(([4], [5, 2, 3], [2, 2, 6])):
        (tmp_path / str(i)).mkdir()
        check_onnx(net, {"Input": seqs(rng, lengths, 2)}, tmp_path / str(i))


@pytest.mark.parametrize("kind", list(SEQUENCE))
def test_sequence_layer_on_a_fixed_length(kind, rng, tmp_path):
    net = NetChain([SEQUENCE[kind]()], input=(4, 3))
    check_onnx(net, {"Input": seqs(rng, [4, 4, 4], 3)}, tmp_path)


def test_reverse_of_integer_sequences(lengths, rng, tmp_path):
    net = ready(
        NetChain(
            [SequenceReverseLayer(), EmbeddingLayer(2, 5)],
            input=("Varying", Restricted("Integer", 5)),
        ),
        rng,
    )
    check_onnx(net, {"Input": [rng.integers(0, 5, size=n) for n in lengths]}, tmp_path)


def test_sequence_lengths_of_new_outputs(rng, tmp_path):
    net = NetChain([SequenceMostLayer(), SequenceRestLayer()], input=("Varying", 2))
    got = check_onnx(net, {"Input": seqs(rng, [5, 3, 4], 2)}, tmp_path)
    np.testing.assert_array_equal(got["Output/sequence_lens"], [3, 1, 2])


# -- layers with several inputs --------------------------------------------------------------


def two_inputs(layer, a, b):
    return NetGraph({"f": layer}, [([NetPort("A"), NetPort("B")], "f")], A=a, B=b)


@pytest.mark.parametrize(
    "a, b",
    [(("Varying", 2), ("Varying", 2)), (("Varying", 2), (3, 2)), ((2, 2), ("Varying", 2))],
    ids=["ragged", "ragged-fixed", "fixed-ragged"],
)
def test_catenate_sequences_step_after_step(a, b, rng, tmp_path):
    net = two_inputs(CatenateLayer(), a, b)
    for i, (la, lb) in enumerate((([3], [2]), ([4, 1, 2], [1, 3, 3]))):
        la = la if a[0] == "Varying" else [a[0]] * len(la)
        lb = lb if b[0] == "Varying" else [b[0]] * len(lb)
        (tmp_path / str(i)).mkdir()
        check_onnx(net, {"A": seqs(rng, la, 2), "B": seqs(rng, lb, 2)}, tmp_path / str(i))


def test_catenate_three_ragged_inputs_then_an_lstm(rng, tmp_path):
    graph = NetGraph(
        {"cat": CatenateLayer(), "lstm": LongShortTermMemoryLayer(2)},
        [([NetPort("A"), NetPort("B"), NetPort("C")], "cat", "lstm")],
        A=("Varying", 2),
        B=("Varying", 2),
        C=("Varying", 2),
    )
    net = ready(graph, rng)
    data = {p: seqs(rng, ls, 2) for p, ls in zip("ABC", ([2, 1, 3], [1, 4, 1], [3, 1, 2]))}
    check_onnx(net, data, tmp_path)


@pytest.mark.parametrize("level", [-1, 2])
def test_catenate_inner_levels(level, lengths, rng, tmp_path):
    graph = NetGraph(
        {"a": LinearLayer(2), "b": LinearLayer(3), "cat": CatenateLayer(level)},
        [(NetPort("Input"), "a"), (NetPort("Input"), "b"), (["a", "b"], "cat")],
        input=("Varying", 4),
    )
    check_onnx(ready(graph, rng), {"Input": seqs(rng, lengths, 4)}, tmp_path)


def test_total(lengths, rng, tmp_path):
    net = two_inputs(TotalLayer(), ("Varying", 3), ("Varying", 3))
    data = {"A": seqs(rng, lengths, 3), "B": seqs(rng, lengths, 3)}
    check_onnx(net, data, tmp_path)


@pytest.mark.parametrize("f", ["Plus", "Subtract", "Times", "Divide", "Min", "Max"])
def test_threading_a_sequence_with_a_vector(f, lengths, rng, tmp_path):
    net = two_inputs(ThreadingLayer(f), ("Varying", 3), 3)
    data = {
        "A": seqs(rng, lengths, 3, low=0.5),
        "B": list(rng.uniform(0.5, 2.0, size=(len(lengths), 3)).astype("f4")),
    }
    check_onnx(net, data, tmp_path)


def test_threading_broadcasts_fixed_shapes(rng, tmp_path):
    net = two_inputs(ThreadingLayer("Times"), (3, 1), (1, 4))
    data = {"A": list(rng.normal(size=(2, 3, 1))), "B": list(rng.normal(size=(2, 1, 4)))}
    check_onnx(net, data, tmp_path)


# -- losses ------------------------------------------------------------------------------------


def probabilities(rng, shape):
    p = rng.uniform(0.05, 1.0, size=shape)
    return (p / p.sum(-1, keepdims=True)).astype("f4")


LOSSES = {
    "mean-squared": (lambda: [LinearLayer(3), MeanSquaredLossLayer()], "reals"),
    "mean-absolute": (lambda: [LinearLayer(3), MeanAbsoluteLossLayer()], "reals"),
    "index-on-softmax": (
        lambda: [LinearLayer(3), SoftmaxLayer(), CrossEntropyLossLayer("Index")],
        "index",
    ),
    "index": (
        lambda: [ElementwiseLayer("LogisticSigmoid"), CrossEntropyLossLayer("Index")],
        "index",
    ),
    "probabilities-on-softmax": (
        lambda: [LinearLayer(3), SoftmaxLayer(), CrossEntropyLossLayer("Probabilities")],
        "probs",
    ),
    "probabilities": (
        lambda: [ElementwiseLayer("LogisticSigmoid"), CrossEntropyLossLayer("Probabilities")],
        "probs",
    ),
    "binary": (
        lambda: [
            LinearLayer(3),
            ElementwiseLayer("LogisticSigmoid"),
            CrossEntropyLossLayer("Binary"),
        ],
        "binary",
    ),
}


def targets(rng, kind, shapes):
    if kind == "index":
        return [rng.integers(0, 3, size=s[:-1]) for s in shapes]
    if kind == "probs":
        return [probabilities(rng, s) for s in shapes]
    if kind == "binary":
        return [rng.uniform(0, 1, size=s).astype("f4") for s in shapes]
    return [rng.normal(size=s).astype("f4") for s in shapes]


@pytest.mark.parametrize("kind", list(LOSSES))
@pytest.mark.parametrize("sequence", [False, True], ids=["vectors", "sequences"])
def test_loss(kind, sequence, lengths, rng, tmp_path):
    layers, target = LOSSES[kind]
    net = ready(NetChain(layers(), input=("Varying", 3) if sequence else 3), rng)
    shapes = [(n, 3) if sequence else (3,) for n in lengths]
    x = [rng.normal(size=s).astype("f4") for s in shapes]
    got = check_onnx(
        net, {"Input": x, "Target": targets(rng, target, shapes)}, tmp_path, losses=True
    )
    assert got["Loss"].shape == (len(lengths),)


def test_losses_are_refused_unless_asked(tmp_path):
    net = NetInitialize(NetChain([LinearLayer(2), MeanSquaredLossLayer()], input=3))
    with pytest.raises(
        ValueError,
        match=r'layer "2" \(MeanSquaredLossLayer\) is a loss layer; '
        r"pass losses=True",
    ):
        export_onnx(tmp_path / "net.onnx", net)


# -- precision and refusals --------------------------------------------------------------------


def test_real64_export(rng, tmp_path):
    net = ready(NetChain([LinearLayer(4), ElementwiseLayer("Tanh"), SoftmaxLayer()], input=3), rng)
    path = export_onnx(tmp_path / "net.onnx", net, working_precision="Real64")
    x = rng.normal(size=(3, 3))
    (y,) = session(path).run(["Output"], {"Input": x})
    assert y.dtype == np.float64
    np.testing.assert_allclose(y, net(x, working_precision="Real64"), rtol=1e-12, atol=1e-14)


class TanhTwice(ElementwiseLayer):
    """A layer type that netgraph's ONNX export does not know."""


def test_a_layer_without_counterpart_is_refused_by_name(tmp_path):
    net = NetChain({"lin": LinearLayer(2), "odd": TanhTwice("Tanh")}, input=3)
    with pytest.raises(ValueError, match=r'layer "odd" \(TanhTwice\) has no ONNX counterpart'):
        export_onnx(tmp_path / "net.onnx", NetInitialize(net))


def test_an_uninitialized_net_is_refused(tmp_path):
    with pytest.raises(ValueError, match=r'export_onnx: The net has uninitialized arrays: "1/'):
        export_onnx(tmp_path / "net.onnx", NetChain([LongShortTermMemoryLayer(2)], input=(4, 1)))


def test_a_net_of_unknown_shape_is_refused(tmp_path):
    with pytest.raises(ValueError, match="cannot be evaluated yet"):
        export_onnx(tmp_path / "net.onnx", NetChain([ElementwiseLayer("Tanh")]))


def test_an_unknown_precision_is_refused(tmp_path):
    with pytest.raises(ValueError, match='working_precision must be "Real32" or "Real64"'):
        export_onnx(tmp_path / "n.onnx", NetChain([SoftmaxLayer()], input=2), working_precision=32)


def test_port_names_that_look_like_inner_tensors(rng, tmp_path):
    graph = NetGraph(
        {"mask": ThreadingLayer("Times"), "const": LinearLayer(2)},
        [([NetPort("const"), NetPort("mask/Less")], "mask", "const", NetPort("padding/Where"))],
        const=("Varying", 3),
        **{"mask/Less": ("Varying", 3)},
    )
    data = {"const": seqs(rng, [2, 3], 3), "mask/Less": seqs(rng, [2, 3], 3)}
    check_onnx(ready(graph, rng), data, tmp_path)


# -- what import gives back --------------------------------------------------------------------


def test_nested_containers_and_options_come_back_equal(lengths, rng, tmp_path):
    inner = NetChain(
        [
            LongShortTermMemoryLayer(
                3, learning_rate_multipliers={"InputGateBiases": 0.5}, dropout=0.2
            ),
            SequenceReverseLayer(),
        ]
    )
    graph = NetGraph(
        {"inner": inner, "agg": AggregationLayer("Mean", 1), "out": LinearLayer(2)},
        [("inner", "agg", "out")],
        input=("Varying", 2),
    )
    check_onnx(ready(graph, rng), {"Input": seqs(rng, lengths, 2)}, tmp_path)
    back = import_onnx(tmp_path / "net.onnx")
    assert back.layers["inner"].layers["1"].options["learning_rate_multipliers"] == {
        "InputGateBiases": 0.5
    }


def test_coders_are_not_kept(rng, tmp_path):
    net = ready(
        NetChain(
            [LinearLayer(3), SoftmaxLayer()], input=2, output=NetDecoder("Class", ["a", "b", "c"])
        ),
        rng,
    )
    back = import_onnx(export_onnx(tmp_path / "net.onnx", net))
    assert not back.coders and back != net  # the same layers and arrays, without the decoder
    assert list(back.layers) == list(net.layers)
    assert all(back.layers[k] == layer for k, layer in net.layers.items())
    x = rng.normal(size=(4, 2)).astype("f4")
    np.testing.assert_array_equal(back(x), net(x, NetPort("2", "Output")))


def test_float64_arrays_come_back_equal_in_real64(rng, tmp_path):
    net = ready(NetChain([LinearLayer(3), ElementwiseLayer("Tanh")], input=2), rng)
    net = NetReplacePart(net, {("1", "Weights"): rng.normal(size=(3, 2))})  # float64
    back = import_onnx(export_onnx(tmp_path / "n.onnx", net, working_precision="Real64"))
    assert back == net and back.layers["1"].arrays["Weights"].dtype == np.float64
    back32 = import_onnx(export_onnx(tmp_path / "m.onnx", net))
    assert back32 != net  # rounded to float32
