"""How a net looks: ``repr(net)`` in a terminal, ``_repr_html_`` in a notebook, and the array
counts that the table and ``Information`` share."""

from __future__ import annotations

import html

import numpy as np

from .types import describe_shape
from .walk import all_arrays, flatten

# -- array bookkeeping ---------------------------------------------------------------------


def _known(shape):
    return None if shape is None or any(not isinstance(d, int) for d in shape) else tuple(shape)


def array_dims(net) -> dict:
    """path → shape of every array (the array's own shape, else the one its ports imply)."""
    out = {}
    for path, leaf in flatten(net).leaves.items():
        if not leaf.arrays:
            continue
        implied = leaf.array_shapes(leaf.ports)
        for k, a in leaf.arrays.items():
            out[path + (k,)] = a.shape if a is not None else _known(implied.get(k))
    return out


def element_count(dims) -> int | None:
    shapes = list(dims)
    if any(s is None for s in shapes):
        return None
    return int(sum(int(np.prod(s)) for s in shapes))


def byte_count(net) -> int | None:
    total = 0
    arrays = all_arrays(net)
    for path, shape in array_dims(net).items():
        a = arrays[path]
        if a is not None:
            total += a.nbytes
        elif shape is None:
            return None
        else:
            total += int(np.prod(shape)) * 4  # NetInitialize makes float32 arrays
    return total


# -- the terminal table and the notebook table ---------------------------------------------


def _out_shapes(leaf) -> str:
    outs = leaf.exposed_outputs()  # a recurrent layer's final states are optional outputs
    if len(outs) == 1:
        return describe_shape(leaf.ports[outs[0]])
    return ", ".join(f"{p}: {describe_shape(leaf.ports[p])}" for p in outs)


def _rows(net):
    dims = array_dims(net)
    rows = []
    for path, leaf in flatten(net).leaves.items():
        arr = ""
        if leaf.arrays:
            n = element_count(dims[path + (k,)] for k in leaf.arrays)
            missing = any(a is None for a in leaf.arrays.values())
            arr = ("?" if n is None else f"{n}") + (" (uninitialized)" if missing else "")
        rows.append(("/".join(path), type(leaf).__name__, _out_shapes(leaf), arr))
    return rows


def _header(net) -> str:
    """``Type[Input: … -> Output: …]``; a bare recurrent layer's states after a semicolon."""

    def show(p):
        c = net.coders.get(p)
        return f"{p}: {c!r}" if c is not None else f"{p}: {describe_shape(net.ports[p])}"

    ins = ", ".join(show(p) for p in net.required_inputs())
    outs = ", ".join(show(p) for p in net.exposed_outputs())
    states = ", ".join(f"{p} {describe_shape(net.ports[p])}" for p in net.state_ports)
    return f"{type(net).__name__}[{ins} -> {outs}{'; states: ' + states if states else ''}]"


def _options(layer) -> str:
    """The options of a layer but those left at their defaults and empty ones."""
    defaults = type(layer).option_defaults()

    def shown(k, v) -> bool:
        empty = v is None or (isinstance(v, (dict, tuple, list)) and not v)
        return not empty and (k not in defaults or repr(defaults[k]) != repr(v))

    return ", ".join(f"{k}={v!r}" for k, v in layer.options.items() if shown(k, v))


def _footer(net) -> str:
    dims = array_dims(net)
    n = element_count(dims.values())
    layers = len(flatten(net).leaves)
    return f"{layers} layers, {len(dims)} arrays, {'?' if n is None else n} elements"


COLUMNS = ("layer", "type", "output", "elements")


def net_repr(net) -> str:
    """``repr(net)``: a layer's options and ports on one line; a net's table of leaf layers."""
    if not net.is_container:
        missing = any(a is None for a in net.arrays.values())
        tail = " (uninitialized)" if missing else ""
        ports = _header(net)[len(type(net).__name__) :]
        return f"{type(net).__name__}({_options(net)}) {ports}{tail}"
    return _header(net) + "\n" + net_table(net)


def net_table(net) -> str:
    """A net's table of leaf layers (type, output shape, array elements) and a footer line."""
    rows = [COLUMNS] + _rows(net)
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = ["  " + "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    return "\n".join(lines + ["  " + _footer(net)])


def net_html(net) -> str:
    """``_repr_html_``: the same table as ``repr(net)``, as HTML."""
    if not net.is_container:
        return f"<pre>{html.escape(net_repr(net))}</pre>"
    rows = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in _rows(net)
    )
    head = "".join(f"<th>{h}</th>" for h in COLUMNS)
    return (
        f"<div><b>{html.escape(_header(net))}</b><table><tr>{head}</tr>{rows}</table>"
        f"<small>{html.escape(_footer(net))}</small></div>"
    )
