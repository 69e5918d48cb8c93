"""BatchNormalizationLayer in training mode (the batch's statistics, forward and backward)
against PyTorch's CPU ``nn.BatchNorm1d``, on sequences of vectors.

Run from the repository root (torch installed):

    python benchmarks/batch_normalization.py                 # a few sizes, about a minute
    python benchmarks/batch_normalization.py --sizes 64x100x128 --repeats 20

Sizes are ``BxTxK``: batch, sequence length, channels. netgraph takes ``(B, T, K)``
("Varying", K); torch takes ``(B, K, T)``. Both are checked to agree (outputs and input
gradients, float32, to 1e-4 relative) before timing. Timings are medians over repeats;
the ratio is torch's time over netgraph's (above 1: netgraph is faster).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from netgraph import BatchNormalizationLayer, NetInitialize, NetPortGradient  # noqa: E402


def median_time(f, repeats: int) -> float:
    f()  # warm up
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def run(B: int, T: int, K: int, repeats: int, torch) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(B, T, K)).astype(np.float32)
    og = rng.normal(size=(B, T, K)).astype(np.float32)
    net = NetInitialize(BatchNormalizationLayer(epsilon=1e-5, input=("Varying", K)))
    bn = torch.nn.BatchNorm1d(K)
    xt = torch.from_numpy(x.transpose(0, 2, 1).copy()).requires_grad_()
    ogt = torch.from_numpy(og.transpose(0, 2, 1).copy())
    feed = {"Input": x, NetPortGradient("Output"): og}

    def ours():
        return net(feed, NetPortGradient("Input"), evaluation_mode="Train")

    def theirs():
        xt.grad = None
        y = bn(xt)
        y.backward(ogt)
        return y

    y = net(x, evaluation_mode="Train")
    np.testing.assert_allclose(
        y, theirs().detach().numpy().transpose(0, 2, 1), rtol=1e-4, atol=1e-4
    )
    np.testing.assert_allclose(ours(), xt.grad.numpy().transpose(0, 2, 1), rtol=1e-4, atol=1e-4)
    a, b = median_time(ours, repeats), median_time(theirs, repeats)
    print(f"{B}x{T}x{K}: netgraph {a * 1e3:8.2f} ms   torch {b * 1e3:8.2f} ms   ratio {b / a:5.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="32x50x16,64x100x64,16x200x128")
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    print("train-mode forward and backward, float32 (ratio = torch / netgraph)")
    for size in args.sizes.split(","):
        run(*map(int, size.split("x")), args.repeats, torch)


if __name__ == "__main__":
    main()
