"""NetChain: layers applied one after another, each "Output" feeding the next "Input"."""

from __future__ import annotations

from .graph import Container, default_output, normalize_layers


class NetChain(Container):
    """A chain of layers: the output of each feeds the input of the next.

    ``layers``: a list (named "1", "2", …) or a dict. Ports other than the chained ones
    (a loss layer's "Target", say) become ports of the chain. Port shapes: ``input=``,
    ``output=`` or any port name.

    >>> from netgraph import NetChain, LinearLayer, ElementwiseLayer
    >>> chain = NetChain([LinearLayer(5), ElementwiseLayer("Tanh"), LinearLayer(2)], input=3)
    >>> chain.ports["Output"]
    (2,)
    """

    def __init__(self, layers, *, input=None, output=None, **ports):
        layers = normalize_layers(layers, "NetChain")
        if not layers:
            raise ValueError("NetChain: give at least one layer.")
        names = list(layers)
        edges = []
        for a, b in zip(names, names[1:]):
            edges.append((default_output(layers, a, "NetChain"), (b, layers[b].default_input())))
        specs = {k: v for k, v in (("Input", input), ("Output", output)) if v is not None}
        specs.update({k: v for k, v in ports.items() if v is not None})
        self._build(layers, edges, specs)
