"""Walking a spec tree: a net flattened to its leaf layers and one port-level graph.

Every port of every layer and container is a node ``(path, port)``: ``path`` is the tuple of
layer names from the top (``()`` for the net itself). Each container carries its own
port-level networkx graph (built once, in ``containers/graph.py``, from its wires, which it
also keeps in order as ``edges``); ``flatten`` joins them into one graph whose edges are the
wires (a value flows from one port to another), and lists the wires in the containers' order
(inner containers first) so that every walk over them is deterministic. A nested
container's ports are pass-through nodes, so nesting needs no special case anywhere.
Questions about layers rather than ports (order, cycles, ancestors) are asked of
``units_graph``, the port graph with each layer's ports merged into one node.

Specs are read through their shared attributes (``is_container``, ``layers``, ``graph``,
``ports``, ``state_ports``), so this stage imports none of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx

from .symbols import NetPort


@dataclass
class Flat:
    """A net as leaf layers, the containers around them, and the joined port graph."""

    net: object
    leaves: dict[tuple, object]
    containers: dict[tuple, object]
    graph: nx.DiGraph = field(repr=False)
    edges: list[tuple[tuple, tuple]] = field(repr=False)  # the wires, in the containers' order

    def wired_from(self, ep: tuple) -> tuple | None:
        """The endpoint wired into ``ep``, or None (a port takes at most one wire)."""
        return next(iter(self.graph.pred[ep]), None) if ep in self.graph else None

    def wired_to(self, ep: tuple) -> list[tuple]:
        """The endpoints that ``ep`` is wired into."""
        return list(self.graph.succ[ep]) if ep in self.graph else []


def flatten(net, level: int | None = None, *, closed: bool = False) -> Flat:
    """The net's leaves and joined port graph; with ``level``, containers deeper than that
    stay leaves. An operator (``is_operator``: NetMapOperator and the like) is a container
    whose inner nets hold arrays, but no wire joins its ports to theirs; with ``closed`` it
    is a leaf, as inference, the plan and the list of recurrent states see it."""
    leaves, containers, g, wires = {}, {}, nx.DiGraph(), []

    def walk(n, path: tuple) -> None:
        opened = n.is_container and not (closed and n.is_operator)
        if opened and (level is None or len(path) <= level):
            containers[path] = n

            def at(node):
                return (path if node[0] is None else path + (node[0],), node[1])

            g.add_nodes_from(at(v) for v in n.graph)
            for name, child in n.layers.items():
                walk(child, path + (name,))
            wires.extend((at(s), at(d)) for s, d in n.edges)  # n.graph's edges, in wire order
        else:
            leaves[path] = n
            g.add_nodes_from((path, p) for p in n.ports)

    walk(net, ())
    g.add_edges_from(wires)
    return Flat(net, leaves, containers, g, wires)


def units_graph(graph: nx.DiGraph, is_unit) -> nx.DiGraph:
    """A port graph with the ports of each unit merged into one node: a node ``(u, port)``
    becomes ``u`` where ``is_unit(u)`` (a layer), and stays itself otherwise (a container's
    own port). A wire between two ports of the same unit becomes a self-loop."""

    def node(ep):
        return ep[0] if is_unit(ep[0]) else ep

    g = nx.DiGraph()
    g.add_nodes_from(node(ep) for ep in graph)
    g.add_edges_from((node(s), node(d)) for s, d in graph.edges)
    return g


def trace(flat: Flat, ep: tuple) -> tuple[tuple, bool]:
    """Follow the wires backwards from endpoint ``ep``: ``(leaf output, True)`` for the first
    leaf output reached, which produces the value (a port name may be both an input and an
    output of a layer, as "State" is), or ``(last endpoint, False)`` where the wires end."""
    while (src := flat.wired_from(ep)) is not None:
        ep = src
        if ep[0] in flat.leaves:
            return ep, True
    return ep, False


def far_ends(flat: Flat, ep: tuple, backwards: bool) -> list[tuple]:
    """The leaf ports (or top-level ports) that an endpoint is wired to, through containers."""
    ends, todo = [], [ep]
    while todo:
        e = todo.pop()
        nxt = [flat.wired_from(e)] if backwards else flat.wired_to(e)
        nxt = [n for n in nxt if n is not None]
        for n in nxt:
            if n[0] in flat.containers and n[0] != ():
                todo.append(n)
            else:
                ends.append(n)
        if not nxt and e != ep:
            ends.append(e)
    return ends


def where(flat: Flat, ep: tuple) -> str:
    """A person's name for an endpoint: 'port "Input" of layer "2" (LinearLayer)'."""
    path, port = ep
    node = flat.leaves.get(path) or flat.containers.get(path)
    kind = type(node).__name__
    if path == ():
        return f'port "{port}" of the net' if node.is_container else f'port "{port}" of the {kind}'
    what = "layer" if path in flat.leaves else "net"
    return f'port "{port}" of {what} "{"/".join(path)}" ({kind})'


def links(flat: Flat) -> list[tuple[tuple, tuple]]:
    """The wires seen through opened containers: (leaf output or net input, leaf input or
    net output), in the order of the containers' wires."""
    out = []
    for s, d in flat.edges:
        if d[0] == () or d[0] in flat.leaves:
            out.append((trace(flat, d)[0] if s[0] != () and s[0] not in flat.leaves else s, d))
    return out


def states(flat: Flat) -> dict[NetPort, tuple]:
    """Every recurrent state of the net, in layer order: its name (``NetPort(layer, port)``,
    or ``NetPort(port)`` for a bare layer) → ``(layer path, port)``. The one list of them."""
    return {
        (NetPort(list(path), p) if path else NetPort(p)): (path, p)
        for path, leaf in flat.leaves.items()
        for p in leaf.state_ports
    }


def all_arrays(net) -> dict:
    """(layer path…, array name) → array or None, for every leaf layer."""
    return {
        path + (k,): a for path, leaf in flatten(net).leaves.items() for k, a in leaf.arrays.items()
    }


def replace_leaves(net, new: dict):
    """The net with the leaf layers at the given paths replaced (types are unchanged)."""
    if () in new:
        return new[()]

    def walk(n, path):
        if n.is_container:
            return n._replace(layers={k: walk(c, path + (k,)) for k, c in n.layers.items()})
        return new.get(path, n)

    return walk(net, ())
