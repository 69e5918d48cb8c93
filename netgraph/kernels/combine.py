"""Ops that combine several inputs: catenation, and elementwise functions with broadcasting.

Axis 0 is the batch. An input of lower rank than the output is aligned at the right (as in
numpy), with size-1 axes inserted after the batch axis.
"""

from __future__ import annotations

import numpy as np

from .base import Op, step_mask


def _unbroadcast(g: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum ``g`` over the axes along which an input of ``shape`` was broadcast."""
    axes = tuple(i for i, (s, n) in enumerate(zip(shape, g.shape)) if s == 1 and n != 1)
    return (g.sum(axis=axes, keepdims=True) if axes else g).reshape(shape)


class ThreadingOp(Op):
    """y = f(x1, x2, …) elementwise after broadcasting, with f one of:

    Plus: y = Σ xᵢ, dxᵢ = dy.  Subtract: y = a − b, da = dy, db = −dy.
    Times: y = Π xᵢ, dxᵢ = dy · Π_{j≠i} xⱼ.  Divide: y = a / b, da = dy / b, db = −dy · a / b².
    Max / Min: y = the extreme xᵢ; dy goes to the input holding it (on a tie, to the first
    such input). Every gradient is summed over the axes along which its input was broadcast.
    """

    def __init__(self, layer, types, function=None):
        super().__init__(layer, types)
        self.f = function or layer.options["function"]
        self.ranks = [types[p].rank for p in layer.input_ports()]
        self.rank = types["Output"].rank

    def forward(self, xs, lens, arrays, ctx):
        shapes = [x.shape for x in xs]
        xs = [
            x.reshape(x.shape[:1] + (1,) * (self.rank - r) + x.shape[1:])
            for x, r in zip(xs, self.ranks)
        ]
        f = self.f
        if f == "Plus":
            y = xs[0]
            for x in xs[1:]:
                y = y + x
        elif f == "Subtract":
            y = xs[0] - xs[1]
        elif f == "Times":
            y = xs[0]
            for x in xs[1:]:
                y = y * x
        elif f == "Divide":
            if lens[1] is not None:  # padded steps of a divisor sequence are 0: divide by 1 there
                m = step_mask(lens[1], xs[1].shape[1])
                m = m.reshape(m.shape + (1,) * (xs[1].ndim - 2))
                xs[1] = np.where(m, xs[1], np.ones((), xs[1].dtype))
            y = xs[0] / xs[1]
        else:
            stacked = np.stack(np.broadcast_arrays(*xs))
            pick = (np.argmax if f == "Max" else np.argmin)(stacked, axis=0)
            y = np.take_along_axis(stacked, pick[None], axis=0)[0]
            return [y], (shapes, xs, pick)
        return [y], (shapes, xs, None)

    def backward(self, saved, dys, arrays, ctx):
        shapes, xs, pick = saved
        (dy,) = dys
        f = self.f
        if f == "Plus":
            gs = [dy] * len(xs)
        elif f == "Subtract":
            gs = [dy, -dy]
        elif f == "Times":
            gs = []
            for i in range(len(xs)):
                g = dy
                for j, x in enumerate(xs):
                    if j != i:
                        g = g * x
                gs.append(g)
        elif f == "Divide":
            a, b = xs
            gs = [dy / b, -dy * a / (b * b)]
        else:
            gs = [np.where(pick == i, dy, np.zeros((), dy.dtype)) for i in range(len(xs))]
        dxs = [
            _unbroadcast(np.broadcast_to(g, dy.shape), x.shape).reshape(s)
            for g, x, s in zip(gs, xs, shapes)
        ]
        return dxs, {}


class CatenateOp(Op):
    """y = the inputs joined along one axis; dxᵢ = the slice of dy that came from input i.

    Joining "Varying" sequences along their steps is ragged: example b of the output holds the
    real steps of input 1, then those of input 2, …, and has length Σᵢ nᵢ[b].
    """

    def __init__(self, layer, types, axis: int):
        super().__init__(layer, types)
        self.axis = axis + 1  # the batch comes first
        self.ins = layer.input_ports()
        self.ragged = axis == 0 and any(types[p].var is not None for p in self.ins)

    def _lengths(self, lens, B: int) -> list:
        return [
            n if n is not None else np.full(B, self.types[p].dims[0], np.int64)
            for p, n in zip(self.ins, lens)
        ]

    def forward(self, xs, lens, arrays, ctx):
        if not self.ragged:
            sizes = [x.shape[self.axis] for x in xs]
            return [np.concatenate(xs, axis=self.axis)], ("split", sizes)
        B = len(xs[0])
        ns = self._lengths(lens, B)
        total = sum(ns)
        y = np.zeros((B, int(total.max())) + xs[0].shape[2:], xs[0].dtype)
        offset = np.zeros(B, np.int64)
        where = []
        for x, n in zip(xs, ns):
            rows, steps = np.nonzero(step_mask(n, x.shape[1]))
            dest = offset[rows] + steps
            y[rows, dest] = x[rows, steps]
            where.append((x.shape, rows, steps, dest))
            offset = offset + n
        return [y], ("ragged", where)

    def backward(self, saved, dys, arrays, ctx):
        kind, info = saved
        (dy,) = dys
        if kind == "split":
            cuts = np.cumsum(info)[:-1]
            return list(np.split(dy, cuts, axis=self.axis)), {}
        dxs = []
        for shape, rows, steps, dest in info:
            dx = np.zeros(shape, dy.dtype)
            dx[rows, steps] = dy[rows, dest]
            dxs.append(dx)
        return dxs, {}

    def out_lengths(self, lens):
        B = len(next(n for n in lens if n is not None))
        return [sum(self._lengths(lens, B))]
