"""The ONNX form of ConvolutionLayer and PoolingLayer: Conv, MaxPool, AveragePool.

ONNX's ops are channel-first ``(B, C, *S)``: a channel-last port (``interleaving=True``) is
transposed in and out. "Weights" ``(n, c/g, *K)`` is Conv's own layout; "Mean" is
AveragePool with ``count_include_pad=1`` (the padding counted, as netgraph's); "Total" is a
Conv with one-valued weights per channel (``group=C``), an exact sum.

Over a "Varying" first dimension, the padded batch's zeros past each sequence's end are the
sequence's own right padding (for Max pooling they are set to −∞ first, so that MaxPool
ignores them as it ignores its pads), the outputs past each sequence's output length are
zeroed, and a new output length ``⌊(L + pl + pr − d·(K−1) − 1)/s⌋ + 1`` goes to the builder.
"Same" padding with a stride above 1 pads each sequence by an amount that depends on its
length: each row is shifted right by its own left padding (GatherElements) before the op.
"""

from __future__ import annotations

import numpy as np

from .onnx_graph import Site


def _first(s: Site, x: str, r: int) -> str:
    """(B, *S, C) → (B, C, *S)."""
    return s.op1("Transpose", [x], perm=[0, r - 1, *range(1, r - 1)])


def _last(s: Site, y: str, r: int) -> str:
    """(B, C, *S) → (B, *S, C)."""
    return s.op1("Transpose", [y], perm=[0, *range(2, r), 1])


def _shift_rows(s: Site, x: str, var, fill: float) -> str:
    """Each sequence of ``x (B, T, …)`` moved right by its own "Same" left padding, with room
    after it for its right padding: ``y[b, t] = x[b, t − pl_b]`` (``fill`` outside)."""
    b, geo, r = s.b, s.layer.geometry(), s.rank("Input")
    ext, st = geo.extent(0), geo.stride[0]
    most = (ext - 1) // 2  # the largest left padding "Same" gives
    n = b.lens(var)
    out = s.op1("Div", [s.op1("Add", [n, b.const(st - 1, np.int64)]), b.const(st, np.int64)])
    span = s.op1(
        "Add",
        [
            s.op1("Mul", [s.op1("Sub", [out, b.const(1, np.int64)]), b.const(st, np.int64)]),
            b.const(ext, np.int64),
        ],
    )
    total = s.op1("Max", [s.op1("Sub", [span, n]), b.const(0, np.int64)])
    shift = s.op1("Sub", [b.const(most, np.int64), s.op1("Div", [total, b.const(2, np.int64)])])
    pads = [0, most] + [0] * (r - 2) + [0, ext - 1] + [0] * (r - 2)
    xp = s.op1("Pad", [x, b.ints(pads), b.const(fill)], mode="constant")
    T = s.op1("Squeeze", [s.op1("Shape", [xp], start=1, end=2), b.ints([0])])
    t = s.op1("Range", [b.const(0, np.int64), T, b.const(1, np.int64)])
    at = s.op1(
        "Add", [s.op1("Unsqueeze", [t, b.ints([0])]), s.op1("Unsqueeze", [shift, b.ints([1])])]
    )
    at = s.op1("Min", [at, s.op1("Sub", [T, b.const(1, np.int64)])])
    if r > 2:
        at = s.op1("Unsqueeze", [at, b.ints(list(range(2, r)))])
    at = s.op1("Expand", [at, s.op1("Shape", [xp])])
    return s.op1("GatherElements", [xp, at], axis=1)


def _sequence_pads(s: Site, x: str, var, fill: float) -> tuple:
    """(x ready for the op, (before, after) of the steps, the output lengths)."""
    b, geo = s.b, s.layer.geometry()
    ext, st, n = geo.extent(0), geo.stride[0], b.lens(var)
    if geo.padding == "Same":
        out = s.op1("Div", [s.op1("Add", [n, b.const(st - 1, np.int64)]), b.const(st, np.int64)])
        if st > 1:
            return _shift_rows(s, x, var, fill), (0, 0), out
        return x, geo.pads(0, 1), out  # stride 1: the same padding for every length
    pl, pr = geo.padding[0]
    span = s.op1("Add", [n, b.const(pl + pr - ext, np.int64)])
    out = s.op1("Add", [s.op1("Div", [span, b.const(st, np.int64)]), b.const(1, np.int64)])
    return x, (pl, pr), out


def _emit(s: Site, node, fill: float = 0.0) -> list:
    """The layer around ``node(x, pads)`` (channel-first x, ONNX's pads), for any layout."""
    geo, r, var = s.layer.geometry(), s.rank("Input"), s.var("Input")
    first = not s.layer.options["interleaving"]
    x, dims = s.xs[0], s.types["Input"].dims
    spatial = dims[1:] if first else dims[:-1]
    pads = [None if d is var else geo.pads(i, d) for i, d in enumerate(spatial)]
    out = None
    if var is not None:
        if fill != 0.0:
            x = s.b.zero_padding(x, var, r, fill=fill)
        x, pads[0], out = _sequence_pads(s, x, var, fill)
    y = node(x if first else _first(s, x, r), [int(p[0]) for p in pads] + [int(p[1]) for p in pads])
    y = y if first else _last(s, y, r)
    if var is not None and s.var("Output") is not var:
        s.b.set_lengths(s.var("Output"), out, y)
    return [s.masked(y)]


def _window_attrs(s: Site, pads: list) -> dict:
    geo = s.layer.geometry()
    return {"kernel_shape": list(geo.kernel), "strides": list(geo.stride), "pads": pads}


def emit_convolution(s: Site) -> list:
    """Conv with the layer's weights, biases, group and dilations."""
    o = s.layer.options
    ins = [s.weight("Weights", s.array("Weights"))]
    if o["biases"]:
        ins.append(s.weight("Biases", s.array("Biases")))
    attrs = {"dilations": list(o["dilation"]), "group": o["channel_groups"]}

    def conv(x, pads):
        return s.op1("Conv", [x, *ins], **_window_attrs(s, pads), **attrs)

    return _emit(s, conv)


def emit_pooling(s: Site) -> list:
    """MaxPool, AveragePool (padding counted) or a Conv of ones per channel (Total)."""
    f = s.layer.options["function"]
    if f == "Total":
        dims = s.types["Input"].dims
        c = dims[-1] if s.layer.options["interleaving"] else dims[0]
        ones = s.b.const(np.ones((c, 1, *s.layer.geometry().kernel)))

        def total(x, pads):
            return s.op1("Conv", [x, ones], **_window_attrs(s, pads), group=c)

        return _emit(s, total)
    if f == "Max":
        return _emit(s, lambda x, pads: s.op1("MaxPool", [x], **_window_attrs(s, pads)), -np.inf)
    return _emit(
        s, lambda x, pads: s.op1("AveragePool", [x], count_include_pad=1, **_window_attrs(s, pads))
    )
