"""The op protocol that the plan runs: ``forward`` and ``backward`` on a batch."""

from __future__ import annotations

import numpy as np


class Ctx:
    """Per-call settings: training mode (dropout on), the random generator (made on first
    use, from ``seed``), the float dtype, and whether a backward pass follows (ops keep what
    backward needs only then).

    ``updates``: None, or a dict that the plan fills with the new values of the arrays that
    training updates without gradients (layer path → {array name: value}, see
    ``Op.updates``); NetTrain passes one, a plain call does not, so a call changes nothing.
    ``fitting``: the pass over the training data before the first round that fits the
    arrays of layers whose ``updated_when`` is "fitting" (input normalization)."""

    def __init__(
        self,
        training: bool = False,
        seed: int | None = None,
        dtype=np.float32,
        grad: bool = True,
        *,
        updates: dict | None = None,
        fitting: bool = False,
    ):
        self.training, self.seed, self.dtype, self.grad = training, seed, dtype, grad
        self.updates, self.fitting = updates, fitting
        self._rng = None

    @property
    def rng(self) -> np.random.Generator:
        if self._rng is None:
            self._rng = np.random.default_rng(self.seed)
        return self._rng


class Op:
    """One layer on a batch. Inputs and outputs are batch arrays in port order; a sequence
    port's array is padded ``(B, T, …)`` and its ``lengths (B,)`` come in ``lens`` (None for a
    port that is not a sequence). ``forward`` returns the outputs and whatever ``backward``
    needs; ``backward`` returns the input gradients (None for integer inputs) and a dict of
    array gradients summed over the batch. Padding is zeroed by the plan, around every op.
    """

    numba_blas = False  # its kernels call BLAS through numba: see kernels/blas.py
    nested = False  # an operator's op: runs inner plans, and its array gradients are by path

    def __init__(self, layer, types: dict):
        self.layer = layer
        self.types = types

    def prepare(self, arrays: dict):
        """Arrays rearranged for this op (fused, transposed), once per plan and precision."""
        return arrays

    def forward(self, xs: list, lens: list, arrays: dict, ctx: Ctx):
        raise NotImplementedError

    def backward(self, saved, dys: list, arrays: dict, ctx: Ctx):
        raise NotImplementedError

    def updates(self, saved, arrays: dict, previous: dict | None, ctx: Ctx) -> dict | None:
        """The new values of the layer's ``updated_arrays`` after a forward pass, computed from
        what ``forward`` saved and the current ``arrays``; None for no change. The plan calls
        it only when ``ctx.updates`` is a dict: after each training batch for a layer whose
        ``updated_when`` is "batch", and after each batch of the fitting pass for one whose
        ``updated_when`` is "fitting". ``previous`` is what it returned earlier in the same
        pass (None at first), so a fitting pass can accumulate over batches; keys that are not
        arrays of the layer are its own running totals, never applied to the net."""
        return None

    def out_lengths(self, lens: list) -> list:
        """Lengths of output sequences whose length variable is new (default: the input's)."""
        first = next((x for x in lens if x is not None), None)
        return [first] * len(self.layer.output_ports())


def step_mask(lengths: np.ndarray, T: int) -> np.ndarray:
    """(B, T) boolean: True at real steps, False at padding."""
    return np.arange(T)[None, :] < np.asarray(lengths)[:, None]


def unpadded(lengths, T: int) -> bool:
    """Whether no sequence of a batch padded to T steps is shorter (``lengths`` None: none
    is). A few lengths are read as a list: numpy's reduction costs microseconds, felt at one
    step per call."""
    if lengths is None:
        return True
    if len(lengths) <= 16:
        return min(lengths.tolist(), default=T) >= T
    return bool(lengths.min() >= T)


def zero_padding(x: np.ndarray, lengths) -> np.ndarray:
    """x with every step past its sequence's end set to zero (x itself when nothing is padded)."""
    if x.ndim < 2 or unpadded(lengths, x.shape[1]):
        return x
    m = step_mask(lengths, x.shape[1]).reshape(x.shape[:2] + (1,) * (x.ndim - 2))
    return np.where(m, x, np.zeros((), x.dtype))


_FULL: dict = {}


def by_length(lengths, B: int, T: int) -> tuple[np.ndarray, np.ndarray]:
    """The batch rows by decreasing length (stable), and how many rows still run at each
    step. Full batches (every sequence T long) share one cached answer per (B, T)."""
    if unpadded(lengths, T):
        key = (B, T)
        if key not in _FULL:
            if len(_FULL) > 256:
                _FULL.clear()
            _FULL[key] = (np.arange(B), np.full(T, B, np.int64))
        return _FULL[key]
    order = np.argsort(-lengths, kind="stable")
    return order, (lengths[order][None, :] > np.arange(T)[:, None]).sum(1)
