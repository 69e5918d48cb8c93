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
    """Run type rules and edges to a fixed point; returns resolved types for every endpoint."""
    u = Unifier()
    types = {}
    for path, node in list(flat.leaves.items()) + list(flat.containers.items()):
        for p, t in freshen(node.ports).items():
            types[(path, p)] = t
    for ep, t in (given or {}).items():
        try:
            types[ep] = u.unify(types[ep], t)
        except Mismatch:
            raise ValueError(
                f"{where(flat, ep)} is {describe(types[ep])}; it cannot take {describe(t)}."
            ) from None

    def snapshot():
        return {k: u.resolve(t) for k, t in types.items()}

    before, edges = None, flat.edges
    for _ in range(1000):
        for path, layer in flat.leaves.items():
            cur = {p: u.resolve(types[(path, p)]) for p in layer.ports}
            try:
                new = layer.infer(cur, u)
            except TypeConflict as e:
                name = (
                    f'layer "{"/".join(path)}" ({type(layer).__name__})'
                    if path
                    else type(layer).__name__
                )
                named = [p for p in layer.ports if f'port "{p}"' in str(e)] or layer.input_ports()
                feeds = [
                    f'port "{p}" {"receives" if p in layer.input_ports() else "feeds"} '
                    + " and ".join(where(flat, x) for x in ends)
                    for p in named
                    if (ends := far_ends(flat, (path, p), p in layer.input_ports()))
                ]
                extra = f" ({'; '.join(feeds)})" if feeds else ""
                raise ValueError(f"{name}: {e}{extra}.") from None
            for p, t in new.items():
                types[(path, p)] = t
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
        now = snapshot()
        if now == before:
            return now
        before = now
    raise RuntimeError("shape inference did not reach a fixed point")  # pragma: no cover


def rebuild(flat: Flat, types: dict, path: tuple = ()):
    """The net again, with every port's type replaced by the inferred one."""
    node = flat.leaves.get(path) or flat.containers[path]
    ports = {p: types[(path, p)] for p in node.ports}
    if node.is_container:
        layers = {name: rebuild(flat, types, path + (name,)) for name in node.layers}
        return node._replace(layers=layers, ports=ports)
    return node._replace(ports=ports)


def infer_net(net, given: dict | None = None):
    """The net with every type inferred; ``given`` maps top-level port names to extra types."""
    flat = flatten(net)
    types = infer_types(flat, {((), p): t for p, t in (given or {}).items()})
    return rebuild(flat, types)
