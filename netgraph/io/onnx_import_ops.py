"""How each ONNX op is read into netgraph (onnx_import.py says what a tensor stands for).

A handler takes the reader, the node and its inputs (``np.ndarray`` constants, ``Dims``,
``Zeros``, ``Value``s, or None where an optional input is absent) and returns its outputs.
Ops on constants are computed here, within a bound on their size; ops on Values become
layers; anything else is refused, naming what netgraph lacks.
"""

from __future__ import annotations

import math

import numpy as np

from ..containers import NetBidirectionalOperator
from ..layers.combine import CatenateLayer, ThreadingLayer
from ..layers.elementwise import ElementwiseLayer
from ..layers.linear import LinearLayer
from ..layers.sequence import SequenceLastLayer
from ..layers.shape import ReshapeLayer
from ..layers.softmax import SoftmaxLayer
from .onnx_graph import helper
from .onnx_import import LENGTHS, Dims, Value, Zeros
from .onnx_import_convolution import HANDLERS as WINDOW_HANDLERS
from .onnx_read import to_array
from .onnx_recurrent import layer_from_node

MAX_FOLDED = 1 << 24  # elements of a constant computed during import

# ONNX op → (Wolfram's function, the attributes it must have: name → (value, ONNX default))
_SELU_A, _SELU_L = 1.6732632423543772, 1.0507009873554805
UNARY = {
    "Relu": ("Ramp", {}),
    "Tanh": ("Tanh", {}),
    "Sigmoid": ("LogisticSigmoid", {}),
    "Softsign": ("SoftSign", {}),
    "HardSigmoid": ("HardSigmoid", {"alpha": (0.2, 0.2), "beta": (0.5, 0.5)}),
    "Elu": ("ELU", {"alpha": (1.0, 1.0)}),
    "Selu": (
        "SELU",
        {
            "alpha": (_SELU_A, 1.67326319217681884765625),
            "gamma": (_SELU_L, 1.05070102214813232421875),
        },
    ),
    "Exp": ("Exp", {}),
    "Log": ("Log", {}),
    "Sqrt": ("Sqrt", {}),
    "Abs": ("Abs", {}),
    "Sin": ("Sin", {}),
    "Cos": ("Cos", {}),
}
BINARY = {
    "Add": ("Plus", np.add),
    "Sub": ("Subtract", np.subtract),
    "Mul": ("Times", np.multiply),
    "Div": ("Divide", np.divide),
}


def _fits(r, shape) -> None:
    if math.prod(shape) > MAX_FOLDED:
        r.refuse(f"computes a constant of shape {tuple(shape)}, larger than netgraph reads")


def _ints(r, x, what: str) -> list:
    return [int(i) for i in np.asarray(r.const(x, what)).reshape(-1)]


def _axes(r, node, ins, i: int = 1):
    """The axes of Squeeze, Unsqueeze and the like: an attribute before opset 13, an input after."""
    attrs = r.attrs(node)
    if "axes" in attrs:
        return list(attrs["axes"])
    return None if len(ins) <= i or ins[i] is None else _ints(r, ins[i], "axes")


def _norm(a: int, rank: int) -> int:
    return a + rank if a < 0 else a


# -- constants, shapes and zeros -------------------------------------------------------------------


def constant(r, node, ins):
    attrs = r.attrs(node)
    if "value" in attrs:
        return [to_array(attrs["value"], r.path)]
    for key, dtype in (
        ("value_float", np.float32),
        ("value_floats", np.float32),
        ("value_int", np.int64),
        ("value_ints", np.int64),
    ):
        if key in attrs:
            return [np.asarray(attrs[key], dtype)]
    return r.refuse("holds a kind of constant that netgraph does not read")


def identity(r, node, ins):
    return [ins[0]] + [None] * (len(node.output) - 1)


def dropout(r, node, ins):
    """The identity, as in inference; a graph that asks for training mode is refused."""
    if len(ins) > 2 and ins[2] is not None and np.any(r.const(ins[2], "training_mode")):
        r.refuse("runs in training mode (training_mode is true)")
    return identity(r, node, ins)


def cast(r, node, ins):
    to = helper.tensor_dtype_to_np_dtype(r.attrs(node)["to"])
    x = ins[0]
    if isinstance(x, np.ndarray):
        return [x.astype(to)]
    if isinstance(x, Value) and to.kind != "f":
        r.refuse(f"casts a computed value to {to}; netgraph computes reals")
    return [x]


def shape(r, node, ins):
    x, attrs = ins[0], r.attrs(node)
    if isinstance(x, np.ndarray):
        entries = x.shape
    elif isinstance(x, Value):
        entries = tuple(a if a == "B" else 1 if a == "1" else x.dims[a] for a in x.axes)
    else:
        return r.refuse("takes the shape of a tensor whose shape is not known")
    return [Dims(entries[slice(attrs.get("start"), attrs.get("end"))])]


def _dims_as_array(x):
    return np.asarray(x.entries, object) if isinstance(x, Dims) else x


def gather(r, node, ins):
    x, idx = ins
    axis = r.attrs(node).get("axis", 0)
    idx = r.const(idx, "the indices")
    if isinstance(x, Value):
        return [sequence_last(r, x, idx, axis)]
    if isinstance(x, Dims) and axis == 0:
        picked = np.asarray(x.entries, object)[idx]
        return [Dims(tuple(np.atleast_1d(picked)), scalar=idx.ndim == 0)]
    x = r.const(x, "the data")
    _fits(r, x.shape[:axis] + idx.shape + x.shape[axis + 1 :])
    return [np.take(x, idx, axis=axis)]


def unsqueeze(r, node, ins):
    x, axes = ins[0], _axes(r, node, ins)
    if isinstance(x, Dims) and x.scalar and axes == [0]:
        return [Dims(x.entries)]
    if isinstance(x, Value):
        out = list(x.axes)
        for a in sorted(_norm(a, len(out) + len(axes)) for a in axes):
            out.insert(a, "1")
        return [Value(x.src, tuple(out), x.dims)]
    if isinstance(x, Zeros):
        return [x]
    return [np.expand_dims(r.const(x, "the data"), tuple(axes))]


def squeeze(r, node, ins):
    x, axes = ins[0], _axes(r, node, ins)
    if isinstance(x, Value):
        axes = [_norm(a, len(x.axes)) for a in (axes or range(len(x.axes)))]
        if any(x.axes[a] != "1" for a in axes):
            r.refuse("squeezes an axis that netgraph's value does not have as a unit axis")
        return [Value(x.src, tuple(a for i, a in enumerate(x.axes) if i not in axes), x.dims)]
    if isinstance(x, Zeros):
        return [x]
    x = r.const(x, "the data")
    return [np.squeeze(x, None if axes is None else tuple(axes))]


def concat(r, node, ins):
    axis = r.attrs(node)["axis"]
    if all(isinstance(x, Value) for x in ins):
        return [join_units(r, ins, axis)]
    if any(isinstance(x, Dims) for x in ins) and axis == 0:
        return [Dims(tuple(e for x in ins for e in np.atleast_1d(_dims_as_array(x))))]
    arrays = [r.const(x, "every input") for x in ins]
    return [np.concatenate(arrays, axis=axis)]


def constant_of_shape(r, node, ins):
    value = r.attrs(node).get("value")
    fill = 0.0 if value is None else to_array(value, r.path).reshape(-1)[0]
    if isinstance(ins[0], Dims):
        if fill != 0:
            r.refuse("fills a tensor of the batch's shape with a value other than zero")
        return [Zeros()]
    dims = _ints(r, ins[0], "the shape")
    _fits(r, dims)
    return [np.full(dims, fill)]


def _cuts(r, node, ins) -> list:
    """(axis, slice) of each axis a Slice cuts: its inputs (opset ≥ 10) or attributes."""
    attrs = r.attrs(node)
    if "starts" in attrs:
        starts, ends, axes, steps = attrs["starts"], attrs["ends"], attrs.get("axes"), None
    else:
        more = ins + [None] * (5 - len(ins))
        starts, ends = _ints(r, more[1], "starts"), _ints(r, more[2], "ends")
        axes = None if more[3] is None else _ints(r, more[3], "axes")
        steps = None if more[4] is None else _ints(r, more[4], "steps")
    axes = list(axes or range(len(starts)))
    steps = list(steps or [1] * len(starts))
    return [(a, slice(s, e, t)) for a, s, e, t in zip(axes, starts, ends, steps)]


def slice_(r, node, ins):
    x = ins[0]
    if isinstance(x, Zeros):
        return [x]
    cuts = _cuts(r, node, ins)
    if isinstance(x, Value):
        return [whole_unit(r, x, cuts)]
    x = _dims_as_array(x) if isinstance(x, Dims) else r.const(x, "the data")
    index = [slice(None)] * x.ndim
    for a, cut in cuts:
        index[a] = cut
    out = x[tuple(index)]
    return [Dims(tuple(out)) if out.dtype == object else out]


def whole_unit(r, x: Value, cuts: list) -> Value:
    """A Slice that keeps all of unit axes (as PyTorch's exporter takes a layer's state)."""
    for a, cut in cuts:
        whole = cut.start == 0 and cut.stop >= 1 and cut.step == 1
        if x.axes[_norm(a, len(x.axes))] != "1" or not whole:
            r.refuse("slices a computed value, which netgraph has no layer for")
    return x


def expand(r, node, ins):
    if isinstance(ins[0], Zeros):
        return [ins[0]]
    x, dims = r.const(ins[0], "the data"), _ints(r, ins[1], "the shape")
    out = np.broadcast_shapes(x.shape, tuple(dims))
    _fits(r, out)
    return [np.broadcast_to(x, out).copy()]


def transpose(r, node, ins):
    x = ins[0]
    perm = r.attrs(node).get("perm")
    if isinstance(x, Value):
        perm = perm or list(reversed(range(len(x.axes))))
        return [Value(x.src, tuple(x.axes[p] for p in perm), x.dims)]
    return [np.transpose(r.const(x, "the data"), perm)]


def reshape(r, node, ins):
    if isinstance(ins[0], Value):
        return [merge_directions(r, ins[0], _ints(r, ins[1], "the shape"))]
    x, dims = r.const(ins[0], "the data"), _ints(r, ins[1], "the shape")
    dims = [x.shape[i] if d == 0 else d for i, d in enumerate(dims)]
    return [x.reshape(dims)]


def arithmetic(r, node, ins):
    a, b = ins
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        _fits(r, np.broadcast_shapes(a.shape, b.shape))
        return [BINARY[node.op_type][1](a, b)]
    if isinstance(a, Value) and isinstance(b, Value):
        return [threading(r, node.op_type, a, b)]
    if node.op_type == "Add" and isinstance(a, Value | np.ndarray):
        v, c, name = (a, b, node.input[0]) if isinstance(a, Value) else (b, a, node.input[1])
        if isinstance(v, Value) and isinstance(c, np.ndarray):
            return [add_biases(r, v, c, name)]
    return r.refuse("combines a computed value with a constant, which netgraph has no layer for")


def neg(r, node, ins):
    return [np.negative(r.const(ins[0], "the data"))]


# -- layers ---------------------------------------------------------------------------------------


def _last_axis(r, x: Value, axis: int, what: str) -> None:
    """Refuse unless ONNX axis ``axis`` is the last dimension of the example."""
    if x.axes[_norm(axis, len(x.axes))] != len(x.dims) - 1:
        r.refuse(
            f"{what} an axis that is not the last of the example; netgraph's layers act on the last"
        )


def gemm(r, node, ins):
    a, w, c = (ins + [None])[:3]
    attrs = r.attrs(node)
    if attrs.get("alpha", 1.0) != 1.0 or attrs.get("beta", 1.0) != 1.0 or attrs.get("transA"):
        r.refuse("has alpha ≠ 1, beta ≠ 1 or transA; netgraph reads y = x·Wᵀ + b")
    if not isinstance(a, Value) or len(a.axes) != 2:
        r.refuse("multiplies something other than a batch of vectors")
    w = r.const(w, "B")
    w = w if attrs.get("transB") else w.T
    b = None if c is None else r.const(c, "C").reshape(-1)
    return [linear(r, a, w, b)]


def matmul(r, node, ins):
    a, w = ins
    if not isinstance(a, Value) or not isinstance(w, np.ndarray) or w.ndim != 2:
        r.refuse("multiplies other than a computed value by a constant matrix")
    _last_axis(r, a, -1, "multiplies along")
    out = linear(r, a, w.T, None)
    r.open_biases[node.output[0]] = out.src[0]
    return [out]


def linear(r, x: Value, W: np.ndarray, b) -> Value:
    if W.shape[1] != x.dims[-1]:
        r.refuse(f"multiplies vectors of size {x.dims[-1]} by weights of shape {W.shape}")
    if b is not None and b.size != W.shape[0]:
        r.refuse(f"adds biases of size {b.size} to {W.shape[0]} outputs")
    layer = LinearLayer(W.shape[0], weights=W, biases=b)
    name = r.add(layer, {"Input": x})
    return Value((name, "Output"), x.axes, x.dims[:-1] + (W.shape[0],))


def add_biases(r, x: Value, c: np.ndarray, tensor: str) -> Value:
    """Add after MatMul: the biases of the linear layer that MatMul made."""
    name = r.open_biases.pop(tensor, None)
    if (
        name is None
        or r.uses.get(tensor) != 1
        or c.size != x.dims[-1]
        or (c.ndim and c.shape[-1] != c.size)
    ):
        r.refuse(
            "adds a constant to a value other than a matrix product's, which netgraph "
            "has no layer for"
        )
    W = r.layers[name].arrays["Weights"]
    r.replace(name, LinearLayer(W.shape[0], weights=W, biases=c.reshape(-1)))
    return x


def threading(r, op: str, a: Value, b: Value) -> Value:
    if a.axes != b.axes or a.dims != b.dims:
        r.refuse("combines two values of different shapes or axes")
    name = r.add(ThreadingLayer(BINARY[op][0]), {"Input1": a, "Input2": b})
    return Value((name, "Output"), a.axes, a.dims)


def unary(r, node, ins):
    x = ins[0]
    if not isinstance(x, Value):
        r.refuse("applies a function to something netgraph does not compute")
    function, wanted = UNARY[node.op_type]
    attrs = r.attrs(node)
    for key, (value, default) in wanted.items():
        if np.float32(attrs.get(key, default)) != np.float32(value):
            r.refuse(
                f"has {key}={attrs.get(key, default):g}; netgraph's {function} has {key}={value:g}"
            )
    name = r.add(ElementwiseLayer(function), {"Input": x})
    return [Value((name, "Output"), x.axes, x.dims)]


def softmax(r, node, ins):
    x = ins[0]
    if not isinstance(x, Value):
        r.refuse("applies softmax to something netgraph does not compute")
    axis = r.attrs(node).get("axis", -1 if r.opset >= 13 else 1)
    if r.opset < 13 and _norm(axis, len(x.axes)) != len(x.axes) - 1:
        r.refuse(f"(opset {r.opset}) flattens the axes from {axis} on before its softmax")
    _last_axis(r, x, axis, "normalizes along")
    name = r.add(SoftmaxLayer(), {"Input": x})
    return [Value((name, "Output"), x.axes, x.dims)]


def sequence_last(r, x: Value, idx: np.ndarray, axis: int) -> Value:
    """Gather of the last step (index −1 on the steps' axis): SequenceLastLayer."""
    axis = _norm(axis, len(x.axes))
    last = x.dims[0] - 1 if isinstance(x.dims[0], int) else -1
    if x.axes[axis] != 0 or idx.ndim != 0 or int(idx) not in (-1, last):
        r.refuse("picks elements of a computed value other than its last step")
    name = r.add(SequenceLastLayer(), {"Input": x})
    axes = tuple(a - 1 if isinstance(a, int) else a for i, a in enumerate(x.axes) if i != axis)
    return Value((name, "Output"), axes, x.dims[1:])


def merge_directions(r, x: Value, shape: list) -> Value:
    """The Reshape that joins a bidirectional node's two directions, (…, "dir", ("half", k))
    → (…, k), as PyTorch writes it after a Transpose: the value is the operator's own
    catenated output. Any other Reshape of a computed value is refused."""
    i = next(
        (j for j, a in enumerate(x.axes[:-1]) if a == "dir" and isinstance(x.axes[j + 1], tuple)),
        None,
    )
    joined = None if i is None else x.dims[x.axes[i + 1][1]]
    # every other axis copied (0), the pair joined into one of the catenated size (or −1)
    if (
        i is None
        or len(shape) != len(x.axes) - 1
        or shape[i] not in (-1, joined)
        or any(d != 0 for j, d in enumerate(shape) if j != i)
    ):
        r.refuse("reshapes a computed value, which netgraph has no layer for")
    axes = x.axes[:i] + (x.axes[i + 1][1],) + x.axes[i + 2 :]
    return Value(x.src, axes, x.dims)


def join_units(r, xs: list, axis: int) -> Value:
    """Concat along a unit axis (PyTorch's final states of stacked layers): each value
    reshaped with that axis, then a CatenateLayer; along an axis the values have (the
    final states of stacked bidirectional layers), a CatenateLayer alone."""
    x = xs[0]
    axis = _norm(axis, len(x.axes))
    if isinstance(x.axes[axis], int) and all(v.axes == x.axes for v in xs):
        return _join_along(r, xs, x.axes[axis])
    ok = all(v.axes == x.axes and v.dims == x.dims for v in xs) and x.axes[axis] == "1"
    if not ok or "T" in x.dims or x.order() != sorted(x.order()):
        r.refuse("joins computed values other than along a unit axis")
    p = sum(isinstance(a, int) for a in x.axes[:axis])
    unit = tuple(x.dims[:p]) + (1,) + tuple(x.dims[p:])
    parts = [Value((r.add(ReshapeLayer(unit), {"Input": v}), "Output"), (), unit) for v in xs]
    ins = {f"Input{i + 1}": v for i, v in enumerate(parts)}
    name = r.add(CatenateLayer(p + 1, inputs=len(xs)), ins)

    def shifted(a):
        return a + 1 if isinstance(a, int) and a >= p else a

    axes = tuple(p if i == axis else shifted(a) for i, a in enumerate(x.axes))
    return Value((name, "Output"), axes, unit[:p] + (len(xs),) + unit[p + 1 :])


def _join_along(r, xs: list, k: int) -> Value:
    sizes = [v.dims[k] for v in xs]
    if not all(isinstance(d, int) for d in sizes) or any(v.dims[:k] != xs[0].dims[:k] for v in xs):
        r.refuse("joins computed values of different shapes")
    ins = {f"Input{i + 1}": v for i, v in enumerate(xs)}
    name = r.add(CatenateLayer(k + 1, inputs=len(xs)), ins)
    dims = xs[0].dims[:k] + (sum(sizes),) + xs[0].dims[k + 1 :]
    return Value((name, "Output"), xs[0].axes, dims)


def bidirectional(r, node, x: Value, weights: tuple, states: list):
    """An LSTM, GRU or RNN node with direction=bidirectional: a NetBidirectionalOperator of
    the two directions' layers. Y (T, 2, B, n) is the operator's catenated output seen with a
    direction axis; Y_h and Y_c (2, B, n) join the two final states, when something reads them."""
    if any(not _zero(r, v) for v in states):
        r.refuse("takes initial states of a bidirectional node, which netgraph does not read")
    attrs = dict(r.attrs(node))
    attrs["direction"] = b"forward"
    for key in ("activations", "activation_alpha", "activation_beta"):
        if key in attrs:
            attrs[key] = list(attrs[key])[: len(attrs[key]) // 2]
    W, R, B = weights
    halves = [
        layer_from_node(
            node.op_type,
            attrs,
            (W[d : d + 1], R[d : d + 1], None if B is None else B[d : d + 1]),
            r.refuse,
        )
        for d in (0, 1)
    ]
    name = r.add(NetBidirectionalOperator(halves), {"Input": x})
    n = R.shape[-1]
    out = [Value((name, "Output"), (0, "dir", "B", ("half", 1)), (x.dims[0], 2 * n))]
    used = set(r.uses) | {o.name for o in r.graph.output}
    for i, p in enumerate(halves[0].state_ports):
        if (node.output[1 + i] if len(node.output) > 1 + i else "") in used:
            parts = [Value((name, d + p), ("1", "B", 0), (n,)) for d in ("Forward", "Backward")]
            out.append(join_units(r, parts, 0))
        else:
            out.append(None)
    return out


def recurrent(r, node, ins):
    """LSTM, GRU and RNN: X (T, B, k); sequence_lens from a graph input or absent; initial
    states zero or (1, B, n) values; Y (T, 1, B, n), Y_h and Y_c (1, B, n)."""
    ins = ins + [None] * (8 - len(ins))
    x, W, R, B, lens, h0, c0, P = ins
    if P is not None:
        r.refuse("has peepholes (input P), which netgraph's LSTM does not")
    if not isinstance(x, Value) or x.axes != (0, "B", 1):
        r.refuse("reads an input X that is not a time-major batch of sequences (T, B, k)")
    if lens is not None and lens is not LENGTHS:
        r.refuse("takes sequence_lens from something other than a graph input")
    weights = (r.const(W, "W"), r.const(R, "R"), None if B is None else r.const(B, "B"))
    if r.attrs(node).get("direction") in (b"bidirectional", "bidirectional"):
        return bidirectional(r, node, x, weights, [h0, c0])
    layer = layer_from_node(node.op_type, r.attrs(node), weights, r.refuse)
    states = {p: v for p, v in zip(layer.state_ports, (h0, c0)) if not _zero(r, v)}
    for p, v in states.items():
        if not isinstance(v, Value) or v.axes != ("1", "B", 0):
            r.refuse(f"takes its initial {p} from something other than a (1, B, n) input")
    name = r.add(layer, {"Input": x, **states})
    n = layer.arrays[layer.op_class.names[0][1]].shape[0]
    out = [Value((name, "Output"), (0, "1", "B", 1), (x.dims[0], n))]
    return out + [Value((name, p), ("1", "B", 0), (n,)) for p in layer.state_ports]


def _zero(r, v) -> bool:
    if v is None or isinstance(v, Zeros):
        return True
    return isinstance(v, np.ndarray) and not np.any(v)


HANDLERS = {
    "Constant": constant,
    "Identity": identity,
    "Dropout": dropout,
    "Cast": cast,
    "Shape": shape,
    "Gather": gather,
    "Unsqueeze": unsqueeze,
    "Squeeze": squeeze,
    "Concat": concat,
    "ConstantOfShape": constant_of_shape,
    "Slice": slice_,
    "Expand": expand,
    "Transpose": transpose,
    "Reshape": reshape,
    "Neg": neg,
    **dict.fromkeys(BINARY, arithmetic),
    **dict.fromkeys(UNARY, unary),
    "Gemm": gemm,
    "MatMul": matmul,
    "Softmax": softmax,
    "LSTM": recurrent,
    "GRU": recurrent,
    "RNN": recurrent,
    **WINDOW_HANDLERS,
}
