"""How a net looks: ``repr(net)`` in a terminal, ``_repr_html_`` in a notebook, and the array
counts that the table and ``Information`` share."""

from __future__ import annotations

import html

import numpy as np

from .graphics import diagram, have_matplotlib, layers_graph, svg
from .text import html_box, html_table
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
    plural = "" if layers == 1 else "s"
    return f"{layers} layer{plural}, {len(dims)} arrays, {'?' if n is None else n} elements"


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


# -- notebook summaries ----------------------------------------------------------------------

PICTURE_LAYERS = 40  # a picture of a larger net would be too small to read


def section(title: str, body: str, *, shown: bool = True) -> str:
    """A part of a summary box that can be folded (``<details>``)."""
    return (
        f'<details{" open" if shown else ""} style="margin-top:4px">'
        f"<summary>{html.escape(title)}</summary>{body}</details>"
    )


def picture_of(draw) -> str:
    """The figure that ``draw()`` makes, as inline SVG; "" without matplotlib."""
    if not have_matplotlib():
        return ""
    try:
        return f'<div style="overflow-x:auto">{svg(draw(), fit=False)}</div>'  # a wide one scrolls
    except Exception as e:  # a summary without its picture rather than no summary
        return f"<div><i>(no picture: {html.escape(type(e).__name__)}: {html.escape(str(e))})</i></div>"


def picture(net, layers: int) -> str:
    """The layer diagram of a net of ``layers`` leaf layers as inline SVG; "" without
    matplotlib or for a net too large."""
    if layers > PICTURE_LAYERS:
        return ""
    return picture_of(lambda: diagram(layers_graph(net)))


def _port_rows(net) -> list:
    def shown(p):
        c = net.coders.get(p)
        return html.escape(repr(c) if c is not None else describe_shape(net.ports[p]))

    rows = [("input", html.escape(p), shown(p)) for p in net.required_inputs()]
    rows += [("output", html.escape(p), shown(p)) for p in net.exposed_outputs()]
    rows += [("state", html.escape(p), shown(p)) for p in net.state_ports]
    return rows


def _array_rows(net) -> list:
    implied = net.array_shapes(net.ports)
    rows = []
    for k, a in net.arrays.items():
        shape = a.shape if a is not None else _known(implied.get(k))
        kind = str(a.dtype) if a is not None else "uninitialized"
        rows.append((html.escape(k), html.escape(str(shape) if shape else "?"), kind))
    return rows


def net_html(net) -> str:
    """``_repr_html_``: a summary box as Wolfram's: ports with their shapes (or encoders and
    decoders), then a container's layer table or a layer's options and arrays, the array
    counts, and a picture of the layer graph."""
    parts = [section("ports", html_table(_port_rows(net), ("", "port", "shape")))]
    rows = [[html.escape(c) for c in r] for r in _rows(net)]  # a row per leaf layer
    if net.is_container:
        parts.append(section("layers", html_table(rows, COLUMNS), shown=len(rows) <= 30))
    else:
        options = _options(net)
        if options:
            parts.append(section("options", f"<code>{html.escape(options)}</code>"))
        if net.arrays:
            table = html_table(_array_rows(net), ("array", "shape", "type"))
            parts.append(section("arrays", table, shown=len(net.arrays) <= 6))
    pic = picture(net, len(rows))
    if pic:
        parts.append(section("graph", pic, shown=net.is_container))
    parts.append(f'<div style="margin-top:4px;color:#555">{html.escape(_footer(net))}</div>')
    return html_box(type(net).__name__, *parts)


def values_html(a: np.ndarray) -> str:
    """An array's first values, as numpy prints them (at most a line or two)."""
    a = np.asarray(a)
    if a.ndim == 0 and np.issubdtype(a.dtype, np.number):
        return f"<code>{float(a):.4g}</code>"
    text = np.array2string(a, precision=4, threshold=12, edgeitems=3)
    return f"<code>{html.escape(text)}</code>"


def state_html(so) -> str:
    """``NetStateObject._repr_html_``: the net's header and the states the next call starts
    from, with their shapes and first values."""
    states = so.states
    if states:
        rows = [
            (html.escape(repr(k)), html.escape(str(np.shape(v))), values_html(v))
            for k, v in states.items()
        ]
        body = html_table(rows, ("state", "shape", "values"))
    else:
        body = "<div>zeros: the first call starts every recurrent state at zero</div>"
    head = f"<div><code>{html.escape(_header(so.net))}</code></div>"
    return html_box("NetStateObject", head, section("states", body))
