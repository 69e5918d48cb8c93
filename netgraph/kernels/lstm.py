"""The LSTM op: a recurrent op (kernels/rnn.py) with a cell, and the StateUpdate mask."""

from __future__ import annotations

import numpy as np

from . import threads
from .lstm_kernels import GATES, lstm_backward, lstm_forward
from .rnn import GATE_KINDS, STATE_KINDS, RecurrentOp, keep_mask


class LSTMOp(RecurrentOp):
    """Forward and backward of LongShortTermMemoryLayer on a padded batch; its arrays are fused
    in ``GATES`` order (lstm_kernels.py)."""

    names = tuple((f"{g}GateInputWeights", f"{g}GateStateWeights", f"{g}GateBiases") for g in GATES)

    def __init__(self, layer, types):
        super().__init__(layer, types)
        self.gk = GATE_KINDS[layer.options["gate_activation"]]
        self.sk = STATE_KINDS[layer.options["state_activation"]]

    def _masks(self, ctx, B, T, k, n):
        """The shared masks, then StateUpdate's: one per step, sequence and unit (T, B, n)."""
        masks = super()._masks(ctx, B, T, k, n)
        q = self.dropout.get("StateUpdate") if ctx.training else None
        if q:
            masks["u"] = keep_mask(ctx.rng, (T, B, n), q, ctx.dtype)
        return masks

    def forward_pass(self, xs, lens, P, ctx, *, parts, work):
        run = self.begin(xs[0], xs[1], lens, P, ctx, parts=parts, work=work)
        c0 = xs[2]
        B, T, _ = run.x.shape
        n = run.s0.shape[1]
        n4 = 4 * n
        dt, store = ctx.dtype, ctx.grad
        c0 = np.zeros((B, n), dt) if c0 is None else np.ascontiguousarray(c0, dt)
        masks = run.masks
        u = np.ascontiguousarray(masks["u"].transpose(1, 0, 2)) if "u" in masks else None
        Y = np.zeros((B, T, n), dt)
        A = np.empty((B, T, n4) if store else (0, 0, n4), dt)
        C = np.empty((B, T, n) if store else (0, 0, n), dt)
        SC = np.empty_like(C)
        S, c = run.states(run.s0), run.in_order(c0)
        threads.run(
            lstm_forward,
            run.parts,
            **run.inputs(),
            S=S,
            c=c,
            gk=self.gk,
            sk=self.sk,
            u=u,
            Y=Y,
            A=A,
            C=C,
            SC=SC,
            store=store,
            **run.forward_args(inputs=True),
        )
        sT, cT = run.finals(S), run.batch_order(c)
        return [Y, sT, cT], ((run, c0, u, Y, A, C, SC) if store else None)

    def backward_pass(self, saved, dys, P, ctx):
        run, c0, u, Y, A, C, SC = saved
        B, T, n = Y.shape
        dY, dsT = self.output_grads(run, dys[0], dys[1], n)
        dcT = np.ascontiguousarray(dys[2], Y.dtype)
        dZ = np.zeros((B, T, 4 * n), Y.dtype)
        ds, dc = run.in_order(dsT), run.in_order(dcT)
        threads.run(
            lstm_backward,
            run.parts,
            dY=dY,
            ds=ds,
            dc=dc,
            A=A,
            C=C,
            SC=SC,
            c0=c0,
            gk=self.gk,
            sk=self.sk,
            u=u,
            dZ=dZ,
            D2=np.empty((2, B, 4 * n), Y.dtype),
            **run.backward_args(),
        )
        dx, grads = self.finish(run, dZ, dZ, Y)  # z = Wx·x + Ws·s + b: one gradient for both
        return [dx, run.batch_order(ds), run.batch_order(dc)], grads
