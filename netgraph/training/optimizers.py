"""Optimizers for NetTrain: "ADAM", "SGD" and "RMSProp", with L2 regularization, gradient
clipping, learning-rate multipliers and a learning-rate schedule.

One update, per array w with gradient g (of the mean loss of the batch):

1. L2 regularization λ adds λ·w to g (the gradient of λ/2·‖w‖²); biases are not
   regularized unless named explicitly, as in MATLAB (BiasL2Factor 0).
2. Gradient clipping: a number c clips every element of g to [−c, c] (Wolfram's
   GradientClipping); ``("L2Norm", t)`` rescales each array's g to norm at most t;
   ``("GlobalL2Norm", t)`` rescales all gradients together so that their joint norm is at
   most t (MATLAB's GradientThresholdMethod).
3. The step, with learning rate η = learning_rate · schedule(batch, total) · multiplier:
   - ADAM: m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²;
     w ← w − η·m̂/(√v̂ + ε) with m̂ = m/(1−β1ᵗ), v̂ = v/(1−β2ᵗ).
   - SGD: u ← μ·u − η·g;  w ← w + u  (μ = momentum; MATLAB's sgdm).
   - RMSProp: s ← β·s + (1−β)·g²;  w ← w − η·g/(√s + ε).

An array whose multiplier is 0 is frozen: it does not move at all.
"""

from __future__ import annotations

import numpy as np

from ..text import closest

DEFAULTS = {
    "ADAM": {"learning_rate": 1e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-5},
    "SGD": {"learning_rate": 1e-2, "momentum": 0.93},
    "RMSProp": {"learning_rate": 1e-3, "beta": 0.95, "epsilon": 1e-8},
}
COMMON = ("learning_rate_schedule", "l2_regularization", "gradient_clipping")


def parse_method(method) -> tuple[str, dict]:
    """``"ADAM"`` or ``("ADAM", {suboptions})`` → (name, full suboptions)."""
    if isinstance(method, str):
        name, sub = method, {}
    elif isinstance(method, (tuple, list)) and len(method) == 2 and isinstance(method[1], dict):
        name, sub = method
    else:
        raise ValueError(
            'NetTrain: method must be "ADAM", "SGD" or "RMSProp", or a pair such as '
            f'("ADAM", {{"learning_rate": 1e-3}}); received {method!r}.'
        )
    if name not in DEFAULTS:
        raise ValueError(
            f"NetTrain: unknown method {name!r}{closest(name, DEFAULTS)}. "
            f"Methods: {', '.join(DEFAULTS)}."
        )
    allowed = list(DEFAULTS[name]) + list(COMMON)
    for k in sub:
        if k not in allowed:
            raise ValueError(
                f'NetTrain: unknown suboption "{k}" of method "{name}"{closest(k, allowed)}. '
                f"Suboptions: {', '.join(allowed)}."
            )
    opts = {**DEFAULTS[name], **{k: None for k in COMMON}, **sub}
    for k in ("learning_rate", "epsilon", "beta1", "beta2", "beta", "momentum"):
        if k in opts:
            v = opts[k]
            ok = isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v)
            lo_ok = v >= 0 if ok else False
            hi_ok = v < 1 if k in ("beta1", "beta2", "beta", "momentum") and ok else True
            if not (ok and lo_ok and hi_ok):
                rng = "in [0, 1)" if k in ("beta1", "beta2", "beta", "momentum") else "≥ 0"
                raise ValueError(
                    f'NetTrain: method suboption "{k}" must be a number {rng}; received {v!r}.'
                )
    opts["gradient_clipping"] = _clipping(opts["gradient_clipping"])
    sched = opts["learning_rate_schedule"]
    if sched is not None and not callable(sched):
        raise ValueError(
            "NetTrain: learning_rate_schedule must be a function f(batch, total_batches) that "
            f"returns a multiplier of the learning rate; received {sched!r}."
        )
    return name, opts


def _clipping(c):
    if c is None:
        return None
    if isinstance(c, (int, float)) and not isinstance(c, bool) and c > 0:
        return ("Elementwise", float(c))
    if (
        isinstance(c, (tuple, list))
        and len(c) == 2
        and c[0] in ("L2Norm", "GlobalL2Norm")
        and isinstance(c[1], (int, float))
        and c[1] > 0
    ):
        return (c[0], float(c[1]))
    raise ValueError(
        'NetTrain: gradient_clipping must be a positive number (elementwise), ("L2Norm", t) or '
        f'("GlobalL2Norm", t); received {c!r}.'
    )


class Optimizer:
    """The update of every trained array. ``params``: key → float array; ``multipliers``/``l2``:
    key → factor. A step writes the new arrays into ``out`` and leaves ``params`` as they are."""

    def __init__(self, name: str, opts: dict, params: dict, multipliers: dict, l2: dict):
        self.name, self.opts = name, opts
        self.multipliers, self.l2 = multipliers, l2
        self.t = 0
        self.state = {
            k: [np.zeros_like(w) for _ in range(2 if name == "ADAM" else 1)]
            for k, w in params.items()
            if multipliers.get(k, 1.0) != 0
        }

    def step(self, params: dict, grads: dict, out: dict, batch: int, total: int) -> dict:
        """One update: key → new array (written into ``out[key]``) for every array with a gradient."""
        g = self._regularized(params, grads)
        _clip(g, self.opts["gradient_clipping"])
        self.t += 1
        lr = self.opts["learning_rate"]
        if self.opts["learning_rate_schedule"] is not None:
            lr = lr * float(self.opts["learning_rate_schedule"](batch, total))
        update = {"ADAM": self._adam, "SGD": self._sgd}.get(self.name, self._rmsprop)
        for k, gk in g.items():
            update(params[k], gk, lr * self.multipliers.get(k, 1.0), self.state[k], out[k])
        return {k: out[k] for k in g}

    def _regularized(self, params: dict, grads: dict) -> dict:
        """The gradients of the trained arrays, in the arrays' precision, with the L2 term."""
        g = {}
        for k in self.state:
            gk = grads.get(k)
            if gk is None:
                continue
            gk = gk.astype(params[k].dtype, copy=True)
            lam = self.l2.get(k, 0.0)
            if lam:
                gk += lam * params[k]
            g[k] = gk
        return g

    def _adam(self, w, gk, eta, st, out) -> None:
        b1, b2, eps = self.opts["beta1"], self.opts["beta2"], self.opts["epsilon"]
        m, v = st
        m *= b1
        m += (1 - b1) * gk
        v *= b2
        v += (1 - b2) * gk * gk
        mh = m / (1 - b1**self.t)
        vh = v / (1 - b2**self.t)
        np.subtract(w, (eta * mh / (np.sqrt(vh) + eps)).astype(w.dtype), out=out)

    def _sgd(self, w, gk, eta, st, out) -> None:
        (u,) = st
        u *= self.opts["momentum"]
        u -= eta * gk
        np.add(w, u, out=out)

    def _rmsprop(self, w, gk, eta, st, out) -> None:
        (s,) = st
        b, eps = self.opts["beta"], self.opts["epsilon"]
        s *= b
        s += (1 - b) * gk * gk
        np.subtract(w, (eta * gk / (np.sqrt(s) + eps)).astype(w.dtype), out=out)


def _clip(g: dict, clip) -> None:
    """Clip the gradients in place: elementwise, per array by L2 norm, or by the global norm."""
    if clip is None:
        return
    how, c = clip
    if how == "Elementwise":
        for gk in g.values():
            np.clip(gk, -c, c, out=gk)
    elif how == "L2Norm":
        for gk in g.values():
            norm = float(np.sqrt(np.sum(gk.astype(np.float64) ** 2)))
            if norm > c:
                gk *= c / norm
    else:
        norm = float(np.sqrt(sum(np.sum(gk.astype(np.float64) ** 2) for gk in g.values())))
        if norm > c:
            for gk in g.values():
                gk *= c / norm
