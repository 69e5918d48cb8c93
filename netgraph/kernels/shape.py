"""Reshaping ops (FlattenLayer, ReshapeLayer): the elements keep their row-major order."""

from __future__ import annotations

from ..types import Var
from .base import Op


class ReshapeOp(Op):
    """y = x reshaped to the output's dims per example; dx = dy reshaped back to x's shape.

    A "Varying" first dimension is kept as the padded step axis."""

    def forward(self, xs, lens, arrays, ctx):
        (x,) = xs
        dims = self.types["Output"].dims
        shape = tuple(x.shape[1] if isinstance(d, Var) else d for d in dims)
        return [x.reshape(x.shape[:1] + shape)], x.shape

    def backward(self, shape, dys, arrays, ctx):
        dx = None if self.types["Input"].is_integer else dys[0].reshape(shape)
        return [dx], {}
