"""An ONNX graph under construction: unique names, nodes, constants, and the lengths of the
padded sequences that flow through it, with their step masks.

A sequence tensor is batch-major ``(B, T, …)``, padded to T, and its padding is zero (as in
netgraph's plan). Each "Varying" length has a ``Lengths``: the int64 lengths ``(B,)`` and a
tensor of that length whose axis 1 gives T. The graph's inputs take the lengths as int32
(``sequence_lens``, the type that ONNX's recurrent ops take).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

try:  # an optional dependency: the [onnx] extra
    import onnx
    from onnx import TensorProto, helper, numpy_helper
except ImportError:  # pragma: no cover - exercised where onnx is not installed
    onnx = TensorProto = helper = numpy_helper = None

# Opset 17: the default of torch.onnx.export's TorchScript exporter and supported by every
# current runtime; it has all the ops netgraph writes (LSTM/GRU/RNN with sequence_lens,
# ReverseSequence, GatherND with batch_dims, Reduce* with axes as an attribute).
OPSET = 17
IR_VERSION = 8  # the IR of opset 17: readable by runtimes from onnxruntime 1.12 on

INT64_MAX = np.iinfo(np.int64).max


def require_onnx(what: str) -> None:
    """Refuse clearly when the onnx package is missing."""
    if onnx is None:
        raise ImportError(
            f"{what} needs the onnx package; install it with: pip install 'netgraph[onnx]' "
            "(or pip install onnx onnxruntime)."
        )


@dataclass
class Lengths:
    """The lengths of one "Varying" dimension: int64 ``(B,)`` and a tensor whose axis 1 is T."""

    lens: str
    steps: str
    i32: str | None = None
    masks: dict = field(default_factory=dict)  # rank → boolean mask (B, T, 1, …)


class Builder:
    """Collects nodes, initializers, inputs and outputs; ``dtype`` is the float type."""

    def __init__(self, dtype):
        self.dtype = np.dtype(dtype)
        self.elem = helper.np_dtype_to_tensor_dtype(self.dtype)
        self.nodes, self.initializers, self.inputs, self.outputs = [], [], [], []
        self.lengths: dict = {}  # Var → Lengths
        self.weights: dict = {}  # layer path → {role: initializer name}
        self._taken: set = set()
        self._consts: dict = {}

    # -- names, nodes, constants -------------------------------------------------------------
    def name(self, hint: str) -> str:
        """A tensor name not used yet, ``hint`` itself when free."""
        name, i = hint, 1
        while name in self._taken:
            i += 1
            name = f"{hint}_{i}"
        self._taken.add(name)
        return name

    def op(self, op_type: str, inputs: list, hint: str, outputs: int = 1, **attrs):
        """Add a node; returns its output name (or the list of them when ``outputs`` > 1)."""
        outs = [
            self.name(f"{hint}/{op_type}" if i == 0 else f"{hint}/{op_type}:{i}")
            for i in range(outputs)
        ]
        self.nodes.append(
            helper.make_node(
                op_type, list(inputs), outs, name=self.name(f"{hint}/{op_type}#"), **attrs
            )
        )
        return outs[0] if outputs == 1 else outs

    def initializer(self, hint: str, array: np.ndarray) -> str:
        name = self.name(hint)
        self.initializers.append(numpy_helper.from_array(np.asarray(array, order="C"), name))
        return name

    def const(self, value, dtype=None) -> str:
        """A small constant, shared by every node that uses the same value."""
        a = np.asarray(value, dtype=self.dtype if dtype is None else dtype)
        key = (a.dtype.str, a.shape, a.tobytes())
        if key not in self._consts:
            self._consts[key] = self.initializer("const", a)
        return self._consts[key]

    def ints(self, values) -> str:
        return self.const(values, np.int64)

    # -- graph inputs and outputs ------------------------------------------------------------
    def reserve(self, names) -> None:
        """Keep ``names`` for the graph's inputs and outputs (no tensor inside takes them)."""
        self._taken.update(names)

    def add_input(self, name: str, elem, dims: list, default=None) -> str:
        """A graph input; with a ``default`` array it is optional (an initializer of that name,
        which a runtime uses when the input is not fed)."""
        self.inputs.append(helper.make_tensor_value_info(name, elem, dims))
        if default is not None:
            self.initializers.append(numpy_helper.from_array(default, name))
        return name

    def add_output(self, name: str, source: str, elem, dims: list) -> None:
        self.nodes.append(helper.make_node("Identity", [source], [name], name=f"{name}/Identity"))
        self.outputs.append(helper.make_tensor_value_info(name, elem, dims))

    # -- lengths and masks --------------------------------------------------------------------
    def set_lengths(self, var, lens: str, steps: str, i32: str | None = None) -> None:
        self.lengths[var] = Lengths(lens, steps, i32)

    def lens(self, var) -> str:
        return self.lengths[var].lens

    def lens32(self, var) -> str:
        """The lengths as int32, as the recurrent ops take them."""
        ln = self.lengths[var]
        if ln.i32 is None:
            ln.i32 = self.op("Cast", [ln.lens], "lengths", to=TensorProto.INT32)
        return ln.i32

    def mask(self, var, rank: int) -> str:
        """Boolean (B, T, 1, …) of the given rank: True at the real steps."""
        ln = self.lengths[var]
        if rank not in ln.masks:
            if 2 not in ln.masks:
                shape = self.op("Shape", [ln.steps], "mask", start=1, end=2)
                T = self.op("Squeeze", [shape, self.ints([0])], "mask")
                t = self.op("Range", [self.const(0, np.int64), T, self.const(1, np.int64)], "mask")
                n = self.op("Unsqueeze", [ln.lens, self.ints([1])], "mask")
                ln.masks[2] = self.op("Less", [t, n], "mask")
            if rank > 2:
                ln.masks[rank] = self.op(
                    "Unsqueeze", [ln.masks[2], self.ints(list(range(2, rank)))], "mask"
                )
        return ln.masks[rank]

    def zero_padding(self, x: str, var, rank: int, fill=0.0, dtype=None) -> str:
        """``x`` (of ``rank``, the batch axis counted) with every padding step set to ``fill``
        (a constant of ``dtype``, the float type by default)."""
        return self.op("Where", [self.mask(var, rank), x, self.const(fill, dtype)], "padding")

    # -- the model -----------------------------------------------------------------------------
    def model(self, graph_name: str, metadata: dict) -> onnx.ModelProto:
        graph = helper.make_graph(
            self.nodes, graph_name, self.inputs, self.outputs, initializer=self.initializers
        )
        model = helper.make_model(
            graph,
            opset_imports=[helper.make_opsetid("", OPSET)],
            producer_name="netgraph",
        )
        model.ir_version = IR_VERSION
        helper.set_model_props(model, metadata)
        return model


@dataclass
class Site:
    """One layer being written: its spec, path, port types, input tensors (in port order,
    None for an unconnected optional input) and the plan's op for it."""

    b: Builder
    layer: object
    path: tuple
    types: dict
    xs: list
    op: object

    @property
    def hint(self) -> str:
        """The prefix of the layer's tensor names: its path, or "net" for a bare layer."""
        return "/".join(self.path) or "net"

    def rank(self, port: str) -> int:
        """The rank of the port's batch tensor (the batch axis counted)."""
        return self.types[port].rank + 1

    def var(self, port: str):
        return self.types[port].var

    def array(self, name: str) -> np.ndarray:
        return np.asarray(self.layer.arrays[name], self.b.dtype)

    def weight(self, role: str, array: np.ndarray) -> str:
        """An initializer holding one of the layer's arrays (in an ONNX layout), recorded
        under ``role`` so that import finds it."""
        name = self.b.initializer(f"{self.hint}/{role}", array)
        self.b.weights.setdefault(self.path, {})[role] = name
        return name

    def masked(self, y: str, port: str = "Output") -> str:
        """``y`` with zero padding, when the port is a sequence of "Varying" length."""
        var = self.var(port)
        return y if var is None else self.b.zero_padding(y, var, self.rank(port))

    def op1(self, op_type: str, inputs: list, **attrs) -> str:
        return self.b.op(op_type, inputs, self.hint, **attrs)
