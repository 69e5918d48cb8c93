"""SoftmaxLayer: normalized exponentials over the last dimension."""

from __future__ import annotations

from ..kernels.softmax import SoftmaxOp
from ..types import REAL, TensorType, TypeConflict
from .base import Layer, meet, same


class SoftmaxLayer(Layer):
    """Softmax over the last dimension: outputs are positive and sum to 1 along it.

    Ports: "Input" and "Output" of equal shape, rank ≥ 1. Over a sequence of scalars
    (``"Varying"``), padding steps get probability 0. Options: ``input``, ``output``.

    >>> from netgraph import SoftmaxLayer
    >>> SoftmaxLayer()([0.0, 0.0])
    array([0.5, 0.5], dtype=float32)
    """

    def __init__(self, *, input=None, output=None, **unknown):
        self.check_unknown(unknown)
        self._init({}, {"Input": input, "Output": output})

    def infer(self, t, u):
        t = {p: meet(u, t[p], TensorType(None, REAL), f'port "{p}"') for p in t}
        if t["Input"].dims == ():
            raise TypeConflict(
                'port "Input" must be a vector or an array of higher rank; it is a scalar'
            )
        return same(u, t, "Input", "Output", "SoftmaxLayer")

    def op(self, t):
        return SoftmaxOp(self, t)


__all__ = ["SoftmaxLayer"]
