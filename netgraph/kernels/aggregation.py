"""Aggregation over some levels of each example: Max, Min, Mean, Total, honouring lengths.

``axes`` are batch axes (≥ 1); axis 1 is the step axis of a sequence input.
"""

from __future__ import annotations

import numpy as np

from .base import Op, step_mask


class AggregationOp(Op):
    """y = f over the aggregated axes, f one of:

    Total: y = Σ x, dx = dy.  Mean: y = Σ x / N, dx = dy / N, with N the number of real
    elements (a sequence's true length, not its padding).  Max / Min: y = the extreme element,
    found among the real steps only; dx = dy at that element (on a tie, the first in row-major
    order over the aggregated levels), zero elsewhere.
    """

    def __init__(self, layer, types, axes: tuple):
        super().__init__(layer, types)
        self.axes = tuple(a + 1 for a in axes)
        self.f = layer.options["function"]

    def _steps(self, x, lens):
        """(B, T, 1, …) mask of real steps when the steps are aggregated, else None."""
        if lens[0] is None or 1 not in self.axes:
            return None
        m = step_mask(lens[0], x.shape[1])
        return m.reshape(m.shape + (1,) * (x.ndim - 2))

    def forward(self, xs, lens, arrays, ctx):
        (x,) = xs
        mask = self._steps(x, lens)
        if self.f in ("Total", "Mean"):
            y = x.sum(axis=self.axes)
            n = np.ones(len(x), x.dtype)
            if self.f == "Mean":
                n = n * np.prod([x.shape[a] for a in self.axes if mask is None or a != 1])
                if mask is not None:
                    n = n * lens[0]
                n = n.astype(x.dtype).reshape((-1,) + (1,) * (y.ndim - 1))
                y = y / n
            return [y], (x.shape, n)
        if mask is not None:
            fill = np.array(-np.inf if self.f == "Max" else np.inf, x.dtype)
            x = np.where(mask, x, fill)
        kept = [a for a in range(1, x.ndim) if a not in self.axes]
        perm = [0, *kept, *self.axes]
        xt = x.transpose(perm)
        lead = xt.shape[: 1 + len(kept)]
        flat = xt.reshape(lead + (-1,))
        at = (np.argmax if self.f == "Max" else np.argmin)(flat, axis=-1)[..., None]
        y = np.take_along_axis(flat, at, axis=-1)[..., 0]
        return [y], (xt.shape, perm, at)

    def backward(self, saved, dys, arrays, ctx):
        (dy,) = dys
        if self.f in ("Total", "Mean"):
            shape, n = saved
            g = np.expand_dims(dy / n if self.f == "Mean" else dy, self.axes)
            return [np.ascontiguousarray(np.broadcast_to(g, shape))], {}
        shape, perm, at = saved
        flat = np.zeros(dy.shape + (int(np.prod(shape[dy.ndim :])),), dy.dtype)
        np.put_along_axis(flat, at, dy[..., None], axis=-1)
        return [flat.reshape(shape).transpose(np.argsort(perm))], {}
