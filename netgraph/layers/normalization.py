"""NormalizationLayer: layer normalization over the last dimension, then a learned scaling and
bias per component of it."""

from __future__ import annotations

import math

import numpy as np

from ..kernels.normalization import NormalizationOp
from ..types import REAL, TensorType, TypeConflict, Var
from .base import Layer, meet, same

ARRAYS = ("Scaling", "Biases")


def _epsilon(epsilon) -> float:
    if (
        isinstance(epsilon, bool)
        or not isinstance(epsilon, (int, float))
        or not math.isfinite(epsilon)
        or epsilon <= 0
    ):
        raise ValueError(
            f"NormalizationLayer: epsilon must be a positive finite number; received {epsilon!r}."
        )
    return float(epsilon)


class NormalizationLayer(Layer):
    """Normalizes each vector of the input's last dimension to mean 0 and variance 1, then
    scales and shifts each component: ``y = (x − μ)/√(σ² + ε)·Scaling + Biases``, with μ
    and σ² the mean and the (biased) variance over the last dimension.

    Ports: "Input" and "Output" of equal shape, rank ≥ 1 with a fixed last dimension k: a
    vector is normalized as a whole; a sequence ``("Varying", k)`` step by step, each step's
    vector on its own (padding affects nothing). Arrays: "Scaling" and "Biases", both
    ``(k,)``, initialized to 1 and 0.

    Options: ``epsilon`` (default 0.001, Wolfram's "Epsilon"; PyTorch's ``nn.LayerNorm``
    uses 1e-5), ``input``, ``output``, ``arrays``. This is Wolfram's layer normalization over
    the last level with a scaling and bias on that level; other aggregation levels are not
    implemented.

    >>> from netgraph import NetInitialize, NormalizationLayer
    >>> NetInitialize(NormalizationLayer(input=2))([1.0, 3.0])
    array([-0.9995004,  0.9995004], dtype=float32)
    """

    def __init__(self, *, epsilon=0.001, input=None, output=None, arrays=None, **unknown):
        self.check_unknown(unknown)
        self._init(
            {"epsilon": _epsilon(epsilon)}, {"Input": input, "Output": output}, arrays, ARRAYS
        )

    def _size(self) -> int | None:
        """k, as the given arrays fix it."""
        sizes = {n: a.shape for n in ARRAYS if (a := self.arrays[n]) is not None}
        for n, s in sizes.items():
            if len(s) != 1:
                raise TypeConflict(f'array "{n}" has shape {s}, but it must be a vector')
        if len(set(sizes.values())) > 1:
            raise TypeConflict(
                f'arrays "Scaling" and "Biases" have shapes {sizes["Scaling"]} and '
                f"{sizes['Biases']}; they must be equal"
            )
        return next(iter(sizes.values()))[0] if sizes else None

    def infer(self, t, u):
        k = self._size()
        t = {p: meet(u, t[p], TensorType(None, REAL), f'port "{p}"') for p in t}
        t = same(u, t, "Input", "Output", "NormalizationLayer")
        x = t["Input"]
        if x.dims is None:
            return t
        if not x.dims:
            raise TypeConflict(
                'port "Input" must be a vector or an array of higher rank; it is a scalar'
            )
        if isinstance(x.dims[-1], Var):
            raise TypeConflict(
                'port "Input" is a sequence of scalars ("Varying"); NormalizationLayer needs a '
                'fixed size in the last dimension, as in ("Varying", k)'
            )
        src = "" if k is None else f' (arrays "Scaling" and "Biases" have size {k})'
        x = meet(u, x, TensorType(x.dims[:-1] + (k,), REAL), f'port "Input"{src}')
        return same(u, {**t, "Input": x}, "Input", "Output", "NormalizationLayer")

    def array_shapes(self, t):
        d = t["Input"].dims
        k = None if not d or isinstance(d[-1], Var) else d[-1]
        shape = None if k is None else (k,)
        return dict.fromkeys(ARRAYS, shape)

    def init_array(self, name, shape, rng, method):
        return np.ones(shape) if name == "Scaling" else None

    def op(self, t):
        return NormalizationOp(self, t)


__all__ = ["NormalizationLayer"]
