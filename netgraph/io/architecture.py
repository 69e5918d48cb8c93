"""A net's architecture as declarative JSON, and the net built again from it.

Every node of the spec tree is one JSON object, the same for every layer: its type name, its
construction options (``Layer.construction_options``), the types of all its ports, its
coders, and for each array the key of its tensor in the file (null while uninitialized). A
container holds its layers (a list of ``[name, node]``) and its edges instead of options
and arrays; an operator (NetMapOperator and the like) its inner nets as layers ("Net", or
"ForwardNet" and "BackwardNet") and its options:

    {"type": "LinearLayer", "options": {"n": {"tuple": [2]}, "biases": {"symbol": "Automatic"}},
     "ports": {"Input": {"dims": [3], "kind": "Real"}, "Output": {"dims": [2], "kind": "Real"}},
     "coders": {}, "arrays": {"Weights": "1/Weights", "Biases": "1/Biases"}}
    {"type": "NetGraph", "layers": [["1", {...}], ...], "edges": [[[null, "Input"], ["1", "Input"]], ...],
     "ports": {...}, "coders": {...}}

A net is built again by its own constructors, from these data only: the type name is looked up
in ``LAYER_TYPES`` (netgraph's layers and containers, nothing else), the options are
keyword arguments of that constructor, which checks them, and the ports and arrays go in as
the constructor takes them. The net built must describe itself exactly as the file does,
node by node, or the file is refused: so a net read back is the net that was written.
"""

from __future__ import annotations

import re

from .. import containers
from .. import layers as layer_types
from ..containers import NetChain, NetGraph
from ..layers import Layer
from ..net import Net
from ..symbols import NetPort
from ..text import closest, port_option
from .values import decode_coder, decode_type, decode_value, encode_coder, encode_type, encode_value

# The only types a file may name: netgraph's layers, containers and operators.
LAYER_TYPES: dict[str, type] = {
    **{name: getattr(layer_types, name) for name in layer_types.__all__ if name != "Layer"},
    **{name: getattr(containers, name) for name in containers.__all__},
}
MAX_NESTING = 64  # containers inside containers
LAYER_KEYS = {"type", "options", "ports", "coders", "arrays"}
CONTAINER_KEYS = {"type", "layers", "edges", "ports", "coders"}
OPERATOR_KEYS = {"type", "layers", "options", "ports", "coders"}


def array_key(path: tuple, name: str) -> str:
    """The tensor key of an array: its layer path and Wolfram name, as in "lstm/InputGateBiases"."""
    return "/".join(path + (name,))


def _where(path: tuple) -> str:
    return f'layer "{"/".join(path)}"' if path else "the net"


# -- net → JSON -------------------------------------------------------------------------------


def architecture(net: Net, path: tuple = ()) -> dict:
    """The JSON node of ``net`` (at ``path`` inside the exported net)."""
    kind = type(net).__name__
    where = f"{_where(path)} ({kind})"
    if LAYER_TYPES.get(kind) is not type(net):
        raise ValueError(
            f"Export: {where} is not one of netgraph's own layers, so a .ngnet file cannot "
            "describe it. Layers: " + ", ".join(LAYER_TYPES) + "."
        )
    node = {"type": kind}
    if net.is_container:
        node["layers"] = [[k, architecture(c, path + (k,))] for k, c in net.layers.items()]
    if net.is_container and not net.is_operator:
        node["edges"] = [[list(s), list(d)] for s, d in net.edges]
    else:
        options = net.construction_options()
        node["options"] = {k: encode_value(v, f"{where}: option {k}") for k, v in options.items()}
    node["ports"] = {p: encode_type(t) for p, t in net.ports.items()}
    node["coders"] = {p: encode_coder(c, f'{where}: port "{p}"') for p, c in net.coders.items()}
    if not net.is_container:
        node["arrays"] = {
            k: None if a is None else array_key(path, k) for k, a in net.arrays.items()
        }
    return node


# -- JSON → net -------------------------------------------------------------------------------


def build(node, arrays) -> Net:
    """The net a JSON node describes; ``arrays(key, where)`` gives the array stored under a
    tensor key. Raises ValueError, saying where, for anything the node does not allow."""
    net = _build(node, arrays, ())
    diff = first_difference(node, architecture(net))
    if diff is not None:
        where, field, theirs, built = diff
        raise ValueError(
            f'{where}: the file\'s "{field}" do not describe the net netgraph builds from '
            f"it: {theirs} in the file, {built} built."
        )
    return net


def _construct(where: str, make, *args, **kwargs):
    """``make(*args, **kwargs)``, a constructor given values from a file: its refusals
    (TypeError for a value of the wrong type) become ValueErrors that say where."""
    try:
        return make(*args, **kwargs)
    except (TypeError, ValueError, re.error) as e:
        raise ValueError(f"{where}: {e}") from None


def _node_type(node, path: tuple) -> type:
    if not isinstance(node, dict) or not isinstance(node.get("type"), str):
        raise ValueError(f'{_where(path)}: a node is a JSON object with a "type".')
    kind = node["type"]
    if kind not in LAYER_TYPES:
        raise ValueError(
            f'{_where(path)}: unknown layer type "{kind:.60}"{closest(kind, LAYER_TYPES)}. '
            "A .ngnet file holds netgraph's own layers only: " + ", ".join(LAYER_TYPES) + "."
        )
    cls = LAYER_TYPES[kind]
    want = OPERATOR_KEYS if cls.is_operator else CONTAINER_KEYS if cls.is_container else LAYER_KEYS
    if set(node) != want:
        raise ValueError(
            f"{_where(path)} ({kind}): the node has the fields {sorted(node)}; "
            f"expected {sorted(want)}."
        )
    for k in [k for k in ("ports", "coders", "options", "arrays") if k in want]:  # objects
        if not isinstance(node[k], dict):
            raise ValueError(f'{_where(path)} ({kind}): "{k}" must be a JSON object.')
    return cls


def _build(node, arrays, path: tuple) -> Net:
    if len(path) > MAX_NESTING:
        raise ValueError(f"{_where(path)}: nets nested more than {MAX_NESTING} levels deep.")
    cls = _node_type(node, path)
    where = f"{_where(path)} ({cls.__name__})"
    given = {p: decode_type(t, f'{where}: port "{p}"') for p, t in node["ports"].items()}
    given.update({p: decode_coder(c, f'{where}: port "{p}"') for p, c in node["coders"].items()})
    if cls.is_container:
        return _container(cls, node, given, arrays, path)
    return _layer(cls, node, given, arrays, where)


def _layer(cls: type, node: dict, given: dict, arrays, where: str) -> Layer:
    params = cls.option_defaults()
    ports = {port_option(p): spec for p, spec in given.items()}
    options = {}
    for k, v in node["options"].items():
        if k not in params or k in ports or k == "arrays":
            raise ValueError(f'{where}: unknown option "{k:.40}"{closest(k, params)}.')
        options[k] = decode_value(v, f"{where}: option {k}")
    kwargs = {**options, **{k: v for k, v in ports.items() if k in params}}
    if cls.variadic:
        kwargs["inputs"] = _variadic_inputs(options.get("inputs"), given, where)
    stored = {}
    for name, key in node["arrays"].items():
        if key is not None:
            stored[name] = arrays(key, f'{where}: array "{name:.40}"')
    if stored or "arrays" in params:
        kwargs["arrays"] = stored
    return _construct(where, cls, **kwargs)


def _variadic_inputs(n, given: dict, where: str):
    """A variadic layer's ``inputs=``: the types of its n input ports, or None."""
    if n is None:
        return None
    names = [f"Input{i + 1}" for i in range(n)] if _count(n, len(given)) else []
    if not names or any(p not in given for p in names):
        raise ValueError(
            f'{where}: option "inputs" must count the "InputN" ports; it is {n!r:.40}.'
        )
    return [given[p] for p in names]


def _count(n, most: int) -> bool:
    return isinstance(n, int) and not isinstance(n, bool) and 1 <= n <= most


def _container(cls: type, node: dict, given: dict, arrays, path: tuple) -> Net:
    where = f"{_where(path)} ({cls.__name__})"
    layers = {}
    entries = node["layers"]
    if not isinstance(entries, list) or not entries:
        raise ValueError(f'{where}: "layers" must be a non-empty list of [name, node].')
    for entry in entries:
        if not (isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], str)):
            raise ValueError(f"{where}: each layer is [name, node].")
        name, child = entry
        if name in layers:
            raise ValueError(f'{where}: the layer name "{name:.40}" appears twice.')
        layers[name] = _build(child, arrays, path + (name,))
    specs = {p: s for p, s in given.items() if p not in ("layers", "edges", "input", "output")}
    if cls.is_operator:
        options = {k: decode_value(v, f"{where}: option {k}") for k, v in node["options"].items()}
        return _construct(where, cls.from_parts, layers, options, specs)
    if cls is NetChain:
        return _construct(where, NetChain, layers, **specs)
    return _construct(where, NetGraph, layers, _edges(node["edges"], where), **specs)


def _endpoint(e, where: str) -> NetPort:
    if not (isinstance(e, list) and len(e) == 2 and isinstance(e[1], str)):
        raise ValueError(f"{where}: an edge end is [layer name or null, port name].")
    if e[0] is None:
        return NetPort(e[1])
    if not isinstance(e[0], str):
        raise ValueError(f"{where}: an edge end names a layer by a string.")
    return NetPort(e[0], e[1])


def _edges(edges, where: str) -> list:
    if not isinstance(edges, list):
        raise ValueError(f'{where}: "edges" must be a list of [from, to].')
    out = []
    for e in edges:
        if not (isinstance(e, list) and len(e) == 2):
            raise ValueError(f"{where}: an edge is [from, to].")
        out.append((_endpoint(e[0], where), _endpoint(e[1], where)))
    return out


# -- the net built against its node ------------------------------------------------------------


def first_difference(a: dict, b: dict, path: tuple = ()) -> tuple | None:
    """Where two architectures first differ: (the layer in words, the field, its value in
    ``a``, its value in ``b``, both shortened for a message), or None when they are equal."""
    for k in sorted((CONTAINER_KEYS | LAYER_KEYS | OPERATOR_KEYS) - {"layers"}):
        if a.get(k) != b.get(k):
            return f"{_where(path)} ({a.get('type')!s:.60})", k, _short(a.get(k)), _short(b.get(k))
    layers_a, layers_b = a.get("layers") or [], b.get("layers") or []
    if [n for n, _ in layers_a] != [n for n, _ in layers_b]:
        names = [[n for n, _ in x] for x in (layers_a, layers_b)]
        return f"{_where(path)} ({a.get('type')})", "layers", _short(names[0]), _short(names[1])
    for (name, x), (_, y) in zip(layers_a, layers_b):
        found = first_difference(x, y, path + (name,))
        if found is not None:
            return found
    return None


def _short(v) -> str:
    s = repr(v)
    return s if len(s) <= 200 else s[:200] + " …"
