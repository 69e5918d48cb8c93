"""Sequence ops: last element, all but the last, all but the first, reversal, within true lengths.

Axis 1 is the sequence axis (padded to T); ``n`` are the true lengths (all T when fixed).
"""

from __future__ import annotations

import numpy as np

from .base import Op


def _lengths(x, lens) -> np.ndarray:
    return np.full(len(x), x.shape[1], np.int64) if lens[0] is None else lens[0]


class _SequenceOp(Op):
    def _dx(self, dx):
        return [None if self.types["Input"].is_integer else dx], {}


class LastOp(_SequenceOp):
    """y[b] = x[b, n_b − 1];  dx[b, n_b − 1] = dy[b], zero elsewhere."""

    def forward(self, xs, lens, arrays, ctx):
        (x,) = xs
        rows, last = np.arange(len(x)), _lengths(x, lens) - 1
        return [x[rows, last]], (x.shape, rows, last)

    def backward(self, saved, dys, arrays, ctx):
        shape, rows, last = saved
        dx = np.zeros(shape, dys[0].dtype)
        dx[rows, last] = dys[0]
        return self._dx(dx)


class _DropOneOp(_SequenceOp):
    """Most (drop the last element) and Rest (drop the first): outputs have lengths n − 1."""

    start = 0  # first input step kept: 0 for Most, 1 for Rest

    def forward(self, xs, lens, arrays, ctx):
        (x,) = xs
        if lens[0] is not None and lens[0].min() < 2:
            raise ValueError(
                f"{type(self.layer).__name__}: every sequence needs at least 2 elements, since "
                f"one is dropped; received a sequence of length {lens[0].min()}."
            )
        T = x.shape[1]
        return [x[:, self.start : self.start + T - 1]], x.shape

    def backward(self, shape, dys, arrays, ctx):
        dx = np.zeros(shape, dys[0].dtype)
        dx[:, self.start : self.start + shape[1] - 1] = dys[0]
        return self._dx(dx)

    def out_lengths(self, lens):
        return [lens[0] - 1]


class MostOp(_DropOneOp):
    """y[b, t] = x[b, t] for t < n_b − 1 (the plan zeroes the step left at n_b − 1)."""

    start = 0


class RestOp(_DropOneOp):
    """y[b, t] = x[b, t + 1] for t < n_b − 1."""

    start = 1


class ReverseOp(_SequenceOp):
    """y[b, t] = x[b, n_b − 1 − t] for t < n_b (padding stays at the end); dx = reverse(dy)."""

    def forward(self, xs, lens, arrays, ctx):
        (x,) = xs
        idx = reversal(_lengths(x, lens), x.shape[1])
        return [x[idx]], idx

    def backward(self, idx, dys, arrays, ctx):
        return self._dx(dys[0][idx])


def reversal(n: np.ndarray, T: int) -> tuple:
    """Index pair mapping each step t < n_b to n_b − 1 − t and each padding step to itself."""
    t = np.arange(T)[None, :]
    src = n[:, None] - 1 - t
    return np.arange(len(n))[:, None], np.where(src >= 0, src, t)
