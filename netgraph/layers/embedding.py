"""EmbeddingLayer: a trainable vector for each of n integer codes."""

from __future__ import annotations

from ..coders import NetEncoder
from ..kernels.embedding import EmbeddingOp
from ..types import INTEGER, REAL, Index, TensorType, TypeConflict, parse_type
from .base import Layer, array_dims_rule, meet


def _size(value, what: str):
    if value is None or (isinstance(value, int) and not isinstance(value, bool) and value >= 1):
        return value
    raise ValueError(f"EmbeddingLayer: {what} must be a positive int or None; received {value!r}.")


class EmbeddingLayer(Layer):
    """Maps each integer index k in 0 … n−1 to row k of a trainable (n, size) matrix.

    Ports: "Input" an integer or an array of integers of any shape, typically a sequence
    ``("Varying",)`` of indices (kind ``Restricted("Integer", n)``; indices count from 0);
    "Output" the input's dimensions followed by ``size``. Array: "Weights" ``(n, size)``.

    Options: ``size`` (embedding dimension), ``n`` (number of codes; inferred from the input's
    ``Restricted("Integer", n)`` or from ``weights`` when None), ``weights`` (initial array),
    ``input``, ``output``, ``arrays``. NetInitialize draws the weights from a standard normal
    distribution (mean 0, std 1, as PyTorch's ``nn.Embedding``), whatever its method.

    >>> from netgraph import EmbeddingLayer
    >>> emb = EmbeddingLayer(2, 3, weights=[[0.0, 0.5], [1.0, 1.5], [2.0, 2.5]])
    >>> emb([2, 0])
    array([[2. , 2.5],
           [0. , 0.5]], dtype=float32)
    """

    def __init__(
        self,
        size=None,
        n=None,
        *,
        input=None,
        output=None,
        weights=None,
        arrays=None,
        **unknown,
    ):
        self.check_unknown(unknown)
        options = {"size": _size(size, "the size"), "n": _size(n, "the number of codes n")}
        arrays = dict(arrays or {})
        if weights is not None:
            arrays["Weights"] = weights
        if input is not None and not isinstance(input, NetEncoder):  # an encoder stays one
            input = parse_type(input, 'EmbeddingLayer: port "Input"', kind=INTEGER)
        self._init(options, {"Input": input, "Output": output}, arrays, ("Weights",))

    def _n_size(self, t: dict) -> tuple:
        """(n, size) from the options, the input's kind and the output's last dimension."""
        x, y = t["Input"], t["Output"]
        n, size = self.options["n"], self.options["size"]
        if isinstance(x.kind, Index):
            if n is not None and x.kind.n != n:
                raise TypeConflict(
                    f'port "Input" takes integers in 0..{n - 1} (n = {n}), '
                    f"but it receives integers in 0..{x.kind.n - 1}"
                )
            n = x.kind.n
        if size is None and y.dims:
            size = y.dims[-1]
        return n, size

    def infer(self, t, u):
        x, y = t["Input"], t["Output"]
        if x.kind == REAL:
            raise TypeConflict('port "Input" takes integer indices; it receives reals')
        if y.dims == ():
            raise TypeConflict(
                'port "Output" has the embedding size as last dimension; it is a scalar'
            )
        n, size = array_dims_rule(self, t, u, "Weights", self._n_size(t))
        kind = INTEGER if n is None else Index(n)
        x = TensorType(x.dims, u.kind(x.kind, kind))
        lead = None if y.dims is None else tuple(y.dims[:-1])
        x = meet(u, x, TensorType(lead, x.kind), 'port "Input"')
        out = None if x.dims is None else tuple(x.dims) + (size,)
        y = meet(u, y, TensorType(out, REAL), 'port "Output"')
        return {"Input": x, "Output": y}

    def array_shapes(self, t):
        n, size = self._n_size(t)
        w = self.arrays["Weights"]
        if w is not None:
            n, size = w.shape
        return {"Weights": None if n is None or size is None else (n, size)}

    def init_array(self, name, shape, rng, method):
        return rng.normal(0.0, 1.0, shape)

    def op(self, t):
        return EmbeddingOp(self, t)


__all__ = ["EmbeddingLayer"]
