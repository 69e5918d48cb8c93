"""LinearLayer: w·x + b on the last dimension of the input, with an output of any shape."""

from __future__ import annotations

from ..kernels.dense import LinearOp
from ..symbols import Automatic
from ..types import REAL, TensorType, TypeConflict, Unifier, Var, parse_type
from .base import Layer, meet


def _out_shape(n) -> tuple | None:
    if n is None:
        return None
    if isinstance(n, int) and not isinstance(n, bool) and n >= 1:
        return (n,)
    if isinstance(n, (tuple, list)) and all(
        isinstance(d, int) and not isinstance(d, bool) and d >= 1 for d in n
    ):
        return tuple(n)
    raise ValueError(
        f"LinearLayer: the output size must be a positive int or a tuple of them; received {n!r}."
    )


class LinearLayer(Layer):
    """A trainable affine map ``y = W·x + b`` acting on the input's last dimension.

    Ports: "Input" ``(…, k)``, "Output" ``(…, *n)``; leading dimensions (a sequence, say)
    are kept. Arrays: "Weights" ``(*n, k)``, "Biases" ``n`` (absent with ``biases=None``).

    Options: ``n`` (int, tuple or ``()`` for a scalar output; inferred when None; a scalar
    also with ``output="Real"``, Wolfram's ``LinearLayer[]`` with ``"Output" -> "Real"``),
    ``weights``/``biases`` initial arrays (``biases=None``: no biases), ``input``, ``output``.

    >>> import numpy as np
    >>> from netgraph import LinearLayer
    >>> lin = LinearLayer(2, weights=[[1., 2.], [3., 4.]], biases=[0.5, 0.])
    >>> lin([1., 1.])
    array([3.5, 7. ], dtype=float32)
    """

    def __init__(
        self,
        n=None,
        *,
        weights=None,
        biases=Automatic,
        input=None,
        output=None,
        arrays=None,
        **unknown,
    ):
        self.check_unknown(unknown)
        shape = _out_shape(n)
        if shape is None and output is not None and parse_type(output).dims == ():
            shape = ()  # a scalar output, as Wolfram's LinearLayer[] with "Output" -> "Real"
        arrays = dict(arrays or {})
        if weights is not None:
            arrays["Weights"] = weights
        if biases is not None and biases is not Automatic:
            arrays["Biases"] = biases
        with_biases = biases is not None
        names = ("Weights", "Biases") if with_biases else ("Weights",)
        self._init(
            {"n": shape, "biases": with_biases}, {"Input": input, "Output": output}, arrays, names
        )

    def construction_options(self) -> dict:
        """``biases`` is Automatic (biases to learn) or None (none), as the constructor takes it."""
        return {"n": self.options["n"], "biases": Automatic if self.options["biases"] else None}

    def _n(self) -> tuple | None:
        w = self.arrays["Weights"]
        if w is not None:
            if self.options["n"] is not None and w.shape[:-1] != self.options["n"]:
                raise TypeConflict(
                    f'array "Weights" has shape {w.shape}, but the output shape is {self.options["n"]}'
                )
            return w.shape[:-1]
        b = self.arrays.get("Biases")
        return self.options["n"] if self.options["n"] is not None or b is None else b.shape

    def infer(self, t: dict, u: Unifier) -> dict:
        n = self._n()
        nshape = n if n is not None else (None,)
        w = self.arrays["Weights"]
        b = self.arrays.get("Biases")
        if b is not None and n is not None and b.shape != tuple(n):
            raise TypeConflict(
                f'array "Biases" has shape {b.shape}, but the output shape is {tuple(n)}'
            )
        x, y = t["Input"], t["Output"]
        lead = None
        if x.dims is not None:
            if not x.dims:
                raise TypeConflict(
                    'port "Input" must be a vector or an array of higher rank; it is a scalar'
                )
            if isinstance(x.dims[-1], Var):
                raise TypeConflict(
                    'port "Input" is a sequence of scalars ("Varying"); LinearLayer needs a '
                    'fixed size in the last dimension, as in ("Varying", k)'
                )
            lead = x.dims[:-1]
        elif y.dims is not None:
            if len(y.dims) < len(nshape):
                raise TypeConflict(
                    f'port "Output" has rank {len(y.dims)}, less than the output shape {nshape}'
                )
            lead = y.dims[: len(y.dims) - len(nshape)]
        k = None if w is None else w.shape[-1]
        if lead is None:
            return {
                "Input": meet(u, x, TensorType(None, REAL), 'port "Input"'),
                "Output": meet(u, y, TensorType(None, REAL), 'port "Output"'),
            }
        src = f' (array "Weights" has shape {w.shape})' if w is not None else ""
        x = meet(u, x, TensorType(lead + (k,), REAL), f'port "Input"{src}')
        y = meet(u, y, TensorType(tuple(x.dims[:-1]) + tuple(nshape), REAL), f'port "Output"{src}')
        return {"Input": x, "Output": y}

    def array_shapes(self, t: dict) -> dict:
        x, y = t["Input"], t["Output"]
        k = None if x.dims is None else x.dims[-1]
        n = self._n()
        if n is None and y.dims is not None and x.dims is not None:
            n = y.dims[len(x.dims) - 1 :]
        shapes = {"Weights": None if n is None or k is None else tuple(n) + (k,)}
        if self.options["biases"]:
            shapes["Biases"] = None if n is None else tuple(n)
        return shapes

    def fans(self, name: str, shape: tuple) -> tuple[int, int]:
        n = 1
        for d in shape[:-1]:
            n *= d
        return shape[-1], n

    def op(self, t):
        return LinearOp(self, t)


__all__ = ["LinearLayer"]
