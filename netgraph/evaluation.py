"""Evaluating a net: data in every batch form → padded batches → plan → outputs in the same form."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .inference import infer_net
from .kernels.base import Ctx
from .net import closest
from .plan import plan_of
from .symbols import All, NetPort, NetPortGradient
from .types import INTEGER, REAL, Index, TensorType, Var, describe, describe_shape

PRECISIONS = {"Real32": np.float32, "Real64": np.float64}
MODES = ("Test", "Train")


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
            f'port "{port}" expects numbers; received text {x!r:.60}. Attach a NetEncoder to read text.'
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


def _examples_form(x, t: TensorType, port: str):
    """Split data into (list of examples or a stacked batch array, form)."""
    r = t.rank
    if isinstance(x, (list, tuple)):
        if len(x) == 0:
            raise ValueError(f'port "{port}" received an empty list; give at least one example.')
        a = _as_numeric(x, port)
        if a is not None and a.ndim == r:
            return [a], "single"
        if a is not None and a.ndim == r + 1:
            return list(a), "list"
        if a is None:
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
        raise ValueError(f'port "{port}" expects {_want(t)}; received data of shape {a.shape}.')
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


def _check_values(a: np.ndarray, t: TensorType, port: str, dtype) -> np.ndarray:
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
    if not np.all(np.isfinite(a)):
        raise ValueError(
            f'port "{port}" received NaN or infinite values; clean or impute the data first.'
        )
    return a.astype(dtype, copy=False)


def to_batch(x, t: TensorType, port: str, dtype) -> Batch:
    """Data for one port as a padded batch; checks rank, sizes, kind and finiteness."""
    ex, form = _examples_form(x, t, port)
    feat = t.dims[1:] if t.var is not None else t.dims
    for e in ex[:1] if form == "array" else ex:
        shape = e.shape
        ok = all(d == s for d, s in zip(t.dims, shape) if not isinstance(d, Var))
        if not ok:
            raise ValueError(
                f'port "{port}" expects each example to have shape {describe_shape(TensorType(t.dims, None))}; '
                f"received an example of shape {shape}."
            )
        if t.var is not None and shape[0] == 0:
            raise ValueError(
                f'port "{port}" received a sequence of length 0; sequences need at least one step.'
            )
    if form == "array":
        a = _check_values(ex, t, port, dtype)
        lengths = np.full(len(a), a.shape[1], np.int64) if t.var is not None else None
        return Batch(np.ascontiguousarray(a), lengths, form)
    if t.var is None:
        return Batch(_check_values(np.stack(ex), t, port, dtype), None, form)
    lengths = np.array([len(e) for e in ex], np.int64)
    out = np.zeros((len(ex), lengths.max()) + tuple(feat), dtype=np.result_type(*ex))
    for i, e in enumerate(ex):
        out[i, : len(e)] = e
    return Batch(_check_values(out, t, port, dtype), lengths, form)


def from_batch(y: np.ndarray, lengths, form: str):
    """Undo ``to_batch``: same form as the input (list in, list out), padding removed."""
    if form == "array":
        return y
    items = [y[i] if lengths is None else y[i, : lengths[i]] for i in range(len(y))]
    return items[0] if form == "single" else items


# -- the net to run ------------------------------------------------------------------------


def _guess_type(x, t: TensorType, port: str = "Input") -> TensorType:
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
            ex, _ = _examples_form(x, TensorType((None,) * rank, t.kind or REAL), port)
            first = np.asarray(ex[0])
            dims = (Var(),) + first.shape[1:]
            kind = t.kind or (INTEGER if first.dtype.kind in "iub" else REAL)
            return TensorType(dims, kind)
        dims = a.shape
        return TensorType(dims, t.kind or (INTEGER if a.dtype.kind in "iub" else REAL))
    ex, _ = _examples_form(x, TensorType(t.dims, t.kind or REAL), port)
    e = np.asarray(ex[0])
    dims = tuple(s if d is None else d for d, s in zip(t.dims, e.shape))
    return TensorType(dims, t.kind or (INTEGER if e.dtype.kind in "iub" else REAL))


def specialize(net, data: dict):
    """The net with its open input types filled in from the data (cached per signature)."""
    open_ports = [p for p in net.input_ports() if not net.ports[p].known]
    if not open_ports:
        return net
    given = {p: _guess_type(data[p], net.ports[p], p) for p in open_ports if p in data}
    key = ("specialized",) + tuple((p, describe_shape(t)) for p, t in sorted(given.items()))
    if key not in net._cache:
        net._cache[key] = infer_net(net, given)
    return net._cache[key]


def _zeros(run, port, batches, ctx):
    B = len(next(iter(batches.values())).array)
    return np.zeros((B,) + run.ports[port].shape(), ctx.dtype)


def exposed_outputs(net) -> list[str]:
    """The outputs a plain call returns (a bare recurrent layer's final states only on request)."""
    optional = getattr(net, "optional_outputs", ())
    return [p for p in net.output_ports() if p not in optional]


def _port_dict(net, data) -> tuple[dict, dict]:
    """Split the call's data into port data and forced output gradients."""
    ins = net.input_ports()
    optional = getattr(net, "optional_inputs", ())
    if not isinstance(data, dict):
        required = [p for p in ins if p not in optional]
        if len(required) != 1:
            raise ValueError(
                f"This net has the input ports {', '.join(ins)}; give a dict such as "
                + "{"
                + ", ".join(f'"{p}": …' for p in ins)
                + "}."
            )
        return {required[0]: data}, {}, {}
    feeds, seeds, states = {}, {}, {}
    for k, v in data.items():
        if isinstance(k, NetPortGradient):
            if k.is_array or k.target not in net.output_ports():
                raise ValueError(
                    f"{k!r} as an input key forces an output gradient and must name an output port; "
                    f"output ports: {', '.join(net.output_ports())}."
                )
            seeds[k.target] = v
        elif isinstance(k, NetPort) and k.path is All:
            if k.port != "States" or not isinstance(v, dict):
                raise ValueError(
                    'Initial states are given as {NetPort(All, "States"): {NetPort(layer, "State"): s, …}}; '
                    f"received the key {k!r} with a {type(v).__name__}."
                )
            states = v
        else:
            name = k.port if isinstance(k, NetPort) and k.path is None else k
            if name not in ins:
                raise ValueError(
                    f'The net has no input port "{name}"{closest(name, ins)}. Input ports: {", ".join(ins)}.'
                )
            feeds[name] = v
    missing = [p for p in ins if p not in feeds and p not in optional]
    if missing:
        raise ValueError(f"No data was given for the input port(s) {', '.join(missing)}.")
    return feeds, seeds, states


class KeptStates(dict):
    """Final recurrent states kept in batch form, (layer path, port) → array, for the next
    call of a NetStateObject: they go back in without being read and checked again."""

    def __init__(self, states: dict, form: str):
        super().__init__(states)
        self.form = form
        self.replay = None  # how to run the next call of the same shape quickly


def state_key(path: tuple, port: str) -> NetPort:
    """How a recurrent state is named: NetPort(layer, "State"), or NetPort("State") for a bare layer."""
    return NetPort(list(path), port) if path else NetPort(port)


def _initial_slot(plan, path: tuple, port: str):
    """The plan slot that takes the initial value of a recurrent state."""
    leaf = plan.flat.leaves[path]
    step = next(st for st in plan.steps if st.path == path)
    slot = step.ins[leaf.input_ports().index(port)]
    if slot != (path, port, "initial") and not (path == () and slot == (None, port)):
        raise ValueError(
            f"{state_key(path, port)!r} is wired from another port of the net; give its initial value through that port."
        )
    return slot


def _state_feeds(plan, states: dict, dtype) -> dict:
    """Initial states given with NetPort(All, "States"), as batches for their plan slots."""
    if isinstance(states, KeptStates):
        return {_initial_slot(plan, *st): Batch(a, None, states.form) for st, a in states.items()}
    known = {state_key(*st): st for st in plan.states()}
    out = {}
    for key, value in states.items():
        if key not in known:
            names = ", ".join(map(repr, known)) or "none (the net has no recurrent layers)"
            raise ValueError(f"{key!r} is not a recurrent state of this net. States: {names}.")
        path, port = known[key]
        slot = _initial_slot(plan, path, port)
        out[slot] = to_batch(value, plan.flat.leaves[path].ports[port], repr(key), dtype)
    return out


def _decoder_property(net, output):
    """``net(x, "Probabilities")``: a decoder property in place of an output port; returns
    the output spec to compute and the property wanted for each decoded port."""
    decoders = [p for p in exposed_outputs(net) if p in net.coders]
    name = output[0] if isinstance(output, tuple) and len(output) == 2 else output
    known = {q for p in decoders for q in net.coders[p].properties}
    if not isinstance(name, str) or name in net.output_ports() or name not in known:
        return output, {}
    if len(decoders) != 1:
        raise ValueError(
            f"The net has several decoded outputs ({', '.join(decoders)}); ask for a property "
            "of one of them as [port] and decode with its NetDecoder."
        )
    port = decoders[0]
    return port, {port: net.coders[port].check_property(output)}


def _output_specs(net, flat, output):
    """Normalize the requested outputs to a list of specs, and whether one value is returned."""
    if output is None:
        outs = exposed_outputs(net)
        return outs, len(outs) == 1
    if isinstance(output, list):
        return [_check_spec(net, flat, o) for o in output], False
    return [_check_spec(net, flat, output)], True


def _check_spec(net, flat, o):
    if isinstance(o, str) or (isinstance(o, NetPort) and o.path is None):
        name = o if isinstance(o, str) else o.port
        if name not in net.output_ports():
            raise ValueError(
                f'The net has no output port "{name}"{closest(name, net.output_ports())}. Output ports: {", ".join(net.output_ports())}.'
            )
        return o
    if isinstance(o, NetPort):
        if o.path is All:
            if o.port != "States":
                raise ValueError(
                    f'NetPort(All, …) names every recurrent state as NetPort(All, "States"); received {o!r}.'
                )
            return o
        node = flat.leaves.get(o.path) or flat.containers.get(o.path)
        if node is None:
            names = ["/".join(p) for p in list(flat.leaves) + list(flat.containers) if p]
            shown = "/".join(o.path)
            raise ValueError(
                f'The net has no layer "{shown}"{closest(shown, names)}. Layers: {", ".join(names)}.'
            )
        if o.port not in node.ports:
            raise ValueError(
                f'Layer "{"/".join(o.path)}" has no port "{o.port}"{closest(o.port, node.ports)}. Ports: {", ".join(node.ports)}.'
            )
        return o
    if isinstance(o, NetPortGradient):
        if o.is_array:
            path, name = o.target[:-1], o.target[-1]
            leaf = flat.leaves.get(path)
            if leaf is None or name not in leaf.arrays:
                arrays = ["/".join(p + (k,)) for p, lf in flat.leaves.items() for k in lf.arrays]
                shown = "/".join(o.target)
                raise ValueError(
                    f'The net has no array "{shown}"{closest(shown, arrays)}. Arrays: {", ".join(arrays) or "none"}.'
                )
        else:
            if o.target not in net.input_ports():
                raise ValueError(
                    f'NetPortGradient("{o.target}") must name an input port{closest(o.target, net.input_ports())}; input ports: {", ".join(net.input_ports())}.'
                )
            if net.ports[o.target].is_integer:
                raise ValueError(
                    f'NetPortGradient("{o.target}"): port "{o.target}" takes integers, which have no gradient.'
                )
        return o
    raise TypeError(
        f"Unknown output specification {o!r}: give an output port name, NetPort(layer, port), "
        "NetPortGradient(port) or NetPortGradient([layer, array]), or a list of them."
    )


# -- the call ------------------------------------------------------------------------------


def evaluate(net, data, output, evaluation_mode, random_seed, working_precision, keep_states=False):
    """``net(data, output, …)``; with ``keep_states`` also the final states as KeptStates."""
    if working_precision not in PRECISIONS:
        raise ValueError(
            f'working_precision must be "Real32" or "Real64"; received {working_precision!r}.'
        )
    if evaluation_mode not in MODES:
        raise ValueError(
            f'evaluation_mode must be "Test" or "Train"; received {evaluation_mode!r}.'
        )
    dtype = PRECISIONS[working_precision]
    feeds, seeds, states = _port_dict(net, data)
    coders = net.coders
    if coders:
        feeds = {p: coders[p].encode_data(x, p) if p in coders else x for p, x in feeds.items()}
        output, decode_as = _decoder_property(net, output)
    run = specialize(net, feeds)
    plan = plan_of(run)
    specs, single = _output_specs(run, plan.flat, output)
    batches, lens, form = _read_inputs(run, feeds, dtype)
    initial = _state_feeds(plan, states, dtype)
    for key, b in initial.items():
        if b.form != form or len(b.array) != len(next(iter(batches.values())).array):
            raise ValueError(
                f"The initial state {state_key(*key[:2])!r} must be given in the same batch form and size as the inputs."
            )
    wanted = [s for s in specs if isinstance(s, NetPortGradient)]
    ctx = Ctx(
        training=evaluation_mode == "Train",
        seed=random_seed,
        dtype=dtype,
        grad=bool(wanted),
    )
    feed = {(None, p): b.array for p, b in batches.items()}
    feed.update({slot: b.array for slot, b in initial.items()})
    vals, env, tape = plan.forward(feed, lens, ctx)
    results = {}
    if wanted:
        results.update(_gradients(run, plan, vals, env, tape, ctx, seeds, wanted, batches, form))
    for s in specs:
        if isinstance(s, NetPortGradient):
            continue
        if isinstance(s, NetPort) and s.path is All:
            results[s] = {state_key(*st): from_batch(vals[st], None, form) for st in plan.states()}
            continue
        if isinstance(s, str) or s.path is None:
            name = s if isinstance(s, str) else s.port
            slot, t = plan.outputs[name], run.ports[name]
        else:
            ep = (s.path, s.port)
            slot = plan.slot(ep)
            t = plan.types.get(ep) or plan.flat.containers[s.path].ports[s.port]
        results[s] = from_batch(vals[slot], None if t.var is None else env.get(t.var), form)
    if coders:
        for s in specs:
            if isinstance(s, str) and s in coders:
                prop = decode_as.get(s, ("Decision", None))
                results[s] = coders[s].decode(results[s], form == "single", prop)
    value = results[specs[0]] if single else {s: results[s] for s in specs}
    if keep_states:
        kept = KeptStates({st: vals[st] for st in plan.states()}, form)
        if output is None and not wanted and not seeds and len(feeds) == 1 and not coders:
            kept.replay = Replay.of(net, run, plan, feeds, batches, dtype)
        return value, kept
    return value


class Replay:
    """The next call of a NetStateObject with data of the same shape and dtype, run without
    reading the call again: the data's values are still checked (finite, integer indices in
    range), and the kept states go straight to their slots. Built after a plain call
    (one input port, the default outputs, "Test" mode)."""

    def __init__(self, net, run, plan, port, t, form, dtype, shape, data_dtype, lengths):
        self.net, self.run, self.plan, self.port, self.t, self.form = net, run, plan, port, t, form
        self.dtype, self.shape, self.data_dtype = dtype, shape, data_dtype
        self.lens = {} if t.var is None else {t.var: lengths}
        self.outputs = [(plan.outputs[p], run.ports[p].var) for p in exposed_outputs(run)]
        self.state_slots = {st: _initial_slot(plan, *st) for st in plan.states()}

    @classmethod
    def of(cls, net, run, plan, feeds, batches, dtype):
        (port, x), b = next(iter(feeds.items())), batches[next(iter(feeds))]
        if not isinstance(x, np.ndarray) or b.form == "list":
            return None
        t = run.ports[port]
        return cls(net, run, plan, port, t, b.form, dtype, x.shape, x.dtype, b.lengths)

    def fits(self, x, dtype) -> bool:
        return (
            isinstance(x, np.ndarray)
            and x.shape == self.shape
            and x.dtype == self.data_dtype
            and dtype is self.dtype
        )

    def __call__(self, x, kept: KeptStates):
        a = x[None] if self.form == "single" else x
        a = np.ascontiguousarray(_check_values(a, self.t, self.port, self.dtype))
        feed = {(None, self.port): a}
        feed.update({self.state_slots[st]: v for st, v in kept.items()})
        vals, env, _ = self.plan.forward(feed, self.lens, Ctx(False, None, self.dtype, False))
        ys = [
            from_batch(vals[slot], None if v is None else env[v], self.form)
            for slot, v in self.outputs
        ]
        new = KeptStates({st: vals[st] for st in self.state_slots}, self.form)
        new.replay = self
        return ys[0] if len(ys) == 1 else dict(zip(exposed_outputs(self.run), ys)), new


def _read_inputs(run, feeds: dict, dtype):
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


def _gradients(run, plan, vals, env, tape, ctx, seeds, wanted, batches, form) -> dict:
    """Backward from the forced output gradients, or from ones (the sum of all outputs)."""
    seed_vals = {}
    for p in exposed_outputs(run) if not seeds else run.output_ports():
        slot = plan.outputs[p]
        y = vals[slot]
        if not seeds:
            seed_vals[slot] = np.ones_like(y)
        elif p in seeds:
            b = to_batch(seeds[p], run.ports[p], f"NetPortGradient({p!r})", ctx.dtype)
            if b.array.shape != y.shape:
                raise ValueError(
                    f'The forced gradient for output "{p}" has batch shape {b.array.shape}; '
                    f"the output has {y.shape}."
                )
            seed_vals[slot] = b.array
    grads, dparams = plan.backward(vals, env, tape, seed_vals, ctx)
    out = {}
    for s in wanted:
        if s.is_array:
            path, name = s.target[:-1], s.target[-1]
            g = dparams.get(path, {}).get(name)
            shape = plan.flat.leaves[path].arrays[name].shape
            out[s] = np.zeros(shape, ctx.dtype) if g is None else g.astype(ctx.dtype, copy=False)
        else:
            b = batches.get(s.target)  # absent: an omitted optional input (a zero initial state)
            g = grads.get((None, s.target))
            if g is None:
                g = (
                    np.zeros_like(b.array, dtype=ctx.dtype)
                    if b
                    else _zeros(run, s.target, batches, ctx)
                )
            out[s] = from_batch(g, b.lengths if b else None, form)
    return out
