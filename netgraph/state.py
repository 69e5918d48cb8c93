"""NetStateObject: a net that keeps its recurrent states from one call to the next."""

from __future__ import annotations

from .evaluation import PRECISIONS, evaluate, from_batch, state_key
from .net import Net
from .symbols import All, NetPort

STATES = NetPort(All, "States")


class NetStateObject:
    """A net whose final recurrent states become the next call's initial states.

    ``so(x)`` evaluates like ``net(x)`` (same call forms and options) and keeps the final
    states; ``so.states`` shows them (a dict ``NetPort(layer, port) → array``), ``so.reset()``
    returns to the initial states (``states=`` at construction, else zeros). Feeding a
    sequence piece by piece gives the result of feeding it whole, up to float round-off. The states follow
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
        self._kept = None  # the last call's final states, in batch form

    @property
    def states(self) -> dict:
        """The states the next call starts from: NetPort(layer, port) → array."""
        if self._kept is None:
            return dict(self._initial)
        return {
            state_key(*st): from_batch(a, None, self._kept.form) for st, a in self._kept.items()
        }

    def __call__(
        self,
        data,
        output=None,
        *,
        evaluation_mode="Test",
        random_seed=None,
        working_precision="Real32",
    ):
        kept = self._kept
        if (
            kept is not None
            and kept.replay is not None
            and output is None
            and evaluation_mode == "Test"
            and kept.replay.fits(data, PRECISIONS.get(working_precision))
            and kept.replay.net is self.net
        ):
            value, self._kept = kept.replay(data, kept)
            return value
        feed = dict(data) if isinstance(data, dict) else {_only_input(self.net): data}
        start = self._kept if self._kept is not None else self._initial
        if start:
            feed[STATES] = start
        value, self._kept = evaluate(
            self.net,
            feed,
            output,
            evaluation_mode,
            random_seed,
            working_precision,
            keep_states=True,
        )
        return value

    def reset(self) -> None:
        """Forget the kept states: the next call starts from the initial states again."""
        self._kept = None

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
