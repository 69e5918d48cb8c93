"""NetInitialize: fill a net's arrays with random values (biases with zeros)."""

from __future__ import annotations

import numpy as np

from .net import frozen
from .symbols import All
from .text import check_keywords, closest
from .types import describe
from .walk import flatten, replace_leaves, where

METHODS = ("Kaiming", "Xavier", "Orthogonal", "Random")


def _draw(method: str, shape: tuple, fans: tuple[int, int], rng) -> np.ndarray:
    fan_in, fan_out = max(fans[0], 1), max(fans[1], 1)
    if method == "Kaiming":
        return rng.normal(0.0, np.sqrt(2.0 / fan_in), shape)
    if method == "Xavier":
        r = np.sqrt(6.0 / (fan_in + fan_out))
        return rng.uniform(-r, r, shape)
    if method == "Random":
        r = 1.0 / np.sqrt(fan_in)
        return rng.uniform(-r, r, shape)
    rows, cols = int(np.prod(shape[:-1])) if len(shape) > 1 else 1, shape[-1]
    a = rng.normal(0.0, 1.0, (max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(a)
    q = q * np.sign(np.diag(r))
    return (q if rows >= cols else q.T).reshape(shape)


def NetInitialize(
    net, which=None, *, method: str = "Kaiming", random_seed: int | None = None, **unknown
):
    """A copy of ``net`` with its uninitialized arrays filled (``which=All``: every array).

    Methods: "Kaiming" (normal, std √(2/fan_in); the default), "Xavier" (uniform ±√(6/(fan_in+fan_out))),
    "Orthogonal" (an orthogonal matrix), "Random" (uniform ±1/√fan_in). Biases start at zero.
    Arrays are float32; the same ``random_seed`` gives the same arrays.

    >>> from netgraph import NetInitialize, LinearLayer
    >>> lin = NetInitialize(LinearLayer(2, input=3), random_seed=0)
    >>> lin.arrays["Weights"].shape, lin.arrays["Biases"].tolist()
    ((2, 3), [0.0, 0.0])
    """
    check_keywords("NetInitialize", unknown, ["method", "random_seed"])
    if method not in METHODS:
        raise ValueError(
            f"NetInitialize: unknown method {method!r}{closest(method, METHODS)}. Valid methods: {', '.join(METHODS)}."
        )
    if which is not None and which is not All:
        raise ValueError(
            f"NetInitialize: the second argument is All (re-initialize every array) or omitted; received {which!r}."
        )
    rng = np.random.default_rng(random_seed)
    flat = flatten(net)
    new = {}
    for path, leaf in flat.leaves.items():
        todo = [k for k, a in leaf.arrays.items() if a is None or which is All]
        if not todo:
            continue
        shapes = leaf.array_shapes(leaf.ports)
        arrays = dict(leaf.arrays)
        for name in todo:
            shape = shapes.get(name)
            if shape is None or None in shape:
                open_port = next(
                    (p for p, t in leaf.ports.items() if not t.known), next(iter(leaf.ports))
                )
                raise ValueError(
                    f'NetInitialize: the shape of array "{name}" is not known yet, because '
                    f"{where(flat, (path, open_port))} is {describe(leaf.ports[open_port])}. "
                    'Give the net an input shape (for example input=("Varying", 12)) or the layer a size.'
                )
            if leaf.is_bias(name):
                a = np.zeros(shape, np.float32)
            else:
                a = leaf.init_array(name, shape, rng, method)
                if a is None:
                    a = _draw(method, shape, leaf.fans(name, shape), rng)
                a = np.asarray(a, np.float32)
            arrays[name] = frozen(a)
        new[path] = leaf._replace(arrays=arrays)
    return replace_leaves(net, new)
