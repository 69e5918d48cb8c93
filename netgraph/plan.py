"""A fully inferred net flattened into ordered steps over value slots, built once and cached.

A slot is the endpoint that produces a value: a leaf layer's output port, or a port of the
top-level net. Evaluation and training run ``forward`` and ``backward`` over the steps;
nothing walks the spec tree per batch.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import networkx as nx
import numpy as np

from .kernels.base import Ctx, zero_padding
from .kernels.loss import LOGITS
from .kernels.softmax import SoftmaxOp
from .kernels.threads import pools_for_plan
from .plan_operators import below, operator_op, updates_under
from .types import Var, describe
from .walk import Flat, flatten, states, trace, units_graph, where

# Below this many input elements a forward pass is too short for an idle BLAS pool's spinning
# threads to matter, and switching the pools (about 10 µs) would cost more than it saves:
# a NetStateObject fed one step at a time stays cheap.
SMALL_CALL = 1 << 14


@dataclass
class Step:
    path: tuple
    op: object
    ins: list  # source slot of each input port (None: optional and unconnected)
    outs: list  # slot of each output port
    in_vars: list
    out_vars: list


def check_ready(flat: Flat, opened: Flat) -> None:
    """Refuse a net with an unknown port type or an uninitialized array, naming the first
    (``flat`` with operators as leaves, ``opened`` with their inner nets' layers)."""
    for path, leaf in flat.leaves.items():
        for p, t in leaf.ports.items():
            if not t.known:
                raise ValueError(
                    f"The net cannot be evaluated yet: {where(flat, (path, p))} is {describe(t)}. "
                    'Give the input shape (for example input=("Varying", 12)) or more layer sizes.'
                )
    missing = [
        "/".join(path + (name,)) if path else name
        for path, leaf in opened.leaves.items()
        for name, a in leaf.arrays.items()
        if a is None
    ]
    if missing:
        raise ValueError(
            "The net has uninitialized arrays: "
            + ", ".join(f'"{m}"' for m in missing[:8])
            + (f" and {len(missing) - 8} more" if len(missing) > 8 else "")
            + ". Call NetInitialize(net) or train it with NetTrain first."
        )


def losses_on_logits(steps: list) -> None:
    """A cross-entropy that reads a softmax's output reads the softmax's input instead, with
    its logits op (kernels/loss.py): exact where the probabilities would underflow. The
    softmax still runs for anything else that reads it."""
    producer = {slot: st for st in steps for slot in st.outs}
    for st in steps:
        on_logits = LOGITS.get(type(st.op))
        src = producer.get(st.ins[0]) if on_logits else None
        if src is None or not isinstance(src.op, SoftmaxOp):
            continue
        dims = src.op.types["Input"].dims
        if isinstance(dims[-1], Var):  # a softmax over the steps of a sequence of scalars
            continue
        st.op = on_logits(st.op.layer, st.op.types)
        st.ins[0], st.in_vars[0] = src.ins[0], src.in_vars[0]


def step_order(flat: Flat) -> list[tuple]:
    """The leaf layers in an order that computes every input before it is read: a
    topological order of the layers, earlier layers first where the order is free."""
    rank = {path: i for i, path in enumerate(flat.leaves)}
    g = units_graph(flat.graph, lambda path: path in rank)
    order = nx.lexicographical_topological_sort(g, key=lambda n: (rank.get(n, -1), str(n)))
    return [n for n in order if n in rank]


class Plan:
    """Ordered ops for one net. ``arrays(dtype)`` holds the arrays cast once per precision.

    ``flat`` is the net with operators as leaves (one step each, running their inner nets'
    own plans: plan_operators.py); ``opened`` lists every layer that holds arrays, inner
    nets' included, by the paths NetTrain and NetPortGradient use."""

    def __init__(self, net):
        self.flat = flat = flatten(net, closed=True)
        self.opened = flatten(net)
        check_ready(flat, self.opened)
        self.inputs = [(None, p) for p in net.input_ports()]
        bare = () in flat.leaves
        self.outputs = {p: ((), p) if bare else self.source(((), p)) for p in net.output_ports()}
        self.types = {
            (path, p): t for path, leaf in flat.leaves.items() for p, t in leaf.ports.items()
        }
        self.types.update({slot: net.ports[slot[1]] for slot in self.inputs})
        self.steps = [self._step(path, flat.leaves[path]) for path in step_order(flat)]
        losses_on_logits(self.steps)
        self._step_of = {st.path: st for st in self.steps}
        self._states = states(flat)
        self._state_names = {st: name for name, st in self._states.items()}
        self._arrays = {}
        self.single_blas = any(st.op.numba_blas for st in self.steps)

    def _step(self, path: tuple, leaf) -> Step:
        ins = [self.source((path, p)) or self.init_slot(leaf, path, p) for p in leaf.input_ports()]
        t = dict(leaf.ports)
        return Step(
            path,
            operator_op(leaf, t, Plan) if leaf.is_operator else leaf.op(t),
            ins,
            [(path, p) for p in leaf.output_ports()],
            [t[p].var for p in leaf.input_ports()],
            [t[p].var for p in leaf.output_ports()],
        )

    def source(self, ep):
        """The slot whose value arrives at the input endpoint ``ep``: a leaf's output
        ``(path, port)``, a net input ``(None, port)``, or None for an unconnected optional input."""
        ep, found = trace(self.flat, ep)
        if found:
            return ep
        if ep[0] == () and (None, ep[1]) in self.inputs:
            return (None, ep[1])
        return None

    @staticmethod
    def init_slot(leaf, path, port):
        """Where an unconnected optional input (an initial recurrent state) may be fed."""
        return (path, port, "initial") if port in leaf.optional_inputs else None

    def states(self) -> dict:
        """Every recurrent state: NetPort name → (path, port), in layer order."""
        return self._states

    def state_name(self, state: tuple):
        """The NetPort name of the recurrent state at (path, port)."""
        return self._state_names[state]

    def initial_slot(self, name):
        """The slot that takes the initial value of the recurrent state ``name``; refused
        when that port is wired from elsewhere in the net."""
        path, port = self._states[name]
        step = self._step_of[path]
        slot = step.ins[self.flat.leaves[path].input_ports().index(port)]
        if slot != (path, port, "initial") and not (path == () and slot == (None, port)):
            raise ValueError(
                f"{name!r} is wired from another port of the net; give its initial value through that port."
            )
        return slot

    def slot(self, ep):
        """The slot holding the value at any endpoint: a leaf output itself, else its source."""
        leaf = self.flat.leaves.get(ep[0])
        if leaf is not None and ep[1] in leaf.output_ports():
            return ep
        return self.source(ep)

    def arrays(self, dtype) -> dict:
        dt = np.dtype(dtype)
        if dt not in self._arrays:
            self._arrays[dt] = {
                path: {k: cast(a, dt) for k, a in leaf.arrays.items() if a is not None}
                for path, leaf in self.flat.leaves.items()
            }
            for st in self.steps:
                self._arrays[dt][st.path] = st.op.prepare(self._arrays[dt][st.path])
        return self._arrays[dt]

    def load_arrays(self, dtype, arrays: dict) -> None:
        """Replace the arrays of the given leaves (path → name → array), as NetTrain does
        after each update; each op rearranges its own again (an operator's inner plans
        take those under its path)."""
        current = self.arrays(dtype)
        for st in self.steps:
            if st.path in arrays:
                current[st.path] = st.op.prepare(arrays[st.path])
            elif st.op.nested:
                inner = below(arrays, st.path)
                if inner:
                    st.op.load_arrays(dtype, inner)

    # -- running ---------------------------------------------------------------------------
    def forward(self, feeds: dict, lens: dict, ctx: Ctx):
        big = sum(a.size for a in feeds.values()) >= SMALL_CALL
        with pools_for_plan(self.single_blas, big):
            return self.run_forward(feeds, lens, ctx)

    def backward(self, vals: dict, env: dict, tape: list, seeds: dict, ctx: Ctx):
        with pools_for_plan(self.single_blas, True):
            return self.run_backward(vals, env, tape, seeds, ctx)

    def run_forward(self, feeds: dict, lens: dict, ctx: Ctx):
        """Run every step. ``feeds``: input slot → batch array; ``lens``: Var → lengths.
        Returns (values by slot, lengths by Var, the tape for backward)."""
        vals, env, tape = dict(feeds), dict(lens), []
        arrays = self.arrays(ctx.dtype)
        for st in self.steps:
            xs = [None if s is None else vals.get(s) for s in st.ins]
            ls = [None if v is None else env.get(v) for v in st.in_vars]
            ys, saved = _op_forward(st, xs, ls, arrays[st.path], ctx)
            if ctx.updates is not None and _updated_now(st.op.layer, ctx):
                upd = st.op.updates(saved, arrays[st.path], ctx.updates.get(st.path), ctx)
                if upd is not None:
                    ctx.updates[st.path] = upd
            new = None
            for slot, v, y in zip(st.outs, st.out_vars, ys):
                if v is not None:
                    if v not in env:
                        new = new or st.op.out_lengths(ls)
                        env[v] = new[st.outs.index(slot)]
                    y = zero_padding(y, env[v])
                vals[slot] = y
            tape.append(saved)
        return vals, env, tape

    def run_backward(self, vals: dict, env: dict, tape: list, seeds: dict, ctx: Ctx):
        """Gradients of every slot reached and of every array, from output-slot ``seeds``."""
        grads, dparams = dict(seeds), {}
        arrays = self.arrays(ctx.dtype)
        for st, saved in zip(reversed(self.steps), reversed(tape)):
            dys = [grads.get(s) for s in st.outs]
            if all(d is None for d in dys):
                continue
            dys = [
                zero_padding(
                    np.zeros_like(vals[s]) if d is None else d, None if v is None else env[v]
                )
                for s, d, v in zip(st.outs, dys, st.out_vars)
            ]
            dxs, da = st.op.backward(saved, dys, arrays[st.path], ctx)
            for s, dx, v in zip(st.ins, dxs, st.in_vars):
                if s is not None and dx is not None:
                    dx = zero_padding(dx, None if v is None else env[v])
                    grads[s] = dx if s not in grads else grads[s] + dx
            if st.op.nested:  # an operator: its inner layers' gradients, by their paths
                dparams.update({st.path + sub: d for sub, d in da.items()})
            else:
                dparams[st.path] = da
        return grads, dparams


def _op_forward(st: Step, xs: list, ls: list, arrays: dict, ctx: Ctx):
    """The step's op forward; an operator's collected ``ctx.updates`` go under its path."""
    if not st.op.nested:
        return st.op.forward(xs, ls, arrays, ctx)
    with updates_under(ctx, st.path):
        return st.op.forward(xs, ls, arrays, ctx)


def _updated_now(layer, ctx: Ctx) -> bool:
    """Whether this pass updates the layer's arrays that training sets without gradients:
    a training batch those of "batch" layers, the fitting pass those of "fitting" layers."""
    if not layer.updated_arrays:
        return False
    return ctx.fitting if layer.updated_when == "fitting" else ctx.training and not ctx.fitting


_CASTS: dict = {}  # (id of a spec's array, dtype) → (weak reference to it, its cast copy)


def cast(a: np.ndarray, dt: np.dtype) -> np.ndarray:
    """A spec's array in the precision ``dt``: the array itself, or one cast copy shared by
    every plan that reads it (forgotten with the array)."""
    if a.dtype == dt:
        return a
    key = (id(a), dt)
    hit = _CASTS.get(key)
    if hit is not None and hit[0]() is a:
        return hit[1]
    copy = np.asarray(a, dtype=dt, order="C")  # keeps 0-d arrays 0-d
    copy.flags.writeable = False
    _CASTS[key] = (weakref.ref(a), copy)
    weakref.finalize(a, _CASTS.pop, key, None)
    return copy


def plan_of(net) -> Plan:
    """The cached plan of a fully inferred net."""
    plan = net._cache.get("plan")
    if plan is None:
        plan = net._cache["plan"] = Plan(net)
    return plan
