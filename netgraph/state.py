"""NetStateObject: a net that keeps its recurrent states from one call to the next."""

from __future__ import annotations

import threading

import numpy as np

from .batching import PRECISIONS, check_values, from_batch
from .display import state_html
from .evaluation import run_call
from .kernels.base import Ctx
from .net import Net
from .symbols import All, NetPort
from .walk import flatten

STATES = NetPort(All, "States")


class NetStateObject:
    """A net whose final recurrent states become the next call's initial states.

    ``so(x)`` evaluates like ``net(x)`` (same call forms and options) and keeps the final
    states; ``so.states`` shows them (a dict ``NetPort(layer, port) → array``), ``so.reset()``
    returns to the initial states (``states=`` at construction, else zeros). Feeding a
    sequence piece by piece gives the result of feeding it whole, up to float round-off. The
    states follow the batch form of the data: one example gives vectors, a batch gives one
    row per example.

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
        for path, leaf in flatten(net, closed=True).leaves.items():
            if leaf.whole_sequences:
                where = f'layer "{"/".join(path)}" is a' if path else "the net is a"
                raise ValueError(
                    f"NetStateObject cannot keep the states of a bidirectional net ({where} "
                    f"{type(leaf).__name__}): {leaf.whole_sequences}, so a sequence cannot be "
                    "fed in parts. Evaluate whole sequences with net(x) instead."
                )
        self.net = net
        self._initial = dict(states or {})
        self._kept = None  # the last call's final states, in batch form
        self._busy = threading.Lock()

    @property
    def states(self) -> dict:
        """The states the next call starts from: NetPort(layer, port) → array (copies)."""
        if self._kept is None:
            return {k: _copy(v) for k, v in self._initial.items()}
        form = self._kept.form
        return {n: _copy(from_batch(a, None, form)) for n, a in self._kept.named().items()}

    def __call__(
        self,
        data,
        output=None,
        *,
        evaluation_mode="Test",
        random_seed=None,
        working_precision="Real32",
        batch_size=None,
    ):
        """Evaluate as ``net(data, output, …)`` from the kept states, and keep the final ones.
        One call at a time: a NetStateObject is a sequence of calls, so a second thread's call
        during one is refused (give each thread its own NetStateObject). ``batch_size`` is
        refused: each example of a batch is a sequence whose state is kept for the next call,
        so a call's batch is evaluated whole."""
        if batch_size is not None:
            raise TypeError(
                "NetStateObject: batch_size is not an option here. A NetStateObject keeps one "
                "state per example of its batch for the next call, so it evaluates each call's "
                "batch whole; to evaluate a large batch in chunks without keeping states, call "
                "the net itself: net(x, batch_size=…)."
            )
        if not self._busy.acquire(blocking=False):
            raise RuntimeError(
                "NetStateObject: a call is already running in another thread; the states of "
                "one NetStateObject follow one sequence of calls. Give each thread its own "
                "NetStateObject(net) (evaluating the net itself from several threads is safe)."
            )
        try:
            return self._call(
                data,
                output,
                evaluation_mode=evaluation_mode,
                random_seed=random_seed,
                working_precision=working_precision,
            )
        finally:
            self._busy.release()

    def _call(self, data, output, *, evaluation_mode, random_seed, working_precision):
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
        if kept is None and self._initial:
            feed[STATES] = self._initial
        start = None if kept is None else (dict(kept), kept.form)
        call = run_call(
            self.net,
            feed,
            output,
            mode=evaluation_mode,
            seed=random_seed,
            precision=working_precision,
            kept=start,
        )
        self._kept = KeptStates.of(call)
        return call.value

    def reset(self) -> None:
        """Forget the kept states: the next call starts from the initial states again."""
        self._kept = None

    def __repr__(self) -> str:
        return f"NetStateObject[{type(self.net).__name__}, {len(self.states)} states kept]"

    def _repr_html_(self) -> str:
        return state_html(self)


def _copy(v):
    return [np.array(e) for e in v] if isinstance(v, list) else np.array(v)


def _only_input(net) -> str:
    required = net.required_inputs()
    if len(required) != 1:
        raise ValueError(
            f"This net has the input ports {', '.join(required)}; give NetStateObject a dict of them."
        )
    return required[0]


class KeptStates(dict):
    """Final recurrent states kept in batch form, (layer path, port) → array, for the next
    call: they go back in without being read and checked again."""

    def __init__(self, states: dict, form: str, plan, replay: Replay | None):
        super().__init__(states)
        self.form, self.plan = form, plan
        self.replay = replay  # how to run the next call of the same shape quickly

    @classmethod
    def of(cls, call) -> KeptStates:
        states = {st: call.vals[st] for st in call.plan.states().values()}
        return cls(states, call.form, call.plan, Replay.of(call) if call.plain else None)

    def named(self) -> dict:
        return {self.plan.state_name(st): a for st, a in self.items()}


class Replay:
    """The next call with data of the same shape and dtype, run without reading the call
    again: the data's values are still checked (finite, integer indices in range), and the
    kept states go straight to their slots. Built after a plain call (one input port, the
    default outputs, no gradients)."""

    def __init__(self, call, port: str, shape: tuple, data_dtype):
        self.net, self.run, self.plan = call.net, call.run, call.plan
        self.port, self.form = port, call.form
        self.t, self.dtype = call.run.ports[port], call.dtype
        self.shape, self.data_dtype = shape, data_dtype
        lengths = call.batches[port].lengths
        self.lens = {} if self.t.var is None else {self.t.var: lengths}
        outs = call.run.exposed_outputs()
        self.outputs = [(self.plan.outputs[p], call.run.ports[p].var) for p in outs]
        self.state_slots = {st: self.plan.initial_slot(n) for n, st in self.plan.states().items()}

    @classmethod
    def of(cls, call) -> Replay | None:
        port, x = next(iter(call.feeds.items()))
        if not isinstance(x, np.ndarray) or call.form == "list":
            return None
        return cls(call, port, x.shape, x.dtype)

    def fits(self, x, dtype) -> bool:
        return (
            isinstance(x, np.ndarray)
            and x.shape == self.shape
            and x.dtype == self.data_dtype
            and dtype is self.dtype
        )

    def __call__(self, x, kept: KeptStates):
        a = x[None] if self.form == "single" else x
        a = np.ascontiguousarray(check_values(a, self.t, self.port, self.dtype))
        feed = {(None, self.port): a}
        feed.update({self.state_slots[st]: v for st, v in kept.items()})
        vals, env, _ = self.plan.forward(feed, self.lens, Ctx(False, None, self.dtype, False))
        ys = [
            from_batch(vals[slot], None if v is None else env[v], self.form)
            for slot, v in self.outputs
        ]
        new = KeptStates({st: vals[st] for st in self.state_slots}, self.form, self.plan, self)
        value = ys[0] if len(ys) == 1 else dict(zip(self.run.exposed_outputs(), ys))
        return value, new


__all__ = ["NetStateObject"]
