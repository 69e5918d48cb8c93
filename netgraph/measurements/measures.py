"""What each measurement means, and a Tally that gathers what they need, batch by batch.

A Tally reads a batch's values in the plan of a training net (the net with its losses
attached, ``training/losses.py``): every example's loss, and for the measured output its
values and targets, true steps only. It keeps counts and sums, not the values: a confusion
matrix for a classifier, sums of errors for a regression, so a data set of any size costs
one small array. NetMeasurements runs it over a data set; NetTrain over each round's batches
and over the validation set.

Classifiers (an output whose loss is a ``CrossEntropyLossLayer``): each example, or each
true step of a sequence, is one case; the predicted class is the most probable one (a
probability above 0.5 for "Binary"), the actual class the target (an index, the most
probable class of a "Probabilities" target, a probability above 0.5 for "Binary").
Regressions (``MeanSquaredLossLayer``, ``MeanAbsoluteLossLayer``): each element of each
example's output, true steps only, is one case.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..batching import read_inputs
from ..coders import NetDecoder
from ..kernels.base import Ctx
from ..layers import CrossEntropyLossLayer
from ..text import closest

CLASSIFICATION = ("Accuracy", "Precision", "Recall", "F1Score", "ConfusionMatrix")
REGRESSION = ("MeanSquare", "MeanDeviation", "RSquared")
MEASUREMENTS = ("Loss",) + CLASSIFICATION + REGRESSION
PER_CLASS = ("Precision", "Recall", "F1Score")  # a dict class → value


def measurement_names(spec, owner: str) -> tuple[str, ...]:
    """A measurement name or a list of them, checked: the names, each once, in order."""
    names = [spec] if isinstance(spec, str) else spec
    if not isinstance(names, (list, tuple)) or not names:
        raise TypeError(
            f'{owner}: give a measurement name such as "Accuracy", or a list of them; '
            f"received {spec!r}."
        )
    for name in names:
        if not isinstance(name, str) or name not in MEASUREMENTS:
            raise ValueError(
                f"{owner}: unknown measurement {name!r}{closest(name, MEASUREMENTS)}. "
                f"Measurements: {', '.join(MEASUREMENTS)}."
            )
    return tuple(dict.fromkeys(names))


@dataclass(frozen=True)
class Measures:
    """What to measure on a training net: the names, its loss ports, and the output that the
    measurements other than "Loss" read (its loss layer, target port, kind and labels)."""

    names: tuple
    losses: tuple  # the training net's loss output ports
    port: str | None = None  # the measured output of the user's net
    loss_layer: str | None = None  # the name of its loss layer in the training net
    target: str | None = None  # the training net's target port for it
    kind: str | None = None  # "Index", "Probabilities", "Binary" or "Regression"
    labels: tuple | None = None  # its decoder's labels (None: class indices 0, 1, …)

    def to_json(self, values: dict) -> dict:
        """``values`` in plain JSON (for checkpoints): per-class dicts as lists in class
        order, the confusion matrix as nested lists."""
        out = {}
        for k, v in values.items():
            out[k] = list(v.values()) if k in PER_CLASS else v
            if k == "ConfusionMatrix":
                out[k] = v.tolist()
        return out

    def from_json(self, saved: dict) -> dict:
        """Undo ``to_json``."""
        out = {}
        for k, v in saved.items():
            out[k] = dict(zip(self.labels or range(len(v)), v)) if k in PER_CLASS else v
            if k == "ConfusionMatrix":
                out[k] = np.array(v, np.int64)
        return out


def measures_for(names, net, tn, owner: str) -> Measures:
    """The Measures of ``names`` on ``net``, whose training net (losses attached) is ``tn``;
    refuses a measurement that does not fit the net, saying which ones do."""
    wanted = [n for n in names if n != "Loss"]
    if not wanted:
        return Measures(tuple(names), tuple(tn.losses))
    port = _measured_port(tn, wanted[0], owner)
    layer = tn.attached[port]
    kind = _kind(tn.net.layers[layer])
    fits = REGRESSION if kind == "Regression" else CLASSIFICATION
    for name in wanted:
        if name not in fits:
            raise ValueError(_misfit(name, port, tn.net.layers[layer], owner))
    coder = net.coders.get(port)
    labels = tuple(coder.labels) if isinstance(coder, NetDecoder) else None
    return Measures(tuple(names), tuple(tn.losses), port, layer, tn.targets[port], kind, labels)


def _measured_port(tn, name: str, owner: str) -> str:
    if not tn.attached:
        raise ValueError(
            f'{owner}: "{name}" compares an output with its target, but this net computes its '
            f'own loss (loss_function={tn.losses[0]!r}); only "Loss" can be measured.'
        )
    if len(tn.attached) > 1:
        raise ValueError(
            f'{owner}: "{name}" measures one output, and this net has several '
            f'({", ".join(tn.attached)}); measure "Loss", or measure a net with one output '
            "(NetTake the part you want)."
        )
    return next(iter(tn.attached))


def _kind(loss) -> str:
    if isinstance(loss, CrossEntropyLossLayer):
        return loss.options["target_form"]
    return "Regression"


def _misfit(name: str, port: str, loss, owner: str) -> str:
    shown = type(loss).__name__
    if isinstance(loss, CrossEntropyLossLayer):
        shown += f'("{loss.options["target_form"]}")'
    if name in CLASSIFICATION:
        return (
            f'{owner}: "{name}" measures a classifier, an output with a cross-entropy loss (after '
            "a SoftmaxLayer, or with loss_function=CrossEntropyLossLayer(…)); the output "
            f'"{port}" has {shown}. Measurements for it: Loss, {", ".join(REGRESSION)}.'
        )
    return (
        f'{owner}: "{name}" measures a regression, an output with a mean squared or mean '
        f'absolute loss; the output "{port}" has {shown}, a classifier. Measurements for it: '
        f"Loss, {', '.join(CLASSIFICATION)}."
    )


def _valid(shape: tuple, lengths) -> np.ndarray:
    """True at every position of a batch ``(B, T, …)`` that is a true step (everywhere when
    the batch holds no sequences)."""
    if lengths is None:
        return np.ones(shape, bool)
    steps = np.arange(shape[1]) < np.asarray(lengths)[:, None]
    return np.broadcast_to(steps.reshape(steps.shape + (1,) * (len(shape) - 2)), shape)


class Tally:
    """Counts and sums of the batches seen so far, from which every measurement follows."""

    def __init__(self, m: Measures, plan):
        self.m, self.n, self.loss = m, 0, 0.0
        self.loss_slots = [plan.outputs[p] for p in m.losses]
        if m.kind is None:
            return
        self.slot = plan.source(((m.loss_layer,), "Input"))
        t = plan.types[self.slot]
        self.var = t.var
        if m.kind == "Regression":
            self.count, self.sse, self.sae, self.mean, self.m2 = 0, 0.0, 0.0, 0.0, 0.0
        else:
            k = 2 if m.kind == "Binary" else t.dims[-1]
            self.confusion = np.zeros((k, k), np.int64)  # rows: actual class, columns: predicted

    def add(self, vals: dict, env: dict, batches: dict) -> None:
        """Add one batch: ``vals`` the plan's values by slot, ``env`` the lengths by length
        variable, ``batches`` the batches fed to it by port."""
        self.n += len(next(iter(batches.values())).array)
        self.loss += sum(float(np.sum(vals[s], dtype=np.float64)) for s in self.loss_slots)
        if self.m.kind is None:
            return
        y, t = vals[self.slot], batches[self.m.target].array
        keep = _valid(
            y.shape if self.m.kind in ("Binary", "Regression") else y.shape[:-1],
            None if self.var is None else env.get(self.var),
        )
        if self.m.kind == "Regression":
            self._errors(y[keep].astype(np.float64), t[keep].astype(np.float64))
        else:
            self._classes(y, t, keep)

    def _classes(self, y, t, keep) -> None:
        kind, k = self.m.kind, len(self.confusion)
        if kind == "Binary":
            predicted, actual = y > 0.5, t > 0.5
        else:
            predicted = np.argmax(y, axis=-1)
            actual = np.argmax(t, axis=-1) if kind == "Probabilities" else t
        cases = actual[keep].astype(np.int64) * k + predicted[keep].astype(np.int64)
        self.confusion += np.bincount(cases, minlength=k * k).reshape(k, k)

    def _errors(self, y, t) -> None:
        """Sums of squared and absolute errors, and the targets' mean and sum of squared
        deviations, merged with those so far (Chan, Golub and LeVeque's pairwise update)."""
        e = y - t
        self.sse += float(e @ e)
        self.sae += float(np.sum(np.abs(e)))
        n, mean = len(t), float(np.mean(t)) if len(t) else 0.0
        m2 = float(np.sum(np.square(t - mean)))
        total = self.count + n
        if total:
            delta = mean - self.mean
            self.mean += delta * n / total
            self.m2 += m2 + delta * delta * self.count * n / total
            self.count = total

    # -- tallies of several processes (data-parallel NetTrain) ---------------------------------
    def counts(self) -> dict:
        """The counts and sums, to merge into another process's tally of the same measures."""
        fields = ("n", "loss", "confusion", "count", "sse", "sae", "mean", "m2")
        return {f: getattr(self, f) for f in fields if hasattr(self, f)}

    def merge(self, others: list) -> None:
        """Become the tally of the batches behind every ``counts()`` in ``others`` (this
        tally's own among them), in their order."""
        first, *rest = others
        for f, v in first.items():
            setattr(self, f, v.copy() if isinstance(v, np.ndarray) else v)
        for c in rest:
            self.n += c["n"]
            self.loss += c["loss"]
            if "confusion" in c:
                self.confusion = self.confusion + c["confusion"]
            if "count" in c:
                self.sse += c["sse"]
                self.sae += c["sae"]
                total = self.count + c["count"]
                if total:  # Chan, Golub and LeVeque's pairwise update, as in _errors
                    delta = c["mean"] - self.mean
                    self.mean += delta * c["count"] / total
                    self.m2 += c["m2"] + delta * delta * self.count * c["count"] / total
                    self.count = total

    # -- the measurements ---------------------------------------------------------------------
    def values(self) -> dict:
        """Every measurement asked for, by name, in the order asked."""
        return {name: VALUES[name](self) for name in self.m.names}

    def per_class(self, num: np.ndarray, den: np.ndarray) -> dict:
        """num / den for each class (0.0 where den is 0), keyed by the class labels."""
        ratio = np.divide(num, den, out=np.zeros(len(num)), where=den > 0)
        labels = self.m.labels or range(len(num))
        return {c: float(r) for c, r in zip(labels, ratio)}


def _r_squared(t: Tally) -> float:
    if t.m2 > 0:
        return 1.0 - t.sse / t.m2
    return 1.0 if t.sse == 0 else 0.0  # constant targets: 1 for a perfect fit, else 0


def _diagonal(t: Tally) -> np.ndarray:
    return np.diag(t.confusion).astype(np.float64)


# Each measurement from a Tally (docs: NetMeasurements' docstring).
VALUES = {
    "Loss": lambda t: t.loss / t.n,
    "Accuracy": lambda t: float(np.trace(t.confusion) / max(t.confusion.sum(), 1)),
    "Precision": lambda t: t.per_class(_diagonal(t), t.confusion.sum(axis=0)),
    "Recall": lambda t: t.per_class(_diagonal(t), t.confusion.sum(axis=1)),
    "F1Score": lambda t: t.per_class(
        2 * _diagonal(t), t.confusion.sum(axis=0) + t.confusion.sum(axis=1)
    ),
    "ConfusionMatrix": lambda t: t.confusion.copy(),
    "MeanSquare": lambda t: t.sse / t.count,
    "MeanDeviation": lambda t: t.sae / t.count,
    "RSquared": _r_squared,
}


def measure(run, plan, m: Measures, examples, *, batch_size: int, dtype) -> dict:
    """The measurements ``m`` of the training net ``run`` (compiled to ``plan``, in test
    mode) over ``examples``, ``batch_size`` at a time; sequences of about the same length
    share a batch, so padding costs little."""
    return measure_tally(run, plan, m, examples, batch_size=batch_size, dtype=dtype).values()


def measure_tally(run, plan, m: Measures, examples, *, batch_size, dtype, indices=None) -> Tally:
    """``measure``'s tally, over the examples at ``indices`` (default: all)."""
    tally = Tally(m, plan)
    ctx = Ctx(training=False, dtype=dtype, grad=False)
    idx = np.arange(examples.n) if indices is None else np.asarray(indices)
    lengths = examples.lengths
    if lengths is not None:
        idx = idx[np.argsort(lengths[idx], kind="stable")]
    for i in range(0, len(idx), batch_size):
        batches, lens, _ = read_inputs(run, examples.take(idx[i : i + batch_size]), dtype)
        vals, env, _ = plan.forward({(None, p): b.array for p, b in batches.items()}, lens, ctx)
        tally.add(vals, env, batches)
    return tally
