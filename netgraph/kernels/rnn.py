"""The basic recurrent op, and what the GRU and LSTM ops share with it: fused arrays,
dropout masks, the batch's order by decreasing length, the inputs laid out for the kernels
(which project each step's inputs themselves) and the weight gradients as a few big GEMMs."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import threads
from .base import Op, by_length, unpadded
from .packed import pack, ready
from .rnn_kernels import rnn_backward, rnn_forward
from .settings import OPTIONS, lanes

# The gated cells' activations (LSTM, GRU): σg and σs, by kind (fastmath.py's dgate,
# dsquash). The default is None, not 0: numba prunes a branch on an argument that is None, so
# a kernel called with the default kinds compiles their code only, and another kind's call
# compiles that kind's code only (a cold start compiles what the net runs).
GATE_KINDS = {"LogisticSigmoid": None, "HardSigmoid": 1}
STATE_KINDS = {"Tanh": None, "SoftSign": 1}
ACTIVATIONS = {"Tanh": 0, "Ramp": 1, "ReLU": 1, "LogisticSigmoid": 2, "SoftSign": 3, "Identity": 4}


def fuse(arrays: dict, names: tuple) -> dict:
    """Per-gate arrays, ``names`` = ((input weights, state weights, biases), …) in fused
    order, as Wx (k, G·n), WxT, per-gate Wxg (G, k, n) = Wx_gᵀ, Ws (n, G·n), WsT, per-gate
    Wsg (G, n, n) = Ws_gᵀ, WsgT, b;
    "packed" caches the state weights packed for the micro-kernel (``state_weights``)."""
    Wx = np.concatenate([arrays[wx] for wx, _, _ in names])  # (G·n, k)
    Ws = np.concatenate([arrays[ws] for _, ws, _ in names])  # (G·n, n)
    return {
        "Wx": np.ascontiguousarray(Wx.T),
        "WxT": np.ascontiguousarray(Wx),
        "Ws": np.ascontiguousarray(Ws.T),
        "WsT": np.ascontiguousarray(Ws),
        "Wxg": np.ascontiguousarray(np.stack([arrays[wx].T for wx, _, _ in names])),
        "Wsg": np.ascontiguousarray(np.stack([arrays[ws].T for _, ws, _ in names])),
        "WsgT": np.ascontiguousarray(np.stack([arrays[ws] for _, ws, _ in names])),
        "b": np.concatenate([arrays[b] for _, _, b in names]),
        "packed": {},
        "named": arrays,
    }


def state_weights(
    P: dict, work: float, extra: dict | None = None, inputs: bool = False, rows: int = 2
) -> dict:
    """The state weights for the kernel in use (settings.py): "Ws" (n, G·n) and "WsT"
    (G·n, n) fused, "Wsg" and "WsgT" per gate, and "lanes"; with ``inputs``, the input
    weights too, "Wx" (k, G·n) fused and "Wxg" per gate (each step projects its own
    inputs). For BLAS (lanes None) they are P's own; for the micro-kernel, packed into its
    panels (kernels/packed.py) at the first call that needs them and kept with the fused
    arrays, so once per plan and arrays (a plan prepares its arrays again when they change).
    ``extra``: more arrays by name, given and packed alike (the GRU's first two gates). With
    the kernel "auto", a call whose state products take fewer than ``threads.SMALL_WORK``
    multiply-adds, or whose batch has one row (``rows``: a stream, one sequence), runs on
    BLAS: a one-row product is a matrix-vector product, which BLAS runs at the speed the
    memory delivers the weights (the micro-kernel's one-row tile is slower at it), and a
    small call skips the micro-kernel's costlier dispatch."""
    extra = extra or {}
    names = ("Ws", "WsT", "Wsg", "WsgT") + (("Wx", "Wxg") if inputs else ())
    auto = OPTIONS["kernel"] == "auto"
    width = None if auto and (work < threads.SMALL_WORK or rows == 1) else lanes()
    if width is None:
        return {**{k: P[k] for k in names}, **extra, "lanes": None}
    ready(P["Ws"].dtype, width.bits)
    kept = P["packed"].setdefault(width.bits, {})
    if not kept:
        kept["Ws"] = pack(P["Ws"], width)
        kept["WsT"] = pack(P["WsT"], width)
        kept["Wsg"] = np.stack([pack(np.ascontiguousarray(w.T), width) for w in P["WsgT"]])
        kept["WsgT"] = np.stack([pack(w, width) for w in P["WsgT"]])
    if inputs and "Wx" not in kept:
        kept["Wx"] = pack(P["Wx"], width)
        kept["Wxg"] = np.stack([pack(w, width) for w in P["Wxg"]])
    for name, w in extra.items():
        if name not in kept:
            kept[name] = pack(np.ascontiguousarray(w), width)
    return {**{k: kept[k] for k in names}, **{k: kept[k] for k in extra}, "lanes": width}


def keep_mask(rng, shape, p, dtype):
    """A dropout mask: kept entries 1/(1−p), dropped 0."""
    return ((rng.random(shape) >= p) / (1.0 - p)).astype(dtype)


@dataclass
class Pass:
    """One forward pass, batch-major, with the order of the rows by decreasing length; kept
    for backward."""

    P: dict  # fused arrays (with VariationalWeights masks applied)
    masks: dict  # "w": weight masks by array name, "x" (B, G, k), "s" (B, G, n); unsorted
    order: np.ndarray  # the batch rows by decreasing length
    batch_sizes: np.ndarray  # (T,) rows still running at each step
    x: np.ndarray  # (B, T, k) input
    s0: np.ndarray  # (B, n) initial state
    ms: np.ndarray  # (B, G, n) state masks, rows in ``order``, or empty
    parts: int  # the threads that split the pass (kernels/threads.py)
    work: float  # the multiply-adds of its state products
    extra: dict | None = None  # more state weights, by name (state_weights)
    # whether every row runs every step: then ``order`` is the batch's own
    full: bool = field(init=False)

    def __post_init__(self):
        self.full = len(self.batch_sizes) == 0 or int(self.batch_sizes[-1]) == len(self.order)

    def forward_args(self, Ws: str = "Ws", inputs: bool = False) -> dict:
        """The arguments every recurrent forward kernel takes from the pass, by name; ``Ws``
        names the fused state weights it takes (state_weights); with ``inputs``, the input
        weights too ("Wx", "Wxg")."""
        w = state_weights(self.P, self.work, self.extra, inputs, len(self.order))
        args = {
            "Ws": w[Ws],
            "Wsg": w["Wsg"],
            "order": self.order,
            "batch_sizes": self.batch_sizes,
            "ms": self.ms,
            "lanes": w["lanes"],
        }
        return {**args, "Wx": w["Wx"], "Wxg": w["Wxg"]} if inputs else args

    def backward_args(self, WsT: str = "WsT") -> dict:
        """The arguments every recurrent backward kernel takes from the pass, by name."""
        w = state_weights(self.P, self.work, self.extra, rows=len(self.order))
        return {
            "WsT": w[WsT],
            "WsgT": w["WsgT"],
            "order": self.order,
            "batch_sizes": self.batch_sizes,
            "ms": self.ms,
            "lanes": w["lanes"],
        }

    def inputs(self) -> dict:
        """The forward kernels' inputs, which each step projects itself: X (T, B, k)
        time-major, rows in ``order`` (so that a step's rows are one contiguous block, whose
        product compiles for the states' layout); the input masks "mx" (B, G, k), rows in
        ``order``, or None; the biases."""
        x = self.x.transpose(1, 0, 2)
        mx = self.masks.get("x")
        return {
            "X": np.ascontiguousarray(x if self.full else x[:, self.order]),
            "mx": None if mx is None else np.ascontiguousarray(mx[self.order]),
            "bias": self.P["b"],
        }

    def gemm(self, a, b):
        """a @ b on the pass's threads (threads.gemm)."""
        return threads.gemm(a, b, self.parts)

    def in_order(self, a):
        """The rows of a (B, …) by decreasing length, as the kernels keep them: a copy."""
        return a.copy() if self.full else a[self.order]

    def batch_order(self, a):
        """Undo ``in_order`` (a itself when the order is the batch's)."""
        if self.full:
            return a
        out = np.empty_like(a)
        out[self.order] = a
        return out

    def states(self, s0):
        """The kernels' double buffer of running states (2, B, n), the initial ones first."""
        S = np.empty((2, *s0.shape), s0.dtype)
        S[0] = s0 if self.full else s0[self.order]
        return S

    def finals(self, S):
        """The final states (B, n), batch order, from the double buffer after the loop: a
        row of length L ends in S[L % 2]."""
        B, T = len(self.order), len(self.batch_sizes)
        if self.full:
            return S[T % 2].copy()
        lengths = (self.batch_sizes[None, :] > np.arange(B)[:, None]).sum(1)
        return self.batch_order(S[lengths % 2, np.arange(B)])


class RecurrentOp(Op):
    """Forward preparation and backward completion shared by the recurrent ops; a subclass
    names its per-gate arrays in fused order and runs its kernels in between."""

    numba_blas = True  # its kernels call BLAS through numba: see kernels/blas.py

    names: tuple = ()

    def __init__(self, layer, types):
        super().__init__(layer, types)
        self.dropout = dict(layer.options["dropout"])

    def prepare(self, arrays: dict) -> dict:
        return fuse(arrays, self.names)

    def forward(self, xs, lens, P, ctx):
        B, T = xs[0].shape[:2]
        steps = B * T if unpadded(lens[0], T) else float(np.minimum(lens[0], T).sum())
        n = P["Ws"].shape[0]
        work = steps * len(self.names) * n * n
        parts = threads.parts_for(work)
        with threads.blas_for(parts, work):
            return self.forward_pass(xs, lens, P, ctx, parts=parts, work=work)

    def backward(self, saved, dys, P, ctx):
        with threads.blas_for(saved[0].parts, saved[0].work):
            return self.backward_pass(saved, dys, P, ctx)

    def _masks(self, ctx, B, T, k, n):
        """Dropout masks for this pass (training only): weights once per pass, input and
        state once per sequence and gate."""
        p = self.dropout if ctx.training else {}
        if not p:
            return {}
        rng, dt, G = ctx.rng, ctx.dtype, len(self.names)
        masks = {}
        if p.get("VariationalWeights"):
            q = p["VariationalWeights"]
            masks["w"] = {
                a: keep_mask(rng, shape, q, dt)
                for wx, ws, _ in self.names
                for a, shape in ((wx, (n, k)), (ws, (n, n)))
            }
        if p.get("VariationalInput"):
            masks["x"] = keep_mask(rng, (B, G, k), p["VariationalInput"], dt)
        if p.get("VariationalState"):
            masks["s"] = keep_mask(rng, (B, G, n), p["VariationalState"], dt)
        return masks

    def begin(self, x, s0, lens, P, ctx, *, parts, work) -> Pass:
        """Order the batch by length and draw the masks: the pass (whose kernels project
        each step's inputs themselves, ``Pass.inputs``)."""
        B, T, k = x.shape
        n = P["Ws"].shape[0]
        dt = ctx.dtype
        order, batch_sizes = by_length(lens[0], B, T)
        masks = self._masks(ctx, B, T, k, n)
        if "w" in masks:
            named = P["named"]
            dropped = {a: named[a] * m for a, m in masks["w"].items()}
            P = fuse({**named, **dropped}, self.names)
        x = np.ascontiguousarray(x, dt)
        s0 = np.zeros((B, n), dt) if s0 is None else np.ascontiguousarray(s0, dt)
        ms = np.ascontiguousarray(masks["s"][order]) if "s" in masks else None
        return Pass(P, masks, order, batch_sizes, x, s0, ms, parts, work)

    def output_grads(self, run: Pass, dy, dsT, n):
        """The output and final-state gradients, contiguous in the pass's precision."""
        dt = run.x.dtype
        dY = np.ascontiguousarray(dy, dt)
        B = len(run.order)
        dsT = np.zeros((B, n), dt) if dsT is None else np.ascontiguousarray(dsT, dt)
        return dY, dsT

    def finish(self, run: Pass, dZ, dG, Y):
        """Input gradient (B, T, k) and array gradients from dZ (gradient of x·Wx + b) and
        dG (gradient of the state products), both (B, T, G·n): a few GEMMs over all steps."""
        B, T, n = Y.shape
        P, x, masks = run.P, run.x, run.masks
        k, G = x.shape[2], len(self.names)
        dZ2 = dZ.reshape(B * T, G * n)
        dG2 = dG.reshape(B * T, G * n)
        S3 = np.concatenate([run.s0[:, None], Y[:, :-1]], axis=1)  # the state before each step
        if "x" in masks:
            dWx = np.empty((k, G * n), Y.dtype)
            dX = np.zeros((B, T, k), Y.dtype)
            for g in range(G):
                sl = slice(g * n, (g + 1) * n)
                mg = masks["x"][:, None, g]
                dWx[:, sl] = run.gemm((x * mg).reshape(B * T, k).T, dZ2[:, sl])
                dX += run.gemm(dZ2[:, sl], P["WxT"][sl]).reshape(B, T, k) * mg
        else:
            dWx = run.gemm(x.reshape(B * T, k).T, dZ2)
            dX = run.gemm(dZ2, P["WxT"]).reshape(B, T, k)
        if "s" in masks:
            dWs = np.empty((n, G * n), Y.dtype)
            for g in range(G):
                sl = slice(g * n, (g + 1) * n)
                Sg = (S3 * masks["s"][:, None, g]).reshape(B * T, n)
                dWs[:, sl] = run.gemm(Sg.T, dG2[:, sl])
        else:
            dWs = run.gemm(S3.reshape(B * T, n).T, dG2)
        db = dZ2.sum(0)
        grads = {}
        for g, (wx, ws, b) in enumerate(self.names):
            sl = slice(g * n, (g + 1) * n)
            grads[wx] = np.ascontiguousarray(dWx[:, sl].T)
            grads[ws] = np.ascontiguousarray(dWs[:, sl].T)
            grads[b] = db[sl]
        for a, m in masks.get("w", {}).items():
            grads[a] = grads[a] * m
        return dX, grads


class BasicRecurrentOp(RecurrentOp):
    """Forward and backward of BasicRecurrentLayer, s' = f(Wx·x + Ws·s + b), on a padded batch."""

    names = (("InputWeights", "StateWeights", "Biases"),)

    def __init__(self, layer, types):
        super().__init__(layer, types)
        self.kind = ACTIVATIONS[layer.options["activation"]]

    def forward_pass(self, xs, lens, P, ctx, *, parts, work):
        run = self.begin(xs[0], xs[1], lens, P, ctx, parts=parts, work=work)
        B, T, _ = run.x.shape
        Y = np.zeros((B, T, run.s0.shape[1]), ctx.dtype)
        S = run.states(run.s0)
        args = run.forward_args(inputs=True)
        threads.run(rnn_forward, run.parts, **run.inputs(), S=S, Y=Y, kind=self.kind, **args)
        return [Y, run.finals(S)], ((run, Y) if ctx.grad else None)

    def backward_pass(self, saved, dys, P, ctx):
        run, Y = saved
        B, T, n = Y.shape
        dY, dsT = self.output_grads(run, dys[0], dys[1], n)
        dZ = np.zeros((B, T, n), Y.dtype)
        ds = run.in_order(dsT)
        D2 = np.empty((2, B, n), Y.dtype)
        args = run.backward_args()
        threads.run(
            rnn_backward, run.parts, dY=dY, ds=ds, Y=Y, kind=self.kind, dZ=dZ, D2=D2, **args
        )
        dx, grads = self.finish(run, dZ, dZ, Y)
        return [dx, run.batch_order(ds)], grads
