"""The training net: the user's net with a loss attached to each output, as Wolfram does.

A softmax output gets ``CrossEntropyLossLayer("Index")`` (targets are class indices), a
logistic-sigmoid output ``CrossEntropyLossLayer("Binary")``, any other output
``MeanSquaredLossLayer()``. The training net's ports: the net's inputs, a target port per
output ("Target", or "<output>Target" when the net has several outputs) and a loss output
per output ("Loss", or "<output>Loss").
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..containers import NetGraph
from ..layers import (
    CrossEntropyLossLayer,
    ElementwiseLayer,
    MeanSquaredLossLayer,
    SoftmaxLayer,
)
from ..layers.loss import LossLayer
from ..net import Net
from ..symbols import NetPort
from ..text import closest
from ..walk import flatten, trace


@dataclass
class TrainingNet:
    net: Net  # what the plan runs
    prefix: tuple  # path of the user's net inside it
    losses: list[str]  # output ports of ``net`` whose values are summed into the loss
    targets: dict  # data key → port of ``net`` (e.g. "Output" → "Target")
    attached: dict = field(default_factory=dict)  # output port → the name of its loss layer


def _producer(net, port: str):
    """The leaf layer whose output is the net's output ``port``."""
    flat = flatten(net)
    if () in flat.leaves:
        return flat.leaves[()]
    ep, found = trace(flat, ((), port))
    return flat.leaves[ep[0]] if found else None


def automatic_loss(net, port: str):
    leaf = _producer(net, port)
    if isinstance(leaf, SoftmaxLayer):
        return CrossEntropyLossLayer("Index")
    if isinstance(leaf, ElementwiseLayer) and leaf.options.get("function") == "LogisticSigmoid":
        return CrossEntropyLossLayer("Binary")
    return MeanSquaredLossLayer()


def training_net(net: Net, loss_function, owner: str = "NetTrain") -> TrainingNet:
    """The training net of ``net`` with ``loss_function`` (NetTrain's option); ``owner``
    names the caller in errors."""
    outs = net.exposed_outputs()
    if isinstance(loss_function, str):
        if loss_function not in net.output_ports():
            raise ValueError(
                f'{owner}: loss_function "{loss_function}" must name an output port of the net '
                f"that holds its loss{closest(loss_function, net.output_ports())}; output ports: "
                f"{', '.join(net.output_ports())}."
            )
        return TrainingNet(net, (), [loss_function], {})
    if loss_function is not None and not isinstance(loss_function, (LossLayer, dict)):
        raise TypeError(
            f"{owner}: loss_function must be a loss layer such as MeanSquaredLossLayer(), a dict "
            "of output port → loss layer, or the name of an output port that holds a loss; "
            f"received {loss_function!r}."
        )
    given = loss_function if isinstance(loss_function, dict) else {}
    for p in given:
        if p not in outs:
            raise ValueError(
                f'{owner}: loss_function names the output "{p}"{closest(p, outs)}; outputs: {", ".join(outs)}.'
            )
    if isinstance(loss_function, LossLayer) and len(outs) != 1:
        raise ValueError(
            f"{owner}: the net has several outputs ({', '.join(outs)}); give loss_function as a "
            "dict of output port → loss layer."
        )
    one = len(outs) == 1
    layers, edges, targets, losses, attached = {"net": net}, [], {}, [], {}
    for p in outs:
        loss = given.get(p) or (loss_function if isinstance(loss_function, LossLayer) else None)
        loss = loss or automatic_loss(net, p)
        name = f"loss{p}"
        layers[name] = loss
        tgt = "Target" if one else f"{p}Target"
        out = "Loss" if one else f"{p}Loss"
        edges += [
            (NetPort("net", p), NetPort(name, "Input")),
            (NetPort(tgt), NetPort(name, "Target")),
            (NetPort(name, "Loss"), NetPort(out)),
        ]
        targets[p] = targets[tgt] = tgt
        losses.append(out)
        attached[p] = name
    return TrainingNet(NetGraph(layers, edges), ("net",), losses, targets, attached)
