"""The GRU op: a recurrent op (kernels/rnn.py) on the GRU kernels."""

from __future__ import annotations

import numpy as np

from . import threads
from .gru_kernels import GATES, MG, RG, gru_backward, gru_forward
from .rnn import GATE_KINDS, STATE_KINDS, RecurrentOp

# The memory block's state bias, inside the reset product (MATLAB's reset gate mode
# "recurrent-bias-after-multiplication", PyTorch's b_hn): an array of the layer in that mode.
STATE_BIAS = "MemoryGateStateBiases"
# MATLAB's gruLayer ResetGateMode values: r applied after the state product (Wolfram's), after
# it with a state bias inside (PyTorch's), or to the state before the product (Keras's
# reset_after=False, ONNX's linear_before_reset=0)
RESET_GATE_MODES = (
    "after-multiplication",
    "recurrent-bias-after-multiplication",
    "before-multiplication",
)


class GRUOp(RecurrentOp):
    """Forward and backward of GatedRecurrentLayer on a padded batch; its arrays are fused in
    ``GATES`` order (gru_kernels.py)."""

    names = tuple((f"{g}GateInputWeights", f"{g}GateStateWeights", f"{g}GateBiases") for g in GATES)

    def __init__(self, layer, types):
        super().__init__(layer, types)
        o = layer.options
        self.gk = GATE_KINDS[o["gate_activation"]]
        self.sk = STATE_KINDS[o["state_activation"]]
        self.before = o["reset_gate_mode"] == RESET_GATE_MODES[2]

    def forward_pass(self, xs, lens, P, ctx, *, parts, work):
        run = self.begin(xs[0], xs[1], lens, P, ctx, parts=parts, work=work)
        n = run.P["Ws"].shape[0]
        if self.before:  # the first product takes the i and r blocks only
            run.extra = {"Ws_ir": run.P["Ws"][:, : MG * n], "WsT_ir": run.P["WsT"][: MG * n]}
        B, T, _ = run.x.shape
        n3 = 3 * n
        dt, store = ctx.dtype, ctx.grad
        Y = np.zeros((B, T, n), dt)
        # before the product, backward reads r at every step, padding included: zeros there
        A = (np.zeros if self.before else np.empty)((B, T, n3) if store else (0, 0, n3), dt)
        GM = np.empty((B, T, n) if store and not self.before else (0, 0, n), dt)
        bs = P["named"].get(STATE_BIAS)
        bs = np.zeros(n, dt) if bs is None else np.ascontiguousarray(bs, dt)
        rs = np.empty((B, n), dt) if self.before else None
        S = run.states(run.s0)
        threads.run(
            gru_forward,
            run.parts,
            **run.inputs(),
            S=S,
            bs=bs,
            gk=self.gk,
            sk=self.sk,
            rs=rs,
            Y=Y,
            A=A,
            GM=GM,
            store=store,
            **run.forward_args("Ws_ir" if self.before else "Ws", inputs=True),
        )
        return [Y, run.finals(S)], ((run, Y, A, GM) if store else None)

    def backward_pass(self, saved, dys, P, ctx):
        run, Y, A, GM = saved
        B, T, n = Y.shape
        dY, dsT = self.output_grads(run, dys[0], dys[1], n)
        dZ = np.zeros((B, T, 3 * n), Y.dtype)
        dG = np.zeros((B, T, 3 * n), Y.dtype)
        rs = np.empty((B, n), Y.dtype) if self.before else None
        ds = run.in_order(dsT)
        threads.run(
            gru_backward,
            run.parts,
            dY=dY,
            ds=ds,
            A=A,
            GM=GM,
            Y=Y,
            s0=run.s0,
            gk=self.gk,
            sk=self.sk,
            rs=rs,
            dZ=dZ,
            dG=dG,
            D2=np.empty((2, B, 3 * n), Y.dtype),
            **run.backward_args("WsT_ir" if self.before else "WsT"),
        )
        dx, grads = self.finish(run, dZ, dG, Y)
        if STATE_BIAS in P["named"]:
            grads[STATE_BIAS] = dG[:, :, MG * n :].sum((0, 1))
        if self.before:
            grads[self.names[MG][1]] = self.reset_state_grad(run, dG, A, Y)
        return [dx, run.batch_order(ds)], grads

    def reset_state_grad(self, run, dG, A, Y):
        """The gradient of the memory block's state weights when r resets the state before
        the product: Σ dgm·(r*(s∘ms_m))ᵀ over every step (the state before each step)."""
        B, T, n = Y.shape
        S = np.concatenate([run.s0[:, None], Y[:, :-1]], axis=1) * A[:, :, RG * n : (RG + 1) * n]
        if "s" in run.masks:
            S = S * run.masks["s"][:, None, MG]
        g = run.gemm(dG[:, :, MG * n :].reshape(B * T, n).T, S.reshape(B * T, n))
        w = run.masks.get("w", {}).get(self.names[MG][1])
        return g if w is None else g * w
