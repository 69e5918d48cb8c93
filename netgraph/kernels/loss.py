"""Loss ops: a per-position loss ℓ(x, t), averaged over each example's true positions.

Ports in order: Input x, Target t; one output, the loss (B,). A position is one element
of the input, or one class vector when the input's last axis holds classes (cross-entropy
"Index" and "Probabilities"). In a sequence, only the true steps count: the loss of an
example is Σ ℓ over its true positions divided by their number, so padding never matters.

Probabilities are clipped before their logarithm: to [EPSILON, 1] for "Index" and
"Probabilities", to [EPSILON, 1 − EPSILON] for "Binary" (so both logarithms stay finite).
The derivative is that of the clipped function: zero where the clip is active. When the
probabilities come from a softmax, the plan runs the cross-entropy on the softmax's input
instead (the ``*LogitsOp``s, see ``LOGITS``): log-softmax is exact at any confidence, and a
confident mistake keeps its full gradient, softmax(z) − target.
"""

from __future__ import annotations

import numpy as np

from .base import Op, step_mask

EPSILON = 1e-7


def _clip(p, lo, hi):
    """(clipped p, 1 where p is strictly inside (lo, hi) else 0)."""
    return np.clip(p, lo, hi), ((p > lo) & (p < hi)).astype(p.dtype)


class _LossOp(Op):
    """Shared reduction. Subclasses give ``loss(x, t) -> ℓ`` and ``grads(x, t) -> (dℓ/dx,
    dℓ/dt or None)`` with ℓ of shape (B, *positions)."""

    classed = False  # True when the input's last axis is the class axis

    def _weights(self, x, lens):
        """(B, *positions) weights 1/count at true positions and 0 at padding."""
        B = len(x)
        pos = x.shape[1:-1] if self.classed else x.shape[1:]
        size = int(np.prod(pos, dtype=np.int64))
        if lens[0] is None or not pos:  # no sequence axis among the positions
            return np.full((B,) + pos, 1.0 / size, x.dtype)
        count = (lens[0] * (size // pos[0])).astype(x.dtype)
        mask = step_mask(lens[0], pos[0]).astype(x.dtype)
        w = mask / count[:, None]
        return np.broadcast_to(w.reshape((B, pos[0]) + (1,) * (len(pos) - 1)), (B,) + pos)

    def forward(self, xs, lens, arrays, ctx):
        x, t = xs
        w = self._weights(x, lens)
        loss = (self.loss(x, t) * w).reshape(len(x), -1).sum(axis=1)
        return [loss], (x, t, w)

    def backward(self, saved, dys, arrays, ctx):
        x, t, w = saved
        g = dys[0].reshape((-1,) + (1,) * (w.ndim - 1)) * w  # dLoss/dℓ per position
        dx, dt = self.grads(x, t)
        if self.classed:
            g = g[..., None]
        return [dx * g, None if dt is None else dt * g], {}


class IndexCrossEntropyOp(_LossOp):
    """ℓ = −log p[t] with p = clip(x, ε, 1);  dℓ/dx = −1/p at class t (0 where clipped), else 0."""

    classed = True

    def loss(self, x, t):
        p, _ = _clip(np.take_along_axis(x, t[..., None], axis=-1)[..., 0], EPSILON, 1.0)
        return -np.log(p)

    def grads(self, x, t):
        p, inside = _clip(np.take_along_axis(x, t[..., None], axis=-1), EPSILON, 1.0)
        dx = np.zeros_like(x)
        np.put_along_axis(dx, t[..., None], -inside / p, axis=-1)
        return dx, None


class ProbabilitiesCrossEntropyOp(_LossOp):
    """ℓ = −Σ_k t_k log p_k with p = clip(x, ε, 1);  dℓ/dx = −t/p (0 where clipped), dℓ/dt = −log p."""

    classed = True

    def loss(self, x, t):
        p, _ = _clip(x, EPSILON, 1.0)
        return -(t * np.log(p)).sum(axis=-1)

    def grads(self, x, t):
        p, inside = _clip(x, EPSILON, 1.0)
        return -t * inside / p, -np.log(p)


def _log_softmax(z):
    m = z.max(axis=-1, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(axis=-1, keepdims=True))


class IndexCrossEntropyLogitsOp(_LossOp):
    """ℓ = −log softmax(z)[t] on the logits z;  dℓ/dz = softmax(z) − onehot(t)."""

    classed = True

    def loss(self, z, t):
        return -np.take_along_axis(_log_softmax(z), t[..., None], axis=-1)[..., 0]

    def grads(self, z, t):
        dz = np.exp(_log_softmax(z))
        np.put_along_axis(dz, t[..., None], np.take_along_axis(dz, t[..., None], -1) - 1, -1)
        return dz, None


class ProbabilitiesCrossEntropyLogitsOp(_LossOp):
    """ℓ = −Σ_k t_k log softmax(z)_k on the logits z;  dℓ/dz = softmax(z)·Σ_k t_k − t,
    dℓ/dt = −log softmax(z)."""

    classed = True

    def loss(self, z, t):
        return -(t * _log_softmax(z)).sum(axis=-1)

    def grads(self, z, t):
        ls = _log_softmax(z)
        return np.exp(ls) * t.sum(axis=-1, keepdims=True) - t, -ls


# A cross-entropy op → the same loss on the logits of the softmax that feeds it.
LOGITS = {
    IndexCrossEntropyOp: IndexCrossEntropyLogitsOp,
    ProbabilitiesCrossEntropyOp: ProbabilitiesCrossEntropyLogitsOp,
}


class BinaryCrossEntropyOp(_LossOp):
    """ℓ = −(t log p + (1−t) log(1−p)) with p = clip(x, ε, 1−ε);
    dℓ/dx = (1−t)/(1−p) − t/p (0 where clipped), dℓ/dt = log(1−p) − log p."""

    def loss(self, x, t):
        p, _ = _clip(x, EPSILON, 1.0 - EPSILON)
        return -(t * np.log(p) + (1 - t) * np.log1p(-p))

    def grads(self, x, t):
        p, inside = _clip(x, EPSILON, 1.0 - EPSILON)
        return inside * ((1 - t) / (1 - p) - t / p), np.log1p(-p) - np.log(p)


class MeanSquaredOp(_LossOp):
    """ℓ = (x − t)²;  dℓ/dx = 2(x − t) = −dℓ/dt."""

    def loss(self, x, t):
        return np.square(x - t)

    def grads(self, x, t):
        d = 2 * (x - t)
        return d, -d


class MeanAbsoluteOp(_LossOp):
    """ℓ = |x − t|;  dℓ/dx = sign(x − t) = −dℓ/dt (0 where x = t)."""

    def loss(self, x, t):
        return np.abs(x - t)

    def grads(self, x, t):
        d = np.sign(x - t)
        return d, -d
