"""What every layer spec has: options, typed ports, named arrays, a type rule and an op."""

from __future__ import annotations

import numpy as np

from ..inference import infer_net
from ..net import Net, frozen
from ..text import check_keywords, closest
from ..types import TensorType, TypeConflict, Unifier, describe, parse_type


def as_array(value, owner: str, name: str) -> np.ndarray:
    """A user's array as a read-only float array (float32 or float64 kept; others → float64)."""
    try:
        a = np.asarray(value)
    except Exception as e:  # ragged lists and the like
        raise TypeError(
            f'{owner}: array "{name}" must be a numeric array; received {type(value).__name__}.'
        ) from e
    if a.dtype.kind not in "fiub" or a.dtype == object:
        raise TypeError(f'{owner}: array "{name}" must be numeric; received dtype {a.dtype}.')
    if a.dtype not in (np.float32, np.float64):
        a = a.astype(np.float64)
    if not np.all(np.isfinite(a)):
        raise ValueError(f'{owner}: array "{name}" contains NaN or infinite values.')
    return frozen(a)


class Layer(Net):
    """Base of every layer. A subclass provides, each in a few lines:

    1. ``__init__``: validate options, then ``self._init(options, ports, arrays, array_names)``;
    2. ``infer(t, u)``: the type rule, refining the dict of port types ``t``;
    3. ``array_shapes(t)`` (shapes of the arrays, from the port types) and optionally
       ``fans(name, shape)`` for initialization;
    4. ``op(t)``: the kernel op that computes forward and backward.

    docs/architecture.md ("Adding a layer") walks through one. A layer class names its input
    ports (a recurrent layer's initial states are optional inputs) and its state ports:

    >>> from netgraph import Layer, LongShortTermMemoryLayer
    >>> lstm = LongShortTermMemoryLayer(4)
    >>> isinstance(lstm, Layer), lstm.inputs, lstm.state_ports
    (True, ('Input', 'State', 'CellState'), ('State', 'CellState'))
    """

    inputs: tuple[str, ...] = ("Input",)
    outputs: tuple[str, ...] = ("Output",)
    # Arrays that training sets without gradients (a batch normalization's moving statistics,
    # an input normalization's statistics): no optimizer moves them and they have no
    # gradient; the op's ``updates`` gives their new values, NetTrain applies them.
    updated_arrays: tuple[str, ...] = ()
    # When: "batch" (after every training batch) or "fitting" (fitted from the training data
    # in one pass before the first round).
    updated_when: str = "batch"

    # -- construction ------------------------------------------------------------------
    def _init(self, options: dict, ports: dict, arrays: dict | None = None, array_names=()) -> None:
        owner = type(self).__name__
        types = {}
        for p in self.input_ports(options) + self.output_ports(options):
            spec = ports.get(p)
            types[p] = parse_type(spec, f'{owner}: port "{p}"')
        given = dict(arrays or {})
        for k in given:
            if k not in array_names:
                raise ValueError(
                    f'{owner}: unknown array "{k}"{closest(k, array_names)}. '
                    f"This layer has arrays: {', '.join(array_names) or 'none'}."
                )
        arrs = {
            n: None if given.get(n) is None else as_array(given[n], owner, n) for n in array_names
        }
        self._set(options=options, ports=types, arrays=arrs)
        self._set_coders(ports)
        self._check_arrays()

    def _check_arrays(self) -> None:
        """Infer the layer's own port types; arrays of the wrong shape are refused here."""
        self._set(ports=infer_net(self).ports)

    def input_ports(self, options=None) -> tuple[str, ...]:
        return self.inputs

    def output_ports(self, options=None) -> tuple[str, ...]:
        return self.outputs

    def construction_options(self) -> dict:
        """The keyword arguments that build this layer again with its constructor, beside its
        ports and arrays: its options, unless the constructor takes them in another form.
        ``Export`` writes them and ``Import`` passes them back."""
        return dict(self.options)

    @classmethod
    def check_unknown(cls, unknown: dict) -> None:
        check_keywords(cls.__name__, unknown, cls.option_defaults())

    # -- the type rule ------------------------------------------------------------------
    def infer(self, t: dict[str, TensorType], u: Unifier) -> dict[str, TensorType]:
        raise NotImplementedError(f"{type(self).__name__} has no type rule")

    def array_shapes(self, t: dict[str, TensorType]) -> dict[str, tuple]:
        """Shapes of the arrays given the port types (entries may be None while unknown)."""
        return {}

    def fans(self, name: str, shape: tuple) -> tuple[int, int]:
        """(fan_in, fan_out) of an array, for initialization. Default: last axis is fan-in."""
        fan_in = shape[-1] if shape else 1
        fan_out = int(np.prod(shape[:-1])) if len(shape) > 1 else 1
        return fan_in, fan_out

    def init_array(self, name: str, shape: tuple, rng, method: str):
        """A layer's own initial values for an array, or None for NetInitialize's ``method``."""
        return None

    def is_bias(self, name: str) -> bool:
        return name.endswith("Biases")

    # -- evaluation ---------------------------------------------------------------------
    def op(self, t: dict[str, TensorType]):
        raise NotImplementedError(f"{type(self).__name__} has no op")


def meet(u: Unifier, a: TensorType, b: TensorType, what) -> TensorType:
    """Unify inside a type rule; on failure say what was expected and what was found."""
    return u.meet(a, b, lambda: f"{what}: expected {describe(b)}, found {describe(a)}")


def same(u: Unifier, t: dict, a: str, b: str, owner: str) -> dict:
    """Rule ``type(a) == type(b)`` (elementwise layers)."""
    m = u.meet(
        t[a],
        t[b],
        lambda: (
            f'port "{a}" is {describe(t[a])} but port "{b}" is {describe(t[b])}; {owner} needs them equal'
        ),
    )
    return {**t, a: m, b: m}


def same_kind(u: Unifier, t: dict) -> tuple[TensorType, TensorType]:
    """Rule: "Input" and "Output" hold one element kind (reals or integers), whatever their
    dims (layers that move elements around). Returns the two types with that kind."""
    x, y = t["Input"], t["Output"]
    kind = u.meet(
        TensorType(None, x.kind),
        TensorType(None, y.kind),
        lambda: f'port "Input" holds {x.kind} but port "Output" holds {y.kind}',
    ).kind
    return TensorType(x.dims, kind), TensorType(y.dims, kind)


def array_dims_rule(layer: Layer, t: dict, u: Unifier, name: str, dims: tuple) -> tuple:
    """Unify the dims an array should have with the given array's shape; returns the merged dims."""
    a = layer.arrays.get(name)
    if a is None:
        return dims
    got = tuple(a.shape)
    if len(got) != len(dims) or any(d is not None and d != g for d, g in zip(dims, got)):
        shown = tuple("?" if d is None else d for d in dims)
        raise TypeConflict(
            f'array "{name}" has shape {got}, but the ports need shape {shown}'.replace("'?'", "?")
        )
    return got


__all__ = ["Layer"]
