"""Convolution and pooling over 1 or 2 spatial dimensions, by im2col.

Every op works channel-last, ``x (B, *S, C)``: a channel-first port (Wolfram's
``Interleaving -> False``) is moved there and back with a transpose. The input is padded
into ``xp (B, *Sp, C)``; ``windows(xp)`` is a strided view ``(B, *So, *K, C)`` of every
kernel window (no copy), which the convolution copies once into the im2col matrix
``cols (M, g, K·c/g)`` (M = B·∏So rows, g channel groups) and multiplies by the weights, one
GEMM per group. The gradient runs the same products backwards and adds the window gradients
back into ``dxp`` (col2im) one kernel offset at a time.

Sequences: when the first spatial dimension is a "Varying" one, each sequence is padded on
its own: its left padding (which for "Same" depends on its length) shifts it in ``xp``, the
positions past its true end count as its right padding (zeros, or −∞ for Max pooling), and
its outputs past ``out_size(L)`` are zeroed by the plan. So a sequence gives, in a padded
batch, exactly what it gives alone.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .base import Op


@dataclass(frozen=True)
class Geometry:
    """Kernel sizes, strides, dilations and paddings, one entry per spatial dimension.
    ``padding``: a ``(before, after)`` pair per dimension, or "Same" (output size ⌈L/s⌉, the
    odd element of padding after, as ONNX's SAME_UPPER)."""

    kernel: tuple
    stride: tuple
    dilation: tuple
    padding: tuple | str

    @property
    def ndim(self) -> int:
        return len(self.kernel)

    def extent(self, d: int) -> int:
        """How many input positions one window spans in dimension d."""
        return self.dilation[d] * (self.kernel[d] - 1) + 1

    def pads(self, d: int, n):
        """(before, after) padding of dimension d for an input of size n (an int or an array)."""
        if self.padding == "Same":
            s = self.stride[d]
            total = np.maximum(((n + s - 1) // s - 1) * s + self.extent(d) - n, 0)
            return total // 2, total - total // 2
        return self.padding[d]

    def out_size(self, d: int, n):
        """Output size of dimension d for input size n: ⌊(n + pl + pr − d·(K−1) − 1)/s⌋ + 1."""
        pl, pr = self.pads(d, n)
        return (n + pl + pr - self.extent(d)) // self.stride[d] + 1

    def min_size(self, d: int) -> int:
        """The shortest input that gives one output in dimension d."""
        if self.padding == "Same":
            return 1
        return max(1, self.extent(d) - sum(self.padding[d]))

    def describe(self, d: int) -> str:
        pad = "Same" if self.padding == "Same" else self.padding[d]
        return (
            f"kernel size {self.kernel[d]}, dilation {self.dilation[d]}, stride "
            f"{self.stride[d]} and padding {pad}"
        )


def channel_last(x: np.ndarray, first: bool) -> np.ndarray:
    """(B, C, *S) → (B, *S, C) when the port is channel-first, else x (a view either way)."""
    return np.moveaxis(x, 1, -1) if first else x


def channel_back(y: np.ndarray, first: bool) -> np.ndarray:
    """(B, *S, C) → (B, C, *S) when the port is channel-first."""
    return np.moveaxis(y, -1, 1) if first else y


class Padded:
    """An input ``x (B, *S, C)`` placed in ``xp (B, *Sp, C)`` with its padding around it.

    ``offsets`` is each example's shift in the first spatial dimension (a per-sequence left
    padding, or the same for all), ``starts`` the left padding of the other dimensions and
    ``out`` the batch's output sizes ``So``."""

    def __init__(self, x: np.ndarray, lens, geo: Geometry, fill: float = 0.0):
        B, S, C = x.shape[0], x.shape[1:-1], x.shape[-1]
        n0 = np.full(B, S[0], np.int64) if lens is None else np.asarray(lens, np.int64)
        left0, right0 = geo.pads(0, n0)
        self.offsets = np.broadcast_to(np.asarray(left0, np.int64), (B,))
        out0 = int(geo.out_size(0, S[0])) if lens is None else int(np.max(geo.out_size(0, n0)))
        need0 = (out0 - 1) * geo.stride[0] + geo.extent(0)
        end0 = max(int(np.max(self.offsets + n0 + right0)), int(np.max(self.offsets)) + S[0])
        sizes, self.starts, out = [max(need0, end0)], [], [out0]
        for d in range(1, geo.ndim):
            pl, pr = geo.pads(d, S[d])
            sizes.append(S[d] + pl + pr)
            self.starts.append(pl)
            out.append(int(geo.out_size(d, S[d])))
        self.out, self.shape, self.lens, self.S = tuple(out), x.shape, n0, S
        self.xp = np.full((B, *sizes, C), fill, x.dtype)
        shifts = np.unique(self.offsets)
        for off in shifts:
            rows = np.flatnonzero(self.offsets == off) if len(shifts) > 1 else None
            self.xp[self._inner(int(off), rows)] = x if rows is None else x[rows]
        if fill != 0.0 and lens is not None:  # each sequence's own end is padding too
            t = np.arange(sizes[0])[None, :]
            self.xp[t >= (self.offsets + n0)[:, None]] = fill

    def _inner(self, off: int, rows) -> tuple:
        """The index of the input's place in xp, for the rows shifted by ``off``."""
        spans = [slice(off, off + self.S[0])]
        spans += [slice(a, a + n) for a, n in zip(self.starts, self.S[1:])]
        return (slice(None) if rows is None else rows, *spans, slice(None))

    def crop(self, dxp: np.ndarray) -> np.ndarray:
        """The gradient of x out of the gradient of xp (padding dropped)."""
        offs = np.unique(self.offsets)
        if len(offs) == 1:
            return dxp[self._inner(int(offs[0]), None)]
        dx = np.empty(self.shape, dxp.dtype)
        for off in offs:
            rows = np.flatnonzero(self.offsets == off)
            dx[rows] = dxp[self._inner(int(off), rows)]
        return dx


def windows(xp: np.ndarray, geo: Geometry, out: tuple) -> np.ndarray:
    """The read-only view ``(B, *So, *K, C)`` of every window of ``xp (B, *Sp, C)``."""
    sB, *sS, sC = xp.strides
    shape = (xp.shape[0], *out, *geo.kernel, xp.shape[-1])
    strides = (
        sB,
        *(s * st for s, st in zip(sS, geo.stride)),
        *(s * dl for s, dl in zip(sS, geo.dilation)),
        sC,
    )
    return as_strided(xp, shape, strides, writeable=False)


def window_at(a: np.ndarray, geo: Geometry, out: tuple, k: tuple) -> tuple:
    """The index of ``a (B, *Sp, C)`` that kernel offset ``k`` reads for every output position."""
    spans = (
        slice(kd * dl, kd * dl + st * (n - 1) + 1, st)
        for kd, dl, st, n in zip(k, geo.dilation, geo.stride, out)
    )
    return (slice(None), *spans, slice(None))


def offsets(geo: Geometry):
    """Every kernel offset, in row-major order."""
    return itertools.product(*(range(k) for k in geo.kernel))


def check_lengths(layer, lens, geo: Geometry) -> None:
    """A sequence too short to give one output is refused, naming its length."""
    if lens is None:
        return
    short = int(np.min(lens))
    if short < geo.min_size(0):
        raise ValueError(
            f"{type(layer).__name__}: a sequence of length {short} is too short: with "
            f"{geo.describe(0)} every sequence needs length ≥ {geo.min_size(0)}."
        )


class _WindowOp(Op):
    """What convolution and pooling share: the geometry, the layout, the output lengths."""

    def __init__(self, layer, types):
        super().__init__(layer, types)
        self.geo = layer.geometry()
        self.first = not layer.options["interleaving"]

    def out_lengths(self, lens):
        return [np.asarray(self.geo.out_size(0, lens[0]), np.int64)]


class ConvolutionOp(_WindowOp):
    """Per channel group g (c/g input channels, n/g output channels), with ``cols`` the
    im2col matrix of the padded input (one row per output position, one column per kernel
    offset and input channel) and ``W`` the weights as a (K·c/g, n/g) matrix:

    forward:  y = cols·W + b;
    backward: dW = colsᵀ·dy,  db = Σ dy,  dcols = dy·Wᵀ,  dx = col2im(dcols) (each window's
              gradient added back where the window was read), padding cropped.
    """

    def prepare(self, arrays):
        w = arrays["Weights"]
        g = self.layer.options["channel_groups"]
        n, cg, K = w.shape[0], w.shape[1], w.shape[2:]
        m = w.reshape(g, n // g, cg, *K)
        m = m.transpose(0, *range(3, 3 + len(K)), 2, 1).reshape(g, -1, n // g)
        return {**arrays, "matrix": np.ascontiguousarray(m)}

    def forward(self, xs, lens, arrays, ctx):
        check_lengths(self.layer, lens[0], self.geo)
        pad = Padded(channel_last(xs[0], self.first), lens[0], self.geo)
        W = arrays["matrix"]
        g, ng = W.shape[0], W.shape[2]
        win = windows(pad.xp, self.geo, pad.out)
        B, C = win.shape[0], win.shape[-1]
        win = win.reshape(win.shape[:-1] + (g, C // g))
        nd = self.geo.ndim
        perm = (*range(1 + nd), 1 + 2 * nd, *range(1 + nd, 1 + 2 * nd), 2 + 2 * nd)
        cols = win.transpose(perm).reshape(-1, g, W.shape[1])
        y = np.empty((len(cols), g * ng), cols.dtype)
        for i in range(g):
            np.matmul(cols[:, i], W[i], out=y[:, i * ng : (i + 1) * ng])
        if "Biases" in arrays:
            y += arrays["Biases"]
        y = channel_back(y.reshape(B, *pad.out, g * ng), self.first)
        return [y], (pad, cols if ctx.grad else None)

    def backward(self, saved, dys, arrays, ctx):
        pad, cols = saved
        W = arrays["matrix"]
        g, ng = W.shape[0], W.shape[2]
        dy = np.ascontiguousarray(channel_last(dys[0], self.first)).reshape(-1, g * ng)
        dW = np.empty_like(W)
        dcols = np.empty(cols.shape, cols.dtype)
        for i in range(g):
            dyi = dy[:, i * ng : (i + 1) * ng]
            np.matmul(cols[:, i].T, dyi, out=dW[i])
            np.matmul(dyi, W[i].T, out=dcols[:, i])
        grads = {"Weights": self._weights_layout(dW, arrays["Weights"].shape)}
        if "Biases" in arrays:
            grads["Biases"] = dy.sum(axis=0)
        dx = self._col2im(dcols, pad, g)
        return [channel_back(dx, self.first)], grads

    @staticmethod
    def _weights_layout(dW: np.ndarray, shape: tuple) -> np.ndarray:
        """(g, K·c/g, n/g) back to Wolfram's (n, c/g, *K)."""
        g, n, cg, K = dW.shape[0], shape[0], shape[1], shape[2:]
        d = dW.reshape(g, *K, cg, n // g)
        nd = len(K)
        return d.transpose(0, 2 + nd, 1 + nd, *range(1, 1 + nd)).reshape(shape)

    def _col2im(self, dcols: np.ndarray, pad: Padded, g: int) -> np.ndarray:
        geo, B, C = self.geo, pad.shape[0], pad.shape[-1]
        d = dcols.reshape(B, *pad.out, g, *geo.kernel, C // g)
        dxp = np.zeros(pad.xp.shape, dcols.dtype)
        lead = (slice(None),) * (1 + geo.ndim + 1)
        for k in offsets(geo):
            dxp[window_at(dxp, geo, pad.out, k)] += d[lead + k].reshape(B, *pad.out, C)
        return pad.crop(dxp)


class PoolingOp(_WindowOp):
    """Per channel, over each window of the padded input (padding: zeros for Mean and
    Total, ignored by Max):

    Max:   y = max over the window, dx = dy at the (first) largest element;
    Mean:  y = Σ window / K (K the window size, padding counted), dx = dy/K at each element;
    Total: y = Σ window, dx = dy at each element.
    """

    def forward(self, xs, lens, arrays, ctx):
        check_lengths(self.layer, lens[0], self.geo)
        f = self.layer.options["function"]
        x = channel_last(xs[0], self.first)
        pad = Padded(x, lens[0], self.geo, -np.inf if f == "Max" else 0.0)
        ks = list(offsets(self.geo))
        y = pad.xp[window_at(pad.xp, self.geo, pad.out, ks[0])].copy()
        arg = np.zeros(y.shape, np.int8 if len(ks) < 128 else np.int32) if f == "Max" else None
        for i, k in enumerate(ks[1:], 1):
            v = pad.xp[window_at(pad.xp, self.geo, pad.out, k)]
            if f == "Max":
                more = v > y
                np.copyto(y, v, where=more)
                arg[more] = i
            else:
                y += v
        if f == "Mean":
            y *= y.dtype.type(1.0 / len(ks))
        return [channel_back(y, self.first)], (pad, arg)

    def backward(self, saved, dys, arrays, ctx):
        pad, arg = saved
        f = self.layer.options["function"]
        dy = channel_last(dys[0], self.first)
        if f == "Mean":
            dy = dy * dy.dtype.type(1.0 / np.prod(self.geo.kernel))
        dxp = np.zeros(pad.xp.shape, dy.dtype)
        zero = np.zeros((), dy.dtype)
        for i, k in enumerate(offsets(self.geo)):
            at = window_at(dxp, self.geo, pad.out, k)
            dxp[at] += dy if arg is None else np.where(arg == i, dy, zero)
        return [channel_back(pad.crop(dxp), self.first)], {}
