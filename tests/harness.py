"""The shared layer-test harness.

``check_layer(net, data, reference)`` runs every check below on one layer or net:

- ``check_reference``: the outputs equal a plain-numpy reference evaluated one example at a
  time, in float64 (to 1e-10) and in float32 (to ``F32_TOL``); the reference must give every
  output port; each output's shape, example by example, is the one its inferred port type
  says (``check_port_shapes``);
- ``check_gradients``: input and array gradients of ``L = Σ outputs · R`` (a random fixed
  ``R``, so that no gradient is trivially zero) equal central finite differences in float64,
  and the float32 gradients equal the float64 ones to ``F32_TOL``;
- ``check_padding``: a list batch (ragged sequences padded) gives each example exactly what
  it gives alone;
- ``check_stacked``: examples of equal shape stacked into one array with a leading batch axis
  give what the list gives;
- ``check_train_mode``: ``evaluation_mode="Train"`` with a ``random_seed`` is reproducible;
  without dropout or batch statistics it equals "Test" mode; with dropout it differs from
  "Test" mode and from another seed, and its gradients (the forward's masks reused) equal
  finite differences; with batch statistics (BatchNormalizationLayer) it differs from "Test"
  mode and its gradients, through the batch's mean and variance, equal finite differences;
- ``check_export``: the net written to a .ngnet file and read back is ``==`` to it, with the
  same architecture (options, port types, coders) and bit-identical outputs in float64 and
  float32.

Data is a dict ``port -> list of examples`` (numpy arrays; sequences may differ in length).
Every check raises when it is given nothing to check.
"""

from __future__ import annotations

import importlib.util
import os
import pathlib
import tempfile

import numpy as np

from netgraph import (
    BatchNormalizationLayer,
    DropoutLayer,
    Export,
    Import,
    NetInitialize,
    NetPortGradient,
)
from netgraph.io.architecture import architecture
from netgraph.walk import flatten, replace_leaves

# float32 results are held to the float64 ones within F32_TOL times the largest magnitude of
# the value compared (one example of one port, or one array's gradient). Rounding the inputs
# and arrays to float32 and each float32 operation cost a relative u = 2⁻²⁴ ≈ 6e-8; the nets
# tested here chain at most a few dozen operations on values of similar size, so a sound
# float32 result is within a few hundred u of the largest value: 2e-5 ≈ 330 u. (The largest
# error in the layer tests is 8e-6, a Divide gradient summed over broadcast elements that
# cancel; most are below 2e-6.) It is relative to the largest value, not to each element, so
# that an element that cancels to near zero is not failed for round-off that is tiny on the
# scale of the result; a wrong formula, a dropped term or a float64-only path is off by more
# (the float32 result must also be float32).
F32_TOL = 2e-5
TRAIN_SEED = 7


def as64(net, seed: int = 0):
    """Initialize missing arrays and store every array as float64 (exact for FD checks)."""
    return with_dtype(NetInitialize(net, random_seed=seed), np.float64)


def with_dtype(net, dtype):
    """The net with every array stored in ``dtype`` (read-only)."""
    new = {}
    for path, leaf in flatten(net).leaves.items():
        if leaf.arrays:
            arrays = {
                k: None if a is None else _ro(np.asarray(a, dtype)) for k, a in leaf.arrays.items()
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


def has_dropout(net) -> bool:
    """Whether "Train" mode draws random masks somewhere in the net."""
    return any(
        (isinstance(leaf, DropoutLayer) and leaf.options["p"] > 0)
        or bool(leaf.options.get("dropout"))
        for leaf in flatten(net).leaves.values()
    )


def batch_statistics(net) -> bool:
    """Whether "Train" mode normalizes with the batch's statistics somewhere in the net."""
    return any(isinstance(leaf, BatchNormalizationLayer) for leaf in flatten(net).leaves.values())


def trained_arrays(net) -> list:
    """(path, name) of every array with a gradient: not those that training sets without one
    (``Layer.updated_arrays``)."""
    flat = flatten(net).leaves
    return [(p, k) for p, k in leaf_arrays(net) if k not in flat[p].updated_arrays]


def _ro(a):
    a = np.array(a, dtype=np.float64)
    a.flags.writeable = False
    return a


def _size(data: dict) -> int:
    """The number of examples; refuses data that gives nothing to check."""
    if not isinstance(data, dict) or not data:
        raise ValueError("harness: no data to check; give a dict port -> list of examples.")
    sizes = {p: len(v) for p, v in data.items()}
    if len(set(sizes.values())) != 1 or 0 in sizes.values():
        raise ValueError(f"harness: every port needs the same, nonzero number of examples: {sizes}")
    return next(iter(sizes.values()))


def _feed(net, data: dict):
    ins = net.input_ports()
    unknown = set(data) - set(ins)
    if unknown:
        raise ValueError(f"harness: the net has no input port(s) {sorted(unknown)}; inputs: {ins}")
    return data if len(ins) > 1 else data[ins[0]]


def outputs_of(net, data: dict, precision: str = "Real64", **kw) -> dict:
    """Every output port's value for a batch, as dict port -> examples (a list for a list
    batch, an array for a stacked batch)."""
    outs = list(net.output_ports())
    if not outs:
        raise ValueError("harness: the net has no outputs to check.")
    res = net(_feed(net, data), outs, working_precision=precision, **kw)
    return {p: res[p] for p in outs}


def assert_close(got, want, rtol, atol, what: str) -> None:
    """Equal shapes (no broadcasting) and values within tolerance."""
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape, f"{what}: shape {got.shape}, expected {want.shape}"
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, err_msg=what)


def assert_f32_close(got32, want64, what: str) -> None:
    """A float32 result against float64: float32 values, within F32_TOL of their scale."""
    got32, want64 = np.asarray(got32), np.asarray(want64, np.float64)
    assert got32.dtype == np.float32, f"{what}: computed as {got32.dtype}, not float32"
    scale = float(np.max(np.abs(want64))) if want64.size else 0.0
    assert_close(got32.astype(np.float64), want64, 0, F32_TOL * scale, f"{what} (float32)")


def check_port_shapes(net, data: dict, got: dict, lengths: dict | None = None) -> None:
    """Each output's shape per example is its inferred port type's: known sizes equal; a
    "Varying" size is the length of the input sequences sharing it, or ``lengths[port]``
    (a function of one example, dict port -> array) for a length of its own."""
    n = _size(data)
    lengths = lengths or {}
    var_lengths = {}
    for p, xs in data.items():
        v = net.ports[p].var
        if v is not None:
            var_lengths[v] = [len(x) for x in xs]
    for q, ys in got.items():
        t = net.ports[q]
        if t.dims is None or None in t.dims:
            raise ValueError(
                f'harness: output "{q}" has no inferred shape ({t}); give input shapes.'
            )
        for i in range(n):
            dims = []
            for d in t.dims:
                if d is not t.var:
                    dims.append(d)
                elif q in lengths:
                    dims.append(lengths[q]({p: xs[i] for p, xs in data.items()}))
                elif d in var_lengths:
                    dims.append(var_lengths[d][i])
                else:
                    raise ValueError(
                        f'harness: output "{q}" has a length of its own; give lengths={{"{q}": rule}}.'
                    )
            shape = np.shape(ys[i])
            assert shape == tuple(dims), f"output {q}, example {i}: shape {shape}, port {t}"


def check_reference(net, data: dict, reference, rtol=1e-10, atol=1e-12, lengths=None) -> None:
    """``reference(example: dict port->array, arrays: dict name->array) -> dict port->array``
    for every output port. ``arrays`` are the net's arrays keyed by name (for a bare layer)
    or by "path/name"."""
    n = _size(data)
    arrays = {("/".join(p + (k,)) if p else k): a for (p, k), a in leaf_arrays(net).items()}
    got = outputs_of(net, data)
    got32 = outputs_of(net, data, "Real32")
    check_port_shapes(net, data, got, lengths)
    for i in range(n):
        example = {
            p: np.asarray(v[i], np.float64) if np.asarray(v[i]).dtype.kind == "f" else v[i]
            for p, v in data.items()
        }
        want = reference(example, arrays)
        if not want or set(want) != set(got):
            raise ValueError(
                f"harness: the reference gives {sorted(want or [])}; the outputs are {sorted(got)}."
            )
        for p, w in want.items():
            what = f"output {p}, example {i}"
            assert_close(got[p][i], w, rtol, atol, what)
            if net.ports[p].is_integer:
                np.testing.assert_array_equal(got32[p][i], w, err_msg=what)
            else:
                assert_f32_close(got32[p][i], w, what)


def _loss(net, data, R, **kw) -> float:
    got = outputs_of(net, data, **kw)
    return float(
        sum(np.sum(np.asarray(y, np.float64) * r) for p in R for y, r in zip(got[p], R[p]))
    )


def _specs(net, data, ports, arrays):
    real_ports = (
        [p for p in net.input_ports() if p in data and not net.ports[p].is_integer]
        if ports is None
        else list(ports)
    )
    array_keys = trained_arrays(net) if arrays is not False else []
    if arrays is True and not array_keys:
        raise ValueError("harness: array gradients were asked for, but the net has no arrays.")
    if not real_ports and not array_keys:
        raise ValueError("harness: no gradient to check (no real input ports and no arrays).")
    return real_ports, array_keys


def check_gradients(
    net,
    data: dict,
    ports=None,
    arrays=None,
    eps=1e-6,
    rtol=1e-6,
    atol=1e-8,
    seed=1,
    max_elements=40,
    **mode,
) -> None:
    """Analytic input/array gradients against central differences (float64), and the
    float32 gradients against the float64 ones. ``arrays``: None (every array with a gradient:
    not those in ``Layer.updated_arrays``), True (the same, and there must be some) or False
    (none). ``mode``: evaluation_mode and random_seed of every evaluation."""
    _size(data)
    rng = np.random.default_rng(seed)
    outs = outputs_of(net, data, **mode)
    R = {p: [rng.normal(size=np.shape(y)) for y in ys] for p, ys in outs.items()}
    real_ports, array_keys = _specs(net, data, ports, arrays)
    specs = [NetPortGradient(p) for p in real_ports]
    specs += [NetPortGradient(list(path) + [name]) for path, name in array_keys]
    feed = {p: list(v) for p, v in data.items()}
    feed.update({NetPortGradient(p): R[p] for p in R})
    got = net(feed, specs, working_precision="Real64", **mode)
    got32 = net(feed, specs, working_precision="Real32", **mode)
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
                lp = _loss(net, d, R, **mode)
                xp[j] -= 2 * eps
                d[p][i] = xp.reshape(x.shape)
                lm = _loss(net, d, R, **mode)
                num[j] = (lp - lm) / (2 * eps)
            what = f"gradient at port {p}, example {i}"
            g = got[NetPortGradient(p)][i]
            assert np.shape(g) == x.shape, f"{what}: shape {np.shape(g)}, expected {x.shape}"
            assert_close(np.reshape(g, -1)[idx], num[idx], rtol, atol, what)
            assert_f32_close(got32[NetPortGradient(p)][i], g, what)
    for path, name in array_keys:
        a = leaf_arrays(net)[(path, name)]
        idx = _sample(a.size, max_elements, rng)
        num = np.zeros(a.size)
        for j in idx:
            ap = np.array(a, np.float64).reshape(-1)
            ap[j] += eps
            lp = _loss(set_array(net, path, name, ap.reshape(a.shape)), data, R, **mode)
            ap[j] -= 2 * eps
            lm = _loss(set_array(net, path, name, ap.reshape(a.shape)), data, R, **mode)
            num[j] = (lp - lm) / (2 * eps)
        spec = NetPortGradient(list(path) + [name])
        what = f"gradient of array {'/'.join(path + (name,))}"
        assert np.shape(got[spec]) == a.shape, f"{what}: shape {np.shape(got[spec])}, not {a.shape}"
        assert_close(np.reshape(got[spec], -1)[idx], num[idx], rtol, atol, what)
        assert_f32_close(got32[spec], got[spec], what)


def _sample(n: int, k: int, rng) -> np.ndarray:
    return np.arange(n) if n <= k else np.sort(rng.choice(n, k, replace=False))


def check_padding(net, data: dict, rtol=1e-12, atol=1e-12) -> None:
    """A list batch (ragged sequences padded) equals each example evaluated alone (float64)."""
    n = _size(data)
    batch = outputs_of(net, data)
    for i in range(n):
        alone = outputs_of(net, {p: [v[i]] for p, v in data.items()})
        for p in batch:
            assert_close(batch[p][i], alone[p][0], rtol, atol, f"output {p}, example {i}")


def check_stacked(net, data: dict, rtol=1e-12, atol=1e-12) -> None:
    """Examples of equal shapes, stacked into arrays with a leading batch axis, give what the
    list batch gives (an example with no equal-shaped partner is stacked with itself)."""
    n = _size(data)
    listed = outputs_of(net, data)
    groups: dict = {}
    for i in range(n):
        groups.setdefault(tuple(np.shape(v[i]) for v in data.values()), []).append(i)
    for idx in groups.values():
        idx = idx if len(idx) > 1 else idx * 2
        stacked = outputs_of(
            net, {p: np.stack([np.asarray(v[i]) for i in idx]) for p, v in data.items()}
        )
        for p, ys in stacked.items():
            assert isinstance(ys, np.ndarray) and len(ys) == len(idx), f"output {p}: not stacked"
            for j, i in enumerate(idx):
                assert_close(ys[j], listed[p][i], rtol, atol, f"output {p}, stacked example {i}")


PRECISIONS = ("Real64", "Real32")


def check_train_mode(net, data: dict, **tol) -> None:
    """Train mode with a seed: reproducible (float64 and float32); equal to "Test" mode
    without dropout; with dropout, different from "Test" mode and from another seed, with
    gradients at the seed equal to finite differences."""
    _size(data)
    test = outputs_of(net, data)
    train = {precision: _reproducible_train(net, data, precision) for precision in PRECISIONS}
    for p, ys in train["Real64"].items():
        for i, y in enumerate(ys):
            if not net.ports[p].is_integer:
                assert_f32_close(train["Real32"][p][i], y, f"Train mode output {p}, example {i}")
    if batch_statistics(net) and not has_dropout(net):
        differs = any(
            not np.allclose(y, test[p][i])
            for p, ys in train["Real64"].items()
            for i, y in enumerate(ys)
        )
        assert differs, "batch statistics: Train mode equals Test mode"
        check_gradients(net, data, evaluation_mode="Train", random_seed=TRAIN_SEED, **tol)
        return
    if not has_dropout(net):
        for p, ys in train["Real64"].items():
            for i, y in enumerate(ys):
                np.testing.assert_array_equal(y, test[p][i], err_msg=f"Train mode, output {p}")
        return
    other = outputs_of(net, data, evaluation_mode="Train", random_seed=TRAIN_SEED + 1)

    def differs(u, v):
        return any(not np.array_equal(x, y) for p in u for x, y in zip(u[p], v[p]))

    assert differs(train["Real64"], test), "dropout: Train mode equals Test mode"
    assert differs(train["Real64"], other), "dropout: two seeds give the same masks"
    check_gradients(net, data, evaluation_mode="Train", random_seed=TRAIN_SEED, **tol)


def _reproducible_train(net, data: dict, precision: str) -> dict:
    """Train-mode outputs at TRAIN_SEED, checked to come out the same twice."""
    a, b = (
        outputs_of(net, data, precision, evaluation_mode="Train", random_seed=TRAIN_SEED)
        for _ in range(2)
    )
    for p in a:
        for i, (x, y) in enumerate(zip(a[p], b[p])):
            np.testing.assert_array_equal(x, y, err_msg=f"{precision} output {p}, example {i}")
    return a


def check_export(net, data: dict) -> None:
    """Export to .ngnet and Import: an equal net, described alike, with the same outputs to
    the bit (float64 and float32)."""
    _size(data)
    with tempfile.TemporaryDirectory() as d:
        back = Import(Export(os.path.join(d, "net.ngnet"), net))
    assert back == net, "Import(Export(net)) != net"
    assert architecture(back) == architecture(net), "the architecture changed on the way"
    for precision in PRECISIONS:
        want, got = outputs_of(net, data, precision), outputs_of(back, data, precision)
        for p, ys in want.items():
            for i, y in enumerate(ys):
                what = f"{precision} output {p}, example {i}, after Export and Import"
                assert np.asarray(got[p][i]).tobytes() == np.asarray(y).tobytes(), what


def check_onnx_trip(net, data: dict) -> None:
    """Where onnx and onnxruntime are installed and every layer of the net has an ONNX
    counterpart: the net in float32 exported to ONNX (losses included), run by onnxruntime on
    the padded batch of ``data`` against netgraph's outputs and final states, and imported
    back equal (tests/io/onnx_check.py). Nets with a port type still open (set by the data)
    are left to tests/io/test_onnx_export.py, which exports them specialized."""
    if importlib.util.find_spec("onnx") is None or importlib.util.find_spec("onnxruntime") is None:
        return
    from tests.io.onnx_check import check_onnx

    if not all(t.known for t in net.ports.values()):
        return  # an open type is settled by the data; the ONNX tests export such nets specialized
    net32 = with_dtype(net, np.float32)
    feed = {p: v for p, v in data.items() if p not in net.optional_inputs}
    initial = {f"{p}/initial": np.stack(v) for p, v in data.items() if p in net.optional_inputs}
    with tempfile.TemporaryDirectory() as d:
        try:
            check_onnx(net32, feed, pathlib.Path(d), initial, losses=True)
        except ValueError as e:
            if "no ONNX counterpart" not in str(e):
                raise


def check_layer(net, data: dict, reference, *, seed=0, lengths=None, **tol):
    """Every harness check on one layer or net: reference (float64 and float32) and port
    shapes, list and stacked batches, Train mode, gradients (float64 and float32), and the
    round trips through a .ngnet file and through ONNX. ``tol`` goes to ``check_gradients``."""
    net = as64(net, seed)
    check_reference(net, data, reference, lengths=lengths)
    check_padding(net, data)
    check_stacked(net, data)
    check_train_mode(net, data, **tol)
    check_gradients(net, data, **tol)
    check_onnx_trip(net, data)
    check_export(net, data)
    return net
