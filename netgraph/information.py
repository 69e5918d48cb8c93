"""Introspection: Information(net, prop), Options, the terminal table and the notebook table."""

from __future__ import annotations

from .inference import flatten
from .types import describe_shape


def all_arrays(net) -> dict:
    """(layer path…, array name) → array or None, for every leaf layer."""
    return {
        path + (k,): a for path, leaf in flatten(net).leaves.items() for k, a in leaf.arrays.items()
    }


def structure_key(net):
    """Everything that defines a net except its arrays: types, options, layers and edges."""
    if hasattr(net, "layers"):
        return (
            type(net).__name__,
            tuple((k, structure_key(c)) for k, c in net.layers.items()),
            tuple(net.edges),
            tuple((p, describe_shape(t)) for p, t in net.ports.items()),
        )
    return (
        type(net).__name__,
        tuple((k, repr(v)) for k, v in net.options.items()),
        tuple((p, describe_shape(t)) for p, t in net.ports.items()),
    )


def _rows(net):
    flat = flatten(net)
    rows = []
    for path, leaf in flat.leaves.items():
        out = leaf.output_ports()
        shape = describe_shape(leaf.ports[out[0]]) if out else ""
        n = sum(a.size for a in leaf.arrays.values() if a is not None)
        missing = sum(a is None for a in leaf.arrays.values())
        arr = f"{n}" + (" (uninitialized)" if missing else "") if leaf.arrays else ""
        rows.append(("/".join(path) or "", type(leaf).__name__, shape, arr))
    return rows


def _header(net) -> str:
    ins = ", ".join(f"{p}: {describe_shape(net.ports[p])}" for p in net.input_ports())
    outs = ", ".join(f"{p}: {describe_shape(net.ports[p])}" for p in net.output_ports())
    return f"{type(net).__name__}[{ins} -> {outs}]"


def net_repr(net) -> str:
    if not hasattr(net, "layers"):
        opts = ", ".join(f"{k}={v!r}" for k, v in net.options.items())
        return f"{type(net).__name__}({opts}) " + _header(net)[len(type(net).__name__) :]
    rows = [("layer", "type", "output", "arrays")] + _rows(net)
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = [_header(net)] + [
        "  " + "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows
    ]
    return "\n".join(lines)


def net_html(net) -> str:
    import html

    if not hasattr(net, "layers"):
        return f"<pre>{html.escape(net_repr(net))}</pre>"
    rows = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in _rows(net)
    )
    head = "".join(f"<th>{h}</th>" for h in ("layer", "type", "output", "arrays"))
    return f"<div><b>{html.escape(_header(net))}</b><table><tr>{head}</tr>{rows}</table></div>"


__all__: list[str] = []
