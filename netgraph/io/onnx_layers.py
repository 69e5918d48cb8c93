"""The ONNX form of the layers that act on each example independently: linear, elementwise
functions, softmax, normalization, dropout, embedding, flatten and reshape, aggregation,
total, threading.

Each ``emit_*`` takes a ``Site`` (onnx_graph.py) and returns the layer's output tensors in
port order. Tensors are batch tensors, and a sequence's padding is zero on the way in and
on the way out (``Site.masked`` restores it after an op that may change it).
"""

from __future__ import annotations

import math

import numpy as np

from ..kernels.elementwise import FUNCTIONS
from ..types import Var
from .onnx_graph import Site

# Wolfram's function → (ONNX op, attributes); GELU and Square are written out below.
_SELU_A, _SELU_L = 1.6732632423543772, 1.0507009873554805
UNARY = {
    "Ramp": ("Relu", {}),
    "Tanh": ("Tanh", {}),
    "LogisticSigmoid": ("Sigmoid", {}),
    "SoftSign": ("Softsign", {}),
    "HardSigmoid": ("HardSigmoid", {"alpha": 0.2, "beta": 0.5}),
    "ELU": ("Elu", {"alpha": 1.0}),
    "SELU": ("Selu", {"alpha": _SELU_A, "gamma": _SELU_L}),
    "Sin": ("Sin", {}),
    "Cos": ("Cos", {}),
    "Exp": ("Exp", {}),
    "Log": ("Log", {}),
    "Sqrt": ("Sqrt", {}),
    "Abs": ("Abs", {}),
}
assert set(UNARY) | {"GELU", "Square"} == set(FUNCTIONS), "every function has an ONNX form"
NONZERO_AT_ZERO = {"LogisticSigmoid", "HardSigmoid", "Cos", "Exp", "Log"}  # padding to restore


def emit_linear(s: Site) -> list:
    """y = x·Wᵀ + b: Gemm on vectors, MatMul (+ Add) on higher ranks, then the output shape."""
    W = s.array("Weights")
    n, k = W.shape[:-1], W.shape[-1]
    w = s.weight("Weights", W.reshape(-1, k))
    b = s.weight("Biases", s.array("Biases").reshape(-1)) if s.layer.options["biases"] else None
    r = s.rank("Input")
    if r == 2 and len(n) == 1:
        y = s.op1("Gemm", [s.xs[0], w] + ([b] if b else []), transB=1)
    else:
        y = s.op1("MatMul", [s.xs[0], s.op1("Transpose", [w], perm=[1, 0])])
        if b:
            y = s.op1("Add", [y, b])
        if len(n) != 1:
            y = s.op1("Reshape", [y, s.b.ints([0] * (r - 1) + list(n))])
    return [s.masked(y)]


def emit_normalization(s: Site) -> list:
    """LayerNormalization on the last axis; a padding step's output is Biases, zeroed again."""
    g = s.weight("Scaling", s.array("Scaling"))
    b = s.weight("Biases", s.array("Biases"))
    eps = s.layer.options["epsilon"]
    y = s.op1("LayerNormalization", [s.xs[0], g, b], axis=-1, epsilon=eps)
    return [s.masked(y)]


def emit_batch_normalization(s: Site) -> list:
    """BatchNormalization in its inference form (the moving statistics), on the channel axis 1:
    a channel-last example (a sequence, or interleaving=True) is transposed there and back."""
    names = ("Scaling", "Biases", "MovingMean", "MovingVariance")
    ws = [s.weight(n, s.array(n)) for n in names]
    x, r = s.xs[0], s.rank("Input")
    last = s.layer.channel(s.types["Input"].dims) == r - 2 and r > 2
    if last:
        x = s.op1("Transpose", [x], perm=[0, r - 1, *range(1, r - 1)])
    y = s.op1("BatchNormalization", [x, *ws], epsilon=s.layer.options["epsilon"])
    if last:
        y = s.op1("Transpose", [y], perm=[0, *range(2, r), 1])
    return [s.masked(y)]


def emit_input_normalization(s: Site) -> list:
    """(x − center)·scale as Sub, Div and Mul on the fitted arrays; a zero deviation or range
    divides by 1 (Where), as netgraph does."""
    method, x = s.layer.options["normalization"], s.xs[0]
    a = {n: s.weight(n, s.array(n)) for n in s.layer.arrays}

    def nonzero(t):
        zero = s.b.const(0.0)
        return s.op1("Where", [s.op1("Greater", [t, zero]), t, s.b.const(1.0)])

    if method == "none":
        return [s.op1("Identity", [x])]
    if method in ("zerocenter", "zscore"):
        y = s.op1("Sub", [x, a["Mean"]])
        if method == "zscore":
            y = s.op1("Div", [y, nonzero(a["StandardDeviation"])])
        return [s.masked(y)]
    span = nonzero(s.op1("Sub", [a["Max"], a["Min"]]))
    if method == "rescale-zero-one":
        return [s.masked(s.op1("Div", [s.op1("Sub", [x, a["Min"]]), span]))]
    # 2(x − Min)/(Max − Min) − 1 as 2(x − center)/(Max − Min): a constant feature gives 0
    center = s.op1("Mul", [s.op1("Add", [a["Min"], a["Max"]]), s.b.const(0.5)])
    y = s.op1("Mul", [s.op1("Sub", [x, center]), s.b.const(2.0)])
    return [s.masked(s.op1("Div", [y, span]))]


def emit_elementwise(s: Site) -> list:
    f, x = s.layer.options["function"], s.xs[0]
    if f == "Square":
        y = s.op1("Mul", [x, x])
    elif f == "GELU":  # 0.5·x·(1 + erf(x/√2)), exact (with erf)
        e = s.op1("Erf", [s.op1("Div", [x, s.b.const(np.sqrt(2.0))])])
        half = s.op1("Mul", [s.b.const(0.5), x])
        y = s.op1("Mul", [half, s.op1("Add", [s.b.const(1.0), e])])
    else:
        op, attrs = UNARY[f]
        y = s.op1(op, [x], **attrs)
    return [s.masked(y) if f in NONZERO_AT_ZERO else y]


def emit_softmax(s: Site) -> list:
    """Softmax on the last axis; over the steps of a sequence of scalars, padding gets −∞
    first, hence probability 0."""
    x, var = s.xs[0], s.var("Input")
    if var is not None and s.rank("Input") == 2:
        x = s.b.zero_padding(x, var, 2, fill=-np.inf)
        return [s.op1("Softmax", [x], axis=-1)]
    return [s.masked(s.op1("Softmax", [x], axis=-1))]


def emit_dropout(s: Site) -> list:
    return [s.xs[0]]  # the identity outside training


def emit_embedding(s: Site) -> list:
    w = s.weight("Weights", s.array("Weights"))
    return [s.masked(s.op1("Gather", [w, s.xs[0]], axis=0))]


def emit_reshape(s: Site) -> list:
    """FlattenLayer and ReshapeLayer: the output's dims, 0 (kept) for the batch and the steps."""
    dims = [0 if isinstance(d, Var) else d for d in s.types["Output"].dims]
    return [s.op1("Reshape", [s.xs[0], s.b.ints([0] + dims)])]


def emit_aggregation(s: Site) -> list:
    """Reduce* over the levels; over the steps of a sequence, Max and Min look at the real
    steps only and Mean divides by the true length."""
    f, x = s.layer.options["function"], s.xs[0]
    axes = [a + 1 for a in s.layer.axes(s.types["Input"])]
    var = s.var("Input")
    steps = var is not None and 1 in axes
    if f in ("Max", "Min"):
        if steps:
            x = s.b.zero_padding(x, var, s.rank("Input"), fill=-np.inf if f == "Max" else np.inf)
        return [s.op1(f"Reduce{f}", [x], axes=axes, keepdims=0)]
    total = s.op1("ReduceSum", [x, s.b.ints(axes)], keepdims=0)
    if f == "Total":
        return [total]
    if not steps:
        return [s.op1("ReduceMean", [x], axes=axes, keepdims=0)]
    dims = s.types["Input"].dims
    per_step = math.prod(dims[a - 1] for a in axes if a != 1)
    count = s.op1("Cast", [s.b.lens(var)], to=s.b.elem)
    count = s.op1("Mul", [count, s.b.const(per_step)])
    r = s.rank("Output")
    if r > 1:
        count = s.op1("Unsqueeze", [count, s.b.ints(list(range(1, r)))])
    return [s.op1("Div", [total, count])]


def _aligned(s: Site) -> list:
    """The inputs with size-1 axes after the batch axis up to the output's rank (netgraph
    aligns shapes at the last dimension, as numpy does, but the batch axis comes first)."""
    r, out = [], s.rank("Output")
    for p, x in zip(s.layer.input_ports(), s.xs):
        missing = out - s.rank(p)
        r.append(s.op1("Unsqueeze", [x, s.b.ints(list(range(1, 1 + missing)))]) if missing else x)
    return r


def emit_threading(s: Site) -> list:
    f, xs = s.layer.options.get("function", "Plus"), _aligned(s)
    if f in ("Plus", "Min", "Max"):
        y = s.op1({"Plus": "Sum"}.get(f, f), xs)
    elif f == "Times":
        y = xs[0]
        for x in xs[1:]:
            y = s.op1("Mul", [y, x])
    else:
        y = s.op1({"Subtract": "Sub", "Divide": "Div"}[f], xs)
    return [s.masked(y)]
