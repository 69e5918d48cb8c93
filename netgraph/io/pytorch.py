"""PyTorch modules in, state dicts out: ``from_pytorch`` builds the netgraph net of a module
(its weights exact), ``to_pytorch_state_dict`` gives a net's arrays keyed as the equivalent
module's ``state_dict``. Gate orders and the GRU's forms: layouts.py."""

from __future__ import annotations

import sys

import numpy as np

from ..containers import NetBidirectionalOperator, NetChain
from ..editing import NetReplacePart
from ..layers import (
    BasicRecurrentLayer,
    BatchNormalizationLayer,
    ConvolutionLayer,
    DropoutLayer,
    ElementwiseLayer,
    EmbeddingLayer,
    FlattenLayer,
    GatedRecurrentLayer,
    LinearLayer,
    LongShortTermMemoryLayer,
    NormalizationLayer,
    PoolingLayer,
    SoftmaxLayer,
)
from ..layers.recurrent import STATE_BIAS
from ..net import Net
from .layouts import (
    RNN_GATES,
    TORCH_GRU,
    TORCH_LSTM,
    _gru_arrays,
    _name,
    _recurrent_bias,
    _stack,
    _unstack,
)

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
SHAPE_KEEPING = (*TORCH_FUNCTIONS, "Softmax", "Dropout", "Identity", "BatchNorm1d", "BatchNorm2d")


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


def _recurrent_layer(m, i: int, where: str, sfx: str = ""):
    """Layer ``i`` of an nn.LSTM, nn.GRU or nn.RNN as a netgraph layer (``sfx`` "_reverse":
    its backward direction)."""
    kind = type(m).__name__
    cls, gates = TORCH_RECURRENT[kind]
    W, R = _tensor(m, f"weight_ih_l{i}{sfx}", where), _tensor(m, f"weight_hh_l{i}{sfx}", where)
    lrm = None
    if not m.bias:  # PyTorch's bias=False: zero biases that NetTrain keeps at zero
        b = np.zeros(W.shape[0], W.dtype)
        lrm = {_name(g, "Biases"): 0.0 for g in gates}
    elif kind == "GRU":
        b_ih, b_hh = (_tensor(m, f"bias_{x}_l{i}{sfx}", where) for x in ("ih", "hh"))
        arrays = _gru_arrays(W, R, b_ih, b_hh, gates)
        mode = "recurrent-bias-after-multiplication" if STATE_BIAS in arrays else None
        options = {"reset_gate_mode": mode} if mode else {}
        return cls(R.shape[1], arrays=arrays, learning_rate_multipliers=lrm, **options)
    else:
        b = _tensor(m, f"bias_ih_l{i}{sfx}", where) + _tensor(m, f"bias_hh_l{i}{sfx}", where)
    arrays = _unstack(W, R, b, gates, cls)
    options = (
        {"activation": "Ramp" if m.nonlinearity == "relu" else "Tanh"} if kind == "RNN" else {}
    )
    return cls(R.shape[1], arrays=arrays, learning_rate_multipliers=lrm, **options)


def _recurrent(m, nn, where: str):
    """nn.LSTM, nn.GRU, nn.RNN: one layer, or a NetChain of layers "l0", "l1", … with a
    DropoutLayer "dropout_l0", … after each but the last when the module has dropout; a
    bidirectional module's layers are NetBidirectionalOperators (Catenate, as PyTorch
    joins the directions)."""
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
        layers[f"l{i}"] = (
            NetBidirectionalOperator(
                [_recurrent_layer(m, i, where), _recurrent_layer(m, i, where, "_reverse")]
            )
            if m.bidirectional
            else _recurrent_layer(m, i, where)
        )
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


def _layer_norm(m, nn, where: str):
    """nn.LayerNorm over the last dimension: NormalizationLayer (Scaling = weight, Biases =
    bias; ones and zeros without elementwise_affine or bias, which NetTrain then trains)."""
    if len(m.normalized_shape) != 1:
        raise ValueError(
            f"from_pytorch: {_at(where)} is an nn.LayerNorm over the last "
            f"{len(m.normalized_shape)} dimensions {tuple(m.normalized_shape)}; netgraph's "
            "NormalizationLayer normalizes over the last dimension, so only "
            "nn.LayerNorm(k) converts."
        )
    k = m.normalized_shape[0]
    weight = None if m.weight is None else _tensor(m, "weight", where)
    dtype = np.float32 if weight is None else weight.dtype
    bias = None if getattr(m, "bias", None) is None else _tensor(m, "bias", where)
    arrays = {
        "Scaling": np.ones(k, dtype) if weight is None else weight,
        "Biases": np.zeros(k, dtype) if bias is None else bias,
    }
    return NormalizationLayer(epsilon=float(m.eps), arrays=arrays)


def _batch_norm(m, nn, where: str):
    """nn.BatchNorm1d and nn.BatchNorm2d: BatchNormalizationLayer, channels first (an example
    c, (c, L) or (c, h, w)), momentum 1 − m.momentum; Scaling = weight, Biases = bias (ones
    and zeros without affine), MovingMean = running_mean, MovingVariance = running_var."""
    if m.momentum is None or not m.track_running_stats or m.running_mean is None:
        raise ValueError(
            f"from_pytorch: {_at(where)} is an nn.{type(m).__name__} without running statistics "
            "or with momentum=None (a cumulative average); BatchNormalizationLayer keeps moving "
            "averages, so give it track_running_stats=True and a momentum in [0, 1]."
        )
    mean = _tensor(m, "running_mean", where)
    c = len(mean)
    affine = m.affine and m.weight is not None
    arrays = {
        "Scaling": _tensor(m, "weight", where) if affine else np.ones(c, mean.dtype),
        "Biases": _tensor(m, "bias", where) if affine else np.zeros(c, mean.dtype),
        "MovingMean": mean,
        "MovingVariance": _tensor(m, "running_var", where),
    }
    momentum = 1.0 - float(m.momentum)
    return BatchNormalizationLayer(epsilon=float(m.eps), momentum=momentum, arrays=arrays)


def _refuse(where: str, what: str, why: str):
    raise ValueError(f"from_pytorch: {_at(where)} is an {what}; {why}")


def _conv(m, nn, where: str):
    """nn.Conv1d, nn.Conv2d: ConvolutionLayer, channel-first, weights as they lie."""
    kind = type(m).__name__
    if m.padding_mode != "zeros":
        _refuse(
            where, f"nn.{kind} with padding_mode={m.padding_mode!r}", "netgraph pads with zeros."
        )
    W = _tensor(m, "weight", where)
    pads = {"same": "Same", "valid": 0}.get(m.padding, m.padding)
    return ConvolutionLayer(
        W.shape[0],
        tuple(m.kernel_size),
        stride=tuple(m.stride),
        padding_size=pads if isinstance(pads, (int, str)) else tuple(pads),
        dilation=tuple(m.dilation),
        channel_groups=m.groups,
        weights=W,
        biases=None if m.bias is None else _tensor(m, "bias", where),
    )


def _pool(m, nn, where: str):
    """nn.MaxPool1d/2d and nn.AvgPool1d/2d: PoolingLayer "Max" and "Mean" (PyTorch's stride
    defaults to the kernel size, Wolfram's to 1: it is given explicitly)."""
    kind, nd = type(m).__name__, int(type(m).__name__[-2])

    def per_dim(v):
        return tuple(v) if isinstance(v, (tuple, list)) else (v,) * nd

    if m.ceil_mode:
        _refuse(where, f"nn.{kind} with ceil_mode=True", "netgraph's output sizes round down.")
    pad = per_dim(m.padding)
    if kind.startswith("Max") and (per_dim(m.dilation) != (1,) * nd or m.return_indices):
        _refuse(where, f"nn.{kind} with dilation or return_indices", "PoolingLayer has neither.")
    if kind.startswith("Avg") and (
        getattr(m, "divisor_override", None) is not None or (not m.count_include_pad and any(pad))
    ):
        _refuse(
            where,
            f"nn.{kind} with divisor_override or count_include_pad=False",
            'PoolingLayer\'s "Mean" divides by the whole window, padding counted '
            "(count_include_pad=True).",
        )
    return PoolingLayer(
        per_dim(m.kernel_size),
        per_dim(m.stride or m.kernel_size),
        function="Max" if kind.startswith("Max") else "Mean",
        padding_size=pad,
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
    "LayerNorm": _layer_norm,
    "BatchNorm1d": _batch_norm,
    "BatchNorm2d": _batch_norm,
    **dict.fromkeys(("Conv1d", "Conv2d"), _conv),
    **dict.fromkeys(("MaxPool1d", "MaxPool2d", "AvgPool1d", "AvgPool2d"), _pool),
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
    ``nn.Flatten``, ``nn.LayerNorm(k)`` (a NormalizationLayer), ``nn.BatchNorm1d`` and
    ``nn.BatchNorm2d`` (a BatchNormalizationLayer, channels first, momentum 1 − torch's),
    ``nn.Conv1d`` and ``nn.Conv2d`` (ConvolutionLayers, channel-first, zero padding),
    ``nn.MaxPool1d/2d`` and ``nn.AvgPool1d/2d`` (PoolingLayers "Max" and "Mean", the stride
    given explicitly, since Wolfram's defaults to 1 and PyTorch's to the kernel size) and
    ``nn.Sequential`` of these (children keep their names; an Identity is left out). Arrays
    keep the module's dtype (float32 or float64). A convolution's input sizes are left to the
    data (or ``input``).

    Recurrent modules: netgraph is batch-first whatever ``batch_first`` says; the two biases
    are summed; ``bias=False`` gives zero biases with learning-rate multiplier 0, so NetTrain
    keeps them at zero; ``num_layers`` > 1 gives a NetChain of layers "l0", "l1", … with
    DropoutLayers "dropout_l0", … between them when ``dropout`` > 0. A GRU whose b_hn
    (``bias_hh_l*[2n:3n]``, inside the reset product) is nonzero becomes a GatedRecurrentLayer
    with ``reset_gate_mode="recurrent-bias-after-multiplication"`` holding it as
    "MemoryGateStateBiases" (exact); a bidirectional module's layers are
    NetBidirectionalOperators of the two directions ("_reverse" weights in "BackwardNet",
    "Catenate" as PyTorch joins them); ``proj_size`` is refused. Inside an ``nn.Sequential`` a recurrent module stands for
    its output sequence, what ``out, _ = lstm(x)`` gives (PyTorch itself would pass the tuple
    on); the final states are its "State" (and "CellState") ports.

    ``input``: the net's input port shape; by default a sequence ``("Varying", k)`` of
    vectors when the module holds a recurrent module, else the vector ``k`` of the first
    ``nn.Linear``, a sequence of indices before an ``nn.Embedding`` and a recurrent module.

    With torch installed (the ``[bench]`` extra):

    >>> import numpy as np, torch
    >>> from netgraph import from_pytorch
    >>> lstm = torch.nn.LSTM(3, 8, num_layers=2, batch_first=True)
    >>> net = from_pytorch(lstm)                 # a NetChain of layers "l0" and "l1"
    >>> x = np.random.default_rng(0).normal(size=(2, 5, 3)).astype(np.float32)
    >>> expected, _ = lstm(torch.from_numpy(x))
    >>> np.allclose(net(x), expected.detach().numpy(), atol=1e-6)
    True
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
    if isinstance(layer, (LongShortTermMemoryLayer, GatedRecurrentLayer)):
        module = "nn.LSTM" if isinstance(layer, LongShortTermMemoryLayer) else "nn.GRU"
        if (opts["gate_activation"], opts["state_activation"]) != ("LogisticSigmoid", "Tanh"):
            raise ValueError(
                f"to_pytorch_state_dict: {where} has gate_activation "
                f'"{opts["gate_activation"]}" and state_activation "{opts["state_activation"]}"'
                f'; {module} computes only "LogisticSigmoid" and "Tanh".'
            )
        if opts.get("reset_gate_mode") == "before-multiplication":
            raise ValueError(
                f'to_pytorch_state_dict: {where} has reset_gate_mode "before-multiplication" '
                "(the reset gate scales the state before the product); nn.GRU applies it after "
                'the product: "after-multiplication" or "recurrent-bias-after-multiplication".'
            )
        return TORCH_LSTM if module == "nn.LSTM" else TORCH_GRU
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
    ((where, layer) pairs; a NetBidirectionalOperator's backward net gives the "_reverse"
    keys): biases in bias_ih_l*, bias_hh_l* zero, or none at all when every layer's biases
    are frozen at zero (bias=False)."""
    keyed = []  # (key suffix, where, layer)
    for i, (where, v) in enumerate(layers):
        if isinstance(v, NetBidirectionalOperator):
            f, b = _bidirectional(v, where)
            keyed += [(f"l{i}", where, f), (f"l{i}_reverse", where, b)]
        else:
            keyed.append((f"l{i}", where, v))
    for _, where, layer in keyed:
        _check_initialized(layer, where)
    gates = [_torch_gates(layer, where) for _, where, layer in keyed]
    with_bias = not all(_bias_free(layer, g) for (_, _, layer), g in zip(keyed, gates))
    out = {}
    for (key, _, layer), g in zip(keyed, gates):
        W, R, b = _stack(layer.arrays, g)
        out[f"{prefix}weight_ih_{key}"] = W
        out[f"{prefix}weight_hh_{key}"] = R
        if with_bias:
            out[f"{prefix}bias_ih_{key}"] = b
            gru = isinstance(layer, GatedRecurrentLayer)
            rec = _recurrent_bias(layer.arrays, g, b) if gru else np.zeros_like(b)
            out[f"{prefix}bias_hh_{key}"] = rec
    return out


def _bidirectional(op, where: str) -> tuple:
    """The forward and backward layers of a NetBidirectionalOperator that one bidirectional
    torch module computes; any other is refused."""
    f, b = op.layers["ForwardNet"], op.layers["BackwardNet"]
    recurrent = tuple(c for c, _ in TORCH_RECURRENT.values())
    if (
        op.options["aggregation"] != "Catenate"
        or type(f) not in recurrent
        or _torch_signature(f) != _torch_signature(b)
    ):
        raise ValueError(
            f"to_pytorch_state_dict: {where} is a NetBidirectionalOperator that no bidirectional "
            "nn.LSTM/GRU/RNN computes: it needs two recurrent layers of one type, size and "
            'activations, joined by "Catenate".'
        )
    return f, b


def _torch_signature(layer) -> tuple:
    """What the layers of one multi-layer torch module share: type, units, activations
    (and direction)."""
    if isinstance(layer, NetBidirectionalOperator):
        return ("bidirectional", _torch_signature(layer.layers["ForwardNet"]))
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
    recurrent = tuple(c for c, _ in TORCH_RECURRENT.values()) + (NetBidirectionalOperator,)
    if any(type(v) not in recurrent for _, v in named):
        return None
    if len({_torch_signature(v) for _, v in named}) != 1:
        return None
    return [(_where(f"{prefix}{k}."), v) for k, v in named]


def _named_state(layer) -> dict | None:
    """The state dict of a layer whose torch module names its arrays weight, bias, … (None:
    not such a layer)."""
    a = layer.arrays
    if isinstance(layer, EmbeddingLayer):
        return {"weight": a["Weights"]}
    if isinstance(layer, BatchNormalizationLayer):  # an nn.BatchNorm1d/2d, momentum 1 − ours
        return {
            "weight": a["Scaling"],
            "bias": a["Biases"],
            "running_mean": a["MovingMean"],
            "running_var": a["MovingVariance"],
            "num_batches_tracked": np.array(0, np.int64),
        }
    if isinstance(layer, NormalizationLayer):  # an nn.LayerNorm(k, eps=epsilon)
        return {"weight": a["Scaling"], "bias": a["Biases"]}
    linear = isinstance(layer, LinearLayer) and a["Weights"].ndim == 2
    if linear or isinstance(layer, ConvolutionLayer):  # nn.Linear, nn.Conv1d/2d as they lie
        return {"weight": a["Weights"], **({"bias": a["Biases"]} if "Biases" in a else {})}
    return None


def _layer_state(layer, prefix: str) -> dict:
    where = _where(prefix)
    _check_initialized(layer, where)
    if isinstance(layer, (LongShortTermMemoryLayer, GatedRecurrentLayer, BasicRecurrentLayer)):
        return _recurrent_state([(where, layer)], prefix)
    named = _named_state(layer)
    if named is not None:
        return {f"{prefix}{k}": np.array(v) for k, v in named.items()}
    if layer.arrays:
        raise ValueError(
            f"to_pytorch_state_dict: {where}, a {type(layer).__name__} with arrays of shapes "
            f"{ {a: v.shape for a, v in layer.arrays.items()} }, has no torch.nn counterpart "
            "(an nn.Linear takes a vector to a vector: LinearLayer(n) with an int n)."
        )
    return {}


def _state(net, prefix: str) -> dict:
    if isinstance(net, NetBidirectionalOperator):
        return _recurrent_state([(_where(prefix), net)], prefix)
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
    NetBidirectionalOperator of two such layers ("Catenate") is a bidirectional module, its
    "BackwardNet" the keys "…_l0_reverse"; a
    LinearLayer(n) is an ``nn.Linear``, "weight" and "bias"; an EmbeddingLayer an
    ``nn.Embedding``, "weight"; a NormalizationLayer an ``nn.LayerNorm``, "weight" and
    "bias"; a BatchNormalizationLayer an ``nn.BatchNorm1d``/``2d`` (momentum 1 − ours),
    "weight", "bias", "running_mean", "running_var" and "num_batches_tracked" (0: netgraph
    does not count batches; torch reads it only with momentum=None); a ConvolutionLayer an
    ``nn.Conv1d``/``nn.Conv2d``, "weight" ``(n, c/g, *K)`` and "bias"; any other container is
    an ``nn.Sequential`` whose children are named as its layers: keys "name.weight", nested
    "outer.inner.weight". Layers without arrays give no keys. Refused: uninitialized arrays, activations PyTorch's recurrent
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


__all__ = ["from_pytorch", "to_pytorch_state_dict"]
