"""NetGraph: layers wired port to port.

A container's wiring is one port-level networkx graph, built once here (``Container.graph``):
nodes are ``(layer name, port)`` and ``(None, port)`` for the container's own ports; each edge
is a wire from a source port to a destination port. Cycles are refused on it (with the layers
as units, see ``walk.units_graph``); inference, plan, information and editing read it.
"""

from __future__ import annotations

import re

import networkx as nx

from ..inference import infer_net
from ..net import Net
from ..symbols import NetPort
from ..text import closest, port_keyword
from ..types import parse_type
from ..walk import units_graph

Endpoint = tuple  # (layer name, or None for the container itself; port name)


def normalize_layers(layers, owner: str) -> dict[str, Net]:
    """Layers as an ordered dict; a list names them "1", "2", … as Wolfram does."""
    if isinstance(layers, dict):
        items = [(str(k), v) for k, v in layers.items()]
    elif isinstance(layers, (list, tuple)):
        items = [(str(i + 1), v) for i, v in enumerate(layers)]
    else:
        raise TypeError(
            f"{owner}: layers must be a list or a dict of layers; received {type(layers).__name__}."
        )
    for name, v in items:
        if not isinstance(v, Net):
            raise TypeError(
                f'{owner}: layer "{name}" must be a layer or a net such as LinearLayer(3); '
                f"received {v!r} of type {type(v).__name__}."
            )
        if "/" in name:
            raise ValueError(f'{owner}: layer names may not contain "/"; received "{name}".')
    return dict(items)


class Container(Net):
    """What NetChain and NetGraph share: named children, edges between ports, graph ports,
    and the port-level graph of the wiring."""

    is_container = True
    layers: dict[str, Net]
    edges: tuple[tuple[Endpoint, Endpoint], ...]
    graph: nx.DiGraph

    def input_ports(self, options=None) -> tuple[str, ...]:
        return self._in

    def output_ports(self, options=None) -> tuple[str, ...]:
        return self._out

    def _build(self, layers: dict, edges: list, port_specs: dict) -> None:
        owner = type(self).__name__
        layers = dict(layers)
        edges = _set_arities(layers, edges, owner)
        _check_endpoints(layers, edges, owner)
        edges, ins, outs = _graph_ports(layers, edges)
        graph = port_graph(layers, edges, ins, outs)
        _check_acyclic(graph, owner)
        ports = {p: parse_type(None) for p in ins + outs}
        named = {}
        for key, spec in port_specs.items():
            name = key if key in ports else port_keyword(key)
            if name not in ports:
                raise ValueError(
                    f'{owner}: there is no port "{name}" to give a shape to{closest(name, ports)}. '
                    f"Ports: {', '.join(ports)}."
                )
            ports[name] = parse_type(spec, f'{owner}: port "{name}"')
            named[name] = spec
        self._set(layers=layers, edges=tuple(edges), graph=graph, ports=ports)
        self._set(_in=tuple(ins), _out=tuple(outs))
        self._set_coders(named, _inherited_coders(layers, edges))
        inferred = infer_net(self)
        self._set(layers=inferred.layers, ports=inferred.ports)


def port_graph(layers: dict, edges: list, ins: list, outs: list) -> nx.DiGraph:
    """The container's port-level graph (see the module docstring)."""
    g = nx.DiGraph()
    g.add_nodes_from((None, p) for p in ins + outs)
    g.add_nodes_from((name, p) for name, layer in layers.items() for p in layer.ports)
    g.add_edges_from(edges)
    return g


class NetGraph(Container):
    """A net of layers wired port to port.

    ``layers``: a list (named "1", "2", …) or dict of layers and nets. ``edges``: a list of
    ``(a, b)``, chains ``(a, b, c)``, multi-input ``([a, b], c)``, with ``NetPort(...)`` on
    either end. Unconnected ports become the graph's ports; several unconnected "Output"s
    become "Output1", "Output2", …. Port shapes: ``input=``, ``output=`` or any port name.

    >>> from netgraph import NetGraph, LinearLayer, ElementwiseLayer, ThreadingLayer
    >>> g = NetGraph({"a": LinearLayer(3), "b": ElementwiseLayer("Tanh"), "c": ThreadingLayer("Plus")},
    ...              [("a", "b"), (["a", "b"], "c")], input=2)
    >>> g.ports["Output"]
    (3,)
    """

    def __init__(self, layers, edges=(), *, input=None, output=None, **ports):
        layers = normalize_layers(layers, "NetGraph")
        if not layers:
            raise ValueError("NetGraph: give at least one layer.")
        specs = {k: v for k, v in (("Input", input), ("Output", output)) if v is not None}
        specs.update({k: v for k, v in ports.items() if v is not None})
        self._build(layers, _parse_edges(layers, edges), specs)


# -- edges ---------------------------------------------------------------------------------


def default_output(layers, name, owner) -> Endpoint:
    """The endpoint of a layer's output when an edge names only the layer."""
    port = layers[name].default_output()
    if port is None:
        outs = layers[name].output_ports()
        raise ValueError(
            f'{owner}: layer "{name}" has several output ports ({", ".join(outs)}); '
            f'name one with NetPort("{name}", port).'
        )
    return (name, port)


def _layer_name(layers, x, owner) -> str:
    name = str(x)
    if name not in layers:
        raise ValueError(
            f'{owner}: an edge names layer "{name}", which is not in the graph{closest(name, layers)}. '
            f"Layers: {', '.join(layers)}."
        )
    return name


def _source(layers, x, owner) -> Endpoint:
    if isinstance(x, NetPort):
        if x.path is None:
            return (None, x.port)
        return (_layer_name(layers, _one(x, owner), owner), x.port)
    return default_output(layers, _layer_name(layers, x, owner), owner)


def _one(p: NetPort, owner: str) -> str:
    if len(p.path) != 1:
        raise ValueError(
            f"{owner}: an edge may only name ports of this graph's own layers; {p!r} reaches inside "
            "a nested net. Expose that port from the inner net and connect to it."
        )
    return p.path[0]


def _targets(layers, x, count: int, owner, taken: dict) -> list[Endpoint]:
    """Where ``count`` sources go when the edge's target is ``x``."""
    if isinstance(x, NetPort):
        if count != 1:
            raise ValueError(f"{owner}: several sources cannot all go into the single port {x!r}.")
        return [
            (None, x.port)
            if x.path is None
            else (_layer_name(layers, _one(x, owner), owner), x.port)
        ]
    name = _layer_name(layers, x, owner)
    layer = layers[name]
    if layer.variadic:  # separate edges fill Input1, Input2, … in order
        start = taken.get(name, 0)
        taken[name] = start + count
        return [(name, f"Input{start + i + 1}") for i in range(count)]
    if count == 1:  # several inputs and none named "Input": refused by _check_endpoints
        one = len(layer.input_ports()) == 1
        return [(name, layer.default_input() if one else "Input")]
    ins = layer.required_inputs()
    if len(ins) < count:
        raise ValueError(
            f'{owner}: {count} sources go into layer "{name}" ({type(layer).__name__}), '
            f"which has only the input ports {', '.join(ins)}."
        )
    return [(name, p) for p in ins[:count]]


def _parse_edges(layers, edges, owner="NetGraph") -> list:
    if isinstance(edges, tuple) and edges and not isinstance(edges[0], (list, tuple)):
        edges = [edges]
    out, taken = [], {}
    for e in edges:
        if not isinstance(e, (tuple, list)) or isinstance(e, list) or len(e) < 2:
            raise TypeError(
                f'{owner}: each edge is a tuple such as ("a", "b"), ("a", "b", "c") or '
                f'(["a", "b"], "c"); received {e!r}.'
            )
        for a, b in zip(e, e[1:]):
            if isinstance(b, list):
                raise TypeError(
                    f"{owner}: a list of sources may only start an edge; received {e!r}."
                )
            srcs = a if isinstance(a, list) else [a]
            dsts = _targets(layers, b, len(srcs), owner, taken)
            out += [(_source(layers, s, owner), d) for s, d in zip(srcs, dsts)]
    return out


def _set_arities(layers, edges, owner) -> list:
    """Give variadic layers (Catenate, Total, Threading) as many inputs as are wired to them."""
    for name, layer in list(layers.items()):
        if not layer.variadic:
            continue
        used = [
            int(m.group(1))
            for (_, (d, p)) in edges
            if d == name and (m := re.fullmatch(r"Input(\d+)", p))
        ]
        if used and layer.arity is None:
            layers[name] = layer.with_arity(max(used))
        elif used and max(used) > layer.arity:
            raise ValueError(
                f'{owner}: layer "{name}" ({type(layer).__name__}) was built for {layer.arity} inputs '
                f"but {max(used)} are connected."
            )
    return edges


def _check_endpoints(layers, edges, owner) -> None:
    seen = {}
    for src, dst in edges:
        for (name, port), side in ((src, "output"), (dst, "input")):
            if name is None:
                continue
            ports = layers[name].output_ports() if side == "output" else layers[name].input_ports()
            if port not in ports:
                raise ValueError(
                    f'{owner}: layer "{name}" ({type(layers[name]).__name__}) has no {side} port '
                    f'"{port}"{closest(port, ports)}. Its {side} ports: {", ".join(ports) or "none"}.'
                )
        if dst in seen:
            raise ValueError(
                f"{owner}: {_ep(dst)} is connected twice, from {_ep(seen[dst])} and from {_ep(src)}; "
                "a port takes one incoming edge (use TotalLayer or CatenateLayer to combine)."
            )
        seen[dst] = src


def _ep(e: Endpoint) -> str:
    return f'the graph port "{e[1]}"' if e[0] is None else f'port "{e[1]}" of "{e[0]}"'


def _inherited_coders(layers, edges) -> dict:
    """The coders of the layer ports that became graph ports."""
    out = {}
    for (s, p), (d, q) in edges:
        if s is None and d is not None and q in layers[d].coders:
            out.setdefault(p, layers[d].coders[q])
        if d is None and s is not None and p in layers[s].coders:
            out.setdefault(q, layers[s].coders[p])
    return out


def _graph_ports(layers, edges):
    """Expose unconnected ports. Inputs of the same name share one graph input."""
    ins, outs = [], []
    for (s, p), (d, q) in edges:
        if s is None and p not in ins:
            ins.append(p)
        if d is None:
            outs.append(q)
    connected_in = {d for _, d in edges}
    new = list(edges)
    for name, layer in layers.items():
        for p in layer.required_inputs():
            if (name, p) not in connected_in:
                new.append(((None, p), (name, p)))
                if p not in ins:
                    ins.append(p)
    connected_out = {s for s, _ in edges}
    free_out = [
        (name, p)
        for name, layer in layers.items()
        for p in layer.exposed_outputs()
        if (name, p) not in connected_out
    ]
    names = [p for _, p in free_out]
    for i, (name, p) in enumerate(free_out):
        q = p if names.count(p) == 1 and p not in outs else f"{p}{names[: i + 1].count(p)}"
        new.append(((name, p), (None, q)))
        outs.append(q)
    _check_port_names(ins, outs)
    return new, ins, outs


def _check_port_names(ins: list, outs: list) -> None:
    if len(set(outs)) != len(outs):
        dup = next(o for o in outs if outs.count(o) > 1)
        raise ValueError(
            f'NetGraph: the output port "{dup}" is given twice; name graph outputs uniquely.'
        )
    both = [p for p in ins if p in outs]
    if both:
        raise ValueError(
            f'NetGraph: "{both[0]}" names both an input and an output port of the graph; '
            f'give them different names, such as NetPort("{both[0]}In") and NetPort("{both[0]}Out").'
        )


def _check_acyclic(graph: nx.DiGraph, owner) -> None:
    try:
        cycle = nx.find_cycle(units_graph(graph, lambda name: name is not None))
    except nx.NetworkXNoCycle:
        return
    names = [str(a) for a, _ in cycle] + [str(cycle[0][0])]
    raise ValueError(
        f"{owner}: the edges form a cycle {' -> '.join(names)}; a net must be acyclic "
        "(recurrence lives inside recurrent layers)."
    )
