"""Shape inference: meet types on every wire of the flattened net until nothing changes.

Every port of every layer and container is a node ``(path, port)`` of the net's port graph
(see walk.py); a container's ports are pass-through nodes, so nesting needs no special case.
Layer type rules and wire unification run in turn to a fixed point; a conflict is reported
with both ends named.
"""

from __future__ import annotations

from .types import Mismatch, TypeConflict, Unifier, describe, freshen
from .walk import Flat, far_ends, flatten, where


def infer_types(flat: Flat, given: dict | None = None) -> dict:
    """Run type rules and wires to a fixed point; returns resolved types for every endpoint."""
    u = Unifier()
    types = _start(flat, given or {}, u)
    before, edges = None, flat.edges
    for _ in range(1000):
        _apply_rules(flat, types, u)
        _meet_wires(flat, edges, types, u)
        now = {k: u.resolve(t) for k, t in types.items()}
        if now == before:
            return now
        before = now
    raise RuntimeError("shape inference did not reach a fixed point")  # pragma: no cover


def _start(flat: Flat, given: dict, u: Unifier) -> dict:
    """Every endpoint's declared type (fresh length variables), met with the ``given`` ones."""
    types = {}
    for path, node in list(flat.leaves.items()) + list(flat.containers.items()):
        for p, t in freshen(node.ports).items():
            types[(path, p)] = t
    for ep, t in given.items():
        try:
            types[ep] = u.unify(types[ep], t)
        except Mismatch:
            raise ValueError(
                f"{where(flat, ep)} is {describe(types[ep])}; it cannot take {describe(t)}."
            ) from None
    return types


def _apply_rules(flat: Flat, types: dict, u: Unifier) -> None:
    """Each layer's type rule, once."""
    for path, layer in flat.leaves.items():
        cur = {p: u.resolve(types[(path, p)]) for p in layer.ports}
        try:
            new = layer.infer(cur, u)
        except TypeConflict as e:
            raise ValueError(_conflict(flat, path, layer, e)) from None
        for p, t in new.items():
            types[(path, p)] = t


def _meet_wires(flat: Flat, edges: list, types: dict, u: Unifier) -> None:
    """The two ends of every wire take one type."""
    for src, dst in edges:
        a, b = u.resolve(types[src]), u.resolve(types[dst])
        try:
            m = u.unify(a, b)
        except Mismatch:
            raise ValueError(
                f"Cannot connect {where(flat, src)} to {where(flat, dst)}: the first is "
                f"{describe(a)}, the second expects {describe(b)}. Change a layer's size or the "
                "port's shape so that they agree."
            ) from None
        types[src] = types[dst] = m


def _conflict(flat: Flat, path: tuple, layer, e: TypeConflict) -> str:
    """A layer's type-rule conflict, with what its ports are wired to."""
    name = f'layer "{"/".join(path)}" ({type(layer).__name__})' if path else type(layer).__name__
    named = [p for p in layer.ports if f'port "{p}"' in str(e)] or layer.input_ports()
    feeds = [
        f'port "{p}" {"receives" if p in layer.input_ports() else "feeds"} '
        + " and ".join(where(flat, x) for x in ends)
        for p in named
        if (ends := far_ends(flat, (path, p), p in layer.input_ports()))
    ]
    extra = f" ({'; '.join(feeds)})" if feeds else ""
    return f"{name}: {e}{extra}."


def rebuild(flat: Flat, types: dict, path: tuple = ()):
    """The net again, with every port's type replaced by the inferred one."""
    node = flat.leaves.get(path) or flat.containers[path]
    ports = {p: types[(path, p)] for p in node.ports}
    if node.is_operator:  # a leaf here: its inner nets take the types its ports imply
        return node.retyped(ports)
    if node.is_container:
        layers = {name: rebuild(flat, types, path + (name,)) for name in node.layers}
        return node._replace(layers=layers, ports=ports)
    return node._replace(ports=ports)


def infer_net(net, given: dict | None = None):
    """The net with every type inferred; ``given`` maps top-level port names to extra types."""
    flat = flatten(net, closed=True)
    types = infer_types(flat, {((), p): t for p, t in (given or {}).items()})
    return rebuild(flat, types)
