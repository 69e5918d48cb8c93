"""The shared layer-test harness.

Every layer test goes through these checks:

- ``check_reference``: the net's outputs (float64) equal a plain-numpy reference evaluated one
  example at a time;
- ``check_gradients``: input and array gradients equal central finite differences in float64
  of ``L = Σ outputs · R`` for a random fixed ``R`` (so that no gradient is trivially zero);
- ``check_padding``: a ragged batch gives each sequence exactly what it gives alone;
- ``check_batch``: a batch equals its examples one by one.

Data is a dict ``port -> list of examples`` (numpy arrays; sequences may differ in length).
"""

from __future__ import annotations

import numpy as np

from netgraph import NetInitialize, NetPortGradient
from netgraph.walk import flatten, replace_leaves


def as64(net, seed: int = 0):
    """Initialize missing arrays and store every array as float64 (exact for FD checks)."""
    net = NetInitialize(net, random_seed=seed)
    new = {}
    for path, leaf in flatten(net).leaves.items():
        if leaf.arrays:
            arrays = {
                k: None if a is None else _ro(np.asarray(a, np.float64))
                for k, a in leaf.arrays.items()
            }
            new[path] = leaf._replace(arrays=arrays)
    return replace_leaves(net, new)


def set_array(net, path: tuple, name: str, value):
    leaf = flatten(net).leaves[path]
    return replace_leaves(net, {path: leaf._replace(arrays={**leaf.arrays, name: _ro(value)})})


def leaf_arrays(net) -> dict:
    """(path, name) -> array for every array of the net."""
    return {
        (p, k): a
        for p, leaf in flatten(net).leaves.items()
        for k, a in leaf.arrays.items()
        if a is not None
    }


def _ro(a):
    a = np.array(a, dtype=np.float64)
    a.flags.writeable = False
    return a


def _call(net, data: dict, out=None, **kw):
    ports = net.input_ports()
    feed = data if len(ports) != 1 or set(data) != {ports[0]} else data[ports[0]]
    if (
        len(ports) == 1
        and set(data) == {ports[0]}
        and out is not None
        and any(isinstance(k, NetPortGradient) for k in data)
    ):
        feed = data
    return net(feed, out, working_precision="Real64", **kw)


def outputs_of(net, data: dict) -> dict:
    """Every output port's value for a list batch, as dict port -> list of examples."""
    res = net(
        data if len(net.input_ports()) > 1 else data[net.input_ports()[0]],
        list(net.output_ports()),
        working_precision="Real64",
    )
    return {p: res[p] for p in net.output_ports()}


def check_reference(net, data: dict, reference, rtol=1e-10, atol=1e-12) -> None:
    """``reference(example: dict port->array, arrays: dict name->array) -> dict port->array``.

    ``arrays`` are the net's arrays keyed by name (for a bare layer) or by "path/name"."""
    arrays = {("/".join(p + (k,)) if p else k): a for (p, k), a in leaf_arrays(net).items()}
    got = outputs_of(net, data)
    n = len(next(iter(data.values())))
    for i in range(n):
        want = reference(
            {
                p: np.asarray(v[i], np.float64)
                if np.asarray(v[i]).dtype.kind == "f"
                else np.asarray(v[i])
                for p, v in data.items()
            },
            arrays,
        )
        for p, w in want.items():
            np.testing.assert_allclose(
                got[p][i], w, rtol=rtol, atol=atol, err_msg=f"output {p}, example {i}"
            )


def _loss(net, data, R) -> float:
    got = outputs_of(net, data)
    return float(
        sum(np.sum(np.asarray(y, np.float64) * r) for p in R for y, r in zip(got[p], R[p]))
    )


def check_gradients(
    net,
    data: dict,
    ports=None,
    arrays=True,
    eps=1e-6,
    rtol=1e-6,
    atol=1e-8,
    seed=1,
    max_elements=40,
) -> None:
    """Compare analytic input/array gradients with central differences (float64)."""
    rng = np.random.default_rng(seed)
    outs = outputs_of(net, data)
    R = {p: [rng.normal(size=np.shape(y)) for y in ys] for p, ys in outs.items()}
    real_ports = (
        [p for p in net.input_ports() if p in data and not net.ports[p].is_integer]
        if ports is None
        else ports
    )
    specs = [NetPortGradient(p) for p in real_ports]
    array_keys = list(leaf_arrays(net)) if arrays else []
    specs += [NetPortGradient(list(path) + [name]) for path, name in array_keys]
    if not specs:
        return
    feed = {p: list(v) for p, v in data.items()}
    feed.update({NetPortGradient(p): R[p] for p in R})
    got = net(feed, specs, working_precision="Real64")
    for p in real_ports:
        for i, x in enumerate(data[p]):
            x = np.array(x, np.float64)
            idx = _sample(x.size, max_elements, rng)
            num = np.zeros(x.size)
            for j in idx:
                d = {**data, p: list(data[p])}
                xp = x.copy().reshape(-1)
                xp[j] += eps
                d[p][i] = xp.reshape(x.shape)
                lp = _loss(net, d, R)
                xp[j] -= 2 * eps
                d[p][i] = xp.reshape(x.shape)
                lm = _loss(net, d, R)
                num[j] = (lp - lm) / (2 * eps)
            g = np.asarray(got[NetPortGradient(p)][i]).reshape(-1)
            np.testing.assert_allclose(
                g[idx], num[idx], rtol=rtol, atol=atol, err_msg=f"gradient at port {p}, example {i}"
            )
    for path, name in array_keys:
        a = leaf_arrays(net)[(path, name)]
        idx = _sample(a.size, max_elements, rng)
        num = np.zeros(a.size)
        for j in idx:
            ap = np.array(a, np.float64).reshape(-1)
            ap[j] += eps
            lp = _loss(set_array(net, path, name, ap.reshape(a.shape)), data, R)
            ap[j] -= 2 * eps
            lm = _loss(set_array(net, path, name, ap.reshape(a.shape)), data, R)
            num[j] = (lp - lm) / (2 * eps)
        g = np.asarray(got[NetPortGradient(list(path) + [name])]).reshape(-1)
        np.testing.assert_allclose(
            g[idx],
            num[idx],
            rtol=rtol,
            atol=atol,
            err_msg=f"gradient of array {'/'.join(path + (name,))}",
        )


def _sample(n: int, k: int, rng) -> np.ndarray:
    return np.arange(n) if n <= k else np.sort(rng.choice(n, k, replace=False))


def check_padding(net, data: dict, rtol=1e-12, atol=1e-12) -> None:
    """A ragged batch equals each example evaluated alone (float64)."""
    batch = outputs_of(net, data)
    n = len(next(iter(data.values())))
    for i in range(n):
        alone = outputs_of(net, {p: [v[i]] for p, v in data.items()})
        for p in batch:
            np.testing.assert_allclose(
                batch[p][i], alone[p][0], rtol=rtol, atol=atol, err_msg=f"output {p}, example {i}"
            )


check_batch = check_padding


def check_layer(net, data: dict, reference, *, seed=0, grad=True, **tol):
    """All harness checks on one layer or net: reference, batch/padding, gradients."""
    net = as64(net, seed)
    check_reference(net, data, reference)
    check_padding(net, data)
    if grad:
        check_gradients(net, data, **tol)
    return net
