"""Introspection: Information(net, prop) and Options."""

from __future__ import annotations

import hashlib
import html
import re
from collections import Counter

from .display import array_dims, byte_count, element_count, net_repr, net_table
from .graphics import diagram, layers_graph
from .net import Net, structure_key
from .text import closest, port_option
from .types import describe_shape
from .walk import all_arrays, flatten, states


def _leaves(net) -> dict:
    return flatten(net).leaves


def _ports(net, names) -> dict:
    return {p: net.ports[p] for p in names}


def _state_positions(net) -> list:
    return list(states(flatten(net, closed=True)))


def _updated_positions(net) -> list:
    """The "UpdatedArraysPositionList" property: the arrays that training sets without
    gradients (moving and input statistics), as positions like "ArraysPositionList"'s."""
    return [path + (k,) for path, leaf in flatten(net).leaves.items() for k in leaf.updated_arrays]


def summary_graphic(net):
    """The "SummaryGraphic" property: a matplotlib Figure of the LayersGraph, inputs on the
    left, each layer's name, type and output shape in its box (``graphics.diagram``)."""
    return diagram(layers_graph(net), type(net).__name__)


def topology_hash(net) -> str:
    """The "TopologyHash" property: SHA-256 of the structure (layers, options, edges, shapes)."""
    key = repr((structure_key(net), tuple(all_arrays(net))))
    key = re.sub(r" at 0x[0-9a-fA-F]+", "", key)  # object addresses change from run to run
    return hashlib.sha256(key.encode()).hexdigest()


PROPERTIES = {
    "Arrays": all_arrays,
    "ArraysCount": lambda net: len(all_arrays(net)),
    "ArraysDimensions": array_dims,
    "ArraysPositionList": lambda net: list(all_arrays(net)),
    "ArraysTotalByteCount": byte_count,
    "ArraysTotalElementCount": lambda net: element_count(array_dims(net).values()),
    "InputPorts": lambda net: _ports(net, net.input_ports()),
    "Layers": _leaves,
    "LayersCount": lambda net: len(_leaves(net)),
    "LayersGraph": layers_graph,
    "LayersList": lambda net: list(_leaves(net).values()),
    "LayerTypeCounts": lambda net: dict(Counter(type(x).__name__ for x in _leaves(net).values())),
    "OutputPorts": lambda net: _ports(net, net.output_ports()),
    "Properties": lambda net: list(PROPERTIES),
    "RecurrentStatesCount": lambda net: len(_state_positions(net)),
    "RecurrentStatesPositionList": _state_positions,
    "SummaryGraphic": summary_graphic,
    "TopologyHash": topology_hash,
    "UpdatedArraysPositionList": _updated_positions,
}


class NetSummary(str):
    """The text that ``Information(net)`` returns; it prints as itself, without quotes."""

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        return f"<pre>{html.escape(self)}</pre>"


def _summary(net) -> NetSummary:
    dims = array_dims(net)
    missing = sum(a is None for a in all_arrays(net).values())
    count, nbytes = element_count(dims.values()), byte_count(net)
    types = ", ".join(f"{k}: {v}" for k, v in PROPERTIES["LayerTypeCounts"](net).items())
    lines = [
        f"{type(net).__name__}",
        "  input ports:  "
        + ", ".join(f"{p}: {describe_shape(net.ports[p])}" for p in net.input_ports()),
        "  output ports: "
        + ", ".join(f"{p}: {describe_shape(net.ports[p])}" for p in net.output_ports()),
        f"  layers: {len(_leaves(net))} ({types})",
        f"  arrays: {len(dims)}"
        + (f" ({missing} uninitialized)" if missing else "")
        + f", {'?' if count is None else count} elements, "
        + f"{'?' if nbytes is None else nbytes} bytes",
    ]
    states = _state_positions(net)
    if states:
        lines.append(f"  recurrent states: {len(states)}")
    lines.append(f"  topology hash: {topology_hash(net)[:16]}")
    lines += ["", net_table(net) if net.is_container else net_repr(net)]
    return NetSummary("\n".join(lines))


def Information(net: Net, prop: str | None = None):
    """A report on a net (``Information(net)``), or one property (``Information(net, prop)``).

    Without ``prop`` the result is a ``NetSummary``, a str that prints as the report: ports,
    layer counts, array counts and sizes, the topology hash and the layer table.

    Properties (``Information(net, "Properties")`` lists them). Array and layer positions are
    tuples of names, such as ``("1", "Weights")`` or ``("a", "1")``; a bare layer's arrays are
    ``("Weights",)`` and its one layer is at ``()``.

    - "Arrays": position → array (read-only numpy), None while uninitialized;
      "ArraysCount", "ArraysPositionList";
      "ArraysDimensions": position → shape (implied by the ports while uninitialized; None
      while unknown); "ArraysTotalElementCount", "ArraysTotalByteCount" (float32 assumed
      for uninitialized arrays; None while a shape is unknown);
    - "Layers": position → leaf layer; "LayersCount", "LayersList",
      "LayerTypeCounts": type name → count;
    - "InputPorts", "OutputPorts": port name → TensorType (whose repr is the compact shape,
      such as ``(Varying, 3)``; ``.dims`` and ``.kind`` give the parts);
    - "RecurrentStatesCount", "RecurrentStatesPositionList": the state ports of recurrent
      layers (each layer class names them in ``state_ports``), as ``NetPort``s;
    - "LayersGraph": a networkx.DiGraph with a node per leaf layer (named by its path "a/1";
      attributes ``kind="layer"``, ``type``, ``ports``), a ``NetPort(name)`` node per net port
      (``kind="input"``/``"output"``, ``type``) and edges with ``ports``: a list of
      (source port, target port);
    - "SummaryGraphic": a matplotlib Figure drawing the LayersGraph (needs the ``plot`` extra);
    - "TopologyHash": a hex string that depends on the structure (layers, options, edges,
      shapes) but not on the arrays' values;
    - "Properties": this list.

    >>> from netgraph import NetChain, LinearLayer, ElementwiseLayer, Information
    >>> net = NetChain([LinearLayer(5), ElementwiseLayer("Tanh"), LinearLayer(2)], input=3)
    >>> Information(net, "ArraysTotalElementCount")
    32
    >>> Information(net, "ArraysDimensions")[("1", "Weights")]
    (5, 3)
    >>> Information(net, "LayerTypeCounts")
    {'LinearLayer': 2, 'ElementwiseLayer': 1}
    """
    if not isinstance(net, Net):
        raise TypeError(
            f"Information: the first argument must be a layer or a net; received {type(net).__name__}."
        )
    if prop is None:
        return _summary(net)
    if prop not in PROPERTIES:
        raise ValueError(
            f"Information: unknown property {prop!r}{closest(prop, PROPERTIES)}. "
            f"Properties: {', '.join(PROPERTIES)}."
        )
    return PROPERTIES[prop](net)


# -- Options -------------------------------------------------------------------------------


def Options(net_or_class) -> dict:
    """Construction options and their defaults (for a class), or the values of a net.

    ``Options(LinearLayer)`` gives every keyword the constructor takes, with its default.
    ``Options(layer)`` gives the layer's validated options followed by its port shapes under
    the port keywords (``input``, ``output``, …) as TensorTypes. ``Options(chain_or_graph)``
    gives the port shapes of the net.

    >>> from netgraph import LinearLayer, Options
    >>> Options(LinearLayer)["n"] is None
    True
    >>> Options(LinearLayer(2, input=3))
    {'n': (2,), 'biases': True, 'input': (3,), 'output': (2,)}
    """
    if isinstance(net_or_class, type) and issubclass(net_or_class, Net):
        return net_or_class.option_defaults()
    if isinstance(net_or_class, Net):
        own = dict(net_or_class.options)
        return {**own, **{port_option(p): t for p, t in net_or_class.ports.items()}}
    raise TypeError(
        "Options: give a layer or net class such as LinearLayer, or a layer or net; "
        f"received {net_or_class!r}."
    )


__all__ = ["Information", "Options"]
