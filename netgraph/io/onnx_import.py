"""Reading an ONNX graph written by another framework into a netgraph net, op by op.

The graph is walked in order, each tensor standing for one of:

- ``Const``: a constant (an initializer, a Constant node, or ops on constants), a numpy array;
- ``Dims``: a shape computed from a net tensor's shape (entries an int, "B" for the batch or
  "T" for a "Varying" length), as exporters build zero initial states;
- ``Zeros``: zeros of such a shape (an initial state left at zero);
- ``Value``: a tensor that the net computes: the port that produces it (``src``) and how the
  ONNX tensor's axes map onto the netgraph value (``axes``: "B" for the batch axis, "1" for a
  unit axis netgraph does not have, or the index of one of the example's ``dims``).

Ops on Values become layers (onnx_import_ops.py, onnx_recurrent.py); the batch axis may sit anywhere in ONNX
(PyTorch's time-major recurrent layers), netgraph's batches are batch-first. An ONNX output
comes back as a netgraph output whose examples are the ONNX tensor with its batch axis taken
out. What netgraph cannot compute exactly is refused, naming the node, its op and what in it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..containers import NetChain, NetGraph
from ..layers.shape import ReshapeLayer
from ..symbols import NetPort
from .onnx_graph import helper
from .onnx_read import to_array


@dataclass(frozen=True)
class Value:
    src: tuple  # (layer name, port), or (None, graph input)
    axes: tuple  # per ONNX axis: "B", "1" or an index into dims
    dims: tuple  # the example's dims: ints, "T" for a "Varying" length

    def order(self) -> list:
        return [a for a in self.axes if isinstance(a, int)]


@dataclass(frozen=True)
class Dims:
    entries: tuple
    scalar: bool = False


@dataclass(frozen=True)
class Zeros:
    pass


LENGTHS = "sequence lengths"  # a graph input that feeds sequence_lens


class Refused(ValueError):
    pass


class Reader:
    """One import: the tensors seen so far, the layers made and the wires between them."""

    def __init__(self, model, path: str):
        self.model, self.path, self.graph = model, path, model.graph
        self.opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
        self.env: dict = {t.name: to_array(t, path) for t in self.graph.initializer}
        self.uses: dict = {}
        for node in self.graph.node:
            for x in node.input:
                self.uses[x] = self.uses.get(x, 0) + 1
        self.layers: dict = {}
        self.edges: list = []
        self.ports: dict = {}  # graph input → netgraph shape spec
        self.open_biases: dict = {}  # MatMul output → its LinearLayer, while an Add may follow
        self.node = None

    # -- errors and attributes ----------------------------------------------------------------
    def refuse(self, what: str):
        n = self.node
        at = f'node "{n.name or n.output[0]}" ({n.op_type})' if n is not None else "the graph"
        raise Refused(f"import_onnx: {self.path}: {at}: {what}")

    def attrs(self, node) -> dict:
        return {a.name: helper.get_attribute_value(a) for a in node.attribute}

    def const(self, x, what: str) -> np.ndarray:
        if not isinstance(x, np.ndarray):
            self.refuse(f"{what} must be a constant")
        return x

    # -- layers ------------------------------------------------------------------------------------
    def add(self, layer, ins: dict) -> str:
        """Add ``layer``, wired from the Values ``ins`` (port → Value); returns its name."""
        name = str(len(self.layers) + 1)
        self.layers[name] = layer
        for port, v in ins.items():
            self.edges.append((v.src, (name, port)))
        return name

    def replace(self, name: str, layer) -> None:
        self.layers[name] = layer

    # -- the walk -------------------------------------------------------------------------------
    def inputs(self, layouts: dict) -> None:
        for vi in self.graph.input:
            if vi.name in self.env:
                continue  # an initializer listed as an input (older exporters)
            layout = layouts.get(vi.name)
            if layout == LENGTHS:
                self.env[vi.name] = LENGTHS
                continue
            self.env[vi.name] = self.graph_input(vi, layout)

    def graph_input(self, vi, layout) -> Value:
        t = vi.type.tensor_type
        if not vi.type.HasField("tensor_type") or t.elem_type not in FLOATS:
            self.refuse(f'the input "{vi.name}" must be a float tensor')
        dims = [d.dim_value if d.HasField("dim_value") else None for d in t.shape.dim]
        axes = layout or ("B",) + tuple(range(len(dims) - 1))
        if len(axes) != len(dims):
            self.refuse(f'the input "{vi.name}" has rank {len(dims)}, not {len(axes)}')
        size = {a: d for a, d in zip(axes, dims) if isinstance(a, int)}
        if sorted(size) != list(range(len(size))):
            self.refuse(f'the input "{vi.name}" reaches its op through axes {list(axes)}')
        example = tuple("T" if size[i] is None and i == 0 else size[i] for i in range(len(size)))
        if None in example:
            self.refuse(f'the input "{vi.name}" has a dimension of unknown size {dims}')
        self.ports[vi.name] = tuple("Varying" if d == "T" else d for d in example)
        return Value((None, vi.name), tuple(axes), example)

    def run(self, handlers: dict) -> None:
        for node in self.graph.node:
            self.node = node
            if node.domain not in ("", "ai.onnx"):
                self.refuse(f'the op domain "{node.domain}" is not ONNX\'s')
            if node.op_type not in handlers:
                self.refuse("netgraph has no layer for this op")
            ins = [self.env.get(x) if x else None for x in node.input]
            if any(x and x not in self.env for x in node.input):
                self.refuse("an input is not computed before the node")
            try:
                outs = handlers[node.op_type](self, node, ins)
            except Refused:
                raise
            except (ArithmeticError, LookupError, TypeError, ValueError) as e:
                self.refuse(f"cannot be read ({type(e).__name__}: {e})")
            for name, v in zip(node.output, outs):
                if name:
                    self.env[name] = v
        self.node = None


FLOATS = (1, 11)  # TensorProto.FLOAT, TensorProto.DOUBLE


def layouts(graph) -> dict:
    """The axes of the graph inputs that reach a recurrent op through Transposes: its X
    (T, B, k) or its initial states (1, B, n); and the inputs that only feed sequence_lens."""
    users: dict = {}
    for node in graph.node:
        for i, x in enumerate(node.input):
            if node.op_type != "Shape":
                users.setdefault(x, []).append((node, i))
    out = {}
    for vi in graph.input:
        uses = users.get(vi.name, [])
        if uses and all(n.op_type in RECURRENT and i == 4 for n, i in uses):
            out[vi.name] = LENGTHS
            continue
        perm = None
        while len(uses) == 1 and uses[0][0].op_type == "Transpose":
            p = [a.ints for a in uses[0][0].attribute if a.name == "perm"]
            p = list(p[0]) if p else None
            if p is None:
                break
            perm = p if perm is None else [perm[j] for j in p]
            uses = users.get(uses[0][0].output[0], [])
        if len(uses) == 1 and uses[0][0].op_type in RECURRENT:
            out[vi.name] = _at_recurrent(uses[0][1], perm)
    return {k: v for k, v in out.items() if v is not None}


RECURRENT = ("LSTM", "GRU", "RNN")


def _at_recurrent(i: int, perm):
    """The axes of an input that reaches input ``i`` of a recurrent op after ``perm``."""
    want = {0: (0, "B", 1), 5: ("1", "B", 0), 6: ("1", "B", 0)}.get(i)
    if want is None or perm is None or len(perm) != len(want):
        return want if perm is None else None
    axes = [None] * len(perm)
    for j, p in enumerate(perm):
        axes[p] = want[j]
    return tuple(axes)


# -- the net ---------------------------------------------------------------------------------------


def outputs(r: Reader) -> dict:
    """Graph output → the endpoint that gives it, each with its batch axis taken out."""
    out = {}
    for vi in r.graph.output:
        v = r.env.get(vi.name)
        if not isinstance(v, Value) or v.src[0] is None:
            r.refuse(f'the output "{vi.name}" is not computed by a layer')
        if v.order() != sorted(v.order()):
            r.refuse(f'the output "{vi.name}" would need its axes transposed')
        out[vi.name] = unit_axes(r, v, vi.name).src
    return out


def unit_axes(r: Reader, v: Value, name: str) -> Value:
    """``v`` with its unit axes made real (a ReshapeLayer), as the ONNX tensor has them."""
    if "1" not in v.axes:
        return v
    if "T" in v.dims:
        r.refuse(f'the output "{name}" is a sequence with a unit axis, which netgraph has not')
    dims = tuple(1 if a == "1" else v.dims[a] for a in v.axes if a != "B")
    layer = r.add(ReshapeLayer(dims), {"Input": v})
    return Value((layer, "Output"), ("B",) + tuple(range(len(dims))), dims)


def assemble(r: Reader, ends: dict):
    """A NetChain when the layers form a chain from one input to one output, else a NetGraph."""
    names = list(r.layers)
    chain = [((None, next(iter(r.ports))), (names[0], "Input"))] if len(r.ports) == 1 else []
    chain += [((a, "Output"), (b, "Input")) for a, b in zip(names, names[1:])]
    if len(ends) == 1 and r.edges == chain and next(iter(ends.values())) == (names[-1], "Output"):
        return NetChain([r.layers[k] for k in names], input=next(iter(r.ports.values())))
    edges = [(_port(s), _port(d)) for s, d in r.edges]
    edges += [(_port(src), NetPort(name)) for name, src in ends.items()]
    return NetGraph(dict(r.layers), edges, **r.ports)


def _port(end: tuple) -> NetPort:
    return NetPort(end[1]) if end[0] is None else NetPort(end[0], end[1])


def import_graph(model, path: str, handlers: dict):
    """The net of an ONNX model that netgraph did not write; ``handlers``: op type → the
    function that reads such a node (onnx_import_ops.py)."""
    r = Reader(model, path)
    r.inputs(layouts(r.graph))
    r.run(handlers)
    if not r.layers:
        r.refuse("has no op that netgraph computes")
    ends = outputs(r)
    try:
        return assemble(r, ends)
    except (TypeError, ValueError) as e:
        raise ValueError(f"import_onnx: {path}: the net read from it is refused: {e}") from None
