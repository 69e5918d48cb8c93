"""Dropout ops: inverted dropout and SELU-preserving alpha dropout, with the forward's mask reused."""

from __future__ import annotations

import numpy as np

from .base import Op

SELU_ALPHA, SELU_LAMBDA = 1.6732632423543772, 1.0507009873554805
ALPHA_PRIME = -SELU_LAMBDA * SELU_ALPHA  # SELU's negative saturation value, −λα


def alpha_coefficients(p: float) -> tuple[float, float]:
    """(a, b) of alpha dropout: a·(x or −λα) + b keeps mean 0 and variance 1 (Klambauer et al.).

    With drop rate p, a unit y = x (kept) or α′ = −λα (dropped) has mean p·α′ and variance
    (1−p)(1 + p·α′²) when x has mean 0 and variance 1, hence a = ((1−p)(1 + p·α′²))^(−1/2)
    and b = −a·p·α′.
    """
    a = ((1.0 - p) * (1.0 + p * ALPHA_PRIME**2)) ** -0.5
    return a, -a * p * ALPHA_PRIME


class DropoutOp(Op):
    """Training: keep = U(0,1) ≥ p elementwise (a fresh mask per call).

    "Dropout":      y = x·keep/(1−p),                  dx = dy·keep/(1−p)
    "AlphaDropout": y = a·(keep ? x : α′) + b,          dx = dy·keep·a
    Test mode (or p = 0 for "Dropout"): y = x, dx = dy.
    """

    def forward(self, xs, lens, arrays, ctx):
        (x,) = xs
        p, method = self.layer.options["p"], self.layer.options["method"]
        if not ctx.training or p == 0:
            return [x], None
        keep = ctx.rng.random(x.shape) >= p
        if method == "Dropout":
            scale = (keep / (1.0 - p)).astype(x.dtype)
            return [x * scale], scale
        a, b = alpha_coefficients(p)
        y = np.where(keep, a * x + b, a * ALPHA_PRIME + b).astype(x.dtype)
        return [y], (keep * a).astype(x.dtype)

    def backward(self, scale, dys, arrays, ctx):
        (dy,) = dys
        return [dy if scale is None else dy * scale], {}
