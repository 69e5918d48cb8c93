"""The base of every net value: layers and containers are frozen, and calling one evaluates it."""

from __future__ import annotations

import copy
import difflib
from types import MappingProxyType

import numpy as np

from .types import TensorType


def closest(name: str, choices) -> str:
    """' (did you mean "x"?)' for the nearest valid name, or ''."""
    names = {str(c).lower(): str(c) for c in choices}
    m = difflib.get_close_matches(str(name).lower(), list(names), n=1, cutoff=0.5)
    return f' (did you mean "{names[m[0]]}"?)' if m else ""


def check_keywords(owner: str, given: dict, allowed) -> None:
    """Refuse unknown keyword arguments, naming the closest valid one."""
    for k in given:
        raise TypeError(
            f'{owner}: unknown option "{k}"{closest(k, allowed)}. '
            f"Valid options: {', '.join(sorted(allowed))}."
        )


class Net:
    """A frozen net value: a layer, a NetChain or a NetGraph.

    ``ports`` maps every port name to its TensorType. Every edit returns a new net.
    """

    def __setattr__(self, name, value):
        raise AttributeError(
            f"{type(self).__name__} is immutable: use NetReplacePart, NetInitialize or NetTrain, "
            "which return a changed copy."
        )

    def _set(self, **fields) -> None:
        for k, v in fields.items():
            object.__setattr__(self, k, v)
        object.__setattr__(self, "_cache", {})

    def _set_coders(self, specs: dict, inherited: dict | None = None) -> None:
        """Keep the encoders given for input ports and the decoders for output ports."""
        from .coders import NetDecoder, NetEncoder

        coders = dict(inherited or {})
        owner = type(self).__name__
        for p, c in specs.items():
            if isinstance(c, NetEncoder):
                if p not in self.input_ports():
                    raise ValueError(f'{owner}: {c!r} goes on an input port; "{p}" is an output.')
                coders[p] = c
            elif isinstance(c, NetDecoder):
                if p not in self.output_ports():
                    raise ValueError(f'{owner}: {c!r} goes on an output port; "{p}" is an input.')
                coders[p] = c
        object.__setattr__(self, "coders", MappingProxyType(coders))

    def _replace(self, **fields):
        new = copy.copy(self)
        new._set(**fields)
        return new

    # -- ports -------------------------------------------------------------------------
    ports: dict[str, TensorType]
    coders: MappingProxyType = MappingProxyType({})  # port → NetEncoder / NetDecoder

    def input_ports(self) -> tuple[str, ...]:
        raise NotImplementedError

    def output_ports(self) -> tuple[str, ...]:
        raise NotImplementedError

    # -- evaluation --------------------------------------------------------------------
    def __call__(
        self,
        data,
        output=None,
        *,
        evaluation_mode: str = "Test",
        random_seed: int | None = None,
        working_precision: str = "Real32",
        **unknown,
    ):
        """Evaluate the net: ``net(x)``, ``net(x, NetPort("1", "Output"))``, ``net({...}, NetPortGradient("Input"))``."""
        check_keywords(
            f"{type(self).__name__} evaluation",
            unknown,
            ["evaluation_mode", "random_seed", "working_precision"],
        )
        from .evaluation import evaluate

        return evaluate(self, data, output, evaluation_mode, random_seed, working_precision)

    def __repr__(self) -> str:
        from .information import net_repr

        return net_repr(self)

    def _repr_html_(self) -> str:
        from .information import net_html

        return net_html(self)

    def __eq__(self, other) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        from .information import structure_key

        return structure_key(self) == structure_key(other) and _arrays_equal(self, other)

    __hash__ = object.__hash__


def _arrays_equal(a: Net, b: Net) -> bool:
    from .information import all_arrays

    x, y = all_arrays(a), all_arrays(b)
    return x.keys() == y.keys() and all(
        (x[k] is None and y[k] is None)
        or (x[k] is not None and y[k] is not None and np.array_equal(x[k], y[k]))
        for k in x
    )
