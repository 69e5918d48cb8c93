"""The ops of operator nets (containers/operators.py): each runs its inner nets' own plans.

An operator op holds one ``Plan`` per inner net (built here from the class ``plan.py``
passes in, so this module does not import it), keeps the inner plans' tapes for backward,
and returns its inner layers' array gradients by their paths below the operator
(``nested``). The inner plans hold their arrays; ``load_arrays`` replaces them when NetTrain
updates them.
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np

from .kernels.base import Op, by_length, step_mask, unpadded
from .kernels.sequence import reversal


def below(by_path: dict, prefix: tuple) -> dict:
    """The entries of a dict by layer path at or below ``prefix``, by their paths from it (a
    bare inner layer's path is ``()``)."""
    n = len(prefix)
    return {p[n:]: v for p, v in by_path.items() if p[:n] == prefix}


@contextmanager
def updates_under(ctx, prefix: tuple):
    """While inside, ``ctx.updates`` (the new values of arrays set without gradients, by layer
    path) holds only the entries below ``prefix``, by their paths from there; on the way out
    they go back under it. An operator's inner plans thus collect by their own paths."""
    outer = ctx.updates
    if outer is None:
        yield
        return
    ctx.updates = below(outer, prefix)
    try:
        yield
    finally:
        outer.update({prefix + p: v for p, v in ctx.updates.items()})
        ctx.updates = outer


def _add(d: dict, key, value) -> None:
    d[key] = value if key not in d else d[key] + value


def _sum_into(total: dict, grads: dict) -> None:
    """Array gradients by path, added into ``total``."""
    for path, d in grads.items():
        into = total.setdefault(path, {})
        for k, g in d.items():
            _add(into, k, g)


class OperatorOp(Op):
    nested = True

    def __init__(self, layer, types: dict, plan_cls):
        super().__init__(layer, types)
        self.plans = {name: plan_cls(net) for name, net in layer.layers.items()}
        self.numba_blas = any(p.single_blas for p in self.plans.values())

    def load_arrays(self, dtype, arrays: dict) -> None:
        """New arrays by path below the operator ((inner net name, layer path…) → dict)."""
        for name, plan in self.plans.items():
            inner = below(arrays, (name,))
            if inner:
                plan.load_arrays(dtype, inner)

    @staticmethod
    def by_path(name: str, dparams: dict) -> dict:
        return {(name,) + p: d for p, d in dparams.items()}

    def run(self, name: str, feeds: dict, lens: dict, ctx):
        """The inner net ``name``'s forward pass; what it collects in ``ctx.updates`` goes
        under ``name`` (and the plan above puts it under the operator's path)."""
        with updates_under(ctx, (name,)):
            return self.plans[name].run_forward(feeds, lens, ctx)


def _rows(x: np.ndarray, rows) -> np.ndarray:
    """(B, T, …) → the true steps as rows (N, …)."""
    flat = x.reshape((x.shape[0] * x.shape[1],) + x.shape[2:])
    return flat if rows is None else flat[rows]


def _unrows(v: np.ndarray, rows, B: int, T: int) -> np.ndarray:
    if rows is None:
        return v.reshape((B, T) + v.shape[1:])
    full = np.zeros((B * T,) + v.shape[1:], v.dtype)
    full[rows] = v
    return full.reshape((B, T) + v.shape[1:])


class MapOp(OperatorOp):
    """The inner net on every true step at once, the steps of all sequences as one batch."""

    def forward(self, xs, lens, arrays, ctx):
        plan = self.plans["Net"]
        B, T = next(x for x in xs if x is not None).shape[:2]
        n = next((x for x in lens if x is not None), None)
        rows = None if unpadded(n, T) else np.flatnonzero(step_mask(n, T).ravel())
        feeds = {(None, p): _rows(x, rows) for p, x in zip(self.layer.input_ports(), xs)}
        vals, env, tape = self.run("Net", feeds, {}, ctx)
        ys = [_unrows(vals[plan.outputs[p]], rows, B, T) for p in self.layer.output_ports()]
        return ys, ((vals, env, tape, rows, B, T) if ctx.grad else None)

    def backward(self, saved, dys, arrays, ctx):
        vals, env, tape, rows, B, T = saved
        plan = self.plans["Net"]
        seeds: dict = {}
        for p, dy in zip(self.layer.output_ports(), dys):
            _add(seeds, plan.outputs[p], _rows(dy, rows))
        grads, dparams = plan.run_backward(vals, env, tape, seeds, ctx)
        dxs = []
        for p in self.layer.input_ports():
            g = grads.get((None, p))
            dxs.append(None if g is None else _unrows(g, rows, B, T))
        return dxs, self.by_path("Net", dparams)


class BidirectionalOp(OperatorOp):
    """The forward net on the sequences, the backward net on each reversed within its
    length, the two outputs joined step by step."""

    NETS = ("ForwardNet", "BackwardNet")

    def __init__(self, layer, types: dict, plan_cls):
        super().__init__(layer, types, plan_cls)
        # each direction's states: (final slot, initial slot, the operator's port)
        self.states = {
            name: [
                (ep, plan.initial_slot(plan.state_name(ep)), port)
                for ep, port in layer.state_map[name].items()
            ]
            for name, plan in self.plans.items()
        }

    def _run(self, name, x, n, ins, ctx):
        plan = self.plans[name]
        feeds = {(None, "Input"): x}
        feeds.update({init: ins[p] for _, init, p in self.states[name] if ins.get(p) is not None})
        return self.run(name, feeds, {plan.types[(None, "Input")].var: n}, ctx)

    def forward(self, xs, lens, arrays, ctx):
        x, n = xs[0], lens[0]
        idx = reversal(n, x.shape[1])
        ins = dict(zip(self.layer.input_ports(), xs))
        runs = [self._run(name, d, n, ins, ctx) for name, d in zip(self.NETS, (x, x[idx]))]
        yf, yb = (r[0][self.plans[m].outputs["Output"]] for m, r in zip(self.NETS, runs))
        if self.types["Output"].var is not None:
            yb = yb[idx]
        agg = self.layer.options["aggregation"]
        if agg == "Catenate":
            y = np.concatenate([yf, yb], axis=-1)
        else:
            y = yf + yb if agg == "Total" else (yf + yb) * np.asarray(0.5, yf.dtype)
        finals = [
            vals[ep]
            for name, (vals, _, _) in zip(self.NETS, runs)
            for ep, _, _ in self.states[name]
        ]
        return [y, *finals], ((runs, idx, yf.shape[-1]) if ctx.grad else None)

    def backward(self, saved, dys, arrays, ctx):
        runs, idx, width = saved
        dy, dstates = dys[0], list(dys[1:])
        agg = self.layer.options["aggregation"]
        if agg == "Catenate":
            parts = [dy[..., :width], dy[..., width:]]
        else:
            half = dy if agg == "Total" else dy * np.asarray(0.5, dy.dtype)
            parts = [half, half]
        if self.types["Output"].var is not None:
            parts[1] = parts[1][idx]
        dx, dinit, dparams = None, [], {}
        for name, part, (vals, env, tape) in zip(self.NETS, parts, runs):
            plan = self.plans[name]
            seeds = {}
            _add(seeds, plan.outputs["Output"], part)
            for ep, _, _ in self.states[name]:
                _add(seeds, ep, dstates.pop(0))
            grads, dp = plan.run_backward(vals, env, tape, seeds, ctx)
            g = grads.get((None, "Input"))
            if g is not None:
                g = g if name == "ForwardNet" else g[idx]
                dx = g if dx is None else dx + g
            dinit += [grads.get(init) for _, init, _ in self.states[name]]
            dparams.update(self.by_path(name, dp))
        return [dx, *dinit], dparams


class FoldOp(OperatorOp):
    """The inner net step by step, its feedback outputs becoming the next step's state
    inputs; at each step only the sequences still running (longest first)."""

    def _feeds(self, ins, state, rows, t):
        L = self.layer
        feeds = {(None, p): ins[p][rows, t] for p in L.mapped if p in ins}
        feeds.update({(None, c): ins[c][rows] for c in L.options["constants"]})
        feeds.update({(None, s): state[s][rows] for s in L.state_ports})
        return feeds

    def forward(self, xs, lens, arrays, ctx):
        L, plan = self.layer, self.plans["Net"]
        ins = dict(zip(L.input_ports(), xs))
        seq = [p for p in L.input_ports() if p in L.mapped]
        B, T = ins[seq[0]].shape[:2]
        n = next((x for x in lens if x is not None), None)
        order, counts = by_length(n, B, T)
        dt = ctx.dtype
        state = {
            s: np.zeros((B,) + self.types[s].shape(), dt) if ins[s] is None else ins[s].copy()
            for s in L.state_ports
        }
        outs = {o: np.zeros((B, T) + self.types[o].dims[1:], dt) for o in L.options["outputs"]}
        steps = []
        for t in range(T):
            rows = order[: counts[t]]
            if not len(rows):
                break
            vals, env, tape = self.run("Net", self._feeds(ins, state, rows, t), {}, ctx)
            for o in outs:
                outs[o][rows, t] = vals[plan.outputs[o]]
            for o, s in L.options["feedback"].items():
                state[s][rows] = vals[plan.outputs[o]]
            steps.append((rows, vals, env, tape) if ctx.grad else None)
        ys = list(outs.values()) + [state[s] for s in L.state_ports]
        shapes = {p: x.shape for p, x in ins.items() if x is not None}
        return ys, ((steps, shapes, B) if ctx.grad else None)

    def backward(self, saved, dys, arrays, ctx):
        steps, shapes, B = saved
        L, plan = self.layer, self.plans["Net"]
        douts = dict(zip(L.options["outputs"], dys))
        ds = {s: dys[len(douts) + i].copy() for i, s in enumerate(L.state_ports)}
        dx = {p: np.zeros(shapes[p], ctx.dtype) for p in L.mapped if p in shapes}
        dc = {c: np.zeros(shapes[c], ctx.dtype) for c in L.options["constants"]}
        dparams: dict = {}
        for t in reversed(range(len(steps))):
            rows, vals, env, tape = steps[t]
            seeds: dict = {}
            for o, d in douts.items():
                _add(seeds, plan.outputs[o], d[rows, t])
            for o, s in L.options["feedback"].items():
                _add(seeds, plan.outputs[o], ds[s][rows])
            grads, dp = plan.run_backward(vals, env, tape, seeds, ctx)
            for p in dx:
                if (g := grads.get((None, p))) is not None:
                    dx[p][rows, t] = g
            for c in dc:
                if (g := grads.get((None, c))) is not None:
                    dc[c][rows] += g
            for s in L.state_ports:
                g = grads.get((None, s))
                ds[s][rows] = 0 if g is None else g
            _sum_into(dparams, dp)
        d = {**dx, **dc, **ds}
        return [None if self.types[p].is_integer else d.get(p) for p in L.input_ports()], (
            self.by_path("Net", dparams)
        )


class NestOp(OperatorOp):
    """The inner net n times over, each output the next input."""

    def forward(self, xs, lens, arrays, ctx):
        plan, net = self.plans["Net"], self.layer.layers["Net"]
        i, o = (None, net.required_inputs()[0]), plan.outputs[net.exposed_outputs()[0]]
        x, runs = xs[0], []
        for _ in range(self.layer.options["n"]):
            vals, env, tape = self.run("Net", {i: x}, {}, ctx)
            x = vals[o]
            runs.append((vals, env, tape) if ctx.grad else None)
        return [x], (runs if ctx.grad else None)

    def backward(self, runs, dys, arrays, ctx):
        plan, net = self.plans["Net"], self.layer.layers["Net"]
        i, o = (None, net.required_inputs()[0]), plan.outputs[net.exposed_outputs()[0]]
        d, dparams = dys[0], {}
        for vals, env, tape in reversed(runs):
            grads, dp = plan.run_backward(vals, env, tape, {o: d}, ctx)
            _sum_into(dparams, dp)
            d = grads.get(i)
            if d is None:
                d = np.zeros_like(vals[i])
        return [None if self.types["Input"].is_integer else d], self.by_path("Net", dparams)


OPS = {
    "NetMapOperator": MapOp,
    "NetBidirectionalOperator": BidirectionalOp,
    "NetFoldOperator": FoldOp,
    "NetNestOperator": NestOp,
}


def operator_op(layer, types: dict, plan_cls) -> OperatorOp:
    """The op that runs an operator net, with a plan of each inner net made by ``plan_cls``."""
    return OPS[type(layer).__name__](layer, types, plan_cls)
