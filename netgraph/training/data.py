"""Training data: every form NetTrain accepts, as examples by port, and batches of them.

Forms: ``(inputs, targets)``; a list of ``(input, target)`` pairs; a dict of port name →
examples (for nets with several inputs, or an explicit "Target"); or a generator function
``f(batch_size=…, round=…)`` that returns one batch in any of those forms.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np

from ..symbols import Scaled


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
            if isinstance(x, list) and x and all(hasattr(e, "__len__") for e in x):
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
            name = k.port if hasattr(k, "port") and getattr(k, "path", 1) is None else k
            ports[target_ports.get(name, name)] = _examples(v, name)
        return Examples(ports, owner)
    if isinstance(data, tuple) and len(data) == 2:  # (inputs, targets)
        return _from_pair(data[0], data[1], input_port, target_ports, owner)
    if isinstance(data, list) and data and all(_is_pair(e) for e in data):
        xs = [e[0] for e in data]
        ys = [e[1] for e in data]
        return _from_pair(xs, ys, input_port, target_ports, owner)
    raise TypeError(
        f"{owner}: training data must be (inputs, targets), a list of (input, target) pairs, a "
        "dict of port name → examples, or a function f(batch_size=…, round=…) returning a batch; "
        f"received {_describe(data)}."
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
    strings through the net's input encoders, labels through its output decoders."""
    if not any(p in coders for p in examples.ports):
        return examples
    ports = {}
    for p, x in examples.ports.items():
        if p in coders:
            items = x.tolist() if isinstance(x, np.ndarray) else x
            ports[p] = [coders[p](e) for e in items]
        else:
            ports[p] = x
    return Examples(ports)
