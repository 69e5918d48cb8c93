"""Sequence layers: SequenceLastLayer, SequenceMostLayer, SequenceRestLayer, SequenceReverseLayer."""

from __future__ import annotations

from ..kernels.sequence import LastOp, MostOp, RestOp, ReverseOp
from ..types import TensorType, TypeConflict, Var, describe
from .base import Layer, meet, same, same_kind


class _SequenceLayer(Layer):
    def __init__(self, *, input=None, output=None, **unknown):
        self.check_unknown(unknown)
        self._init({}, {"Input": input, "Output": output})

    def _kinds(self, t, u) -> dict:
        """Input and Output have one element kind (``same_kind``); the input has rank ≥ 1."""
        if t["Input"].dims == ():
            raise TypeConflict(
                f'port "Input" must be a sequence (rank ≥ 1); it is {describe(t["Input"])}'
            )
        x, y = same_kind(u, t)
        return {"Input": x, "Output": y}


class SequenceLastLayer(_SequenceLayer):
    """The last element of each sequence (its true last element, whatever the padding).

    Ports: "Input" ``(n, …)`` or ``("Varying", …)``, reals or integers; "Output" ``(…)``.
    Options: ``input``, ``output``.

    >>> from netgraph import SequenceLastLayer
    >>> SequenceLastLayer()([[1.0, 2.0], [3.0, 4.0]])
    array([3., 4.], dtype=float32)
    """

    def infer(self, t, u):
        t = self._kinds(t, u)
        x, y = t["Input"], t["Output"]
        lead = None if y.dims is None else (None,) + tuple(y.dims)
        x = meet(u, x, TensorType(lead, x.kind), 'port "Input"')
        y = meet(u, y, TensorType(None if x.dims is None else x.dims[1:], x.kind), 'port "Output"')
        return {"Input": x, "Output": y}

    def op(self, t):
        return LastOp(self, t)


class _DropOneLayer(_SequenceLayer):
    """Output length = input length − 1: a new length variable for a "Varying" input."""

    def infer(self, t, u):
        t = self._kinds(t, u)
        x, y = t["Input"], t["Output"]
        if y.dims == ():
            raise TypeConflict('port "Output" must be a sequence (rank ≥ 1); it is a scalar')
        if x.dims is None:
            if y.dims is None:
                return t
            y0 = y.dims[0]
            x = TensorType((y0 + 1 if isinstance(y0, int) else None,) + y.dims[1:], x.kind)
        x0, y0 = x.dims[0], None if y.dims is None else y.dims[0]
        if isinstance(x0, int):
            if x0 < 2:
                raise TypeConflict(
                    f'port "Input" must hold sequences of length ≥ 2, since one element is dropped; '
                    f"it has length {x0}"
                )
            y0 = x0 - 1
        elif isinstance(y0, int):
            x = meet(u, x, TensorType((y0 + 1,) + x.dims[1:], x.kind), 'port "Input"')
        elif isinstance(x0, Var):
            if y0 is x0:
                raise TypeConflict(
                    'port "Output" is one element shorter than port "Input"; they cannot share a '
                    "sequence length"
                )
            y0 = y0 if isinstance(y0, Var) else Var()
        y = meet(u, y, TensorType((y0,) + tuple(x.dims[1:]), x.kind), 'port "Output"')
        return {"Input": x, "Output": y}


class SequenceMostLayer(_DropOneLayer):
    """Each sequence without its last element.

    Ports: "Input" ``(n, …)`` with n ≥ 2, or ``("Varying", …)`` (each sequence of length ≥ 2),
    reals or integers; "Output" ``(n − 1, …)``, or a sequence one element shorter than each
    input sequence. Options: ``input``, ``output``.

    >>> from netgraph import SequenceMostLayer
    >>> SequenceMostLayer()([1.0, 2.0, 3.0])
    array([1., 2.], dtype=float32)
    """

    def op(self, t):
        return MostOp(self, t)


class SequenceRestLayer(_DropOneLayer):
    """Each sequence without its first element.

    Ports: "Input" ``(n, …)`` with n ≥ 2, or ``("Varying", …)`` (each sequence of length ≥ 2),
    reals or integers; "Output" ``(n − 1, …)``, or a sequence one element shorter than each
    input sequence. Options: ``input``, ``output``.

    >>> from netgraph import SequenceRestLayer
    >>> SequenceRestLayer()([1.0, 2.0, 3.0])
    array([2., 3.], dtype=float32)
    """

    def op(self, t):
        return RestOp(self, t)


class SequenceReverseLayer(_SequenceLayer):
    """Each sequence in reverse order (within its true length; padding stays at the end).

    Ports: "Input" and "Output" of equal shape ``(n, …)`` or ``("Varying", …)``, reals or
    integers, sharing their length. Options: ``input``, ``output``.

    >>> from netgraph import SequenceReverseLayer
    >>> SequenceReverseLayer()([[1, 2, 3], [4, 5]])
    [array([3, 2, 1]), array([5, 4])]
    """

    def infer(self, t, u):
        t = self._kinds(t, u)
        if t["Output"].dims == ():
            raise TypeConflict('port "Output" must be a sequence (rank ≥ 1); it is a scalar')
        return same(u, t, "Input", "Output", "SequenceReverseLayer")

    def op(self, t):
        return ReverseOp(self, t)


__all__ = ["SequenceLastLayer", "SequenceMostLayer", "SequenceRestLayer", "SequenceReverseLayer"]
