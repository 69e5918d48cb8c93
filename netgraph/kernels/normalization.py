"""Layer normalization over the last axis, with a learned scaling and bias per component."""

from __future__ import annotations

import numpy as np

from .base import Op


class NormalizationOp(Op):
    """Over the last axis (k components), each vector on its own:

    forward:  μ = mean x,  σ² = mean (x − μ)²,  r = 1/√(σ² + ε),  x̂ = (x − μ)·r,
              y = x̂·g + b  (g "Scaling", b "Biases");
    backward: d = dy·g,  dx = r·(d − mean d − x̂·mean(d·x̂)),
              dg = Σ dy·x̂,  db = Σ dy  (sums over every vector of the batch).

    A padding step is a zero vector with a zero gradient: its x̂ is 0 and its dx is 0, and it
    adds nothing to dg or db; the plan zeroes its output.
    """

    def forward(self, xs, lens, arrays, ctx):
        (x,) = xs
        eps = self.layer.options["epsilon"]
        xc = x - x.mean(axis=-1, keepdims=True)
        r = 1.0 / np.sqrt((xc * xc).mean(axis=-1, keepdims=True) + eps)
        xhat = xc * r
        y = xhat * arrays["Scaling"] + arrays["Biases"]
        return [y], (xhat, r)

    def backward(self, saved, dys, arrays, ctx):
        xhat, r = saved
        (dy,) = dys
        d = dy * arrays["Scaling"]
        dx = r * (
            d - d.mean(axis=-1, keepdims=True) - xhat * (d * xhat).mean(axis=-1, keepdims=True)
        )
        k = dy.shape[-1]
        grads = {
            "Scaling": (dy * xhat).reshape(-1, k).sum(0),
            "Biases": dy.reshape(-1, k).sum(0),
        }
        return [dx], grads
