"""Option values, port types and coders as JSON, and back, for .ngnet files.

JSON's own values (null, true/false, numbers, strings, lists) stand for themselves; floats
must be finite. The few Python values JSON has no form for are written as an object with one
key naming the form, and only these forms are read:

| value                                  | JSON                                           |
|----------------------------------------|------------------------------------------------|
| a tuple ``(2, Automatic)``             | ``{"tuple": [2, {"symbol": "Automatic"}]}``    |
| a dict ``{"StateUpdate": 0.2}``        | ``{"dict": [["StateUpdate", 0.2]]}``           |
| ``Automatic``, ``All``                 | ``{"symbol": "Automatic"}``, ``{"symbol": "All"}`` |
| a span ``slice(2, All)``               | ``{"slice": [2, {"symbol": "All"}, null]}``    |
| ``Restricted("Integer", 5)``           | ``{"Restricted": ["Integer", 5]}``             |
| ``Scaled(0.2)``                        | ``{"Scaled": 0.2}``                            |

A port type is ``{"dims": [...], "kind": ...}``: dims an int, null (not known yet) or
"Varying" (first only), or null for an unknown rank; kind "Real", "Integer",
``{"Restricted": ["Integer", n]}`` or null. An encoder or decoder is
``{"NetEncoder": {"args": [...], "options": {...}}}`` (``NetDecoder`` alike): the arguments
that build it again. Nothing read is evaluated, imported or looked up by name.
"""

from __future__ import annotations

import math
import re

import numpy as np

from ..coders import NetDecoder, NetEncoder
from ..symbols import All, Automatic, Restricted, Scaled
from ..types import INTEGER, REAL, Index, TensorType, Var

MAX_DEPTH = 32  # nesting of one option value
SYMBOLS = {"Automatic": Automatic, "All": All}
CODERS = {"NetEncoder": NetEncoder, "NetDecoder": NetDecoder}


# -- option values ---------------------------------------------------------------------------


def _float(v, where: str) -> float:
    if not math.isfinite(v):
        raise ValueError(f"{where}: {v!r} is not a finite number.")
    return float(v)


_ENCODE = (  # (type, JSON form); bool before int (a bool is an int)
    (bool, lambda v, w: bool(v)),
    ((int, np.integer), lambda v, w: int(v)),
    ((float, np.floating), _float),
    (str, lambda v, w: v),
    (list, lambda v, w: [encode_value(x, w) for x in v]),
    (tuple, lambda v, w: {"tuple": [encode_value(x, w) for x in v]}),
    (dict, lambda v, w: {"dict": [[encode_value(k, w), encode_value(x, w)] for k, x in v.items()]}),
    (slice, lambda v, w: {"slice": [encode_value(x, w) for x in (v.start, v.stop, v.step)]}),
    (Restricted, lambda v, w: {"Restricted": [v.kind, v.n]}),
    (Scaled, lambda v, w: {"Scaled": v.r}),
)


def encode_value(v, where: str):
    """An option value as JSON (see the module's table); refuses any other value."""
    if v is None:
        return None
    if v is Automatic or v is All:
        return {"symbol": repr(v)}
    for kind, form in _ENCODE:
        if isinstance(v, kind):
            return form(v, where)
    raise ValueError(
        f"{where}: a value of type {type(v).__name__} ({v!r:.60}) has no form in a .ngnet file."
    )


def _items(j, where: str, depth: int) -> list:
    if not isinstance(j, list):
        raise ValueError(f"{where}: expected a JSON list; found {type(j).__name__}.")
    return [decode_value(x, where, depth + 1) for x in j]


def _dict(j, where: str, depth: int) -> dict:
    pairs = _items(j, where, depth)
    if not all(isinstance(p, list) and len(p) == 2 for p in pairs):
        raise ValueError(f"{where}: a dict is a list of [key, value] pairs.")
    keys = [k for k, _ in pairs]
    if not all(isinstance(k, (str, int, float, bool, tuple)) or k is None for k in keys):
        raise ValueError(f"{where}: a dict key must be a string, a number or a tuple.")
    try:
        return dict((k, v) for k, v in pairs)
    except TypeError:  # a tuple holding a list
        raise ValueError(f"{where}: a dict key must be hashable.") from None


def _slice(j, where: str, depth: int) -> slice:
    parts = _items(j, where, depth)
    if len(parts) != 3:
        raise ValueError(f"{where}: a slice is [start, stop, step].")
    return slice(*parts)


def _symbol(j, where: str, depth: int):
    if not isinstance(j, str) or j not in SYMBOLS:
        raise ValueError(f"{where}: unknown symbol {j!r:.40}; symbols: {', '.join(SYMBOLS)}.")
    return SYMBOLS[j]


def _restricted(j, where: str, depth: int) -> Restricted:
    if not (isinstance(j, list) and len(j) == 2 and _is_int(j[1])):
        raise ValueError(f'{where}: Restricted is ["Integer", n].')
    return Restricted(j[0], j[1])  # checks "Integer" and n ≥ 1


def _scaled(j, where: str, depth: int) -> Scaled:
    if not isinstance(j, float):
        raise ValueError(f"{where}: Scaled holds a number between 0 and 1.")
    return Scaled(j)  # checks 0 < r < 1


_DECODE = {
    "tuple": lambda j, w, d: tuple(_items(j, w, d)),
    "dict": _dict,
    "symbol": _symbol,
    "slice": _slice,
    "Restricted": _restricted,
    "Scaled": _scaled,
}


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def decode_value(j, where: str, depth: int = 0):
    """A value from its JSON form; anything outside the module's table is a ValueError."""
    if depth > MAX_DEPTH:
        raise ValueError(f"{where}: a value nested more than {MAX_DEPTH} levels deep.")
    if j is None or isinstance(j, (bool, int, str)):
        return j
    if isinstance(j, float):
        return _float(j, where)
    if isinstance(j, list):
        return _items(j, where, depth)
    if isinstance(j, dict) and len(j) == 1:
        ((form, payload),) = j.items()
        if form in _DECODE:
            return _DECODE[form](payload, where, depth)
    shown = list(j) if isinstance(j, dict) else type(j).__name__
    raise ValueError(f"{where}: unknown value form {shown!r:.60}; forms: {', '.join(_DECODE)}.")


# -- port types --------------------------------------------------------------------------------


def encode_kind(kind):
    return {"Restricted": [INTEGER, kind.n]} if isinstance(kind, Index) else kind


def encode_type(t: TensorType) -> dict:
    dims = None if t.dims is None else ["Varying" if isinstance(d, Var) else d for d in t.dims]
    return {"dims": dims, "kind": encode_kind(t.kind)}


def _kind(j, where: str):
    if j is None or j in (REAL, INTEGER):
        return j
    return Index(_restricted(j.get("Restricted") if isinstance(j, dict) else None, where, 0).n)


def _dim(d, i: int, where: str):
    if d == "Varying" and i == 0:
        return Var()
    if d is None or (_is_int(d) and d >= 1):
        return d
    raise ValueError(
        f"{where}: dimension {i + 1} is {d!r:.40}; a dimension is a positive int, null, or "
        '"Varying" (first only).'
    )


def decode_type(j, where: str) -> TensorType:
    """A port type from ``{"dims": …, "kind": …}``."""
    if not isinstance(j, dict) or set(j) != {"dims", "kind"}:
        raise ValueError(f'{where}: a port type is {{"dims": [...], "kind": ...}}.')
    dims = j["dims"]
    if dims is not None and (not isinstance(dims, list) or len(dims) > MAX_DEPTH):
        raise ValueError(f"{where}: dims must be a list of at most {MAX_DEPTH} dimensions or null.")
    dims = None if dims is None else tuple(_dim(d, i, where) for i, d in enumerate(dims))
    return TensorType(dims, _kind(j["kind"], where))


# -- encoders and decoders ---------------------------------------------------------------------


def encode_coder(c, where: str) -> dict:
    args, options = c.arguments()
    return {
        type(c).__name__: {
            "args": [encode_value(a, where) for a in args],
            "options": {k: encode_value(v, where) for k, v in options.items()},
        }
    }


def decode_coder(j, where: str):
    """A NetEncoder or NetDecoder, built by its constructor from the stored arguments."""
    if not (isinstance(j, dict) and len(j) == 1 and next(iter(j)) in CODERS):
        raise ValueError(f'{where}: a coder is {{"NetEncoder": …}} or {{"NetDecoder": …}}.')
    ((name, spec),) = j.items()
    if not (isinstance(spec, dict) and set(spec) == {"args", "options"}):
        raise ValueError(f'{where}: a coder holds "args" and "options".')
    args, options = decode_value(spec["args"], where), spec["options"]
    if not isinstance(args, list) or not isinstance(options, dict):
        raise ValueError(f'{where}: a coder\'s "args" is a list and its "options" an object.')
    options = {k: decode_value(v, where) for k, v in options.items()}
    try:
        return CODERS[name](*args, **options)
    except (TypeError, ValueError, re.error) as e:  # the constructor checks every argument
        raise ValueError(f"{where}: {e}") from None
