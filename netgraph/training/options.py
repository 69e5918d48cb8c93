"""NetTrain's options, checked once: each option is validated and turned into the form the
training loop uses (a dtype, a stopping rule, an optimizer's settings, …)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..batching import PRECISIONS
from ..distributed import is_communicator
from ..measurements.measures import measurement_names
from ..text import closest
from .checkpoint import checkpoint_dir
from .optimizers import parse_method
from .results import PROPERTIES

NAMES = (
    "loss_function",
    "method",
    "batch_size",
    "max_training_rounds",
    "round_length",
    "validation_set",
    "training_stopping_criterion",
    "time_goal",
    "random_seed",
    "training_progress_reporting",
    "training_progress_measurements",
    "learning_rate",
    "learning_rate_multipliers",
    "working_precision",
    "training_progress_checkpointing",
    "resume_from",
    "reset_input_normalization",
    "target_device",
)


@dataclass(frozen=True)
class TrainingOptions:
    """NetTrain's options after checking (see docs/training.md for each)."""

    prop: object  # None, "All", a property name or a list of them
    loss_function: object
    method: str  # "ADAM", "SGD" or "RMSProp"
    method_options: dict  # the method's settings, the learning rate among them
    batch_size: int
    rounds: int
    round_length: int | None  # None: one pass over the data
    validation_set: object
    stop_rule: dict | None  # {"patience", "threshold"(best) → required improvement}
    time_goal: float | None
    random_seed: int | None
    reporting: object
    measurements: tuple  # measured each round besides "Loss"
    learning_rate_multipliers: dict | None
    dtype: type
    save_dir: str | None
    resume_from: object
    reset_input_normalization: bool  # fit input normalization statistics before training
    target_device: object = "CPU"  # "CPU", "MPI" or an mpi4py communicator (distributed/mpi.py)


def training_options(prop, given: dict) -> TrainingOptions:
    """Check every option (``given``: NetTrain's keyword arguments) and collect them."""
    g = dict(given)
    precision = g["working_precision"]
    if precision not in PRECISIONS:
        raise ValueError(
            f'NetTrain: working_precision must be "Real32" or "Real64"; received {precision!r}.'
        )
    _positive_int("batch_size", g["batch_size"])
    for k in ("max_training_rounds", "round_length"):
        if g[k] is not None:
            _positive_int(k, g[k])
    time_goal = g["time_goal"]
    if time_goal is not None and not (isinstance(time_goal, (int, float)) and time_goal > 0):
        raise ValueError(
            f"NetTrain: time_goal must be a positive number of seconds; received {time_goal!r}."
        )
    name, opts = _method(g["method"], g["learning_rate"])
    return TrainingOptions(
        prop=_check_prop(prop),
        loss_function=g["loss_function"],
        method=name,
        method_options=opts,
        batch_size=g["batch_size"],
        rounds=g["max_training_rounds"] or 10,
        round_length=g["round_length"],
        validation_set=g["validation_set"],
        stop_rule=_stopping(g["training_stopping_criterion"]),
        time_goal=time_goal,
        random_seed=g["random_seed"],
        reporting=g["training_progress_reporting"],
        measurements=_measurements(g["training_progress_measurements"]),
        learning_rate_multipliers=g["learning_rate_multipliers"],
        dtype=PRECISIONS[precision],
        save_dir=checkpoint_dir(g["training_progress_checkpointing"]),
        resume_from=g["resume_from"],
        reset_input_normalization=_flag("reset_input_normalization", g),
        target_device=_device(g.get("target_device", "CPU")),
    )


def _device(device):
    """target_device: "CPU" (this process), "MPI" (the ranks of MPI_COMM_WORLD) or an mpi4py
    communicator."""
    if device in ("CPU", "MPI") or is_communicator(device):
        return device
    raise ValueError(
        'NetTrain: target_device must be "CPU", "MPI" (data-parallel training over the '
        "processes of an mpiexec run) or an mpi4py communicator; received "
        f"{device!r:.60}."
    )


def _measurements(spec) -> tuple:
    """training_progress_measurements: NetMeasurements' names, "Loss" aside (always measured)."""
    if spec is None:
        return ()
    return tuple(
        n
        for n in measurement_names(spec, "NetTrain: training_progress_measurements")
        if n != "Loss"
    )


def _method(method, learning_rate) -> tuple[str, dict]:
    name, opts = parse_method(method)
    if learning_rate is not None:
        if isinstance(method, tuple) and "learning_rate" in method[1]:
            raise ValueError(
                "NetTrain: the learning rate is given twice, as learning_rate= and inside method=; give it once."
            )
        opts["learning_rate"] = _rate(learning_rate)
    return name, opts


def _flag(name: str, g: dict) -> bool:
    v = g.get(name, True)
    if not isinstance(v, (bool, np.bool_)):
        raise ValueError(f"NetTrain: {name} must be True or False; received {v!r}.")
    return bool(v)


def _positive_int(name, v):
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
        raise ValueError(f"NetTrain: {name} must be a positive integer; received {v!r}.")


def _rate(v):
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v) or v < 0:
        raise ValueError(f"NetTrain: learning_rate must be a number ≥ 0; received {v!r}.")
    return float(v)


def _check_prop(prop):
    if prop is None or prop == "All":
        return prop
    names = prop if isinstance(prop, list) else [prop]
    for p in names:
        if p not in PROPERTIES:
            raise ValueError(
                f'NetTrain: unknown property "{p}"{closest(p, PROPERTIES)}. Properties: {", ".join(PROPERTIES)}.'
            )
    return prop


def _stopping(spec):
    """training_stopping_criterion → {"patience", "threshold"(best) → required improvement}."""
    if spec is None:
        return None
    if spec == "Loss":
        spec = {}
    if not isinstance(spec, dict):
        raise ValueError(
            'NetTrain: training_stopping_criterion must be "Loss" or a dict such as '
            '{"criterion": "Loss", "patience": 3, "absolute_change": 1e-3}; '
            f"received {spec!r}."
        )
    allowed = ("criterion", "patience", "absolute_change", "relative_change")
    for k in spec:
        if k not in allowed:
            raise ValueError(
                f'NetTrain: training_stopping_criterion has no key "{k}"{closest(k, allowed)}; '
                f"keys: {', '.join(allowed)}."
            )
    if spec.get("criterion", "Loss") != "Loss":
        raise ValueError(
            f'NetTrain: the stopping criterion "{spec["criterion"]}" is not supported; use "Loss" '
            "(the validation loss when there is a validation set, else the round loss)."
        )
    patience = spec.get("patience", 3)
    _positive_int("patience", patience)
    a = float(spec.get("absolute_change", 0.0))
    r = float(spec.get("relative_change", 0.0))
    return {
        "patience": patience,
        "threshold": lambda best: max(a, r * abs(best) if np.isfinite(best) else 0.0),
    }
