"""The ONNX form of the loss layers (written when ``export_onnx(..., losses=True)``).

As in kernels/loss.py: a loss ℓ per position (an element, or a class vector when the last
axis holds classes), averaged over each example's true positions; probabilities clipped to
[ε, 1] (to [ε, 1 − ε] for "Binary") before the logarithm. A cross-entropy that reads a
softmax's output is computed from the softmax's input, with LogSoftmax, as netgraph's plan
does (its op is then a ``*LogitsOp``).
"""

from __future__ import annotations

import numpy as np

from ..kernels.loss import (
    EPSILON,
    BinaryCrossEntropyOp,
    IndexCrossEntropyLogitsOp,
    IndexCrossEntropyOp,
    MeanAbsoluteOp,
    MeanSquaredOp,
    ProbabilitiesCrossEntropyLogitsOp,
)
from .onnx_graph import Site


def _clip(s: Site, x: str, hi: float = 1.0) -> str:
    return s.op1("Clip", [x, s.b.const(EPSILON), s.b.const(hi)])


def _picked(s: Site, logp: str, t: str) -> str:
    """−log p[t] from log-probabilities on the last axis and integer targets."""
    at = s.op1("Unsqueeze", [t, s.b.ints([-1])])
    picked = s.op1("GatherElements", [logp, at], axis=-1)
    return s.op1("Neg", [s.op1("Squeeze", [picked, s.b.ints([-1])])])


def _against(s: Site, logp: str, t: str) -> str:
    """−Σ t·log p on the last axis."""
    return s.op1("Neg", [s.op1("ReduceSum", [s.op1("Mul", [t, logp]), s.b.ints([-1])], keepdims=0)])


def _binary(s: Site, x: str, t: str) -> str:
    p = _clip(s, x, 1.0 - EPSILON)
    yes = s.op1("Mul", [t, s.op1("Log", [p])])
    one = s.b.const(1.0)
    no = s.op1("Mul", [s.op1("Sub", [one, t]), s.op1("Log", [s.op1("Sub", [one, p])])])
    return s.op1("Neg", [s.op1("Add", [yes, no])])


def _per_position(s: Site) -> str:
    x, t = s.xs
    op = type(s.op)
    if op is MeanSquaredOp:
        d = s.op1("Sub", [x, t])
        return s.op1("Mul", [d, d])
    if op is MeanAbsoluteOp:
        return s.op1("Abs", [s.op1("Sub", [x, t])])
    if op is BinaryCrossEntropyOp:
        return _binary(s, x, t)
    if op in (IndexCrossEntropyLogitsOp, ProbabilitiesCrossEntropyLogitsOp):
        logp = s.op1("LogSoftmax", [x], axis=-1)
    else:
        logp = s.op1("Log", [_clip(s, x)])
    if op in (IndexCrossEntropyOp, IndexCrossEntropyLogitsOp):
        return _picked(s, logp, t)
    return _against(s, logp, t)


def emit_loss(s: Site) -> list:
    """The mean of ℓ over each example's positions (its true steps, for a sequence)."""
    loss = _per_position(s)
    positions = s.types["Input"].dims[: len(s.types["Input"].dims) - int(s.op.classed)]
    if not positions:
        return [loss]
    axes = s.b.ints(list(range(1, 1 + len(positions))))
    var = s.var("Input")
    if var is None:
        return [s.op1("ReduceMean", [loss], axes=list(range(1, 1 + len(positions))), keepdims=0)]
    loss = s.b.zero_padding(loss, var, 1 + len(positions))
    total = s.op1("ReduceSum", [loss, axes], keepdims=0)
    per_step = int(np.prod(positions[1:], dtype=np.int64))
    count = s.op1("Mul", [s.op1("Cast", [s.b.lens(var)], to=s.b.elem), s.b.const(per_step)])
    return [s.op1("Div", [total, count])]
