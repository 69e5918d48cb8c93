"""Normalization layers: NormalizationLayer (layer normalization over the last dimension),
BatchNormalizationLayer (per channel, over the batch, with moving statistics) and
InputNormalizationLayer (MATLAB's input normalization, its statistics fitted by NetTrain)."""

from __future__ import annotations

import math

import numpy as np

from ..kernels.normalization import BatchNormalizationOp, InputNormalizationOp, NormalizationOp
from ..text import closest
from ..types import REAL, TensorType, TypeConflict, Var, describe
from .base import Layer, meet, same

ARRAYS = ("Scaling", "Biases")


def _epsilon(epsilon, owner: str = "NormalizationLayer") -> float:
    if (
        isinstance(epsilon, bool)
        or not isinstance(epsilon, (int, float))
        or not math.isfinite(epsilon)
        or epsilon <= 0
    ):
        raise ValueError(
            f"{owner}: epsilon must be a positive finite number; received {epsilon!r}."
        )
    return float(epsilon)


class NormalizationLayer(Layer):
    """Normalizes each vector of the input's last dimension to mean 0 and variance 1, then
    scales and shifts each component: ``y = (x − μ)/√(σ² + ε)·Scaling + Biases``, with μ
    and σ² the mean and the (biased) variance over the last dimension.

    Ports: "Input" and "Output" of equal shape, rank ≥ 1 with a fixed last dimension k: a
    vector is normalized as a whole; a sequence ``("Varying", k)`` step by step, each step's
    vector on its own (padding affects nothing). Arrays: "Scaling" and "Biases", both
    ``(k,)``, initialized to 1 and 0.

    Options: ``epsilon`` (default 0.001, Wolfram's "Epsilon"; PyTorch's ``nn.LayerNorm``
    uses 1e-5), ``input``, ``output``, ``arrays``. This is Wolfram's layer normalization over
    the last level with a scaling and bias on that level; other aggregation levels are not
    implemented.

    >>> from netgraph import NetInitialize, NormalizationLayer
    >>> NetInitialize(NormalizationLayer(input=2))([1.0, 3.0])
    array([-0.9995004,  0.9995004], dtype=float32)
    """

    def __init__(self, *, epsilon=0.001, input=None, output=None, arrays=None, **unknown):
        self.check_unknown(unknown)
        self._init(
            {"epsilon": _epsilon(epsilon)}, {"Input": input, "Output": output}, arrays, ARRAYS
        )

    def infer(self, t, u):
        k = _vector_size(self)
        t, x = _reals(u, t, "NormalizationLayer")
        if x.dims is None:
            return t
        if not x.dims:
            raise TypeConflict(
                'port "Input" must be a vector or an array of higher rank; it is a scalar'
            )
        if isinstance(x.dims[-1], Var):
            raise TypeConflict(
                'port "Input" is a sequence of scalars ("Varying"); NormalizationLayer needs a '
                'fixed size in the last dimension, as in ("Varying", k)'
            )
        src = "" if k is None else f' (arrays "Scaling" and "Biases" have size {k})'
        return _sized(u, t, "NormalizationLayer", x.dims[:-1] + (k,), src)

    def array_shapes(self, t):
        k = _last_size(t["Input"].dims)
        return dict.fromkeys(ARRAYS, None if k is None else (k,))

    def init_array(self, name, shape, rng, method):
        return np.ones(shape) if name == "Scaling" else None

    def op(self, t):
        return NormalizationOp(self, t)


def _vector_size(layer) -> int | None:
    """k, as the given arrays of the layer (vectors of one size) fix it."""
    sizes = {n: a.shape for n, a in layer.arrays.items() if a is not None}
    for n, s in sizes.items():
        if len(s) != 1:
            raise TypeConflict(f'array "{n}" has shape {s}, but it must be a vector')
    if len(set(sizes.values())) > 1:
        shown = ", ".join(f'"{n}" {s}' for n, s in sizes.items())
        raise TypeConflict(f"the arrays have shapes {shown}; they must be equal")
    return next(iter(sizes.values()))[0] if sizes else None


def _reals(u, t: dict, owner: str) -> tuple[dict, TensorType]:
    """The rule every normalization starts with: reals on both ports, of one type. Returns
    the ports' types and the input's."""
    t = {p: meet(u, t[p], TensorType(None, REAL), f'port "{p}"') for p in t}
    t = same(u, t, "Input", "Output", owner)
    return t, t["Input"]


def _sized(u, t: dict, owner: str, want: tuple, src: str) -> dict:
    """The ports' types with the input's dims met with ``want`` (its size where the arrays
    fix it; ``src`` says so in a conflict)."""
    x = meet(u, t["Input"], TensorType(want, REAL), f'port "Input"{src}')
    return same(u, {**t, "Input": x}, "Input", "Output", owner)


def _last_size(dims) -> int | None:
    """The fixed size of the last dimension, or None (unknown, or a length)."""
    return None if not dims or isinstance(dims[-1], Var) else dims[-1]


def _nonnegative(layer, name: str, what: str) -> None:
    a = layer.arrays.get(name)
    if a is not None and np.any(a < 0):
        raise ValueError(
            f'{type(layer).__name__}: array "{name}" is {what} and must be ≥ 0; it has '
            f"{a[a < 0].ravel()[:3].tolist()} at the indices {np.flatnonzero(a < 0)[:3].tolist()}."
        )


BATCH_ARRAYS = ("Scaling", "Biases", "MovingMean", "MovingVariance")


def _momentum(m) -> float:
    if isinstance(m, bool) or not isinstance(m, (int, float)) or not 0 <= m <= 1:
        raise ValueError(
            f"BatchNormalizationLayer: momentum must be a number in [0, 1] (the weight of the "
            f"moving statistics at each update; 1 freezes them); received {m!r}."
        )
    return float(m)


class BatchNormalizationLayer(Layer):
    """Normalizes each channel with statistics over the batch, then scales and shifts it:
    ``y = (x − μ)/√(σ² + ε)·Scaling + Biases``. In training (NetTrain, or
    ``evaluation_mode="Train"``) μ and σ² are the mean and the biased variance of the channel
    over the batch; in evaluation they are the arrays "MovingMean" and "MovingVariance",
    which NetTrain updates after every training batch, ``moving ← momentum·moving +
    (1 − momentum)·batch`` (no gradient moves them; a plain call never changes them).

    Ports: "Input" and "Output" of equal shape. The channel axis: a vector ``k`` is its own
    channels (statistics over the batch); a sequence ``("Varying", k)`` has k channels in its
    last axis (statistics over the batch and the real steps, never the padding); an array
    ``(c, h, w)`` (any rank ≥ 2) has c channels in its first axis, or in its last with
    ``interleaving=True`` (statistics over the batch and the other axes). Arrays, all of the
    channels' size: "Scaling" (initialized 1), "Biases" (0), "MovingMean" (0),
    "MovingVariance" (1).

    Options: ``epsilon`` (0.001, Wolfram's "Epsilon"), ``momentum`` (0.9, Wolfram's
    "Momentum"; PyTorch's momentum is 1 − this), ``interleaving`` (False, Wolfram's
    Interleaving), ``input``, ``output``, ``arrays``. A learning-rate multiplier of 0 (or
    momentum 1) freezes the moving statistics, as in Wolfram.

    >>> import numpy as np
    >>> from netgraph import BatchNormalizationLayer, NetInitialize
    >>> bn = NetInitialize(BatchNormalizationLayer(input=2))
    >>> x = np.array([[1.0, 2.0], [3.0, 6.0]])
    >>> bn(x, evaluation_mode="Train")   # the batch's statistics
    array([[-0.9995004 , -0.99987507],
           [ 0.9995004 ,  0.99987507]], dtype=float32)
    >>> bn(x)   # MovingMean 0 and MovingVariance 1: x/√(1 + ε)
    array([[0.9995004, 1.9990008],
           [2.9985013, 5.9970026]], dtype=float32)
    """

    updated_arrays = ("MovingMean", "MovingVariance")

    def __init__(
        self,
        *,
        epsilon=0.001,
        momentum=0.9,
        interleaving=False,
        input=None,
        output=None,
        arrays=None,
        **unknown,
    ):
        self.check_unknown(unknown)
        if not isinstance(interleaving, (bool, np.bool_)):
            raise ValueError(
                f"BatchNormalizationLayer: interleaving must be True (channels in the last axis) "
                f"or False (in the first); received {interleaving!r}."
            )
        options = {
            "epsilon": _epsilon(epsilon, "BatchNormalizationLayer"),
            "momentum": _momentum(momentum),
            "interleaving": bool(interleaving),
        }
        self._init(options, {"Input": input, "Output": output}, arrays, BATCH_ARRAYS)
        _nonnegative(self, "MovingVariance", "a variance")

    def channel(self, dims: tuple) -> int:
        """The channel axis of an example of these dims."""
        last = isinstance(dims[0], Var) or self.options["interleaving"] or len(dims) == 1
        return len(dims) - 1 if last else 0

    def infer(self, t, u):
        c = _vector_size(self)
        t, x = _reals(u, t, "BatchNormalizationLayer")
        if x.dims is None:
            return t
        if not x.dims:
            raise TypeConflict('port "Input" must be a vector or an array; it is a scalar')
        if isinstance(x.dims[-1], Var):
            raise TypeConflict(
                'port "Input" is a sequence of scalars ("Varying"); BatchNormalizationLayer '
                'needs channels, as in ("Varying", k)'
            )
        if isinstance(x.dims[0], Var) and len(x.dims) != 2:
            raise TypeConflict(
                f'port "Input" is a sequence of rank {len(x.dims)}; BatchNormalizationLayer '
                'takes a sequence of vectors ("Varying", k), a vector k or an array (c, h, w)'
            )
        a = self.channel(x.dims)
        want = tuple(c if i == a else d for i, d in enumerate(x.dims))
        src = "" if c is None else f" (the arrays have {c} channels)"
        return _sized(u, t, "BatchNormalizationLayer", want, src)

    def array_shapes(self, t):
        d = t["Input"].dims
        c = None if not d else d[self.channel(d)]
        shape = None if c is None or isinstance(c, Var) else (c,)
        return dict.fromkeys(BATCH_ARRAYS, shape)

    def init_array(self, name, shape, rng, method):
        return np.zeros(shape) if name == "MovingMean" else np.ones(shape)

    def op(self, t):
        return BatchNormalizationOp(self, t)


METHODS = {
    "zerocenter": ("Mean",),
    "zscore": ("Mean", "StandardDeviation"),
    "rescale-symmetric": ("Min", "Max"),
    "rescale-zero-one": ("Min", "Max"),
    "none": (),
}
IDENTITY = {"Mean": 0.0, "StandardDeviation": 1.0, "Max": 1.0}


class InputNormalizationLayer(Layer):
    """MATLAB's input normalization (sequenceInputLayer's and featureInputLayer's
    "Normalization"), per feature, with statistics that NetTrain fits from the training data
    before the first round (MATLAB's trainNetwork with ResetInputNormalization):

    - "zerocenter": ``x − Mean``;  "zscore": ``(x − Mean)/StandardDeviation``;
    - "rescale-zero-one": ``(x − Min)/(Max − Min)``, to [0, 1];
    - "rescale-symmetric": ``2(x − Min)/(Max − Min) − 1``, to [−1, 1];  "none": ``x``.

    Ports: "Input" and "Output" of equal shape with a fixed last dimension k, the features: a
    vector k, a sequence ``("Varying", k)`` or any array (…, k). Arrays, each ``(k,)``, as the method needs them ("Mean",
    "StandardDeviation", "Min", "Max"); NetInitialize gives the identity (Mean 0, deviation 1,
    Min 0 and Max 1, or Min −1 for "rescale-symmetric"). NetTrain's fitting pass sets them
    per component over every training example and real step (padding never counts; the
    standard deviation is the population one, divided by n); ``reset_input_normalization=
    False`` keeps the net's. A zero standard deviation or range (a constant feature) divides by
    1, so that feature becomes 0.

    Options: ``normalization`` ("zscore"; MATLAB's default is "none"), ``input``, ``output``,
    ``arrays``. Place it first in a net.

    >>> from netgraph import InputNormalizationLayer
    >>> layer = InputNormalizationLayer("zscore", arrays={"Mean": [1.0, 2.0],
    ...                                 "StandardDeviation": [2.0, 4.0]})
    >>> layer([[3.0, 2.0], [1.0, 10.0]])
    array([[1., 0.],
           [0., 2.]], dtype=float32)
    """

    updated_when = "fitting"

    def __init__(self, normalization="zscore", *, input=None, output=None, arrays=None, **unknown):
        self.check_unknown(unknown)
        if not isinstance(normalization, str) or normalization not in METHODS:
            raise ValueError(
                f"InputNormalizationLayer: normalization must be one of "
                f"{', '.join(repr(m) for m in METHODS)}; received {normalization!r}"
                f"{closest(str(normalization), METHODS)}."
            )
        options = {"normalization": normalization}
        names = METHODS[normalization]
        self._init(options, {"Input": input, "Output": output}, arrays, names)
        _nonnegative(self, "StandardDeviation", "a standard deviation")
        lo, hi = self.arrays.get("Min"), self.arrays.get("Max")
        if lo is not None and hi is not None and np.any(hi < lo):
            raise ValueError(
                'InputNormalizationLayer: array "Max" is below "Min" at the features '
                f"{np.flatnonzero(hi < lo).tolist()}; each feature needs Max ≥ Min."
            )

    @property
    def updated_arrays(self) -> tuple:
        return tuple(self.arrays)

    def infer(self, t, u):
        k = _vector_size(self)
        t, x = _reals(u, t, "InputNormalizationLayer")
        if x.dims is None:
            return t
        if not x.dims or isinstance(x.dims[-1], Var):
            raise TypeConflict(
                'port "Input" must be a vector k or a sequence of vectors ("Varying", k), '
                f"with features in the last dimension; it is {describe(x)}"
            )
        src = "" if k is None else f" (the arrays have {k} features)"
        return _sized(u, t, "InputNormalizationLayer", x.dims[:-1] + (k,), src)

    def array_shapes(self, t):
        k = _last_size(t["Input"].dims)
        return dict.fromkeys(self.arrays, None if k is None else (k,))

    def init_array(self, name, shape, rng, method):
        symmetric = self.options["normalization"] == "rescale-symmetric"
        value = -1.0 if name == "Min" and symmetric else IDENTITY.get(name, 0.0)
        return np.full(shape, value)

    def op(self, t):
        return InputNormalizationOp(self, t)


__all__ = ["BatchNormalizationLayer", "InputNormalizationLayer", "NormalizationLayer"]
