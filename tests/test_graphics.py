"""The layer diagram (SummaryGraphic, the notebook summary's picture): no edge crosses a box,
edges run left to right, boxes do not overlap; and the loss plot's axes read plainly."""

import networkx as nx
import numpy as np
import pytest

from netgraph import *
from netgraph.graphics import layout


def width(s: str) -> float:
    return 5.0 * len(s)


def crosses(p, q, box, inset=0.5) -> bool:
    """Whether the segment p–q meets the inside of the box (shrunk by ``inset``): Liang–Barsky
    clipping of the segment against the rectangle."""
    x0, x1 = box.left + inset, box.right - inset
    y0, y1 = box.y - box.h / 2 + inset, box.y + box.h / 2 - inset
    t0, t1 = 0.0, 1.0
    dx, dy = q[0] - p[0], q[1] - p[1]
    for den, num in ((-dx, p[0] - x0), (dx, x1 - p[0]), (-dy, p[1] - y0), (dy, y1 - p[1])):
        if den == 0:
            if num < 0:
                return False
            continue
        t = num / den
        if den < 0:
            t0 = max(t0, t)
        else:
            t1 = min(t1, t)
        if t0 > t1:
            return False
    return True


def check(g: nx.DiGraph):
    d = layout(g, width)
    boxes = [b for b in d.boxes.values() if b.kind != "route"]
    assert len(boxes) == g.number_of_nodes()
    assert len(d.edges) == g.number_of_edges()
    for points, _ in d.edges:
        xs = [x for x, _ in points]
        assert xs == sorted(xs), "an edge runs backwards"
        for p, q in zip(points, points[1:]):
            for b in boxes:
                assert not crosses(p, q, b), f"edge {points} crosses the box {b.lines}"
    for i, a in enumerate(boxes):  # no two boxes overlap
        for b in boxes[i + 1 :]:
            apart_x = a.right <= b.left or b.right <= a.left
            apart_y = a.y + a.h / 2 <= b.y - b.h / 2 or b.y + b.h / 2 <= a.y - a.h / 2
            assert apart_x or apart_y, (a.lines, b.lines)
    return d


def test_the_crossing_check_sees_a_crossing():
    d = layout(Information(NetChain([LinearLayer(2)], input=3), "LayersGraph"), width)
    box = d.boxes["1"]
    assert crosses((box.left - 10, box.y), (box.right + 10, box.y), box)
    assert not crosses((box.left - 10, box.y), (box.left, box.y), box)  # touching the side
    assert not crosses((box.left - 10, box.y - box.h), (box.right + 10, box.y - box.h), box)


def skip_graph():
    return NetGraph(
        {
            "lin": LinearLayer(4),
            "lstm": LongShortTermMemoryLayer(4),
            "cat": CatenateLayer(),
            "last": SequenceLastLayer(),
            "out": LinearLayer(2),
        },
        [
            (NetPort("Input"), "lin"),
            ("lin", "lstm"),
            (["lin", "lstm"], "cat"),
            ("cat", "last", "out"),
            (NetPort("h0"), NetPort("lstm", "State")),
            ("lin", NetPort("Features")),
        ],
        input=("Varying", 3),
    )


NETS = {
    "chain": lambda: NetChain([LinearLayer(3), ElementwiseLayer("Tanh"), LinearLayer(2)], input=4),
    "skips and a state port": skip_graph,
    "nested and operators": lambda: NetChain(
        {
            "enc": NetChain([LinearLayer(5), ElementwiseLayer("Tanh")]),
            "bi": NetBidirectionalOperator(LongShortTermMemoryLayer(3)),
            "map": NetMapOperator(LinearLayer(2)),
        },
        input=("Varying", 3),
    ),
    "bare layer": lambda: LongShortTermMemoryLayer(3, input=("Varying", 2)),
}


@pytest.mark.parametrize("name", NETS)
def test_no_edge_crosses_a_box(name):
    check(Information(NETS[name](), "LayersGraph"))


def test_long_edges_pass_through_free_slots_and_ports_are_labelled():
    d = check(Information(skip_graph(), "LayersGraph"))
    routes = [n for n, b in d.boxes.items() if b.kind == "route"]
    # lin → cat skips lstm's column; h0 → lstm skips lin's; lin → Features skips four
    assert len(routes) == 1 + 1 + 4
    assert sorted(label for _, label in d.edges if label) == ["State"]


@pytest.mark.parametrize("seed", range(8))
def test_random_layered_graphs(seed):
    """Boxes of one to four lines, layers with up to six inputs and several outputs."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(4, 16))
    g = nx.DiGraph()
    vector = LinearLayer(3, input=2).ports["Output"]
    for i in range(n):
        outs = [f"Out{j}" for j in range(int(rng.integers(1, 4)))]
        g.add_node(str(i), kind="layer", type="T" if i % 3 else str(i),
                   ports=dict.fromkeys(outs, vector), outputs=outs)  # fmt: skip
    for j in range(1, n):
        for i in rng.choice(j, size=min(j, int(rng.integers(1, 7))), replace=False):
            g.add_edge(str(i), str(j), ports=[("Out0", "Input")])
    check(g)


def test_an_empty_graph_has_an_empty_layout():
    d = layout(nx.DiGraph(), width)
    assert d.boxes == {} and d.edges == [] and d.width == 0


def test_edge_labels_name_the_ports_a_box_does_not():
    g = nx.DiGraph()
    vector = LinearLayer(3, input=2).ports["Output"]
    for name in "abcd":
        g.add_node(name, kind="layer", type="T", ports={"Output": vector}, outputs=["Output"])
    g.add_edge("a", "b", ports=[("Output", "Input2")])  # a CatenateLayer's input: plain
    g.add_edge("b", "c", ports=[("Output", "Label1")])
    g.add_edge("c", "d", ports=[("State", "Input")])
    labels = [label for _, label in layout(g, width).edges]
    assert labels == ["", "Label1", "State"]


def test_names_are_drawn_as_they_are():
    pytest.importorskip("matplotlib", reason="SummaryGraphic draws with matplotlib")
    net = NetChain({"p$\\frac$": LinearLayer(2), "b": ElementwiseLayer("Tanh")}, input=3)
    texts = [t.get_text() for t in Information(net, "SummaryGraphic").axes[0].texts]
    assert "p$\\frac$\nLinearLayer\n(2,)" in texts
    assert "p$\\frac$" in net._repr_html_() and "no picture" not in net._repr_html_()


def test_summary_graphic_is_a_figure_with_every_box():
    pytest.importorskip("matplotlib", reason="SummaryGraphic draws with matplotlib")
    fig = Information(skip_graph(), "SummaryGraphic")
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "lstm\nLongShortTermMemoryLayer\n(Varying, 4)" in texts
    assert "h0\n(4,)" in texts and "State" in texts
    assert [t.get_text() for t in fig.texts] == ["NetGraph"]


def test_loss_plot_axes_read_plainly():
    pytest.importorskip("matplotlib", reason="LossPlot draws with matplotlib")
    x = np.linspace(-1, 1, 16)[:, None]
    r = NetTrain(LinearLayer(1, input=1), (x, 2 * x + 1), "All", max_training_rounds=7,
                 validation_set=(x, 2 * x + 1), random_seed=0, training_progress_reporting=None)  # fmt: skip
    fig = r["LossPlot"]
    fig.canvas.draw()  # tick labels are made when drawn
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels(minor=True) + ax.get_yticklabels()]
    assert labels and not any("10^" in s or "times" in s or "$" in s for s in labels), labels
    rounds = [t for t in ax.get_xticks() if 1 <= t <= 7]
    assert rounds and all(float(t).is_integer() for t in rounds), rounds
    assert [line.get_label() for line in ax.get_lines()] == ["training loss", "validation loss"]


@pytest.mark.parametrize("name", NETS)
def test_every_segment_has_a_length_and_the_last_points_right(name):
    """A segment of round-off length would turn the arrowhead drawn on it."""
    d = layout(Information(NETS[name](), "LayersGraph"), lambda s: 4.7 * len(s) + 0.1)
    for points, _ in d.edges:
        for (x0, y0), (x1, y1) in zip(points, points[1:]):
            assert abs(x1 - x0) + abs(y1 - y0) > 1e-3, points
        (x0, y0), (x1, y1) = points[-2:]
        assert x1 - x0 > 1e-3, points  # into the box's left side
