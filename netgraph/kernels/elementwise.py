"""Elementwise functions with their derivatives, side by side: name → (f(x), f'(x) from x and y)."""

from __future__ import annotations

import numpy as np

from .base import Op

_SELU_A, _SELU_L = 1.6732632423543772, 1.0507009873554805
_SQRT2 = np.sqrt(2.0)
_INV_SQRT2PI = 1.0 / np.sqrt(2.0 * np.pi)


def _erf(x):
    # imported here: scipy.special takes 0.4 s to import, a third of netgraph's import time
    from scipy.special import erf

    return erf(x)


def _gelu(x):
    return 0.5 * x * (1.0 + _erf(x / _SQRT2))


def _dgelu(x, y):
    return 0.5 * (1.0 + _erf(x / _SQRT2)) + x * _INV_SQRT2PI * np.exp(-0.5 * x * x)


FUNCTIONS = {
    "Ramp": (lambda x: np.maximum(x, 0), lambda x, y: (x > 0).astype(x.dtype)),
    "Tanh": (np.tanh, lambda x, y: 1 - y * y),
    "LogisticSigmoid": (lambda x: 0.5 * (1 + np.tanh(0.5 * x)), lambda x, y: y * (1 - y)),
    "SoftSign": (lambda x: x / (1 + np.abs(x)), lambda x, y: 1 / (1 + np.abs(x)) ** 2),
    "HardSigmoid": (
        lambda x: np.clip(0.2 * x + 0.5, 0, 1),
        lambda x, y: np.where(np.abs(x) < 2.5, 0.2, 0.0).astype(x.dtype),
    ),
    "ELU": (
        lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0))),
        lambda x, y: np.where(x > 0, 1, y + 1).astype(x.dtype),
    ),
    "SELU": (
        lambda x: _SELU_L * np.where(x > 0, x, _SELU_A * np.expm1(np.minimum(x, 0))),
        lambda x, y: np.where(x > 0, _SELU_L, y + _SELU_L * _SELU_A).astype(x.dtype),
    ),
    "GELU": (_gelu, _dgelu),
    "Sin": (np.sin, lambda x, y: np.cos(x)),
    "Cos": (np.cos, lambda x, y: -np.sin(x)),
    "Exp": (np.exp, lambda x, y: y),
    "Log": (np.log, lambda x, y: 1 / x),
    "Sqrt": (np.sqrt, lambda x, y: 0.5 / y),
    "Square": (np.square, lambda x, y: 2 * x),
    "Abs": (np.abs, lambda x, y: np.sign(x)),
}
ALIASES = {"ReLU": "Ramp"}


class ElementwiseOp(Op):
    """y = f(x) elementwise; dx = dy · f'(x)."""

    def __init__(self, layer, types):
        super().__init__(layer, types)
        self.f, self.df = FUNCTIONS[layer.options["function"]]

    def forward(self, xs, lens, arrays, ctx):
        (x,) = xs
        with np.errstate(divide="ignore", invalid="ignore"):  # zeros at padding of Log, Sqrt
            y = self.f(x).astype(x.dtype, copy=False)
        return [y], (x, y)

    def backward(self, saved, dys, arrays, ctx):
        x, y = saved
        with np.errstate(divide="ignore", invalid="ignore"):
            return [(dys[0] * self.df(x, y)).astype(x.dtype, copy=False)], {}
