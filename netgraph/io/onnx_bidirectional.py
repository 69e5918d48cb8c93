"""A NetBidirectionalOperator of two recurrent layers as one ONNX LSTM, GRU or RNN node with
``direction="bidirectional"``, and back.

ONNX stacks the two directions: W ``(2, G·n, k)``, R ``(2, G·n, n)``, B ``(2, 2·G·n)``,
forward first, each packed as for one direction (onnx_recurrent.py); Y ``(T, 2, B, n)``;
initial and final states ``(2, B, n)``. With sequence_lens the reverse direction reads each
sequence from its own last step, as the operator does. The two layers must be of one type
with the same options (ONNX gives both directions one set of attributes, but for the
activations, listed once per direction).
"""

from __future__ import annotations

import numpy as np

from .onnx_graph import Site
from .onnx_recurrent import OPS, attributes, pack


def _pair(s: Site) -> tuple:
    """The forward and backward layers, or a refusal naming what ONNX cannot hold."""
    f, b = s.layer.layers["ForwardNet"], s.layer.layers["BackwardNet"]
    same = type(f) is type(b) and type(f) in OPS and dict(f.options) == dict(b.options)
    if not same or f.ports["Output"].dims[-1] != b.ports["Output"].dims[-1]:
        where = f'layer "{s.hint}"' if s.path else "the net"
        raise ValueError(
            f"export_onnx: {where} (NetBidirectionalOperator) has no ONNX counterpart: ONNX's "
            "bidirectional LSTM, GRU and RNN hold two recurrent layers of one type, size and "
            "options; this one holds "
            f"{type(f).__name__} and {type(b).__name__}."
        )
    return f, b


def _initial(s: Site, given: list, n_states: int) -> list:
    """The (2, B, n) initial states: each direction's, or zeros beside a given one."""
    out = []
    for i in range(n_states):
        fw, bw = given[i], given[n_states + i]
        if fw is None and bw is None:
            out.append("")
            continue
        zero = s.op1("Mul", [fw or bw, s.b.const(0.0)])
        parts = [s.op1("Unsqueeze", [h or zero, s.b.ints([0])]) for h in (fw, bw)]
        out.append(s.op1("Concat", parts, axis=0))
    return out


def emit_bidirectional(s: Site) -> list:
    f, b = _pair(s)
    (Wf, Rf, Bf), (Wb, Rb, Bb) = pack(f, s.b.dtype), pack(b, s.b.dtype)
    n = Rf.shape[-1]
    W, R, B = (np.concatenate(p) for p in ((Wf, Wb), (Rf, Rb), (Bf, Bb)))
    x = s.op1("Transpose", [s.xs[0]], perm=[1, 0, 2])
    lens = s.b.lens32(s.var("Input"))
    k = len(f.state_ports)
    ins = [x, s.weight("W", W), s.weight("R", R), s.weight("B", B), lens]
    ins += _initial(s, s.xs[1:], k)
    outs = s.b.op(
        OPS[type(f)],
        ins,
        s.hint,
        outputs=1 + k,
        hidden_size=n,
        direction="bidirectional",
        **{k: v + v if k.startswith("activation") else v for k, v in attributes(f).items()},
    )
    agg = s.layer.options["aggregation"]
    if agg == "Catenate":  # (T, 2, B, n) → (B, T, 2, n) → (B, T, 2n)
        y = s.op1("Transpose", [outs[0]], perm=[2, 0, 1, 3])
        y = s.op1("Reshape", [y, s.b.ints([0, 0, 2 * n])])
    else:
        fw, bw = (s.op1("Gather", [outs[0], s.b.ints(d)], axis=1) for d in (0, 1))
        y = s.op1("Add", [fw, bw])
        if agg == "Mean":
            y = s.op1("Mul", [y, s.b.const(0.5)])
        y = s.op1("Transpose", [y], perm=[1, 0, 2])
    finals = [s.op1("Gather", [h, s.b.ints(d)], axis=0) for d in (0, 1) for h in outs[1:]]
    return [s.masked(y), *finals]


def split_directions(node: dict, tensors: dict) -> None:
    """A described bidirectional node's inner layers pointed at their halves of the stacked
    W, R and B (added to ``tensors`` under new names), so that each reads as one direction."""
    roles = node.get("onnx") or {}
    for d, name in enumerate(("ForwardNet", "BackwardNet")):
        inner = (node.get("layers") or {}).get(name)
        if not isinstance(inner, dict):
            continue
        halves = {}
        for role, tensor in roles.items():
            if tensor in tensors and np.ndim(tensors[tensor]) >= 1 and len(tensors[tensor]) == 2:
                tensors[f"{tensor}#{d}"] = tensors[tensor][d : d + 1]
                halves[role] = f"{tensor}#{d}"
        inner["onnx"] = halves
