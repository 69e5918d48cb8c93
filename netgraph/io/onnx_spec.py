"""netgraph's description of a net, kept in an ONNX model's metadata ("netgraph"), and the net
rebuilt from it.

The description is declarative JSON: for each layer its type name, validated options, port
shapes, array shapes and the initializers that hold its arrays; for each container its
layers, edges and port shapes; for an operator its inner nets, options and port shapes (a
bidirectional one's stacked W, R and B are split between its two layers on the way back).
Rebuilding is data only: layer types come from an allowlist,
option values are JSON values (tuples, slices and Wolfram's symbols tagged), and every layer
is made by its own constructor, which validates it.
"""

from __future__ import annotations

import json
import math

import numpy as np

from ..containers import NetBidirectionalOperator, NetChain, NetGraph
from ..layers.aggregation import AggregationLayer
from ..layers.convolution import ConvolutionLayer
from ..layers.linear import LinearLayer
from ..layers.recurrent import STATE_BIAS
from ..symbols import All, Automatic, NetPort, Restricted
from ..types import INTEGER, REAL, Index, Var
from .onnx_bidirectional import split_directions
from .onnx_recurrent import LAYERS, unpack

FORMAT, VERSION = "netgraph", 1
MAX_DEPTH = 32  # nested containers
SYMBOLS = {"All": All, "Automatic": Automatic}
PORT_KEYWORDS = {"Input": "input", "Output": "output", "Target": "target"}


# -- describing --------------------------------------------------------------------------------


def encode(v):
    """An option value as JSON: tuples, lists, dicts, slices and symbols tagged."""
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    if isinstance(v, (tuple, list)):
        return {type(v).__name__: [encode(x) for x in v]}
    if isinstance(v, dict):
        return {"dict": [[k, encode(x)] for k, x in v.items()]}
    if isinstance(v, slice):
        return {"slice": [encode(v.start), encode(v.stop)]}
    if v is All or v is Automatic:
        return {"symbol": repr(v)}
    raise TypeError(f"no JSON form for the option value {v!r}")


def shape_of(t) -> list:
    """A port type as a Wolfram shape spec: dims ("Varying" for a length), then the kind."""
    dims = ["Varying" if isinstance(d, Var) else d for d in t.dims]
    kind = ["Restricted", t.kind.n] if isinstance(t.kind, Index) else t.kind
    return dims + [kind]


def describe(net, weights: dict, path: tuple = ()) -> dict:
    """The description of ``net``; ``weights``: layer path → {role: initializer name}."""
    node = {"type": type(net).__name__, "ports": {p: shape_of(t) for p, t in net.ports.items()}}
    if net.is_operator:
        node["layers"] = {k: describe(c, weights, path + (k,)) for k, c in net.layers.items()}
        node["options"] = {k: encode(v) for k, v in net.construction_options().items()}
        node["onnx"] = weights.get(path, {})
    elif net.is_container:
        node["layers"] = {k: describe(c, weights, path + (k,)) for k, c in net.layers.items()}
        node["edges"] = [[list(s), list(d)] for s, d in net.edges]
    else:
        node["options"] = {k: encode(v) for k, v in net.options.items()}
        node["arrays"] = {k: list(a.shape) for k, a in net.arrays.items()}
        node["onnx"] = weights.get(path, {})
    if path:
        return node
    return {"format": FORMAT, "version": VERSION, "net": node}


# -- rebuilding ----------------------------------------------------------------------------------


class Malformed(ValueError):
    """The description is not one netgraph writes."""


def decode(v):
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    if isinstance(v, dict) and len(v) == 1:
        ((tag, x),) = v.items()
        if tag in ("tuple", "list") and isinstance(x, list):
            items = [decode(i) for i in x]
            return tuple(items) if tag == "tuple" else items
        if tag == "dict" and isinstance(x, list) and all(_pair(i) for i in x):
            return {k: decode(i) for k, i in x}
        if tag == "slice" and isinstance(x, list) and len(x) == 2:
            return slice(decode(x[0]), decode(x[1]))
        if tag == "symbol" and x in SYMBOLS:
            return SYMBOLS[x]
    raise Malformed(f"an option value {json.dumps(v)[:80]} is not one netgraph writes")


def _size(d) -> bool:
    return isinstance(d, int) and not isinstance(d, bool) and d >= 0


def _pair(i) -> bool:
    return isinstance(i, list) and len(i) == 2 and isinstance(i[0], str)


def port_spec(shape):
    """A described shape as the spec a constructor takes."""
    if not isinstance(shape, list) or not shape:
        raise Malformed(f"a port shape {shape!r} is not a list")
    *dims, kind = shape
    if isinstance(kind, list) and len(kind) == 2 and kind[0] == "Restricted":
        kind = Restricted("Integer", kind[1])
    elif kind not in (REAL, INTEGER):
        raise Malformed(f"a port kind {kind!r} is not one netgraph writes")
    if not all(d == "Varying" or (isinstance(d, int) and not isinstance(d, bool)) for d in dims):
        raise Malformed(f"a port shape {shape!r} has a dimension that is not a size")
    return tuple(dims) + (kind,)


def _fields(node, *names) -> list:
    if not isinstance(node, dict) or any(n not in node for n in names):
        raise Malformed(f"a net is described without {', '.join(names)}")
    return [node[n] for n in names]


def _kwargs(cls, options: dict) -> dict:
    """Constructor keywords from a layer's validated options (their names, with two forms)."""
    kw = dict(options)
    if cls in (LinearLayer, ConvolutionLayer) and "biases" in kw:
        kw["biases"] = Automatic if kw["biases"] else None
    if cls is AggregationLayer and isinstance(kw.get("levels"), tuple):
        kw["levels"] = list(kw["levels"])  # a list of levels (a tuple is a span)
    return kw


def _port_kwargs(ports: dict) -> dict:
    """The shapes of a bare layer's ports, as its constructor takes them."""
    kw = {PORT_KEYWORDS[p]: port_spec(s) for p, s in ports.items() if p in PORT_KEYWORDS}
    many = sorted(
        (p for p in ports if p.startswith("Input") and p[5:].isdigit()), key=lambda p: int(p[5:])
    )
    if many:
        kw["inputs"] = [port_spec(ports[p]) for p in many]
    return kw


def _arrays(cls, node: dict, tensors: dict) -> dict:
    """The layer's arrays, read from the initializers that ``node["onnx"]`` names."""
    shapes, roles = _fields(node, "arrays", "onnx")
    if not isinstance(shapes, dict) or not isinstance(roles, dict):
        raise Malformed("a layer's arrays are not described")
    found = {}
    for role, name in roles.items():
        if name not in tensors:
            raise Malformed(f'the initializer "{name}" that holds "{role}" is missing')
        found[role] = tensors[name]
    if cls in LAYERS.values():
        if set(found) != {"W", "R", "B"}:
            raise Malformed("a recurrent layer is described without its W, R and B")
        found = unpack(cls, found["W"], found["R"], found["B"], STATE_BIAS in shapes)
    out = {}
    for name, shape in shapes.items():
        if name not in found:
            raise Malformed(f'the array "{name}" is not in the graph')
        if not isinstance(shape, list) or not all(_size(d) for d in shape):
            raise Malformed(f'the array "{name}" has the shape {shape!r}, not a list of sizes')
        a = found[name]
        if a.size != math.prod(shape):
            raise Malformed(f'the array "{name}" has {a.size} elements, not the shape {shape}')
        out[name] = np.reshape(a, shape)
    return out


def _edges(edges) -> list:
    out = []
    for e in edges if isinstance(edges, list) else [None]:
        ends = e if isinstance(e, list) and len(e) == 2 else [None, None]
        ok = all(isinstance(x, list) and len(x) == 2 and isinstance(x[1], str) for x in ends)
        if not ok:
            raise Malformed(f"an edge {e!r} is not a pair of ports")
        out.append(tuple(NetPort(p) if a is None else NetPort(str(a), p) for a, p in ends))
    return out


def _bidirectional(node, ports: dict, layer_types: dict, tensors: dict, depth: int):
    layers, options = _fields(node, "layers", "options")
    if not isinstance(layers, dict) or not isinstance(options, dict):
        raise Malformed("an operator's nets or options are not described")
    split_directions(node, tensors)
    made = {k: build(c, layer_types, tensors, depth + 1) for k, c in layers.items()}
    specs = {p: port_spec(s) for p, s in ports.items()}
    options = {k: decode(v) for k, v in options.items()}
    return NetBidirectionalOperator.from_parts(made, options, specs)


def build(node, layer_types: dict, tensors: dict, depth: int = 0):
    """The net a description's node stands for (arrays from ``tensors``)."""
    kind, ports = _fields(node, "type", "ports")
    if depth > MAX_DEPTH or not isinstance(ports, dict):
        raise Malformed("the net is nested too deeply" if depth > MAX_DEPTH else "bad ports")
    if kind == "NetBidirectionalOperator":  # the one operator that exports
        return _bidirectional(node, ports, layer_types, tensors, depth)
    if kind in ("NetChain", "NetGraph"):
        (layers,) = _fields(node, "layers")
        if not isinstance(layers, dict):
            raise Malformed("a container's layers are not described")
        made = {k: build(c, layer_types, tensors, depth + 1) for k, c in layers.items()}
        specs = {p: port_spec(s) for p, s in ports.items()}
        if kind == "NetChain":
            return NetChain(made, **specs)
        return NetGraph(made, _edges(node.get("edges")), **specs)
    if kind not in layer_types:
        raise Malformed(f'the layer type "{kind}" is not one that netgraph exports to ONNX')
    cls = layer_types[kind]
    (options,) = _fields(node, "options")
    if not isinstance(options, dict):
        raise Malformed("a layer's options are not described")
    kw = _kwargs(cls, {k: decode(v) for k, v in options.items()})
    arrays = _arrays(cls, node, tensors)
    if arrays:
        kw["arrays"] = arrays
    if depth == 0:
        kw.update(_port_kwargs(ports))
    return cls(**kw)


def rebuild(text: str, layer_types: dict, tensors: dict):
    """The net described by ``text`` (the "netgraph" metadata), with its arrays."""
    try:
        desc = json.loads(text)
    except (ValueError, RecursionError) as e:
        raise Malformed(f"its description is not JSON ({e})") from None
    fmt, version, net = _fields(desc, "format", "version", "net")
    if fmt != FORMAT or not isinstance(version, int) or version > VERSION:
        raise Malformed(
            f"its description has version {version!r}; this netgraph reads version {VERSION}"
        )
    return build(net, layer_types, tensors)
