"""AggregationLayer: Max, Min, Mean or Total over some levels of each example."""

from __future__ import annotations

from ..kernels.aggregation import AggregationOp
from ..symbols import All
from ..text import closest
from ..types import REAL, TensorType, TypeConflict, describe
from .base import Layer, meet

FUNCTIONS = ("Max", "Min", "Mean", "Total")


def _level(n) -> bool:
    return isinstance(n, int) and not isinstance(n, bool) and n != 0


def _levels(levels):
    """Normalize ``levels``: an int, a span ``slice(a, b)`` (b may be All), or a tuple of ints."""
    if levels is None:
        return slice(2, All)
    if _level(levels):
        return levels
    if isinstance(levels, (tuple, slice)):
        a, b = (levels.start, levels.stop) if isinstance(levels, slice) else (levels + (0, 0))[:2]
        b = All if b is None else b
        ok = levels.step is None if isinstance(levels, slice) else len(levels) == 2
        if ok and _level(a) and (b is All or _level(b)):
            return slice(a, b)
    if isinstance(levels, list) and levels and all(_level(n) for n in levels):
        return tuple(levels)
    raise ValueError(
        'AggregationLayer: option "levels" must be a nonzero int (1 is the first level, -1 the '
        "last), a span (start, end) whose end may be All, or a list of levels; received "
        f"{levels!r}."
    )


def _show(levels) -> str:
    if isinstance(levels, slice):
        return f"levels {levels.start} through {levels.stop}"
    return f"level {levels}" if isinstance(levels, int) else f"levels {list(levels)}"


class AggregationLayer(Layer):
    """Aggregates each example over some of its levels with Max, Min, Mean or Total.

    ``levels``: an int n (level n; negative counts from the last, -1), a span ``(a, b)``
    (levels a through b; b may be ``All`` for the last), or a list of levels. The default,
    as in Wolfram, is ``(2, All)``: every level but the first, so a (d1, d2, …) array becomes
    a vector of size d1. Over the steps of a "Varying" sequence padding is excluded: Max and
    Min look at real steps only, Mean divides by the true length. Max and Min pass the
    gradient to the extreme element (on a tie, the first in row-major order).

    Ports: "Input" an array of rank ≥ 1 (reals), "Output" the array without the aggregated
    levels. Options: ``function`` ("Max"), ``levels`` (None: all but the first), ``input``,
    ``output``.

    >>> from netgraph import AggregationLayer
    >>> AggregationLayer("Mean")([[1.0, 3.0], [2.0, 6.0]])
    array([2., 4.], dtype=float32)
    >>> AggregationLayer("Max", 1)([[1.0, 5.0], [4.0, 2.0]])
    array([4., 5.], dtype=float32)
    """

    def __init__(self, function="Max", levels=None, *, input=None, output=None, **unknown):
        self.check_unknown(unknown)
        if not isinstance(function, str) or function not in FUNCTIONS:
            raise ValueError(
                f"AggregationLayer: unknown function {function!r}{closest(function, FUNCTIONS)}. "
                f"Valid functions: {', '.join(FUNCTIONS)}."
            )
        self._init(
            {"function": function, "levels": _levels(levels)}, {"Input": input, "Output": output}
        )

    def construction_options(self) -> dict:
        """A list of levels goes back as a list (the constructor reads a pair as a span)."""
        levels = self.options["levels"]
        return {**self.options, "levels": list(levels) if isinstance(levels, tuple) else levels}

    def axes(self, x: TensorType) -> tuple:
        """The aggregated levels of an input of known rank, as 0-based dimensions."""
        levels, r = self.options["levels"], x.rank

        def pos(n: int) -> int:
            return n if n > 0 else r + 1 + n

        if isinstance(levels, slice):
            a, b = pos(levels.start), r if levels.stop is All else pos(levels.stop)
            chosen = list(range(a, b + 1)) if 1 <= a <= b <= r else []
        else:
            chosen = [pos(n) for n in ((levels,) if isinstance(levels, int) else levels)]
            chosen = chosen if all(1 <= c <= r for c in chosen) else []
        if not chosen:
            hint = ""
            if levels == slice(2, All):
                hint = (
                    "; by default AggregationLayer aggregates levels 2 through the last: give "
                    "levels=1 to aggregate a vector into a scalar"
                )
            raise TypeConflict(
                f"{_show(levels)} {'does' if isinstance(levels, int) else 'do'} not exist in "
                f'port "Input", which is {describe(x)} (rank {r}){hint}'
            )
        if len(set(chosen)) != len(chosen):
            raise TypeConflict(f"{_show(levels)} name a level of the input twice")
        return tuple(sorted(c - 1 for c in chosen))

    def infer(self, t, u):
        x = meet(u, t["Input"], TensorType(None, REAL), 'port "Input"')
        y = meet(u, t["Output"], TensorType(None, REAL), 'port "Output"')
        if x.dims is None:
            return {"Input": x, "Output": y}
        if not x.dims:
            raise TypeConflict(
                'port "Input" is a scalar; AggregationLayer needs an array of rank ≥ 1'
            )
        axes = self.axes(x)
        kept = [i for i in range(len(x.dims)) if i not in axes]
        y = meet(u, y, TensorType(tuple(x.dims[i] for i in kept), REAL), 'port "Output"')
        dims = list(x.dims)
        for i, d in zip(kept, y.dims):
            dims[i] = d
        return {"Input": TensorType(tuple(dims), REAL), "Output": y}

    def op(self, t):
        return AggregationOp(self, t, self.axes(t["Input"]))


__all__ = ["AggregationLayer"]
