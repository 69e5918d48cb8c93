"""Layers that rearrange an array's dimensions: FlattenLayer, ReshapeLayer."""

from __future__ import annotations

import math

from ..kernels.shape import ReshapeOp
from ..symbols import Automatic
from ..types import TensorType, TypeConflict, Var, describe
from .base import Layer, meet, same_kind


def _no_varying(x: TensorType, dims: tuple, owner: str, hint: str) -> None:
    if any(isinstance(d, Var) for d in dims):
        raise TypeConflict(
            f'port "Input" is {describe(x)}; {owner} cannot merge or split its "Varying" '
            f"dimension, whose size differs between sequences; {hint}"
        )


class FlattenLayer(Layer):
    """Flattens several levels of an array into one, keeping the elements' order.

    ``FlattenLayer()`` flattens every level into a vector; ``FlattenLayer(n)`` with n > 0
    flattens the first n + 1 levels together; ``FlattenLayer(-n)`` the last n + 1 levels
    (Wolfram's convention). A "Varying" sequence length cannot be flattened, but the inner
    levels of a sequence can: ``FlattenLayer(-1)`` turns ("Varying", 2, 3) into ("Varying", 6).

    Ports: "Input" an array of rank ≥ 1 (reals or integers), "Output" the flattened array.
    Options: ``level`` (None: all levels), ``input``, ``output``.

    >>> from netgraph import FlattenLayer
    >>> FlattenLayer()([[1.0, 2.0], [3.0, 4.0]])
    array([1., 2., 3., 4.], dtype=float32)
    >>> FlattenLayer(-1, input=(2, 3, 4)).ports["Output"]
    (2, 12)
    """

    def __init__(self, level=None, *, input=None, output=None, **unknown):
        self.check_unknown(unknown)
        if level is not None and (
            isinstance(level, bool) or not isinstance(level, int) or level == 0
        ):
            raise ValueError(
                'FlattenLayer: option "level" must be None (flatten everything) or a nonzero int '
                f"(n: the first n + 1 levels, -n: the last n + 1 levels); received {level!r}."
            )
        self._init({"level": level}, {"Input": input, "Output": output})

    def _span(self, r: int) -> tuple[int, int]:
        """The flattened levels [a, b) of an input of rank r."""
        n = self.options["level"]
        if n is None:
            return 0, r
        k = abs(n) + 1
        if k > r:
            which = "first" if n > 0 else "last"
            raise TypeConflict(
                f"FlattenLayer({n}) flattens the {which} {k} levels together, but port "
                f'"Input" has rank {r}'
            )
        return (0, k) if n > 0 else (r - k, r)

    def infer(self, t, u):
        x, y = same_kind(u, t)
        if x.dims is None:
            return {"Input": x, "Output": y}
        if not x.dims:
            raise TypeConflict('port "Input" is a scalar; FlattenLayer needs an array of rank ≥ 1')
        a, b = self._span(len(x.dims))
        _no_varying(
            x,
            x.dims[a:b],
            "FlattenLayer",
            "flatten only the inner levels, with FlattenLayer(-n), which joins the last n + 1",
        )
        flat = x.dims[a:b]
        merged = math.prod(flat) if None not in flat else None
        y = meet(u, y, TensorType(x.dims[:a] + (merged,) + x.dims[b:], x.kind), 'port "Output"')
        x = TensorType(y.dims[:a] + flat + y.dims[a + 1 :], y.kind)
        return {"Input": x, "Output": y}

    def op(self, t):
        return ReshapeOp(self, t)


def _dims(dims) -> tuple:
    if isinstance(dims, int) and not isinstance(dims, bool):
        dims = (dims,)
    ok = isinstance(dims, (tuple, list)) and all(
        d is Automatic or (isinstance(d, int) and not isinstance(d, bool) and d >= 1) for d in dims
    )
    if not ok or sum(d is Automatic for d in dims) > 1:
        raise ValueError(
            "ReshapeLayer: dims must be a positive int or a tuple of them, one of which may be "
            f"Automatic (inferred from the element count); received {dims!r}."
        )
    return tuple(dims)


class ReshapeLayer(Layer):
    """Rearranges the elements of each example into the dimensions ``dims`` (row-major order).

    One dimension may be ``Automatic``: it is inferred from the element count. The input's
    element count must equal the product of ``dims``. Sequences of varying length cannot be
    reshaped (their element count differs between examples).

    Ports: "Input" an array of fixed dimensions (reals or integers), "Output" ``dims``.
    Options: ``dims``, ``input``, ``output``.

    >>> from netgraph import ReshapeLayer, Automatic
    >>> ReshapeLayer((2, Automatic))([1.0, 2.0, 3.0, 4.0])
    array([[1., 2.],
           [3., 4.]], dtype=float32)
    """

    def __init__(self, dims, *, input=None, output=None, **unknown):
        self.check_unknown(unknown)
        self._init({"dims": _dims(dims)}, {"Input": input, "Output": output})

    def infer(self, t, u):
        x, y = same_kind(u, t)
        dims = self.options["dims"]
        target = tuple(None if d is Automatic else d for d in dims)
        if x.dims is not None:
            _no_varying(x, x.dims, "ReshapeLayer", "give the sequences a fixed length")
            if None not in x.dims:
                total = math.prod(x.dims)
                known = math.prod(d for d in target if d is not None)
                shown = "(" + ", ".join(map(repr, dims)) + ("," if len(dims) == 1 else "") + ")"
                if Automatic in dims and total % known:
                    raise TypeConflict(
                        f'port "Input" is {describe(x)} with {total} elements, which do not '
                        f"fill the dims {shown}: {total} is not a multiple of {known}"
                    )
                if Automatic not in dims and total != known:
                    raise TypeConflict(
                        f'port "Input" is {describe(x)} with {total} elements, but the dims '
                        f"{shown} hold {known}; the element counts must be equal"
                    )
                target = tuple(total // known if d is None else d for d in target)
        y = meet(u, y, TensorType(target, x.kind), 'port "Output"')
        return {"Input": x, "Output": y}

    def op(self, t):
        return ReshapeOp(self, t)


__all__ = ["FlattenLayer", "ReshapeLayer"]
