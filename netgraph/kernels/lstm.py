"""The LSTM op: fused arrays, dropout masks, batch sorting, and the numba kernels."""

from __future__ import annotations

import numpy as np

from .base import Op, by_length
from .blas import gemm
from .lstm_kernels import lstm_backward, lstm_forward

GATES = ("Input", "Forget", "Output", "Memory")  # fused order: i, f, o, m
GATE_KINDS = {"LogisticSigmoid": 0, "HardSigmoid": 1}
STATE_KINDS = {"Tanh": 0, "SoftSign": 1}
_NONE3 = {np.dtype(t): np.zeros((0, 0, 0), t) for t in (np.float32, np.float64)}
_NONE3.update({t: _NONE3[np.dtype(t)] for t in (np.float32, np.float64)})


def fuse(arrays: dict) -> dict:
    """The twelve named arrays as Wx (k, 4n), Ws (n, 4n), WsT (4n, n), per-gate Ws, b (4n)."""
    Wx = np.concatenate([arrays[f"{g}GateInputWeights"] for g in GATES])  # (4n, k)
    Ws = np.concatenate([arrays[f"{g}GateStateWeights"] for g in GATES])  # (4n, n)
    return {
        "Wx": np.ascontiguousarray(Wx.T),
        "WxT": np.ascontiguousarray(Wx),
        "Ws": np.ascontiguousarray(Ws.T),
        "WsT": np.ascontiguousarray(Ws),
        "Wsg": np.ascontiguousarray(np.stack([arrays[f"{g}GateStateWeights"].T for g in GATES])),
        "WsgT": np.ascontiguousarray(np.stack([arrays[f"{g}GateStateWeights"] for g in GATES])),
        "b": np.concatenate([arrays[f"{g}GateBiases"] for g in GATES]),
        "named": arrays,
    }


def _keep(rng, shape, p, dtype):
    """A dropout mask: kept entries 1/(1−p), dropped 0."""
    return ((rng.random(shape) >= p) / (1.0 - p)).astype(dtype)


class LSTMOp(Op):
    """Forward and backward of LongShortTermMemoryLayer on a padded batch."""

    numba_blas = True  # its kernels call BLAS through numba: see kernels/blas.py

    def __init__(self, layer, types):
        super().__init__(layer, types)
        self.gk = GATE_KINDS[layer.options["gate_activation"]]
        self.sk = STATE_KINDS[layer.options["state_activation"]]
        self.dropout = dict(layer.options["dropout"])

    def prepare(self, arrays: dict) -> dict:
        return fuse(arrays)

    def _masks(self, ctx, B, T, k, n):
        """Dropout masks for this pass (training only), as the DESIGN table says."""
        p = self.dropout if ctx.training else {}
        if not p:
            return {}
        rng, dt = ctx.rng, ctx.dtype
        masks = {}
        if p.get("VariationalWeights"):
            q = p["VariationalWeights"]
            masks["w"] = {
                f"{g}Gate{part}": _keep(rng, shape, q, dt)
                for g in GATES
                for part, shape in (("InputWeights", (n, k)), ("StateWeights", (n, n)))
            }
        if p.get("VariationalInput"):
            masks["x"] = _keep(rng, (B, 4, k), p["VariationalInput"], dt)
        if p.get("VariationalState"):
            masks["s"] = _keep(rng, (B, 4, n), p["VariationalState"], dt)
        if p.get("StateUpdate"):
            masks["u"] = _keep(rng, (T, B, n), p["StateUpdate"], dt)
        return masks

    def forward(self, xs, lens, P, ctx):
        x, s0, c0 = xs
        B, T, k = x.shape
        n = P["Ws"].shape[0]
        dt = ctx.dtype
        order, batch_sizes = by_length(lens[0], B, T)
        masks = self._masks(ctx, B, T, k, n)
        if "w" in masks:
            P = fuse({**P["named"], **{a: P["named"][a] * m for a, m in masks["w"].items()}})
        x = np.ascontiguousarray(x, dt)
        X2 = x.reshape(B * T, k)
        if "x" in masks:
            Z = np.empty((B, T, 4 * n), dt)
            for g in range(4):
                Xg = (x * masks["x"][:, None, g]).reshape(B * T, k)
                Z[:, :, g * n : (g + 1) * n] = gemm(Xg, P["Wx"][:, g * n : (g + 1) * n]).reshape(
                    B, T, n
                )
            Z += P["b"]
        else:
            # A few rows (streaming): numpy's matmul turns them into a GEMV, faster than a
            # one-row GEMM and too small to start numpy's BLAS threads.
            Z = X2 @ P["Wx"] if B * T <= 4 else gemm(X2, P["Wx"])
            Z += P["b"]
            Z = Z.reshape(B, T, 4 * n)
        s0 = np.zeros((B, n), dt) if s0 is None else np.ascontiguousarray(s0, dt)
        c0 = np.zeros((B, n), dt) if c0 is None else np.ascontiguousarray(c0, dt)
        ms = np.ascontiguousarray(masks["s"][order]) if "s" in masks else _NONE3[dt]
        u = np.ascontiguousarray(masks["u"].transpose(1, 0, 2)) if "u" in masks else _NONE3[dt]
        store = ctx.grad
        Y = np.zeros((B, T, n), dt)
        A = np.empty((B, T, 4 * n) if store else (0, 0, 4 * n), dt)
        C = np.empty((B, T, n) if store else (0, 0, n), dt)
        SC = np.empty_like(C)
        sT, cT = lstm_forward(
            Z,
            P["Ws"],
            P["Wsg"],
            s0,
            c0,
            order,
            batch_sizes,
            self.gk,
            self.sk,
            ms,
            u,
            Y,
            A,
            C,
            SC,
            store,
        )
        saved = (P, masks, order, batch_sizes, X2, x, s0, c0, ms, u, Y, A, C, SC) if store else None
        return [Y, sT, cT], saved

    def backward(self, saved, dys, P, ctx):
        P, masks, order, batch_sizes, X2, x, s0, c0, ms, u, Y, A, C, SC = saved
        dy, dsT, dcT = dys
        B, T, n = Y.shape
        k = X2.shape[1]
        dZ = np.zeros((B, T, 4 * n), Y.dtype)
        ds0, dc0 = lstm_backward(
            np.ascontiguousarray(dy),
            np.ascontiguousarray(dsT),
            np.ascontiguousarray(dcT),
            A,
            C,
            SC,
            c0,
            P["WsT"],
            P["WsgT"],
            order,
            batch_sizes,
            self.gk,
            self.sk,
            ms,
            u,
            dZ,
        )
        dZ2 = dZ.reshape(B * T, 4 * n)
        Sprev = np.concatenate([s0[:, None], Y[:, :-1]], axis=1).reshape(B * T, n)
        if "x" in masks:
            dWx = np.empty((k, 4 * n), Y.dtype)
            dX = np.zeros((B, T, k), Y.dtype)
            for g in range(4):
                sl = slice(g * n, (g + 1) * n)
                mg = masks["x"][:, None, g]
                dWx[:, sl] = gemm((x * mg).reshape(B * T, k).T, dZ2[:, sl])
                dX += gemm(dZ2[:, sl], P["WxT"][sl]).reshape(B, T, k) * mg
        else:
            dWx = gemm(X2.T, dZ2)
            dX = gemm(dZ2, P["WxT"]).reshape(B, T, k)
        if "s" in masks:
            dWs = np.empty((n, 4 * n), Y.dtype)
            S3 = Sprev.reshape(B, T, n)
            for g in range(4):
                sl = slice(g * n, (g + 1) * n)
                dWs[:, sl] = gemm((S3 * masks["s"][:, None, g]).reshape(B * T, n).T, dZ2[:, sl])
        else:
            dWs = gemm(Sprev.T, dZ2)
        db = dZ2.sum(0)
        grads = {}
        for g, name in enumerate(GATES):
            sl = slice(g * n, (g + 1) * n)
            grads[f"{name}GateInputWeights"] = np.ascontiguousarray(dWx[:, sl].T)
            grads[f"{name}GateStateWeights"] = np.ascontiguousarray(dWs[:, sl].T)
            grads[f"{name}GateBiases"] = db[sl]
        for a, m in masks.get("w", {}).items():
            grads[a] = grads[a] * m
        return [dX, ds0, dc0], grads
