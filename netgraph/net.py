"""The base of every net value: layers and containers are frozen, compare by value, and
calling one evaluates it.

``Net`` holds what every spec shares: typed ports, coders on ports, the port defaults (no
optional inputs or outputs, no recurrent states) and equality. Evaluation and the printed
table live in front-end modules (``evaluation``, ``display``); ``__call__`` and ``__repr__``
reach them with the one upward import of the package (see docs/architecture.md).
"""

from __future__ import annotations

import copy
import inspect

import numpy as np

from .coders import NetDecoder, NetEncoder
from .text import check_keywords
from .types import TensorType, describe_shape
from .walk import all_arrays

FROZEN_MAPPINGS = ("ports", "layers", "arrays", "options", "coders")  # a spec's read-only dicts


class FrozenDict(dict):
    """A dict that refuses changes: a spec's ports, layers, arrays and options."""

    def _refuse(self, *args, **kwargs):
        raise TypeError(
            "A net's ports, layers, arrays and options are read-only: use NetReplacePart, "
            "NetInitialize or NetTrain, which return a changed copy."
        )

    __setitem__ = __delitem__ = __ior__ = _refuse
    clear = pop = popitem = setdefault = update = _refuse

    def __reduce__(self):
        return (FrozenDict, (dict(self),))


def frozen(a) -> np.ndarray:
    """A read-only copy of the array ``a`` that cannot be made writable again: its memory is
    an immutable bytes object. Every array a spec holds is one."""
    a = np.asarray(a)
    return np.frombuffer(a.tobytes(order="C"), a.dtype).reshape(a.shape)


class Net:
    """A frozen net value: a layer, a NetChain or a NetGraph.

    ``ports`` maps every port name to its TensorType. Every edit returns a new net.
    """

    is_container: bool = False
    is_operator: bool = False  # an operator net: a container to arrays, a leaf to the plan
    # None, or why a sequence cannot be fed to it in parts (NetStateObject refuses it)
    whole_sequences: str | None = None
    optional_inputs: tuple[str, ...] = ()  # inputs that may stay unconnected (initial states)
    optional_outputs: tuple[str, ...] = ()  # outputs a plain call does not return (final states)
    state_ports: tuple[str, ...] = ()  # recurrent states: optional inputs and outputs at once
    variadic: bool = False  # takes as many inputs as are wired to it (Input1, Input2, …)
    options: FrozenDict = FrozenDict()  # a layer's validated options

    def __setattr__(self, name, value):
        raise AttributeError(
            f"{type(self).__name__} is immutable: use NetReplacePart, NetInitialize or NetTrain, "
            "which return a changed copy."
        )

    def _set(self, **fields) -> None:
        for k, v in fields.items():
            if k in FROZEN_MAPPINGS and not isinstance(v, FrozenDict):
                v = FrozenDict(v)
            object.__setattr__(self, k, v)
        object.__setattr__(self, "_cache", {})

    def _set_coders(self, specs: dict, inherited: dict | None = None) -> None:
        """Keep the encoders given for input ports and the decoders for output ports."""
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
        object.__setattr__(self, "coders", FrozenDict(coders))

    def __getstate__(self) -> dict:
        """What pickle and deepcopy keep: every field but the cache of plans (rebuilt on use)."""
        return {k: v for k, v in self.__dict__.items() if k != "_cache"}

    def __setstate__(self, state: dict) -> None:
        arrays = state.get("arrays")
        if arrays:  # pickled arrays come back writable: freeze them again
            arrays = {
                k: a if a is None or not a.flags.writeable else frozen(a) for k, a in arrays.items()
            }
            state = {**state, "arrays": arrays}
        self._set(**state)

    def _replace(self, **fields):
        new = copy.copy(self)
        new._set(**fields)
        return new

    # -- ports -------------------------------------------------------------------------
    ports: dict[str, TensorType]
    coders: FrozenDict = FrozenDict()  # port → NetEncoder / NetDecoder

    def input_ports(self) -> tuple[str, ...]:
        raise NotImplementedError

    def output_ports(self) -> tuple[str, ...]:
        raise NotImplementedError

    def required_inputs(self) -> list[str]:
        """The input ports a call must feed (all but the optional ones)."""
        return [p for p in self.input_ports() if p not in self.optional_inputs]

    def default_input(self) -> str:
        """The input port an edge or a chain feeds when it names only the net."""
        ins = self.input_ports()
        return "Input" if "Input" in ins else ins[0]

    def default_output(self) -> str | None:
        """The output port an edge reads when it names only the net (None: ambiguous)."""
        outs = self.output_ports()
        if "Output" in outs:
            return "Output"
        return outs[0] if len(outs) == 1 else None

    def exposed_outputs(self) -> list[str]:
        """The outputs a plain call returns (a bare recurrent layer's final states only on request)."""
        return [p for p in self.output_ports() if p not in self.optional_outputs]

    @classmethod
    def option_defaults(cls) -> dict:
        """Construction options and their defaults (what ``Options(cls)`` shows)."""
        out = {}
        for name, p in list(inspect.signature(cls.__init__).parameters.items())[1:]:
            if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
                out[name] = None if p.default is inspect.Parameter.empty else p.default
        return out

    # -- evaluation and display (front-ends, imported when first used) --------------------
    def __call__(
        self,
        data,
        output=None,
        *,
        evaluation_mode: str = "Test",
        random_seed: int | None = None,
        working_precision: str = "Real32",
        batch_size: int | None = None,
        **unknown,
    ):
        """Evaluate the net: ``net(x)``, ``net(x, NetPort("1", "Output"))``, ``net({...}, NetPortGradient("Input"))``.

        ``data``: one example, a batch (an array with one more leading axis, or a list of
        examples; sequences may differ in length), or a dict by input port, which may also
        hold initial states (``NetPort(All, "States")``) and forced output gradients
        (``NetPortGradient("Output")``). ``output``: an output port, a decoder property such
        as ``"Probabilities"``, ``NetPort(layer, port)``, ``NetPort(All, "States")``,
        ``NetPortGradient(port)``, ``NetPortGradient([layer, array])``, or a list of them (a
        dict comes back). Results come back in the batch form of the data.

        Options: ``evaluation_mode`` "Test" (default) or "Train" (dropout on; reproducible
        with ``random_seed``); ``working_precision`` "Real32" (default) or "Real64";
        ``batch_size`` None (default: the whole batch at once) or N, to evaluate at most N
        examples at a time and join the results, which bounds the memory and padding of a
        large batch. A list of ragged sequences is evaluated in order of length, so that each
        chunk pads little; results come back in the order of the data. The results are those
        of one call, with three differences: BLAS may round an example's matrix products
        differently in a batch of another size (the last bit or two, as between any two batch
        sizes); array gradients, sums over the batch, are sums of the chunks' sums, equal up
        to round-off; and in Train mode the dropout masks are drawn chunk after chunk from one
        generator (reproducible for a given ``random_seed`` and ``batch_size``, but not the
        masks of one call). One example is one chunk. ``NetStateObject`` takes no
        ``batch_size``: its batch is the set of sequences whose states it keeps.

        >>> import numpy as np
        >>> from netgraph import LinearLayer
        >>> net = LinearLayer(2, weights=[[1.0, 0.0], [0.0, 2.0]], biases=[0.0, 1.0])
        >>> x = np.arange(10.0).reshape(5, 2)
        >>> bool(np.array_equal(net(x, batch_size=2), net(x)))
        True
        """
        check_keywords(
            f"{type(self).__name__} evaluation",
            unknown,
            ["evaluation_mode", "random_seed", "working_precision", "batch_size"],
        )
        from .evaluation import evaluate  # the documented upward step: specs → front-end

        return evaluate(
            self,
            data,
            output,
            evaluation_mode=evaluation_mode,
            random_seed=random_seed,
            working_precision=working_precision,
            batch_size=batch_size,
        )

    def __repr__(self) -> str:
        from .display import net_repr  # the documented upward step: specs → front-end

        return net_repr(self)

    def _repr_html_(self) -> str:
        from .display import net_html  # the documented upward step: specs → front-end

        return net_html(self)

    # -- equality ----------------------------------------------------------------------
    def __eq__(self, other) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return structure_key(self) == structure_key(other) and _arrays_equal(self, other)

    __hash__ = object.__hash__


def structure_key(net: Net) -> tuple:
    """Everything that defines a net except its arrays: types, options, coders, layers and
    edges."""
    ports = tuple((p, describe_shape(t)) for p, t in net.ports.items())
    coders = tuple((p, type(c).__name__, repr(c.arguments())) for p, c in net.coders.items())
    if net.is_container:
        layers = tuple((k, structure_key(c)) for k, c in net.layers.items())
        key = (type(net).__name__, layers, tuple(net.edges), ports, coders)
        if net.is_operator:
            key += (tuple((k, repr(v)) for k, v in net.options.items()),)
        return key
    options = tuple((k, repr(v)) for k, v in net.options.items())
    return (type(net).__name__, options, ports, coders)


def _arrays_equal(a: Net, b: Net) -> bool:
    x, y = all_arrays(a), all_arrays(b)
    return x.keys() == y.keys() and all(
        (x[k] is None and y[k] is None)
        or (x[k] is not None and y[k] is not None and np.array_equal(x[k], y[k]))
        for k in x
    )
