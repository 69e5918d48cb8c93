"""NetTrain: fit a net's arrays to data by minibatch gradient descent.

The training net (losses attached, see losses.py) is compiled once into a plan; each batch
runs the plan forward in training mode (dropout on), backward from the mean loss, and the
optimizer updates the arrays, which go back into the plan. Nothing re-walks the spec tree.
"""

from __future__ import annotations

import time
import warnings

import numpy as np

from ..batching import PRECISIONS, read_inputs, specialize
from ..initialization import NetInitialize
from ..kernels.base import Ctx
from ..net import Net
from ..plan import plan_of
from ..symbols import All, Scaled
from ..text import check_keywords, closest
from ..walk import flatten, replace_leaves
from . import checkpoint
from .checkpoint import checkpoint_dir
from .data import Examples, as_examples, batches, encoded, validation_examples
from .losses import training_net
from .optimizers import Optimizer, parse_method
from .progress import reporter
from .results import PROPERTIES, NetTrainResultsObject

OPTIONS = (
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
    "learning_rate",
    "learning_rate_multipliers",
    "working_precision",
    "training_progress_checkpointing",
    "resume_from",
)


class NetTrainDivergenceWarning(RuntimeWarning):
    """Training stopped because the loss or an array became NaN or infinite."""


def NetTrain(
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
    training_progress_reporting="ProgressBar",
    learning_rate: float | None = None,
    learning_rate_multipliers=None,
    working_precision: str = "Real32",
    training_progress_checkpointing=None,
    resume_from=None,
    **unknown,
):
    """Train ``net`` on ``data`` and return the trained net (or ``prop`` of the results).

    ``data``: ``(inputs, targets)``, a list of ``(input, target)`` pairs, a dict of port name
    → examples, or a function ``f(batch_size=…, round=…)`` returning one batch. ``prop``:
    None (the trained net), "All" (a NetTrainResultsObject), or a property name such as
    "RoundLossList" (see ``NetTrainResultsObject.properties``). Uninitialized arrays are
    initialized first. See docs/training.md for every option.

    >>> import numpy as np
    >>> from netgraph import NetTrain, LinearLayer
    >>> x = np.linspace(-1, 1, 40)[:, None]
    >>> fit = NetTrain(LinearLayer(1, input=1), (x, 3 * x + 1), max_training_rounds=200,
    ...                batch_size=8, method=("ADAM", {"learning_rate": 0.05}),
    ...                random_seed=0, training_progress_reporting=None)
    >>> np.round(fit.arrays["Weights"].ravel(), 2), np.round(fit.arrays["Biases"], 2)
    (array([3.], dtype=float32), array([1.], dtype=float32))
    """
    check_keywords("NetTrain", unknown, OPTIONS)
    if not isinstance(net, Net):
        raise TypeError(
            f"NetTrain: the first argument must be a net; received {type(net).__name__}."
        )
    if working_precision not in PRECISIONS:
        raise ValueError(
            f'NetTrain: working_precision must be "Real32" or "Real64"; received {working_precision!r}.'
        )
    dtype = PRECISIONS[working_precision]
    _positive_int("batch_size", batch_size)
    if max_training_rounds is not None:
        _positive_int("max_training_rounds", max_training_rounds)
    if round_length is not None:
        _positive_int("round_length", round_length)
    if time_goal is not None and not (isinstance(time_goal, (int, float)) and time_goal > 0):
        raise ValueError(
            f"NetTrain: time_goal must be a positive number of seconds; received {time_goal!r}."
        )
    props = _check_prop(prop)
    name, opts = parse_method(method)
    if learning_rate is not None:
        if isinstance(method, tuple) and "learning_rate" in method[1]:
            raise ValueError(
                "NetTrain: the learning rate is given twice, as learning_rate= and inside method=; give it once."
            )
        opts["learning_rate"] = _rate(learning_rate)
    stop_rule = _stopping(training_stopping_criterion)
    report = reporter(training_progress_reporting)
    rng = np.random.default_rng(random_seed)

    tn = training_net(net, loss_function)
    required = sorted(
        iter(tn.net.required_inputs()),
        key=lambda p: (p.endswith("Target"), p),
    )
    inputs = net.required_inputs()
    one_input = inputs[0] if len(inputs) == 1 else None
    generator = callable(data) and not isinstance(data, Net)
    if generator:
        first = as_examples(data(batch_size=batch_size, round=1), one_input, tn.targets)
        train, valid = first, None
        if isinstance(validation_set, Scaled):
            raise ValueError(
                "NetTrain: validation_set=Scaled(r) needs data held in memory; with a generator "
                "give an explicit validation set."
            )
        if validation_set is not None:
            valid = as_examples(validation_set, one_input, tn.targets, "NetTrain: validation_set")
    else:
        train = as_examples(data, one_input, tn.targets)
        train, valid = validation_examples(validation_set, train, one_input, tn.targets, rng)
    extra = [p for p in train.ports if p not in tn.net.input_ports()]
    if extra:
        raise ValueError(
            f'NetTrain: the data names the port "{extra[0]}"{closest(extra[0], required)}, which the '
            f"training net does not have; its input ports: {', '.join(required)}."
        )

    coders = _data_coders(net, tn)
    train = encoded(train, coders)
    valid = None if valid is None else encoded(valid, coders)
    missing = [p for p in required if p not in train.ports]
    if missing:
        raise ValueError(
            f"NetTrain: the data has no values for the port(s) {', '.join(missing)}; "
            f"give a dict with keys {', '.join(required)}."
        )
    run = specialize(tn.net, train.take(np.arange(min(train.n, 16))))
    run = NetInitialize(run, random_seed=None if random_seed is None else random_seed)
    plan = plan_of(run)
    flat = plan.flat
    params = {
        (path, k): np.array(a, dtype=dtype)
        for path, leaf in flat.leaves.items()
        for k, a in leaf.arrays.items()
        if a is not None
    }
    prefix = tn.prefix
    mult = _multipliers(flat, learning_rate_multipliers, prefix)
    l2 = _l2(flat, opts["l2_regularization"], prefix)
    opt = Optimizer(name, opts, params, mult, l2)
    _load(plan, params, dtype)

    if round_length is None:
        round_length = 64 * batch_size if generator else train.n
    per_round = -(-round_length // batch_size)
    rounds = max_training_rounds or 10
    total = rounds * per_round
    res = {
        "BatchLossList": [],
        "RoundLossList": [],
        "ValidationLossList": [],
        "BestValidationRound": None,
        "ReasonTrainingStopped": "MaxTrainingRounds",
        "Method": name,
        "BatchSize": batch_size,
        "ExamplesProcessed": 0,
    }
    best = None  # (loss, round, params copy)
    stall, best_monitor = 0, np.inf
    batch_no, first = 0, 1
    save_dir = checkpoint_dir(training_progress_checkpointing)
    if resume_from is not None:
        saved = checkpoint.load(resume_from, params, opt, rng)
        _load(plan, params, dtype)
        first, batch_no, best = saved["round"] + 1, saved["batch_no"], saved["best"]
        stall, best_monitor = saved["stall"], saved["best_monitor"]
        for k in (
            "BatchLossList",
            "RoundLossList",
            "ValidationLossList",
            "BestValidationRound",
            "ExamplesProcessed",
        ):
            res[k] = saved["results"][k]
    t0 = time.perf_counter()
    last_good = {k: w.copy() for k, w in params.items()}
    updating = False
    try:
        for rnd in range(first, rounds + 1):
            if generator:
                idx_list = []
                got = 0
                while got < round_length:
                    b = as_examples(data(batch_size=batch_size, round=rnd), one_input, tn.targets)
                    b = encoded(b, coders)
                    idx_list.append(b)
                    got += b.n
                work = [(b, np.arange(b.n)) for b in idx_list]
            else:
                work = [(train, idx) for idx in batches(train, batch_size, rng)]
            seen, loss_sum = 0, 0.0
            for ex, idx in work:
                batch_no += 1
                with np.errstate(over="ignore", invalid="ignore"):  # divergence is checked below
                    loss, grads = _step(run, plan, ex.take(idx), dtype, rng, tn.losses)
                if not np.isfinite(loss) or not all(np.all(np.isfinite(g)) for g in grads.values()):
                    _diverged(res, "the loss or its gradient")
                    raise _Stop
                last_good = {k: w.copy() for k, w in params.items()}
                updating = True
                with np.errstate(over="ignore", invalid="ignore"):
                    opt.step(params, grads, batch_no, total)
                updating = False
                if not all(np.all(np.isfinite(w)) for w in params.values()):
                    for k in params:
                        params[k][...] = last_good[k]
                    _diverged(res, "an array")
                    raise _Stop
                _load(plan, params, dtype)
                n = len(idx)
                seen += n
                loss_sum += loss * n
                res["BatchLossList"].append(loss)
                res["ExamplesProcessed"] += n
                elapsed = time.perf_counter() - t0
                report.batch(rnd, rounds, seen, round_length, loss, elapsed)
                if time_goal is not None and elapsed >= time_goal:
                    res["ReasonTrainingStopped"] = "TimeGoalReached"
                    res["RoundLossList"].append(loss_sum / seen)
                    raise _Stop
            res["RoundLossList"].append(loss_sum / seen)
            monitor = res["RoundLossList"][-1]
            if valid is not None:
                vloss = _evaluate_loss(run, plan, valid, batch_size, dtype, tn.losses)
                res["ValidationLossList"].append(vloss)
                monitor = vloss
                if best is None or vloss < best[0]:
                    best = (vloss, rnd, {k: w.copy() for k, w in params.items()})
                    res["BestValidationRound"] = rnd
            report.round(
                rnd,
                rounds,
                res["RoundLossList"][-1],
                res["ValidationLossList"][-1] if valid is not None else None,
                time.perf_counter() - t0,
            )
            stop = False
            if stop_rule is not None:
                if monitor < best_monitor - stop_rule["threshold"](best_monitor):
                    best_monitor, stall = monitor, 0
                else:
                    stall += 1
                    stop = stall >= stop_rule["patience"]
            if save_dir is not None:
                kept = (
                    "BatchLossList",
                    "RoundLossList",
                    "ValidationLossList",
                    "BestValidationRound",
                    "ExamplesProcessed",
                )
                checkpoint.save(
                    save_dir,
                    rnd,
                    params,
                    opt,
                    rng,
                    {
                        "best": best,
                        "batch_no": batch_no,
                        "stall": stall,
                        "best_monitor": float(best_monitor) if np.isfinite(best_monitor) else 1e308,
                        "results": {k: res[k] for k in kept},
                    },
                )
            if stop:
                res["ReasonTrainingStopped"] = "StoppingCriterion"
                raise _Stop
    except _Stop:
        pass
    except KeyboardInterrupt:
        res["ReasonTrainingStopped"] = "ManualStop"
        if updating:  # an update cut off midway: back to the arrays before it
            for k in params:
                params[k][...] = last_good[k]
    finally:
        report.close()
    elapsed = time.perf_counter() - t0
    res["TotalTrainingTime"] = elapsed
    res["TotalRounds"] = len(res["RoundLossList"])
    res["TotalBatches"] = len(res["BatchLossList"])
    res["MeanExamplesPerSecond"] = res["ExamplesProcessed"] / elapsed if elapsed > 0 else 0.0
    final = _net_with(run, params, prefix)
    res["FinalNet"] = final
    res["TrainedNet"] = _net_with(run, best[2], prefix) if best is not None else final
    results = NetTrainResultsObject(res)
    if props is None:
        return results["TrainedNet"]
    if props == "All":
        return results
    if isinstance(props, list):
        return [results[p] for p in props]
    return results[props]


def _data_coders(net, tn) -> dict:
    """Training-net port → conversion of one example: input encoders, and output decoders
    turning labels into targets."""
    from ..coders import NetDecoder, NetEncoder

    out = {}
    for p, c in net.coders.items():
        if isinstance(c, NetEncoder):
            out[p] = lambda x, c=c, p=p: c.encode(x, p)
        elif isinstance(c, NetDecoder) and p in tn.targets:
            out[tn.targets[p]] = lambda y, c=c, p=p: c.target(y, p)
    return out


class _Stop(Exception):
    pass


def _diverged(res, what):
    res["ReasonTrainingStopped"] = "Divergence"
    warnings.warn(
        f"NetTrain: training stopped because {what} became NaN or infinite. The returned net "
        "is the last one with finite arrays. Try a lower learning rate, gradient clipping "
        '(method=("ADAM", {"gradient_clipping": 1.0})), or inputs normalized to a small range.',
        NetTrainDivergenceWarning,
        stacklevel=3,
    )


def _step(run, plan, sub: dict, dtype, rng, losses):
    """Forward in training mode and backward from the mean loss: (loss, grads by (path, name))."""
    batches_, lens, _ = read_inputs(run, sub, dtype)
    ctx = Ctx(training=True, seed=int(rng.integers(2**63)), dtype=dtype, grad=True)
    feed = {(None, p): b.array for p, b in batches_.items()}
    vals, env, tape = plan.forward(feed, lens, ctx)
    B = len(next(iter(batches_.values())).array)
    seeds, loss = {}, 0.0
    for p in losses:
        slot = plan.outputs[p]
        seeds[slot] = np.full(vals[slot].shape, 1.0 / B, dtype)
        loss += float(np.mean(vals[slot]))
    _, dparams = plan.backward(vals, env, tape, seeds, ctx)
    grads = {(path, k): g for path, d in dparams.items() for k, g in d.items()}
    return loss, grads


def _evaluate_loss(run, plan, ex: Examples, batch_size, dtype, losses) -> float:
    total = 0.0
    for i in range(0, ex.n, batch_size):
        idx = np.arange(i, min(ex.n, i + batch_size))
        batches_, lens, _ = read_inputs(run, ex.take(idx), dtype)
        ctx = Ctx(training=False, dtype=dtype, grad=False)
        vals, _, _ = plan.forward({(None, p): b.array for p, b in batches_.items()}, lens, ctx)
        total += sum(float(np.sum(vals[plan.outputs[p]])) for p in losses)
    return total / ex.n


def _load(plan, params: dict, dtype) -> None:
    """Put the current arrays into the plan (each op rearranges its own, e.g. fuses gates)."""
    by_path: dict = {}
    for (path, k), w in params.items():
        by_path.setdefault(path, {})[k] = w
    plan.load_arrays(dtype, by_path)


def _net_with(run, params: dict, prefix: tuple):
    """The user's net (as specialized for the data) holding ``params``."""
    flat = flatten(run)
    new = {}
    for path, leaf in flat.leaves.items():
        if path[: len(prefix)] != prefix or not leaf.arrays:
            continue
        arrays = {}
        for k, a in leaf.arrays.items():
            w = np.array(params.get((path, k), a))  # in the working precision
            w.flags.writeable = False
            arrays[k] = w
        new[path[len(prefix) :]] = leaf._replace(arrays=arrays)
    inner = run
    for name in prefix:
        inner = inner.layers[name]
    return replace_leaves(inner, new)


def _match(spec: dict, flat, prefix: tuple, what: str, default) -> dict:
    """Per-array values from a spec keyed by layer name, layer path, or path + array name
    (the most specific key wins; ``All`` sets the default)."""
    arrays = [
        (path, k)
        for path, leaf in flat.leaves.items()
        for k in leaf.arrays
        if path[: len(prefix)] == prefix
    ]
    table = {}
    for key, v in spec.items():
        if key is All:
            continue
        p = tuple(str(x) for x in key) if isinstance(key, (tuple, list)) else (str(key),)
        hits = [a for a in arrays if (a[0] + (a[1],))[len(prefix) :][: len(p)] == p]
        if not hits:
            names = sorted({"/".join(a[0][len(prefix) :] + (a[1],)) for a in arrays})
            shown = "/".join(p)
            raise ValueError(
                f'NetTrain: {what} names "{shown}", which is no layer or array of the net'
                f"{closest(shown, names)}. Arrays: {', '.join(names)}."
            )
        for a in hits:
            if a not in table or table[a][0] < len(p):
                table[a] = (len(p), float(v))
    base = float(spec.get(All, default)) if any(k is All for k in spec) else default
    return {a: table[a][1] if a in table else base for a in arrays}


def _multipliers(flat, spec, prefix) -> dict:
    out = {}
    if spec is not None and not isinstance(spec, dict):
        raise TypeError(
            'NetTrain: learning_rate_multipliers must be a dict such as {"1": 0} (freeze layer '
            f'"1") or {{("lstm", "InputGateBiases"): 2.0}}; received {spec!r}.'
        )
    table = _match(spec or {}, flat, prefix, "learning_rate_multipliers", 1.0)
    for (path, k), v in table.items():
        own = flat.leaves[path].options.get("learning_rate_multipliers") or {}
        out[(path, k)] = v * float(own.get(k, 1.0))
    for path, leaf in flat.leaves.items():  # loss layers and the like have no arrays
        for k in leaf.arrays:
            out.setdefault((path, k), 1.0)
    return out


def _l2(flat, spec, prefix) -> dict:
    if spec is None:
        return {}
    if isinstance(spec, (int, float)) and not isinstance(spec, bool) and spec >= 0:
        return {
            (path, k): float(spec)
            for path, leaf in flat.leaves.items()
            for k in leaf.arrays
            if not leaf.is_bias(k)
        }
    if isinstance(spec, dict):
        return _match(spec, flat, prefix, "l2_regularization", 0.0)
    raise ValueError(
        "NetTrain: l2_regularization must be a number ≥ 0 (every array but the biases) or a dict "
        f"of layer/array → factor; received {spec!r}."
    )


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
