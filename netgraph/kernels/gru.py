"""The GRU op: a recurrent op (kernels/rnn.py) on the GRU kernels."""

from __future__ import annotations

import numpy as np

from .gru_kernels import GATES, gru_backward, gru_forward
from .rnn import RecurrentOp

# The memory block's state bias, inside the reset product (MATLAB's reset gate mode
# "recurrent-bias-after-multiplication", PyTorch's b_hn): an array of the layer in that mode.
STATE_BIAS = "MemoryGateStateBiases"


class GRUOp(RecurrentOp):
    """Forward and backward of GatedRecurrentLayer on a padded batch; its arrays are fused in
    ``GATES`` order (gru_kernels.py)."""

    names = tuple((f"{g}GateInputWeights", f"{g}GateStateWeights", f"{g}GateBiases") for g in GATES)

    def forward(self, xs, lens, P, ctx):
        run, Z = self.start(xs[0], xs[1], lens, P, ctx)
        B, T, n3 = Z.shape
        n = n3 // 3
        dt, store = ctx.dtype, ctx.grad
        Y = np.zeros((B, T, n), dt)
        A = np.empty((B, T, n3) if store else (0, 0, n3), dt)
        GM = np.empty((B, T, n) if store else (0, 0, n), dt)
        bs = P["named"].get(STATE_BIAS)
        bs = np.zeros(n, dt) if bs is None else np.ascontiguousarray(bs, dt)
        sT = gru_forward(Z=Z, bs=bs, Y=Y, A=A, GM=GM, store=store, **run.forward_args())
        return [Y, sT], ((run, Y, A, GM) if store else None)

    def backward(self, saved, dys, P, ctx):
        run, Y, A, GM = saved
        B, T, n = Y.shape
        dY, dsT = self.output_grads(run, dys[0], dys[1], n)
        dZ = np.zeros((B, T, 3 * n), Y.dtype)
        dG = np.zeros((B, T, 3 * n), Y.dtype)
        ds0 = gru_backward(
            dY=dY, dsT=dsT, A=A, GM=GM, Y=Y, s0=run.s0, dZ=dZ, dG=dG, **run.backward_args()
        )
        dx, grads = self.finish(run, dZ, dG, Y)
        if STATE_BIAS in P["named"]:
            grads[STATE_BIAS] = dG[:, :, 2 * n :].sum((0, 1))
        return [dx, ds0], grads
