"""Loss layers: CrossEntropyLossLayer, MeanSquaredLossLayer, MeanAbsoluteLossLayer."""

from __future__ import annotations

from ..kernels.loss import (
    BinaryCrossEntropyOp,
    IndexCrossEntropyOp,
    MeanAbsoluteOp,
    MeanSquaredOp,
    ProbabilitiesCrossEntropyOp,
)
from ..text import closest
from ..types import INTEGER, REAL, Index, TensorType, TypeConflict, Var, describe, parse_type
from .base import Layer, meet, same

SCALAR = TensorType((), REAL)
TARGET_FORMS = {
    "Index": IndexCrossEntropyOp,
    "Probabilities": ProbabilitiesCrossEntropyOp,
    "Binary": BinaryCrossEntropyOp,
}


class LossLayer(Layer):
    """Ports "Input" and "Target" in, "Loss" (a real scalar per example) out."""

    inputs = ("Input", "Target")
    outputs = ("Loss",)

    def _reals(self, t, u, *ports) -> dict:
        t = dict(t)
        for p in ports:
            t[p] = meet(u, t[p], TensorType(None, REAL), f'port "{p}"')
        t["Loss"] = meet(u, t["Loss"], SCALAR, 'port "Loss"')
        return t

    def _same_shape(self, t, u) -> dict:
        return same(u, self._reals(t, u, "Input", "Target"), "Input", "Target", self._name())

    def _name(self) -> str:
        return type(self).__name__


class CrossEntropyLossLayer(LossLayer):
    """Cross-entropy between predicted probabilities and a target, averaged to one number.

    Ports: "Input" probabilities; "Target"; "Loss" a real scalar per example.

    - ``"Index"`` (default): "Input" ``(…, n)`` class probabilities (each vector sums to 1),
      "Target" ``(…)`` integers in 0 … n−1 (``Restricted("Integer", n)``; indices count
      from 0). Loss per position: −log p[target].
    - ``"Probabilities"``: "Input" and "Target" ``(…, n)`` probability vectors.
      Loss per position: −Σ t·log p.
    - ``"Binary"``: "Input" and "Target" of any equal shape, probabilities of a yes.
      Loss per element: −(t·log p + (1−t)·log(1−p)).

    The loss of an example is the mean over its positions (over the true steps only, for
    sequences; "Input" and "Target" share their "Varying" length). Probabilities are clipped
    to at least ``netgraph.kernels.loss.EPSILON`` = 1e-7 (and to at most 1 − 1e-7 for
    "Binary") before the logarithm; the gradient is that of the clipped loss. When "Input"
    comes from a SoftmaxLayer ("Index" and "Probabilities"), the loss is computed from the
    softmax's input instead (log-softmax): exact at any confidence, with the full gradient
    softmax − target, as PyTorch's ``CrossEntropyLoss`` on logits. Gradients flow to "Input",
    and to "Target" for "Probabilities" and "Binary".

    Options: ``target_form`` ("Index", "Probabilities" or "Binary"), ``input``, ``target``.

    >>> from netgraph import CrossEntropyLossLayer
    >>> loss = CrossEntropyLossLayer("Index", input=3)
    >>> round(float(loss({"Input": [0.5, 0.25, 0.25], "Target": 0})), 6)  # −log 0.5
    0.693147
    """

    def __init__(self, target_form="Index", *, input=None, target=None, **unknown):
        self.check_unknown(unknown)
        if not isinstance(target_form, str) or target_form not in TARGET_FORMS:
            raise ValueError(
                f"CrossEntropyLossLayer: unknown target_form {target_form!r}"
                f"{closest(target_form, TARGET_FORMS)}. "
                "Valid forms: " + ", ".join(f'"{f}"' for f in TARGET_FORMS) + "."
            )
        if target is not None and target_form == "Index":
            target = parse_type(target, 'CrossEntropyLossLayer: port "Target"', kind=INTEGER)
        self._init({"target_form": target_form}, {"Input": input, "Target": target})

    def _name(self) -> str:
        return f'CrossEntropyLossLayer("{self.options["target_form"]}")'

    def infer(self, t, u):
        form = self.options["target_form"]
        if form == "Binary":
            return self._same_shape(t, u)
        if t["Input"].dims == ():
            raise TypeConflict(
                f'port "Input" must be a vector of class probabilities or an array of them for '
                f'target_form "{form}"; it is a scalar. Use target_form "Binary" for a single '
                "probability"
            )
        if form == "Probabilities":
            return self._same_shape(t, u)
        return self._infer_index(self._reals(t, u, "Input"), u)

    def _infer_index(self, t, u):
        x, y = t["Input"], t["Target"]
        if y.kind == REAL:
            raise TypeConflict(
                f'port "Target" takes integer class indices for target_form "Index"; it is '
                f'{describe(y)}. Use target_form "Probabilities" for probability vectors'
            )
        n = x.dims[-1] if x.dims else None
        if isinstance(n, Var):
            raise TypeConflict(
                'the last dimension of port "Input" counts the classes and must be a fixed size '
                'for target_form "Index"; it is "Varying"'
            )
        if isinstance(y.kind, Index):
            if n is not None and n != y.kind.n:
                raise TypeConflict(
                    f'port "Target" takes integers in 0..{y.kind.n - 1}, but port "Input" has '
                    f"{n} classes (its last dimension); they must agree"
                )
            n = y.kind.n
        kind = u.kind(y.kind, INTEGER if n is None else Index(n))

        def conflict():
            return (
                f'port "Target" is {describe(y)} but port "Input" is {describe(x)}; with '
                'target_form "Index", "Target" has the dimensions of "Input" without its last '
                "(class) dimension"
            )

        lead = None if x.dims is None else x.dims[:-1]
        y = u.meet(TensorType(y.dims, kind), TensorType(lead, kind), conflict)
        dims = None if y.dims is None else tuple(y.dims) + (n,)
        x = u.meet(x, TensorType(dims, REAL), conflict)
        return {**t, "Input": x, "Target": y}

    def op(self, t):
        return TARGET_FORMS[self.options["target_form"]](self, t)


class _ElementwiseLoss(LossLayer):
    """A loss of "Input" and "Target" of one shape, averaged over all elements by ``op_class``."""

    op_class = None

    def __init__(self, *, input=None, target=None, **unknown):
        self.check_unknown(unknown)
        self._init({}, {"Input": input, "Target": target})

    def infer(self, t, u):
        return self._same_shape(t, u)

    def op(self, t):
        return self.op_class(self, t)


class MeanSquaredLossLayer(_ElementwiseLoss):
    """Mean of (input − target)² over all elements: one real number per example.

    Ports: "Input" and "Target" of any equal shape (sequences share their "Varying" length;
    only true steps count), "Loss" a real scalar. Gradients flow to both inputs.
    Options: ``input``, ``target``.

    >>> from netgraph import MeanSquaredLossLayer
    >>> float(MeanSquaredLossLayer(input=2)({"Input": [1.0, 2.0], "Target": [0.0, 0.0]}))
    2.5
    """

    op_class = MeanSquaredOp


class MeanAbsoluteLossLayer(_ElementwiseLoss):
    """Mean of |input − target| over all elements: one real number per example.

    Ports: "Input" and "Target" of any equal shape (sequences share their "Varying" length;
    only true steps count), "Loss" a real scalar. Gradients flow to both inputs.
    Options: ``input``, ``target``.

    >>> from netgraph import MeanAbsoluteLossLayer
    >>> float(MeanAbsoluteLossLayer(input=2)({"Input": [1.0, -2.0], "Target": [0.0, 0.0]}))
    1.5
    """

    op_class = MeanAbsoluteOp


__all__ = ["CrossEntropyLossLayer", "MeanSquaredLossLayer", "MeanAbsoluteLossLayer"]
