"""Layers with several inputs: CatenateLayer, TotalLayer, ThreadingLayer.

Their inputs are "Input1", "Input2", …; how many is given by ``inputs=`` or, inside a
NetGraph, by the edges (``(["a", "b"], "cat")`` wires "Input1" and "Input2").
"""

from __future__ import annotations

from ..kernels.combine import CatenateOp, ThreadingOp
from ..text import closest
from ..types import REAL, TensorType, TypeConflict, Var, describe, describe_shape
from .base import Layer, meet

FUNCTIONS = ("Plus", "Subtract", "Times", "Divide", "Min", "Max")
BINARY = ("Subtract", "Divide")


def _arity(owner: str, inputs) -> tuple:
    """(count, shapes) from ``inputs=``: None, a count, or a list of input shapes."""
    if inputs is None:
        return None, []
    if isinstance(inputs, int) and not isinstance(inputs, bool):
        if inputs < 1:
            raise ValueError(
                f'{owner}: option "inputs" must be at least 1 (the number of inputs); received {inputs}.'
            )
        return inputs, [None] * inputs
    if isinstance(inputs, (list, tuple)) and inputs:
        return len(inputs), list(inputs)
    raise ValueError(
        f'{owner}: option "inputs" must be the number of inputs (a positive int) or a list of '
        f'input shapes such as [3, ("Varying", 3)]; received {inputs!r}.'
    )


def _reals(t: dict, u) -> dict:
    return {p: meet(u, x, TensorType(None, REAL), f'port "{p}"') for p, x in t.items()}


class _VariadicLayer(Layer):
    """A layer with inputs "Input1" … "InputN"; N is None until ``inputs=`` or edges give it."""

    variadic = True

    def _init_variadic(self, options: dict, inputs, output) -> None:
        n, shapes = _arity(type(self).__name__, inputs)
        ports = {f"Input{i + 1}": s for i, s in enumerate(shapes)}
        self._init({**options, "inputs": n}, {**ports, "Output": output})

    def input_ports(self, options=None) -> tuple[str, ...]:
        n = (self.options if options is None else options)["inputs"]
        return tuple(f"Input{i + 1}" for i in range(n or 0))

    @property
    def arity(self) -> int | None:
        return self.options["inputs"]

    def with_arity(self, n: int):
        """The same layer with ``n`` inputs."""
        kept = {k: v for k, v in self.options.items() if k != "inputs"}
        return type(self)(**kept, inputs=n, output=self.ports["Output"])

    def __call__(self, data, output=None, **kw):
        owner = type(self).__name__
        if self.arity is None:
            raise ValueError(
                f"{owner}: the number of inputs is not known, so the layer cannot be evaluated. "
                f"Give it with inputs=n, as in {owner}(inputs=2), or use the layer in a NetGraph, "
                "whose edges set it."
            )
        if isinstance(data, (list, tuple)) and self.arity > 1 and len(data) == self.arity:
            data = dict(zip(self.input_ports(), data))
        return super().__call__(data, output, **kw)


class CatenateLayer(_VariadicLayer):
    """Joins its input arrays along one level.

    Ports: "Input1" … "InputN", arrays of one rank that agree in every dimension but the
    catenated one; "Output" the joined array. Level 1 is the first dimension of each example,
    level −1 the last. Catenating "Varying" sequences at level 1 joins each example's real
    steps (the output is a sequence of a new length, the sum of the inputs' lengths); at any
    other level, sequences share their length and the output keeps it. Inputs are reals.

    Options: ``level`` (1), ``inputs`` (the number of inputs, or a list of their shapes;
    inferred from the edges in a NetGraph), ``output``. A list of N arrays evaluates it.

    >>> from netgraph import CatenateLayer
    >>> CatenateLayer(inputs=2)([[1.0, 2.0], [3.0]])
    array([1., 2., 3.], dtype=float32)
    >>> CatenateLayer(-1, inputs=[(2, 1), (2, 2)]).ports["Output"]
    (2, 3)
    """

    def __init__(self, level=1, *, inputs=None, output=None, **unknown):
        self.check_unknown(unknown)
        if isinstance(level, bool) or not isinstance(level, int) or level == 0:
            raise ValueError(
                'CatenateLayer: option "level" must be a nonzero int (1 is the first dimension, '
                f"-1 the last); received {level!r}."
            )
        self._init_variadic({"level": level}, inputs, output)

    def axis(self, rank: int) -> int:
        """The 0-based catenated dimension of an example of ``rank``."""
        level = self.options["level"]
        ax = level - 1 if level > 0 else rank + level
        if not 0 <= ax < rank:
            raise TypeConflict(
                f"level {level} does not exist in arrays of rank {rank}; give a level in "
                f"1..{rank} or -{rank}..-1"
            )
        return ax

    def infer(self, t, u):
        t = _reals(t, u)
        ins = self.input_ports()
        ranks = {p: x.rank for p, x in t.items() if x.rank is not None}
        if not ins or not ranks:
            return t
        if len(set(ranks.values())) > 1:
            shown = ", ".join(f'port "{p}" has rank {r}' for p, r in ranks.items())
            raise TypeConflict(f"CatenateLayer needs its inputs and output of one rank; {shown}")
        r = next(iter(ranks.values()))
        if r == 0:
            raise TypeConflict(
                f'port "{next(iter(ranks))}" is a scalar; CatenateLayer joins arrays of rank ≥ 1'
            )
        ax = self.axis(r)
        dims = {p: (None,) * r if x.dims is None else x.dims for p, x in t.items()}
        common = TensorType((None,) * r, REAL)
        for p, d in dims.items():
            mine = TensorType(tuple(None if i == ax else s for i, s in enumerate(d)), REAL)
            common = u.meet(
                mine,
                common,
                lambda p=p, c=common: (
                    f'port "{p}" is {describe(t[p])}, but the other ports have shape '
                    f"{describe_shape(c)}; CatenateLayer needs every dimension except level "
                    f"{self.options['level']} to agree"
                ),
            )
        sizes = [u.find(dims[p][ax]) for p in ins]
        out = self._joined(u, sizes, u.find(dims["Output"][ax]), ax)
        if isinstance(out, tuple):  # one missing input size, found from the output's
            i, s = out
            sizes[i], out = s, u.find(dims["Output"][ax])
        new = {}
        for p, s in zip(ins + ("Output",), sizes + [out]):
            d = tuple(s if i == ax else u.find(c) for i, c in enumerate(common.dims))
            new[p] = TensorType(d, REAL)
        return new

    def _joined(self, u, sizes: list, out, ax: int):
        """The output's size at the catenated level (or (i, size) of a missing input size)."""
        vars_in = [s for s in sizes if isinstance(s, Var)]
        if ax == 0 and vars_in:
            if len(sizes) == 1:
                return meet(u, TensorType((out,)), TensorType((sizes[0],)), 'port "Output"').dims[0]
            if out is None:
                return Var()
            if isinstance(out, Var) and all(out is not v for v in vars_in):
                return out
            if isinstance(out, Var):
                raise TypeConflict(
                    'port "Output" shares its sequence length with an input, but catenating '
                    "sequences at level 1 makes them longer"
                )
            raise TypeConflict(
                f'port "Output" has the fixed length {out}, but catenating sequences of '
                'varying length at level 1 gives a "Varying" length'
            )
        if all(isinstance(s, int) for s in sizes):
            total = sum(sizes)
            return meet(
                u,
                TensorType((out,)),
                TensorType((total,)),
                f'port "Output" (the inputs add up to {total} at level {self.options["level"]})',
            ).dims[0]
        missing = [i for i, s in enumerate(sizes) if s is None]
        known = [s for s in sizes if isinstance(s, int)]
        if isinstance(out, int) and len(missing) == 1 and len(known) == len(sizes) - 1:
            rest = out - sum(known)
            if rest < 1:
                raise TypeConflict(
                    f'port "Output" has size {out} at level {self.options["level"]}, but the '
                    f"other inputs already add up to {sum(known)}"
                )
            return missing[0], rest
        return out

    def op(self, t):
        return CatenateOp(self, t, self.axis(t["Output"].rank))


class TotalLayer(_VariadicLayer):
    """The elementwise sum of its inputs, which all have one shape.

    Ports: "Input1" … "InputN" and "Output", reals of one shape (sequences share a length).
    Options: ``inputs`` (the number of inputs, or a list of their shapes; inferred from the
    edges in a NetGraph), ``output``. A list of N arrays evaluates it.

    >>> from netgraph import TotalLayer
    >>> TotalLayer(inputs=3)([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    array([ 9., 12.], dtype=float32)
    """

    def __init__(self, *, inputs=None, output=None, **unknown):
        self.check_unknown(unknown)
        self._init_variadic({}, inputs, output)

    def infer(self, t, u):
        t = _reals(t, u)
        m = t["Output"]
        for p in self.input_ports():
            m = u.meet(
                t[p],
                m,
                lambda p=p, m=m: (
                    f'port "{p}" is {describe(t[p])} but the other ports are {describe(m)}; '
                    "TotalLayer needs all its inputs and its output of one shape"
                ),
            )
        return {p: u.resolve(m) for p in t}

    def op(self, t):
        return ThreadingOp(self, t, "Plus")


class ThreadingLayer(_VariadicLayer):
    """Applies a function elementwise across its inputs, broadcasting their shapes.

    Functions: "Plus", "Times", "Min", "Max" (any number of inputs), "Subtract" and "Divide"
    (exactly 2 inputs: Input1 − Input2, Input1 / Input2). Shapes broadcast as in numpy,
    aligned at the last dimension: each size equals the others or is 1, and a missing leading
    dimension is replicated; so a ("Varying", 4) sequence combines with a 4-vector, and (3, 1)
    with (1, 4) gives (3, 4). A sequence input must have the output's rank, and its "Varying"
    length cannot meet a fixed size other than 1. Gradients are summed over broadcast
    dimensions; "Min" and "Max" send the gradient to the input holding the extreme value, on a
    tie to the first such input.

    Ports: "Input1" … "InputN" (reals), "Output" the broadcast shape. Options: ``function``,
    ``inputs`` (the number of inputs, or a list of their shapes; 2 by default for "Subtract"
    and "Divide", otherwise inferred from the edges in a NetGraph), ``output``.

    >>> from netgraph import ThreadingLayer
    >>> ThreadingLayer("Subtract")([[5.0, 7.0], [1.0, 2.0]])
    array([4., 5.], dtype=float32)
    >>> ThreadingLayer("Times", inputs=[(3, 1), (1, 4)]).ports["Output"]
    (3, 4)
    """

    def __init__(self, function="Plus", *, inputs=None, output=None, **unknown):
        self.check_unknown(unknown)
        if not isinstance(function, str) or function not in FUNCTIONS:
            raise ValueError(
                f"ThreadingLayer: unknown function {function!r}{closest(function, FUNCTIONS)}. "
                f"Valid functions: {', '.join(FUNCTIONS)}."
            )
        if function in BINARY:
            n = _arity("ThreadingLayer", inputs)[0]
            if inputs is None:
                inputs = 2
            elif n != 2:
                raise ValueError(
                    f'ThreadingLayer: "{function}" takes exactly 2 inputs; received {n}.'
                )
        self._init_variadic({"function": function}, inputs, output)

    def infer(self, t, u):
        t = _reals(t, u)
        ins = self.input_ports()
        if not ins or any(t[p].dims is None for p in ins):
            return t
        out = _broadcast(u, {p: t[p] for p in ins})
        y = meet(u, t["Output"], TensorType(out, REAL), 'port "Output"')
        return {**{p: u.resolve(t[p]) for p in ins}, "Output": y}

    def op(self, t):
        return ThreadingOp(self, t)


def _broadcast(u, ts: dict) -> tuple:
    """numpy's broadcast of the inputs' dims (aligned at the right), with length variables."""
    r = max(x.rank for x in ts.values())
    out = []
    for j in range(r):
        ds = [(p, x.dims[j - r + x.rank]) for p, x in ts.items() if j - r + x.rank >= 0]
        seqs = [(p, d) for p, d in ds if isinstance(d, Var)]
        fixed = [(p, d) for p, d in ds if isinstance(d, int) and d != 1]
        if seqs and j > 0:
            p = seqs[0][0]
            raise TypeConflict(
                f'port "{p}" is {describe(ts[p])}, but another input has a higher rank; a '
                'sequence input needs the highest rank, since its "Varying" dimension must '
                "come first in the output"
            )
        if seqs and fixed:
            (p, _), (q, n) = seqs[0], fixed[0]
            raise TypeConflict(
                f'port "{p}" has a "Varying" length where port "{q}" has the fixed size {n}; '
                "a sequence length broadcasts only against size 1"
            )
        if len({d for _, d in fixed}) > 1:
            (p, a), (q, b) = fixed[0], next(f for f in fixed if f[1] != fixed[0][1])
            raise TypeConflict(
                f'port "{p}" is {describe(ts[p])} and port "{q}" is {describe(ts[q])}: sizes '
                f"{a} and {b} do not broadcast (aligned at the last dimension, sizes must be "
                "equal or 1)"
            )
        if seqs:
            v = seqs[0][1]
            for _, w in seqs[1:]:
                v = u.dim(v, w)
            out.append(v)
        elif fixed:
            out.append(fixed[0][1])
        else:
            out.append(None if any(d is None for _, d in ds) else 1)
    return tuple(out)


__all__ = ["CatenateLayer", "TotalLayer", "ThreadingLayer"]
