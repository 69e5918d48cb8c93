"""ConvolutionLayer and PoolingLayer: 1-D and 2-D, channel-first or channel-last
(``interleaving``), over fixed sizes or a "Varying" first spatial dimension."""

from __future__ import annotations

import math

from ..kernels.convolution import ConvolutionOp, Geometry, PoolingOp
from ..symbols import Automatic
from ..text import closest
from ..types import REAL, TensorType, TypeConflict, Var, describe
from .base import Layer, array_dims_rule, meet

FUNCTIONS = ("Max", "Mean", "Total")


def _positive(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 1


def _kernel(owner: str, k) -> tuple:
    """An int (1-D) or a tuple of one or two positive ints."""
    k = tuple(k) if isinstance(k, list) else k
    if _positive(k):
        return (k,)
    if isinstance(k, tuple) and len(k) in (1, 2) and all(_positive(d) for d in k):
        return k
    raise ValueError(
        f"{owner}: kernel_size must be a positive int (1-D), or a tuple of one or two positive "
        f"ints (w,) or (h, w); received {k!r}."
    )


def _per_dim(owner: str, name: str, v, nd: int) -> tuple:
    """``stride`` or ``dilation``: one positive int for every dimension, or one per dimension."""
    v = tuple(v) if isinstance(v, list) else v
    if _positive(v):
        return (v,) * nd
    if isinstance(v, tuple) and len(v) == nd and all(_positive(d) for d in v):
        return v
    raise ValueError(
        f"{owner}: {name} must be a positive int or a tuple of {nd} positive ints (one per "
        f"spatial dimension of the {nd}-D kernel); received {v!r}."
    )


def _natural(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def _padding(owner: str, p, nd: int):
    """``padding_size``: "Same", n, (n1, n2, …) or ((before, after), …), as (before, after) pairs."""
    if p == "Same":
        return "Same"
    p = tuple(tuple(q) if isinstance(q, list) else q for q in p) if isinstance(p, list) else p
    if _natural(p):
        return ((p, p),) * nd
    if isinstance(p, tuple) and len(p) == nd:
        if all(_natural(q) for q in p):
            return tuple((q, q) for q in p)
        if all(isinstance(q, tuple) and len(q) == 2 and all(map(_natural, q)) for q in p):
            return p
    raise ValueError(
        f'{owner}: padding_size must be "Same", an int ≥ 0, a tuple of {nd} of them (one per '
        f"spatial dimension) or a tuple of {nd} pairs (before, after); received {p!r}."
    )


class _WindowLayer(Layer):
    """What ConvolutionLayer and PoolingLayer share: the geometry and the type rule of the
    spatial dimensions. Subclasses give the channels rule (``_channels``)."""

    def geometry(self) -> Geometry:
        o = self.options
        return Geometry(o["kernel_size"], o["stride"], o["dilation"], o["padding_size"])

    def _layout(self, dims: tuple) -> tuple:
        """(channels, spatial dims) of a port's dims."""
        if self.options["interleaving"]:
            return dims[-1], dims[:-1]
        return dims[0], dims[1:]

    def _join(self, c, spatial) -> tuple:
        return (*spatial, c) if self.options["interleaving"] else (c, *spatial)

    def _rank(self, u, t: dict, p: str) -> TensorType:
        nd = len(self.options["kernel_size"])
        r, x = nd + 1, t[p]
        if x.dims is not None and len(x.dims) != r:
            shape = self._join("channels", ("height", "width")[2 - nd :])
            raise TypeConflict(
                f'port "{p}" must be an array of rank {r}, {shape}, for a {nd}-D '
                f"{type(self).__name__[:-5].lower()}; it is {describe(x)}".replace("'", "")
            )
        x = meet(u, x, TensorType((None,) * r, REAL), f'port "{p}"')
        c, spatial = self._layout(x.dims)
        if isinstance(c, Var) or any(isinstance(d, Var) for d in spatial[1:]):
            raise TypeConflict(
                f'port "{p}" is {describe(x)}, but with interleaving=False its first dimension '
                'holds the channels, which cannot be "Varying": give interleaving=True for '
                'channel-last data such as a sequence of vectors ("Varying", c)'
            )
        return x

    def _spatial(self, u, xs: tuple, ys: tuple) -> tuple:
        """The output's spatial dims from the input's (a "Varying" one keeps its variable
        when every sequence keeps its length, else gets a new one)."""
        geo, out = self.geometry(), []
        for d, (n, m) in enumerate(zip(xs, ys)):
            if isinstance(n, int):
                if n < geo.min_size(d):
                    raise TypeConflict(
                        f'port "Input" has size {n} in spatial dimension {d + 1}, too small: with '
                        f"{geo.describe(d)} it needs size ≥ {geo.min_size(d)}"
                    )
                out.append(int(geo.out_size(d, n)))
            elif isinstance(n, Var):
                same = geo.stride[d] == 1 and (
                    geo.padding == "Same" or sum(geo.padding[d]) == geo.extent(d) - 1
                )
                if not same and m is n:
                    raise TypeConflict(
                        'the "Varying" output length differs from the input length (it is '
                        f"⌊(L + padding − dilation·(K − 1) − 1)/stride⌋ + 1, with {geo.describe(d)}"
                        "); they cannot share a sequence length"
                    )
                out.append(n if same else m if isinstance(m, Var) else Var())
            else:
                out.append(m)
        return tuple(out)

    def infer(self, t, u):
        x, y = self._rank(u, t, "Input"), self._rank(u, t, "Output")
        cx, sx = self._layout(x.dims)
        cy, sy = self._layout(y.dims)
        cx, cy = self._channels(cx, cy)
        x = meet(u, x, TensorType(self._join(cx, sx), REAL), 'port "Input"')
        y = meet(u, y, TensorType(self._join(cy, self._spatial(u, sx, sy)), REAL), 'port "Output"')
        return {"Input": u.resolve(x), "Output": y}


class ConvolutionLayer(_WindowLayer):
    """A trainable convolution with n output channels over 1 or 2 spatial dimensions.

    ``y[o, i] = Σ_{c, k} W[o, c, k]·xp[c, s·i + d·k] + b[o]`` (per channel group), with xp
    the input zero-padded by ``padding_size``.

    Ports (``interleaving=False``, channel-first): "Input" ``(c, w)`` or ``(c, h, w)``,
    "Output" ``(n, w')`` or ``(n, h', w')``; with ``interleaving=True`` the channels are last:
    ``(w, c)``, ``(h, w, c)``. Each output size is ``⌊(L + pl + pr − d·(K−1) − 1)/s⌋ + 1``
    (``⌈L/s⌉`` for "Same"). With ``interleaving=True`` the first dimension may be "Varying":
    ``("Varying", c)`` is the 1-D convolution over time of a sequence of vectors, each
    sequence with its own output length; padding never changes a result.

    Arrays: "Weights" ``(n, c/g, kh[, kw])`` and "Biases" ``(n,)`` (none with ``biases=None``).

    Options (Wolfram's): ``n``; ``kernel_size`` (an int: 1-D; ``(w,)``; ``(h, w)``);
    ``stride`` (1), ``dilation`` (1): an int or one per dimension; ``padding_size`` (0): n,
    one n per dimension, ``(before, after)`` pairs per dimension, or "Same";
    ``channel_groups`` (1); ``interleaving`` (False); ``weights``, ``biases``; ``input``,
    ``output``, ``arrays``.

    >>> import numpy as np
    >>> from netgraph import ConvolutionLayer
    >>> conv = ConvolutionLayer(1, 2, weights=[[[1.0, -1.0]]], biases=[0.5])
    >>> conv([[1.0, 4.0, 9.0]])
    array([[-2.5, -4.5]], dtype=float32)
    >>> ConvolutionLayer(8, 3, interleaving=True, input=("Varying", 4)).ports["Output"]
    (Varying, 8)
    """

    def __init__(  # noqa: PLR0913 (Wolfram's options, each keyword-only)
        self,
        n=None,
        kernel_size=None,
        *,
        stride=1,
        padding_size=0,
        dilation=1,
        channel_groups=1,
        interleaving=False,
        weights=None,
        biases=Automatic,
        input=None,
        output=None,
        arrays=None,
        **unknown,
    ):
        owner = "ConvolutionLayer"
        self.check_unknown(unknown)
        if not _positive(n):
            raise ValueError(
                f"{owner}: n (output channels) must be a positive int; received {n!r}."
            )
        k = _kernel(owner, kernel_size)
        if not _positive(channel_groups) or n % channel_groups:
            raise ValueError(
                f"{owner}: channel_groups must be a positive int that divides n = {n}; received "
                f"{channel_groups!r}."
            )
        if not isinstance(interleaving, bool):
            raise ValueError(
                f"{owner}: interleaving must be True or False; received {interleaving!r}."
            )
        options = {
            "n": n,
            "kernel_size": k,
            "stride": _per_dim(owner, "stride", stride, len(k)),
            "padding_size": _padding(owner, padding_size, len(k)),
            "dilation": _per_dim(owner, "dilation", dilation, len(k)),
            "channel_groups": channel_groups,
            "interleaving": interleaving,
            "biases": biases is not None,
        }
        arrays = dict(arrays or {})
        if weights is not None:
            arrays["Weights"] = weights
        if biases is not None and biases is not Automatic:
            arrays["Biases"] = biases
        names = ("Weights", "Biases") if options["biases"] else ("Weights",)
        self._init(options, {"Input": input, "Output": output}, arrays, names)

    def construction_options(self) -> dict:
        """``biases`` goes back as Automatic (biases to learn) or None (none)."""
        return {**self.options, "biases": Automatic if self.options["biases"] else None}

    def _channels(self, cx, cy):
        """Input channels c (fixed by "Weights" (n, c/g, *K) when given), output channels n."""
        o = self.options
        g, n, w, b = o["channel_groups"], o["n"], self.arrays["Weights"], self.arrays.get("Biases")
        if w is not None:
            array_dims_rule(self, {}, None, "Weights", (n, None, *o["kernel_size"]))
            if isinstance(cx, int) and cx != w.shape[1] * g:
                raise TypeConflict(
                    f'port "Input" has {cx} channels, but array "Weights" has shape {w.shape}, '
                    f"which needs {w.shape[1] * g} ({w.shape[1]} per group, {g} groups)"
                )
            cx = w.shape[1] * g
        if b is not None and b.shape != (n,):
            raise TypeConflict(f'array "Biases" has shape {b.shape}, but n = {n} needs ({n},)')
        if isinstance(cx, int) and cx % g:
            raise TypeConflict(
                f'port "Input" has {cx} channels, which channel_groups={g} does not divide'
            )
        return cx, n

    def array_shapes(self, t):
        c = self._layout(t["Input"].dims)[0] if t["Input"].dims else None
        o = self.options
        w = None
        if isinstance(c, int):
            w = (o["n"], c // o["channel_groups"], *o["kernel_size"])
        shapes = {"Weights": w}
        if o["biases"]:
            shapes["Biases"] = (o["n"],)
        return shapes

    def fans(self, name, shape):
        field = math.prod(shape[2:])
        return shape[1] * field, shape[0] * field

    def op(self, t):
        return ConvolutionOp(self, t)


class PoolingLayer(_WindowLayer):
    """Max, Mean or Total of each channel over every window of 1 or 2 spatial dimensions.

    Ports as ConvolutionLayer's, with as many output channels as input channels: "Input"
    ``(c, w)``, ``(c, h, w)`` (or channel-last with ``interleaving=True``: ``(w, c)``,
    ``(h, w, c)``, ``("Varying", c)``); each output size is
    ``⌊(L + pl + pr − K)/s⌋ + 1`` (``⌈L/s⌉`` for "Same"). No arrays.

    Options (Wolfram's): ``kernel_size``; ``stride`` (1, as Wolfram's: ``PoolingLayer[k]``
    is ``PoolingLayer[k, 1]``); ``function`` ("Max", "Mean" or "Total"); ``padding_size``
    (0, forms as ConvolutionLayer's; it must be smaller than the kernel); ``interleaving``
    (False); ``input``, ``output``. Padding is zeros: "Mean" divides by the whole window size,
    padding included (PyTorch's ``count_include_pad=True``); "Max" ignores it.

    >>> from netgraph import PoolingLayer
    >>> PoolingLayer(2, 2)([[1.0, 5.0, 3.0, 2.0]])
    array([[5., 3.]], dtype=float32)
    >>> PoolingLayer(2, 2, function="Mean")([[1.0, 5.0, 3.0, 2.0]])
    array([[3. , 2.5]], dtype=float32)
    """

    def __init__(
        self,
        kernel_size=None,
        stride=1,
        *,
        function="Max",
        padding_size=0,
        interleaving=False,
        input=None,
        output=None,
        **unknown,
    ):
        owner = "PoolingLayer"
        self.check_unknown(unknown)
        k = _kernel(owner, kernel_size)
        if not isinstance(function, str) or function not in FUNCTIONS:
            raise ValueError(
                f"{owner}: unknown function {function!r}{closest(str(function), FUNCTIONS)}. "
                f"Valid functions: {', '.join(FUNCTIONS)}."
            )
        if not isinstance(interleaving, bool):
            raise ValueError(
                f"{owner}: interleaving must be True or False; received {interleaving!r}."
            )
        pad = _padding(owner, padding_size, len(k))
        if pad != "Same" and any(max(p) >= kd for p, kd in zip(pad, k)):
            raise ValueError(
                f"{owner}: padding_size must be smaller than the kernel in every dimension (a "
                f"window must hold one input element); received {padding_size!r} for kernel "
                f"size {k}."
            )
        options = {
            "kernel_size": k,
            "stride": _per_dim(owner, "stride", stride, len(k)),
            "function": function,
            "padding_size": pad,
            "interleaving": interleaving,
        }
        self._init(options, {"Input": input, "Output": output})

    def geometry(self) -> Geometry:
        o = self.options
        return Geometry(
            o["kernel_size"], o["stride"], (1,) * len(o["kernel_size"]), o["padding_size"]
        )

    def _channels(self, cx, cy):
        c = cx if cx is not None else cy
        if isinstance(cx, int) and isinstance(cy, int) and cx != cy:
            raise TypeConflict(
                f'port "Input" has {cx} channels but port "Output" has {cy}; PoolingLayer keeps '
                "the channels"
            )
        return c, c

    def op(self, t):
        return PoolingOp(self, t)


__all__ = ["ConvolutionLayer", "PoolingLayer"]
