"""import_onnx of other frameworks' graphs: PyTorch's exports (the fixtures, made by
tests/fixtures/onnx/make_fixtures.py, and, where PyTorch is installed, fresh ones) against
PyTorch's own outputs; hand-made graphs; and what is refused, by name."""

from __future__ import annotations

import pathlib

import numpy as np
import pytest

from netgraph import *
from netgraph.io.onnx import export_onnx, import_onnx

from .onnx_check import TOL, feeds, session

FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "onnx"
MATCHED = [
    "lstm",
    "lstm_stack_time_major",
    "lstm_last_step",
    "gru",
    "gru_reset_bias",  # PyTorch's b_hn: the GRU's "recurrent-bias-after-multiplication" mode
    "gru_stack",
    "rnn_relu",
    "mlp",
    "activations",
    "linear_on_sequences",
    "lstm_bidirectional",  # a NetBidirectionalOperator
]
REFUSED = {
    "hardsigmoid": r"\(HardSigmoid\): has alpha=0.166667; netgraph's HardSigmoid has alpha=0.2",
}


def fixture(name: str):
    """The fixture's examples and PyTorch's outputs: {port: [example, …]} for each."""
    data = np.load(FIXTURES / f"{name}.npz")
    out: dict = {}
    for key in sorted(data.files, key=lambda k: int(k.split("/")[1])):
        port, _ = key.split("/")
        out.setdefault(port, []).append(data[key])
    return out


def evaluate(net, data: dict) -> dict:
    """The net's outputs on the examples of the ONNX inputs (a NetChain's port is "Input")."""
    ins = {("Input" if isinstance(net, NetChain) else p): data[p] for p in ("x",)}
    ports = [p for p in net.output_ports() if p not in net.optional_outputs]
    got = net(ins, ports)
    return {("y" if p == "Output" else p): v for p, v in got.items()}


def assert_matches(got: dict, want: dict) -> None:
    for port, values in got.items():
        for b, (g, w) in enumerate(zip(values, want[port])):
            np.testing.assert_allclose(g, w, rtol=TOL, atol=TOL, err_msg=f"{port}, example {b}")


@pytest.mark.parametrize("name", MATCHED)
def test_pytorch_export_matches_pytorch(name):
    net = import_onnx(FIXTURES / f"{name}.onnx")
    data = fixture(name)
    assert_matches(evaluate(net, data), data)


@pytest.mark.parametrize("name", list(REFUSED))
def test_what_netgraph_cannot_match_is_refused_by_name(name):
    with pytest.raises(ValueError, match=REFUSED[name]):
        import_onnx(FIXTURES / f"{name}.onnx")


def test_pytorch_lstm_comes_back_as_layers():
    net = import_onnx(FIXTURES / "lstm_stack_time_major.onnx")
    kinds = [type(layer).__name__ for layer in net.layers.values()]
    assert kinds.count("LongShortTermMemoryLayer") == 2
    assert repr(net.ports["x"]) == "(Varying, 3)" and repr(net.ports["h"]) == "(2, 5)"
    chain = import_onnx(FIXTURES / "mlp.onnx")
    assert isinstance(chain, NetChain) and [type(v).__name__ for v in chain.layers.values()] == [
        "LinearLayer",
        "ElementwiseLayer",
        "LinearLayer",
        "ElementwiseLayer",
        "LinearLayer",
        "ElementwiseLayer",
        "LinearLayer",
        "SoftmaxLayer",
    ]


@pytest.mark.parametrize("name", MATCHED)
def test_imported_nets_export_again(name, tmp_path):
    """PyTorch → netgraph → ONNX: onnxruntime on a ragged batch gives PyTorch's outputs, and
    importing the new file gives the same net."""
    net = import_onnx(FIXTURES / f"{name}.onnx")
    path = export_onnx(tmp_path / "again.onnx", net)
    assert import_onnx(path) == net
    data = fixture(name)
    port = "Input" if isinstance(net, NetChain) else "x"
    sess = session(path)
    got = dict(
        zip(
            [o.name for o in sess.get_outputs()],
            sess.run(None, feeds(net, sess, {port: data["x"]})),
        )
    )
    for out, values in data.items():
        if out == "x":
            continue
        padded = got["Output" if isinstance(net, NetChain) else out]
        for b, w in enumerate(values):
            g = padded[b][: len(w)] if net.ports[port].var is not None and out == "y" else padded[b]
            np.testing.assert_allclose(g, w, rtol=TOL, atol=TOL, err_msg=f"{out}, example {b}")


# -- hand-made graphs ----------------------------------------------------------------------------


def model(nodes, inputs, outputs, initializers=(), opset=17):
    from onnx import helper

    graph = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(initializers))
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    return m


def recurrent_model(tmp_path, op="LSTM", attrs=None, extra_inputs=(), arrays=None, rng=None):
    """An ONNX LSTM/GRU/RNN on x (T, B, 2), 3 units, with random W, R, B (or ``arrays``)."""
    from onnx import TensorProto, helper, numpy_helper

    rng = rng or np.random.default_rng(0)
    G = {"LSTM": 4, "GRU": 3, "RNN": 1}[op]
    W, R, B = arrays or (
        rng.normal(size=s).astype("f4") for s in ((1, G * 3, 2), (1, G * 3, 3), (1, 2 * G * 3))
    )
    inits = [numpy_helper.from_array(a, n) for a, n in ((W, "W"), (R, "R"), (B, "B"))]
    ins = ["x", "W", "R", "B", *extra_inputs]
    node = helper.make_node(op, ins, ["Y", "h"], hidden_size=3, **(attrs or {}))
    squeeze = helper.make_node("Squeeze", ["Y", "one"], ["y"])
    inits.append(numpy_helper.from_array(np.array([1], np.int64), "one"))
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["T", "batch", 2])
    graph_ins = [x] + [helper.make_tensor_value_info("lens", TensorProto.INT32, ["batch"])] * (
        "lens" in extra_inputs
    )
    outs = [
        helper.make_tensor_value_info("y", TensorProto.FLOAT, ["T", "batch", 3]),
        helper.make_tensor_value_info("h", TensorProto.FLOAT, [1, "batch", 3]),
    ]
    m = model([node, squeeze], graph_ins, outs, inits)
    path = tmp_path / f"{op}.onnx"
    path.write_bytes(m.SerializeToString())
    return path


REFUSED_ATTRIBUTES = [
    ("LSTM", {"clip": 1.0}, r"\(LSTM\): the attribute clip=1.0 clips the cell input"),
    ("LSTM", {"input_forget": 1}, r"the attribute input_forget=1 couples the input and forget"),
    ("LSTM", {"layout": 1}, r"the attribute layout=1 is batch-major"),
    ("LSTM", {"direction": "reverse"}, r"direction=reverse"),
    (
        "LSTM",
        {"activations": ["Sigmoid", "Relu", "Relu"]},
        r"the activation Relu has no netgraph counterpart here",
    ),
    ("LSTM", {"activations": ["Sigmoid", "Tanh", "Softsign"]}, r"activations g and h differ"),
    (
        "LSTM",
        {
            "activations": ["HardSigmoid", "Tanh", "Tanh"],
            "activation_alpha": [0.3],
            "activation_beta": [0.5],
        },
        r"the activation HardSigmoid\(alpha=0.3, beta=0.5\)",
    ),
    ("GRU", {"activations": ["Sigmoid", "Relu"]}, r"the activation Relu"),
    (
        "GRU",
        {"activations": ["HardSigmoid", "Tanh"], "activation_alpha": [0.3]},
        r"the activation HardSigmoid\(alpha=0.3, beta=0.5\)",
    ),
    ("RNN", {"activations": ["LeakyRelu"]}, r"the activation LeakyRelu"),
]


@pytest.mark.parametrize("op, attrs, message", REFUSED_ATTRIBUTES)
def test_recurrent_attributes_netgraph_lacks_are_refused(op, attrs, message, tmp_path):
    with pytest.raises(ValueError, match=message):
        import_onnx(recurrent_model(tmp_path, op, attrs))


def test_peepholes_are_refused(tmp_path):
    from onnx import numpy_helper

    path = recurrent_model(tmp_path, "LSTM", extra_inputs=("", "", "", "P"))
    m = __import__("onnx").load(path)
    m.graph.initializer.append(numpy_helper.from_array(np.ones((1, 9), np.float32), "P"))
    path.write_bytes(m.SerializeToString())
    with pytest.raises(ValueError, match=r"has peepholes \(input P\)"):
        import_onnx(path)


def run_both(path, lengths, rng):
    """onnxruntime on a padded time-major batch (with its lengths) and netgraph on the list."""
    xs = [rng.normal(size=(n, 2)).astype("f4") for n in lengths]
    X = np.zeros((max(lengths), len(xs), 2), np.float32)
    for b, x in enumerate(xs):
        X[: len(x), b] = x
    sess = session(path)
    names = [i.name for i in sess.get_inputs()]
    feed = {"x": X, **({"lens": np.array(lengths, np.int32)} if "lens" in names else {})}
    y, h = sess.run(["y", "h"], feed)
    got = import_onnx(path)({"x": xs}, ["y", "h"])
    for b, n in enumerate(lengths):
        np.testing.assert_allclose(got["y"][b], y[:n, b], rtol=TOL, atol=TOL)
        np.testing.assert_allclose(got["h"][b], h[:, b], rtol=TOL, atol=TOL)


@pytest.mark.parametrize(
    "op, attrs",
    [
        (
            "LSTM",
            {
                "activations": ["HardSigmoid", "Softsign", "Softsign"],
                "activation_alpha": [0.2],
                "activation_beta": [0.5],
            },
        ),
        ("LSTM", {"direction": "forward", "input_forget": 0}),
        ("GRU", {"linear_before_reset": 1}),
        ("GRU-Rbh", {"linear_before_reset": 1}),
        ("GRU-Rbh", {}),
        (
            "GRU-Rbh",
            {
                "activations": ["HardSigmoid", "Softsign"],
                "activation_alpha": [0.2],
                "activation_beta": [0.5],
            },
        ),
        ("RNN", {"activations": ["Affine"], "activation_alpha": [1.0], "activation_beta": [0.0]}),
        ("RNN", {"activations": ["Sigmoid"]}),
    ],
    ids=[
        "lstm-hard-softsign",
        "lstm-default-attributes",
        "gru",
        "gru-Rbh",
        "gru-before-reset",
        "gru-before-reset-hard-softsign",
        "rnn-identity",
        "rnn-sigmoid",
    ],
)
def test_onnx_recurrent_ops_with_sequence_lens(op, attrs, tmp_path, rng):
    if op.startswith("GRU"):  # Rbh zero (Wolfram's GRU) or not (the mode that holds it)
        G, n = 3, 3
        W, R = rng.normal(size=(1, G * n, 2)).astype("f4"), rng.normal(size=(1, G * n, n))
        B = rng.normal(size=(1, 2 * G * n)).astype("f4")
        if op == "GRU":
            B[0, 5 * n :] = 0
        arrays = (W, R.astype("f4"), B)
        op = "GRU"
    else:
        arrays = None
    path = recurrent_model(tmp_path, op, attrs, extra_inputs=("lens",), arrays=arrays, rng=rng)
    run_both(path, [4, 1, 3], rng)


@pytest.mark.parametrize(
    ("lbr", "rbh", "mode"),
    [
        (0, True, "before-multiplication"),
        (1, False, "after-multiplication"),
        (1, True, "recurrent-bias-after-multiplication"),
    ],
)
def test_gru_import_takes_the_reset_gate_mode_of_linear_before_reset(lbr, rbh, mode, tmp_path, rng):
    """linear_before_reset=0 is the mode "before-multiplication", with the two candidate biases
    summed (Rbh is outside r there); 1 is after the product, with Rbh kept apart when nonzero."""
    W, R = rng.normal(size=(1, 9, 2)).astype("f4"), rng.normal(size=(1, 9, 3)).astype("f4")
    B = rng.normal(size=(1, 18)).astype("f4")
    if not rbh:
        B[0, 15:] = 0
    attrs = {"linear_before_reset": lbr}
    path = recurrent_model(tmp_path, "GRU", attrs, extra_inputs=("lens",), arrays=(W, R, B))
    net = import_onnx(path)
    gru = next(v for v in net.layers.values() if isinstance(v, GatedRecurrentLayer))
    assert gru.options["reset_gate_mode"] == mode
    if mode == "before-multiplication":
        np.testing.assert_allclose(gru.arrays["MemoryGateBiases"], B[0, 6:9] + B[0, 15:])
    run_both(path, [2, 5], rng)


def small_graph(tmp_path, nodes, inits=(), opset=17, rank=2):
    from onnx import TensorProto, helper

    shape = ["batch", 3] if rank == 2 else ["batch", 4, 3]
    m = model(
        nodes,
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, shape)],
        inits,
        opset,
    )
    path = tmp_path / "g.onnx"
    path.write_bytes(m.SerializeToString())
    return path


def test_softsign_and_opset_11_softmax(tmp_path, rng):
    from onnx import helper

    nodes = [
        helper.make_node("Softsign", ["x"], ["s"]),
        helper.make_node("Softmax", ["s"], ["y"], axis=1),
    ]
    path = small_graph(tmp_path, nodes, opset=11)
    x = rng.normal(size=(4, 3)).astype("f4")
    (want,) = session(path).run(None, {"x": x})
    net = import_onnx(path)
    assert [type(v).__name__ for v in net.layers.values()] == ["ElementwiseLayer", "SoftmaxLayer"]
    np.testing.assert_allclose(net(x), want, rtol=TOL, atol=TOL)


@pytest.mark.parametrize(
    "nodes, inits, rank, opset, message",
    [
        (
            [("Conv", ["x", "w"], {})],
            {"w": (1, 1, 1)},
            2,
            17,
            r'node "n0" \(Conv\): reads something other than a batch of 1-D or 2-D',
        ),
        (
            [("Conv", ["x", "w"], {"auto_pad": "SAME_LOWER"})],
            {"w": (2, 4, 2)},
            3,
            17,
            r'\(Conv\): pads "SAME_LOWER"; netgraph\'s "Same" puts the odd zero after',
        ),
        (
            [("MaxPool", ["x"], {"kernel_shape": [2], "ceil_mode": 1})],
            {},
            3,
            17,
            r"\(MaxPool\): rounds its output sizes up \(ceil_mode=1\)",
        ),
        (
            [("MaxPool", ["x"], {"kernel_shape": [2], "dilations": [2]})],
            {},
            3,
            17,
            r"\(MaxPool\): dilates its window",
        ),
        (
            [("AveragePool", ["x"], {"kernel_shape": [2], "pads": [1, 1]})],
            {},
            3,
            17,
            r"\(AveragePool\): leaves its padding out of the average \(count_include_pad=0\)",
        ),
        ([("Gemm", ["x", "w"], {"alpha": 2.0})], {"w": (3, 3)}, 2, 17, r"has alpha ≠ 1"),
        ([("Softmax", ["x"], {"axis": 1})], {}, 3, 11, r"\(opset 11\) flattens the axes"),
        ([("Softmax", ["x"], {"axis": 1})], {}, 3, 17, r"normalizes along an axis that is not"),
        ([("LeakyRelu", ["x"], {})], {}, 2, 17, r"netgraph has no layer for this op"),
        ([("Elu", ["x"], {"alpha": 0.5})], {}, 2, 17, r"has alpha=0.5; netgraph's ELU"),
        (
            [("MatMul", ["x", "w"], {}), ("Add", ["m", "b"], {}), ("Add", ["t1", "m"], {})],
            {"w": (3, 3), "b": (3,)},
            2,
            17,
            r"adds a constant to a value other than",
        ),
    ],
    ids=[
        "conv-on-vectors",
        "conv-same-lower",
        "maxpool-ceil",
        "maxpool-dilated",
        "averagepool-uncounted-padding",
        "gemm-alpha",
        "softmax-opset-11",
        "softmax-axis",
        "leaky-relu",
        "elu-alpha",
        "matmul-used-twice",
    ],
)
def test_ops_netgraph_lacks_are_refused(nodes, inits, rank, opset, message, tmp_path):
    from onnx import helper, numpy_helper

    made = []
    for i, (op, ins, attrs) in enumerate(nodes):
        out = "y" if i == len(nodes) - 1 else "m" if i == 0 else f"t{i}"
        made.append(helper.make_node(op, ins, [out], name=f"n{i}", **attrs))
    arrays = [numpy_helper.from_array(np.ones(s, np.float32), k) for k, s in inits.items()]
    with pytest.raises(ValueError, match=message):
        import_onnx(small_graph(tmp_path, made, arrays, opset, rank))


def test_an_op_of_another_domain_is_refused(tmp_path):
    from onnx import helper

    m = model(
        [helper.make_node("Gelu", ["x"], ["y"], domain="com.microsoft")],
        [helper.make_tensor_value_info("x", 1, ["batch", 3])],
        [helper.make_tensor_value_info("y", 1, ["batch", 3])],
    )
    m.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    (tmp_path / "g.onnx").write_bytes(m.SerializeToString())
    with pytest.raises(ValueError, match=r'the op domain "com.microsoft" is not ONNX\'s'):
        import_onnx(tmp_path / "g.onnx")


def test_stacked_recurrent_ops_sharing_sequence_lens(tmp_path, rng):
    from onnx import TensorProto, helper, numpy_helper

    def arrays(prefix, G, k):
        shapes = ((1, G * 3, k), (1, G * 3, 3), (1, 2 * G * 3))
        return [
            numpy_helper.from_array(rng.normal(size=s).astype("f4"), f"{prefix}{w}")
            for s, w in zip(shapes, "WRB")
        ]

    nodes = [
        helper.make_node("LSTM", ["x", "aW", "aR", "aB", "lens"], ["Ya"], hidden_size=3),
        helper.make_node("Squeeze", ["Ya", "one"], ["ya"]),
        helper.make_node("RNN", ["ya", "bW", "bR", "bB", "lens"], ["Yb", "h"], hidden_size=3),
        helper.make_node("Squeeze", ["Yb", "one"], ["y"]),
    ]
    inits = arrays("a", 4, 2) + arrays("b", 1, 3)
    inits.append(numpy_helper.from_array(np.array([1], np.int64), "one"))
    m = model(
        nodes,
        [
            helper.make_tensor_value_info("x", TensorProto.FLOAT, ["T", "batch", 2]),
            helper.make_tensor_value_info("lens", TensorProto.INT32, ["batch"]),
        ],
        [
            helper.make_tensor_value_info("y", TensorProto.FLOAT, ["T", "batch", 3]),
            helper.make_tensor_value_info("h", TensorProto.FLOAT, [1, "batch", 3]),
        ],
        inits,
    )
    (tmp_path / "stack.onnx").write_bytes(m.SerializeToString())
    net = import_onnx(tmp_path / "stack.onnx")
    assert set(net.input_ports()) == {"x"}
    run_both(tmp_path / "stack.onnx", [3, 5, 1], rng)


def test_channel_last_convolutions_read_through_transposes(tmp_path, rng):
    """A netgraph net of channel-last convolutions, exported and stripped of netgraph's
    description, read back as another framework's graph: the Transposes around Conv and
    MaxPool make layers with interleaving=True."""
    import onnx

    net = NetChain(
        [
            ConvolutionLayer(4, (3, 2), padding_size=((1, 1), (0, 1)), interleaving=True),
            ElementwiseLayer("Tanh"),
            PoolingLayer((2, 2), 2, interleaving=True),
            ConvolutionLayer(3, (2, 2)),  # channel-first: reads (3, 2, 4) as 3 channels
        ],
        input=(6, 5, 2),
    )
    net = NetInitialize(net, random_seed=0)
    path = export_onnx(tmp_path / "net.onnx", net)
    m = onnx.load(str(path))
    del m.metadata_props[:]
    onnx.save(m, str(path))
    back = import_onnx(path)
    kinds = [(type(v).__name__, v.options.get("interleaving")) for v in back.layers.values()]
    assert ("ConvolutionLayer", True) in kinds and ("PoolingLayer", True) in kinds
    x = rng.normal(size=(2, 6, 5, 2)).astype(np.float32)
    np.testing.assert_allclose(back(x), net(x), rtol=TOL, atol=TOL)


def _bidirectional_reshape(tmp_path, shape):
    """A bidirectional LSTM node whose Y is transposed to (T, B, 2, 3) and reshaped to
    ``shape``, as PyTorch joins the directions (with [0, 0, -1])."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    arrays = [rng.normal(size=s).astype("f4") for s in ((2, 12, 2), (2, 12, 3), (2, 24))]
    inits = [numpy_helper.from_array(a, n) for a, n in zip(arrays, "WRB")]
    inits.append(numpy_helper.from_array(np.array(shape, np.int64), "shape"))
    nodes = [
        helper.make_node(
            "LSTM", ["x", "W", "R", "B"], ["Y"], hidden_size=3, direction="bidirectional"
        ),
        helper.make_node("Transpose", ["Y"], ["Yt"], perm=[0, 2, 1, 3]),
        helper.make_node("Reshape", ["Yt", "shape"], ["y"]),
    ]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["T", "batch", 2])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["T", "batch", 6])
    path = tmp_path / "bi.onnx"
    path.write_bytes(model(nodes, [x], [y], inits).SerializeToString())
    return path


def test_a_bidirectional_node_joined_by_a_reshape(tmp_path, rng):
    pytest.importorskip("onnxruntime", reason="the ONNX checks need onnx and onnxruntime")
    path = _bidirectional_reshape(tmp_path, [0, 0, -1])
    net = import_onnx(path)
    x = rng.normal(size=(4, 2, 2)).astype(np.float32)  # (T, B, 2)
    want = session(path).run(None, {"x": x})[0]  # (T, B, 6)
    got = net(list(x.transpose(1, 0, 2)))
    for b in range(2):
        np.testing.assert_allclose(got[b], want[:, b], rtol=TOL, atol=TOL)


def test_a_reshape_that_does_not_join_the_directions_is_refused(tmp_path):
    with pytest.raises(ValueError, match="reshapes a computed value"):
        import_onnx(_bidirectional_reshape(tmp_path, [2, -1, 6]))
