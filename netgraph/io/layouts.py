"""The concatenated recurrent layouts of MATLAB and Keras (and the gate blocks that PyTorch's
converters in pytorch.py share), mapped to and from the Wolfram arrays of netgraph's layers.

Every converter is exact or refuses with a ValueError saying why; nothing is approximated
and nothing is dropped. The gate orders (netgraph's LSTM arrays are Wolfram's, fused in the
order Input, Output, Forget, Memory, which is ONNX's i, o, f, c):

    LSTM     Wolfram           MATLAB  Keras  PyTorch
             InputGate         i       i      i
             ForgetGate        f       f      f
             MemoryGate        g       c      g
             OutputGate        o       o      o        (MATLAB, Keras, PyTorch: i, f, g/c, o)

    GRU      Wolfram           MATLAB  Keras  PyTorch
             InputGate         z       z      z        (the update gate: s' = (1−z)∘m + z∘s)
             ResetGate         r       r      r
             MemoryGate        h̃       h      n        (MATLAB, PyTorch: r, z, h; Keras: z, r, h)

MATLAB stacks gate blocks as rows (InputWeights 4n×k, RecurrentWeights 4n×n, Bias 4n×1),
PyTorch too (weight_ih_l0 4n×k, weight_hh_l0 4n×n, bias_ih_l0 and bias_hh_l0 4n); Keras
stacks them as columns (kernel k×4n, recurrent_kernel n×4n, bias 4n). The GRU applies the
reset gate after the state product, r∘(W·s) (MATLAB's ResetGateMode "after-multiplication",
Keras's reset_after=True, PyTorch's only form), or before it, W·(r∘s) (MATLAB's
"before-multiplication", Keras's reset_after=False): a GatedRecurrentLayer with that
``reset_gate_mode`` computes either. A recurrent bias of the candidate inside that product (MATLAB's
"recurrent-bias-after-multiplication", Keras's second bias row, PyTorch's b_hn), which
Wolfram's GRU does not have, becomes the array "MemoryGateStateBiases" of a
GatedRecurrentLayer with ``reset_gate_mode="recurrent-bias-after-multiplication"`` when it
is nonzero (a zero one is left out: the plain layer computes the same). Biases that are
simply added (PyTorch's b_ih + b_hh, the recurrent biases of the r and z gates) are summed.
"""

from __future__ import annotations

import numpy as np

from ..layers import (
    GatedRecurrentLayer,
    LongShortTermMemoryLayer,
)
from ..layers.recurrent import STATE_BIAS
from ..text import closest

# Each framework's gate order, as netgraph's gate names ("Input" is the GRU's update gate z).
MATLAB_LSTM = KERAS_LSTM = TORCH_LSTM = ("Input", "Forget", "Memory", "Output")
MATLAB_GRU = TORCH_GRU = ("Reset", "Input", "Memory")
KERAS_GRU = ("Input", "Reset", "Memory")
RNN_GATES = ("",)  # BasicRecurrentLayer: one block, arrays named without a gate
PARTS = ("InputWeights", "StateWeights", "Biases")
RESET_GATE_MODES = (
    "after-multiplication",
    "recurrent-bias-after-multiplication",
    "before-multiplication",
)
# the message for a layer whose reset gate mode is not the form asked for
MODE_MISMATCH = (
    '{owner}: the layer\'s reset_gate_mode is "{mode}" (the reset gate {which} the state '
    "product), but {what} applies it {other} the product: the weights would not give the "
    "layer's outputs. Pass {fix}."
)


def _check_mode(owner: str, layer, before: bool, what: str, fix: str) -> None:
    """Refuse a GatedRecurrentLayer whose reset gate is on the other side of the product than
    the form asked for (``before``: the reset gate before it); a dict of arrays has no mode."""
    if not isinstance(layer, GatedRecurrentLayer):
        return
    mode = layer.options["reset_gate_mode"]
    if (mode == "before-multiplication") != before:
        which, other = ("after", "before") if before else ("before", "after")
        raise ValueError(
            MODE_MISMATCH.format(
                owner=owner, mode=mode, which=which, what=what, other=other, fix=fix
            )
        )


# -- arrays and gate blocks ------------------------------------------------------------------


def _name(gate: str, part: str) -> str:
    return f"{gate}Gate{part}" if gate else part


def _float(owner: str, name: str, value) -> np.ndarray:
    """A given array as a float array (float32 and float64 kept, integers → float64)."""
    try:
        a = np.asarray(value)
    except (ValueError, TypeError) as e:
        raise TypeError(
            f"{owner}: {name} must be a numeric array; received {type(value).__name__}."
        ) from e
    if a.dtype.kind not in "fiu":
        raise TypeError(f"{owner}: {name} must be a numeric array; received dtype {a.dtype}.")
    return a if a.dtype in (np.float32, np.float64) else a.astype(np.float64)


def _units(owner: str, name: str, a: np.ndarray, g: int, axis: int) -> int:
    """The number of units n of a matrix that stacks g gate blocks of n along ``axis``."""
    if a.ndim != 2 or a.shape[axis] == 0 or a.shape[axis] % g or a.shape[1 - axis] == 0:
        form = f"({g}n, k)" if axis == 0 else f"(k, {g}n)"
        blocks = f"{g} gate blocks of n units each" if g > 1 else "n units"
        raise ValueError(
            f"{owner}: {name} must be a matrix of shape {form}, {blocks}; received shape {a.shape}."
        )
    return a.shape[axis] // g


def _expect(owner: str, name: str, a: np.ndarray, shape: tuple, why: str) -> None:
    if a.shape != shape:
        raise ValueError(
            f"{owner}: {name} must have shape {shape} ({why}); received shape {a.shape}."
        )


def _unstack(W, R, b, gates: tuple, cls) -> dict:
    """The Wolfram arrays of a layer of type ``cls`` from its gate blocks stacked as rows:
    W (G·n, k), R (G·n, n), b (G·n,) in the order ``gates``."""
    n = R.shape[1]
    out = {}
    for j, gate in enumerate(gates):
        rows = slice(j * n, (j + 1) * n)
        for part, a in zip(PARTS, (W, R, b)):
            out[_name(gate, part)] = np.array(a[rows])  # a C-ordered copy
    return {a: out[a] for a in cls.array_names()}


def _stack(arrays: dict, gates: tuple) -> tuple:
    """The reverse of ``_unstack``: W (G·n, k), R (G·n, n), b (G·n,) in the order ``gates``."""
    return tuple(
        np.concatenate([np.asarray(arrays[_name(g, part)]) for g in gates]) for part in PARTS
    )


def _fold_recurrent_bias(b_in, b_rec, gates: tuple) -> tuple:
    """(one bias per gate, the candidate's state bias or None) from a GRU's input and
    recurrent biases (both (3n,), in the order ``gates``): summed for the gates, whose two
    biases are simply added; the candidate's recurrent bias lies inside the reset product
    r∘(R·s + b), where it is kept apart ("MemoryGateStateBiases"), or left out when zero."""
    n = len(b_in) // 3
    rows = slice(gates.index("Memory") * n, (gates.index("Memory") + 1) * n)
    inside = np.array(b_rec[rows])
    b = b_in + b_rec
    if not np.any(inside != 0):
        return b, None
    b[rows] = b_in[rows]
    return b, inside


def _gru_arrays(W, R, b_in, b_rec, gates: tuple) -> dict:
    """The arrays of a GatedRecurrentLayer from a GRU's weights and its two biases, with
    "MemoryGateStateBiases" when the candidate's recurrent bias is nonzero."""
    b, inside = _fold_recurrent_bias(b_in, b_rec, gates)
    arrays = _unstack(W, R, b, gates, GatedRecurrentLayer)
    if inside is not None:
        arrays[STATE_BIAS] = inside
    return arrays


def _state_bias(arrays: dict, n: int, dtype) -> np.ndarray:
    """A GRU layer's "MemoryGateStateBiases", zero when it has none."""
    bs = arrays.get(STATE_BIAS)
    return np.zeros(n, dtype) if bs is None else np.asarray(bs)


def _recurrent_bias(arrays: dict, gates: tuple, b) -> np.ndarray:
    """A GRU's recurrent biases in the order ``gates``: zero but the candidate's block,
    which is the layer's state bias."""
    n = len(b) // 3
    out = np.zeros_like(b)
    m = gates.index("Memory")
    out[m * n : (m + 1) * n] = _state_bias(arrays, n, b.dtype)
    return out


def _arrays_of(owner: str, layer, cls) -> dict:
    """The arrays of a layer of type ``cls``, or of a dict of its Wolfram arrays, checked."""
    if isinstance(layer, cls):
        arrays = dict(layer.arrays)
    elif isinstance(layer, dict):
        arrays = layer
    else:
        raise TypeError(
            f"{owner}: takes a {cls.__name__} or a dict of its arrays; "
            f"received {type(layer).__name__}."
        )
    mode = "recurrent-bias-after-multiplication" if STATE_BIAS in arrays else None
    names = cls.array_names({"reset_gate_mode": mode})
    unknown = [a for a in arrays if a not in names]
    if unknown:
        raise ValueError(
            f'{owner}: unknown array "{unknown[0]}"{closest(unknown[0], names)}. '
            f"A {cls.__name__} has arrays: {', '.join(names)}."
        )
    missing = [a for a in names if arrays.get(a) is None]
    if missing:
        raise ValueError(
            f"{owner}: the {cls.__name__} has no value for {', '.join(missing)}: give every "
            "array, or initialize the layer with NetInitialize first."
        )
    out = {a: _float(owner, a, arrays[a]) for a in names}
    n, k = out[names[1]].shape[0], out[names[0]].shape[-1]
    shapes = {"InputWeights": (n, k), "StateWeights": (n, n), "Biases": (n,)}
    for a in names:
        part = next(p for p in PARTS if a.endswith(p))
        _expect(owner, a, out[a], shapes[part], f"n = {n} units, k = {k} inputs")
    return out


# -- MATLAB: lstmLayer and gruLayer ----------------------------------------------------------


def _matlab_arrays(owner: str, W, R, b, g: int, *, bias_blocks: int = 1) -> tuple:
    """MATLAB's InputWeights (g·n, k), RecurrentWeights (g·n, n) and Bias (b·g·n,) or
    (b·g·n, 1), checked; Bias comes back as a vector."""
    W = _float(owner, "InputWeights", W)
    n = _units(owner, "InputWeights", W, g, 0)
    R = _float(owner, "RecurrentWeights", R)
    _expect(owner, "RecurrentWeights", R, (g * n, n), f"{g}n × n, n = {n} units from InputWeights")
    b = _float(owner, "Bias", b)
    size = bias_blocks * g * n
    b = b[:, 0] if b.shape == (size, 1) else b
    _expect(owner, "Bias", b, (size,), f"{size} × 1 or a vector, n = {n} units from InputWeights")
    return W, R, b


def from_matlab_lstm(*, InputWeights, RecurrentWeights, Bias) -> dict:
    """The Wolfram arrays of a LongShortTermMemoryLayer from MATLAB's lstmLayer properties.

    InputWeights (4n, k), RecurrentWeights (4n, n) and Bias (4n, 1) (or (4n,)) stack the gate
    blocks as rows in MATLAB's order i, f, g, o. Returns a dict of the twelve Wolfram arrays
    (``{Input,Output,Forget,Memory}Gate{InputWeights,StateWeights,Biases}``), ready for
    ``LongShortTermMemoryLayer(arrays=...)``. MATLAB's StateActivationFunction and
    GateActivationFunction are the layer's ``state_activation`` and ``gate_activation``.

    >>> import numpy as np
    >>> from netgraph import LongShortTermMemoryLayer, from_matlab_lstm
    >>> n, k = 2, 3
    >>> arrays = from_matlab_lstm(InputWeights=np.ones((4 * n, k)),
    ...                           RecurrentWeights=np.zeros((4 * n, n)),
    ...                           Bias=np.arange(4 * n).reshape(-1, 1))
    >>> arrays["ForgetGateBiases"]               # rows n … 2n−1: MATLAB's f block
    array([2., 3.])
    >>> LongShortTermMemoryLayer(arrays=arrays)(np.ones((5, k))).shape
    (5, 2)
    """
    W, R, b = _matlab_arrays("from_matlab_lstm", InputWeights, RecurrentWeights, Bias, 4)
    return _unstack(W, R, b, MATLAB_LSTM, LongShortTermMemoryLayer)


def to_matlab_lstm(layer) -> dict:
    """MATLAB's lstmLayer arrays from a LongShortTermMemoryLayer (or a dict of its arrays):
    a dict of "InputWeights" (4n, k), "RecurrentWeights" (4n, n) and "Bias" (4n, 1), gate
    blocks in MATLAB's order i, f, g, o. ``from_matlab_lstm(**to_matlab_lstm(layer))`` gives
    the layer's arrays back.

    >>> import numpy as np
    >>> from netgraph import LongShortTermMemoryLayer, NetInitialize, to_matlab_lstm
    >>> lstm = NetInitialize(LongShortTermMemoryLayer(2, input=("Varying", 3)), random_seed=0)
    >>> {k: v.shape for k, v in to_matlab_lstm(lstm).items()}
    {'InputWeights': (8, 3), 'RecurrentWeights': (8, 2), 'Bias': (8, 1)}
    """
    arrays = _arrays_of("to_matlab_lstm", layer, LongShortTermMemoryLayer)
    W, R, b = _stack(arrays, MATLAB_LSTM)
    return {"InputWeights": W, "RecurrentWeights": R, "Bias": b[:, None]}


def _reset_gate_mode(owner: str, mode: str) -> int:
    """The number of bias blocks of a MATLAB ResetGateMode (1 or 2)."""
    if mode not in RESET_GATE_MODES:
        raise ValueError(
            f"{owner}: unknown ResetGateMode {mode!r}{closest(mode, RESET_GATE_MODES)}. "
            f"Valid values: {', '.join(RESET_GATE_MODES)}."
        )
    return 2 if mode == "recurrent-bias-after-multiplication" else 1


def from_matlab_gru(
    *, InputWeights, RecurrentWeights, Bias, ResetGateMode="after-multiplication"
) -> dict:
    """The Wolfram arrays of a GatedRecurrentLayer from MATLAB's gruLayer properties.

    InputWeights (3n, k), RecurrentWeights (3n, n) and Bias stack the gate blocks as rows in
    MATLAB's order r (reset), z (update), h̃ (candidate); z is Wolfram's input gate. Bias is
    (3n, 1) for ResetGateMode "after-multiplication" (the default, Wolfram's GRU exactly) and
    "before-multiplication" (build the layer with that ``reset_gate_mode``), and (6n, 1) for "recurrent-bias-after-multiplication" (input biases, then recurrent biases):
    the recurrent biases of r and z are added to their input biases, and the candidate's, in
    rows 5n+1 … 6n, inside the reset product, is returned as "MemoryGateStateBiases" when it
    is nonzero: build the layer with that mode then,
    ``GatedRecurrentLayer(reset_gate_mode="recurrent-bias-after-multiplication", arrays=…)``.
    MATLAB's StateActivationFunction and GateActivationFunction are the layer's
    ``state_activation`` and ``gate_activation``.

    >>> import numpy as np
    >>> from netgraph import from_matlab_gru
    >>> n, k = 2, 3
    >>> bias = np.r_[np.full(3 * n, 1.0), [0.5, 0.5, 0.25, 0.25, 0.0, 0.0]]
    >>> arrays = from_matlab_gru(InputWeights=np.ones((3 * n, k)),
    ...                          RecurrentWeights=np.ones((3 * n, n)), Bias=bias,
    ...                          ResetGateMode="recurrent-bias-after-multiplication")
    >>> arrays["ResetGateBiases"], arrays["InputGateBiases"], arrays["MemoryGateBiases"]
    (array([1.5, 1.5]), array([1.25, 1.25]), array([1., 1.]))
    """
    owner = "from_matlab_gru"
    blocks = _reset_gate_mode(owner, ResetGateMode)
    W, R, b = _matlab_arrays(owner, InputWeights, RecurrentWeights, Bias, 3, bias_blocks=blocks)
    if blocks == 2:
        n3 = W.shape[0]
        return _gru_arrays(W, R, b[:n3], b[n3:], MATLAB_GRU)
    return _unstack(W, R, b, MATLAB_GRU, GatedRecurrentLayer)


def to_matlab_gru(layer, *, ResetGateMode="after-multiplication") -> dict:
    """MATLAB's gruLayer arrays from a GatedRecurrentLayer (or a dict of its arrays): a dict
    of "InputWeights" (3n, k), "RecurrentWeights" (3n, n) and "Bias", gate blocks in MATLAB's
    order r, z, h̃. Bias is (3n, 1) for ResetGateMode "after-multiplication" (the default)
    and "before-multiplication", and (6n, 1) for "recurrent-bias-after-multiplication":
    recurrent biases zero but the candidate's, which is the layer's "MemoryGateStateBiases"
    (a layer that has a nonzero one needs that mode). A layer whose ``reset_gate_mode`` is
    "before-multiplication" needs that ResetGateMode, and only it.

    >>> from netgraph import GatedRecurrentLayer, NetInitialize, to_matlab_gru
    >>> gru = NetInitialize(GatedRecurrentLayer(2, input=("Varying", 3)), random_seed=0)
    >>> to_matlab_gru(gru, ResetGateMode="recurrent-bias-after-multiplication")["Bias"].shape
    (12, 1)
    """
    owner = "to_matlab_gru"
    blocks = _reset_gate_mode(owner, ResetGateMode)
    before = ResetGateMode == "before-multiplication"
    fix = 'ResetGateMode="before-multiplication"' if not before else "an after-multiplication mode"
    _check_mode(owner, layer, before, f'ResetGateMode "{ResetGateMode}"', fix)
    arrays = _arrays_of(owner, layer, GatedRecurrentLayer)
    W, R, b = _stack(arrays, MATLAB_GRU)
    rec = _recurrent_bias(arrays, MATLAB_GRU, b)
    if blocks == 1 and np.any(rec != 0):
        raise ValueError(
            f'{owner}: the layer has a nonzero "{STATE_BIAS}", a bias inside the reset '
            "product, which MATLAB holds only with ResetGateMode "
            '"recurrent-bias-after-multiplication": pass that mode.'
        )
    b = np.concatenate([b, rec]) if blocks == 2 else b
    return {"InputWeights": W, "RecurrentWeights": R, "Bias": b[:, None]}


def _matlab_kind(owner: str, layer) -> tuple:
    """(layer class, MATLAB's gate order) of an LSTM or GRU layer or layer class."""
    cls = layer if isinstance(layer, type) else type(layer)
    if issubclass(cls, LongShortTermMemoryLayer):
        return LongShortTermMemoryLayer, MATLAB_LSTM
    if issubclass(cls, GatedRecurrentLayer):
        return GatedRecurrentLayer, MATLAB_GRU
    raise TypeError(
        f"{owner}: takes LongShortTermMemoryLayer or GatedRecurrentLayer (the class or a "
        f"layer), as MATLAB's lstmLayer and gruLayer; received {layer!r}."
    )


def _gate_factors(owner: str, name: str, value, gates: tuple) -> list:
    """A MATLAB factor: a number ≥ 0 for every gate, or a 1-by-G vector, one per gate."""
    order = "i, f, g, o" if len(gates) == 4 else "r, z, h"
    try:
        f = np.asarray(value, dtype=np.float64)
    except (ValueError, TypeError):
        f = np.asarray(np.nan)
    f = f.reshape(-1) if f.shape in ((len(gates),), (1, len(gates))) else f
    if f.shape not in ((), (len(gates),)) or not np.all(np.isfinite(f)) or np.any(f < 0):
        raise ValueError(
            f"{owner}: {name} must be a number ≥ 0 or a 1-by-{len(gates)} vector of them, one "
            f"per gate in MATLAB's order {order}; received {value!r}."
        )
    return [float(v) for v in np.broadcast_to(f, (len(gates),))]


def _is_number(x) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool)


def _per_array(owner: str, layer, factors: dict) -> dict:
    """Wolfram array name → factor, from MATLAB factors by part ("InputWeights", …)."""
    cls, gates = _matlab_kind(owner, layer)
    out = {}
    for part, (name, value) in factors.items():
        for gate, f in zip(gates, _gate_factors(owner, name, value, gates)):
            out[_name(gate, part)] = f
    return {a: out[a] for a in cls.array_names()}


def from_matlab_learn_rate_factors(
    layer,
    *,
    InputWeightsLearnRateFactor=1.0,
    RecurrentWeightsLearnRateFactor=1.0,
    BiasLearnRateFactor=1.0,
) -> dict:
    """netgraph's per-array learning-rate multipliers from MATLAB's learn-rate factors.

    ``layer``: LongShortTermMemoryLayer or GatedRecurrentLayer (the class or a layer). Each
    factor is a number (every gate) or a 1-by-4 (LSTM: i, f, g, o) or 1-by-3 (GRU: r, z, h)
    vector, as in MATLAB. Returns {Wolfram array name: multiplier}, for the layer's
    ``learning_rate_multipliers`` option (NetTrain multiplies its own multipliers by these).

    >>> from netgraph import LongShortTermMemoryLayer, from_matlab_learn_rate_factors
    >>> lrm = from_matlab_learn_rate_factors(LongShortTermMemoryLayer,
    ...                                      InputWeightsLearnRateFactor=[1, 0, 1, 1])
    >>> lrm["ForgetGateInputWeights"], lrm["ForgetGateStateWeights"]
    (0.0, 1.0)
    >>> lstm = LongShortTermMemoryLayer(4, learning_rate_multipliers=lrm)
    """
    return _per_array(
        "from_matlab_learn_rate_factors",
        layer,
        {
            "InputWeights": ("InputWeightsLearnRateFactor", InputWeightsLearnRateFactor),
            "StateWeights": ("RecurrentWeightsLearnRateFactor", RecurrentWeightsLearnRateFactor),
            "Biases": ("BiasLearnRateFactor", BiasLearnRateFactor),
        },
    )


def from_matlab_l2_factors(
    layer,
    name,
    *,
    L2Regularization=1e-4,
    InputWeightsL2Factor=1.0,
    RecurrentWeightsL2Factor=1.0,
    BiasL2Factor=0.0,
) -> dict:
    """NetTrain's per-array L2 rules from MATLAB's L2 factors of one LSTM or GRU layer.

    ``layer``: LongShortTermMemoryLayer or GatedRecurrentLayer (the class or a layer);
    ``name``: its name in the net (a path tuple inside nested nets). MATLAB regularizes an
    array with L2Regularization (trainingOptions, default 1e-4) times its factor; the factors
    are numbers or 1-by-4 (i, f, g, o) or 1-by-3 (r, z, h) vectors, with MATLAB's defaults
    (BiasL2Factor 0). Returns {(name, array): λ} for NetTrain's ``l2_regularization`` method
    option; merge the dicts of several layers, and add ``{All: λ}`` for the other arrays.
    netgraph's L2 term is MATLAB's, λ/2·‖w‖² per array.

    >>> from netgraph import LongShortTermMemoryLayer, from_matlab_l2_factors
    >>> l2 = from_matlab_l2_factors(LongShortTermMemoryLayer, "lstm", L2Regularization=1e-3,
    ...                             InputWeightsL2Factor=[1, 2, 1, 1])
    >>> l2[("lstm", "ForgetGateInputWeights")], l2[("lstm", "ForgetGateBiases")]
    (0.002, 0.0)
    """
    owner = "from_matlab_l2_factors"
    path = tuple(str(p) for p in name) if isinstance(name, (tuple, list)) else (str(name),)
    lam = np.asarray(L2Regularization, dtype=np.float64) if _is_number(L2Regularization) else -1
    if not (np.isfinite(lam) and lam >= 0):
        raise ValueError(
            f"{owner}: L2Regularization must be a number ≥ 0; received {L2Regularization!r}."
        )
    lam = float(lam)
    factors = _per_array(
        owner,
        layer,
        {
            "InputWeights": ("InputWeightsL2Factor", InputWeightsL2Factor),
            "StateWeights": ("RecurrentWeightsL2Factor", RecurrentWeightsL2Factor),
            "Biases": ("BiasL2Factor", BiasL2Factor),
        },
    )
    return {(*path, a): lam * f for a, f in factors.items()}


# -- Keras: LSTM and GRU ---------------------------------------------------------------------


def _keras_arrays(owner: str, kernel, recurrent_kernel, bias, g: int, *, rows: int = 1) -> tuple:
    """Keras's kernel (k, g·n), recurrent_kernel (n, g·n) and bias ((g·n,), or (rows, g·n)),
    checked; the matrices come back transposed, gate blocks as rows."""
    K = _float(owner, "kernel", kernel)
    n = _units(owner, "kernel", K, g, 1)
    RK = _float(owner, "recurrent_kernel", recurrent_kernel)
    _expect(owner, "recurrent_kernel", RK, (n, g * n), f"n × {g}n, n = {n} units from kernel")
    shape = (g * n,) if rows == 1 else (rows, g * n)
    if bias is None:  # use_bias=False
        return K.T, RK.T, np.zeros(shape, K.dtype)
    b = _float(owner, "bias", bias)
    _expect(owner, "bias", b, shape, f"n = {n} units from kernel")
    return K.T, RK.T, b


def from_keras_lstm(kernel, recurrent_kernel, bias=None) -> dict:
    """The Wolfram arrays of a LongShortTermMemoryLayer from a Keras LSTM's weights.

    kernel (k, 4n), recurrent_kernel (n, 4n) and bias (4n,) (None for ``use_bias=False``)
    stack the gate blocks as columns in Keras's order i, f, c, o: ``from_keras_lstm(
    *keras_layer.get_weights())``. Keras's ``activation`` and ``recurrent_activation`` are
    the layer's ``state_activation`` and ``gate_activation``: "tanh"/"softsign" and "sigmoid"
    convert; Keras 3's "hard_sigmoid" (x/6 + 1/2) is not MATLAB's (0.2·x + 1/2), which
    netgraph's "HardSigmoid" is.

    >>> import numpy as np
    >>> from netgraph import from_keras_lstm
    >>> n, k = 2, 3
    >>> arrays = from_keras_lstm(np.ones((k, 4 * n)), np.ones((n, 4 * n)), np.arange(4 * n))
    >>> arrays["MemoryGateBiases"]               # columns 2n … 3n−1: Keras's c block
    array([4., 5.])
    """
    W, R, b = _keras_arrays("from_keras_lstm", kernel, recurrent_kernel, bias, 4)
    return _unstack(W, R, b, KERAS_LSTM, LongShortTermMemoryLayer)


def to_keras_lstm(layer) -> dict:
    """A Keras LSTM's weights from a LongShortTermMemoryLayer (or a dict of its arrays): a
    dict of "kernel" (k, 4n), "recurrent_kernel" (n, 4n) and "bias" (4n,), gate blocks as
    columns in Keras's order i, f, c, o, in ``keras_layer.set_weights(list(d.values()))``
    order.

    >>> from netgraph import LongShortTermMemoryLayer, NetInitialize, to_keras_lstm
    >>> lstm = NetInitialize(LongShortTermMemoryLayer(2, input=("Varying", 3)), random_seed=0)
    >>> {k: v.shape for k, v in to_keras_lstm(lstm).items()}
    {'kernel': (3, 8), 'recurrent_kernel': (2, 8), 'bias': (8,)}
    """
    arrays = _arrays_of("to_keras_lstm", layer, LongShortTermMemoryLayer)
    W, R, b = _stack(arrays, KERAS_LSTM)
    return {"kernel": W.T.copy(), "recurrent_kernel": R.T.copy(), "bias": b}


def from_keras_gru(kernel, recurrent_kernel, bias=None, *, reset_after=True) -> dict:
    """The Wolfram arrays of a GatedRecurrentLayer from a Keras GRU's weights.

    kernel (k, 3n), recurrent_kernel (n, 3n) stack the gate blocks as columns in Keras's
    order z (update, Wolfram's input gate), r, h; with ``reset_after=True`` (Keras's
    default) bias is (2, 3n): input biases, then recurrent biases. The recurrent biases of
    z and r are added to their input biases; the candidate's, ``bias[1, 2n:3n]``, lies
    inside the reset product and is returned as "MemoryGateStateBiases" when it is nonzero
    (build the layer with ``reset_gate_mode="recurrent-bias-after-multiplication"`` then).
    With ``reset_after=False`` the reset gate scales the state before the product and bias is
    (3n,): build the layer with ``reset_gate_mode="before-multiplication"``. bias None:
    ``use_bias=False``.

    >>> import numpy as np
    >>> from netgraph import from_keras_gru
    >>> n, k = 2, 3
    >>> bias = np.array([[1.0] * 6, [0.5, 0.5, 0.25, 0.25, 0.0, 0.0]])
    >>> arrays = from_keras_gru(np.ones((k, 3 * n)), np.ones((n, 3 * n)), bias)
    >>> arrays["InputGateBiases"], arrays["ResetGateBiases"], arrays["MemoryGateBiases"]
    (array([1.5, 1.5]), array([1.25, 1.25]), array([1., 1.]))
    """
    owner = "from_keras_gru"
    if not reset_after:
        W, R, b = _keras_arrays(owner, kernel, recurrent_kernel, bias, 3)
        return _unstack(W, R, b, KERAS_GRU, GatedRecurrentLayer)
    W, R, b = _keras_arrays(owner, kernel, recurrent_kernel, bias, 3, rows=2)
    return _gru_arrays(W, R, b[0], b[1], KERAS_GRU)


def to_keras_gru(layer, *, reset_after=None) -> dict:
    """A Keras GRU's weights from a GatedRecurrentLayer (or a dict of its arrays): a dict of
    "kernel" (k, 3n), "recurrent_kernel" (n, 3n) and "bias", gate blocks as columns in Keras's
    order z, r, h. With ``reset_after=True`` bias is (2, 3n) (input biases; recurrent biases
    zero but the candidate's, the layer's "MemoryGateStateBiases"); with False, (3n,), for a
    layer whose ``reset_gate_mode`` is "before-multiplication". None: False for such a
    layer, True otherwise.

    >>> from netgraph import GatedRecurrentLayer, NetInitialize, to_keras_gru
    >>> gru = NetInitialize(GatedRecurrentLayer(2, input=("Varying", 3)), random_seed=0)
    >>> {k: v.shape for k, v in to_keras_gru(gru).items()}
    {'kernel': (3, 6), 'recurrent_kernel': (2, 6), 'bias': (2, 6)}
    """
    owner = "to_keras_gru"
    before = isinstance(layer, GatedRecurrentLayer) and (
        layer.options["reset_gate_mode"] == "before-multiplication"
    )
    before = before if reset_after is None else not reset_after
    _check_mode(owner, layer, before, f"reset_after={not before}", f"reset_after={before}")
    arrays = _arrays_of(owner, layer, GatedRecurrentLayer)
    W, R, b = _stack(arrays, KERAS_GRU)
    if before:
        return {"kernel": W.T.copy(), "recurrent_kernel": R.T.copy(), "bias": b}
    bias = np.stack([b, _recurrent_bias(arrays, KERAS_GRU, b)])
    return {"kernel": W.T.copy(), "recurrent_kernel": R.T.copy(), "bias": bias}


__all__ = [
    "from_matlab_lstm",
    "to_matlab_lstm",
    "from_matlab_gru",
    "to_matlab_gru",
    "from_matlab_learn_rate_factors",
    "from_matlab_l2_factors",
    "from_keras_lstm",
    "to_keras_lstm",
    "from_keras_gru",
    "to_keras_gru",
]
