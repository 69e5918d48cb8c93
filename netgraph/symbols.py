"""Wolfram's symbols as Python values: All, Automatic, Restricted, Scaled, NetPort, NetPortGradient."""

from __future__ import annotations


class _Symbol:
    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return self.name

    def __reduce__(self):
        return self.name


All = _Symbol("All")
"""Wolfram's ``All``: every recurrent state in ``NetPort(All, "States")``, the open end of a
span of levels such as ``(2, All)``.

>>> from netgraph import All, AggregationLayer, NetPort
>>> NetPort(All, "States")
NetPort(All, 'States')
>>> AggregationLayer("Max", (2, All), input=(3, 4, 5)).ports["Output"]
(3,)
"""

Automatic = _Symbol("Automatic")
"""Wolfram's ``Automatic``: a size or option left to inference (``None`` means the same in a
shape). Here the input size comes from the weights:

>>> import numpy as np
>>> from netgraph import Automatic, LinearLayer
>>> LinearLayer(2, input=("Varying", Automatic)).ports["Input"]
(Varying, ?)
>>> LinearLayer(2, weights=np.ones((2, 3)), input=("Varying", Automatic)).ports["Input"]
(Varying, 3)
"""


class Restricted:
    """``Restricted("Integer", n)``: an integer in 0 … n−1 (an index into n classes).

    Indices are 0-based, as everywhere in Python (Wolfram counts from 1).

    >>> Restricted("Integer", 10)
    Restricted('Integer', 10)
    """

    __slots__ = ("kind", "n")

    def __init__(self, kind: str, n: int):
        if kind != "Integer":
            raise ValueError(
                f'Restricted: the first argument must be "Integer"; received {kind!r}.'
            )
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"Restricted: the count must be a positive int; received {n!r}.")
        self.kind, self.n = kind, n

    def __repr__(self) -> str:
        return f"Restricted({self.kind!r}, {self.n})"

    def __eq__(self, other) -> bool:
        return isinstance(other, Restricted) and other.n == self.n

    def __hash__(self) -> int:
        return hash(("Restricted", self.n))


class Scaled:
    """``Scaled(r)``: a fraction r of something, such as the part of the training data that
    NetTrain holds out for validation (``validation_set=Scaled(0.2)``).

    >>> from netgraph import Scaled
    >>> Scaled(0.2)
    Scaled(0.2)
    >>> Scaled(1.5)
    Traceback (most recent call last):
    ...
    ValueError: Scaled: the fraction must lie strictly between 0 and 1; received 1.5.
    """

    __slots__ = ("r",)

    def __init__(self, r: float):
        if not 0 < r < 1:
            raise ValueError(
                f"Scaled: the fraction must lie strictly between 0 and 1; received {r!r}."
            )
        self.r = float(r)

    def __repr__(self) -> str:
        return f"Scaled({self.r})"


def _path(p) -> tuple[str, ...]:
    if isinstance(p, (list, tuple)):
        return tuple(str(x) for x in p)
    return (str(p),)


class NetPort:
    """A port: ``NetPort("Input")`` of the net itself, or ``NetPort(layer, port)`` of a layer.

    ``layer`` is a name, an int (layers given as a list are named "1", "2", …) or a list of
    names for a layer inside a nested container. ``NetPort(All, "States")`` stands for every
    recurrent state of a net.

    >>> NetPort("lstm", "State")
    NetPort('lstm', 'State')
    """

    __slots__ = ("path", "port")

    def __init__(self, *args):
        if len(args) == 1:
            self.path, self.port = None, str(args[0])
        elif len(args) == 2:
            self.path = All if args[0] is All else _path(args[0])
            self.port = str(args[1])
        else:
            raise TypeError(
                f"NetPort takes a port name, or a layer and a port name; received {len(args)} arguments."
            )

    def _key(self):
        return (self.path, self.port)

    def __eq__(self, other) -> bool:
        return isinstance(other, NetPort) and other._key() == self._key()

    def __hash__(self) -> int:
        return hash(("NetPort", self._key()))

    def __repr__(self) -> str:
        if self.path is None:
            return f"NetPort({self.port!r})"
        if self.path is All:
            return f"NetPort(All, {self.port!r})"
        p = self.path[0] if len(self.path) == 1 else list(self.path)
        if not self.path:
            return f"NetPort({self.port!r})"
        return f"NetPort({p!r}, {self.port!r})"


class NetPortGradient:
    """The gradient at a port or of an array.

    ``NetPortGradient("Input")`` is the gradient at the net's input port;
    ``NetPortGradient(["1", "Weights"])`` the gradient of an array, summed over the batch.
    As a key in the input dict, ``NetPortGradient("Output")`` forces the output gradient.

    >>> NetPortGradient(["1", "Weights"])
    NetPortGradient(['1', 'Weights'])
    """

    __slots__ = ("target",)

    def __init__(self, target):
        if isinstance(target, str):
            self.target = target
        elif isinstance(target, (list, tuple)) and len(target) >= 1:
            self.target = tuple(str(x) for x in target)
        else:
            raise TypeError(
                'NetPortGradient takes a port name such as "Input", or a list [layer, …, array] (just [array] for a bare layer) '
                f'naming an array such as ["1", "Weights"]; received {target!r}.'
            )

    @property
    def is_array(self) -> bool:
        return isinstance(self.target, tuple)

    def __eq__(self, other) -> bool:
        return isinstance(other, NetPortGradient) and other.target == self.target

    def __hash__(self) -> int:
        return hash(("NetPortGradient", self.target))

    def __repr__(self) -> str:
        t = list(self.target) if self.is_array else self.target
        return f"NetPortGradient({t!r})"
