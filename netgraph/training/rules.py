"""Per-array training rules: learning-rate multipliers and L2 factors, given by layer name,
layer path, or path + array name (the most specific key wins; ``All`` sets the default)."""

from __future__ import annotations

from ..symbols import All
from ..text import closest


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


def multipliers(flat, spec, prefix) -> dict:
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


def l2_factors(flat, spec, prefix) -> dict:
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
