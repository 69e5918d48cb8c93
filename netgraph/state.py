"""NetStateObject: a net that keeps its recurrent states from one call to the next."""

from __future__ import annotations

from .evaluation import exposed_outputs
from .net import Net
from .symbols import All, NetPort

STATES = NetPort(All, "States")


class NetStateObject:
    """A net whose final recurrent states become the next call's initial states.

    ``so(x)`` evaluates like ``net(x)`` (same call forms and options) and keeps the final
    states; ``so.states`` shows them (a dict ``NetPort(layer, port) → array``), ``so.reset()``
    returns to the initial states (``states=`` at construction, else zeros). Feeding a
    sequence piece by piece gives exactly the result of feeding it whole. The states follow
    the batch form of the data: one example gives vectors, a batch gives one row per example.

    >>> import numpy as np
    >>> from netgraph import NetStateObject, NetInitialize, LongShortTermMemoryLayer
    >>> lstm = NetInitialize(LongShortTermMemoryLayer(2, input=("Varying", 1)), random_seed=0)
    >>> so = NetStateObject(lstm)
    >>> steps = [so(np.array([[v]])) for v in (1.0, 2.0, 3.0)]
    >>> bool(np.allclose(np.concatenate(steps), lstm(np.array([[1.0], [2.0], [3.0]]))))
    True
    """

    def __init__(self, net: Net, states: dict | None = None):
        if not isinstance(net, Net):
            raise TypeError(f"NetStateObject takes a net; received {type(net).__name__}.")
        self.net = net
        self._initial = dict(states or {})
        self.states = dict(self._initial)

    def __call__(self, data, output=None, **options):
        feed = dict(data) if isinstance(data, dict) else {_only_input(self.net): data}
        if self.states:
            feed[STATES] = self.states
        wanted = exposed_outputs(self.net) if output is None else output
        specs = wanted if isinstance(wanted, list) else [wanted]
        res = self.net(feed, [*specs, STATES], **options)
        self.states = res.pop(STATES)
        if isinstance(output, list) or (output is None and len(specs) > 1):
            return res
        return res[specs[0]]

    def reset(self) -> None:
        """Forget the kept states: the next call starts from the initial states again."""
        self.states = dict(self._initial)

    def __repr__(self) -> str:
        return f"NetStateObject[{type(self.net).__name__}, {len(self.states)} states kept]"


def _only_input(net) -> str:
    optional = getattr(net, "optional_inputs", ())
    required = [p for p in net.input_ports() if p not in optional]
    if len(required) != 1:
        raise ValueError(
            f"This net has the input ports {', '.join(required)}; give NetStateObject a dict of them."
        )
    return required[0]


__all__ = ["NetStateObject"]
