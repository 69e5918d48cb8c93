"""The ONNX form of the layers that move steps around: SequenceLast, SequenceMost,
SequenceRest, SequenceReverse, and CatenateLayer (joining ragged sequences step after step).

Steps are axis 1 of a padded batch ``(B, T, …)`` whose padding is zero; a "Varying" length
has its lengths ``(B,)`` in the builder (``Builder.lens``), which these ops follow:

- Last: GatherND at n − 1 for each row (``batch_dims=1``);
- Most: Slice to T − 1 steps, lengths n − 1, the step left at n − 1 zeroed;
- Rest: Slice from step 1, lengths n − 1 (the padding stays zero);
- Reverse: ReverseSequence within each length (padding stays at the end);
- Catenate at the steps: GatherElements from the inputs joined end to end, at the index of
  each output step's source, then Slice to the longest total length.
"""

from __future__ import annotations

import numpy as np

from .onnx_graph import INT64_MAX, Site


def _lens_minus_one(s: Site) -> str:
    return s.op1("Sub", [s.b.lens(s.var("Input")), s.b.const(1, np.int64)])


def emit_last(s: Site) -> list:
    x, var = s.xs[0], s.var("Input")
    if var is None:
        T = s.types["Input"].dims[0]
        return [s.op1("Gather", [x, s.b.const(T - 1, np.int64)], axis=1)]
    at = s.op1("Unsqueeze", [_lens_minus_one(s), s.b.ints([1])])
    return [s.op1("GatherND", [x, at], batch_dims=1)]


def _drop_one(s: Site, start: int) -> str:
    """Steps ``start`` … T − 2 + start, with lengths n − 1 for a "Varying" output."""
    ends = s.b.ints([-1 if start == 0 else INT64_MAX])
    y = s.op1("Slice", [s.xs[0], s.b.ints([start]), ends, s.b.ints([1])])
    if s.var("Input") is not None:
        s.b.set_lengths(s.var("Output"), _lens_minus_one(s), y)
    return y


def emit_most(s: Site) -> list:
    return [s.masked(_drop_one(s, 0))]


def emit_rest(s: Site) -> list:
    return [_drop_one(s, 1)]


def emit_reverse(s: Site) -> list:
    x, var = s.xs[0], s.var("Input")
    if var is None:
        ends = s.b.ints([-INT64_MAX])
        return [s.op1("Slice", [x, s.b.ints([-1]), ends, s.b.ints([1]), s.b.ints([-1])])]
    return [s.op1("ReverseSequence", [x, s.b.lens(var)], batch_axis=0, time_axis=1)]


def emit_catenate(s: Site) -> list:
    if not s.op.ragged:
        return [s.op1("Concat", s.xs, axis=s.op.axis)]
    return [_catenate_steps(s)]


def _steps_of(s: Site, x: str) -> str:
    """T of a padded batch, as a 1-element int64 tensor."""
    return s.op1("Shape", [x], start=1, end=2)


def _catenate_steps(s: Site) -> str:
    """Example b of the output: the real steps of input 1, then those of input 2, …"""
    b, ports = s.b, s.layer.input_ports()
    joined = s.op1("Concat", s.xs, axis=1)
    t = s.op1(
        "Range",
        [b.const(0, np.int64), s.op1("Squeeze", [_steps_of(s, joined)]), b.const(1, np.int64)],
    )
    t = s.op1("Unsqueeze", [t, b.ints([0])])  # (1, ΣT)
    zero = b.const(0, np.int64)
    start, padded, src = zero, zero, zero  # start of input j in the output, and in ``joined``
    for p, x in zip(ports, s.xs):
        var = s.var(p)
        n = b.lens(var) if var is not None else b.const(s.types[p].dims[0], np.int64)
        n = s.op1("Unsqueeze", [n, b.ints([1])]) if var is not None else n
        inside = s.op1(
            "And",
            [s.op1("GreaterOrEqual", [t, start]), s.op1("Less", [t, s.op1("Add", [start, n])])],
        )
        at = s.op1("Add", [padded, s.op1("Sub", [t, start])])
        src = s.op1("Add", [src, s.op1("Where", [inside, at, zero])])
        start = s.op1("Add", [start, n])
        padded = s.op1("Add", [padded, _steps_of(s, x)])
    r = s.rank("Output")
    if r > 2:
        src = s.op1("Unsqueeze", [src, b.ints(list(range(2, r)))])
    src = s.op1("Expand", [src, s.op1("Shape", [joined])])
    y = s.op1("GatherElements", [joined, src], axis=1)
    total = s.op1("Squeeze", [start, b.ints([1])])  # (B,)
    longest = s.op1("ReduceMax", [start], axes=[0, 1], keepdims=0)
    y = s.op1("Slice", [y, b.ints([0]), s.op1("Unsqueeze", [longest, b.ints([0])]), b.ints([1])])
    b.set_lengths(s.var("Output"), total, y)
    return s.masked(y)
