"""Recurrent layers: LongShortTermMemoryLayer, GatedRecurrentLayer, BasicRecurrentLayer, and
their base RecurrentLayer (the ports, options and arrays the family shares)."""

from __future__ import annotations

from ..kernels.gru import RESET_GATE_MODES, STATE_BIAS, GRUOp
from ..kernels.lstm import LSTMOp
from ..kernels.rnn import ACTIVATIONS, GATE_KINDS, STATE_KINDS, BasicRecurrentOp
from ..text import closest
from ..types import REAL, TensorType, TypeConflict, Var
from .base import Layer, meet

DROPOUT_METHODS = ("VariationalWeights", "VariationalInput", "VariationalState", "StateUpdate")
VARIATIONAL_METHODS = DROPOUT_METHODS[:3]


def parse_dropout(owner: str, dropout, methods=DROPOUT_METHODS) -> dict:
    """``None`` → {}; ``p`` → {"VariationalWeights": p}; a dict of methods → checked."""
    if dropout is None:
        return {}
    spec = dropout if isinstance(dropout, dict) else {methods[0]: dropout}
    out = {}
    for method, p in spec.items():
        if method not in methods:
            raise ValueError(
                f'{owner}: unknown dropout method "{method}"{closest(method, methods)}. '
                f"Valid methods: {', '.join(methods)}."
            )
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p < 1:
            raise ValueError(
                f'{owner}: the "{method}" dropout probability must be a number in [0, 1); received {p!r}.'
            )
        if p > 0:
            out[method] = float(p)
    return out


def _choice(owner: str, option: str, value, valid) -> str:
    if value not in valid:
        raise ValueError(
            f"{owner}: unknown {option} {value!r}{closest(value, valid)}. Valid values: {', '.join(valid)}."
        )
    return value


class RecurrentLayer(Layer):
    """What the recurrent layers share.

    Ports: "Input", a sequence of vectors ``("Varying", k)`` or ``(L, k)``; "Output"
    ``("Varying", n)``, the state at every step; state ports (``state_ports``, each ``(n,)``)
    that are optional inputs (initial states, zero when unconnected) and optional outputs
    (final states, taken at each sequence's true last step), reached with ``NetPort``.

    Arrays: per gate of the op (``op_class.names``, in the fused order), input weights
    ``(n, k)``, state weights ``(n, n)`` and biases ``(n,)``.

    Options every one takes: ``n`` units (inferred from the arrays or the output when None);
    ``dropout``, a probability p meaning ``{"VariationalWeights": p}`` or a dict of the
    layer's ``dropout_methods`` with their probabilities, active only in training; ``arrays``;
    ``learning_rate_multipliers`` (array name → factor, for NetTrain); ``input``, ``output``.
    A subclass's own options (``choices``: option → valid values) come in through
    ``_construct``."""

    state_ports: tuple[str, ...] = ("State",)
    op_class = None
    dropout_methods: tuple[str, ...] = VARIATIONAL_METHODS
    choices: dict = {}

    def _construct(self, n, *, dropout, lrm, arrays, input, output, unknown, **own) -> None:
        """Validate and store the shared options and the layer's ``own`` ones (checked against
        ``choices``), then the ports and the arrays."""
        self.check_unknown(unknown)
        owner = type(self).__name__
        if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
            raise ValueError(
                f"{owner}: the number of units n must be a positive int; received {n!r}."
            )
        options = {"n": n, "dropout": parse_dropout(owner, dropout, self.dropout_methods)}
        options.update({k: _choice(owner, k, v, self.choices[k]) for k, v in own.items()})
        names = self.array_names(options)
        lrm = dict(lrm or {})
        for a in lrm:
            if a not in names:
                raise ValueError(
                    f'{owner}: learning_rate_multipliers names an unknown array "{a}"'
                    f"{closest(a, names)}."
                )
        options["learning_rate_multipliers"] = lrm
        self._init(options, {"Input": input, "Output": output}, arrays, names)

    @classmethod
    def array_names(cls, options=None) -> tuple[str, ...]:
        """The layer's arrays (with ``options``, those of a layer built with them)."""
        return tuple(a for gate in cls.op_class.names for a in gate)

    @property
    def inputs(self):
        return ("Input", *self.state_ports)

    @property
    def outputs(self):
        return ("Output", *self.state_ports)

    @property
    def optional_inputs(self):
        return self.state_ports

    @property
    def optional_outputs(self):
        return self.state_ports

    def _n(self):
        n = self.options["n"]
        for name, a in self.arrays.items():
            if a is not None and name.endswith("StateWeights"):
                if n is not None and a.shape[0] != n:
                    raise TypeConflict(
                        f'array "{name}" has shape {a.shape}, but the layer has {n} units'
                    )
                n = a.shape[0]
        return n

    def _k(self):
        for name, a in self.arrays.items():
            if a is not None and name.endswith("InputWeights"):
                return a.shape[1]
        return None

    def infer(self, t, u):
        n, k = self._n(), self._k()
        x = t["Input"]
        if x.dims is not None and len(x.dims) != 2:
            raise TypeConflict(
                f'port "Input" must be a sequence of vectors such as ("Varying", k); it is {x!r}'
            )
        x = (
            meet(u, x, TensorType((Var(), k), REAL), 'port "Input"')
            if x.dims is None
            else meet(u, x, TensorType((x.dims[0], k), REAL), 'port "Input"')
        )
        y = meet(u, t["Output"], TensorType((x.dims[0], n), REAL), 'port "Output"')
        n = y.dims[1]
        states = {p: meet(u, t[p], TensorType((n,), REAL), f'port "{p}"') for p in self.state_ports}
        n = next((s.dims[0] for s in states.values() if s.dims[0] is not None), n)
        y = meet(u, y, TensorType((x.dims[0], n), REAL), 'port "Output"')
        states = {p: meet(u, s, TensorType((n,), REAL), f'port "{p}"') for p, s in states.items()}
        t = {"Input": x, "Output": y, **states}
        shapes = self.array_shapes(t)
        for name, a in self.arrays.items():
            want = shapes[name]
            if a is not None and want is not None and a.shape != want:
                raise TypeConflict(f'array "{name}" has shape {a.shape}; expected {want}')
        return t

    def array_shapes(self, t):
        x, y = t["Input"], t["Output"]
        k = None if x.dims is None else x.dims[1]
        n = None if y.dims is None else y.dims[1]
        shapes = {}
        for wx, ws, b in self.op_class.names:
            shapes[wx] = None if n is None or k is None else (n, k)
            shapes[ws] = None if n is None else (n, n)
            shapes[b] = None if n is None else (n,)
        for a in self.array_names(self.options)[len(shapes) :]:  # a mode's extra biases
            shapes[a] = None if n is None else (n,)
        return shapes

    def fans(self, name, shape):
        return shape[1], shape[0]

    def op(self, t):
        return self.op_class(self, t)


class LongShortTermMemoryLayer(RecurrentLayer):
    """A long short-term memory layer (Wolfram's equations), on a numba kernel.

        i = σg(Wix·x + Wis·s + bi)     o = σg(Wox·x + Wos·s + bo)
        f = σg(Wfx·x + Wfs·s + bf)     m = σs(Wmx·x + Wms·s + bm)
        c' = f*c + i*m                 s' = o*σs(c')

    Ports: "Input" ``("Varying", k)`` or ``(L, k)``; "Output" ``("Varying", n)``; "State" and
    "CellState" ``(n,)``, optional inputs (initial states, zero by default) and optional
    outputs (final states), as for every ``RecurrentLayer``.
    Arrays ``{Input,Output,Forget,Memory}Gate{InputWeights (n, k), StateWeights (n, n), Biases (n,)}``,
    fused in that gate order, i, o, f, m.

    Options: ``n`` units; ``dropout`` (a probability for "VariationalWeights", or a dict of
    "VariationalWeights", "VariationalInput", "VariationalState", "StateUpdate"; active only in
    training); ``state_activation`` "Tanh" | "SoftSign" and ``gate_activation``
    "LogisticSigmoid" | "HardSigmoid" (MATLAB's lstmLayer options); ``arrays``,
    ``learning_rate_multipliers``, ``input``, ``output`` as for every ``RecurrentLayer``.

    >>> import numpy as np
    >>> from netgraph import LongShortTermMemoryLayer, NetInitialize
    >>> lstm = NetInitialize(LongShortTermMemoryLayer(3, input=("Varying", 2)), random_seed=0)
    >>> lstm(np.ones((4, 2))).shape
    (4, 3)
    """

    state_ports = ("State", "CellState")
    op_class = LSTMOp
    dropout_methods = DROPOUT_METHODS
    choices = {"state_activation": tuple(STATE_KINDS), "gate_activation": tuple(GATE_KINDS)}

    def __init__(
        self,
        n=None,
        *,
        dropout=None,
        state_activation="Tanh",
        gate_activation="LogisticSigmoid",
        arrays=None,
        learning_rate_multipliers=None,
        input=None,
        output=None,
        **unknown,
    ):
        self._construct(
            n,
            dropout=dropout,
            lrm=learning_rate_multipliers,
            arrays=arrays,
            input=input,
            output=output,
            unknown=unknown,
            state_activation=state_activation,
            gate_activation=gate_activation,
        )


class GatedRecurrentLayer(RecurrentLayer):
    """A gated recurrent unit layer (Wolfram's equations), on a numba kernel.

        i = σg(Wix·x + Wis·s + bi)          r = σg(Wrx·x + Wrs·s + br)
        m = σs(Wmx·x + r*(Wms·s) + bm)      s' = (1−i)*m + i*s

    with σg = LogisticSigmoid and σs = Tanh by default.

    Ports: "Input" ``("Varying", k)`` or ``(L, k)``; "Output" ``("Varying", n)``; "State"
    ``(n,)``, an optional input (the initial state, zero by default) and an optional output
    (the final state), as for every ``RecurrentLayer``.
    Arrays ``{Input,Reset,Memory}Gate{InputWeights (n, k), StateWeights (n, n), Biases (n,)}``,
    fused in that gate order, i, r, m.

    Options: ``n`` units; ``dropout`` (a probability for "VariationalWeights", or a dict of
    "VariationalWeights", "VariationalInput", "VariationalState"; active only in training;
    default None); ``reset_gate_mode`` (MATLAB's gruLayer ResetGateMode), where r meets the
    state:

    - "after-multiplication" (default, Wolfram's equations above): m = σs(Wmx·x + r*(Wms·s) + bm);
    - "recurrent-bias-after-multiplication" (PyTorch's ``nn.GRU``, Keras's ``reset_after=True``,
      ONNX's ``linear_before_reset=1``): m = σs(Wmx·x + r*(Wms·s + bms) + bm), with the array
      "MemoryGateStateBiases" bms ``(n,)``;
    - "before-multiplication" (Keras's ``reset_after=False``, ONNX's ``linear_before_reset=0``):
      m = σs(Wmx·x + Wms·(r*s) + bm);

    ``state_activation`` σs "Tanh" (default) | "SoftSign" and ``gate_activation`` σg
    "LogisticSigmoid" (default) | "HardSigmoid" (0.2·x + 0.5 clipped to [0, 1]), MATLAB's
    StateActivationFunction and GateActivationFunction, as for LongShortTermMemoryLayer;
    ``arrays``, ``learning_rate_multipliers``, ``input``, ``output`` as for every
    ``RecurrentLayer``.

    >>> import numpy as np
    >>> from netgraph import GatedRecurrentLayer, NetInitialize
    >>> gru = NetInitialize(GatedRecurrentLayer(3, input=("Varying", 2)), random_seed=0)
    >>> gru(np.ones((4, 2))).shape
    (4, 3)
    >>> keras_like = GatedRecurrentLayer(3, reset_gate_mode="before-multiplication",
    ...                                  gate_activation="HardSigmoid", arrays=gru.arrays)
    >>> keras_like(np.ones((4, 2))).shape
    (4, 3)
    """

    op_class = GRUOp
    choices = {
        "reset_gate_mode": RESET_GATE_MODES,
        "state_activation": tuple(STATE_KINDS),
        "gate_activation": tuple(GATE_KINDS),
    }
    # the options a .ngnet file leaves out at these values (files written before they existed)
    quiet_defaults = {"state_activation": "Tanh", "gate_activation": "LogisticSigmoid"}

    def __init__(  # noqa: PLR0913 (Wolfram's and MATLAB's options, each keyword-only)
        self,
        n=None,
        *,
        dropout=None,
        reset_gate_mode="after-multiplication",
        state_activation="Tanh",
        gate_activation="LogisticSigmoid",
        arrays=None,
        learning_rate_multipliers=None,
        input=None,
        output=None,
        **unknown,
    ):
        if reset_gate_mode != RESET_GATE_MODES[1] and STATE_BIAS in (arrays or {}):
            raise ValueError(
                f'GatedRecurrentLayer: the array "{STATE_BIAS}" (a state bias inside the reset '
                "product) belongs to the reset_gate_mode "
                f'"{RESET_GATE_MODES[1]}"; give that mode, or leave the array out.'
            )
        self._construct(
            n,
            dropout=dropout,
            lrm=learning_rate_multipliers,
            arrays=arrays,
            input=input,
            output=output,
            unknown=unknown,
            reset_gate_mode=reset_gate_mode,
            state_activation=state_activation,
            gate_activation=gate_activation,
        )

    @classmethod
    def array_names(cls, options=None) -> tuple[str, ...]:
        names = super().array_names()
        if options and options.get("reset_gate_mode") == RESET_GATE_MODES[1]:
            return names + (STATE_BIAS,)
        return names

    def construction_options(self) -> dict:
        """The options, less the activations at their defaults: a file then reads as it did
        before GatedRecurrentLayer had them."""
        o = self.options
        return {k: v for k, v in o.items() if self.quiet_defaults.get(k, object()) != v}


class BasicRecurrentLayer(RecurrentLayer):
    """A basic (Elman) recurrent layer, s' = f(Wx·x + Ws·s + b), on a numba kernel.

    Ports: "Input" ``("Varying", k)`` or ``(L, k)``; "Output" ``("Varying", n)``; "State"
    ``(n,)``, an optional input (the initial state, zero by default) and an optional output
    (the final state), as for every ``RecurrentLayer``.
    Arrays "InputWeights" ``(n, k)``, "StateWeights" ``(n, n)``, "Biases" ``(n,)``.

    Options: ``n`` units; ``activation`` f, "Tanh" (default, Wolfram's), "Ramp" (or "ReLU"),
    "LogisticSigmoid", "SoftSign" or "Identity"; ``dropout`` (a probability for
    "VariationalWeights", or a dict of "VariationalWeights", "VariationalInput",
    "VariationalState"; active only in training; default None); ``arrays``,
    ``learning_rate_multipliers``, ``input``, ``output`` as for every ``RecurrentLayer``.

    >>> import numpy as np
    >>> from netgraph import BasicRecurrentLayer, NetInitialize
    >>> rnn = NetInitialize(BasicRecurrentLayer(2, input=("Varying", 3)), random_seed=0)
    >>> rnn(np.ones((5, 3))).shape
    (5, 2)
    """

    op_class = BasicRecurrentOp
    choices = {"activation": tuple(ACTIVATIONS)}

    def __init__(
        self,
        n=None,
        *,
        activation="Tanh",
        dropout=None,
        arrays=None,
        learning_rate_multipliers=None,
        input=None,
        output=None,
        **unknown,
    ):
        self._construct(
            n,
            dropout=dropout,
            lrm=learning_rate_multipliers,
            arrays=arrays,
            input=input,
            output=output,
            unknown=unknown,
            activation=activation,
        )


__all__ = ["LongShortTermMemoryLayer", "GatedRecurrentLayer", "BasicRecurrentLayer"]
