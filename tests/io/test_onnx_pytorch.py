"""PyTorch's recurrent layers exported by torch.onnx.export now and imported by netgraph:
outputs and final states within 1e-5 of PyTorch's on ragged batches (each example run by
PyTorch alone), and the GRU refused exactly where netgraph's GRU differs from PyTorch's."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from netgraph import GatedRecurrentLayer, Information
from netgraph.io.onnx import import_onnx

from .onnx_check import TOL

torch = pytest.importorskip("torch", reason="these tests export models with PyTorch (torch)")

LENGTHS = (6, 1, 3)


def export(module, path, batch_first: bool, k: int) -> None:
    x = torch.zeros((2, 4, k) if batch_first else (4, 2, k))
    b, t = (0, 1) if batch_first else (1, 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
        torch.onnx.export(
            module,
            (x,),
            str(path),
            dynamo=False,
            opset_version=17,
            input_names=["x"],
            output_names=["y", "h"],
            dynamic_axes={"x": {b: "batch", t: "T"}, "y": {b: "batch", t: "T"}, "h": {1: "batch"}},
        )


def compare(module, path, batch_first: bool, k: int, rng) -> None:
    """netgraph's import against PyTorch, example by example, on a ragged batch."""
    net = import_onnx(path)
    xs = [rng.normal(size=(n, k)).astype(np.float32) for n in LENGTHS]
    got = net({"x": xs}, ["y", "h"])
    for b, x in enumerate(xs):
        with torch.no_grad():
            y, h = module(torch.from_numpy(x[None] if batch_first else x[:, None]))
        h = h[0] if isinstance(h, tuple) else h
        y = y[0] if batch_first else y[:, 0]
        np.testing.assert_allclose(got["y"][b], y.numpy(), rtol=TOL, atol=TOL)
        np.testing.assert_allclose(got["h"][b], h[:, 0].numpy(), rtol=TOL, atol=TOL)


@pytest.mark.parametrize("layers", [1, 3])
@pytest.mark.parametrize("batch_first", [True, False], ids=["batch-first", "time-major"])
def test_lstm(layers, batch_first, tmp_path, rng):
    torch.manual_seed(layers)
    module = torch.nn.LSTM(4, 7, num_layers=layers, batch_first=batch_first).eval()
    export(module, tmp_path / "lstm.onnx", batch_first, 4)
    compare(module, tmp_path / "lstm.onnx", batch_first, 4, rng)


def zero_reset_bias(module):
    """The GRU with b_hn = 0: then PyTorch's candidate is Wolfram's exactly."""
    with torch.no_grad():
        for name, p in module.named_parameters():
            if name.startswith("bias_hh"):
                p[2 * module.hidden_size :] = 0
    return module


@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("batch_first", [True, False], ids=["batch-first", "time-major"])
def test_gru_without_reset_bias_matches(layers, batch_first, tmp_path, rng):
    torch.manual_seed(layers)
    module = zero_reset_bias(torch.nn.GRU(3, 5, num_layers=layers, batch_first=batch_first))
    export(module.eval(), tmp_path / "gru.onnx", batch_first, 3)
    compare(module, tmp_path / "gru.onnx", batch_first, 3, rng)


@pytest.mark.parametrize("layers", [1, 2])
def test_gru_with_reset_bias_matches(layers, tmp_path, rng):
    """PyTorch's GRU as it initializes it (b_hn nonzero): the layer's
    "recurrent-bias-after-multiplication" mode, exactly."""
    torch.manual_seed(0)
    module = torch.nn.GRU(3, 5, num_layers=layers, batch_first=True).eval()
    export(module, tmp_path / "gru.onnx", True, 3)
    compare(module, tmp_path / "gru.onnx", True, 3, rng)
    modes = {
        layer.options["reset_gate_mode"]
        for layer in Information(import_onnx(tmp_path / "gru.onnx"), "Layers").values()
        if isinstance(layer, GatedRecurrentLayer)
    }
    assert modes == {"recurrent-bias-after-multiplication"}


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_rnn(nonlinearity, tmp_path, rng):
    torch.manual_seed(0)
    module = torch.nn.RNN(3, 4, num_layers=2, nonlinearity=nonlinearity, batch_first=True).eval()
    export(module, tmp_path / "rnn.onnx", True, 3)
    compare(module, tmp_path / "rnn.onnx", True, 3, rng)


def test_lstm_with_initial_states_as_inputs(tmp_path, rng):
    """Initial states (1, B, n) fed as graph inputs become ports of (n,) per example."""
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(3, 4, batch_first=True).eval()

    class WithStates(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = lstm

        def forward(self, x, h0, c0):
            return self.lstm(x, (h0, c0))

    x, h0, c0 = torch.zeros(2, 5, 3), torch.zeros(1, 2, 4), torch.zeros(1, 2, 4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            WithStates(),
            (x, h0, c0),
            str(tmp_path / "lstm.onnx"),
            dynamo=False,
            opset_version=17,
            input_names=["x", "h0", "c0"],
            output_names=["y", "h", "c"],
            dynamic_axes={"x": {0: "batch", 1: "T"}, "h0": {1: "batch"}, "c0": {1: "batch"}},
        )
    net = import_onnx(tmp_path / "lstm.onnx")
    assert repr(net.ports["h0"]) == "(4,)" and repr(net.ports["h"]) == "(1, 4)"
    xs = [rng.normal(size=(n, 3)).astype(np.float32) for n in LENGTHS]
    h0, c0 = (rng.normal(size=(3, 4)).astype(np.float32) for _ in range(2))
    got = net({"x": xs, "h0": list(h0), "c0": list(c0)}, ["y", "c"])
    for b, x in enumerate(xs):
        with torch.no_grad():
            y, (_, c) = lstm(
                torch.from_numpy(x[None]),
                (torch.from_numpy(h0[None, b : b + 1]), torch.from_numpy(c0[None, b : b + 1])),
            )
        np.testing.assert_allclose(got["y"][b], y[0].numpy(), rtol=TOL, atol=TOL)
        np.testing.assert_allclose(got["c"][b], c[:, 0].numpy(), rtol=TOL, atol=TOL)


@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
def test_bidirectional(kind, layers, tmp_path, rng):
    """A bidirectional module's node becomes a NetBidirectionalOperator; its Y, seen through
    PyTorch's Transpose and Reshape, is the operator's catenated output, and h its final
    states joined."""
    torch.manual_seed(layers)
    module = getattr(torch.nn, kind)(3, 5, num_layers=layers, batch_first=True, bidirectional=True)
    if kind == "GRU":
        with torch.no_grad():
            for name, p in module.named_parameters():
                if name.startswith("bias_hh"):
                    p[10:] = 0  # b_hn inside the reset product: not Wolfram's GRU
    module = module.eval()
    export(module, tmp_path / "bi.onnx", True, 3)
    compare(module, tmp_path / "bi.onnx", True, 3, rng)
    net = import_onnx(tmp_path / "bi.onnx")
    cls = {"LSTM": "LongShortTermMemoryLayer", "GRU": "GatedRecurrentLayer"}.get(
        kind, "BasicRecurrentLayer"
    )
    assert Information(net, "LayerTypeCounts")[cls] == 2 * layers  # both directions, each layer
    bi = [v for v in net.layers.values() if type(v).__name__ == "NetBidirectionalOperator"]
    assert len(bi) == layers


def export_fixed(module, path, shape) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module,
            (torch.zeros(shape),),
            str(path),
            dynamo=False,
            opset_version=17,
            input_names=["x"],
            output_names=["y"],
            dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}},
        )


@pytest.mark.parametrize("dims", [1, 2])
def test_convolution_and_pooling(dims, tmp_path, rng):
    """Conv (groups, dilation, stride, asymmetric kernels), MaxPool and AveragePool with
    padding (PyTorch's count_include_pad=True) read as ConvolutionLayer and PoolingLayer."""
    nn = torch.nn
    conv, maxpool, avgpool = (
        (nn.Conv1d, nn.MaxPool1d, nn.AvgPool1d)
        if dims == 1
        else (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)
    )
    k = 3 if dims == 1 else (3, 2)
    torch.manual_seed(dims)
    module = nn.Sequential(
        conv(2, 4, k, padding=1),
        nn.ReLU(),
        maxpool(2),
        conv(4, 6, 2, stride=2, dilation=1, groups=2, bias=False),
        avgpool(2, stride=1, padding=1),
    ).eval()
    shape = (2, 2, 9) if dims == 1 else (2, 2, 9, 8)
    export_fixed(module, tmp_path / "conv.onnx", shape)
    net = import_onnx(tmp_path / "conv.onnx")
    kinds = [type(v).__name__ for v in net.layers.values()]
    assert kinds == [
        "ConvolutionLayer",
        "ElementwiseLayer",
        "PoolingLayer",
        "ConvolutionLayer",
        "PoolingLayer",
    ]
    x = rng.normal(size=(3, *shape[1:])).astype(np.float32)
    with torch.no_grad():
        want = module(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(net(x), want, rtol=TOL, atol=TOL)


def test_bidirectional_final_states_nobody_reads_add_no_outputs(tmp_path, rng):
    """PyTorch's Y_h and Y_c of a bidirectional LSTM that the graph does not read give no
    layers and no extra outputs."""

    class Last(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.r = torch.nn.LSTM(3, 4, num_layers=2, bidirectional=True, batch_first=True)
            self.head = torch.nn.Linear(8, 2)

        def forward(self, x):
            return self.head(self.r(x)[0][:, -1])

    torch.manual_seed(0)
    module = Last().eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module,
            (torch.zeros(2, 4, 3),),
            str(tmp_path / "last.onnx"),
            dynamo=False,
            opset_version=17,
            input_names=["x"],
            output_names=["y"],
            dynamic_axes={"x": {0: "batch", 1: "T"}, "y": {0: "batch"}},
        )
    net = import_onnx(tmp_path / "last.onnx")
    assert net.exposed_outputs() == ["Output"]  # one output (a NetChain's), no final states
    x = rng.normal(size=(2, 5, 3)).astype(np.float32)
    with torch.no_grad():
        want = module(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(net(x), want, rtol=TOL, atol=TOL)
