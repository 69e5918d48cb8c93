"""Data in every batch form, read into padded batches and back.

A port's data is one example, a batch array (one more leading axis) or a list of examples
(sequences may differ in length). ``to_batch`` checks it against the port's type and pads
it into a ``Batch``; ``from_batch`` gives outputs back in the same form. ``specialize``
completes a net's open input types from the data.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from .inference import infer_net
from .types import INTEGER, REAL, Index, TensorType, Var, describe, describe_shape

PRECISIONS = {"Real32": np.float32, "Real64": np.float64}
SPECIALIZED = 16  # signatures of open input types kept per net (see specialize)


@dataclass
class Batch:
    """One port's data as a batch: padded array, lengths (sequences only), and its form."""

    array: np.ndarray
    lengths: np.ndarray | None
    form: str  # "single", "array" or "list"


# -- reading data --------------------------------------------------------------------------


def _as_numeric(x, port: str) -> np.ndarray:
    if isinstance(x, str) or (isinstance(x, np.ndarray) and x.dtype.kind in "US"):
        raise TypeError(
            f'port "{port}" expects numbers; received text {x!r:.60}. To read text, attach a '
            "NetEncoder to the input port; to train on labels, a NetDecoder to the output port."
        )
    if isinstance(x, np.ma.MaskedArray):
        raise TypeError(
            f'port "{port}" received a numpy masked array, whose mask the net would ignore; '
            "fill the masked values first (x.filled(value)), or give sequences of different "
            "lengths as a Python list."
        )
    if isinstance(x, np.ndarray) and x.dtype == object:
        raise TypeError(
            f'port "{port}" expects numbers; received an array of dtype object. Give a numeric '
            "array, or a Python list of arrays for sequences of different lengths."
        )
    try:
        a = np.asarray(x)
    except ValueError:
        return None
    if a.dtype == object:
        return None
    if a.dtype.kind not in "biuf":
        raise TypeError(f'port "{port}" expects numbers; received an array of dtype {a.dtype}.')
    return a


def _want(t: TensorType) -> str:
    return f"rank {t.rank} for one example of {describe(t)} or rank {t.rank + 1} for a batch"


def examples_form(x, t: TensorType, port: str):
    """Split data into (list of examples or a stacked batch array, form)."""
    r = t.rank
    if isinstance(x, (list, tuple)):
        return _list_form(x, t, port)
    if isinstance(x, (np.ndarray, int, float, np.number, bool)):
        a = _as_numeric(x, port)
        if a.ndim == r:
            return [a], "single"
        if a.ndim == r + 1:
            if a.shape[0] == 0:
                raise ValueError(
                    f'port "{port}" received an empty batch; give at least one example.'
                )
            return a, "array"
        raise ValueError(f'port "{port}" expects {_want(t)}; received data of shape {a.shape}.')
    raise TypeError(
        f'port "{port}" expects numeric data (a number, list or numpy array); received {type(x).__name__}.'
    )


def _list_form(x, t: TensorType, port: str):
    """A Python list: one example (nested numbers), or a list of examples (maybe ragged)."""
    if len(x) == 0:
        raise ValueError(f'port "{port}" received an empty list; give at least one example.')
    r, a = t.rank, _as_numeric(x, port)
    if a is not None and a.ndim == r:
        return [a], "single"
    if a is not None and a.ndim == r + 1:
        return list(a), "list"
    if a is not None:
        raise ValueError(f'port "{port}" expects {_want(t)}; received data of shape {a.shape}.')
    items = [_as_numeric(e, port) for e in x]
    if all(e is not None and e.ndim == r for e in items):
        return items, "list"
    i = next(i for i, e in enumerate(items) if e is None or e.ndim != r)
    bad = items[i]
    if bad is None and not isinstance(x[i], (list, tuple)):
        raise TypeError(
            f'port "{port}" expects numeric data; received a list containing '
            f"{type(x[i]).__name__} {x[i]!r:.40}."
        )
    got = "a ragged nested list" if bad is None else f"an example of shape {bad.shape}"
    raise ValueError(f'port "{port}" expects {_want(t)}; received a list containing {got}.')


def check_values(a: np.ndarray, t: TensorType, port: str, dtype) -> np.ndarray:
    """``a`` checked against the port's kind (integers in range; reals finite) and cast to
    ``dtype`` (reals) or int64 (integers)."""
    if t.is_integer:
        if a.dtype.kind == "f":
            if not np.all(np.isfinite(a)) or np.any(a != np.round(a)):
                raise ValueError(
                    f'port "{port}" expects {describe(t)}; received non-integer values.'
                )
        a = a.astype(np.int64)
        if isinstance(t.kind, Index) and a.size and (a.min() < 0 or a.max() >= t.kind.n):
            bad = a.min() if a.min() < 0 else a.max()
            raise ValueError(
                f'port "{port}" expects integers in 0..{t.kind.n - 1}; received {bad}. '
                "Indices count from 0."
            )
        return a
    if a.dtype == dtype:  # no cast (a step per call: numpy's errstate costs microseconds)
        cast = a
    else:
        with np.errstate(over="ignore", invalid="ignore"):  # refused just below
            cast = a.astype(dtype, copy=False)
    if np.isfinite(cast).all():  # one pass over the data in the common case
        return cast
    if not np.all(np.isfinite(a)):
        raise ValueError(
            f'port "{port}" received NaN or infinite values; clean or impute the data first.'
        )
    name = next(k for k, v in PRECISIONS.items() if v == np.dtype(dtype))
    raise ValueError(  # finite data that overflowed the cast
        f'port "{port}" received values beyond the range of {name} (largest magnitude '
        f"{float(np.max(np.abs(a))):.3g}); scale the data, or evaluate with "
        'working_precision="Real64".'
    )


def _scalars_hint(t: TensorType, shape: tuple, form: str) -> str:
    """Advice when one vector was read as one example but may be numbers for many examples."""
    if form != "single" or t.dims != (1,) or len(shape) != 1:
        return ""
    n = shape[0]
    return (
        f" If these are {n} examples of one number each, give them as an array of shape "
        f'({n}, 1), or make the output a scalar (LinearLayer(output="Real")).'
    )


def to_batch(x, t: TensorType, port: str, dtype) -> Batch:
    """Data for one port as a padded batch; checks rank, sizes, kind and finiteness."""
    ex, form = examples_form(x, t, port)
    feat = t.dims[1:] if t.var is not None else t.dims
    for e in ex[:1] if form == "array" else ex:
        shape = e.shape
        ok = all(d == s for d, s in zip(t.dims, shape) if not isinstance(d, Var))
        if not ok:
            raise ValueError(
                f'port "{port}" expects each example to have shape {describe_shape(TensorType(t.dims, None))}; '
                f"received an example of shape {shape}.{_scalars_hint(t, shape, form)}"
            )
        if t.var is not None and shape[0] == 0:
            raise ValueError(
                f'port "{port}" received a sequence of length 0; sequences need at least one step.'
            )
    if form == "array":
        a = check_values(ex, t, port, dtype)
        lengths = np.full(len(a), a.shape[1], np.int64) if t.var is not None else None
        return Batch(np.ascontiguousarray(a), lengths, form)
    if t.var is None:
        return Batch(check_values(np.stack(ex), t, port, dtype), None, form)
    lengths = np.array([len(e) for e in ex], np.int64)
    out = np.zeros((len(ex), lengths.max()) + tuple(feat), dtype=np.result_type(*ex))
    for i, e in enumerate(ex):
        out[i, : len(e)] = e
    return Batch(check_values(out, t, port, dtype), lengths, form)


def from_batch(y: np.ndarray, lengths, form: str):
    """Undo ``to_batch``: same form as the input (list in, list out), padding removed."""
    if form == "array":
        return y
    items = [y[i] if lengths is None else y[i, : lengths[i]] for i in range(len(y))]
    return items[0] if form == "single" else items


def take_examples(examples, idx: np.ndarray):
    """Some of one port's examples (as ``examples_form`` gives them), in the same form: rows
    of a batch array, items of a list."""
    if isinstance(examples, np.ndarray):
        return examples[idx]
    return [examples[i] for i in idx]


def join_examples(parts: list, form: str, chunks: list):
    """One result for the whole batch from the results of its chunks (``chunks``: the example
    indices of each, consecutive ones for a batch array): arrays are stacked, sequences
    padded with zeros to the longest; list items go back to the places of their examples."""
    if form == "array":
        shape = np.max([p.shape for p in parts], axis=0)
        return np.concatenate([_padded_to(p, shape) for p in parts])
    out = [None] * sum(map(len, chunks))
    for idx, part in zip(chunks, parts):
        for i, value in zip(idx, part):
            out[i] = value
    return out


def _padded_to(a: np.ndarray, shape) -> np.ndarray:
    """``a`` padded with zeros at the end of every axis but the first, to ``shape``."""
    if a.shape[1:] == tuple(shape[1:]):
        return a
    return np.pad(a, [(0, 0)] + [(0, s - d) for s, d in zip(shape[1:], a.shape[1:])])


# -- the net to run ------------------------------------------------------------------------


def guess_type(x, t: TensorType, port: str = "Input") -> TensorType:
    """Complete an input port's type from data when the net leaves it open."""
    if t.dims is None:
        if not isinstance(x, (list, tuple, np.ndarray, int, float, np.number, bool)):
            raise TypeError(
                f'port "{port}" expects numeric data (a number, list or numpy array); '
                f"received {type(x).__name__}."
            )
        a = _as_numeric(x, port)
        if a is None:  # a ragged list: a batch of sequences
            first = _as_numeric(x[0], port) if isinstance(x[0], (list, tuple, np.ndarray)) else None
            rank = 1 if first is None else max(first.ndim, 1)
            ex, _ = examples_form(x, TensorType((None,) * rank, t.kind or REAL), port)
            first = np.asarray(ex[0])
            dims = (Var(),) + first.shape[1:]
            kind = t.kind or (INTEGER if first.dtype.kind in "iub" else REAL)
            return TensorType(dims, kind)
        dims = a.shape
        return TensorType(dims, t.kind or (INTEGER if a.dtype.kind in "iub" else REAL))
    ex, _ = examples_form(x, TensorType(t.dims, t.kind or REAL), port)
    e = np.asarray(ex[0])
    dims = tuple(s if d is None else d for d, s in zip(t.dims, e.shape))
    return TensorType(dims, t.kind or (INTEGER if e.dtype.kind in "iub" else REAL))


def specialize(net, data: dict):
    """The net with its open input types filled in from the data; the last SPECIALIZED
    signatures are kept (each with its plan), so that memory stays bounded."""
    open_ports = [p for p in net.input_ports() if not net.ports[p].known]
    if not open_ports:
        return net
    given = {p: guess_type(data[p], net.ports[p], p) for p in open_ports if p in data}
    key = tuple((p, describe_shape(t)) for p, t in sorted(given.items()))
    kept = net._cache.setdefault("specialized", OrderedDict())
    if key in kept:
        kept.move_to_end(key)
    else:
        kept[key] = infer_net(net, given)
        while len(kept) > SPECIALIZED:
            kept.popitem(last=False)
    return kept[key]


def read_inputs(run, feeds: dict, dtype):
    """Every port's data as a batch; the same batch form, size and shared lengths everywhere."""
    batches = {p: to_batch(x, run.ports[p], p, dtype) for p, x in feeds.items()}
    forms = {b.form for b in batches.values()}
    if len(forms) > 1 and "single" in forms:
        ones = [p for p, b in batches.items() if b.form == "single"]
        raise ValueError(
            "Give every input port one example, or every port a batch; the data mixes both "
            f"(one example for {', '.join(ones)})."
        )
    sizes = {p: len(b.array) for p, b in batches.items()}
    if len(set(sizes.values())) > 1:
        shown = ", ".join(f"{p}: {n}" for p, n in sizes.items())
        raise ValueError(f"Every input port needs the same number of examples; received {shown}.")
    lens = {}
    for p, b in batches.items():
        v = run.ports[p].var
        if v is not None:
            if v in lens and not np.array_equal(lens[v], b.lengths):
                raise ValueError(
                    f'port "{p}" must have the same sequence lengths as the other ports that share its length.'
                )
            lens[v] = b.lengths
    return batches, lens, next(iter(batches.values())).form
