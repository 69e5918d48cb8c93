"""Running an exported net in onnxruntime on a padded batch and comparing it with netgraph.

``check_onnx(net, data, tmp_path)`` exports ``net``, feeds onnxruntime the examples of
``data`` (port → list of examples) as one padded batch, and holds every output, every output's
lengths and every final state to netgraph's own results, example by example: values within
``TOL`` of the largest magnitude compared (float32), padding exactly zero. The padding fed in
is NaN (−1 for integers), so that an exported net that read its padding would show it.
"""

from __future__ import annotations

import numpy as np
import pytest

ort = pytest.importorskip(
    "onnxruntime", reason="the ONNX tests need onnxruntime (pip install 'netgraph[onnx]')"
)
pytest.importorskip("onnx", reason="the ONNX tests need onnx (pip install 'netgraph[onnx]')")

from netgraph import All, NetPort  # noqa: E402
from netgraph.io.onnx import export_onnx, import_onnx  # noqa: E402

TOL = 1e-5


def session(path):
    opts = ort.SessionOptions()
    opts.log_severity_level = 3  # no warning for the optional initial-state inputs
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def padded(examples: list, extra: int = 1) -> np.ndarray:
    """The examples in one batch, padded along their first axis (one step longer than the
    longest, to show that the graph does not depend on T) with NaN or −1."""
    examples = [np.asarray(e) for e in examples]
    integer = examples[0].dtype.kind in "iu"
    T = max(len(e) for e in examples) + extra
    out = np.full(
        (len(examples), T) + examples[0].shape[1:],
        -1 if integer else np.nan,
        np.int64 if integer else np.float32,
    )
    for b, e in enumerate(examples):
        out[b, : len(e)] = e
    return out


def feeds(net, sess, data: dict, initial: dict | None = None) -> dict:
    """The inputs of the session: padded batches, lengths, and optional initial states."""
    out = {}
    names = {i.name for i in sess.get_inputs()}
    for p, examples in data.items():
        if net.ports[p].var is not None:
            out[p] = padded(examples)
            lens = np.array([len(e) for e in examples], np.int32)
            out["sequence_lens" if "sequence_lens" in names else f"{p}/sequence_lens"] = lens
        else:
            x = np.stack([np.asarray(e) for e in examples])
            out[p] = x.astype(np.int64 if x.dtype.kind in "iu" else np.float32)
    for name, value in (initial or {}).items():
        out[name] = np.asarray(value, np.float32)
    return out


def close(got, want, what: str) -> None:
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape, f"{what}: shape {got.shape}, expected {want.shape}"
    scale = max(1.0, float(np.abs(want).max(initial=0.0)))
    err = float(np.abs(got - want).max(initial=0.0))
    assert err <= TOL * scale, f"{what}: off by {err:.3g} (scale {scale:.3g})"


def compare_port(got: np.ndarray, want: list, what: str, lens=None) -> None:
    """A padded ONNX output against netgraph's examples: the true steps and zero padding."""
    for b, w in enumerate(want):
        w = np.asarray(w)
        if lens is not None:
            assert lens[b] == len(w), f"{what}: length {lens[b]} of example {b}, expected {len(w)}"
        g = got[b]
        if g.shape != w.shape and g.ndim == w.ndim and g.shape[1:] == w.shape[1:]:
            assert not np.any(g[len(w) :]), f"{what}: nonzero padding in example {b}"
            g = g[: len(w)]
        close(g, w, f"{what}, example {b}")


def check_onnx(net, data: dict, tmp_path, initial: dict | None = None, **options) -> dict:
    """Export, run on the batch of ``data``, and compare with netgraph; returns the outputs."""
    path = export_onnx(tmp_path / "net.onnx", net, **options)
    sess = session(path)
    names = [o.name for o in sess.get_outputs()]
    got = dict(zip(names, sess.run(None, feeds(net, sess, data, initial))))
    ports = [p for p in net.output_ports() if p not in net.optional_outputs]
    call = dict(data)
    if initial:
        call[NetPort(All, "States")] = _states_from(net, initial, len(next(iter(data.values()))))
    want = net(call, ports + ([NetPort(All, "States")] if "final" in "".join(names) else []))
    for p in ports:
        compare_port(got[p], want[p], f'output "{p}"', got.get(f"{p}/sequence_lens"))
    for name, values in want.get(NetPort(All, "States"), {}).items():
        key = "/".join(([] if name.path is None else list(name.path)) + [name.port, "final"])
        compare_port(got[key], values, f'final state "{key}"')
    check_round_trip(net, path, data)
    return got


def check_round_trip(net, path, data: dict) -> None:
    """import_onnx gives back an equal net, with the same outputs."""
    back = import_onnx(path)
    assert back == net, f"import_onnx gave {back!r}, not the exported {net!r}"
    ports = [p for p in net.output_ports() if p not in net.optional_outputs]
    for p in ports:
        for a, b in zip(back(data, p), net(data, p)):
            np.testing.assert_array_equal(a, b)


def _states_from(net, initial: dict, B: int) -> dict:
    """netgraph's initial states from the ONNX inputs "<layer>/<State>/initial"."""
    out = {}
    for name, value in initial.items():
        *path, port, _ = name.split("/")
        key = NetPort(path, port) if path else NetPort(port)
        out[key] = list(np.broadcast_to(np.asarray(value, np.float32), (B, value.shape[-1])))
    return out
