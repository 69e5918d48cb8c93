"""DropoutLayer: random zeroing (or SELU-preserving alpha dropout) of elements in training."""

from __future__ import annotations

from ..kernels.dropout import DropoutOp
from ..text import closest
from ..types import REAL, TensorType
from .base import Layer, meet, same

METHODS = ("Dropout", "AlphaDropout")


class DropoutLayer(Layer):
    """Drops input elements with probability ``p`` in training; the identity otherwise.

    Ports: "Input" and "Output" of any equal shape (reals), sequences included.

    Options: ``p`` (default 0.5, in [0, 1)); ``method``: "Dropout" (the default: dropped
    elements become 0, kept ones are scaled by 1/(1−p)) or "AlphaDropout" (for SELU nets,
    Klambauer et al. 2017: dropped elements become −λα, then a·x + b restores mean 0 and
    variance 1); ``input``, ``output``. Dropout acts only with ``evaluation_mode="Train"``
    (as in NetTrain), drawing a new mask on every call from the call's ``random_seed``.

    >>> from netgraph import DropoutLayer
    >>> DropoutLayer(0.5)([1.0, 2.0])
    array([1., 2.], dtype=float32)
    """

    def __init__(self, p=0.5, *, method="Dropout", input=None, output=None, **unknown):
        self.check_unknown(unknown)
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p < 1:
            raise ValueError(
                f"DropoutLayer: the dropout probability p must be a number in [0, 1); received {p!r}."
            )
        if method not in METHODS:
            raise ValueError(
                f"DropoutLayer: unknown method {method!r}{closest(method, METHODS)}. "
                f"Valid methods: {', '.join(METHODS)}."
            )
        self._init({"p": float(p), "method": method}, {"Input": input, "Output": output})

    def infer(self, t, u):
        t = {p: meet(u, t[p], TensorType(None, REAL), f'port "{p}"') for p in t}
        return same(u, t, "Input", "Output", "DropoutLayer")

    def op(self, t):
        return DropoutOp(self, t)


__all__ = ["DropoutLayer"]
