"""Editing nets: NetExtract, NetReplacePart, NetTake, NetDrop, NetAppend, NetPrepend, NetFlatten, NetRename.

Every edit returns a new net built through the NetChain/NetGraph constructors, so shape
inference runs again; the net given is never changed. Layers are named by their name, by an
int (the layer of that name, else the n-th layer counting from 1, or from the end when
negative), or by a list of names for a layer inside nested nets.
"""

from __future__ import annotations

import networkx as nx

from .coders import NetDecoder, NetEncoder
from .containers import NetChain, NetGraph
from .containers.graph import Container
from .layers.base import as_array
from .net import Net
from .symbols import All, NetPort
from .text import closest
from .types import TensorType, describe_shape, parse_type
from .walk import flatten, links, units_graph

# -- naming layers -------------------------------------------------------------------------


def _layer_name(c: Container, key, fn: str) -> str:
    """The name of the layer of ``c`` that ``key`` (a name or an int) refers to."""
    names = list(c.layers)
    if isinstance(key, int) and not isinstance(key, bool):
        if str(key) in c.layers:
            return str(key)
        if 1 <= key <= len(names) or -len(names) <= key <= -1:
            return names[key - 1 if key > 0 else key]
        raise ValueError(
            f"{fn}: there is no layer {key}; the {type(c).__name__} has {len(names)} layers "
            f"({', '.join(names)})."
        )
    if isinstance(key, str):
        if key in c.layers:
            return key
        raise ValueError(
            f'{fn}: there is no layer "{key}"{closest(key, names)}. Layers: {", ".join(names)}.'
        )
    raise TypeError(f"{fn}: a layer is named by a str or an int; received {key!r}.")


def _steps(spec, fn: str) -> tuple:
    if isinstance(spec, (str, int)) and not isinstance(spec, bool):
        return (spec,)
    if isinstance(spec, (list, tuple)) and spec:
        for s in spec:
            _steps(s, fn)
        return tuple(spec)
    raise TypeError(
        f'{fn}: a part is named by a layer name or int, a list such as ["a", "Weights"], '
        f'a NetPort such as NetPort("Input"), or All; received {spec!r}.'
    )


def _resolve(net: Net, spec, fn: str):
    """Follow a path: returns (kind, layer path, item) with kind "net", "array", "option" or "port"."""
    steps = _steps(spec, fn)
    node, path = net, ()
    for i, step in enumerate(steps):
        last = i == len(steps) - 1
        if node.is_container:
            if isinstance(step, str) and step not in node.layers and last:
                if step in node.ports:
                    return "port", path, step
                if step in node.options:  # an operator's option
                    return "option", path, step
            if isinstance(step, str) and step not in node.layers:
                where = f'"{"/".join(path)}"' if path else "the net"
                raise ValueError(
                    f'{fn}: {where} has no layer or port "{step}"'
                    f"{closest(step, list(node.layers) + list(node.ports))}. "
                    f"Layers: {', '.join(node.layers)}; ports: {', '.join(node.ports)}."
                )
            name = _layer_name(node, step, fn)
            node, path = node.layers[name], path + (name,)
            continue
        owner = f'layer "{"/".join(path)}"' if path else type(node).__name__
        kinds = (("array", node.arrays), ("option", node.options), ("port", node.ports))
        found = next((k for k, d in kinds if step in d), None)
        if not isinstance(step, str) or found is None or not last:
            valid = [*node.arrays, *node.options, *node.ports]
            extra = "" if last or found is None else f' ("{step}" must come last)'
            raise ValueError(
                f'{fn}: {owner} ({type(node).__name__}) has no part "{"/".join(map(str, steps[i:]))}"'
                f"{extra}{closest(str(step), valid)}. Its arrays: {', '.join(node.arrays) or 'none'}; "
                f"options: {', '.join(node.options) or 'none'}; ports: {', '.join(node.ports)}."
            )
        return found, path, step
    return "net", path, None


def _at(net: Net, path: tuple) -> Net:
    for name in path:
        net = net.layers[name]
    return net


def _port_path(net: Net, p: NetPort, fn: str) -> tuple[tuple, str]:
    """The layer path and port name of a NetPort, checked."""
    if p.path is All:
        raise ValueError(f"{fn}: {p!r} stands for several ports; name one port.")
    path = () if p.path is None else _resolve(net, list(p.path), fn)[1]
    node = _at(net, path)
    if p.port not in node.ports:
        owner = f'layer "{"/".join(path)}"' if path else "the net"
        raise ValueError(
            f'{fn}: {owner} has no port "{p.port}"{closest(p.port, node.ports)}. '
            f"Ports: {', '.join(node.ports)}."
        )
    return path, p.port


def _is_spec_list(spec) -> bool:
    return isinstance(spec, list) and any(
        isinstance(s, (list, tuple, NetPort)) or s is All for s in spec
    )


# -- rebuilding through the constructors ---------------------------------------------------


def _user_edges(layers: dict, edges) -> list:
    """A graph's stored edges as NetGraph takes them, without those touching missing layers
    or ports that are no longer there (NetGraph exposes unconnected ports again)."""
    out = []
    for (sa, sp), (da, dp) in edges:
        if (sa is not None and sa not in layers) or (da is not None and da not in layers):
            continue
        if sa is None and da is not None and dp not in layers[da].input_ports():
            continue
        if da is None and sa is not None and sp not in layers[sa].output_ports():
            continue
        src = NetPort(sp) if sa is None else NetPort(sa, sp)
        dst = NetPort(dp) if da is None else NetPort(da, dp)
        out.append((src, dst))
    return out


def _construct(template: Container, layers: dict, specs: dict) -> Container:
    if isinstance(template, NetChain):

        def make(s):
            return NetChain(layers, **s)
    else:
        edges = _user_edges(layers, template.edges)

        def make(s):
            return NetGraph(layers, edges, **s)

    net = make({})
    specs = {p: t for p, t in specs.items() if p in net.ports}
    return make(specs) if specs else net


def _assemble(net: Net, given: dict, relax: bool, path: tuple = ()) -> Net:
    """Build ``net`` again bottom-up. Kept types are the inferred ones; with ``relax`` the
    leaves start from their own options and arrays and only the top-level input shapes (and
    the port shapes in ``given``) are kept."""
    mine = given.get(path, {})
    if isinstance(net, (NetChain, NetGraph)):
        layers = {k: _assemble(c, given, relax, path + (k,)) for k, c in net.layers.items()}
        if relax:
            ins = net.input_ports() if path == () else ()
            keep = {p: t for p, t in net.ports.items() if p in ins}
        else:
            keep = dict(net.ports)
        # the net's encoders and decoders stay on their ports, unless the edit gives new ones
        return _construct(net, layers, {**keep, **net.coders, **mine})
    if net.is_operator:  # built again from its inner nets, its options and kept port types
        layers = {k: _assemble(c, given, relax, path + (k,)) for k, c in net.layers.items()}
        # the states follow the inner nets; at the top, a relaxed retry keeps the inputs
        ins = net.required_inputs() if path == () else ()
        keep = {
            p: t
            for p, t in net.ports.items()
            if (not relax and p not in net.state_ports) or p in ins
        }
        keep.update({p: parse_type(t) for p, t in mine.items()})
        return type(net).from_parts(layers, net.construction_options(), keep)
    if isinstance(net, Container):
        return net
    ports = {p: TensorType(None, None) if relax else t for p, t in net.ports.items()}
    given = {p: parse_type(t) for p, t in mine.items()}  # a coder gives its port type
    new = net._replace(ports={**ports, **given})
    new._set_coders(mine, net.coders)
    new._check_arrays()
    return new


def _remake(draft: Net, fn: str, given: dict | None = None, relax: bool = False) -> Net:
    """The edited net, inferred again; with ``relax``, shapes the edit invalidates are
    inferred afresh when keeping them conflicts."""
    given = given or {}
    try:
        return _assemble(draft, given, relax=False)
    except ValueError as e:
        if not relax:
            raise ValueError(f"{fn}: {e}") from None
    try:
        return _assemble(draft, given, relax=True)
    except ValueError as e:
        raise ValueError(f"{fn}: {e}") from None


def _numbered(names) -> bool:
    return list(names) == [str(i + 1) for i in range(len(names))]


def _chain_of(net: NetChain, names: list, fn: str) -> NetChain:
    """The chain of the named layers; an encoder stays while the first layer does, a decoder
    while the last one does (they read and write those layers' ports)."""
    order = list(net.layers)
    layers = {n: net.layers[n] for n in names}
    if _numbered(net.layers):
        layers = {str(i + 1): v for i, v in enumerate(layers.values())}
    ends = {p for p in net.input_ports() if names[0] == order[0]}
    ends |= {p for p in net.output_ports() if names[-1] == order[-1]}
    coders = {p: c for p, c in net.coders.items() if p in ends}
    return _remake(net._replace(layers=layers, ports={}, coders=coders), fn)


def _need_container(net, fn: str) -> None:
    if not isinstance(net, (NetChain, NetGraph)):
        raise TypeError(f"{fn}: expected a NetChain or a NetGraph; received {type(net).__name__}.")


# -- NetExtract ----------------------------------------------------------------------------


def NetExtract(net: Net, spec):
    """A part of a net: a layer, an array, an option value, a port's shape, or several.

    Specs: a layer name or int (``"a"``, ``2``, ``-1`` for the last layer); a path through
    nested nets ``["a", "b"]``; a layer and an array or option ``["1", "Weights"]``,
    ``["1", "n"]`` (just ``"Weights"`` for a bare layer); ``NetPort("Input")`` or
    ``NetPort(layer, port)`` for a port's TensorType; ``All`` for a dict of the top-level
    layers (of a layer: its options and arrays); a list of such specs (each a list, tuple,
    NetPort or All) for a list of parts. Arrays come back read-only, None while uninitialized.

    >>> from netgraph import NetChain, LinearLayer, ElementwiseLayer, NetExtract, NetPort
    >>> w = [[1.0, 2.0], [3.0, 4.0]]
    >>> net = NetChain([LinearLayer(2, weights=w), ElementwiseLayer("Tanh")], input=2)
    >>> NetExtract(net, ["1", "Weights"])
    array([[1., 2.],
           [3., 4.]])
    >>> NetExtract(net, NetPort("Output"))
    (2,)
    >>> type(NetExtract(net, 2)).__name__
    'ElementwiseLayer'
    """
    fn = "NetExtract"
    if not isinstance(net, Net):
        raise TypeError(f"{fn}: expected a layer or a net; received {type(net).__name__}.")
    if spec is All:
        if net.is_container:
            return dict(net.layers)
        return {**net.options, **net.arrays}
    if isinstance(spec, NetPort):
        path, port = _port_path(net, spec, fn)
        return _at(net, path).ports[port]
    if _is_spec_list(spec):
        return [NetExtract(net, s) for s in spec]
    kind, path, item = _resolve(net, spec, fn)
    node = _at(net, path)
    if kind == "net":
        return node
    return {"array": node.arrays, "option": node.options, "port": node.ports}[kind][item]


# -- NetReplacePart ------------------------------------------------------------------------


def _update(net: Net, path: tuple, f) -> Net:
    if not path:
        return f(net)
    return net._replace(layers={**net.layers, path[0]: _update(net.layers[path[0]], path[1:], f)})


def _set_array(leaf, path: tuple, name: str, value, fn: str):
    shown = "/".join(path + (name,))
    a = as_array(value, fn, shown)
    want = leaf.array_shapes(leaf.ports).get(name)
    if want is not None and all(isinstance(d, int) for d in want) and tuple(want) != a.shape:
        raise ValueError(
            f'{fn}: array "{shown}" of {type(leaf).__name__} must have shape {tuple(want)}, as its '
            f"ports {', '.join(f'{p}: {describe_shape(t)}' for p, t in leaf.ports.items())} "
            f"require; received an array of shape {a.shape}. To change sizes, replace the layer."
        )
    return leaf._replace(arrays={**leaf.arrays, name: a})


def NetReplacePart(net: Net, replacements) -> Net:
    """A copy of ``net`` with parts replaced: layers, arrays or port shapes.

    ``replacements`` is a dict ``{spec: value}`` or a list of ``(spec, value)`` pairs (use
    tuples for paths in a dict: ``("1", "Weights")``). Specs are as in ``NetExtract``:

    - a layer (name, int or path) → a new layer or net in its place;
    - an array (``("1", "Weights")``; ``"Weights"`` for a bare layer) → a new value, which
      must have the shape the layer's ports give it;
    - a port (``"Input"``, ``NetPort("Input")``, ``NetPort(layer, port)``) → a shape such as
      ``("Varying", 3)``.

    Inferred shapes are kept where they still fit; where the edit changes sizes they are
    inferred again from the layers, their arrays and the net's input shapes.

    >>> from netgraph import LinearLayer, NetReplacePart
    >>> lin = LinearLayer(1, weights=[[1.0, 1.0]], biases=[0.0])
    >>> NetReplacePart(lin, {"Weights": [[2.0, 3.0]]})([1.0, 1.0])
    array([5.], dtype=float32)
    >>> NetReplacePart(lin, {"Input": ("Varying", 2)}).ports["Output"]
    (Varying, 1)
    """
    fn = "NetReplacePart"
    if not isinstance(net, Net):
        raise TypeError(f"{fn}: expected a layer or a net; received {type(net).__name__}.")
    given: dict = {}
    new = net
    for spec, value in _replacement_pairs(replacements, fn):
        if isinstance(spec, NetPort):
            kind, (path, item) = "port", _port_path(net, spec, fn)
        else:
            kind, path, item = _resolve(net, spec, fn)
        shown = "/".join(path + ((item,) if item else ()))
        if kind == "port":
            t = parse_type(value, f'{fn}: port "{shown}"')
            coder = isinstance(value, (NetEncoder, NetDecoder))
            given.setdefault(path, {})[item] = value if coder else t
            new = _update(new, path, lambda n, t=t, p=item: n._replace(ports={**n.ports, p: t}))
        elif kind == "array":
            new = _update(new, path, lambda n, p=path, a=item, v=value: _set_array(n, p, a, v, fn))
        else:
            _check_layer_replacement(kind, path, value, spec=spec, shown=shown, fn=fn)
            new = _update(new, path, lambda n, v=value: v)
    return _remake(new, fn, given, relax=True)


def _replacement_pairs(replacements, fn: str) -> list:
    if isinstance(replacements, dict):
        return list(replacements.items())
    if isinstance(replacements, list) and all(
        isinstance(r, tuple) and len(r) == 2 for r in replacements
    ):
        return replacements
    raise TypeError(
        f'{fn}: give a dict such as {{("1", "Weights"): w, "Input": 3}} or a list of '
        f"(spec, value) pairs; received {replacements!r:.80}."
    )


def _check_layer_replacement(kind: str, path: tuple, value, *, spec, shown: str, fn: str) -> None:
    """Refuse what cannot replace a part: an option, the whole net, or a value that is no net."""
    if kind == "option":
        raise ValueError(
            f'{fn}: "{shown}" is an option, fixed when the layer was built; build the layer '
            "with the new option and replace the whole layer."
        )
    if not path:
        raise ValueError(f"{fn}: the spec {spec!r} names the whole net; give a part of it.")
    if not isinstance(value, Net):
        raise TypeError(
            f'{fn}: layer "{shown}" must be replaced by a layer or a net; received {value!r:.60}.'
        )


# -- NetTake and NetDrop -------------------------------------------------------------------


def _span(net: NetChain, spec, fn: str) -> tuple[int, int]:
    names = list(net.layers)
    a, b = (names.index(_layer_name(net, s, fn)) for s in spec)
    if a > b:
        raise ValueError(
            f'{fn}: the span {spec!r} runs backwards (layer "{names[a]}" comes after "{names[b]}").'
        )
    return a, b


def _graph_layers(net: NetGraph, spec, fn: str) -> list[str]:
    specs = spec if isinstance(spec, list) else [spec]
    out = []
    for s in specs:
        if isinstance(s, NetPort) and s.path is None:
            if s.port not in net.output_ports():
                outs = net.output_ports()
                raise ValueError(
                    f'{fn}: the graph has no output port "{s.port}"{closest(s.port, outs)}. '
                    f"Output ports: {', '.join(outs)}."
                )
            out += [sa for (sa, _), (da, dp) in net.edges if da is None and dp == s.port and sa]
        else:
            out.append(_layer_name(net, s, fn))
    return out


def _related(net: NetGraph, names: list, which) -> set:
    """The named layers with their ancestors (``which=nx.ancestors``) or descendants."""
    g = units_graph(net.graph, lambda name: name is not None)
    return set(names).union(*(which(g, n) for n in names)) & set(net.layers)


def _subgraph(net: NetGraph, keep: set, outputs_of: set | None, fn: str) -> NetGraph:
    layers = {k: v for k, v in net.layers.items() if k in keep}
    edges = [
        e
        for e in net.edges
        if not (e[1][0] is None and outputs_of is not None and e[0][0] not in outputs_of)
    ]
    coders = {p: c for p, c in net.coders.items() if outputs_of is None or p in net.input_ports()}
    draft = net._replace(layers=layers, edges=edges, ports={}, coders=coders)
    return _remake(draft, fn)


def NetTake(net: Net, spec) -> Net:
    """The part of a net up to a layer, or between two layers.

    NetChain: ``NetTake(chain, n)`` the first n layers (the layers up to the n-th; ``-1`` is
    the last layer), ``NetTake(chain, "b")`` the layers up to "b", ``NetTake(chain, (m, n))``
    the m-th through the n-th layer (counting from 1; names allowed). Chains numbered 1, 2, …
    are numbered afresh.

    NetGraph: ``NetTake(graph, "b")`` the layer "b" and every layer that feeds it, with the
    outputs of "b" as the graph's outputs; the end may also be ``NetPort("Output2")`` (what
    computes that output) or a list of ends; ``NetTake(graph, (start, end))`` keeps only the
    layers on paths from ``start`` to ``end`` (cut inputs become graph inputs).

    >>> from netgraph import NetChain, LinearLayer, ElementwiseLayer, NetTake
    >>> net = NetChain([LinearLayer(5), ElementwiseLayer("Tanh"), LinearLayer(2)], input=3)
    >>> NetTake(net, 2).ports["Output"]
    (5,)
    """
    fn = "NetTake"
    _need_container(net, fn)
    if isinstance(net, NetChain):
        names = list(net.layers)
        if isinstance(spec, tuple) and len(spec) == 2:
            a, b = _span(net, spec, fn)
        else:
            a, b = 0, names.index(_layer_name(net, spec, fn))
        return _chain_of(net, names[a : b + 1], fn)
    start = None
    if isinstance(spec, tuple) and len(spec) == 2:
        start, spec = spec
    ends = _graph_layers(net, spec, fn)
    keep = _related(net, ends, nx.ancestors)
    if start is not None:
        starts = _graph_layers(net, start, fn)
        after = _related(net, starts, nx.descendants)
        cut = [e for e in ends if e not in after]
        if cut:
            raise ValueError(
                f'{fn}: layer "{cut[0]}" is not reached from {", ".join(map(repr, starts))}; '
                "the start must feed the end."
            )
        keep &= after
    return _subgraph(net, keep, set(ends), fn)


def NetDrop(net: Net, spec) -> Net:
    """A net without some of its layers.

    NetChain: ``NetDrop(chain, n)`` drops the first n layers, ``NetDrop(chain, -n)`` the last n,
    ``NetDrop(chain, (m, n))`` the m-th through the n-th (counting from 1; names allowed),
    ``NetDrop(chain, "b")`` or a list ``["b", "c"]`` the named layers; the shapes where the
    chain closes up must agree. NetGraph: ``NetDrop(graph, "b")`` or a list of layers removes
    them; ports left unconnected become graph ports.

    >>> from netgraph import NetChain, LinearLayer, ElementwiseLayer, NetDrop
    >>> net = NetChain([LinearLayer(5), ElementwiseLayer("Tanh"), LinearLayer(2)], input=3)
    >>> list(NetDrop(net, -1).layers), NetDrop(net, -1).ports["Output"]
    (['1', '2'], (5,))
    """
    fn = "NetDrop"
    _need_container(net, fn)
    names = list(net.layers)
    if isinstance(net, NetChain) and isinstance(spec, int) and not isinstance(spec, bool):
        if abs(spec) > len(names):
            raise ValueError(
                f"{fn}: cannot drop {abs(spec)} layers from a chain of {len(names)} layers."
            )
        drop = names[:spec] if spec >= 0 else names[spec:]
    elif isinstance(net, NetChain) and isinstance(spec, tuple) and len(spec) == 2:
        a, b = _span(net, spec, fn)
        drop = names[a : b + 1]
    else:
        drop = [_layer_name(net, s, fn) for s in (spec if isinstance(spec, list) else [spec])]
    keep = [n for n in names if n not in drop]
    if not keep:
        raise ValueError(f"{fn}: {spec!r} would drop every layer of the net.")
    if isinstance(net, NetChain):
        return _chain_of(net, keep, fn)
    return _subgraph(net, set(keep), None, fn)


# -- NetAppend and NetPrepend --------------------------------------------------------------


def _new_layers(x, fn: str) -> list:
    if isinstance(x, Net):
        return [(None, x)]
    if isinstance(x, dict):
        items = [(str(k), v) for k, v in x.items()]
    elif isinstance(x, (list, tuple)):
        items = [(None, v) for v in x]
    else:
        items = [(None, x)]
    for _, v in items:
        if not isinstance(v, Net):
            raise TypeError(
                f"{fn}: expected a layer or net, a list of them or a dict name → layer; received "
                f"{v!r:.60} of type {type(v).__name__}."
            )
    if not items:
        raise ValueError(f"{fn}: give at least one layer.")
    return items


def _attach(net: Net, x, at_end: bool, fn: str) -> Net:
    _need_container(net, fn)
    items = _new_layers(x, fn)
    old = list(net.layers.items())
    if isinstance(net, NetChain) and _numbered(net.layers) and all(k is None for k, _ in items):
        seq = old + items if at_end else items + old
        layers = {str(i + 1): v for i, (_, v) in enumerate(seq)}
        return _remake(_without_end_coders(net, at_end)._replace(layers=layers, ports={}), fn)
    named = []
    for i, (k, v) in enumerate(items):
        k = k if k is not None else str(len(old) + i + 1)
        if k in net.layers or k in [n for n, _ in named]:
            raise ValueError(
                f'{fn}: the net already has a layer named "{k}"; give the new layers other names '
                "with a dict, or NetRename the net first."
            )
        named.append((k, v))
    if isinstance(net, NetChain):
        seq = old + named if at_end else named + old
        return _remake(_without_end_coders(net, at_end)._replace(layers=dict(seq), ports={}), fn)
    ports = net.output_ports() if at_end else net.input_ports()
    if len(ports) != 1:
        side = "output" if at_end else "input"
        raise ValueError(
            f"{fn}: a NetGraph takes new layers at its {side} only when it has one {side} port; "
            f"this one has {', '.join(ports)}. Wire the layers with NetGraph instead."
        )
    edges = list(net.edges)
    layers = dict(old + named)
    if at_end:
        (src,) = [s for s, d in edges if d == (None, ports[0])]
        edges = [e for e in edges if e[1] != (None, ports[0])]
        for k, v in named:
            edges.append((src, (k, v.default_input())))
            src = (k, v.default_output() or v.output_ports()[0])
    else:
        prev = None
        for k, v in named:
            if prev is not None:
                edges.append((prev, (k, v.default_input())))
            prev = (k, v.default_output() or v.output_ports()[0])
        edges = [(prev if s == (None, ports[0]) else s, d) for s, d in edges]
    return _remake(
        _without_end_coders(net, at_end)._replace(layers=layers, edges=edges, ports={}), fn
    )


def _without_end_coders(net: Net, at_end: bool) -> Net:
    """The net without the coders of the side a layer is attached to (its decoders when
    appending, its encoders when prepending): they read ports that new layers take over."""
    side = net.output_ports() if at_end else net.input_ports()
    coders = {p: c for p, c in net.coders.items() if p not in side}
    return net._replace(coders=coders)


def NetAppend(net: Net, x) -> Net:
    """A net with layers added after its output: a layer, a list of layers or a dict name → layer.

    Works on a NetChain, and on a NetGraph with one output port. Layers of a chain numbered
    1, 2, … continue the numbering; other new layers are named by their position unless
    given names with a dict.

    >>> from netgraph import NetChain, LinearLayer, SoftmaxLayer, NetAppend
    >>> net = NetAppend(NetChain([LinearLayer(4)], input=3), SoftmaxLayer())
    >>> list(net.layers), net.ports["Output"]
    (['1', '2'], (4,))
    """
    return _attach(net, x, True, "NetAppend")


def NetPrepend(net: Net, x) -> Net:
    """A net with layers added before its input: a layer, a list of layers or a dict name → layer.

    Works on a NetChain, and on a NetGraph with one input port. A chain numbered 1, 2, … is
    numbered afresh; other new layers are named by their position unless given names with a dict.

    >>> from netgraph import NetChain, LinearLayer, ElementwiseLayer, NetPrepend
    >>> net = NetPrepend(NetChain([LinearLayer(4)]), LinearLayer(3, input=2))
    >>> net.ports["Input"], list(net.layers)
    ((2,), ['1', '2'])
    """
    return _attach(net, x, False, "NetPrepend")


# -- NetFlatten and NetRename --------------------------------------------------------------


def NetFlatten(net: Net, level: int | None = None) -> Net:
    """A net with its nested NetChains and NetGraphs opened up (down to depth ``level``).

    The inner layers are named by their path joined with "." ("a.1" for layer "1" of the
    nested net "a"; "/" separates path steps in paths and messages, so it is not used in
    names). When every opened net is numbered 1, 2, …, the result is numbered afresh. A chain
    of chains gives a NetChain; anything with a NetGraph inside gives a NetGraph. Values and
    ports are unchanged.

    >>> from netgraph import NetChain, LinearLayer, ElementwiseLayer, NetFlatten
    >>> inner = NetChain({"lin": LinearLayer(4), "act": ElementwiseLayer("Tanh")})
    >>> list(NetFlatten(NetChain({"a": inner, "out": LinearLayer(2)}, input=3)).layers)
    ['a.lin', 'a.act', 'out']
    """
    fn = "NetFlatten"
    if level is not None and (isinstance(level, bool) or not isinstance(level, int) or level < 1):
        raise ValueError(f"{fn}: the level must be a positive int or None; received {level!r}.")
    if not isinstance(net, Container):
        return net
    flat = flatten(net, level, closed=True)  # an operator stays one layer
    units, wires = flat.leaves, links(flat)
    opened = {p[:i] for p in units for i in range(len(p))}
    if all(_numbered(_at(net, p).layers) for p in opened):
        names = {p: str(i + 1) for i, p in enumerate(units)}
    else:
        names = {p: ".".join(p) for p in units}
    if len(set(names.values())) != len(names):
        dup = next(n for n in names.values() if list(names.values()).count(n) > 1)
        raise ValueError(f'{fn}: two layers would both be named "{dup}"; NetRename one first.')
    layers = {names[p]: u for p, u in units.items()}
    try:
        if all(isinstance(_at(net, p), NetChain) for p in opened):
            return NetChain(layers, **net.coders)
        edges = [
            (
                NetPort(s[1]) if s[0] == () else NetPort(names[s[0]], s[1]),
                NetPort(d[1]) if d[0] == () else NetPort(names[d[0]], d[1]),
            )
            for s, d in wires
        ]
        return NetGraph(layers, edges, **net.coders)
    except ValueError as e:
        raise ValueError(f"{fn}: {e}") from None


def NetRename(net: Net, rules) -> Net:
    """A net with layers (and graph ports) renamed.

    ``rules``: a dict ``{"old": "new", NetPort("In"): NetPort("x"), …}`` (an int key names a
    layer as elsewhere), or a function from old layer name to new name. Only the top level is
    renamed; ports can be renamed in a NetGraph (a NetChain's ports come from its layers).

    >>> from netgraph import NetChain, LinearLayer, ElementwiseLayer, NetRename
    >>> net = NetChain([LinearLayer(4), ElementwiseLayer("Tanh")], input=3)
    >>> list(NetRename(net, {"1": "lin", 2: "act"}).layers)
    ['lin', 'act']
    """
    fn = "NetRename"
    _need_container(net, fn)
    if callable(rules):
        rules = {k: rules(k) for k in net.layers}
    if not isinstance(rules, dict):
        raise TypeError(f"{fn}: give a dict old → new or a function; received {rules!r:.60}.")
    layer_map, port_map = {}, {}
    for old, new in rules.items():
        if isinstance(old, NetPort):
            port_map[old.port] = _port_rename(net, old, new, fn)
        else:
            if not isinstance(new, (str, int)) or isinstance(new, bool) or not str(new):
                raise TypeError(f"{fn}: a new layer name must be a str; received {new!r}.")
            layer_map[_layer_name(net, old, fn)] = str(new)
    layers = {layer_map.get(k, k): v for k, v in net.layers.items()}
    if len(layers) != len(net.layers):
        seen = [layer_map.get(k, k) for k in net.layers]
        dup = next(n for n in seen if seen.count(n) > 1)
        raise ValueError(f'{fn}: the names must stay unique; "{dup}" would name two layers.')
    ports = {port_map.get(p, p): t for p, t in net.ports.items()}
    if len(ports) != len(net.ports):
        raise ValueError(f"{fn}: the port names must stay unique; received {port_map}.")

    def end(e):
        name, port = e
        return (
            (None, port_map.get(port, port)) if name is None else (layer_map.get(name, name), port)
        )

    edges = [(end(s), end(d)) for s, d in net.edges]
    coders = {port_map.get(p, p): c for p, c in net.coders.items()}
    return _remake(net._replace(layers=layers, edges=edges, ports=ports, coders=coders), fn)


def _port_rename(net, old: NetPort, new, fn: str) -> str:
    """The new name of a graph port, checked."""
    if not isinstance(new, NetPort) or old.path is not None or new.path is not None:
        raise TypeError(
            f'{fn}: ports are renamed NetPort("old") → NetPort("new"); received {old!r} → {new!r}.'
        )
    if isinstance(net, NetChain):
        raise ValueError(
            f"{fn}: a NetChain's ports take their names from its first and last layers; "
            "ports can be renamed in a NetGraph."
        )
    if old.port not in net.ports:
        raise ValueError(
            f'{fn}: the net has no port "{old.port}"{closest(old.port, net.ports)}. '
            f"Ports: {', '.join(net.ports)}."
        )
    return new.port


__all__ = [
    "NetExtract",
    "NetReplacePart",
    "NetTake",
    "NetDrop",
    "NetAppend",
    "NetPrepend",
    "NetFlatten",
    "NetRename",
]
