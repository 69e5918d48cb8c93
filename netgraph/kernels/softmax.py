"""Softmax over the last axis; padding of a sequence of scalars gets probability zero."""

from __future__ import annotations

import numpy as np

from .base import Op, step_mask


class SoftmaxOp(Op):
    """y = exp(x − max x) / Σ exp(x − max x) on the last axis; dx = y·(dy − Σ dy·y)."""

    def forward(self, xs, lens, arrays, ctx):
        (x,) = xs
        over_steps = lens[0] is not None and x.ndim == 2
        if over_steps:
            x = np.where(step_mask(lens[0], x.shape[1]), x, -np.inf)
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        y = e / e.sum(axis=-1, keepdims=True)
        return [y], y

    def backward(self, y, dys, arrays, ctx):
        dy = dys[0]
        return [y * (dy - (dy * y).sum(axis=-1, keepdims=True))], {}
