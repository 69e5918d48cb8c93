"""Pictures: the layer diagram of ``Information(net, "SummaryGraphic")`` and of a net's
notebook summary, the axes of loss plots, and figures as inline SVG.

The diagram is a layered drawing (Sugiyama's method). Each node sits in the column of its
longest path from the inputs (the net's outputs in the last column); an edge that spans
several columns passes through a free slot of each column between, so it never crosses a
box; the order within each column is found by barycenter sweeps, which keep crossings few.
Edges run straight across each column at the height of their slot and bend only in the gaps
between columns, where there are no boxes. ``layout`` does the geometry without matplotlib
(sizes in points); ``diagram`` draws it."""

from __future__ import annotations

import functools
import io
import re
from dataclasses import dataclass, field

import networkx as nx

from .symbols import NetPort
from .types import describe_shape
from .walk import flatten, links

FONT = 8.0  # points
LINE = FONT * 1.35
PAD = 5.0  # inside a box, points
GAP = 36.0  # between columns
ROW_GAP = 14.0  # between slots of a column
SWEEPS = 4


@dataclass
class Box:
    """A node of the diagram: its text lines, kind ("layer", "input", "output" or "route",
    a free slot an edge passes through) and, after ``layout``, its centre and size."""

    lines: list[str]
    kind: str
    x: float = 0.0
    y: float = 0.0
    w: float = 0.0
    h: float = 0.0

    @property
    def left(self) -> float:
        return self.x - self.w / 2

    @property
    def right(self) -> float:
        return self.x + self.w / 2


@dataclass
class Diagram:
    """Boxes by node, and each edge of the layers graph as a polyline of points (from the
    source's right side to the target's left side) with its port label ("" for the usual
    "Output" → "Input")."""

    boxes: dict = field(default_factory=dict)
    edges: list = field(default_factory=list)  # (points, label)
    width: float = 0.0
    height: float = 0.0


def _node(ep):
    path, port = ep
    return NetPort(port) if path == () else "/".join(path)


def layers_graph(net) -> nx.DiGraph:
    """The "LayersGraph" property: leaf layers and the net's ports, wired as in the net. A
    bare recurrent layer's own optional state ports (inputs and outputs at once) are left out."""
    g = nx.DiGraph()
    flat = flatten(net, closed=True)  # an operator is one node, wired as it is
    units, wires = flat.leaves, links(flat)
    for path, leaf in units.items():
        name = "/".join(path) if path else type(leaf).__name__
        g.add_node(
            name,
            kind="layer",
            type=type(leaf).__name__,
            ports=dict(leaf.ports),
            outputs=leaf.output_ports(),
        )
    for p in net.required_inputs():
        g.add_node(NetPort(p), kind="input", type=net.ports[p])
    for p in net.exposed_outputs():
        g.add_node(NetPort(p), kind="output", type=net.ports[p])
    if () in units:  # a bare layer
        name = type(net).__name__
        wires = [(((), p), ((name,), p)) for p in net.required_inputs()]
        wires += [(((name,), p), ((), p)) for p in net.exposed_outputs()]
    for src, dst in wires:
        u, v = _node(src), _node(dst)
        if g.has_edge(u, v):
            g.edges[u, v]["ports"].append((src[1], dst[1]))
        else:
            g.add_edge(u, v, ports=[(src[1], dst[1])])
    return g


def _shapes(data: dict, wired: set) -> list[str]:
    """A layer's output shapes: the ports the net exposes or wires, by name when several."""
    shown = [p for p in data["outputs"] if p in wired or p == "Output"] or data["outputs"][:1]
    if len(shown) == 1:
        return [describe_shape(data["ports"][shown[0]])]
    return [f"{p} {describe_shape(data['ports'][p])}" for p in shown]


def node_lines(g: nx.DiGraph, n) -> list[str]:
    data = g.nodes[n]
    if data["kind"] != "layer":
        return [n.port, describe_shape(data["type"])]
    wired = {src for _, _, e in g.out_edges(n, data=True) for src, _ in e["ports"]}
    head = [n] if n == data["type"] else [n, data["type"]]
    return head + _shapes(data, wired)


def _columns(g: nx.DiGraph) -> dict:
    """Node → column: the longest path from a source; the net's outputs in the last one."""
    col = {}
    for n in nx.topological_sort(g):
        col[n] = max((col[p] + 1 for p in g.predecessors(n)), default=0)
    last = max(col.values(), default=0)  # the inputs, sources, are in column 0 already
    for n, data in g.nodes(data=True):
        if data["kind"] == "output":
            col[n] = last
    return col


def _routed(g: nx.DiGraph, col: dict):
    """The graph with a route node in each column an edge passes over (their columns added
    to ``col``); and each edge of g as its chain of nodes, with its label."""
    h = nx.DiGraph()
    h.add_nodes_from(g.nodes)
    chains = []
    for u, v, data in g.edges(data=True):
        chain = [u] + [("route", u, v, c) for c in range(col[u] + 1, col[v])] + [v]
        for c, node in enumerate(chain[1:-1], col[u] + 1):
            col[node] = c
        nx.add_path(h, chain)
        chains.append((chain, _label(g, u, v, data["ports"])))
    return h, chains


def _order(h: nx.DiGraph, col: dict) -> list[list]:
    """Nodes by column, ordered by barycenter sweeps down and up the columns."""
    columns = [[] for _ in range(max(col.values(), default=0) + 1)]
    for n in nx.topological_sort(h):  # a stable first order: inputs as given
        columns[col[n]].append(n)
    for sweep in range(SWEEPS):
        down = sweep % 2 == 0
        near = h.predecessors if down else h.successors
        for c in range(1, len(columns)) if down else range(len(columns) - 2, -1, -1):
            where = {n: i for i, n in enumerate(columns[c - 1 if down else c + 1])}
            keys = {}
            for i, n in enumerate(columns[c]):
                ranks = [where[m] for m in near(n) if m in where]
                keys[n] = sum(ranks) / len(ranks) if ranks else i
            columns[c].sort(key=keys.__getitem__)
    return columns


def _label(g: nx.DiGraph, u, v, ports: list) -> str:
    """An edge's label: the ports it joins, but a layer's "Output" and "Input" ("Input1", …
    of a CatenateLayer), the net's own ports and a layer port of the net port's name, which
    the boxes say already."""
    net_port = next((n.port for n in (u, v) if g.nodes[n]["kind"] != "layer"), None)

    def plain(node, port, usual):
        layer = g.nodes[node]["kind"] == "layer"
        return not layer or port in (usual, net_port) or re.fullmatch(usual, port) is not None

    parts = []
    for s, t in ports:
        s_plain, t_plain = plain(u, s, "Output"), plain(v, t, r"Input\d*")
        if not (s_plain and t_plain):
            parts.append(t if s_plain else s if t_plain else f"{s}→{t}")
    return ", ".join(parts)


def layout(g: nx.DiGraph, text_width) -> Diagram:
    """The geometry of the layers graph ``g`` (``Information(net, "LayersGraph")``), in
    points; ``text_width(s)`` is the width of a line of text at the diagram's font."""
    if not g:
        return Diagram()
    col = _columns(g)
    h, chains = _routed(g, col)
    columns = _order(h, col)
    d = Diagram()
    for n in h.nodes:
        if n in g:
            lines = node_lines(g, n)
            w = max(text_width(s) for s in lines) + 2 * PAD
            d.boxes[n] = Box(lines, g.nodes[n]["kind"], w=w, h=len(lines) * LINE + 2 * PAD)
        else:
            d.boxes[n] = Box([], "route")
    slot = max((b.h for b in d.boxes.values()), default=0.0) + ROW_GAP
    rows = max((len(c) for c in columns), default=0)
    bounds, x = {}, 0.0  # node → (left, right) of its column
    for column in columns:
        width = max(d.boxes[n].w for n in column)
        top = (rows - len(column)) * slot / 2  # each column centred
        for i, n in enumerate(column):
            b = d.boxes[n]
            b.x, b.y = x + width / 2, top + (i + 0.5) * slot
            bounds[n] = (x, x + width)
        x += width + GAP
    d.width, d.height = max(x - GAP, 0.0), rows * slot
    exits, entries = _spread(d, chains, out=True), _spread(d, chains, out=False)
    for k, (chain, label) in enumerate(chains):
        src, dst = d.boxes[chain[0]], d.boxes[chain[-1]]
        ys, yd = src.y + exits[k], dst.y + entries[k]
        points = [(src.right, ys), (bounds[chain[0]][1], ys)]
        for n in chain[1:-1]:  # route slots: straight across their column
            points += [(bounds[n][0], d.boxes[n].y), (bounds[n][1], d.boxes[n].y)]
        points += [(bounds[chain[-1]][0], yd), (dst.left, yd)]
        points = [p for i, p in enumerate(points) if i == 0 or not _same(p, points[i - 1])]
        d.edges.append((points, label))
    return d


def _same(p: tuple, q: tuple) -> bool:
    """Whether two points coincide up to round-off (a box as wide as its column has its side
    on the column's bound, give or take an ulp): a tiny last segment would turn the
    arrowhead."""
    return abs(p[0] - q[0]) < 1e-6 and abs(p[1] - q[1]) < 1e-6


def _spread(d: Diagram, chains: list, *, out: bool) -> list[float]:
    """Each edge's offset from the centre of its source's right side (``out``) or its
    target's left side, so that the edges of one box leave or arrive side by side, in the
    order of the boxes at their other ends."""
    ends = {}
    for k, (chain, _) in enumerate(chains):
        here, there = (chain[0], chain[1]) if out else (chain[-1], chain[-2])
        ends.setdefault(here, []).append((d.boxes[there].y, k))
    offsets = [0.0] * len(chains)
    for here, group in ends.items():
        group.sort()
        step = min(LINE * 0.6, (d.boxes[here].h - 2 * PAD) / len(group))
        for i, (_, k) in enumerate(group):
            offsets[k] = (i - (len(group) - 1) / 2) * step
    return offsets


# -- drawing with matplotlib ---------------------------------------------------------------


def have_matplotlib() -> bool:
    """Whether matplotlib (the optional ``[plot]`` extra) can be imported."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def need_matplotlib(what: str) -> None:
    if not have_matplotlib():
        raise ImportError(
            f"{what} draws with matplotlib, which is not installed: pip install netgraph[plot]"
        )


COLORS = {"layer": "#dce9f5", "input": "#f1f1f1", "output": "#f1f1f1"}


@functools.cache
def picture_class():
    """``Picture``: a matplotlib Figure that a notebook shows by itself, as SVG, where a
    plain Figure made without pyplot would show as its repr."""
    from matplotlib.figure import Figure

    class Picture(Figure):
        """A matplotlib Figure that a notebook shows as SVG."""

        def _repr_svg_(self) -> str:
            return svg(self)

    Picture.__qualname__ = "Picture"
    return Picture


def diagram(g: nx.DiGraph, title: str = ""):
    """A matplotlib Figure of the layers graph, inputs on the left; 1 data unit = 1 point."""
    need_matplotlib('Information(net, "SummaryGraphic")')
    from matplotlib.font_manager import FontProperties
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
    from matplotlib.path import Path
    from matplotlib.textpath import TextToPath

    font = FontProperties(size=FONT)
    measure = TextToPath()
    d = layout(g, lambda s: measure.get_text_width_height_descent(s, font, ismath=False)[0])
    margin, top = 6.0, 16.0 if title else 6.0
    size = ((d.width + 2 * margin) / 72, (d.height + margin + top) / 72)
    fig = picture_class()(figsize=size)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(-margin, d.width + margin)
    ax.set_ylim(d.height + margin, -top)
    ax.set_axis_off()
    if title:  # a figure text, so that the axes' texts are the boxes' and the edges'
        y = 1 - top / 2 / (d.height + margin + top)
        fig.text(0.5, y, title, ha="center", va="center", fontsize=FONT + 1, parse_math=False)
    for b in d.boxes.values():
        if b.kind == "route":
            continue
        ax.add_patch(
            FancyBboxPatch(
                (b.left, b.y - b.h / 2),
                b.w,
                b.h,
                boxstyle="round,pad=0,rounding_size=4",
                facecolor=COLORS[b.kind],
                edgecolor="0.45",
                linewidth=0.8,
            )
        )
        text = "\n".join(b.lines)  # names as they are: a $ is not mathtext
        ax.text(b.x, b.y, text, ha="center", va="center", fontproperties=font, parse_math=False)
    for points, label in d.edges:
        codes = [Path.MOVETO] + [Path.LINETO] * (len(points) - 1)
        arrow = FancyArrowPatch(
            path=Path(points, codes), arrowstyle="-|>,head_length=0.5,head_width=0.25",
            mutation_scale=10, color="0.35", linewidth=0.8, shrinkA=0, shrinkB=0,
        )  # fmt: skip
        ax.add_patch(arrow)
        if label:  # over the last gap between columns
            gaps = [(a, b) for a, b in zip(points, points[1:]) if a[1] != b[1]] or [points[-2:]]
            (x0, y0), (x1, y1) = gaps[-1]
            ax.text((x0 + x1) / 2, (y0 + y1) / 2 - 2, label, ha="center", va="bottom",
                    fontsize=FONT - 1.5, color="0.3", parse_math=False)  # fmt: skip
    return fig


def plot_losses(ax, losses: list, validation: list, *, first: int = 1) -> None:
    """Round and validation losses against whole-number rounds; a log scale when they span
    more than a decade, its ticks labelled plainly (0.3, not 3×10⁻¹)."""
    from matplotlib.ticker import FuncFormatter, MaxNLocator, NullFormatter, ScalarFormatter

    rounds = range(first, first + len(losses))
    marker = "." if len(losses) <= 50 else None
    ax.plot(rounds, losses, label="training loss", marker=marker)
    if validation:
        ax.plot(rounds[: len(validation)], validation, label="validation loss", marker=marker)
    values = [v for v in losses + validation if v == v]  # NaN aside
    if values and min(values) > 0 and max(values) > 10 * min(values):
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))  # 0.01, 1e-05
        ax.yaxis.set_minor_formatter(NullFormatter())
    else:
        ax.yaxis.set_major_formatter(ScalarFormatter(useOffset=False, useMathText=False))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
    ax.set_xlim(first - 0.5, first + max(len(losses), 1) - 0.5)
    ax.set_xlabel("round")
    ax.set_ylabel("loss")
    ax.grid(alpha=0.3)
    ax.legend()


def loss_figure(losses: list, validation: list, *, first: int = 1, size=(6, 3.5)):
    """A Picture of ``plot_losses``: the "LossPlot" property and the training panel's curves."""
    fig = picture_class()(figsize=size, layout="constrained")
    plot_losses(fig.add_subplot(), losses, validation, first=first)
    return fig


def svg(fig, *, fit: bool = True) -> str:
    """A Figure as an inline ``<svg>`` element, its text kept as text. ``fit=False`` keeps
    its size where a page's style would shrink it to the width (its container scrolls)."""
    import matplotlib

    buf = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        fig.savefig(buf, format="svg", bbox_inches="tight")
    text = buf.getvalue()
    text = text[text.index("<svg") :]
    return text if fit else text.replace("<svg ", '<svg style="max-width:none" ', 1)


__all__ = [
    "diagram",
    "have_matplotlib",
    "layers_graph",
    "layout",
    "loss_figure",
    "need_matplotlib",
    "picture_class",
    "plot_losses",
    "svg",
]
