"""Convolution and pooling over 1 or 2 spatial dimensions, by im2col.

A port is channel-first ``x (B, C, *S)`` (Wolfram's ``Interleaving -> False``) or
channel-last ``x (B, *S, C)``. The input is padded into ``xp`` (``Padded``; no copy when
there is no padding), and a convolution copies its im2col matrix out of a strided view of
every kernel window (``Padded.windows``), in one of two layouts (``ConvolutionOp``):

- ``cols (g, c/g·K + 1, B·P)`` (g channel groups, K = ∏ kernel sizes, P = ∏ output sizes),
  one GEMM per group for the whole batch, the output ``(n, B, *So)`` handed on as a view:
  channel-first ports, and channel-last ones with few channels per group (an RGB image);
- ``cols (B·P, g, K·c/g + 1)``, the output channel-last as it comes: channel-last ports with
  at least 16 channels per group (a sequence of vectors).

The extra row (column) of ones multiplies the biases in the same product. The gradient runs
the same products backwards and adds the window gradients back into ``dxp`` (col2im) one
kernel offset at a time. The products run on one BLAS thread (``blas.one_blas_thread``).
Pooling reads the same windows one kernel offset at a time (``Padded.at``).

Sequences: when the first spatial dimension is a "Varying" one (channel-last ports only),
each sequence is padded on its own: its left padding (which for "Same" depends on its
length) shifts it in ``xp``, the positions past its true end count as its right padding
(zeros, or −∞ for Max pooling), and its outputs past ``out_size(L)`` are zeroed by the plan.
So a sequence gives, in a padded batch, exactly what it gives alone.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .base import Op
from .blas import one_blas_thread


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


class Padded:
    """An input ``x`` placed in ``xp`` with its padding around it; ``axis`` is the first of
    its spatial axes (1 channel-last, 2 channel-first).

    ``offsets`` is each example's shift in the first spatial dimension (a per-sequence left
    padding for a sequence, else the same for all), ``starts`` the left padding of the other
    dimensions and ``out`` the batch's output sizes ``So``."""

    def __init__(self, x: np.ndarray, lens, geo: Geometry, axis: int, fill: float = 0.0):
        B, S = x.shape[0], x.shape[axis : axis + geo.ndim]
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
        self.out, self.shape, self.axis, self.S = tuple(out), x.shape, axis, S
        masked = fill != 0.0 and lens is not None
        if tuple(sizes) == S and not masked:
            self.xp = x  # no padding: the input itself
            return
        self.xp = np.full(x.shape[:axis] + tuple(sizes) + x.shape[axis + geo.ndim :], fill, x.dtype)
        shifts = np.unique(self.offsets)
        for off in shifts:
            rows = np.flatnonzero(self.offsets == off) if len(shifts) > 1 else None
            self.xp[self._inner(int(off), rows)] = x if rows is None else x[rows]
        if masked:  # each sequence's own end is padding too (sequences: axis 1)
            t = np.arange(sizes[0])[None, :]
            self.xp[t >= (self.offsets + n0)[:, None]] = fill

    def _inner(self, off: int, rows) -> tuple:
        """The index of the input's place in xp, for the rows shifted by ``off``."""
        spans = [slice(off, off + self.S[0])]
        spans += [slice(a, a + n) for a, n in zip(self.starts, self.S[1:])]
        lead = (slice(None),) * (self.axis - 1)
        return (slice(None) if rows is None else rows, *lead, *spans)

    def zeros(self) -> np.ndarray:
        """A zero gradient of ``xp``."""
        return np.zeros(self.xp.shape, self.xp.dtype)

    def crop(self, dxp: np.ndarray) -> np.ndarray:
        """The gradient of x out of the gradient of xp (padding dropped)."""
        if dxp.shape == self.shape:
            return dxp
        offs = np.unique(self.offsets)
        if len(offs) == 1:
            return dxp[self._inner(int(offs[0]), None)]
        dx = np.empty(self.shape, dxp.dtype)
        for off in offs:
            rows = np.flatnonzero(self.offsets == off)
            dx[rows] = dxp[self._inner(int(off), rows)]
        return dx

    def at(self, geo: Geometry, k: tuple) -> tuple:
        """The index of ``xp`` that kernel offset ``k`` reads for every output position."""
        spans = (
            slice(kd * dl, kd * dl + st * (n - 1) + 1, st)
            for kd, dl, st, n in zip(k, geo.dilation, geo.stride, self.out)
        )
        return ((slice(None),) * self.axis) + tuple(spans)

    def windows(self, geo: Geometry) -> np.ndarray:
        """The read-only view of every window: ``(B, *So, *K, C)`` channel-last,
        ``(B, C, *K, *So)`` channel-first."""
        xp, nd = self.xp, geo.ndim
        sS = xp.strides[self.axis : self.axis + nd]
        step = tuple(s * st for s, st in zip(sS, geo.stride))
        reach = tuple(s * dl for s, dl in zip(sS, geo.dilation))
        sB, sC = xp.strides[0], xp.strides[1 if self.axis == 2 else -1]
        B, C = xp.shape[0], xp.shape[1 if self.axis == 2 else -1]
        if self.axis == 2:
            shape, strides = (B, C, *geo.kernel, *self.out), (sB, sC, *reach, *step)
        else:
            shape, strides = (B, *self.out, *geo.kernel, C), (sB, *step, *reach, sC)
        return as_strided(xp, shape, strides, writeable=False)


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
        self.axis = 2 if self.first else 1  # the first spatial axis of a batch

    def out_lengths(self, lens):
        return [np.asarray(self.geo.out_size(0, lens[0]), np.int64)]

    def _padded(self, xs, lens, fill: float = 0.0) -> Padded:
        check_lengths(self.layer, lens[0], self.geo)
        return Padded(xs[0], lens[0], self.geo, self.axis, fill)


class ConvolutionOp(_WindowOp):
    """Per channel group (c/g input channels, n/g output channels), with ``cols`` the im2col
    matrix of the padded input (a row per input channel and kernel offset, a column per
    output position of every example) and a row of ones under it that multiplies the
    biases, which ``prepare`` puts beside the weights:

    forward:  y = [W b]·[cols; 1];
    backward: [dW db] = dy·[cols; 1]ᵀ,  dcols = Wᵀ·dy,  dx = col2im(dcols) (each window's
              gradient added back where the window was read), padding cropped.

    Two layouts of the same products, one GEMM per group for the whole batch:

    - channel-first ``cols (g, c/g·K + 1, B·P)``, ``[W b] (g, n/g, c/g·K + 1)``, the output
      ``(n, B, *So)`` handed on as a view; a channel-last input with few channels per group
      (an RGB image) goes this way too, read and written through transposed views;
    - channel-last ``cols (B·P, g, K·c/g + 1)`` (rows in window order ``(*K, c)``),
      ``[W; b] (g, K·c/g + 1, n/g)``, when the port is channel-last with at least
      ``WIDE`` channels per group: the windows are copied in runs of whole channel vectors,
      and the output comes out in the port's layout (a sequence of vectors).
    """

    WIDE = 16

    def __init__(self, layer, types):
        super().__init__(layer, types)
        c = types["Input"].dims[-1]
        self.rows_last = not self.first and c // layer.options["channel_groups"] >= self.WIDE

    def prepare(self, arrays):
        w, b = arrays["Weights"], arrays.get("Biases")
        g = self.layer.options["channel_groups"]
        n, K = w.shape[0], w.shape[2:]
        if not self.rows_last:
            m = w.reshape(g, n // g, -1)
            parts = [m] if b is None else [m, b.reshape(g, -1, 1)]
            return {**arrays, "matrix": np.ascontiguousarray(np.concatenate(parts, axis=2))}
        m = w.reshape(g, n // g, w.shape[1], *K).transpose(0, *range(3, 3 + len(K)), 2, 1)
        m = m.reshape(g, -1, n // g)
        parts = [m] if b is None else [m, b.reshape(g, 1, -1)]
        return {**arrays, "matrix": np.ascontiguousarray(np.concatenate(parts, axis=1))}

    def forward(self, xs, lens, arrays, ctx):
        check_lengths(self.layer, lens[0], self.geo)
        with one_blas_thread():
            return self._forward(xs, lens, arrays, ctx)

    def _forward(self, xs, lens, arrays, ctx):
        ones = int("Biases" in arrays)
        if self.rows_last:
            pad = Padded(xs[0], lens[0], self.geo, 1)
            y, cols = self._forward_last(pad, arrays["matrix"], ones)
        else:
            pad = Padded(xs[0] if self.first else np.moveaxis(xs[0], -1, 1), lens[0], self.geo, 2)
            y, cols = self._forward_first(pad, arrays["matrix"], ones)
            y = y if self.first else np.moveaxis(y, 1, -1)
        return [y], (pad, cols if ctx.grad else None)

    def _forward_first(self, pad: Padded, W: np.ndarray, ones: int) -> tuple:
        g, B, nd = W.shape[0], pad.shape[0], self.geo.ndim
        rows = W.shape[2] - ones
        lead = (pad.shape[1] // g, *self.geo.kernel)
        cols = np.empty((g, W.shape[2], B, int(np.prod(pad.out))), W.dtype)
        win = pad.windows(self.geo).reshape(B, g, *lead, *pad.out)  # (B, g, c/g, *K, *So)
        order = (1, *range(2, 3 + nd), 0, *range(3 + nd, 3 + 2 * nd))
        np.copyto(cols[:, :rows].reshape(g, *lead, B, *pad.out), win.transpose(order))
        cols = cols.reshape(g, W.shape[2], -1)
        if ones:
            cols[:, rows] = 1
        y = np.matmul(W, cols).reshape(-1, B, *pad.out)
        return np.moveaxis(y, 1, 0), cols

    def _forward_last(self, pad: Padded, W: np.ndarray, ones: int) -> tuple:
        g, ng, B, nd = W.shape[0], W.shape[2], pad.shape[0], self.geo.ndim
        rows = W.shape[1] - ones
        cols = np.empty((B, *pad.out, g, W.shape[1]), W.dtype)
        dst = cols[..., :rows].reshape(B, *pad.out, g, *self.geo.kernel, -1)
        win = pad.windows(self.geo)  # (B, *So, *K, g, c/g)
        win = win.reshape(win.shape[:-1] + (g, -1))
        order = (*range(1 + nd), 1 + 2 * nd, *range(1 + nd, 1 + 2 * nd), 2 + 2 * nd)
        np.copyto(dst, win.transpose(order))
        cols = cols.reshape(-1, g, W.shape[1])
        if ones:
            cols[:, :, rows] = 1
        y = np.empty((len(cols), g * ng), W.dtype)
        for i in range(g):
            np.matmul(cols[:, i], W[i], out=y[:, i * ng : (i + 1) * ng])
        return y.reshape(B, *pad.out, -1), cols

    def backward(self, saved, dys, arrays, ctx):
        with one_blas_thread():
            return self._backward(saved, dys, arrays, ctx)

    def _backward(self, saved, dys, arrays, ctx):
        pad, cols = saved
        W, ones = arrays["matrix"], int("Biases" in arrays)
        if self.rows_last:
            dW, db, dx = self._backward_last(pad, cols, dys[0], W, ones)
        else:
            dy = np.moveaxis(dys[0], 0, 1) if self.first else np.moveaxis(dys[0], -1, 0)
            dW, db, dx = self._backward_first(pad, cols, dy, W, ones)
            dx = dx if self.first else np.moveaxis(dx, 1, -1)
        grads = {"Weights": dW}
        if ones:
            grads["Biases"] = db
        return [dx], grads

    def _backward_first(self, pad, cols, dy, W, ones) -> tuple:
        """dy as (n, B, *So); returns dW, db, dx (channel-first)."""
        g, ng, rows, K = W.shape[0], W.shape[1], W.shape[2] - ones, self.geo.kernel
        dy = np.ascontiguousarray(dy).reshape(g, ng, -1)  # (g, n/g, B·P)
        dWb = np.empty(W.shape, W.dtype)  # (g, n/g, c/g·K + 1)
        dcols = np.empty((g, rows, dy.shape[2]), W.dtype)
        for i in range(g):  # 2-D products: a stacked matmul of transposed views is slower
            np.matmul(dy[i], cols[i].T, out=dWb[i])
            np.matmul(np.ascontiguousarray(W[i, :, :rows].T), dy[i], out=dcols[i])
        B, C = pad.shape[0], pad.shape[1]
        d = dcols.reshape(-1, B, int(np.prod(pad.out))).transpose(1, 0, 2)
        d = np.ascontiguousarray(d).reshape(B, C, *K, *pad.out)  # contiguous adds below
        dxp = pad.zeros()
        for k in offsets(self.geo):
            dxp[pad.at(self.geo, k)] += d[(slice(None), slice(None), *k)]
        dW = dWb[:, :, :rows].reshape(-1, C // g, *K)
        return dW, dWb[:, :, rows:].reshape(-1), pad.crop(dxp)

    def _backward_last(self, pad, cols, dy, W, ones) -> tuple:
        """dy as (B, *So, n); returns dW, db, dx (channel-last)."""
        g, ng, rows, K = W.shape[0], W.shape[2], W.shape[1] - ones, self.geo.kernel
        dy = np.ascontiguousarray(dy).reshape(len(cols), g, ng)
        dWb = np.empty_like(W)
        dcols = np.empty((len(cols), g, rows), W.dtype)
        for i in range(g):
            np.matmul(cols[:, i].T, dy[:, i], out=dWb[i])
            np.matmul(dy[:, i], np.ascontiguousarray(W[i, :rows].T), out=dcols[:, i])
        B, C, nd = pad.shape[0], pad.shape[-1], len(K)
        d = dcols.reshape(B, *pad.out, g, *K, C // g)
        dxp = pad.zeros()
        for k in offsets(self.geo):
            dxp[pad.at(self.geo, k)] += d[(slice(None),) * (2 + nd) + k].reshape(B, *pad.out, C)
        dW = dWb[:, :rows].reshape(g, *K, C // g, ng)
        dW = dW.transpose(0, 2 + nd, 1 + nd, *range(1, 1 + nd)).reshape(g * ng, C // g, *K)
        return dW, dWb[:, rows:].reshape(-1), pad.crop(dxp)


class PoolingOp(_WindowOp):
    """Per channel, over each window of the padded input (padding: zeros for Mean and
    Total, ignored by Max):

    Max:   y = max over the window, dx = dy at the first largest element (row-major);
    Mean:  y = Σ window / K (K the window size, padding counted), dx = dy/K at each element;
    Total: y = Σ window, dx = dy at each element.
    """

    def forward(self, xs, lens, arrays, ctx):
        f = self.layer.options["function"]
        pad = self._padded(xs, lens, -np.inf if f == "Max" else 0.0)
        ks = list(offsets(self.geo))
        y = pad.xp[pad.at(self.geo, ks[0])].copy()
        for k in ks[1:]:
            v = pad.xp[pad.at(self.geo, k)]
            np.maximum(y, v, out=y) if f == "Max" else np.add(y, v, out=y)
        if f == "Mean":
            y *= y.dtype.type(1.0 / len(ks))
        return [y], (pad, y if f == "Max" and ctx.grad else None)

    def backward(self, saved, dys, arrays, ctx):
        pad, y = saved
        (dy,) = dys
        if self.layer.options["function"] == "Mean":
            dy = dy * dy.dtype.type(1.0 / np.prod(self.geo.kernel))
        dxp, zero = pad.zeros(), np.zeros((), dy.dtype)
        taken = None if y is None else np.zeros(y.shape, bool)
        for k in offsets(self.geo):
            at = pad.at(self.geo, k)
            if taken is None:
                dxp[at] += dy
                continue
            hit = (pad.xp[at] == y) & ~taken  # the first window element equal to the max
            dxp[at] += np.where(hit, dy, zero)
            taken |= hit
        return [pad.crop(dxp)], {}
