"""The training loop: one batch (forward, backward, update), one round, and the run state
that checkpoints keep.

The arrays live in ``params`` ((layer path, name) → float array of the working precision).
An update is written into a spare set of arrays and swapped in only when every value is
finite, so a Ctrl-C in the middle of one leaves whole arrays without copying them at every
batch. The arrays at the end of each round are kept: a divergent batch returns to them.

Arrays that training sets without gradients (``Layer.updated_arrays``: moving statistics)
are in ``params`` too, so checkpoints, the kept rounds and the returned net hold them; their
new values come from the training forward pass (``Ctx.updates``) and are swapped in with the
optimizer's, only after a batch whose loss, gradients and arrays are all finite. A layer
whose learning-rate multiplier is 0 keeps them.
"""

from __future__ import annotations

import signal
import threading
import time
import warnings
from dataclasses import dataclass, field

import numpy as np

from ..batching import read_inputs
from ..distributed import Reduced
from ..kernels.base import Ctx
from ..measurements.measures import Measures, Tally, measure_tally
from .checkpoint import CARRIED, MEASURED, Checkpoints
from .data import Examples


class NetTrainDivergenceWarning(RuntimeWarning):
    """Training stopped because the loss or an array became NaN or infinite.

    NetTrain warns with it and returns the net of the last whole round; the results say
    "Divergence" as the reason training stopped.

    >>> import warnings
    >>> import numpy as np
    >>> from netgraph import NetChain, LinearLayer, NetTrain, NetTrainDivergenceWarning
    >>> x = np.array([[1.0], [2.0], [3.0]])
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     results = NetTrain(NetChain([LinearLayer(1)], input=1), (x, 2 * x), "All",
    ...                        method=("SGD", {"learning_rate": 1e20}), random_seed=0,
    ...                        training_progress_reporting=None)
    >>> caught[0].category is NetTrainDivergenceWarning, results["ReasonTrainingStopped"]
    (True, 'Divergence')
    """


@dataclass
class RunState:
    """What a run has done so far (and what a checkpoint keeps)."""

    results: dict
    batch_no: int = 0
    best: tuple | None = None  # (validation loss, round, arrays)
    stall: int = 0  # rounds without enough improvement
    best_monitor: float = np.inf
    first_round: int = 1
    net_round: int = 0  # the round whose net the arrays are (within it, for a stopped round)
    started: float = field(default_factory=time.perf_counter)

    def elapsed(self) -> float:
        return time.perf_counter() - self.started


class Trainer:
    """Runs the batches and rounds of one NetTrain call over a compiled training plan."""

    def __init__(self, run, plan, measures: Measures, *, params, opt, rng, options, report):
        self.run, self.plan, self.measures = run, plan, measures
        self.params, self.opt, self.rng = params, opt, rng
        self.options, self.report, self.dtype = options, report, options.dtype
        self.spare = {k: np.empty_like(w) for k, w in params.items() if k in opt.state}
        self.ctrl_c = CtrlC()  # installed while train() runs
        self.team, self.reduced, self.shared_elapsed, self.batch_examples = None, None, 0.0, 0
        self.load()

    def join(self, team) -> None:
        """Train as one rank of ``team`` (distributed/mpi.py): rank 0's arrays on every
        rank (as initialized, fitted or resumed there), and each batch's gradients summed
        over the ranks, with the new values of the arrays that training sets without them."""
        self.team = team
        team.same_arrays(self.params)
        self.load()
        trained = [k for k in self.params if k in self.opt.state]
        leaves = self.plan.opened.leaves
        updated = [
            k
            for k in self.params
            if self.set_without_gradient(k) and leaves[k[0]].updated_when != "fitting"
        ]
        self.reduced = Reduced(self.params, trained, updated, self.dtype)

    def load(self) -> None:
        """Put the current arrays into the plan (each op rearranges its own, e.g. fuses gates)."""
        by_path: dict = {}
        for (path, k), w in self.params.items():
            by_path.setdefault(path, {})[k] = w
        self.plan.load_arrays(self.dtype, by_path)

    # -- one batch ----------------------------------------------------------------------------
    def batch(self, sub: dict, tally: Tally | None = None) -> float | None:
        """Train on one batch; the loss, or None when it diverged (arrays unchanged, and
        ``self.diverged`` says what became NaN or infinite). ``tally`` gathers the round's
        measurements from the batch's forward pass."""
        with np.errstate(over="ignore", invalid="ignore"):  # divergence is checked below
            seed = int(self.rng.integers(2**63))
            if self.team is None:
                loss, grads, updates = self.gradients(sub, tally, seed)
                updates = self.updated(updates)
            else:
                loss, grads, updates = self.team_gradients(sub, tally, seed)
        if not np.isfinite(loss) or not all(np.all(np.isfinite(g)) for g in grads.values()):
            self.diverged = "the loss or its gradient"
            return None
        with np.errstate(over="ignore", invalid="ignore"):
            new = self.opt.step(self.params, grads, self.spare, self.state.batch_no, self.total)
            new.update(updates)
        if not all(np.all(np.isfinite(w)) for w in new.values()):
            self.diverged = "an array"
            return None
        old = self.params
        self.params = {**old, **new}  # one assignment: an interrupt leaves old or new, whole
        self.spare = {k: old[k] for k in new if k in self.opt.state}
        self.load()
        return loss

    def updated(self, updates: dict) -> dict:
        """The new values of arrays set without gradients, by (path, name), from what the
        plan collected (``Ctx.updates``): only the layer's ``updated_arrays``, and none of a
        layer whose learning-rate multiplier is 0 (frozen layers keep their statistics)."""
        return {
            (path, k): np.asarray(v, self.dtype)
            for path, values in updates.items()
            for k, v in values.items()
            if self.set_without_gradient((path, k))
        }

    def set_without_gradient(self, key: tuple) -> bool:
        """Whether training sets the array ``key`` = (path, name) without a gradient (one of
        its layer's ``updated_arrays``), a layer whose learning-rate multiplier is 0 aside."""
        leaf = self.plan.opened.leaves[key[0]]  # by their paths inside operators too
        return key[1] in leaf.updated_arrays and self.opt.multipliers.get(key, 1.0) != 0

    def fit(self, examples: Examples) -> None:
        """Fit the arrays of the layers whose ``updated_when`` is "fitting" (input
        normalization statistics) in one pass over the training examples, in test mode, before
        the first round; the padding of ragged sequences counts for nothing."""
        leaves = self.plan.opened.leaves.values()
        if not any(leaf.updated_arrays and leaf.updated_when == "fitting" for leaf in leaves):
            return
        ctx = Ctx(training=False, dtype=self.dtype, grad=False, updates={}, fitting=True)
        size = self.options.batch_size
        for start in range(0, examples.n, size):
            idx = np.arange(start, min(start + size, examples.n))
            batches, lens, _ = read_inputs(self.run, examples.take(idx), self.dtype)
            self.plan.forward({(None, p): b.array for p, b in batches.items()}, lens, ctx)
        new = self.updated(ctx.updates)
        bad = [k for k, w in new.items() if not np.all(np.isfinite(w))]
        if bad:
            raise ValueError(
                f'NetTrain: the statistics "{"/".join(bad[0][0] + (bad[0][1],))}" fitted from '
                "the training data are not finite; check the data for NaN or huge values."
            )
        self.params = {**self.params, **new}
        self.load()

    def team_gradients(self, sub: dict, tally: Tally | None, seed: int):
        """``gradients`` of this rank's share of a batch (maybe empty), summed over the
        ranks in one Allreduce: the whole batch's (loss, grads, new values of the arrays set
        without gradients by (path, name)), the same on every rank."""
        n = len(next(iter(sub.values())))
        loss, grads, updates = 0.0, {}, {}
        if n:
            loss, grads, updates = self.gradients(sub, tally, self.team.step_seed(seed))
            updates = self.updated(updates)
        elapsed = self.state.elapsed() if self.team.rank == 0 else 0.0
        buf = self.team.sum(self.reduced.pack(loss, n, elapsed, grads, updates))
        self.batch_examples = int(round(buf[1]))
        loss, self.shared_elapsed, grads, updates = self.reduced.unpack(buf)
        return loss, grads, updates

    def gradients(self, sub: dict, tally: Tally | None, seed: int):
        """Forward in training mode (``seed`` its dropout masks') and backward from the mean
        loss: (loss, grads by (path, name), the new values of arrays set without gradients
        by path, see ``Ctx.updates``)."""
        batches, lens, _ = read_inputs(self.run, sub, self.dtype)
        ctx = Ctx(training=True, seed=seed, dtype=self.dtype, grad=True, updates={})
        vals, env, tape = self.plan.forward(
            {(None, p): b.array for p, b in batches.items()}, lens, ctx
        )
        if tally is not None:
            tally.add(vals, env, batches)
        B = len(next(iter(batches.values())).array)
        seeds, loss = {}, 0.0
        for p in self.measures.losses:
            slot = self.plan.outputs[p]
            seeds[slot] = np.full(vals[slot].shape, 1.0 / B, self.dtype)
            loss += float(np.mean(vals[slot]))
        _, dparams = self.plan.backward(vals, env, tape, seeds, ctx)
        grads = {(path, k): g for path, d in dparams.items() for k, g in d.items()}
        return loss, grads, ctx.updates

    def validate(self, ex: Examples) -> dict:
        """The measurements on the validation examples ("Loss" first), in test mode; in a
        team, each rank measures its share and the counts are summed."""
        share = None if self.team is None else self.team.share(np.arange(ex.n), ex.lengths)
        tally = measure_tally(
            self.run,
            self.plan,
            self.measures,
            ex,
            batch_size=self.options.batch_size,
            dtype=self.dtype,
            indices=share,
        )
        return self.merged(tally).values()

    def merged(self, tally: Tally) -> Tally:
        """The tally of every rank's examples (itself out of a team)."""
        if self.team is not None:
            tally.merge(self.team.gather(tally.counts()))
        return tally

    # -- rounds -------------------------------------------------------------------------------
    def train(self, data, state: RunState, checkpoints: Checkpoints | None = None) -> str:
        """Run the rounds, writing a checkpoint after each with ``checkpoints``; returns why
        training stopped (Wolfram's ReasonTrainingStopped)."""
        self.state, rounds = state, self.options.rounds
        self.checkpoints = checkpoints
        self.total = rounds * -(-data.round_length // self.options.batch_size)
        self.keep_round(state.first_round - 1)
        state.net_round = state.first_round - 1
        try:
            with CtrlC() as self.ctrl_c:
                for rnd in range(state.first_round, rounds + 1):
                    reason = self.round(rnd, data)
                    if reason is not None:
                        return reason
        except KeyboardInterrupt:
            if self.team is not None:  # every rank must stop: NetTrain ends them all
                raise
            return "ManualStop"
        except SystemError as e:  # Ctrl-C inside a numba call surfaces as a SystemError
            if not _interrupted(e) or self.team is not None:
                raise
            return "ManualStop"
        finally:
            self.report.close()
        return "MaxTrainingRounds"

    def round(self, rnd: int, data) -> str | None:
        """One round over the data; a reason to stop, or None to go on."""
        res, opts = self.state.results, self.options
        seen, loss_sum = 0, 0.0
        tally = Tally(self.measures, self.plan) if self.measures.port is not None else None
        work = data.round(rnd, self.rng)
        if self.team is not None:  # the same batches on every rank, or an error on each
            self.team.same_data(0 if data.generator else data.train.n, len(work))
        for ex, idx in work:
            self.state.batch_no += 1
            mine = idx if self.team is None or data.sharded else self.team.share(idx, ex.lengths)
            loss = self.batch(ex.take(mine), tally)
            if self.ctrl_c.pressed:  # a Ctrl-C whose KeyboardInterrupt was swallowed
                raise KeyboardInterrupt
            if loss is None:
                return self.back_to_last_round(rnd)
            self.state.net_round = rnd
            size = len(idx) if self.team is None else self.batch_examples
            seen, loss_sum = seen + size, loss_sum + loss * size
            res["BatchLossList"].append(loss)
            res["ExamplesProcessed"] += size
            elapsed = self.state.elapsed() if self.team is None else self.shared_elapsed
            self.report.batch(
                rnd, opts.rounds, seen=seen, per_round=data.round_length, loss=loss, elapsed=elapsed
            )
            if opts.time_goal is not None and elapsed >= opts.time_goal:
                self.round_measured(loss_sum / seen, tally)
                return "TimeGoalReached"
        self.round_measured(loss_sum / seen, tally)
        self.keep_round(rnd)
        monitor = self.end_of_round(rnd, data.valid)
        stop = self.stalled(monitor)
        if self.checkpoints is not None and self.checkpoints.directory is not None:
            self.checkpoints.save(rnd, self)
        return "StoppingCriterion" if stop else None

    def round_measured(self, loss: float, tally: Tally | None) -> None:
        """Record a round's loss and measurements (gathered from its batches' forward passes,
        as the arrays changed during the round, dropout on)."""
        res = self.state.results
        res["RoundLossList"].append(loss)
        values = {} if tally is None else self.merged(tally).values()
        res["RoundMeasurementsLists"].append({**values, "Loss": loss})

    def keep_round(self, rnd: int) -> None:
        """Remember the arrays at the end of round ``rnd`` (0: before training)."""
        self.last_round = (rnd, {k: w.copy() for k, w in self.params.items()})

    def back_to_last_round(self, rnd: int) -> str:
        """After a divergent batch in round ``rnd``: the arrays of the last whole round (the
        batches since may already have gone far), and a warning that says which."""
        done, params = self.last_round
        self.params, self.state.net_round = params, done
        self.load()
        diverged(self.diverged, rnd, done)
        return "Divergence"

    def end_of_round(self, rnd: int, valid) -> float:
        """Validate and report a finished round; returns the loss the stopping rule watches."""
        res, state = self.state.results, self.state
        monitor, validation = res["RoundLossList"][-1], None
        if valid is not None:
            validation = self.validate(valid)
            vloss = monitor = validation["Loss"]
            res["ValidationLossList"].append(vloss)
            res["ValidationMeasurementsLists"].append(validation)
            if state.best is None or vloss < state.best[0]:
                state.best = (vloss, rnd, {k: w.copy() for k, w in self.params.items()})
                res["BestValidationRound"] = rnd
        last = res["RoundMeasurementsLists"][-1]
        self.report.round(rnd, self.options.rounds, last, validation, state.elapsed())
        return monitor

    def stalled(self, monitor: float) -> bool:
        """Apply the stopping rule to this round's loss: True when patience has run out."""
        rule, state = self.options.stop_rule, self.state
        if rule is None:
            return False
        if monitor < state.best_monitor - rule["threshold"](state.best_monitor):
            state.best_monitor, state.stall = monitor, 0
            return False
        state.stall += 1
        return state.stall >= rule["patience"]

    # -- checkpoints --------------------------------------------------------------------------
    def saved(self) -> dict:
        """The run state a checkpoint keeps, beside the arrays, optimizer and generator."""
        s = self.state
        results = {k: s.results[k] for k in CARRIED}
        for k in MEASURED:
            results[k] = [self.measures.to_json(v) for v in results[k]]
        return {
            "best": s.best,
            "batch_no": s.batch_no,
            "stall": s.stall,
            "best_monitor": float(s.best_monitor) if np.isfinite(s.best_monitor) else 1e308,
            "results": results,
        }


class CtrlC:
    """Remembers a Ctrl-C during training. Python's own handler still raises
    KeyboardInterrupt wherever the signal lands, which stops a batch at once; but one that
    lands in a ctypes callback (llvmlite's, while numba compiles a kernel) is printed and
    dropped there, so the loop also stops at the next batch when ``pressed``. Installed only
    from the main thread (the only one that may set signal handlers), else inert."""

    def __init__(self):
        self.pressed, self.previous = False, None

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.getsignal(signal.SIGINT)
            signal.signal(signal.SIGINT, self._handler)
        return self

    def _handler(self, signum, frame):
        if self.previous is signal.SIG_IGN:
            return
        self.pressed = True
        if callable(self.previous):
            self.previous(signum, frame)  # Python's default raises KeyboardInterrupt
        else:
            raise KeyboardInterrupt

    def __exit__(self, *exc):
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)
        return False


def _interrupted(e: BaseException) -> bool:
    """Whether a KeyboardInterrupt is among the causes of ``e`` (numba wraps one that lands
    inside a compiled call in one or two SystemErrors)."""
    seen = set()
    while e is not None and id(e) not in seen:
        if isinstance(e, KeyboardInterrupt):
            return True
        seen.add(id(e))
        e = e.__cause__ or e.__context__
    return False


def diverged(what: str, rnd: int, done: int) -> None:
    returned = f"the net after round {done}" if done else "the net before training"
    warnings.warn(
        f"NetTrain: training stopped in round {rnd} because {what} became NaN or infinite. "
        f"The returned net is {returned}. Try a lower learning rate, gradient clipping "
        '(method=("ADAM", {"gradient_clipping": 1.0})), or inputs normalized to a small range.',
        NetTrainDivergenceWarning,
        stacklevel=7,
    )
