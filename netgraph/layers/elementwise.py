"""ElementwiseLayer: a named function applied to every element."""

from __future__ import annotations

from ..kernels.elementwise import ALIASES, FUNCTIONS, ElementwiseOp
from ..text import closest
from ..types import REAL, TensorType
from .base import Layer, meet, same


class ElementwiseLayer(Layer):
    """Applies a named function to every element; the output has the input's shape.

    Functions: "Ramp" (alias "ReLU"), "Tanh", "LogisticSigmoid", "SoftSign", "HardSigmoid"
    (clip(0.2·x + 0.5, 0, 1), as MATLAB), "ELU", "SELU", "GELU" (exact, with erf), "Sin",
    "Cos", "Exp", "Log", "Sqrt", "Square", "Abs".

    Ports: "Input" and "Output" of any equal shape. Options: ``function``, ``input``, ``output``.

    >>> from netgraph import ElementwiseLayer
    >>> ElementwiseLayer("Ramp")([-1.0, 2.0])
    array([0., 2.], dtype=float32)
    """

    def __init__(self, function="Ramp", *, input=None, output=None, **unknown):
        self.check_unknown(unknown)
        name = ALIASES.get(function, function)
        if not isinstance(name, str) or name not in FUNCTIONS:
            valid = list(FUNCTIONS) + list(ALIASES)
            raise ValueError(
                f"ElementwiseLayer: unknown function {function!r}{closest(function, valid)}. "
                f"Valid functions: {', '.join(valid)}."
            )
        self._init({"function": name}, {"Input": input, "Output": output})

    def infer(self, t, u):
        t = {p: meet(u, t[p], TensorType(None, REAL), f'port "{p}"') for p in t}
        return same(u, t, "Input", "Output", "ElementwiseLayer")

    def op(self, t):
        return ElementwiseOp(self, t)


__all__ = ["ElementwiseLayer"]
