"""Conv, MaxPool and AveragePool nodes of a foreign ONNX graph read as ConvolutionLayer and
PoolingLayer (onnx_import.py says what a ``Value`` is).

ONNX's ops are channel-first, ``(N, C, *S)``: a Value whose example is laid out so
(``axes`` = ``("B", 0, 1, …)``) becomes a layer with ``interleaving=False``; one that a
Transpose made channel-first out of a channel-last example (``("B", r−1, 0, …)``) becomes a
layer with ``interleaving=True``. What netgraph computes otherwise is refused by name:
SAME_LOWER padding, ceil_mode, dilated or index-giving max pooling, and an AveragePool that
leaves its padding out of the count (ONNX's default, ``count_include_pad=0``) over nonzero
padding.
"""

from __future__ import annotations

import numpy as np

from ..layers.convolution import ConvolutionLayer, PoolingLayer
from ..types import Var
from .onnx_import import Value


def _layout(r, x) -> bool:
    """True when the Value is channel-last under ONNX's channel-first view."""
    if not isinstance(x, Value) or x.axes[0] != "B" or len(x.axes) not in (3, 4):
        r.refuse("reads something other than a batch of 1-D or 2-D channel-first maps")
    rank = len(x.dims)
    if x.axes[1:] == tuple(range(rank)):
        return False
    if x.axes[1:] == (rank - 1, *range(rank - 1)):
        return True
    return r.refuse(f"reads a value whose axes {x.axes} netgraph's layers do not lay out")


def _padding(r, attrs: dict, nd: int):
    auto = attrs.get("auto_pad", b"NOTSET")
    auto = auto.decode() if isinstance(auto, bytes) else auto
    if auto == "SAME_UPPER":
        return "Same"
    if auto == "SAME_LOWER":
        r.refuse('pads "SAME_LOWER"; netgraph\'s "Same" puts the odd zero after (SAME_UPPER)')
    if auto == "VALID":
        return 0
    pads = list(attrs.get("pads", [0] * (2 * nd)))
    return tuple(zip(pads[:nd], pads[nd:]))


def _window(r, node, x, nd: int) -> dict:
    """The options ConvolutionLayer and PoolingLayer share, from the node's attributes."""
    attrs = r.attrs(node)
    if attrs.get("ceil_mode", 0):
        r.refuse("rounds its output sizes up (ceil_mode=1); netgraph's round down")
    return {
        "stride": tuple(attrs.get("strides", [1] * nd)),
        "padding_size": _padding(r, attrs, nd),
        "interleaving": _layout(r, x),
    }


def _output(r, layer, x: Value, name: str) -> list:
    """The layer's output as a Value laid out as its input."""
    dims = tuple("T" if isinstance(d, Var) else d for d in layer.ports["Output"].dims)
    return [Value((name, "Output"), x.axes, dims)]


def _spec(x: Value) -> tuple:
    return tuple("Varying" if d == "T" else d for d in x.dims)


def conv(r, node, ins):
    x, W, B = (ins + [None])[:3]
    W = r.const(W, "W")
    nd = W.ndim - 2
    attrs = r.attrs(node)
    if list(attrs.get("kernel_shape", W.shape[2:])) != list(W.shape[2:]):
        r.refuse(f"has kernel_shape {attrs['kernel_shape']} but weights of shape {W.shape}")
    layer = ConvolutionLayer(
        W.shape[0],
        tuple(W.shape[2:]),
        dilation=tuple(attrs.get("dilations", [1] * nd)),
        channel_groups=int(attrs.get("group", 1)),
        weights=W,
        biases=None if B is None else np.asarray(r.const(B, "B")).reshape(-1),
        input=_spec(x) if isinstance(x, Value) else None,
        **_window(r, node, x, nd),
    )
    return _output(r, layer, x, r.add(layer, {"Input": x}))


def pool(r, node, ins):
    x, attrs = ins[0], r.attrs(node)
    kernel = tuple(attrs.get("kernel_shape", ()))
    nd = len(kernel)
    if node.op_type == "MaxPool":
        if any(d != 1 for d in attrs.get("dilations", [1] * nd)) or (
            len(node.output) > 1 and node.output[1]
        ):
            r.refuse("dilates its window or gives the indices of its maxima; PoolingLayer does not")
    window = _window(r, node, x, nd)
    pads = window["padding_size"]
    padded = pads == "Same" or (pads != 0 and any(map(any, pads)))
    if node.op_type == "AveragePool" and not attrs.get("count_include_pad", 0) and padded:
        r.refuse(
            "leaves its padding out of the average (count_include_pad=0); PoolingLayer's "
            '"Mean" counts it (count_include_pad=1)'
        )
    function = "Max" if node.op_type == "MaxPool" else "Mean"
    layer = PoolingLayer(kernel, function=function, input=_spec(x), **window)
    return _output(r, layer, x, r.add(layer, {"Input": x}))


HANDLERS = {"Conv": conv, "MaxPool": pool, "AveragePool": pool}
