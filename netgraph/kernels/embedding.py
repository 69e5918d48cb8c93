"""Embedding lookup: rows of a weight matrix picked by integer indices."""

from __future__ import annotations

import numpy as np

from .base import Op


class EmbeddingOp(Op):
    """y[…] = W[x[…]];  dW[k] = Σ over positions with x = k of dy  (scatter-add); no dx.

    Padding steps of a sequence hold index 0, but the plan zeroes dy there, so they add nothing.
    """

    def forward(self, xs, lens, arrays, ctx):
        (x,) = xs
        return [arrays["Weights"][x]], x

    def backward(self, x, dys, arrays, ctx):
        (dy,) = dys
        W = arrays["Weights"]
        dW = np.zeros(W.shape, dy.dtype)
        np.add.at(dW, x.reshape(-1), dy.reshape(-1, W.shape[1]))
        return [None], {"Weights": dW}
