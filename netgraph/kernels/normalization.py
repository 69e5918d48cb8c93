"""Normalization ops: layer normalization over the last axis, batch normalization per channel,
and input normalization per feature with fitted statistics."""

from __future__ import annotations

import numpy as np

from ..types import Var
from .base import Op, step_mask, unpadded


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


def _channel_shape(x: np.ndarray, axis: int) -> list:
    shape = [1] * x.ndim
    shape[axis] = -1
    return shape


def _valid(x: np.ndarray, lengths) -> np.ndarray | None:
    """The mask of x's real steps, shaped to broadcast against x (None without padding)."""
    if unpadded(lengths, x.shape[1]):
        return None
    return step_mask(lengths, x.shape[1]).reshape(x.shape[:2] + (1,) * (x.ndim - 2))


class BatchNormalizationOp(Op):
    """Per channel c (the arrays' index), over every other axis of the batch (examples, the
    real steps of a sequence, the positions of an image), n values each:

    training:  μ = mean x,  σ² = mean (x − μ)² (biased),  r = 1/√(σ² + ε),  x̂ = (x − μ)·r,
               y = x̂·g + b;
    backward:  d = dy·g,  dx = r·(d − Σd/n − x̂·Σ(d·x̂)/n),  dg = Σ dy·x̂,  db = Σ dy;
    updates:   MovingMean ← m·MovingMean + (1 − m)·μ,  MovingVariance ← m·MovingVariance +
               (1 − m)·σ²  (m "momentum", σ² the biased variance, as MXNet's);
    evaluation: μ, σ² are MovingMean and MovingVariance, a fixed affine map: dx = dy·g·r.

    Padding steps count in neither n nor the sums; their dy is zero and the plan zeroes
    their y and dx.
    """

    def __init__(self, layer, types):
        super().__init__(layer, types)
        dims = types["Input"].dims
        last = isinstance(dims[0], Var) or layer.options["interleaving"] or len(dims) == 1
        self.axis = len(dims) if last else 1  # the channel axis of a batch array

    def forward(self, xs, lens, arrays, ctx):
        (x,) = xs
        shape = _channel_shape(x, self.axis)
        g, b = arrays["Scaling"].reshape(shape), arrays["Biases"].reshape(shape)
        eps = self.layer.options["epsilon"]
        stats = None
        if ctx.training:
            axes = tuple(i for i in range(x.ndim) if i != self.axis)
            m = _valid(x, lens[0])  # a sequence ("Varying", k): one value per real step
            n = x.size // x.shape[self.axis] if m is None else int(m.sum())
            xm = x if m is None else np.where(m, x, 0)
            mu = xm.sum(axis=axes, keepdims=True) / n
            xc = x - mu
            xcm = xc if m is None else np.where(m, xc, 0)
            var = (xcm * xcm).sum(axis=axes, keepdims=True) / n
            stats = (mu.reshape(-1), var.reshape(-1), n)
        else:
            mu = arrays["MovingMean"].reshape(shape)
            var = arrays["MovingVariance"].reshape(shape)
            xc = x - mu
        r = 1.0 / np.sqrt(var + eps)
        xhat = xc * r
        return [xhat * g + b], (xhat, r, stats)

    def backward(self, saved, dys, arrays, ctx):
        xhat, r, stats = saved
        (dy,) = dys
        shape = _channel_shape(dy, self.axis)
        axes = tuple(i for i in range(dy.ndim) if i != self.axis)
        d = dy * arrays["Scaling"].reshape(shape)
        if stats is None:
            dx = d * r
        else:
            n = stats[2]
            sd = d.sum(axis=axes, keepdims=True) / n
            sdx = (d * xhat).sum(axis=axes, keepdims=True) / n
            dx = r * (d - sd - xhat * sdx)
        grads = {"Scaling": (dy * xhat).sum(axis=axes), "Biases": dy.sum(axis=axes)}
        return [dx], grads

    def updates(self, saved, arrays, previous, ctx):
        """Moving averages moved by this batch's statistics; a layer run several times in
        one pass (inside a NetFoldOperator or NetNestOperator) moves them once per run, each
        from the last (as a PyTorch loop calling the module at every step)."""
        mu, var = saved[2][:2]
        m = self.layer.options["momentum"]
        base = arrays if previous is None else previous
        return {
            "MovingMean": m * base["MovingMean"] + (1 - m) * mu,
            "MovingVariance": m * base["MovingVariance"] + (1 - m) * var,
        }


# (center, scale) of an input normalization: y = (x − center)·scale; a zero standard
# deviation or a zero range (a constant feature) divides by 1.
def _nonzero(a: np.ndarray) -> np.ndarray:
    return np.where(a > 0, a, np.ones((), a.dtype))


AFFINE = {
    "none": lambda a: (0.0, 1.0),
    "zerocenter": lambda a: (a["Mean"], 1.0),
    "zscore": lambda a: (a["Mean"], 1.0 / _nonzero(a["StandardDeviation"])),
    "rescale-zero-one": lambda a: (a["Min"], 1.0 / _nonzero(a["Max"] - a["Min"])),
    "rescale-symmetric": lambda a: (
        (a["Min"] + a["Max"]) / 2,
        2.0 / _nonzero(a["Max"] - a["Min"]),
    ),
}


class InputNormalizationOp(Op):
    """y = (x − center)·scale per component of the last axis (MATLAB's input normalization):

    "zerocenter": x − Mean;  "zscore": (x − Mean)/StandardDeviation;
    "rescale-zero-one": (x − Min)/(Max − Min);  "rescale-symmetric": 2(x − Min)/(Max − Min) − 1;
    "none": x.  backward: dx = dy·scale (the arrays have no gradient).

    Fitting (``updates`` in the fitting pass): per component, over every example and real
    step, the count n, the mean and the sum of squared deviations M2 (combined across batches
    by Chan's rule), min and max; StandardDeviation = √(M2/n) (the population deviation).
    """

    def forward(self, xs, lens, arrays, ctx):
        (x,) = xs
        center, scale = AFFINE[self.layer.options["normalization"]](arrays)
        y = (x - center) * scale if self.layer.arrays else x
        return [y], ((x, lens[0]) if ctx.fitting else None, scale)

    def backward(self, saved, dys, arrays, ctx):
        return [dys[0] * saved[1]], {}

    def updates(self, saved, arrays, previous, ctx):
        x, lengths = saved[0]
        k = x.shape[-1]
        m = _valid(x, lengths)
        rows = (x if m is None else x[m.reshape(x.shape[:2])]).reshape(-1, k).astype(np.float64)
        if not len(rows):
            return previous
        batch = {
            "count": len(rows),
            "mean": rows.mean(0),
            "m2": ((rows - rows.mean(0)) ** 2).sum(0),
            "min": rows.min(0),
            "max": rows.max(0),
        }
        t = batch if previous is None else _combined(previous, batch)
        fitted = {
            "Mean": t["mean"],
            "StandardDeviation": np.sqrt(t["m2"] / t["count"]),
            "Min": t["min"],
            "Max": t["max"],
        }
        return {**t, **{name: fitted[name] for name in self.layer.arrays}}


def _combined(a: dict, b: dict) -> dict:
    """Two batches' totals as one (Chan, Golub and LeVeque's pairwise update)."""
    n = a["count"] + b["count"]
    delta = b["mean"] - a["mean"]
    return {
        "count": n,
        "mean": a["mean"] + delta * (b["count"] / n),
        "m2": a["m2"] + b["m2"] + delta * delta * (a["count"] * b["count"] / n),
        "min": np.minimum(a["min"], b["min"]),
        "max": np.maximum(a["max"], b["max"]),
    }
