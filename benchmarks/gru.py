"""GatedRecurrentLayer against PyTorch's CPU nn.GRU, on this machine, in one run.

netgraph's layer is the one ``from_pytorch`` makes of the nn.GRU, so it has the same weights
and PyTorch's reset gate mode ("recurrent-bias-after-multiplication": r scales the state
product plus its bias b_hn). Everything else is benchmarks/lstm.py's: the same sizes, checks
(outputs and the reset gate's input-weight gradient agree before anything is timed),
interleaved medians and ratios (torch time / netgraph time: above 1, netgraph is faster).

    python benchmarks/gru.py --quick
    python benchmarks/gru.py --sizes 64x100x64x256
"""

from __future__ import annotations

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import lstm as bench  # noqa: E402  (benchmarks/lstm.py: the harness this reuses)
import torch  # noqa: E402

from netgraph import NetStateObject, from_pytorch  # noqa: E402


def make_pair(k, n, seed=1):
    """An nn.GRU and the netgraph layer holding its weights."""
    torch.manual_seed(seed)
    gru = torch.nn.GRU(k, n, batch_first=True)
    return from_pytorch(gru, input=("Varying", k)), gru


def streaming(k, n, steps, repeats):
    """µs per step: NetStateObject(net)(x_step) vs gru(x_step, h)."""
    net, gru = make_pair(k, n)
    xs = np.random.default_rng(2).standard_normal((steps, k)).astype(np.float32)
    xts = [torch.from_numpy(xs[i : i + 1][None]) for i in range(steps)]

    def ng_run():
        so = NetStateObject(net)
        return np.concatenate([np.asarray(so(xs[i : i + 1])) for i in range(steps)])

    def t_run():
        h = torch.zeros(1, 1, n)
        ys = []
        with torch.no_grad():
            for xt in xts:
                y, h = gru(xt, h)
                ys.append(y)
        return torch.cat(ys, 1)[0]

    whole = net(xs)
    d_ng = float(np.max(np.abs(ng_run() - whole)))
    d_t = float(np.max(np.abs(t_run().numpy() - whole)))
    a, b = bench.interleaved(ng_run, t_run, repeats, 1)
    return "NetStateObject(net); so(x_step)", a / steps * 1e6, b / steps * 1e6, d_ng, d_t


def main(argv=None):
    # the harness of benchmarks/lstm.py, with the GRU's pair, streaming and checked gradient
    # (torch's first block of weight_ih is the reset gate's)
    bench.make_pair = make_pair
    bench.streaming = streaming
    bench.GRAD_ARRAY = "ResetGateInputWeights"
    args = bench.parse_args(argv)
    torch.set_num_threads(args.threads)
    budget = 1.5 if args.quick else 6.0
    lo, hi = (3, 5) if args.quick else (5, 21)
    print("netgraph GatedRecurrentLayer vs torch.nn.GRU (CPU), float32")
    bench.print_header(args.quick)
    bench.print_machine(args.sizes, 3)
    variants = [False] if args.no_ragged else [False, True]
    rows = bench.measure(args, variants, budget, lo, hi)
    bench.print_table(rows, len(variants) > 1)
    if not args.no_streaming:
        bench.print_streaming(args)


if __name__ == "__main__":
    main()
