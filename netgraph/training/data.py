"""Training data: every form NetTrain accepts, as examples by port, and batches of them.

Forms: ``(inputs, targets)``; a list of ``(input, target)`` pairs; a dict of port name →
examples (for nets with several inputs, or an explicit "Target"); or a generator function
``f(batch_size=…, round=…)`` that returns one batch in any of those forms.
"""

from __future__ import annotations

import inspect
from functools import cached_property

import numpy as np

from ..coders import NetDecoder, NetEncoder
from ..net import Net
from ..symbols import NetPort, Scaled
from ..text import closest


class Examples:
    """Examples by port: each port's data is an array with one example per leading index,
    or a list of examples (ragged sequences)."""

    def __init__(self, ports: dict, owner: str = "NetTrain"):
        sizes = {p: len(x) for p, x in ports.items()}
        if len(set(sizes.values())) > 1:
            shown = ", ".join(f"{p}: {n}" for p, n in sizes.items())
            raise ValueError(
                f"{owner}: every port needs the same number of examples; received {shown}."
            )
        self.ports = ports
        self.n = next(iter(sizes.values())) if sizes else 0
        if self.n == 0:
            raise ValueError(f"{owner}: the data has no examples.")

    def take(self, idx) -> dict:
        """The examples at ``idx``, port by port (arrays stay arrays, lists stay lists)."""
        return {
            p: x[idx] if isinstance(x, np.ndarray) else [x[i] for i in idx]
            for p, x in self.ports.items()
        }

    @cached_property
    def lengths(self) -> np.ndarray | None:
        """Each example's sequence length, when some port holds ragged sequences."""
        for x in self.ports.values():
            if isinstance(x, list) and x and all(_has_length(e) for e in x):
                lens = np.array([len(e) for e in x])
                if lens.min() != lens.max():
                    return lens
        return None

    def split(self, r: float, rng) -> tuple[Examples, Examples]:
        """(training, validation): a random fraction ``r`` held out for validation."""
        k = max(1, round(r * self.n))
        if k >= self.n:
            raise ValueError(
                f"NetTrain: validation_set=Scaled({r}) leaves no training examples out of {self.n}."
            )
        perm = rng.permutation(self.n)
        return Examples(self.take(np.sort(perm[k:]))), Examples(self.take(np.sort(perm[:k])))


def _has_length(e) -> bool:
    """Is ``e`` a sequence? (A 0-d array has ``__len__`` but no length.)"""
    return hasattr(e, "__len__") and getattr(e, "ndim", 1) > 0


def _examples(x, port: str):
    """One port's data as an array (a numeric array or a list of equal-shape examples) or a
    list of examples."""
    if isinstance(x, np.ndarray):
        if x.ndim == 0:
            raise ValueError(
                f'NetTrain: port "{port}" needs a list or array of examples; received a scalar.'
            )
        return x
    if isinstance(x, (list, tuple)):
        items = list(x)
        try:
            a = np.asarray(items)
        except ValueError:
            return items
        return a if a.dtype != object else items
    raise TypeError(
        f'NetTrain: port "{port}" needs a list or array of examples; received {type(x).__name__}.'
    )


def as_examples(data, input_port: str | None, target_ports: dict, owner="NetTrain") -> Examples:
    """Normalize a data form to Examples keyed by the training net's ports.

    ``input_port``: the net's one required input (None when it has several);
    ``target_ports``: data key → training-net port for targets (e.g. "Output" → "Target")."""
    if isinstance(data, dict):
        ports = {}
        for k, v in data.items():
            name = k.port if isinstance(k, NetPort) and k.path is None else k
            ports[target_ports.get(name, name)] = _examples(v, name)
        return Examples(ports, owner)
    if isinstance(data, tuple) and len(data) == 2:  # (inputs, targets)
        return _from_pair(data[0], data[1], input_port, target_ports, owner)
    if isinstance(data, list) and data and all(_is_pair(e) for e in data):
        xs = [e[0] for e in data]
        ys = [e[1] for e in data]
        return _from_pair(xs, ys, input_port, target_ports, owner)
    if owner == "NetTrain":  # the training data itself (not a validation set) may be a function
        raise TypeError(
            "NetTrain: training data must be (inputs, targets), a list of (input, target) pairs, a "
            "dict of port name → examples, or a function f(batch_size=…, round=…) returning a "
            f"batch; received {_describe(data)}."
        )
    raise TypeError(
        f"{owner}: the data must be (inputs, targets), a list of (input, target) pairs or a dict "
        f"of port name → examples; received {_describe(data)}."
    )


def _is_pair(e) -> bool:
    return isinstance(e, tuple) and len(e) == 2


def _from_pair(xs, ys, input_port, target_ports, owner) -> Examples:
    if input_port is None:
        raise ValueError(
            f"{owner}: this net has several input ports; give the data as a dict of port name → examples."
        )
    targets = set(target_ports.values())
    if len(targets) != 1:
        raise ValueError(
            f"{owner}: this net needs targets for several ports ({', '.join(sorted(target_ports))}); "
            "give the data as a dict of port name → examples."
        )
    return Examples(
        {input_port: _examples(xs, input_port), targets.pop(): _examples(ys, "Target")}, owner
    )


def _describe(x) -> str:
    if isinstance(x, (list, tuple)):
        return f"a {type(x).__name__} of {len(x)} items"
    return type(x).__name__


def batches(examples: Examples, batch_size: int, rng) -> list[np.ndarray]:
    """The example indices of one round's batches, shuffled. Ragged sequences are grouped by
    length (sorted within windows of 16 batches, then the batches shuffled), so a batch
    holds sequences of about the same length and padding costs little."""
    n = examples.n
    perm = rng.permutation(n)
    lens = examples.lengths
    if lens is not None:
        window = 16 * batch_size
        perm = np.concatenate(
            [
                c[np.argsort(lens[c], kind="stable")]
                for c in np.split(perm, range(window, n, window))
            ]
        )
    out = [perm[i : i + batch_size] for i in range(0, n, batch_size)]
    order = rng.permutation(len(out))
    return [out[i] for i in order]


def validation_examples(validation_set, train: Examples, input_port, target_ports, rng):
    """(training examples, validation examples or None) from the validation_set option."""
    if validation_set is None:
        return train, None
    if isinstance(validation_set, Scaled):
        return train.split(validation_set.r, rng)
    return train, as_examples(validation_set, input_port, target_ports, "NetTrain: validation_set")


def encoded(examples: Examples, coders: dict) -> Examples:
    """Examples with the ports in ``coders`` (port → function of one example) converted:
    strings through the net's input encoders, labels through its output decoders. Converted
    examples of one shape become one array, as given data does (see ``_examples``)."""
    if not any(p in coders for p in examples.ports):
        return examples
    ports = {}
    for p, x in examples.ports.items():
        if p in coders:
            items = x.tolist() if isinstance(x, np.ndarray) else x
            ports[p] = _examples([coders[p](e) for e in items], p)
        else:
            ports[p] = x
    return Examples(ports)


class TrainingData:
    """The training and validation examples of a run, converted through the net's coders,
    and each round's batches (from memory, or drawn from a generator function)."""

    def __init__(self, net, tn, data, options, rng, *, team=None):
        inputs = net.required_inputs()
        self.one_input = inputs[0] if len(inputs) == 1 else None
        self.targets, self.coders = tn.targets, data_coders(net, tn)
        self.generator = data if callable(data) and not isinstance(data, Net) else None
        self.batch_size = options.batch_size
        # a generator that takes rank= and ranks= draws each rank's own share of a batch
        self.team = team
        self.sharded = team is not None and _takes_rank(self.generator)
        self.ports = (self.one_input, self.targets)
        train, valid = self._read(data, options, rng)
        check_ports(train, tn)
        self.train = encoded(train, self.coders)
        self.valid = None if valid is None else encoded(valid, self.coders)
        default = 64 * options.batch_size if self.generator else self.train.n
        self.round_length = options.round_length or default

    def _read(self, data, options, rng):
        if self.generator is None:
            train = as_examples(data, self.one_input, self.targets)
            return validation_examples(
                options.validation_set, train, self.one_input, self.targets, rng
            )
        first = self._draw(1, encode=False)
        if isinstance(options.validation_set, Scaled):
            raise ValueError(
                "NetTrain: validation_set=Scaled(r) needs data held in memory; with a generator "
                "give an explicit validation set."
            )
        if options.validation_set is None:
            return first, None
        valid = as_examples(
            options.validation_set, self.one_input, self.targets, "NetTrain: validation_set"
        )
        return first, valid

    def _draw(self, rnd: int, encode: bool = True) -> Examples:
        if self.sharded:
            b = self._share(rnd)
        else:
            b = as_examples(self.generator(batch_size=self.batch_size, round=rnd), *self.ports)
        return encoded(b, self.coders) if encode else b

    def _share(self, rnd: int) -> Examples:
        """This rank's share of a batch, from a generator taking rank= and ranks=."""
        rank, ranks = self.team.rank, self.team.size
        b = self.generator(batch_size=self.batch_size, round=rnd, rank=rank, ranks=ranks)
        try:
            return as_examples(b, *self.ports)
        except ValueError as e:
            raise ValueError(
                f"{e} (The generator's share of a batch for rank {rank} of {ranks}, "
                f"batch_size={self.batch_size}: give every rank at least one example.)"
            ) from e

    def round(self, rnd: int, rng) -> list[tuple[Examples, np.ndarray]]:
        """One round's work: (examples, indices of one batch) in training order."""
        if self.generator is None:
            return [(self.train, idx) for idx in batches(self.train, self.batch_size, rng)]
        drawn, got = [], 0
        if self.sharded:  # the same number of draws on every rank: a batch_size each
            drawn = [self._draw(rnd) for _ in range(-(-self.round_length // self.batch_size))]
        while got < self.round_length and not self.sharded:
            drawn.append(self._draw(rnd))
            got += drawn[-1].n
        return [(b, np.arange(b.n)) for b in drawn]


def _takes_rank(generator) -> bool:
    """Whether a generator function names the keywords rank= and ranks= (one taking
    **kwargs may not know what they mean: it gets the whole batch, shared out here)."""
    if generator is None:
        return False
    try:
        params = inspect.signature(generator).parameters
    except (TypeError, ValueError):
        return False
    return {"rank", "ranks"} <= set(params)


def data_coders(net, tn) -> dict:
    """Training-net port → conversion of one example: input encoders, and output decoders
    turning labels into targets."""
    out = {}
    for p, c in net.coders.items():
        if isinstance(c, NetEncoder):
            out[p] = lambda x, c=c, p=p: c.encode(x, p)
        elif isinstance(c, NetDecoder) and p in tn.targets:
            out[tn.targets[p]] = lambda y, c=c, p=p: c.target(y, p)
    return out


def check_ports(examples: Examples, tn, owner: str = "NetTrain") -> None:
    """Refuse data that names a port the training net ``tn`` lacks, or misses one it needs."""
    required = sorted(tn.net.required_inputs(), key=lambda p: (p.endswith("Target"), p))
    extra = [p for p in examples.ports if p not in tn.net.input_ports()]
    if extra:
        raise ValueError(
            f'{owner}: the data names the port "{extra[0]}"{closest(extra[0], required)}, which the '
            f"training net does not have; its input ports: {', '.join(required)}."
        )
    missing = [p for p in required if p not in examples.ports]
    if missing:
        raise ValueError(
            f"{owner}: the data has no values for the port(s) {', '.join(missing)}; "
            f"give a dict with keys {', '.join(required)}."
        )
