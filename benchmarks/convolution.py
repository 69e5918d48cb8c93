"""ConvolutionLayer and PoolingLayer against PyTorch's CPU conv1d/conv2d and max_pool2d, on
this machine, in one run.

Run from the repository root (PyTorch CPU must be installed: ``pip install torch==2.13.0``):

    python benchmarks/convolution.py             # every case, a minute or two
    python benchmarks/convolution.py --quick     # fewer repeats
    python benchmarks/convolution.py --cases conv2d-rgb,conv1d-time

Both libraries get the same weights and the same float32 data, and their outputs (and the
weights' gradient) are checked to agree before anything is timed. Timings are medians over
interleaved repeats (netgraph then torch, then torch then netgraph, ...; see
``benchmarks/lstm.py``'s ``interleaved``) after a warm-up. Ratios are torch time / netgraph
time: above 1 means netgraph is faster. Forward and backward computes the input's and the
weights' gradients on both sides (netgraph's ``NetPortGradient(["Weights"])`` also gives the
input's gradient; torch's input has ``requires_grad``).
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for where in (ROOT, os.path.join(ROOT, "benchmarks")):
    if where not in sys.path:
        sys.path.insert(0, where)

from lstm import describe_pools, interleaved, repeats_for  # noqa: E402

from netgraph import (  # noqa: E402
    ConvolutionLayer,
    ElementwiseLayer,
    FlattenLayer,
    NetChain,
    NetInitialize,
    NetPortGradient,
    PoolingLayer,
)

try:
    import torch
    import torch.nn.functional as F
except ImportError:  # pragma: no cover - the message is the point
    sys.exit("PyTorch is needed for this benchmark: pip install torch==2.13.0 (CPU build)")


# -- the cases: (netgraph net, data, torch forward given (x, weights, biases)) ----------------


def conv1d_time():
    """1-D over time: a batch of 32 sequences of 100 vectors of 64, to 64 channels, kernel 3."""
    net = ConvolutionLayer(64, 3, padding_size=1, interleaving=True, input=("Varying", 64))
    x = np.random.default_rng(0).standard_normal((32, 100, 64)).astype(np.float32)
    return net, x, lambda t, w, b: F.conv1d(t.transpose(1, 2), w, b, padding=1).transpose(1, 2)


def conv2d_rgb():
    """2-D over images: 64 RGB images of 64×64, to 16 channels, 3×3."""
    net = ConvolutionLayer(16, (3, 3), padding_size=1, input=(3, 64, 64))
    x = np.random.default_rng(0).standard_normal((64, 3, 64, 64)).astype(np.float32)
    return net, x, lambda t, w, b: F.conv2d(t, w, b, padding=1)


def conv2d_inner():
    """2-D inside a net: 32 maps of 32 channels, 32×32, to 64 channels, 3×3, stride 2."""
    net = ConvolutionLayer(64, (3, 3), stride=2, padding_size=1, input=(32, 32, 32))
    x = np.random.default_rng(0).standard_normal((32, 32, 32, 32)).astype(np.float32)
    return net, x, lambda t, w, b: F.conv2d(t, w, b, stride=2, padding=1)


def conv2d_frames():
    """A video's frames, channel-last (64×64×3, ``interleaving=True``): 40 frames, 16 channels."""
    net = ConvolutionLayer(16, (3, 3), padding_size=1, interleaving=True, input=(64, 64, 3))
    x = np.random.default_rng(0).standard_normal((40, 64, 64, 3)).astype(np.float32)

    def t_conv(t, w, b):
        return F.conv2d(t.permute(0, 3, 1, 2), w, b, padding=1).permute(0, 2, 3, 1)

    return net, x, t_conv


def frame_chain():
    """The per-frame net of a video model: conv 3×3 → ramp → max pool 2×2 → flatten, on 40
    frames of 3×64×64."""
    net = NetChain(
        [
            ConvolutionLayer(16, (3, 3), padding_size=1),
            ElementwiseLayer("Ramp"),
            PoolingLayer((2, 2), 2),
            FlattenLayer(),
        ],
        input=(3, 64, 64),
    )
    x = np.random.default_rng(0).standard_normal((40, 3, 64, 64)).astype(np.float32)

    def t_chain(t, w, b):
        return F.max_pool2d(F.relu(F.conv2d(t, w, b, padding=1)), 2, 2).flatten(1)

    return net, x, t_chain


def maxpool2d():
    """Max pooling 2×2, stride 2, over 64 maps of 16 channels, 64×64."""
    net = PoolingLayer((2, 2), 2, input=(16, 64, 64))
    x = np.random.default_rng(0).standard_normal((64, 16, 64, 64)).astype(np.float32)
    return net, x, lambda t, w, b: F.max_pool2d(t, 2, 2)


CASES = {
    "conv1d-time": conv1d_time,
    "conv2d-rgb": conv2d_rgb,
    "conv2d-inner": conv2d_inner,
    "conv2d-frames": conv2d_frames,
    "frame-chain": frame_chain,
    "maxpool2d": maxpool2d,
}


def weights_of(net):
    """The first ConvolutionLayer's "Weights" and "Biases" as torch tensors, and its path."""
    layers = net.layers if hasattr(net, "layers") else {"": net}
    for name, layer in layers.items():
        if isinstance(layer, ConvolutionLayer):
            w, b = (
                torch.from_numpy(np.array(layer.arrays[k], np.float32))
                for k in ("Weights", "Biases")
            )
            return w.requires_grad_(), b.requires_grad_(), ([name] if name else [])
    return None, None, None


def calls(net, x, t_fn):
    """netgraph fwd, torch fwd, netgraph fwd+bwd, torch fwd+bwd (zero-argument callables)."""
    w, b, path = weights_of(net)
    xt = torch.from_numpy(x)
    xg = xt.clone().requires_grad_()
    spec = NetPortGradient(path + ["Weights"]) if w is not None else NetPortGradient("Input")

    def t_fwd():
        with torch.no_grad():
            return t_fn(xt, w, b)

    def t_fb():
        for p in (xg, w, b):
            if p is not None:
                p.grad = None
        t_fn(xg, w, b).sum().backward()
        return w.grad if w is not None else xg.grad

    return (lambda: net(x)), t_fwd, (lambda: net(x, spec)), t_fb


def check(net, x, t_fn) -> tuple:
    ng_fwd, t_fwd, ng_fb, t_fb = calls(net, x, t_fn)
    y, yt = np.asarray(ng_fwd()), t_fwd().numpy()
    dy = float(np.max(np.abs(y - yt))) / max(1e-30, float(np.max(np.abs(yt))))
    g, gt = np.asarray(ng_fb()), t_fb().numpy()
    dg = float(np.max(np.abs(g - gt))) / max(1e-30, float(np.max(np.abs(gt))))
    return dy, dg


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer repeats")
    ap.add_argument("--cases", default=",".join(CASES), help="comma-separated: " + ", ".join(CASES))
    ap.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default 2)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} threads; numpy {np.__version__}")
    for line in describe_pools():
        print("  " + line)
    budget, lo, hi = (1.0, 3, 5) if args.quick else (4.0, 5, 15)
    print(f"{'case':14s} {'what':8s} {'netgraph ms':>12s} {'torch ms':>9s} {'ratio':>6s}  check")
    for name in args.cases.split(","):
        net, x, t_fn = CASES[name]()
        net = NetInitialize(net, random_seed=1)
        dy, dg = check(net, x, t_fn)
        if dy > 1e-4 or dg > 1e-3:
            sys.exit(f"{name}: netgraph and torch disagree (output {dy:.2g}, gradient {dg:.2g})")
        ng_fwd, t_fwd, ng_fb, t_fb = calls(net, x, t_fn)
        for what, a, b in (("fwd", ng_fwd, t_fwd), ("fwd+bwd", ng_fb, t_fb)):
            reps = repeats_for((a, b), budget, lo, hi)
            ta, tb = interleaved(a, b, reps, 1)
            note = f"rel. diff. {dy:.1g}" if what == "fwd" else f"grad rel. diff. {dg:.1g}"
            print(f"{name:14s} {what:8s} {ta * 1e3:12.2f} {tb * 1e3:9.2f} {tb / ta:6.2f}  {note}")


if __name__ == "__main__":
    main()
