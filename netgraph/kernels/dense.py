"""Dense ops: the affine map of LinearLayer."""

from __future__ import annotations

from .base import Op


class LinearOp(Op):
    """y = x·Wᵀ + b over the last axis; W is stored (*n, k) and used as (N, k)."""

    def forward(self, xs, lens, arrays, ctx):
        (x,) = xs
        W = arrays["Weights"]
        k = W.shape[-1]
        W2 = W.reshape(-1, k)
        X2 = x.reshape(-1, k)
        Y = X2 @ W2.T
        if "Biases" in arrays:
            Y += arrays["Biases"].reshape(-1)
        return [Y.reshape(x.shape[:-1] + W.shape[:-1])], X2

    def backward(self, X2, dys, arrays, ctx):
        (dy,) = dys
        W = arrays["Weights"]
        k = W.shape[-1]
        W2 = W.reshape(-1, k)
        dY = dy.reshape(-1, W2.shape[0])
        grads = {"Weights": (dY.T @ X2).reshape(W.shape)}
        if "Biases" in arrays:
            grads["Biases"] = dY.sum(0).reshape(arrays["Biases"].shape)
        dx = (dY @ W2).reshape(dy.shape[: dy.ndim - (W.ndim - 1)] + (k,))
        return [dx], grads
