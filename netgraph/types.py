"""Port types: shapes with known, unknown or "Varying" dimensions, an element kind, and unification.

A type is a ``TensorType(dims, kind)``. ``dims`` is a tuple whose entries are an int (known
size), ``None`` (size not known yet) or a ``Var`` (a named sequence length, only allowed first),
or ``dims`` is ``None`` when even the rank is unknown. ``kind`` is ``"Real"``, ``"Integer"``,
an ``Index(n)`` (an integer in 0 … n−1) or ``None`` when not known yet.

Inference meets types with a ``Unifier``: known sizes must agree, unknown parts are filled in,
and two length variables that meet become one.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from .symbols import Automatic, Restricted

REAL, INTEGER = "Real", "Integer"
_var_ids = itertools.count(1)


class Var:
    """A sequence length that is not fixed ("Varying"). Ports sharing a Var share lengths."""

    __slots__ = ("id",)

    def __init__(self):
        self.id = next(_var_ids)

    def __repr__(self) -> str:
        return "Varying"


@dataclass(frozen=True)
class Index:
    """Element kind of an integer restricted to 0 … n−1."""

    n: int

    def __repr__(self) -> str:
        return f"Restricted('Integer', {self.n})"


@dataclass(frozen=True)
class TensorType:
    dims: tuple | None = None
    kind: object = None

    # -- questions ---------------------------------------------------------------------
    @property
    def rank(self) -> int | None:
        return None if self.dims is None else len(self.dims)

    @property
    def var(self) -> Var | None:
        """The length variable of a sequence type, else None."""
        if self.dims and isinstance(self.dims[0], Var):
            return self.dims[0]
        return None

    @property
    def known(self) -> bool:
        """Every size and the kind are known (a Var counts as known: it is a run-time length)."""
        return self.dims is not None and None not in self.dims and self.kind is not None

    @property
    def is_integer(self) -> bool:
        return self.kind == INTEGER or isinstance(self.kind, Index)

    def shape(self, length: int = 0) -> tuple:
        """Concrete shape of one example, with ``length`` for a Var."""
        return tuple(length if isinstance(d, Var) else d for d in self.dims)

    def __repr__(self) -> str:
        return describe_shape(self)


# -- parsing user shape specs --------------------------------------------------------------


def _parse_kind(k):
    if k == REAL:
        return REAL
    if k == INTEGER:
        return INTEGER
    if isinstance(k, Restricted):
        return Index(k.n)
    if isinstance(k, Index):
        return k
    return None


def _parse_dim(d, i: int, what: str):
    if d == "Varying":
        if i != 0:
            raise ValueError(
                f'{what}: only the first dimension may be "Varying"; received it at position {i}.'
            )
        return Var()
    if d is None or d is Automatic:  # a size to infer
        return None
    if isinstance(d, bool) or not isinstance(d, int) or d < 1:
        raise ValueError(
            f'{what}: each dimension must be a positive int, "Varying", or None or Automatic (a size to infer); received {d!r}.'
        )
    return d


def parse_type(spec, what: str = "port", kind=None) -> TensorType:
    """Read a Wolfram shape spec: ``12``, ``(5, 12)``, ``("Varying", 12)``, ``"Varying"``,
    ``"Real"``, ``"Integer"``, ``Restricted("Integer", n)`` (optionally last in a tuple:
    ``("Varying", Restricted("Integer", 10))``), or ``None`` (or ``Automatic``) for unknown. A shape without an
    element kind leaves the kind to the layers (reals for most, integers for an embedding).

    >>> parse_type(("Varying", 12))
    (Varying, 12)
    >>> parse_type(Restricted("Integer", 5))
    Restricted('Integer', 5)
    """
    if spec is None or spec is Automatic:
        return TensorType(None, None)
    if isinstance(spec, TensorType):
        return spec
    if hasattr(spec, "port_type"):  # encoders and decoders
        return spec.port_type()
    k = _parse_kind(spec) if isinstance(spec, (str, Restricted, Index)) else None
    if k is not None:
        return TensorType((), k)
    if spec == "Varying" or (isinstance(spec, int) and not isinstance(spec, bool)):
        spec = (spec,)  # a vector: one dimension
    if isinstance(spec, (list, tuple)):
        items = list(spec)
        if items and _parse_kind(items[-1]) is not None:
            kind = _parse_kind(items.pop())
        return TensorType(tuple(_parse_dim(d, i, what) for i, d in enumerate(items)), kind)
    raise TypeError(
        f'{what}: expected a shape such as 12, (5, 12), ("Varying", 12), "Varying", "Real", '
        f'"Integer" or Restricted("Integer", n); received {spec!r}.'
    )


# -- describing types to people ------------------------------------------------------------


def _dim_str(d) -> str:
    return "Varying" if isinstance(d, Var) else "?" if d is None else str(d)


def describe_shape(t: TensorType) -> str:
    """Compact form used in tables and messages: ``(Varying, 12)``, ``Real``, ``?``."""
    kind = "" if t.kind in (REAL, None) else repr(t.kind) if isinstance(t.kind, Index) else t.kind
    if t.dims is None:
        return "?" if not kind else f"(…, {kind})"
    if not t.dims:
        return kind or ("Real" if t.kind == REAL else "?")
    parts = [_dim_str(d) for d in t.dims] + ([kind] if kind else [])
    return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"


def _kind_words(kind) -> str:
    if isinstance(kind, Index):
        return f"integers in 0..{kind.n - 1}"
    return {REAL: "reals", INTEGER: "integers"}.get(kind, "numbers")


def describe(t: TensorType) -> str:
    """Words for error messages: 'a vector of size 3 (reals)', 'a sequence of scalars (integers)'."""
    what = f" ({_kind_words(t.kind)})" if t.kind is not None else ""
    if t.dims is None:
        return "an array of unknown shape" + what
    if t.var is not None:
        return "a sequence of " + _plural(t.dims[1:]) + what
    if not t.dims:
        return {REAL: "a real scalar", INTEGER: "an integer", None: "a scalar"}.get(
            t.kind, f"an integer in 0..{getattr(t.kind, 'n', 0) - 1}"
        )
    if len(t.dims) == 1:
        return f"a vector of size {_dim_str(t.dims[0])}{what}"
    return f"an array of shape {describe_shape(TensorType(t.dims, None))}{what}"


def _plural(dims: tuple) -> str:
    if not dims:
        return "scalars"
    if len(dims) == 1:
        return f"vectors of size {_dim_str(dims[0])}"
    return f"arrays of shape {describe_shape(TensorType(dims, None))}"


# -- unification ---------------------------------------------------------------------------


class Mismatch(Exception):
    """Two types cannot be made equal (internal; callers turn it into a message)."""


class TypeConflict(ValueError):
    """A layer's type rule cannot be satisfied; the message says why."""


class Unifier:
    """Union-find over length variables; a variable may also be bound to a fixed size."""

    def __init__(self):
        self.parent: dict[Var, object] = {}

    def find(self, d):
        while isinstance(d, Var) and d in self.parent:
            d = self.parent[d]
        return d

    def dim(self, a, b):
        a, b = self.find(a), self.find(b)
        if a is None:
            return b
        if b is None or a is b:
            return a
        if isinstance(a, Var):
            self.parent[a] = b
            return b
        if isinstance(b, Var):
            self.parent[b] = a
            return a
        if a != b:
            raise Mismatch
        return a

    def kind(self, a, b):
        if a is None or a == b:
            return b
        if b is None:
            return a
        if a == INTEGER and isinstance(b, Index):
            return b
        if b == INTEGER and isinstance(a, Index):
            return a
        raise Mismatch

    def unify(self, a: TensorType, b: TensorType) -> TensorType:
        kind = self.kind(a.kind, b.kind)
        if a.dims is None or b.dims is None:
            dims = a.dims if b.dims is None else b.dims
            dims = None if dims is None else tuple(self.find(d) for d in dims)
            return TensorType(dims, kind)
        if len(a.dims) != len(b.dims):
            raise Mismatch
        return TensorType(tuple(self.dim(x, y) for x, y in zip(a.dims, b.dims)), kind)

    def resolve(self, t: TensorType) -> TensorType:
        if t.dims is None:
            return t
        return TensorType(tuple(self.find(d) for d in t.dims), t.kind)

    def meet(self, a: TensorType, b: TensorType, message) -> TensorType:
        """Unify or raise TypeConflict with ``message()`` (a callable, built only on failure)."""
        try:
            return self.unify(a, b)
        except Mismatch:
            raise TypeConflict(message()) from None


def freshen(types: dict, mapping: dict | None = None) -> dict:
    """Copy types, giving each length variable a new Var (consistently within one call)."""
    mapping = {} if mapping is None else mapping

    def f(d):
        if isinstance(d, Var):
            if d not in mapping:
                mapping[d] = Var()
            return mapping[d]
        return d

    return {
        k: t if t.dims is None else TensorType(tuple(f(d) for d in t.dims), t.kind)
        for k, t in types.items()
    }
