"""Shape inference: flatten a net to its leaf layers and meet types on every edge until nothing changes.

Every port of every layer and container is a node ``(path, port)``; a container's ports are
pass-through nodes, so nesting needs no special case. Layer type rules and edge unification
run in turn to a fixed point; a conflict is reported with both ends named.
"""

from __future__ import annotations

from dataclasses import dataclass

from .containers.graph import Container
from .layers.base import Layer
from .net import Net
from .types import Mismatch, TypeConflict, Unifier, describe, freshen


@dataclass
class Flat:
    """A net as leaf layers and edges between ``(path, port)`` endpoints."""

    net: Net
    leaves: dict[tuple, Layer]
    containers: dict[tuple, Container]
    edges: list[tuple[tuple, tuple]]


def flatten(net: Net, level: int | None = None) -> Flat:
    """The net's leaves and edges; with ``level``, containers deeper than that stay leaves."""
    leaves, containers, edges = {}, {}, []

    def walk(n: Net, path: tuple) -> None:
        if isinstance(n, Container) and (level is None or len(path) <= level):
            containers[path] = n
            for name, child in n.layers.items():
                walk(child, path + (name,))
            for (sa, sp), (da, dp) in n.edges:
                src = (path if sa is None else path + (sa,), sp)
                dst = (path if da is None else path + (da,), dp)
                edges.append((src, dst))
        else:
            leaves[path] = n

    walk(net, ())
    return Flat(net, leaves, containers, edges)


def trace(flat: Flat, incoming: dict, ep: tuple) -> tuple[tuple, bool]:
    """Follow the edges backwards from endpoint ``ep`` (``incoming``: destination → source):
    ``(leaf output, True)`` for the first leaf output reached, which produces the value (a
    port name may be both an input and an output of a layer, as "State" is), or
    ``(last endpoint, False)`` where the edges end without one."""
    while ep in incoming:
        ep = incoming[ep]
        if ep[0] in flat.leaves:
            return ep, True
    return ep, False


def where(flat: Flat, ep: tuple) -> str:
    """A person's name for an endpoint: 'port "Input" of layer "2" (LinearLayer)'."""
    path, port = ep
    node = flat.leaves.get(path) or flat.containers.get(path)
    kind = type(node).__name__
    if path == ():
        return (
            f'port "{port}" of the net'
            if isinstance(node, Container)
            else f'port "{port}" of the {kind}'
        )
    return (
        f'port "{port}" of {"layer" if path in flat.leaves else "net"} "{"/".join(path)}" ({kind})'
    )


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

    before = None
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
                    if (ends := _far_ends(flat, (path, p), p in layer.input_ports()))
                ]
                extra = f" ({'; '.join(feeds)})" if feeds else ""
                raise ValueError(f"{name}: {e}{extra}.") from None
            for p, t in new.items():
                types[(path, p)] = t
        for src, dst in flat.edges:
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


def _far_ends(flat: Flat, ep: tuple, backwards: bool) -> list:
    """The leaf ports (or top-level ports) that an endpoint is wired to, through containers."""
    ends, todo = [], [ep]
    while todo:
        e = todo.pop()
        nxt = [s if backwards else d for s, d in flat.edges if (d if backwards else s) == e]
        for n in nxt:
            if n[0] in flat.containers and n[0] != ():
                todo.append(n)
            else:
                ends.append(n)
        if not nxt and e != ep:
            ends.append(e)
    return ends


def rebuild(flat: Flat, types: dict, path: tuple = ()) -> Net:
    """The net again, with every port's type replaced by the inferred one."""
    node = flat.leaves.get(path) or flat.containers[path]
    ports = {p: types[(path, p)] for p in node.ports}
    if isinstance(node, Container):
        layers = {name: rebuild(flat, types, path + (name,)) for name in node.layers}
        return node._replace(layers=layers, ports=ports)
    return node._replace(ports=ports)


def infer_net(net: Net, given: dict | None = None) -> Net:
    """The net with every type inferred; ``given`` maps top-level port names to extra types."""
    flat = flatten(net)
    types = infer_types(flat, {((), p): t for p, t in (given or {}).items()})
    return rebuild(flat, types)
