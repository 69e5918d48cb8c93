"""Checkpoints of a training run, one .ngnet file per round, from which NetTrain can resume.

``training_progress_checkpointing=("Directory", d)`` writes ``d/checkpoint-round0003.ngnet``
after each round: a .ngnet file holding the net of that round (``Import`` reads it), and
beside it, in a "training" metadata section and tensors of its own, what resuming needs:
the optimizer's state, the random generator's state, the best round's arrays and the results
so far. ``NetTrain(net, data, …, resume_from=d)`` (the newest file in ``d``, or a given file)
continues that run as if it had never stopped: with the same net, data and options, training
2 rounds and resuming to 4 gives exactly the net of 4 rounds in one go.

Resuming checks before it reads an array: the file's header (``io/tensorfile.py``), that the
checkpoint's net is this run's net (the same architecture), that every tensor has the shape
and dtype of the array it restores (so memory stays within the net's own size), and that the
run's options are the checkpoint's (``run_options``). Arrays holding NaN or infinite values
are refused. Every refusal is a ValueError that names the file and what differs.
"""

from __future__ import annotations

import glob
import json
import os
import re

import numpy as np

from ..io.architecture import architecture, array_key, first_difference
from ..io.ngnet import NgnetFile, write_ngnet
from ..io.tensorfile import parse_json

SECTION = "training"
RESULTS = "NetTrain:results"  # the results so far, JSON text as bytes
MAX_RESULTS = 256 * 2**20
OWNER = "NetTrain: resume_from"
# Results that a checkpoint carries over, so that a resumed run reports the whole run.
MEASURED = ("RoundMeasurementsLists", "ValidationMeasurementsLists")  # a dict per round
LISTS = ("BatchLossList", "RoundLossList", "ValidationLossList", *MEASURED)
CARRIED = (*LISTS, "BestValidationRound", "ExamplesProcessed")


def checkpoint_dir(spec) -> str | None:
    """The directory of ``training_progress_checkpointing`` (made when training starts)."""
    if spec is None:
        return None
    if isinstance(spec, (tuple, list)) and len(spec) == 2 and spec[0] == "Directory":
        path = os.fspath(spec[1])
    elif isinstance(spec, (str, os.PathLike)):
        path = os.fspath(spec)
    else:
        raise ValueError(
            'NetTrain: training_progress_checkpointing must be ("Directory", path) or a path; '
            f"received {spec!r}."
        )
    return path


def latest(where: str) -> str:
    """The checkpoint file ``where`` names: itself, or the newest one in a directory."""
    if os.path.isdir(where):
        files = glob.glob(os.path.join(where, "checkpoint-round*.ngnet"))
        rounds = {f: re.search(r"checkpoint-round(\d+)\.ngnet$", f) for f in files}
        files = sorted((int(m.group(1)), f) for f, m in rounds.items() if m)
        if not files:
            raise ValueError(f"{OWNER}: no checkpoint-round*.ngnet file in {where!r}.")
        return files[-1][1]
    if not os.path.isfile(where):
        raise ValueError(f"{OWNER}: {where!r} is neither a checkpoint file nor a directory.")
    return where


# -- what a resumed run must share with the checkpoint ---------------------------------------


def _losses(tn) -> str:
    """The losses of the training net, in words: "Output: MeanSquaredLossLayer()"."""
    parts = []
    for out, name in tn.attached.items():
        layer = tn.net.layers[name]
        opts = ", ".join(f"{k}={v!r}" for k, v in layer.options.items())
        parts.append(f"{out}: {type(layer).__name__}({opts})")
    return "; ".join(parts) or f"the output {tn.losses[0]!r}"


def _validation(v) -> str:
    return "None" if v is None else repr(v) if type(v).__name__ == "Scaled" else "a data set"


def run_options(options, tn, processes: int = 1) -> dict:
    """The options that make a run what it is, each in words (name → text): a checkpoint
    keeps them and a run resumed from it must have the same. ``processes``: the ranks of a
    data-parallel run (distributed/mpi.py), kept when more than one (each draws its own
    dropout masks, so another number of ranks is another run)."""
    method = dict(options.method_options)
    schedule = method.pop("learning_rate_schedule")
    out = {
        "method": repr(options.method),
        "learning_rate": repr(method.pop("learning_rate")),
        "batch_size": repr(options.batch_size),
        "round_length": repr(options.round_length),
        "random_seed": repr(options.random_seed),
        "working_precision": repr("Real64" if options.dtype == np.float64 else "Real32"),
        "validation_set": _validation(options.validation_set),
        "loss_function": _losses(tn),
        "learning_rate_multipliers": repr(options.learning_rate_multipliers),
        "method suboption learning_rate_schedule": "a function" if schedule else "None",
    }
    out.update({f"method suboption {k}": repr(v) for k, v in method.items()})
    if processes > 1:
        out[PROCESSES] = repr(processes)
    return out


PROCESSES = "processes (target_device)"
ABSENT = {PROCESSES: "1"}  # what a checkpoint without the entry means


def _mismatches(saved: dict, mine: dict) -> list[str]:
    saved, mine = {**ABSENT, **saved}, {**ABSENT, **mine}
    keys = [k for k in {**saved, **mine} if saved.get(k) != mine.get(k)]
    if "method" in keys:  # another method has other suboptions
        keys = [k for k in keys if not k.startswith("method suboption")]
    return [f"{k}: {saved.get(k, 'absent')} there, {mine.get(k, 'absent')} here" for k in keys]


# -- the training section, checked ------------------------------------------------------------


def _natural(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def _number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _strings(v, values=None) -> bool:
    """A dict of str → str (or → ``values(v)``)."""
    ok = values or (lambda x: isinstance(x, str))
    return isinstance(v, dict) and all(isinstance(k, str) and ok(x) for k, x in v.items())


def _optimizer(v) -> bool:
    """{"method": name, "t": steps, "moments": {array key: [tensor names]}}."""
    return (
        isinstance(v, dict)
        and set(v) == {"method", "t", "moments"}
        and isinstance(v["method"], str)
        and _natural(v["t"])
        and _strings(
            v["moments"], lambda x: isinstance(x, list) and all(isinstance(s, str) for s in x)
        )
    )


def _best(v) -> bool:
    """None, or {"loss", "round", "arrays": {array key: tensor name}}."""
    if v is None:
        return True
    return (
        isinstance(v, dict)
        and set(v) == {"loss", "round", "arrays"}
        and _number(v["loss"])
        and _natural(v["round"])
        and _strings(v["arrays"])
    )


STATE = {  # the training section's fields and what each must be
    "round": lambda v: _natural(v) and v >= 1,
    "options": _strings,
    "optimizer": _optimizer,
    "rng": lambda v: isinstance(v, dict),
    "best": _best,
    "batch_no": _natural,
    "stall": _natural,
    "best_monitor": _number,
    "results": lambda v: v == RESULTS,
}


def _check_state(f: NgnetFile) -> dict:
    t = f.section(SECTION)
    if t is None:
        raise f.error(
            "is not a NetTrain checkpoint: it holds a net but no training state (resume from a "
            "checkpoint-round….ngnet file that NetTrain wrote)"
        )
    if not isinstance(t, dict) or set(t) != set(STATE):
        shown = sorted(t)[:20] if isinstance(t, dict) else type(t).__name__
        raise f.error(f"is damaged: its training state is {shown}, not {sorted(STATE)}")
    for k, ok in STATE.items():
        if not ok(t[k]):
            raise f.error(f'is damaged: its training state\'s "{k}" is not what NetTrain writes')
    return t


def _rng_state(f: NgnetFile, state: dict, rng) -> dict:
    """The generator state, checked on a generator of the run's kind."""
    probe = type(rng.bit_generator)()
    try:
        probe.state = state
    except (TypeError, ValueError, KeyError, OverflowError) as e:
        raise f.error(f"is damaged: its random generator state cannot be restored ({e})") from None
    return probe.state


def _carried(res) -> bool:
    """The results a checkpoint carries: every list, the losses numbers, the counts ints."""
    if not (isinstance(res, dict) and all(isinstance(res.get(k), list) for k in LISTS)):
        return False
    best = res.get("BestValidationRound", -1)
    losses = all(_number(x) for k in LISTS if k not in MEASURED for x in res[k])
    return losses and _natural(res.get("ExamplesProcessed")) and (best is None or _natural(best))


def _results(f: NgnetFile, measures) -> dict:
    """The results so far, checked and with the measurements converted back."""
    dtype, shape = f.entries.get(RESULTS, (None, ()))
    if dtype != "U8" or len(shape) != 1 or shape[0] > MAX_RESULTS:
        raise f.error(f'is damaged: its results tensor "{RESULTS}" is missing or malformed')
    try:
        res = parse_json(f.read(RESULTS).tobytes().decode("utf-8"), "the results")
        if not _carried(res):
            raise ValueError("a field is missing or malformed")
        for k in MEASURED:
            res[k] = [measures.from_json(v) for v in res[k]]
    except (UnicodeDecodeError, ValueError, TypeError, AttributeError) as e:
        raise f.error(f"is damaged: its results cannot be read ({e})") from None
    return res


# -- the checkpoints of one run --------------------------------------------------------------


class Checkpoints:
    """Writing and resuming the checkpoints of one run. ``net`` is the user's net as the run
    trains it (its arrays initialized), found at ``prefix`` in the training net; ``options``
    the run's ``run_options``."""

    def __init__(self, directory: str | None, net, prefix: tuple, options: dict):
        self.directory, self.prefix, self.options = directory, prefix, options
        self.arch = architecture(net)

    def key(self, k: tuple) -> str:
        """The tensor key of the trained array ``k`` = (path in the training net, name)."""
        path, name = k
        return array_key(path[len(self.prefix) :], name)

    def save(self, rnd: int, trainer) -> str:
        """Write the checkpoint of round ``rnd`` from the trainer's arrays, optimizer,
        generator and run state (``trainer.saved()``); returns the file."""
        tensors = {self.key(k): w for k, w in trainer.params.items()}
        moments = {}
        for k, ms in trainer.opt.state.items():
            names = [f"{self.key(k)}:moment{i + 1}" for i in range(len(ms))]
            tensors.update(zip(names, ms))
            moments[self.key(k)] = names
        state = trainer.saved()
        best = state.pop("best")
        if best is not None:
            keys = {self.key(k): f"{self.key(k)}:best" for k in best[2]}
            tensors.update({keys[self.key(k)]: w for k, w in best[2].items()})
            best = {"loss": best[0], "round": best[1], "arrays": keys}
        tensors[RESULTS] = np.frombuffer(json.dumps(state.pop("results")).encode(), np.uint8)
        training = {
            "round": rnd,
            "options": self.options,
            "optimizer": {"method": trainer.opt.name, "t": trainer.opt.t, "moments": moments},
            "rng": trainer.rng.bit_generator.state,
            "best": best,
            **state,
            "results": RESULTS,
        }
        file = os.path.join(self.directory, f"checkpoint-round{rnd:04d}.ngnet")
        write_ngnet(file, self.arch, tensors, {SECTION: training})
        return file

    def resume(self, where, trainer, state) -> None:
        """Restore the trainer (arrays, optimizer, generator) and the run state ``state`` from
        the checkpoint ``where``, after checking it all."""
        with NgnetFile(latest(os.fspath(where)), OWNER) as f:
            t = _check_state(f)
            self._check_run(f, t)
            reads = self._planned_reads(f, t, trainer)
            values = {k: self._finite(f, name) for k, name in reads.items()}
            rng = _rng_state(f, t["rng"], trainer.rng)
            results = _results(f, trainer.measures)
        trainer.params = {k: values[("param", k)] for k in trainer.params}
        for k, ms in trainer.opt.state.items():
            ms[:] = [values[("moment", k, i)] for i in range(len(ms))]
        trainer.opt.t = t["optimizer"]["t"]
        trainer.rng.bit_generator.state = rng
        trainer.load()
        best = t["best"]
        state.best = None
        if best is not None:
            arrays = {k: values[("best", k)] for k in trainer.params}
            state.best = (best["loss"], best["round"], arrays)
        state.first_round, state.batch_no = t["round"] + 1, t["batch_no"]
        state.stall, state.best_monitor = t["stall"], t["best_monitor"]
        state.results.update({k: results[k] for k in CARRIED})

    def _check_run(self, f: NgnetFile, t: dict) -> None:
        """The checkpoint's net and options are this run's."""
        diff = first_difference(f.architecture, self.arch)
        if diff is not None:
            where, field, theirs, mine = diff
            raise f.error(
                f'does not fit this net: {where}: "{field}" is {theirs} there, {mine} here. '
                "Resume with the same net and data"
            )
        wrong = _mismatches(t["options"], self.options)
        if wrong:
            raise f.error(
                "was written with other options than this run's: "
                + "; ".join(wrong)
                + ". Resume with the options of that run, or train afresh without resume_from"
            )

    def _planned_reads(self, f: NgnetFile, t: dict, trainer) -> dict:
        """What to read, (kind, key…) → tensor name, with every tensor's dtype and shape
        checked against the array it restores before anything is read."""
        moments, method = t["optimizer"]["moments"], t["optimizer"]["method"]
        if method != trainer.opt.name:
            raise f.error(
                f"holds the state of the optimizer {method!r:.40}, not {trainer.opt.name!r}"
            )
        best = t["best"]["arrays"] if t["best"] is not None else None
        plan = {}
        for k, w in trainer.params.items():
            key = self.key(k)
            plan[("param", k)] = (key, w)
            if k in trainer.opt.state:
                names = moments.get(key, [])
                if len(names) != len(trainer.opt.state[k]):
                    raise f.error(f'does not hold the optimizer state of array "{key}"')
                plan.update({("moment", k, i): (n, w) for i, n in enumerate(names)})
            if best is not None:
                plan[("best", k)] = (best.get(key, ""), w)
        if len(moments) != len(trainer.opt.state):
            raise f.error("holds optimizer state for arrays this run does not train")
        for name, w in plan.values():
            self._check_entry(f, name, w)
        return {k: name for k, (name, _) in plan.items()}

    def _check_entry(self, f: NgnetFile, name: str, w: np.ndarray) -> None:
        code = {np.dtype(np.float32): "F32", np.dtype(np.float64): "F64"}[w.dtype]
        got = f.entries.get(name)
        if got != (code, w.shape):
            shown = "missing" if got is None else f"{got[1]} ({got[0]})"
            raise f.error(
                f'does not fit this net: tensor "{name}" is {shown} there, {w.shape} ({code}) '
                "here. Resume with the same net and options"
            )

    @staticmethod
    def _finite(f: NgnetFile, name: str) -> np.ndarray:
        try:
            a = f.read(name)
        except ValueError as e:
            raise f.error(f"is damaged: {e}") from None
        if not np.all(np.isfinite(a)):
            raise f.error(
                f'is damaged: tensor "{name}" holds NaN or infinite values (NetTrain writes '
                "finite arrays only)"
            )
        return a


__all__ = ["CARRIED", "Checkpoints", "checkpoint_dir", "run_options"]
