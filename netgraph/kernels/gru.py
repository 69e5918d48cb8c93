"""The GRU op: fused arrays (gate order i, r, m), dropout masks, batch sorting, and the
numba kernels."""

from __future__ import annotations

import numpy as np

from .gru_kernels import gru_backward, gru_forward
from .rnn import RecurrentOp

GATES = ("Input", "Reset", "Memory")  # fused order: i, r, m


class GRUOp(RecurrentOp):
    """Forward and backward of GatedRecurrentLayer on a padded batch."""

    names = tuple((f"{g}GateInputWeights", f"{g}GateStateWeights", f"{g}GateBiases") for g in GATES)

    def forward(self, xs, lens, P, ctx):
        run, Z = self.start(xs, lens, P, ctx)
        T, B, n3 = Z.shape
        n = n3 // 3
        dt = ctx.dtype
        Y = np.zeros((T, B, n), dt)
        A = np.empty((T, B, n3), dt)
        GM = np.empty((T, B, n), dt)
        P = run.P
        sT = gru_forward(Z, P["Ws"], P["Wsg"], run.s0, run.batch_sizes, run.ms, Y, A, GM)
        return [Y.transpose(1, 0, 2)[run.inv], sT[run.inv]], (run, Y, A, GM)

    def backward(self, saved, dys, P, ctx):
        run, Y, A, GM = saved
        T, B, n = Y.shape
        dYt, dsT = self.sorted_grads(run, dys[0], dys[1], n)
        dZ = np.zeros((T, B, 3 * n), Y.dtype)
        dG = np.zeros((T, B, 3 * n), Y.dtype)
        P = run.P
        ds0 = gru_backward(
            dYt, dsT, A, GM, Y, run.s0, P["WsT"], P["WsgT"], run.batch_sizes, run.ms, dZ, dG
        )
        dx, grads = self.finish(run, dZ, dG, Y)
        return [dx, ds0[run.inv]], grads
