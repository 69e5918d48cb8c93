"""Evaluating a net: ``net(data, output, …)`` → padded batches → plan → outputs in the
same batch form as the data, with gradients at any port on request."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .batching import PRECISIONS, Batch, from_batch, read_inputs, specialize, to_batch
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
    known, out = plan.states(), {}
    for key, value in states.items():
        if key not in known:
            names = ", ".join(map(repr, known)) or "none (the net has no recurrent layers)"
            raise ValueError(f"{key!r} is not a recurrent state of this net. States: {names}.")
        path, port = known[key]
        plan.initial_slot(key)  # refused when the state is wired from another port
        out[key] = to_batch(value, plan.flat.leaves[path].ports[port], repr(key), dtype)
    return out


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


def _output_specs(net, flat, output):
    """Normalize the requested outputs to a list of specs, and whether one value is returned."""
    if output is None:
        outs = net.exposed_outputs()
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
        return _check_inner_port(flat, o)
    if isinstance(o, NetPortGradient):
        return _check_array_gradient(flat, o) if o.is_array else _check_input_gradient(net, o)
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


def evaluate(net, data, output, *, evaluation_mode, random_seed, working_precision):
    """``net(data, output, …)``."""
    return run_call(
        net, data, output, mode=evaluation_mode, seed=random_seed, precision=working_precision
    ).value


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


def run_call(net, data, output, *, mode, seed, precision, kept=None) -> Call:
    """Evaluate; ``kept`` = (final states by (path, port), form) of a previous call starts the
    recurrent states there without reading them again."""
    dtype = _check_options(mode, precision)
    feeds, seeds, states = _port_dict(net, data)
    coders, decode_as = net.coders, {}
    if coders:
        feeds = {p: coders[p].encode_data(x, p) if p in coders else x for p, x in feeds.items()}
        output, decode_as = _decoder_property(net, output)
    run = specialize(net, feeds)
    plan = plan_of(run)
    specs, single = _output_specs(run, plan.flat, output)
    batches, lens, form = read_inputs(run, feeds, dtype)
    initial = _state_feeds(plan, states, dtype, kept)
    _check_initial(plan, initial, batches, form)
    wanted = [s for s in specs if isinstance(s, NetPortGradient)]
    ctx = Ctx(training=mode == "Train", seed=seed, dtype=dtype, grad=bool(wanted))
    feed = {(None, p): b.array for p, b in batches.items()}
    feed.update({plan.initial_slot(name): b.array for name, b in initial.items()})
    fwd = Pass(run, plan, *plan.forward(feed, lens, ctx), ctx, batches, form)
    if seeds and not wanted:
        _seeds(fwd, seeds)  # checked even when no gradient is asked for
    results = _gradients(fwd, seeds, wanted) if wanted else {}
    results.update(_values(fwd, specs))
    for s in specs:
        if isinstance(s, str) and s in coders:
            prop = decode_as.get(s, ("Decision", None))
            results[s] = coders[s].decode(results[s], form == "single", prop)
    value = results[specs[0]] if single else {s: results[s] for s in specs}
    plain = output is None and not wanted and not seeds and len(feeds) == 1 and not coders
    return Call(value, net, run, plan, fwd.vals, feeds, batches, form, dtype, plain)


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
            shape = fwd.plan.flat.leaves[path].arrays[name].shape
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
            if b.array.shape != y.shape:
                raise ValueError(
                    f'The forced gradient for output "{p}" has batch shape {b.array.shape}; '
                    f"the output has {y.shape}."
                )
            out[slot] = b.array
    return out
