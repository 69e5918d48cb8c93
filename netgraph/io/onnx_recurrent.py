"""Recurrent layers as ONNX's LSTM, GRU and RNN ops, both ways.

ONNX keeps a recurrent layer's arrays fused: W ``(1, G·n, k)``, R ``(1, G·n, n)`` and
B ``(1, 2·G·n)`` = [Wb, Rb], gates in ONNX's order, which is netgraph's fused order
(``op_class.names``): LSTM i, o, f, c = Input, Output, Forget, Memory; GRU z, r, h = Input,
Reset, Memory (ONNX's update gate z is Wolfram's input gate: s' = (1 − z)·h + z·s).

Netgraph writes Rb = 0, so Wb holds the biases; on import the biases are Wb + Rb, which is
exact wherever Rb only adds to Wb. That holds for every block but the GRU's candidate h, whose
form follows ``linear_before_reset`` and the layer's ``reset_gate_mode``:

- ``linear_before_reset=1``: h = g(Wh·x + r ⊙ (Rh·s + Rbh) + Wbh). This is Wolfram's
  m = σs(Wmx·x + r ⊙ (Wms·s) + bm) ("after-multiplication") when Rbh = 0, and a
  GatedRecurrentLayer with ``reset_gate_mode="recurrent-bias-after-multiplication"`` (Rbh its
  "MemoryGateStateBiases") otherwise: netgraph writes such a layer with that Rbh, and reads a
  nonzero Rbh (PyTorch's nn.GRU: b_hn) into that mode.
- ``linear_before_reset=0`` (the default): h = g(Wh·x + Rh·(r ⊙ s) + Rbh + Wbh), the mode
  "before-multiplication" (Keras's reset_after=False) with bm = Wbh + Rbh: netgraph writes that
  mode so (Rbh = 0) and reads every such GRU into it.

The activations f (the gates) and g (the candidate) are the layer's ``gate_activation`` and
``state_activation``; HardSigmoid is MATLAB's and ONNX's default, alpha 0.2 and beta 0.5.
"""

from __future__ import annotations

import numpy as np

from ..layers.recurrent import (
    STATE_BIAS,
    BasicRecurrentLayer,
    GatedRecurrentLayer,
    LongShortTermMemoryLayer,
)
from .onnx_graph import Site

OPS = {LongShortTermMemoryLayer: "LSTM", GatedRecurrentLayer: "GRU", BasicRecurrentLayer: "RNN"}
LAYERS = {v: k for k, v in OPS.items()}

# netgraph's activation → (ONNX activation, alpha, beta); None: the ONNX default has none
GATE = {"LogisticSigmoid": ("Sigmoid", None, None), "HardSigmoid": ("HardSigmoid", 0.2, 0.5)}
STATE = {"Tanh": ("Tanh", None, None), "SoftSign": ("Softsign", None, None)}
BASIC = {
    "Tanh": ("Tanh", None, None),
    "Ramp": ("Relu", None, None),
    "ReLU": ("Relu", None, None),
    "LogisticSigmoid": ("Sigmoid", None, None),
    "SoftSign": ("Softsign", None, None),
    "Identity": ("Affine", 1.0, 0.0),
}


def pack(layer, dtype) -> tuple:
    """The layer's arrays as ONNX's W, R and B (with Rb = 0 but a GRU's state bias, Rbh)."""
    names = layer.op_class.names
    a = {k: np.asarray(v, dtype) for k, v in layer.arrays.items()}
    W = np.concatenate([a[wx] for wx, _, _ in names])[None]
    R = np.concatenate([a[ws] for _, ws, _ in names])[None]
    b = np.concatenate([a[bias] for _, _, bias in names])
    rb = np.zeros_like(b)
    if STATE_BIAS in a:
        n = R.shape[-1]
        rb[2 * n :] = a[STATE_BIAS]
    return W, R, np.concatenate([b, rb])[None]


def unpack(cls, W: np.ndarray, R: np.ndarray, B: np.ndarray | None, state_bias=False) -> dict:
    """ONNX's W, R, B (one direction) as the arrays of a layer of class ``cls``; the biases
    are Wb + Rb, but with ``state_bias`` the GRU's Rbh is kept apart as its
    "MemoryGateStateBiases" (see ``gru_mode``)."""
    names = cls.op_class.names
    n = R.shape[-1]
    G = len(names)
    b = np.zeros(2 * G * n, W.dtype) if B is None else B.reshape(-1)
    rb = np.array(b[G * n :])
    out = {}
    if state_bias:
        out[STATE_BIAS] = rb[2 * n :].copy()
        rb[2 * n :] = 0
    biases = b[: G * n] + rb
    for g, (wx, ws, bias) in enumerate(names):
        rows = slice(g * n, (g + 1) * n)
        out[wx], out[ws], out[bias] = W[0, rows], R[0, rows], biases[rows]
    return out


def activation_attributes(choices: list) -> dict:
    """The activations, activation_alpha and activation_beta attributes of ``choices``."""
    attrs = {"activations": [name for name, _, _ in choices]}
    alphas = [a for _, a, _ in choices if a is not None]
    betas = [b for _, _, b in choices if b is not None]
    if alphas:
        attrs["activation_alpha"] = alphas
    if betas:
        attrs["activation_beta"] = betas
    return attrs


def attributes(layer) -> dict:
    """The op's attributes beyond hidden_size, for the layer's options."""
    o = layer.options
    if isinstance(layer, LongShortTermMemoryLayer):
        g, s = GATE[o["gate_activation"]], STATE[o["state_activation"]]
        if (o["gate_activation"], o["state_activation"]) == ("LogisticSigmoid", "Tanh"):
            return {}
        return activation_attributes([g, s, s])
    if isinstance(layer, GatedRecurrentLayer):
        before = o["reset_gate_mode"] == "before-multiplication"
        attrs = {"linear_before_reset": 0 if before else 1}
        if (o["gate_activation"], o["state_activation"]) != ("LogisticSigmoid", "Tanh"):
            attrs.update(
                activation_attributes([GATE[o["gate_activation"]], STATE[o["state_activation"]]])
            )
        return attrs
    return activation_attributes([BASIC[o["activation"]]])


def emit_recurrent(s: Site) -> list:
    """Time-major in and out (layout 0, which onnxruntime requires), with sequence_lens for a
    "Varying" input; initial states when connected; final states squeezed to (B, n)."""
    W, R, B = pack(s.layer, s.b.dtype)
    x = s.op1("Transpose", [s.xs[0]], perm=[1, 0, 2])
    var = s.var("Input")
    lens = "" if var is None else s.b.lens32(var)
    states = ["" if h is None else s.op1("Unsqueeze", [h, s.b.ints([0])]) for h in s.xs[1:]]
    ins = [x, s.weight("W", W), s.weight("R", R), s.weight("B", B), lens, *states]
    outs = s.b.op(
        OPS[type(s.layer)],
        ins,
        s.hint,
        outputs=1 + len(states),
        hidden_size=R.shape[-1],
        **attributes(s.layer),
    )
    y = s.op1("Transpose", [s.op1("Squeeze", [outs[0], s.b.ints([1])])], perm=[1, 0, 2])
    return [y] + [s.op1("Squeeze", [h, s.b.ints([0])]) for h in outs[1:]]


# -- import: an ONNX recurrent node as a layer, exactly or not at all -----------------------------

# ONNX's activations and their alpha and beta (None: the function takes none), by default
ONNX_DEFAULTS = {
    "HardSigmoid": (0.2, 0.5),
    "Affine": (1.0, 0.0),
    "ScaledTanh": (1.0, 1.0),
    "LeakyRelu": (0.01, None),
    "ThresholdedRelu": (1.0, None),
    "Elu": (1.0, None),
}
DEFAULT_ACTIVATIONS = {
    "LSTM": ["Sigmoid", "Tanh", "Tanh"],
    "GRU": ["Sigmoid", "Tanh"],
    "RNN": ["Tanh"],
}


def onnx_activations(op: str, attrs: dict) -> list:
    """(name, alpha, beta) of each activation, the alphas and betas consumed in order by the
    functions that take them."""
    names = [
        a.decode() if isinstance(a, bytes) else a
        for a in attrs.get("activations", DEFAULT_ACTIVATIONS[op])
    ]
    alphas = list(attrs.get("activation_alpha", []))
    betas = list(attrs.get("activation_beta", []))
    out = []
    for name in names:
        alpha, beta = ONNX_DEFAULTS.get(name, (None, None))
        if alpha is not None and alphas:
            alpha = alphas.pop(0)
        if beta is not None and betas:
            beta = betas.pop(0)
        out.append((name, alpha, beta))
    return out


def _same(a, b) -> bool:
    """Activation parameters equal in float32 (ONNX keeps them as floats)."""
    return (a is None) == (b is None) and (a is None or np.float32(a) == np.float32(b))


def _netgraph(table: dict, act: tuple, refuse) -> str:
    name, alpha, beta = act
    for ours, (onnx_name, a, b) in table.items():
        if onnx_name == name and _same(a, alpha) and _same(b, beta):
            return ours
    shown = name if alpha is None else f"{name}(alpha={alpha:g}, beta={beta})"
    valid = ", ".join(sorted({v[0] for v in table.values()}))
    refuse(f"the activation {shown} has no netgraph counterpart here (valid: {valid})")


def _options(op: str, attrs: dict, refuse) -> dict:
    acts = onnx_activations(op, attrs)
    if op == "RNN" and len(acts) == 1:
        return {"activation": _netgraph(BASIC, acts[0], refuse)}
    if op == "LSTM" and len(acts) == 3:
        gate, g, h = (_netgraph(t, a, refuse) for t, a in zip((GATE, STATE, STATE), acts))
        if g != h:
            refuse("the activations g and h differ; netgraph's LSTM uses one state activation")
        return {"gate_activation": gate, "state_activation": g}
    if op == "GRU" and len(acts) == 2:
        gate, state = _netgraph(GATE, acts[0], refuse), _netgraph(STATE, acts[1], refuse)
        return {"gate_activation": gate, "state_activation": state}
    refuse(f"the activations {[a[0] for a in acts]} are not those of netgraph's {op}")


def _check_attributes(op: str, attrs: dict, refuse) -> None:
    direction = attrs.get("direction", b"forward")
    direction = direction.decode() if isinstance(direction, bytes) else direction
    if direction != "forward":  # (a bidirectional node is read as its two directions)
        refuse(f"direction={direction}: netgraph's recurrent layers run forward")
    for name, why in (
        ("clip", "clips the cell input"),
        ("layout", "is batch-major"),
        ("input_forget", "couples the input and forget gates"),
    ):
        if attrs.get(name):
            refuse(f"the attribute {name}={attrs[name]} {why}, which netgraph's {op} does not")


def gru_mode(B: np.ndarray | None, lbr: int) -> str:
    """The reset_gate_mode of an ONNX GRU (see the module's note): before the product for
    linear_before_reset=0, after it for 1, with the state bias when Rbh is not zero."""
    if not lbr:
        return "before-multiplication"
    n = 0 if B is None else B.shape[-1] // 6
    if B is not None and np.any(B.reshape(-1)[5 * n :] != 0):
        return "recurrent-bias-after-multiplication"
    return "after-multiplication"


def layer_from_node(op: str, attrs: dict, weights: tuple, refuse):
    """The netgraph layer of an ONNX LSTM, GRU or RNN node with constant W, R and B
    (``weights``); ``refuse(what)`` raises, naming the node."""
    W, R, B = weights
    _check_attributes(op, attrs, refuse)
    cls = LAYERS[op]
    G = len(cls.op_class.names)
    n = R.shape[-1]
    if W.ndim != 3 or R.shape != (1, G * n, n) or W.shape[:2] != (1, G * n):
        refuse(f"W {W.shape} and R {R.shape} are not the arrays of one {op} direction")
    if attrs.get("hidden_size", n) != n or (B is not None and B.shape != (1, 2 * G * n)):
        refuse(
            f"hidden_size {attrs.get('hidden_size')} or B {getattr(B, 'shape', None)} "
            f"does not fit R {R.shape}"
        )
    options = _options(op, attrs, refuse)
    if op == "GRU":
        options["reset_gate_mode"] = gru_mode(B, attrs.get("linear_before_reset", 0))
    state_bias = options.get("reset_gate_mode") == "recurrent-bias-after-multiplication"
    return cls(n, arrays=unpack(cls, W, R, B, state_bias), **options)
