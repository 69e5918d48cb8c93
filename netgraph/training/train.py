"""NetTrain: fit a net's arrays to data by minibatch gradient descent.

The training net (losses attached, see losses.py) is compiled once into a plan; each batch
runs the plan forward in training mode (dropout on), backward from the mean loss, and the
optimizer updates the arrays, which go back into the plan. Nothing re-walks the spec tree.
"""

from __future__ import annotations

import os
from dataclasses import replace

import numpy as np

from ..batching import specialize
from ..distributed import Team, team_for
from ..initialization import NetInitialize
from ..measurements.measures import Measures, measures_for
from ..net import Net, frozen
from ..plan import plan_of
from ..text import check_keywords
from ..walk import flatten, replace_leaves
from .checkpoint import CARRIED, Checkpoints, run_options
from .data import TrainingData
from .loop import NetTrainDivergenceWarning, RunState, Trainer
from .losses import training_net
from .optimizers import Optimizer
from .options import NAMES, TrainingOptions, training_options
from .progress import reporter
from .results import NetTrainResultsObject
from .rules import l2_factors, multipliers


def NetTrain(  # noqa: PLR0913 (Wolfram's options, each keyword-only)
    net,
    data,
    prop=None,
    *,
    loss_function=None,
    method="ADAM",
    batch_size: int = 64,
    max_training_rounds: int | None = None,
    round_length: int | None = None,
    validation_set=None,
    training_stopping_criterion=None,
    time_goal: float | None = None,
    random_seed: int | None = None,
    training_progress_reporting="Panel",
    training_progress_measurements=None,
    learning_rate: float | None = None,
    learning_rate_multipliers=None,
    working_precision: str = "Real32",
    training_progress_checkpointing=None,
    resume_from=None,
    reset_input_normalization: bool = True,
    target_device="CPU",
    **unknown,
):
    """Train ``net`` on ``data`` and return the trained net (or ``prop`` of the results).

    ``data``: ``(inputs, targets)``, a list of ``(input, target)`` pairs, a dict of port name
    → examples, or a function ``f(batch_size=…, round=…)`` returning one batch. ``prop``:
    None (the trained net), "All" (a NetTrainResultsObject), or a property name such as
    "RoundLossList" (see ``NetTrainResultsObject.properties``). Uninitialized arrays are
    initialized first. ``training_progress_measurements``: NetMeasurements' names (such as
    ["Accuracy"]) measured each round, in "RoundMeasurementsLists" and, with a validation
    set, "ValidationMeasurementsLists". See docs/training.md for every option.

    Arrays that training sets without gradients (``Layer.updated_arrays``) are not given to
    the optimizer: a BatchNormalizationLayer's moving statistics follow each training batch,
    and an InputNormalizationLayer's statistics are fitted from the training data before the
    first round (``reset_input_normalization=False`` keeps the ones the net has, MATLAB's
    ResetInputNormalization).

    ``target_device="MPI"`` trains data-parallel over the processes of an MPI run (a script
    started as ``mpiexec -n N python train.py``, the ``[mpi]`` extra): ``batch_size`` stays
    the whole batch, each process computes the gradient of its share, rank 0 reports and
    writes checkpoints and returns what NetTrain returns, the other ranks the trained net.
    See docs/distributed.md.

    >>> import numpy as np
    >>> from netgraph import NetTrain, LinearLayer
    >>> x = np.linspace(-1, 1, 40)[:, None]
    >>> fit = NetTrain(LinearLayer(1, input=1), (x, 3 * x + 1), max_training_rounds=200,
    ...                batch_size=8, method=("ADAM", {"learning_rate": 0.05}),
    ...                random_seed=0, training_progress_reporting=None)
    >>> np.round(fit.arrays["Weights"].ravel(), 2), np.round(fit.arrays["Biases"], 2)
    (array([3.], dtype=float32), array([1.], dtype=float32))
    """
    check_keywords("NetTrain", unknown, NAMES)
    if not isinstance(net, Net):
        raise TypeError(
            f"NetTrain: the first argument must be a net; received {type(net).__name__}."
        )
    given = {k: v for k, v in locals().items() if k in NAMES}
    options = training_options(prop, given)
    team = team_for(options.target_device)
    if team is None:
        return _train(net, data, options, None)
    try:
        with team.threads():
            return _train(net, data, options, team)
    except BaseException as e:  # noqa: BLE001 - every rank must end, whatever ended this one
        team.fail(e)
        raise


def _train(net, data, options: TrainingOptions, team: Team | None):
    """NetTrain after its options are checked: on this process alone, or as one rank of
    ``team``."""
    rank = 0 if team is None else team.rank
    seed = options.random_seed if team is None else team.seed(options.random_seed)
    report = reporter(options.reporting if rank == 0 else None)
    rng = np.random.default_rng(seed)
    tn = training_net(net, options.loss_function)
    measured = measures_for(("Loss", *options.measurements), net, tn, "NetTrain")
    data = TrainingData(net, tn, data, options, rng, team=team)
    trainer = _trainer(tn, data, options, measured, report=report, rng=rng, seed=seed)
    state = RunState(results={k: [] for k in CARRIED if k.endswith(("List", "Lists"))})
    state.results.update(BestValidationRound=None, ExamplesProcessed=0)
    checkpoints = None
    save_dir = options.save_dir if rank == 0 else None  # rank 0 alone writes
    if options.save_dir is not None or options.resume_from is not None:
        user_net = _inner(trainer.run, tn.prefix)
        kept = run_options(options, tn, 1 if team is None else team.size)
        checkpoints = Checkpoints(save_dir, user_net, tn.prefix, kept)
    if options.resume_from is not None:
        checkpoints.resume(options.resume_from, trainer, state)
    elif options.reset_input_normalization:
        trainer.fit(data.train)
    if team is not None:  # rank 0's arrays, fitted (on its share of a sharded generator's
        trainer.join(team)  # first batch) or resumed, on every rank
    if save_dir is not None:
        if os.path.exists(save_dir) and not os.path.isdir(save_dir):
            raise ValueError(
                f"NetTrain: the checkpoint directory {save_dir!r} is a file; give "
                "training_progress_checkpointing a directory (made if it does not exist)."
            )
        os.makedirs(save_dir, exist_ok=True)
    reason = trainer.train(data, state, checkpoints)
    # rank 0 returns what was asked for, the other ranks the trained net
    asked = options if rank == 0 else replace(options, prop=None)
    return _results(trainer, state, reason, tn.prefix, asked)


def _trainer(
    tn, data: TrainingData, options: TrainingOptions, measured: Measures, *, report, rng, seed
) -> Trainer:
    """The training net compiled for the data, with its arrays initialized (from ``seed``)
    and an optimizer."""
    run = specialize(tn.net, data.train.take(np.arange(min(data.train.n, 16))))
    run = NetInitialize(run, random_seed=seed)
    plan = plan_of(run)
    flat = plan.opened
    params = {
        (path, k): np.array(a, dtype=options.dtype)
        for path, leaf in flat.leaves.items()
        for k, a in leaf.arrays.items()
        if a is not None
    }
    mult = multipliers(flat, options.learning_rate_multipliers, tn.prefix)
    l2 = l2_factors(flat, options.method_options["l2_regularization"], tn.prefix)
    trained = {k: w for k, w in params.items() if k[1] not in flat.leaves[k[0]].updated_arrays}
    opt = Optimizer(options.method, options.method_options, trained, mult, l2)
    return Trainer(
        run, plan, measured, params=params, opt=opt, rng=rng, options=options, report=report
    )


def _results(trainer: Trainer, state: RunState, reason: str, prefix: tuple, options):
    """What NetTrain returns: the trained net, the results object, or properties of it."""
    res, elapsed = state.results, state.elapsed()
    final = _net_with(trainer.run, trainer.params, prefix)
    best = state.best
    res.update(
        ReasonTrainingStopped=reason,
        Method=options.method,
        BatchSize=options.batch_size,
        TotalTrainingTime=elapsed,
        TotalRounds=len(res["RoundLossList"]),
        TotalBatches=len(res["BatchLossList"]),
        MeanExamplesPerSecond=res["ExamplesProcessed"] / elapsed if elapsed > 0 else 0.0,
        FinalNet=final,
        TrainedNet=_net_with(trainer.run, best[2], prefix) if best is not None else final,
        TrainedNetRound=best[1] if best is not None else state.net_round,
        RoundMeasurements=_last(res["RoundMeasurementsLists"]),
        ValidationMeasurements=_last(res["ValidationMeasurementsLists"]),
    )
    results = NetTrainResultsObject(res)
    prop = options.prop
    if prop is None:
        return results["TrainedNet"]
    if prop == "All":
        return results
    if isinstance(prop, list):
        return [results[p] for p in prop]
    return results[prop]


def _last(values: list):
    return values[-1] if values else None


def _net_with(run, params: dict, prefix: tuple):
    """The user's net (as specialized for the data) holding ``params``."""
    flat = flatten(run)
    new = {}
    for path, leaf in flat.leaves.items():
        if path[: len(prefix)] != prefix or not leaf.arrays:
            continue
        arrays = {}
        for k, a in leaf.arrays.items():
            arrays[k] = frozen(params.get((path, k), a))  # in the working precision
        new[path[len(prefix) :]] = leaf._replace(arrays=arrays)
    return replace_leaves(_inner(run, prefix), new)


def _inner(net, prefix: tuple):
    """The net at the path ``prefix`` inside ``net`` (the user's net in the training net)."""
    for name in prefix:
        net = net.layers[name]
    return net


__all__ = ["NetTrain", "NetTrainDivergenceWarning"]
