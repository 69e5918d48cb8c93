"""Weights from and to other frameworks: PyTorch modules, and the concatenated recurrent
layouts of MATLAB and Keras, mapped to and from the Wolfram arrays of netgraph's layers.

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
stacks them as columns (kernel k×4n, recurrent_kernel n×4n, bias 4n). The GRU of all four
applies the reset gate after the state product, r∘(W·s), in the forms used here (MATLAB's
ResetGateMode "after-multiplication", Keras's reset_after=True, PyTorch's only form); a
recurrent bias of the candidate inside that product (MATLAB's
"recurrent-bias-after-multiplication", Keras's second bias row, PyTorch's b_hn), which
Wolfram's GRU does not have, becomes the array "MemoryGateStateBiases" of a
GatedRecurrentLayer with ``reset_gate_mode="recurrent-bias-after-multiplication"`` when it
is nonzero (a zero one is left out: the plain layer computes the same). Biases that are
simply added (PyTorch's b_ih + b_hh, the recurrent biases of the r and z gates) are summed.
"""

from __future__ import annotations

import sys

import numpy as np

from ..containers import NetChain
from ..editing import NetReplacePart
from ..layers import (
    BasicRecurrentLayer,
    DropoutLayer,
    ElementwiseLayer,
    EmbeddingLayer,
    FlattenLayer,
    GatedRecurrentLayer,
    LinearLayer,
    LongShortTermMemoryLayer,
    SoftmaxLayer,
)
from ..layers.recurrent import STATE_BIAS
from ..net import Net
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
BEFORE_RESET = (
    "{owner}: {what} applies the reset gate to the state before the state product, "
    "W·(r∘s); netgraph's GatedRecurrentLayer computes Wolfram's GRU, which applies it after, "
    "r∘(W·s), so no arrays give the same outputs. Only the after-the-product form converts "
    "({fix})."
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
    """The number of bias blocks of a MATLAB ResetGateMode (1 or 2); the mode that applies
    the reset gate before the product is refused."""
    if mode not in RESET_GATE_MODES:
        raise ValueError(
            f"{owner}: unknown ResetGateMode {mode!r}{closest(mode, RESET_GATE_MODES)}. "
            f"Valid values: {', '.join(RESET_GATE_MODES)}."
        )
    if mode == "before-multiplication":
        raise ValueError(
            BEFORE_RESET.format(
                owner=owner,
                what='ResetGateMode "before-multiplication"',
                fix='"after-multiplication", MATLAB\'s default',
            )
        )
    return 2 if mode == "recurrent-bias-after-multiplication" else 1


def from_matlab_gru(
    *, InputWeights, RecurrentWeights, Bias, ResetGateMode="after-multiplication"
) -> dict:
    """The Wolfram arrays of a GatedRecurrentLayer from MATLAB's gruLayer properties.

    InputWeights (3n, k), RecurrentWeights (3n, n) and Bias stack the gate blocks as rows in
    MATLAB's order r (reset), z (update), h̃ (candidate); z is Wolfram's input gate. Bias is
    (3n, 1) for ResetGateMode "after-multiplication" (the default, Wolfram's GRU exactly) and
    (6n, 1) for "recurrent-bias-after-multiplication" (input biases, then recurrent biases):
    the recurrent biases of r and z are added to their input biases, and the candidate's, in
    rows 5n+1 … 6n, inside the reset product, is returned as "MemoryGateStateBiases" when it
    is nonzero: build the layer with that mode then,
    ``GatedRecurrentLayer(reset_gate_mode="recurrent-bias-after-multiplication", arrays=…)``.
    "before-multiplication" is refused: it applies the reset gate before the state product.
    MATLAB's default activations (tanh, sigmoid) are the only ones netgraph's GRU has.

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
    and (6n, 1) for "recurrent-bias-after-multiplication": recurrent biases zero but the
    candidate's, which is the layer's "MemoryGateStateBiases" (a layer that has a nonzero
    one needs that mode).

    >>> from netgraph import GatedRecurrentLayer, NetInitialize, to_matlab_gru
    >>> gru = NetInitialize(GatedRecurrentLayer(2, input=("Varying", 3)), random_seed=0)
    >>> to_matlab_gru(gru, ResetGateMode="recurrent-bias-after-multiplication")["Bias"].shape
    (12, 1)
    """
    owner = "to_matlab_gru"
    blocks = _reset_gate_mode(owner, ResetGateMode)
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
    ``reset_after=False`` is refused: it applies the reset gate before the state product.
    bias None: ``use_bias=False``.

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
        raise ValueError(
            BEFORE_RESET.format(
                owner=owner, what="a Keras GRU with reset_after=False", fix="reset_after=True"
            )
        )
    W, R, b = _keras_arrays(owner, kernel, recurrent_kernel, bias, 3, rows=2)
    return _gru_arrays(W, R, b[0], b[1], KERAS_GRU)


def to_keras_gru(layer) -> dict:
    """A Keras GRU's weights (``reset_after=True``) from a GatedRecurrentLayer (or a dict of
    its arrays): a dict of "kernel" (k, 3n), "recurrent_kernel" (n, 3n) and "bias" (2, 3n)
    (input biases; recurrent biases zero but the candidate's, the layer's
    "MemoryGateStateBiases"), gate blocks as columns in Keras's order z, r, h.

    >>> from netgraph import GatedRecurrentLayer, NetInitialize, to_keras_gru
    >>> gru = NetInitialize(GatedRecurrentLayer(2, input=("Varying", 3)), random_seed=0)
    >>> {k: v.shape for k, v in to_keras_gru(gru).items()}
    {'kernel': (3, 6), 'recurrent_kernel': (2, 6), 'bias': (2, 6)}
    """
    arrays = _arrays_of("to_keras_gru", layer, GatedRecurrentLayer)
    W, R, b = _stack(arrays, KERAS_GRU)
    bias = np.stack([b, _recurrent_bias(arrays, KERAS_GRU, b)])
    return {"kernel": W.T.copy(), "recurrent_kernel": R.T.copy(), "bias": bias}


# -- PyTorch: modules in, state dicts out ----------------------------------------------------

TORCH_RECURRENT = {
    "LSTM": (LongShortTermMemoryLayer, TORCH_LSTM),
    "GRU": (GatedRecurrentLayer, TORCH_GRU),
    "RNN": (BasicRecurrentLayer, RNN_GATES),
}
TORCH_FUNCTIONS = {
    "ReLU": "Ramp",
    "Tanh": "Tanh",
    "Sigmoid": "LogisticSigmoid",
    "Softsign": "SoftSign",
    "SELU": "SELU",
    "ELU": "ELU",
    "GELU": "GELU",
}
SHAPE_KEEPING = (*TORCH_FUNCTIONS, "Softmax", "Dropout", "Identity")


def _at(where: str) -> str:
    return f'module "{where}"' if where else "the module"


def _tensor(m, name: str, where: str) -> np.ndarray:
    """A parameter of a torch module as a numpy array (float32 or float64)."""
    t = getattr(m, name).detach().cpu()
    if str(t.dtype) not in ("torch.float32", "torch.float64"):
        raise ValueError(
            f"from_pytorch: {name} of {_at(where)} has dtype {t.dtype}; netgraph holds float32 "
            "or float64 arrays: convert the module with .float() or .double() first."
        )
    return t.numpy().copy()


def _recurrent_layer(m, i: int, where: str):
    """Layer ``i`` of an nn.LSTM, nn.GRU or nn.RNN as a netgraph layer."""
    kind = type(m).__name__
    cls, gates = TORCH_RECURRENT[kind]
    W, R = _tensor(m, f"weight_ih_l{i}", where), _tensor(m, f"weight_hh_l{i}", where)
    lrm = None
    if not m.bias:  # PyTorch's bias=False: zero biases that NetTrain keeps at zero
        b = np.zeros(W.shape[0], W.dtype)
        lrm = {_name(g, "Biases"): 0.0 for g in gates}
    elif kind == "GRU":
        b_ih, b_hh = _tensor(m, f"bias_ih_l{i}", where), _tensor(m, f"bias_hh_l{i}", where)
        arrays = _gru_arrays(W, R, b_ih, b_hh, gates)
        mode = "recurrent-bias-after-multiplication" if STATE_BIAS in arrays else None
        options = {"reset_gate_mode": mode} if mode else {}
        return cls(R.shape[1], arrays=arrays, learning_rate_multipliers=lrm, **options)
    else:
        b = _tensor(m, f"bias_ih_l{i}", where) + _tensor(m, f"bias_hh_l{i}", where)
    arrays = _unstack(W, R, b, gates, cls)
    options = (
        {"activation": "Ramp" if m.nonlinearity == "relu" else "Tanh"} if kind == "RNN" else {}
    )
    return cls(R.shape[1], arrays=arrays, learning_rate_multipliers=lrm, **options)


def _recurrent(m, nn, where: str):
    """nn.LSTM, nn.GRU, nn.RNN: one layer, or a NetChain of layers "l0", "l1", … with a
    DropoutLayer "dropout_l0", … after each but the last when the module has dropout."""
    kind = type(m).__name__
    if m.bidirectional:
        raise ValueError(
            f"from_pytorch: {_at(where)} is a bidirectional nn.{kind}; netgraph has no "
            "NetBidirectionalOperator yet to hold the backward direction. Only unidirectional "
            "modules convert."
        )
    if getattr(m, "proj_size", 0):
        raise ValueError(
            f"from_pytorch: {_at(where)} is an nn.LSTM with proj_size={m.proj_size} (a "
            "projected state, weight_hr); netgraph's LongShortTermMemoryLayer has no "
            "projection, so it does not convert."
        )
    layers = {}
    for i in range(m.num_layers):
        if i and m.dropout:
            layers[f"dropout_l{i - 1}"] = DropoutLayer(m.dropout)
        layers[f"l{i}"] = _recurrent_layer(m, i, where)
    return layers["l0"] if m.num_layers == 1 else NetChain(layers)


def _linear(m, nn, where: str):
    W = _tensor(m, "weight", where)
    b = None if m.bias is None else _tensor(m, "bias", where)
    return LinearLayer(W.shape[0], weights=W, biases=b)


def _embedding(m, nn, where: str):
    if m.max_norm is not None:
        raise ValueError(
            f"from_pytorch: {_at(where)} is an nn.Embedding with max_norm={m.max_norm}, which "
            "rescales the rows it looks up; netgraph's EmbeddingLayer does not, so it does not "
            "convert."
        )
    W = _tensor(m, "weight", where)
    return EmbeddingLayer(W.shape[1], W.shape[0], weights=W)


def _function(m, nn, where: str):
    kind = type(m).__name__
    if kind == "ELU" and m.alpha != 1.0:
        raise ValueError(
            f"from_pytorch: {_at(where)} is an nn.ELU with alpha={m.alpha}; netgraph's "
            '"ELU" has alpha 1, so only nn.ELU(alpha=1.0) converts.'
        )
    if kind == "GELU" and m.approximate != "none":
        raise ValueError(
            f"from_pytorch: {_at(where)} is an nn.GELU with approximate={m.approximate!r}; "
            'netgraph\'s "GELU" is the exact one (with erf), nn.GELU(approximate="none").'
        )
    return ElementwiseLayer(TORCH_FUNCTIONS[kind])


def _softmax(m, nn, where: str):
    if m.dim != -1:
        raise ValueError(
            f"from_pytorch: {_at(where)} is an nn.Softmax with dim={m.dim}; netgraph's "
            "SoftmaxLayer normalizes over the last dimension, so only nn.Softmax(dim=-1) "
            "converts (another dimension's meaning depends on the input's rank)."
        )
    return SoftmaxLayer()


def _flatten(m, nn, where: str):
    """nn.Flatten(1, e) joins an example's first e levels, nn.Flatten(−j, −1) its last j
    (PyTorch's dimension 0 is the batch): FlattenLayer(e − 1), FlattenLayer(1 − j)."""
    a, b = m.start_dim, m.end_dim
    if (a, b) == (1, -1):
        return FlattenLayer()
    if (a == 1 and b >= 1) or (a < 0 and b == -1):
        levels = b if a == 1 else -a  # the example levels joined into one
        return None if levels == 1 else FlattenLayer(levels - 1 if a == 1 else 1 - levels)
    raise ValueError(
        f"from_pytorch: {_at(where)} is an nn.Flatten(start_dim={a}, end_dim={b}); netgraph's "
        "FlattenLayer joins the first or the last levels of an example, so nn.Flatten(1, e), "
        "nn.Flatten(-j, -1) and nn.Flatten() convert (PyTorch's dimension 0 is the batch)."
    )


def _sequential(m, nn, where: str):
    layers = {}
    for name, child in m.named_children():
        layer = _module(child, nn, f"{where}.{name}" if where else name)
        if layer is not None:
            layers[name] = layer
    return NetChain(layers) if layers else None


CONVERTERS = {
    **dict.fromkeys(TORCH_RECURRENT, _recurrent),
    **dict.fromkeys(TORCH_FUNCTIONS, _function),
    "Linear": _linear,
    "Embedding": _embedding,
    "Softmax": _softmax,
    "Dropout": lambda m, nn, where: DropoutLayer(m.p),
    "Identity": lambda m, nn, where: None,
    "Flatten": _flatten,
    "Sequential": _sequential,
}


def _module(m, nn, where: str):
    """The netgraph net of a torch module (None for one that computes the identity)."""
    kind = type(m).__name__
    if kind not in CONVERTERS or type(m) is not getattr(nn, kind, None):
        what = f"{type(m).__module__}.{type(m).__qualname__}"
        raise ValueError(
            f"from_pytorch: {_at(where)} is a {what}, which does not convert. Convertible "
            f"modules (torch.nn's own classes, not subclasses, whose forward may differ): "
            f"{', '.join(CONVERTERS)}."
        )
    return CONVERTERS[kind](m, nn, where)


def _default_input(module, nn):
    """The net's input taken from the module: a sequence when it holds a recurrent module,
    of vectors of the first Linear's in_features or of an Embedding's indices; None when the
    first sized module is recurrent (its arrays give its input) or after a Flatten."""
    leaves = [m for m in module.modules() if type(m) is not nn.Sequential]
    sequence = any(type(m).__name__ in TORCH_RECURRENT for m in leaves)
    for m in leaves:
        kind = type(m).__name__
        if kind == "Linear":
            return ("Varying", m.in_features) if sequence else m.in_features
        if kind == "Embedding":
            return "Varying" if sequence else None
        if kind not in SHAPE_KEEPING:
            return None
    return None


def from_pytorch(module, *, input=None) -> Net:
    """A netgraph net holding a PyTorch module's weights, computing what the module computes.

    Converts ``nn.LSTM``, ``nn.GRU``, ``nn.RNN`` (tanh or relu), ``nn.Linear``,
    ``nn.Embedding``, ``nn.ReLU``, ``nn.Tanh``, ``nn.Sigmoid``, ``nn.Softsign``, ``nn.ELU``,
    ``nn.SELU``, ``nn.GELU``, ``nn.Softmax(dim=-1)``, ``nn.Dropout``, ``nn.Identity``,
    ``nn.Flatten`` and ``nn.Sequential`` of these (children keep their names; an Identity is
    left out). Arrays keep the module's dtype (float32 or float64).

    Recurrent modules: netgraph is batch-first whatever ``batch_first`` says; the two biases
    are summed; ``bias=False`` gives zero biases with learning-rate multiplier 0, so NetTrain
    keeps them at zero; ``num_layers`` > 1 gives a NetChain of layers "l0", "l1", … with
    DropoutLayers "dropout_l0", … between them when ``dropout`` > 0. A GRU whose b_hn
    (``bias_hh_l*[2n:3n]``, inside the reset product) is nonzero becomes a GatedRecurrentLayer
    with ``reset_gate_mode="recurrent-bias-after-multiplication"`` holding it as
    "MemoryGateStateBiases" (exact); bidirectional modules
    and ``proj_size`` are refused. Inside an ``nn.Sequential`` a recurrent module stands for
    its output sequence, what ``out, _ = lstm(x)`` gives (PyTorch itself would pass the tuple
    on); the final states are its "State" (and "CellState") ports.

    ``input``: the net's input port shape; by default a sequence ``("Varying", k)`` of
    vectors when the module holds a recurrent module, else the vector ``k`` of the first
    ``nn.Linear``, a sequence of indices before an ``nn.Embedding`` and a recurrent module.

    With torch installed::

        lstm = torch.nn.LSTM(3, 8, num_layers=2, batch_first=True)
        net = from_pytorch(lstm)             # NetChain of "l0", "l1"
        y = net(x)                           # x: (B, T, 3) or a list of (T_b, 3)
    """
    torch = sys.modules.get("torch")  # a torch module comes with torch already imported
    if torch is None or not isinstance(module, torch.nn.Module):
        raise TypeError(f"from_pytorch: takes a torch.nn.Module; received {type(module).__name__}.")
    net = _module(module, torch.nn, "")
    if net is None:
        raise ValueError(
            "from_pytorch: the module computes the identity (nn.Identity alone or in a "
            "Sequential of nothing else); netgraph has no layer to hold it."
        )
    spec = _default_input(module, torch.nn) if input is None else input
    return net if spec is None else NetReplacePart(net, {"Input": spec})


def _where(prefix: str) -> str:
    return f'layer "{prefix[:-1]}"' if prefix else "the net"


def _torch_gates(layer, where: str) -> tuple:
    """The PyTorch gate order of a recurrent layer that a torch module computes exactly."""
    opts = layer.options
    if isinstance(layer, LongShortTermMemoryLayer):
        if (opts["gate_activation"], opts["state_activation"]) != ("LogisticSigmoid", "Tanh"):
            raise ValueError(
                f"to_pytorch_state_dict: {where} has gate_activation "
                f'"{opts["gate_activation"]}" and state_activation "{opts["state_activation"]}"'
                '; nn.LSTM computes only "LogisticSigmoid" and "Tanh".'
            )
        return TORCH_LSTM
    if isinstance(layer, GatedRecurrentLayer):
        return TORCH_GRU
    if opts["activation"] not in ("Tanh", "Ramp", "ReLU"):
        raise ValueError(
            f'to_pytorch_state_dict: {where} has activation "{opts["activation"]}"; nn.RNN '
            'computes only "Tanh" (nonlinearity="tanh") and "Ramp" (nonlinearity="relu").'
        )
    return RNN_GATES


def _bias_free(layer, gates: tuple) -> bool:
    """Zero biases frozen at zero: what from_pytorch makes of bias=False."""
    lrm = layer.options["learning_rate_multipliers"]
    names = [_name(g, "Biases") for g in gates]
    return all(lrm.get(a) == 0 and not np.any(layer.arrays[a]) for a in names)


def _check_initialized(layer, where: str) -> None:
    missing = [a for a, v in layer.arrays.items() if v is None]
    if missing:
        raise ValueError(
            f"to_pytorch_state_dict: {where} has no value for {', '.join(missing)}; initialize "
            "the net with NetInitialize first."
        )


def _recurrent_state(layers: list, prefix: str) -> dict:
    """The state dict of one nn.LSTM/GRU/RNN whose layers l = 0, 1, … are ``layers``
    ((where, layer) pairs): biases in bias_ih_l*, bias_hh_l* zero, or none at all when
    every layer's biases are frozen at zero (bias=False)."""
    for where, layer in layers:
        _check_initialized(layer, where)
    gates = [_torch_gates(layer, where) for where, layer in layers]
    with_bias = not all(_bias_free(layer, g) for (_, layer), g in zip(layers, gates))
    out = {}
    for i, ((_, layer), g) in enumerate(zip(layers, gates)):
        W, R, b = _stack(layer.arrays, g)
        out[f"{prefix}weight_ih_l{i}"] = W
        out[f"{prefix}weight_hh_l{i}"] = R
        if with_bias:
            out[f"{prefix}bias_ih_l{i}"] = b
            gru = isinstance(layer, GatedRecurrentLayer)
            rec = _recurrent_bias(layer.arrays, g, b) if gru else np.zeros_like(b)
            out[f"{prefix}bias_hh_l{i}"] = rec
    return out


def _torch_signature(layer) -> tuple:
    """What the layers of one multi-layer torch module share: type, units, activations."""
    opts = layer.options
    act = {"ReLU": "Ramp"}.get(opts.get("activation"), opts.get("activation"))
    acts = (opts.get("gate_activation"), opts.get("state_activation"), act)
    return type(layer), layer.ports["Output"].dims[-1], acts


def _stacked(chain, prefix: str) -> list | None:
    """The layers of a NetChain that is one multi-layer nn.LSTM/GRU/RNN — recurrent layers
    of one type and size named "l0", "l1", …, with only DropoutLayers besides — as (where,
    layer) pairs; else None."""
    if not isinstance(chain, NetChain):
        return None
    named = [(k, v) for k, v in chain.layers.items() if not isinstance(v, DropoutLayer)]
    if not named or [k for k, _ in named] != [f"l{i}" for i in range(len(named))]:
        return None
    recurrent = tuple(c for c, _ in TORCH_RECURRENT.values())
    if any(type(v) not in recurrent for _, v in named):
        return None
    if len({_torch_signature(v) for _, v in named}) != 1:
        return None
    return [(_where(f"{prefix}{k}."), v) for k, v in named]


def _layer_state(layer, prefix: str) -> dict:
    where = _where(prefix)
    _check_initialized(layer, where)
    if isinstance(layer, (LongShortTermMemoryLayer, GatedRecurrentLayer, BasicRecurrentLayer)):
        return _recurrent_state([(where, layer)], prefix)
    if isinstance(layer, EmbeddingLayer):
        return {f"{prefix}weight": np.array(layer.arrays["Weights"])}
    if isinstance(layer, LinearLayer) and layer.arrays["Weights"].ndim == 2:
        out = {f"{prefix}weight": np.array(layer.arrays["Weights"])}
        if "Biases" in layer.arrays:
            out[f"{prefix}bias"] = np.array(layer.arrays["Biases"])
        return out
    if layer.arrays:
        raise ValueError(
            f"to_pytorch_state_dict: {where}, a {type(layer).__name__} with arrays of shapes "
            f"{ {a: v.shape for a, v in layer.arrays.items()} }, has no torch.nn counterpart "
            "(an nn.Linear takes a vector to a vector: LinearLayer(n) with an int n)."
        )
    return {}


def _state(net, prefix: str) -> dict:
    if not net.is_container:
        return _layer_state(net, prefix)
    stack = _stacked(net, prefix)
    if stack is not None:
        return _recurrent_state(stack, prefix)
    out = {}
    for name, layer in net.layers.items():
        out.update(_state(layer, f"{prefix}{name}."))
    return out


def to_pytorch_state_dict(net) -> dict:
    """The arrays of a net as the ``state_dict`` of the equivalent PyTorch module, as numpy
    arrays (load them with ``{k: torch.from_numpy(v) for k, v in d.items()}``); torch is not
    imported.

    Keys: a LongShortTermMemoryLayer, GatedRecurrentLayer or BasicRecurrentLayer is one
    ``nn.LSTM``/``nn.GRU``/``nn.RNN`` layer (``batch_first=True``): "weight_ih_l0",
    "weight_hh_l0" and "bias_ih_l0" in PyTorch's gate order, with "bias_hh_l0" zero but a
    GRU's b_hn block, its "MemoryGateStateBiases" (no bias
    keys when every bias is frozen at zero, as from_pytorch imports ``bias=False``); a
    NetChain of recurrent layers of one type and size named "l0", "l1", … (and
    DropoutLayers) is one module with ``num_layers`` layers, keys "…_l0", "…_l1", …; a
    LinearLayer(n) is an ``nn.Linear``, "weight" and "bias"; an EmbeddingLayer an
    ``nn.Embedding``, "weight"; any other container is an ``nn.Sequential`` whose children
    are named as its layers: keys "name.weight", nested "outer.inner.weight". Layers without
    arrays give no keys. Refused: uninitialized arrays, activations PyTorch's recurrent
    modules lack (HardSigmoid and SoftSign LSTMs, RNNs other than Tanh and Ramp), and arrays
    without a counterpart. A net from ``from_pytorch`` gives back keys of the original module.

    >>> from netgraph import LongShortTermMemoryLayer, NetInitialize, to_pytorch_state_dict
    >>> lstm = NetInitialize(LongShortTermMemoryLayer(2, input=("Varying", 3)), random_seed=0)
    >>> {k: v.shape for k, v in to_pytorch_state_dict(lstm).items()}
    {'weight_ih_l0': (8, 3), 'weight_hh_l0': (8, 2), 'bias_ih_l0': (8,), 'bias_hh_l0': (8,)}
    """
    if not isinstance(net, Net):
        raise TypeError(
            f"to_pytorch_state_dict: takes a netgraph net; received {type(net).__name__}."
        )
    return _state(net, "")


__all__ = [
    "from_pytorch",
    "to_pytorch_state_dict",
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
