"""A custom recurrent cell: a peephole LSTM written as a NetGraph and folded over sequences
with NetFoldOperator (and, the same way, a layer-normalized LSTM cell:
``layer_norm_lstm_cell``).

The cell (Gers and Schmidhuber's LSTM with peephole connections, here full matrices P·c)
takes the step's "Input" x and the states "State" s and "CellState" c, and gives the new
state as "Output" and the new cell as "NewCellState" (a graph's input and output ports have
different names):

    i = σ(Wi·x + Ui·s + Pi·c + bi)     f = σ(Wf·x + Uf·s + Pf·c + bf)
    c' = f*c + i*tanh(Wm·x + Um·s + bm)
    o = σ(Wo·x + Uo·s + Po·c' + bo)    s' = o*tanh(c')

``NetFoldOperator(cell, {"Output": "State", "NewCellState": "CellState"}, outputs=["Output"])``
feeds both back at every step, returns the sequence of states, computes gradients through time, and stops each sequence of a ragged batch at
its own length. With its peephole matrices at zero the cell is exactly Wolfram's
LongShortTermMemoryLayer (tests/containers/test_operators.py checks it). The task asks for
timing, what peepholes were made for: a sequence holds two spikes, and its class is whether
they are more than 8 steps apart. The metric is the accuracy on held-out sequences.

    python examples/custom_cell.py
"""

from __future__ import annotations

import numpy as np

from netgraph import (
    ElementwiseLayer,
    LinearLayer,
    NetChain,
    NetFoldOperator,
    NetGraph,
    NetPort,
    NetTrain,
    NormalizationLayer,
    SequenceLastLayer,
    SoftmaxLayer,
    ThreadingLayer,
)


def peephole_lstm_cell(n: int, k: int) -> NetGraph:
    """One step of a peephole LSTM with n units on k inputs, as a NetGraph."""
    layers, edges = {}, []
    for g in "ifmo":
        layers[f"x{g}"] = LinearLayer(n)  # W·x + b
        layers[f"s{g}"] = LinearLayer(n, biases=None)  # U·s
        edges += [(NetPort("Input"), f"x{g}"), (NetPort("State"), f"s{g}")]
    for g, source in (("i", NetPort("CellState")), ("f", NetPort("CellState")), ("o", "c")):
        layers[f"p{g}"] = LinearLayer(n, biases=None)  # P·c (the output gate reads c')
        edges.append((source, f"p{g}"))
    for g in "ifo":
        layers[f"sum{g}"] = ThreadingLayer("Plus")
        layers[g] = ElementwiseLayer("LogisticSigmoid")
        edges += [([f"x{g}", f"s{g}", f"p{g}"], f"sum{g}"), (f"sum{g}", g)]
    layers["summ"] = ThreadingLayer("Plus")
    layers["m"] = ElementwiseLayer("Tanh")
    layers["fc"] = ThreadingLayer("Times")
    layers["im"] = ThreadingLayer("Times")
    layers["c"] = ThreadingLayer("Plus")
    layers["tc"] = ElementwiseLayer("Tanh")
    layers["s"] = ThreadingLayer("Times")
    edges += [
        (["xm", "sm"], "summ"),
        ("summ", "m"),
        (["f", NetPort("CellState")], "fc"),
        (["i", "m"], "im"),
        (["fc", "im"], "c"),
        ("c", "tc"),
        (["o", "tc"], "s"),
        ("s", NetPort("Output")),
        ("c", NetPort("NewCellState")),
    ]
    return NetGraph(layers, edges, input=k, State=n, CellState=n)


def layer_norm_lstm_cell(n: int, k: int) -> NetGraph:
    """One step of a layer-normalized LSTM (Ba, Kiros and Hinton) with n units on k inputs:
    each gate's input and state products normalized apart (NormalizationLayer, whose
    "Biases" are the gate's biases), and the new cell normalized before its tanh:

        g = act(LN(Wg·x) + LN(Ug·s))   for g = i, f, o (σ) and m (tanh)
        c' = f*c + i*m                 s' = o*tanh(LN(c'))
    """
    layers, edges = {}, []
    for g in "ifmo":
        layers[f"x{g}"] = LinearLayer(n, biases=None)
        layers[f"s{g}"] = LinearLayer(n, biases=None)
        layers[f"nx{g}"] = NormalizationLayer()
        layers[f"ns{g}"] = NormalizationLayer()
        layers[f"sum{g}"] = ThreadingLayer("Plus")
        layers[g] = ElementwiseLayer("Tanh" if g == "m" else "LogisticSigmoid")
        edges += [
            (NetPort("Input"), f"x{g}", f"nx{g}"),
            (NetPort("State"), f"s{g}", f"ns{g}"),
            ([f"nx{g}", f"ns{g}"], f"sum{g}"),
            (f"sum{g}", g),
        ]
    layers.update(
        fc=ThreadingLayer("Times"),
        im=ThreadingLayer("Times"),
        c=ThreadingLayer("Plus"),
        nc=NormalizationLayer(),
        tc=ElementwiseLayer("Tanh"),
        s=ThreadingLayer("Times"),
    )
    edges += [
        (["f", NetPort("CellState")], "fc"),
        (["i", "m"], "im"),
        (["fc", "im"], "c"),
        ("c", "nc", "tc"),
        (["o", "tc"], "s"),
        ("s", NetPort("Output")),
        ("c", NetPort("NewCellState")),
    ]
    return NetGraph(layers, edges, input=k, State=n, CellState=n)


def make(rng, n: int):
    xs, ys = [], []
    for _ in range(n):
        T = int(rng.integers(20, 31))
        gap = int(rng.integers(2, 15))
        start = int(rng.integers(0, T - gap))
        x = 0.1 * rng.normal(size=(T, 1))
        x[[start, start + gap], 0] += 1.0
        xs.append(x.astype(np.float32))
        ys.append(int(gap > 8))
    return xs, ys


def main(
    n_train: int = 600,
    n_test: int = 200,
    *,
    rounds: int = 15,
    units: int = 8,
    seed: int = 0,
    report="Print",
) -> float:
    rng = np.random.default_rng(seed)
    (xs, ys), (tx, ty) = make(rng, n_train), make(rng, n_test)
    fold = NetFoldOperator(
        peephole_lstm_cell(units, 1),
        {"Output": "State", "NewCellState": "CellState"},
        outputs=["Output"],
    )
    net = NetChain(
        [fold, SequenceLastLayer(), LinearLayer(2), SoftmaxLayer()], input=("Varying", 1)
    )
    trained = NetTrain(
        net,
        (xs, ys),
        batch_size=32,
        max_training_rounds=rounds,
        method=("ADAM", {"learning_rate": 2e-2}),
        random_seed=seed,
        training_progress_reporting=report,
    )
    accuracy = float(np.mean(np.argmax(trained(tx), -1) == np.array(ty)))
    print(
        f"peephole LSTM cell (NetFoldOperator): test accuracy {accuracy:.1%} on {n_test} sequences"
    )
    return accuracy


if __name__ == "__main__":
    main()
