"""A net as an ONNX model: its plan's steps written one layer after another.

The graph's interface:

- one input per input port, batch-major ``(B, …)`` (a sequence ``(B, T, …)``, padded);
  reals in the working precision, integers as int64;
- ``sequence_lens`` int32 ``(B,)``: the true lengths of the "Varying" inputs (one such input
  per length variable: "sequence_lens" when the net has one, else "<port>/sequence_lens");
- every unconnected initial state as an optional input "<layer>/<State>/initial" ``(B, n)``,
  zero when not fed (its default is a zero row, broadcast over the batch);
- one output per output port, zero past each sequence's end, and "<port>/sequence_lens" for
  an output sequence whose lengths are not an input's (SequenceMost, Catenate, …);
- every final state as an output "<layer>/<State>/final" ``(B, n)``.

With ``states=False`` the initial and final states are left out (initial states are zero).

The model carries netgraph's description of the net (onnx_spec.py), so that import_onnx
gives back an equal net.
"""

from __future__ import annotations

import json

import numpy as np

from ..containers import NetBidirectionalOperator
from ..inference import infer_net
from ..layers.aggregation import AggregationLayer
from ..layers.combine import CatenateLayer, ThreadingLayer, TotalLayer
from ..layers.convolution import ConvolutionLayer, PoolingLayer
from ..layers.dropout import DropoutLayer
from ..layers.elementwise import ElementwiseLayer
from ..layers.embedding import EmbeddingLayer
from ..layers.linear import LinearLayer
from ..layers.loss import CrossEntropyLossLayer, MeanAbsoluteLossLayer, MeanSquaredLossLayer
from ..layers.normalization import (
    BatchNormalizationLayer,
    InputNormalizationLayer,
    NormalizationLayer,
)
from ..layers.sequence import (
    SequenceLastLayer,
    SequenceMostLayer,
    SequenceRestLayer,
    SequenceReverseLayer,
)
from ..layers.shape import FlattenLayer, ReshapeLayer
from ..layers.softmax import SoftmaxLayer
from ..plan import Plan
from ..types import REAL, TensorType
from ..walk import flatten
from ..walk import states as states_of
from . import onnx_layers as L
from . import onnx_sequence as S
from .onnx_bidirectional import emit_bidirectional
from .onnx_convolution import emit_convolution, emit_pooling
from .onnx_graph import Builder, Site, TensorProto
from .onnx_losses import emit_loss
from .onnx_recurrent import OPS, emit_recurrent
from .onnx_spec import describe

LOSSES = {
    CrossEntropyLossLayer: emit_loss,
    MeanSquaredLossLayer: emit_loss,
    MeanAbsoluteLossLayer: emit_loss,
}
EMITTERS = {
    LinearLayer: L.emit_linear,
    ElementwiseLayer: L.emit_elementwise,
    SoftmaxLayer: L.emit_softmax,
    NormalizationLayer: L.emit_normalization,
    BatchNormalizationLayer: L.emit_batch_normalization,
    InputNormalizationLayer: L.emit_input_normalization,
    ConvolutionLayer: emit_convolution,
    PoolingLayer: emit_pooling,
    DropoutLayer: L.emit_dropout,
    EmbeddingLayer: L.emit_embedding,
    FlattenLayer: L.emit_reshape,
    ReshapeLayer: L.emit_reshape,
    AggregationLayer: L.emit_aggregation,
    TotalLayer: L.emit_threading,
    ThreadingLayer: L.emit_threading,
    CatenateLayer: S.emit_catenate,
    SequenceLastLayer: S.emit_last,
    SequenceMostLayer: S.emit_most,
    SequenceRestLayer: S.emit_rest,
    SequenceReverseLayer: S.emit_reverse,
    **dict.fromkeys(OPS, emit_recurrent),
    NetBidirectionalOperator: emit_bidirectional,
    **LOSSES,
}
PRECISIONS = {"Real32": np.float32, "Real64": np.float64}


def check_exportable(net, losses: bool) -> None:
    """Refuse, by name, a layer without an ONNX counterpart, or a loss when not asked."""
    for path, leaf in flatten(net, closed=True).leaves.items():
        kind = type(leaf)
        where = f'layer "{"/".join(path)}" ({kind.__name__})' if path else f"the {kind.__name__}"
        if kind not in EMITTERS:
            raise ValueError(
                f"export_onnx: {where} has no ONNX counterpart. Layers that export: "
                f"{', '.join(sorted(c.__name__ for c in EMITTERS))}."
            )
        if kind in LOSSES and not losses:
            raise ValueError(
                f"export_onnx: {where} is a loss layer; pass losses=True to export it (its "
                'output "Loss" becomes an output of the model), or remove it with NetDrop or '
                "NetTake."
            )


class Export:
    """One export: the plan, the builder, and the tensor of every slot."""

    def __init__(self, net, dtype):
        self.net, self.plan, self.b = net, Plan(net), Builder(dtype)
        self.values: dict = {}
        self.steps_names: dict = {}  # Var → the dim_param of its steps
        self.step_of = {st.path: st for st in self.plan.steps}
        # the names of the model's inputs and outputs, kept from the tensors made inside
        ends = [f"{p}/sequence_lens" for p in net.ports] + ["sequence_lens", *net.ports]
        for path, port in states_of(self.plan.flat).values():
            ends += ["/".join(path + (port, end)) for end in ("initial", "final")]
        self.b.reserve(ends)

    def elem(self, t):
        return TensorProto.INT64 if t.is_integer else self.b.elem

    def dims(self, t) -> list:
        """The ONNX shape of a port's batch: "batch", then "T…" for a "Varying" length."""
        out = ["batch"]
        for d in t.dims:
            if d is t.var and d not in self.steps_names:
                k = len(self.steps_names)
                self.steps_names[d] = "T" if k == 0 else f"T{k + 1}"
            out.append(self.steps_names[d] if d is t.var else d)
        return out

    def inputs(self) -> None:
        ports = [p for p in self.net.input_ports() if p not in self.net.optional_inputs]
        seq = [p for p in ports if self.net.ports[p].var is not None]
        one = len({self.net.ports[p].var for p in seq}) == 1
        for p in ports:
            t = self.net.ports[p]
            x = self.b.add_input(p, self.elem(t), self.dims(t))
            if t.var is not None and t.var not in self.b.lengths:
                name = "sequence_lens" if one else f"{p}/sequence_lens"
                i32 = self.b.add_input(name, TensorProto.INT32, ["batch"])
                lens = self.b.op("Cast", [i32], "lengths", to=TensorProto.INT64)
                self.b.set_lengths(t.var, lens, x, i32)
            if t.var is not None:
                zero = self.b.const(0, np.int64) if t.is_integer else self.b.const(0.0)
                x = self.b.op("Where", [self.b.mask(t.var, t.rank + 1), x, zero], p)
            self.values[(None, p)] = x
        self.first = self.values[(None, ports[0])]

    def initial_states(self) -> None:
        """Unconnected initial states: optional inputs, a zero row by default."""
        for path, port in states_of(self.plan.flat).values():
            leaf = self.plan.flat.leaves[path]
            slot = self.step_of[path].ins[leaf.input_ports().index(port)]
            if slot != (path, port, "initial") and not (path == () and slot == (None, port)):
                continue
            n = leaf.ports[port].dims[0]
            name = "/".join(path + (port, "initial"))
            zero = np.zeros((1, n), self.b.dtype)
            h = self.b.add_input(name, self.b.elem, ["state_batch", n], default=zero)
            batch = self.b.op("Shape", [self.first], name, start=0, end=1)
            shape = self.b.op("Concat", [batch, self.b.ints([n])], name, axis=0)
            self.values[slot] = self.b.op("Expand", [h, shape], name)

    def layers(self) -> None:
        for st in self.plan.steps:
            leaf = self.plan.flat.leaves[st.path]
            xs = [None if s is None else self.values.get(s) for s in st.ins]
            site = Site(self.b, leaf, st.path, dict(leaf.ports), xs, st.op)
            self.values.update(zip(st.outs, EMITTERS[type(leaf)](site)))

    def outputs(self, with_states: bool) -> None:
        known = {self.net.ports[p].var for p in self.net.input_ports()}
        for p in self.net.output_ports():
            if p in self.net.optional_outputs:
                continue
            t = self.net.ports[p]
            self.b.add_output(p, self.values[self.plan.outputs[p]], self.elem(t), self.dims(t))
            if t.var is not None and t.var not in known:
                lens = self.b.op("Cast", [self.b.lens(t.var)], p, to=TensorProto.INT32)
                self.b.add_output(f"{p}/sequence_lens", lens, TensorProto.INT32, ["batch"])
                known.add(t.var)
        for path, port in states_of(self.plan.flat).values() if with_states else ():
            n = self.plan.flat.leaves[path].ports[port].dims[0]
            name = "/".join(path + (port, "final"))
            self.b.add_output(name, self.values[(path, port)], self.b.elem, ["batch", n])


def with_real_inputs(net):
    """The net with reals on its input ports whose element kind is still open (as evaluating
    it on float data would make them)."""
    given = {
        p: TensorType(t.dims, REAL)
        for p, t in net.ports.items()
        if p in net.input_ports() and t.kind is None and t.dims is not None
    }
    return infer_net(net, given) if given else net


def export_model(
    net, *, working_precision: str = "Real32", losses: bool = False, states: bool = True
):
    """The ONNX ModelProto of a fully initialized net (export_onnx's options)."""
    if working_precision not in PRECISIONS:
        raise ValueError(
            f'export_onnx: working_precision must be "Real32" or "Real64"; received '
            f"{working_precision!r}."
        )
    check_exportable(net, losses)
    try:
        net = with_real_inputs(net)
        ex = Export(net, PRECISIONS[working_precision])
    except ValueError as e:
        raise ValueError(f"export_onnx: {e}") from None
    ex.inputs()
    if states:
        ex.initial_states()
    ex.layers()
    ex.outputs(states)
    description = describe(net, ex.b.weights)
    return ex.b.model(type(net).__name__, {"netgraph": json.dumps(description)})
