"""Operators: nets that apply inner nets in a pattern. NetMapOperator applies a net to every
element of a sequence, NetBidirectionalOperator runs a sequence net forwards and on the
reversed sequence, NetFoldOperator folds a net with a recurrent state over a sequence (a
custom recurrent cell), NetNestOperator applies a net n times.

An operator is a container to everything that reads arrays: its inner nets are its
``layers`` ("Net", or "ForwardNet" and "BackwardNet", as Wolfram's NetExtract names them),
so array paths run through them, NetInitialize and NetTrain see their arrays, and
``NetExtract(op, "Net")`` gives the inner net. To inference and the plan it is a leaf
(``is_operator``, ``walk.flatten(closed=True)``): its type rule relates its ports to its
inner nets' ports, whose types ``retyped`` fixes, and the plan runs each inner net's own
plan (``plan_operators.py``).
"""

from __future__ import annotations

import networkx as nx

from ..inference import infer_net
from ..net import FrozenDict, Net
from ..text import closest
from ..types import REAL, Mismatch, TensorType, TypeConflict, Var, describe, parse_type
from ..walk import flatten, states

AGGREGATIONS = ("Catenate", "Total", "Mean")


def _key(t: TensorType) -> tuple:
    """A type as a cache key: length variables are all alike to an inner net."""
    dims = None if t.dims is None else tuple("V" if isinstance(d, Var) else d for d in t.dims)
    return dims, repr(t.kind)


def _strip(t: TensorType) -> TensorType:
    """An element's type: the type without its first dimension."""
    return TensorType(None if t.dims is None else t.dims[1:], t.kind)


def _meet(u, new: TensorType, old: TensorType, what: str) -> TensorType:
    """The computed type met with the port's type so far (the computed one first, so that a
    length variable made by the rule joins the port's own)."""
    return u.meet(new, old, lambda: f"{what}: expected {describe(new)}, found {describe(old)}")


class Operator(Net):
    """What the operators share: inner nets as layers, their own ports, an inner inference
    cached by the types given to it."""

    is_container = True
    is_operator = True
    NETS: tuple[str, ...] = ("Net",)  # the inner nets' names, as NetExtract reaches them
    edges: tuple = ()
    arrays = FrozenDict()  # an operator's arrays are its inner nets'
    updated_arrays: tuple = ()  # (its inner layers' are theirs: plan_operators.py passes them on)
    updated_when = "batch"
    mapped: tuple[str, ...] = ()  # ports with a leading dimension the inner net does not see

    def _setup(self, nets: dict, options: dict, ins: tuple, outs: tuple, specs: dict) -> None:
        owner = type(self).__name__
        for name, n in nets.items():
            if not isinstance(n, Net):
                raise TypeError(
                    f"{owner}: {name} must be a layer or a net such as LongShortTermMemoryLayer(8); "
                    f"received {n!r} of type {type(n).__name__}."
                )
        ports = {p: parse_type(None) for p in ins + outs}
        for key, spec in specs.items():
            if spec is None:
                continue
            name = key.capitalize() if key in ("input", "output") else key
            if name not in ports:
                raise ValueError(f'{owner}: there is no port "{name}"; ports: {", ".join(ports)}.')
            ports[name] = parse_type(spec, f'{owner}: port "{name}"')
        graph = nx.DiGraph()
        graph.add_nodes_from((None, p) for p in ports)
        self._set(layers=nets, options=options, ports=ports, graph=graph)
        self._set(_in=tuple(ins), _out=tuple(dict.fromkeys(outs)))
        self._set_coders({})
        inferred = infer_net(self)
        self._set(layers=inferred.layers, ports=inferred.ports)

    def input_ports(self, options=None) -> tuple[str, ...]:
        return self._in

    def output_ports(self, options=None) -> tuple[str, ...]:
        return self._out

    def construction_options(self) -> dict:
        return dict(self.options)

    @classmethod
    def from_parts(cls, nets: dict, options: dict, ports: dict):
        """The operator built from its inner nets by name, its options and port types (as a
        .ngnet file holds them)."""
        if list(nets) != list(cls.NETS):
            raise ValueError(
                f"{cls.__name__} holds the nets {', '.join(cls.NETS)}; received {', '.join(nets)}."
            )
        inner = [nets[n] for n in cls.NETS]
        ports = {p.lower() if p in ("Input", "Output") else p: t for p, t in ports.items()}
        return cls(inner if len(inner) > 1 else inner[0], **options, **ports)

    def _inner(self, name: str, given: dict):
        """The inner net ``name`` inferred with the given port types (cached by them)."""
        key = ("inner", name, tuple(sorted((p, _key(t)) for p, t in given.items())))
        hit = self._cache.get(key)
        if hit is None:
            try:
                hit = infer_net(self.layers[name], given)
            except ValueError as e:
                raise TypeConflict(f'in its "{name}": {str(e).rstrip(".")}') from None
            self._cache[key] = hit
        return hit

    def given(self, name: str, t: dict) -> dict:
        """The types of the inner net ``name``'s ports that the operator's port types imply."""
        raise NotImplementedError

    def retyped(self, ports: dict):
        """The operator with these port types and its inner nets inferred from them."""
        t = dict(ports)
        layers = {name: self._inner(name, self.given(name, t)) for name in self.layers}
        return self._replace(ports=ports, layers=layers)

    def _lead(self, u, t: dict):
        """The one leading dimension of the mapped ports (a length variable or a size)."""
        lead = None
        for p in self.mapped:
            d = t[p].dims
            if d is None:
                continue
            if not d:
                raise TypeConflict(f'port "{p}" is a scalar; it must be a sequence or an array')
            try:
                lead = u.dim(lead, d[0])
            except Mismatch:
                raise TypeConflict(
                    "every mapped port must have the same length; "
                    + ", ".join(f'"{q}" is {describe(t[q])}' for q in self.mapped)
                ) from None
        return lead


def _fixed(net_types: dict, why: str) -> None:
    for p, t in net_types.items():
        if t.dims is not None and any(isinstance(d, Var) for d in t.dims):
            raise TypeConflict(
                f'{why}, so port "{p}" of the net must have a fixed shape; it is {describe(t)}'
            )


class NetMapOperator(Operator):
    """Applies ``net`` to every element of a sequence (or of the first dimension of an
    array): ``("Varying", *shape)`` → ``("Varying", *output shape)``, each element alone, with
    one set of arrays shared by every element.

    Every port of ``net`` becomes a port of the operator with one more, leading dimension,
    the same for all of them; ``net``'s own ports must have fixed shapes. Ragged sequences
    are exact: only true steps are computed. Wolfram's NetMapOperator; MATLAB's
    ``sequenceFoldingLayer``/``sequenceUnfoldingLayer`` pair around a frame net; PyTorch's
    habit of folding the time axis into the batch.

    >>> import numpy as np
    >>> from netgraph import LinearLayer, NetInitialize, NetMapOperator
    >>> net = NetInitialize(NetMapOperator(LinearLayer(2), input=("Varying", 3)), random_seed=0)
    >>> net.ports["Output"]
    (Varying, 2)
    >>> x = np.ones((4, 3), np.float32)
    >>> bool(np.allclose(net(x), net.layers["Net"](x)))
    True
    """

    def __init__(self, net, *, input=None, output=None, **ports):
        if not isinstance(net, Net):
            raise TypeError(
                "NetMapOperator: net must be a layer or a net such as LinearLayer(3); received "
                f"{net!r} of type {type(net).__name__}."
            )
        ins, outs = net.input_ports(), net.output_ports()
        if net.optional_inputs or net.state_ports:
            raise ValueError(
                "NetMapOperator applies its net to each element alone, so the net cannot have "
                f"recurrent states ({', '.join(net.optional_inputs)}); use NetFoldOperator to "
                "carry a state from one element to the next."
            )
        self._set(mapped=tuple(ins) + tuple(outs))
        self._setup({"Net": net}, {}, ins, outs, {"input": input, "output": output, **ports})

    def given(self, name, t):
        return {p: _strip(t[p]) for p in self.ports if t[p].dims is not None}

    def infer(self, t, u):
        lead = self._lead(u, t)
        inner = self._inner("Net", self.given("Net", t))
        _fixed(inner.ports, "it applies its net to one element at a time")
        out = {}
        for p in self.ports:
            it = inner.ports[p]
            if it.dims is None:
                out[p] = t[p]
                continue
            if lead is None:
                lead = Var()
            out[p] = _meet(u, TensorType((lead,) + it.dims, it.kind), t[p], f'port "{p}"')
        return out


def _state_names(net) -> dict:
    """The recurrent states of a net: (path, port) → a port name for it (the port's name
    when it is unique, else the layer names and the port run together)."""
    found = list(states(flatten(net, closed=True)).values())
    ports = [p for _, p in found]
    return {(path, p): p if ports.count(p) == 1 else "".join(path) + p for path, p in found}


def _state_type(net, ep) -> TensorType:
    path, port = ep
    return flatten(net, closed=True).leaves[path].ports[port]


class NetBidirectionalOperator(Operator):
    """Runs a sequence net forwards and another on the reversed sequence, and joins their
    outputs step by step: ``NetBidirectionalOperator(net)`` (two copies of ``net``, trained
    independently), ``NetBidirectionalOperator([forward, backward])``.

    ``aggregation``: "Catenate" (default: the two vectors of each step joined, 2·d wide),
    "Total" or "Mean". Each sequence of a ragged batch is reversed within its own length. The
    inner nets' recurrent states are ports of the operator, their names prefixed with
    "Forward" and "Backward" (a LongShortTermMemoryLayer inside gives "ForwardState",
    "ForwardCellState", "BackwardState", "BackwardCellState"): optional inputs (initial
    states) and outputs (final states; the backward net's is its state after the first step).
    A state cannot be carried from one call to the next (the backward net reads the sequence
    from its end), so NetStateObject refuses it. Wolfram's NetBidirectionalOperator; MATLAB's
    ``bilstmLayer``; PyTorch's ``nn.LSTM(bidirectional=True)``.

    >>> from netgraph import LongShortTermMemoryLayer, NetBidirectionalOperator
    >>> bi = NetBidirectionalOperator(LongShortTermMemoryLayer(4), input=("Varying", 3))
    >>> bi.ports["Output"], bi.state_ports
    ((Varying, 8), ('ForwardState', 'ForwardCellState', 'BackwardState', 'BackwardCellState'))
    """

    mapped = ("Input", "Output")
    NETS = ("ForwardNet", "BackwardNet")
    whole_sequences = "its backward net reads each sequence from its end"

    def __init__(self, net, aggregation="Catenate", *, input=None, output=None, **ports):
        if isinstance(net, (list, tuple)):
            if len(net) != 2:
                raise ValueError(
                    "NetBidirectionalOperator takes one net or a list of two (forward, backward); "
                    f"received a list of {len(net)}."
                )
            nets = {"ForwardNet": net[0], "BackwardNet": net[1]}
        else:
            nets = {"ForwardNet": net, "BackwardNet": net}
        if aggregation not in AGGREGATIONS:
            raise ValueError(
                f"NetBidirectionalOperator: aggregation must be one of {', '.join(AGGREGATIONS)}; "
                f"received {aggregation!r}."
            )
        names = {}
        for name, n in nets.items():
            if not isinstance(n, Net):
                break  # refused by _setup with a clear message
            if n.input_ports() and n.required_inputs() != ["Input"] or "Output" not in n.ports:
                raise ValueError(
                    f'NetBidirectionalOperator: the {name} must take one input "Input" (a '
                    f'sequence) and give "Output"; it has inputs {", ".join(n.input_ports())} '
                    f"and outputs {', '.join(n.output_ports())}."
                )
            prefix = name[: -len("Net")]
            names[name] = {ep: prefix + p for ep, p in _state_names(n).items()}
        state_ports = tuple(p for d in names.values() for p in d.values())
        self._set(
            state_ports=state_ports,
            optional_inputs=state_ports,
            optional_outputs=state_ports,
            state_map=names,
        )
        self._setup(
            nets,
            {"aggregation": aggregation},
            ("Input", *state_ports),
            ("Output", *state_ports),
            {"input": input, "output": output, **ports},
        )

    def construction_options(self) -> dict:
        return {"aggregation": self.options["aggregation"]}

    def given(self, name, t):
        x = t["Input"]
        if x.dims is None:
            return {}
        if not x.dims or not isinstance(x.dims[0], (Var, int)):
            return {"Input": TensorType(None, x.kind)}
        return {"Input": TensorType((Var(),) + x.dims[1:], x.kind)}

    def infer(self, t, u):
        x = t["Input"]
        if x.dims is not None and (not x.dims or not isinstance(x.dims[0], Var)):
            raise TypeConflict(
                f'port "Input" must be a sequence ("Varying", …); it is {describe(x)}'
            )
        f, b = (self._inner(n, self.given(n, t)) for n in ("ForwardNet", "BackwardNet"))
        out = dict(t)
        for name, n in (("ForwardNet", f), ("BackwardNet", b)):
            for ep, p in self.state_map[name].items():
                out[p] = _meet(u, _state_type(n, ep), t[p], f'port "{p}"')
        xi = f.ports["Input"]
        if x.dims is None and xi.dims is not None:
            x = TensorType((Var(),) + xi.dims[1:], xi.kind)
        out["Input"] = x = _meet(u, x, t["Input"], 'port "Input"')
        y = self._joined(f, b, None if x.dims is None else x.dims[0])
        out["Output"] = _meet(u, y, t["Output"], 'port "Output"')
        return out

    def _joined(self, f, b, lead) -> TensorType:
        """The output type: the two nets' outputs joined by the aggregation."""
        fo, bo = f.ports["Output"], b.ports["Output"]
        if fo.dims is None or bo.dims is None:
            return TensorType(None, REAL)
        seq = [o.var is not None and o.var is n.ports["Input"].var for o, n in ((fo, f), (bo, b))]
        if any(o.var is not None and not s for o, s in zip((fo, bo), seq)):
            raise TypeConflict(
                'each net\'s "Output" must be a sequence as long as its "Input" (the backward '
                "output is reversed back step by step), or not a sequence at all"
            )
        if seq[0] != seq[1]:
            raise TypeConflict(
                "the forward and backward nets must both give sequences as long as the input, "
                f"or both not: they give {describe(fo)} and {describe(bo)}"
            )
        fd, bd = (fo.dims[1:], bo.dims[1:]) if seq[0] else (fo.dims, bo.dims)
        if self.options["aggregation"] == "Catenate":
            if not fd or not bd or fd[:-1] != bd[:-1]:
                raise TypeConflict(
                    "Catenate joins the last dimension of the two nets' outputs, which must be "
                    f"arrays of equal shape but for it; they are {describe(fo)} and {describe(bo)}"
                )
            last = None if None in (fd[-1], bd[-1]) else fd[-1] + bd[-1]
            dims = fd[:-1] + (last,)
        elif fd != bd:
            raise TypeConflict(
                f"{self.options['aggregation']} adds the two nets' outputs, which must have "
                f"one shape; they are {describe(fo)} and {describe(bo)}"
            )
        else:
            dims = fd
        return TensorType(((lead,) if seq[0] else ()) + dims, REAL)


def _names(option: str, names, valid, what: str) -> None:
    for name in names:
        if name not in valid:
            raise ValueError(
                f'NetFoldOperator: {option} names "{name}", which is not one of the net\'s '
                f"{what}{closest(str(name), valid)}; its {what}: {', '.join(valid)}."
            )


class NetFoldOperator(Operator):
    """Folds a net with a recurrent state over a sequence: a custom recurrent cell.

    ``NetFoldOperator(net)`` takes a ``net`` with inputs "Input" and "State" and an output
    "Output", and computes ``s_t = net(Input=x_t, State=s_{t−1})`` for each step, from a zero
    state: its "Output" is the sequence ``s_1 … s_n`` and its "State" port the initial state
    (an optional input) and the final one (an optional output), as a recurrent layer's.
    ``feedback`` maps outputs of ``net`` to the inputs they feed at the next step (default
    ``{"Output": "State"}``; several states are allowed), ``constants`` lists inputs given
    once for the whole sequence, and ``outputs`` the outputs returned as sequences (default:
    all but those fed back under their own name, as a recurrent layer's "State" → "State",
    whose port is the state's). Every other input is a sequence, all of one length. Gradients run through time;
    ragged sequences are exact (each stops at its length); NetStateObject carries the states
    from call to call. Wolfram's NetFoldOperator.

    >>> from netgraph import LinearLayer, NetFoldOperator, NetGraph, NetPort, ThreadingLayer
    >>> cell = NetGraph({"x": LinearLayer(3), "s": LinearLayer(3), "add": ThreadingLayer("Plus")},
    ...                 [(NetPort("Input"), "x"), (NetPort("State"), "s"), (["x", "s"], "add")],
    ...                 input=2, State=3)
    >>> fold = NetFoldOperator(cell)
    >>> fold.ports["Output"], fold.state_ports
    ((Varying, 3), ('State',))
    """

    def __init__(
        self, net, feedback=None, constants=(), outputs=None, *, input=None, output=None, **ports
    ):
        if not isinstance(net, Net):
            raise TypeError(
                f"NetFoldOperator: net must be a layer or a net; received {type(net).__name__}."
            )
        feedback = dict({"Output": "State"} if feedback is None else feedback)
        constants = tuple(constants)
        for out, inp in feedback.items():
            if out not in net.output_ports() or inp not in net.input_ports():
                raise ValueError(
                    f'NetFoldOperator: the feedback "{out}" → "{inp}" must name an output and an '
                    f"input of the net; it has inputs {', '.join(net.input_ports())} and outputs "
                    f"{', '.join(net.output_ports())}."
                )
        _names("constants", constants, net.input_ports(), "inputs")
        states_ = tuple(feedback.values())
        if outputs is None:  # every output but those named as a state, whose port is the state's
            outputs = [o for o in net.output_ports() if o not in states_]
        outputs = tuple(outputs)
        _names("outputs", outputs, net.output_ports(), "outputs")
        seq_in = tuple(p for p in net.input_ports() if p not in states_ and p not in constants)
        if not seq_in:
            raise ValueError(
                f"NetFoldOperator: every input of the net ({', '.join(net.input_ports())}) is a "
                "state or a constant; at least one must be a sequence to fold over."
            )
        clash = set(outputs) & set(states_)
        if clash:
            raise ValueError(
                f"NetFoldOperator: {', '.join(sorted(clash))} names both a state and an output; "
                "rename one."
            )
        self._set(
            mapped=seq_in + outputs,
            state_ports=states_,
            optional_inputs=states_,
            optional_outputs=states_,
        )
        self._setup(
            {"Net": net},
            {"feedback": feedback, "constants": constants, "outputs": outputs},
            seq_in + constants + states_,
            outputs + states_,
            {"input": input, "output": output, **ports},
        )

    def given(self, name, t):
        g = {p: _strip(t[p]) for p in self.mapped if t[p].dims is not None}
        g.update({p: t[p] for p in self.options["constants"] + self.state_ports})
        for out, inp in self.options["feedback"].items():
            if out not in self.mapped:
                g[out] = t[inp]
        return {p: v for p, v in g.items() if v.dims is not None or v.kind is not None}

    def infer(self, t, u):
        lead = self._lead(u, t)
        inner = self._inner("Net", self.given("Net", t))
        _fixed(inner.ports, "it applies its net to one step at a time")
        out = dict(t)
        for p in self.mapped:
            it = inner.ports[p]
            if it.dims is not None:
                if lead is None:
                    lead = Var()
                out[p] = _meet(u, TensorType((lead,) + it.dims, it.kind), t[p], f'port "{p}"')
        for p in self.options["constants"]:
            out[p] = _meet(u, inner.ports[p], t[p], f'port "{p}"')
        for o, s in self.options["feedback"].items():
            st = _meet(u, inner.ports[o], inner.ports[s], f'the feedback "{o}" → "{s}"')
            out[s] = _meet(u, st, t[s], f'port "{s}"')
        return out


class NetNestOperator(Operator):
    """Applies ``net`` ``n`` times: ``Output = net(net(… net(Input)))``, with the same arrays
    at every application. ``net`` takes one input and gives one output of the same fixed
    shape (not a "Varying" sequence). Wolfram's NetNestOperator.

    >>> from netgraph import LinearLayer, NetNestOperator
    >>> double = LinearLayer(2, weights=[[2.0, 0.0], [0.0, 2.0]], biases=[0.0, 0.0])
    >>> NetNestOperator(double, 3)([1.0, 0.5])
    array([8., 4.], dtype=float32)
    """

    def __init__(self, net, n, *, input=None, output=None):
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"NetNestOperator: n must be a positive integer; received {n!r}.")
        if isinstance(net, Net) and (
            len(net.required_inputs()) != 1 or len(net.exposed_outputs()) != 1
        ):
            raise ValueError(
                "NetNestOperator: the net must take one input and give one output; it has "
                f"inputs {', '.join(net.input_ports())} and outputs {', '.join(net.output_ports())}."
            )
        self._set(mapped=())
        self._setup(
            {"Net": net},
            {"n": n},
            ("Input",),
            ("Output",),
            {"input": input, "output": output},
        )

    def given(self, name, t):
        net = self.layers["Net"]
        x = t["Input"] if t["Input"].dims is not None else t["Output"]
        return {net.required_inputs()[0]: x, net.exposed_outputs()[0]: x}

    def infer(self, t, u):
        x = _meet(u, t["Input"], t["Output"], 'ports "Input" and "Output"')
        net = self.layers["Net"]
        inner = self._inner("Net", self.given("Net", {"Input": x, "Output": x}))
        _fixed(inner.ports, "it applies its net to arrays of one shape (not to sequences)")
        i, o = inner.ports[net.required_inputs()[0]], inner.ports[net.exposed_outputs()[0]]
        x = _meet(u, i, x, 'port "Input"')
        x = _meet(u, o, x, 'port "Output"')
        return {"Input": x, "Output": x}


__all__ = ["NetMapOperator", "NetBidirectionalOperator", "NetFoldOperator", "NetNestOperator"]
