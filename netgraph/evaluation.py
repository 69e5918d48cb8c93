"""Evaluating a net: ``net(data, output, …)`` → padded batches → plan → outputs in the
same batch form as the data, with gradients at any port on request; in one batch, or in
chunks of at most ``batch_size`` examples whose results are joined."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .batching import (
    PRECISIONS,
    Batch,
    examples_form,
    from_batch,
    join_examples,
    read_inputs,
    specialize,
    take_examples,
    to_batch,
)
from .kernels.base import Ctx
from .plan import Plan, plan_of
from .symbols import All, NetPort, NetPortGradient
from .text import closest

MODES = ("Test", "Train")


def _port_dict(net, data) -> tuple[dict, dict]:
    """Split the call's data into port data and forced output gradients."""
    ins = net.input_ports()
    if not isinstance(data, dict):
        required = net.required_inputs()
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
    missing = [p for p in net.required_inputs() if p not in feeds]
    if missing:
        raise ValueError(f"No data was given for the input port(s) {', '.join(missing)}.")
    return feeds, seeds, states


def _state_feeds(plan: Plan, states: dict, dtype, kept) -> dict:
    """Initial states as batches, by state name: given by the user with
    NetPort(All, "States"), or ``kept`` = (arrays by (path, port), form) from a previous call."""
    if kept is not None:
        arrays, form = kept
        return {plan.state_name(st): Batch(a, None, form) for st, a in arrays.items()}
    return {key: to_batch(v, _state_type(plan, key), repr(key), dtype) for key, v in states.items()}


def _state_type(plan: Plan, key) -> object:
    """The type of the recurrent state ``key`` (NetPort(layer, port)) that a call sets."""
    known = plan.states()
    if key not in known:
        names = ", ".join(map(repr, known)) or "none (the net has no recurrent layers)"
        raise ValueError(f"{key!r} is not a recurrent state of this net. States: {names}.")
    path, port = known[key]
    plan.initial_slot(key)  # refused when the state is wired from another port
    return plan.flat.leaves[path].ports[port]


def _decoder_property(net, output):
    """``net(x, "Probabilities")``: a decoder property in place of an output port; returns
    the output spec to compute and the property wanted for each decoded port."""
    decoders = [p for p in net.exposed_outputs() if p in net.coders]
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


def _output_specs(net, plan, output):
    """Normalize the requested outputs to a list of specs, and whether one value is returned."""
    if output is None:
        outs = net.exposed_outputs()
        return outs, len(outs) == 1
    if isinstance(output, list):
        return [_check_spec(net, plan, o) for o in output], False
    return [_check_spec(net, plan, output)], True


def _check_spec(net, plan, o):
    if isinstance(o, str) or (isinstance(o, NetPort) and o.path is None):
        name = o if isinstance(o, str) else o.port
        if name not in net.output_ports():
            raise ValueError(
                f'The net has no output port "{name}"{closest(name, net.output_ports())}. Output ports: {", ".join(net.output_ports())}.'
            )
        return o
    if isinstance(o, NetPort):
        return _check_inner_port(plan.flat, o)
    if isinstance(o, NetPortGradient):
        return (
            _check_array_gradient(plan.opened, o) if o.is_array else _check_input_gradient(net, o)
        )
    raise TypeError(
        f"Unknown output specification {o!r}: give an output port name, NetPort(layer, port), "
        "NetPortGradient(port) or NetPortGradient([layer, array]), or a list of them."
    )


def _check_inner_port(flat, o: NetPort) -> NetPort:
    if o.path is All:
        if o.port != "States":
            raise ValueError(
                f'NetPort(All, …) names every recurrent state as NetPort(All, "States"); received {o!r}.'
            )
        return o
    node = flat.leaves.get(o.path) or flat.containers.get(o.path)
    inside = next((o.path[:i] for i in range(len(o.path)) if o.path[:i] in flat.leaves), None)
    if node is None and inside is not None and flat.leaves[inside].is_operator:
        raise ValueError(
            f'"{"/".join(o.path)}" is inside the {type(flat.leaves[inside]).__name__} '
            f'"{"/".join(inside)}", whose inner nets run as one step: NetPort reaches its own '
            f"ports ({', '.join(flat.leaves[inside].ports)}), not theirs."
        )
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


def _check_array_gradient(flat, o: NetPortGradient) -> NetPortGradient:
    path, name = o.target[:-1], o.target[-1]
    leaf = flat.leaves.get(path)
    if leaf is None or name not in leaf.arrays:
        arrays = ["/".join(p + (k,)) for p, lf in flat.leaves.items() for k in lf.arrays]
        shown = "/".join(o.target)
        raise ValueError(
            f'The net has no array "{shown}"{closest(shown, arrays)}. Arrays: {", ".join(arrays) or "none"}.'
        )
    if name in leaf.updated_arrays:
        raise ValueError(
            f'NetPortGradient: array "{"/".join(o.target)}" of the {type(leaf).__name__} has no '
            "gradient: training sets it without gradients (from the data's statistics), so no "
            f"gradient is computed for it. Arrays of this layer with gradients: "
            f"{', '.join(k for k in leaf.arrays if k not in leaf.updated_arrays) or 'none'}."
        )
    return o


def _check_input_gradient(net, o: NetPortGradient) -> NetPortGradient:
    if o.target not in net.input_ports():
        raise ValueError(
            f'NetPortGradient("{o.target}") must name an input port{closest(o.target, net.input_ports())}; input ports: {", ".join(net.input_ports())}.'
        )
    if net.ports[o.target].is_integer:
        raise ValueError(
            f'NetPortGradient("{o.target}"): port "{o.target}" takes integers, which have no gradient.'
        )
    return o


# -- the call ------------------------------------------------------------------------------


def evaluate(
    net, data, output, *, evaluation_mode, random_seed, working_precision, batch_size=None
):
    """``net(data, output, …)``: in one batch, or in chunks of at most ``batch_size`` examples."""
    options = {"mode": evaluation_mode, "seed": random_seed, "precision": working_precision}
    if batch_size is None:
        return run_call(net, data, output, **options).value
    return run_chunks(net, data, output, batch_size=_check_batch_size(batch_size), **options)


@dataclass
class Data:
    """A call's data by kind: input port → data, output port → forced gradient, recurrent
    state → initial state; ``part``: a chunk of a larger call."""

    feeds: dict
    seeds: dict
    states: dict
    part: bool = False


@dataclass
class Request:
    """A call read once: the net completed from the data, its plan, the data, the outputs."""

    run: object  # the net with its open input types filled in from the data
    plan: Plan
    data: Data  # inputs already encoded
    output: object  # as asked, a decoder property replaced by its port
    specs: list  # the outputs to compute
    single: bool  # one value is returned (else a dict by spec)
    decode_as: dict  # decoded port → the property asked for

    @property
    def wanted(self) -> list:
        return [s for s in self.specs if isinstance(s, NetPortGradient)]


@dataclass
class Call:
    """One evaluation: its value and what a NetStateObject needs to keep from it."""

    value: object
    net: object
    run: object  # the net with its open input types filled in from the data
    plan: Plan
    vals: dict  # slot → batch array
    feeds: dict  # input port → the data as given
    batches: dict  # input port → Batch
    form: str  # the batch form of the data: "single", "array" or "list"
    dtype: type
    plain: bool  # one input, the default outputs, no gradients, no coders


@dataclass
class Pass:
    """A forward pass over a plan, as the backward pass and the outputs read it."""

    run: object
    plan: Plan
    vals: dict
    env: dict  # length variable → lengths
    tape: list
    ctx: Ctx
    batches: dict
    form: str
    part: bool = False  # a chunk of a larger call


def run_call(net, data, output, *, mode, seed, precision, kept=None) -> Call:
    """Evaluate; ``kept`` = (final states by (path, port), form) of a previous call starts the
    recurrent states there without reading them again."""
    dtype = _check_options(mode, precision)
    req = _request(net, data, output)
    ctx = Ctx(training=mode == "Train", seed=seed, dtype=dtype, grad=bool(req.wanted))
    results, fwd = _run(req, req.data, ctx, kept)
    value = _finish(net, req, results, fwd.form)
    feeds = req.data.feeds
    plain = (
        req.output is None
        and not req.wanted
        and not req.data.seeds
        and len(feeds) == 1
        and not net.coders
    )
    return Call(value, net, req.run, req.plan, fwd.vals, feeds, fwd.batches, fwd.form, dtype, plain)


def run_chunks(net, data, output, *, mode, seed, precision, batch_size: int):
    """Evaluate in chunks of at most ``batch_size`` examples and join the results: each
    chunk is a call of its own, from one random generator (Train mode draws its masks chunk
    after chunk); array gradients are the sums of the chunks'."""
    dtype = _check_options(mode, precision)
    req = _request(net, data, output)
    ctx = Ctx(training=mode == "Train", seed=seed, dtype=dtype, grad=bool(req.wanted))
    split = _split(req, batch_size)
    if split is None:
        results, fwd = _run(req, req.data, ctx)
        return _finish(net, req, results, fwd.form)
    form, chunks, examples = split
    parts = [_run(req, _chunk(req.data, examples, idx), ctx)[0] for idx in chunks]
    return _finish(net, req, _joined(req.specs, parts, form, chunks), form)


def _request(net, data, output) -> Request:
    """Read a call: the data by kind (inputs encoded), the net and plan for it, the outputs."""
    feeds, seeds, states = _port_dict(net, data)
    coders, decode_as = net.coders, {}
    if coders:
        feeds = {p: coders[p].encode_data(x, p) if p in coders else x for p, x in feeds.items()}
        output, decode_as = _decoder_property(net, output)
    run = specialize(net, feeds)
    plan = plan_of(run)
    specs, single = _output_specs(run, plan, output)
    return Request(run, plan, Data(feeds, seeds, states), output, specs, single, decode_as)


def _run(req: Request, data: Data, ctx: Ctx, kept=None) -> tuple[dict, Pass]:
    """One batch through the plan: the results by spec (not decoded) and the forward pass."""
    batches, lens, form = read_inputs(req.run, data.feeds, ctx.dtype)
    initial = _state_feeds(req.plan, data.states, ctx.dtype, kept)
    _check_initial(req.plan, initial, batches, form)
    feed = {(None, p): b.array for p, b in batches.items()}
    feed.update({req.plan.initial_slot(name): b.array for name, b in initial.items()})
    fwd = Pass(req.run, req.plan, *req.plan.forward(feed, lens, ctx), ctx, batches, form, data.part)
    seeds, wanted = data.seeds, req.wanted
    if seeds and not wanted:
        _seeds(fwd, seeds)  # checked even when no gradient is asked for
    results = _gradients(fwd, seeds, wanted) if wanted else {}
    results.update(_values(fwd, req.specs))
    return results, fwd


def _finish(net, req: Request, results: dict, form: str):
    """The call's value: decoded outputs decoded, one value or a dict by spec."""
    for s in req.specs:
        if isinstance(s, str) and s in net.coders:
            prop = req.decode_as.get(s, ("Decision", None))
            results[s] = net.coders[s].decode(results[s], form == "single", prop)
    return results[req.specs[0]] if req.single else {s: results[s] for s in req.specs}


def _check_options(mode, precision):
    if precision not in PRECISIONS:
        raise ValueError(f'working_precision must be "Real32" or "Real64"; received {precision!r}.')
    if mode not in MODES:
        raise ValueError(f'evaluation_mode must be "Test" or "Train"; received {mode!r}.')
    return PRECISIONS[precision]


def _check_initial(plan: Plan, initial: dict, batches: dict, form: str) -> None:
    size = len(next(iter(batches.values())).array)
    for name, b in initial.items():
        if b.form != form or len(b.array) != size:
            raise ValueError(
                f"The initial state {name!r} must be given in the same batch form and size as the inputs."
            )


def _values(fwd: Pass, specs: list) -> dict:
    """The requested output ports, inner ports and final states, in the data's batch form."""
    plan, out = fwd.plan, {}
    for s in specs:
        if isinstance(s, NetPortGradient):
            continue
        if isinstance(s, NetPort) and s.path is All:
            out[s] = {
                n: from_batch(fwd.vals[st], None, fwd.form) for n, st in plan.states().items()
            }
            continue
        if isinstance(s, str) or s.path is None:
            name = s if isinstance(s, str) else s.port
            slot, t = plan.outputs[name], fwd.run.ports[name]
        else:
            ep = (s.path, s.port)
            slot = plan.slot(ep)
            t = plan.types.get(ep) or plan.flat.containers[s.path].ports[s.port]
        lengths = None if t.var is None else fwd.env.get(t.var)
        out[s] = from_batch(fwd.vals[slot], lengths, fwd.form)
    return out


def _gradients(fwd: Pass, seeds: dict, wanted: list) -> dict:
    """Backward from the forced output gradients, or from ones (the sum of all outputs)."""
    grads, dparams = fwd.plan.backward(fwd.vals, fwd.env, fwd.tape, _seeds(fwd, seeds), fwd.ctx)
    dtype, out = fwd.ctx.dtype, {}
    for s in wanted:
        if s.is_array:
            path, name = s.target[:-1], s.target[-1]
            g = dparams.get(path, {}).get(name)
            shape = fwd.plan.opened.leaves[path].arrays[name].shape
            out[s] = np.zeros(shape, dtype) if g is None else g.astype(dtype, copy=False)
            continue
        b = fwd.batches.get(s.target)  # absent: an omitted optional input (a zero initial state)
        g = grads.get((None, s.target))
        if g is None and b is not None:
            g = np.zeros_like(b.array, dtype=dtype)
        elif g is None:
            size = len(next(iter(fwd.batches.values())).array)
            g = np.zeros((size,) + fwd.run.ports[s.target].shape(), dtype)
        out[s] = from_batch(g, b.lengths if b else None, fwd.form)
    return out


def _seeds(fwd: Pass, seeds: dict) -> dict:
    """The output gradients to start from: the forced ones, or ones on every plain output."""
    run, out = fwd.run, {}
    for p in run.exposed_outputs() if not seeds else run.output_ports():
        slot = fwd.plan.outputs[p]
        y = fwd.vals[slot]
        if not seeds:
            out[slot] = np.ones_like(y)
        elif p in seeds:
            b = to_batch(seeds[p], run.ports[p], f"NetPortGradient({p!r})", fwd.ctx.dtype)
            g = _cut(b.array, y.shape) if fwd.part and run.ports[p].var else b.array
            if g.shape != y.shape:
                raise ValueError(
                    f'The forced gradient for output "{p}" has batch shape {g.shape}; '
                    f"the output has {y.shape}."
                )
            out[slot] = g
    return out


def _cut(g: np.ndarray, shape: tuple) -> np.ndarray:
    """A chunk's forced gradient for a sequence output, padded to the longest output of the
    whole batch, cut to the chunk's longest: the steps cut are padding in all its examples."""
    if g.ndim == len(shape) > 1 and g.shape[1] > shape[1]:
        return g[:, : shape[1]]
    return g


# -- chunks (batch_size) -------------------------------------------------------------------


def _check_batch_size(batch_size) -> int:
    if (
        isinstance(batch_size, bool)
        or not isinstance(batch_size, (int, np.integer))
        or batch_size < 1
    ):
        raise ValueError(
            "batch_size must be a positive integer (the most examples evaluated at once) or "
            f"None (all at once); received {batch_size!r}."
        )
    return int(batch_size)


def _split(req: Request, batch_size: int):
    """(the data's batch form, the example indices of each chunk, every item's examples by
    key), or None when the data is one chunk."""
    examples = _examples(req)
    if "single" in {form for _, form in examples.values()}:
        return None  # one example (read_inputs refuses one mixed with batches)
    n = _count(examples)
    if n <= batch_size:
        return None
    form = examples["feed", next(iter(req.data.feeds))][1]
    order = _by_length(req, examples, n) if form == "list" else np.arange(n)
    chunks = [order[i : i + batch_size] for i in range(0, n, batch_size)]
    return form, chunks, {key: ex for key, (ex, _) in examples.items()}


def _examples(req: Request) -> dict:
    """Every item of the data split into examples: ("feed" | "seed" | "state", name) →
    (the examples, a list or a batch array; the form)."""
    run, data = req.run, req.data
    out = {("feed", p): examples_form(x, run.ports[p], p) for p, x in data.feeds.items()}
    for p, x in data.seeds.items():
        out["seed", p] = examples_form(x, run.ports[p], f"NetPortGradient({p!r})")
    for key, x in data.states.items():
        out["state", key] = examples_form(x, _state_type(req.plan, key), repr(key))
    return out


def _count(examples: dict) -> int:
    """The number of examples: the same for every item of the data, else refused."""
    sizes = {key: len(ex) for key, (ex, _) in examples.items()}
    feeds = {p: n for (kind, p), n in sizes.items() if kind == "feed"}
    if len(set(feeds.values())) > 1:
        shown = ", ".join(f"{p}: {n}" for p, n in feeds.items())
        raise ValueError(f"Every input port needs the same number of examples; received {shown}.")
    n = next(iter(feeds.values()))
    for (kind, name), m in sizes.items():
        if m != n:
            what = (
                f'forced gradient for output "{name}"'
                if kind == "seed"
                else f"initial state {name!r}"
            )
            raise ValueError(f"The {what} has {m} examples; the input data has {n}.")
    return n


def _by_length(req: Request, examples: dict, n: int) -> np.ndarray:
    """The examples by increasing length (summed over the input sequences; stable), so that
    each chunk holds sequences of about one length and pads little."""
    total = np.zeros(n, np.int64)
    for p in req.data.feeds:
        if req.run.ports[p].var is not None:
            total += np.array([len(e) for e in examples["feed", p][0]], np.int64)
    return np.argsort(total, kind="stable")


def _chunk(data: Data, examples: dict, idx: np.ndarray) -> Data:
    """The data of the examples ``idx``, a part of the call."""

    def part(kind: str, items: dict) -> dict:
        return {k: take_examples(examples[kind, k], idx) for k in items}

    seeds, states = part("seed", data.seeds), part("state", data.states)
    return Data(part("feed", data.feeds), seeds, states, part=True)


def _joined(specs: list, parts: list, form: str, chunks: list) -> dict:
    """The results of the chunks joined into those of the whole batch."""
    out = {}
    for s in specs:
        values = [p[s] for p in parts]
        if isinstance(s, NetPortGradient) and s.is_array:
            out[s] = _summed(values)  # a sum over the batch: the chunks' sums added
        elif isinstance(s, NetPort) and s.path is All:
            out[s] = {k: join_examples([v[k] for v in values], form, chunks) for k in values[0]}
        else:
            out[s] = join_examples(values, form, chunks)
    return out


def _summed(arrays: list) -> np.ndarray:
    """The sum of arrays of one shape, an array (0-d included) of their dtype."""
    total = arrays[0].copy()
    for a in arrays[1:]:
        total += a
    return total
