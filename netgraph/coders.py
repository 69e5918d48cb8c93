"""NetEncoder and NetDecoder: turn strings, labels and booleans into arrays for a net's input
ports, and a net's output arrays back into labels and probabilities.

An encoder goes on an input port (``input=NetEncoder("Characters")``), a decoder on an output
port (``output=NetDecoder("Class", labels)``), wherever a shape spec goes. Containers take
the coders of the layer ports that become their own ports. Indices count from 0.
"""

from __future__ import annotations

import html
import re

import numpy as np

from .text import closest, html_box, html_table
from .types import REAL, Index, TensorType, Var, describe_shape

# Wolfram's default alphabet: tab, newline and the printable ASCII characters.
DEFAULT_CHARACTERS = "\t\n" + "".join(chr(c) for c in range(32, 127))
TOKEN_PATTERN = r"\w+|[^\w\s]"


def _labels(labels, owner: str) -> list:
    if isinstance(labels, (str, bytes)) or not hasattr(labels, "__iter__"):
        raise TypeError(
            f'{owner}: give the labels as a list, such as ["cat", "dog"]; received {labels!r}.'
        )
    labels = list(labels)
    if len(labels) < 2:
        raise ValueError(f"{owner}: give at least two labels; received {labels!r}.")
    if len(set(labels)) != len(labels):
        dup = next(x for x in labels if labels.count(x) > 1)
        raise ValueError(f"{owner}: the label {dup!r} appears more than once.")
    return labels


def _form(form, owner: str) -> str:
    if form not in ("Index", "UnitVector"):
        raise ValueError(
            f'{owner}: the output form must be "Index" or "UnitVector"; received {form!r}.'
        )
    return form


def coder_html(coder, port_role: str, labels: list, options: dict) -> str:
    """A coder's summary box: its kind, the array port it gives or takes, its labels or
    characters (the first 20) and its options."""
    shown = ", ".join(html.escape(repr(x)) for x in labels[:20])
    more = f" … ({len(labels)} in all)" if len(labels) > 20 else ""
    rows = [
        ("kind", html.escape(coder.kind)),
        (port_role, html.escape(describe_shape(coder.port_type()))),
    ]
    if labels:
        rows.append(("labels" if coder.kind != "Characters" else "characters", shown + more))
    rows += [(html.escape(k), html.escape(repr(v))) for k, v in options.items()]
    return html_box(type(coder).__name__, html_table(rows))


class NetEncoder:
    """Data → arrays for an input port.

    - ``NetEncoder("Characters")``: a string → a sequence of character codes, over Wolfram's
      default alphabet (tab, newline and the printable ASCII characters, 97 in all);
      ``NetEncoder("Characters", "0123456789+")`` over the given characters;
      ``NetEncoder("Characters", chars, "UnitVector")`` one-hot vectors instead of indices.
    - ``NetEncoder("Tokens", vocabulary)``: a string → a sequence of word codes; words are
      found with ``split_pattern`` (words and punctuation) and matched ignoring case unless
      ``ignore_case=False``; a word not in the vocabulary gets the extra code
      ``len(vocabulary)``, as in Wolfram.
    - ``NetEncoder("Class", labels)``: a label → its index (or ``"UnitVector"``).
    - ``NetEncoder("Boolean")``: True/False → 1.0/0.0.

    A character or label the encoder does not know is refused with the valid ones named.

    >>> enc = NetEncoder("Characters", "ab+")
    >>> enc("ab+a").tolist()
    [0, 1, 2, 0]
    >>> enc.port_type()
    (Varying, Restricted('Integer', 3))
    """

    def __init__(self, kind: str, *args, **params):
        owner = f'NetEncoder("{kind}")'
        self.kind = kind
        setup = {
            "Characters": self._characters,
            "Tokens": self._tokens,
            "Class": self._class,
            "Boolean": self._boolean,
        }
        if kind not in setup:
            raise ValueError(
                f"NetEncoder: unknown kind {kind!r}{closest(kind, setup)}. Kinds: {', '.join(setup)}."
            )
        params = dict(params)
        setup[kind](args, params, owner)
        if params:
            raise TypeError(f'{owner}: unknown parameter "{next(iter(params))}".')
        self.codes = {
            self._fold(x) if isinstance(x, str) else x: i for i, x in enumerate(self.items)
        }

    def _fold(self, s: str) -> str:
        """A string as the encoder matches it (lower case when it ignores case)."""
        return s.lower() if getattr(self, "ignore_case", False) else s

    def _characters(self, args, params: dict, owner: str) -> None:
        table = args[0] if args else None
        self.form = _form(args[1] if len(args) > 1 else params.pop("form", "Index"), owner)
        chars = DEFAULT_CHARACTERS if table is None else table
        if isinstance(chars, (list, tuple)):
            chars = "".join(chars)
        if not isinstance(chars, str) or not chars:
            raise TypeError(
                f"{owner}: the characters must be a non-empty string; received {table!r}."
            )
        if len(set(chars)) != len(chars):
            raise ValueError(f"{owner}: the characters {chars!r} repeat a character.")
        self.ignore_case = bool(params.pop("ignore_case", False))
        self.items = list(chars)

    def _tokens(self, args, params: dict, owner: str) -> None:
        if not args:
            raise ValueError(f"{owner}: give the vocabulary, a list of words.")
        self.items = _labels(args[0], owner)
        self.form = "Index"
        self.ignore_case = bool(params.pop("ignore_case", True))
        self.pattern = re.compile(params.pop("split_pattern", TOKEN_PATTERN))

    def _class(self, args, params: dict, owner: str) -> None:
        if not args:
            raise ValueError(f'{owner}: give the labels, such as ["cat", "dog"].')
        self.items = _labels(args[0], owner)
        self.form = _form(args[1] if len(args) > 1 else params.pop("form", "Index"), owner)

    def _boolean(self, args, params: dict, owner: str) -> None:
        self.items, self.form = [False, True], "Boolean"

    def arguments(self) -> tuple[tuple, dict]:
        """``(args, options)`` such that ``NetEncoder(*args, **options)`` is this encoder again."""
        if self.kind == "Characters":
            args = ("Characters", "".join(self.items), self.form)
            return args, {"ignore_case": self.ignore_case}
        if self.kind == "Tokens":
            options = {"ignore_case": self.ignore_case, "split_pattern": self.pattern.pattern}
            return ("Tokens", list(self.items)), options
        if self.kind == "Class":
            return ("Class", list(self.items), self.form), {}
        return ("Boolean",), {}

    @property
    def size(self) -> int:
        """The number of codes (Tokens: the vocabulary and one code for unknown words)."""
        return len(self.items) + (self.kind == "Tokens")

    def port_type(self) -> TensorType:
        n = self.size
        if self.kind in ("Characters", "Tokens"):
            if self.form == "UnitVector":
                return TensorType((Var(), n), REAL)
            return TensorType((Var(),), Index(n))
        if self.kind == "Class":
            return TensorType((n,), REAL) if self.form == "UnitVector" else TensorType((), Index(n))
        return TensorType((), REAL)

    def is_one(self, x) -> bool:
        """Is ``x`` one example (not a batch)?"""
        if self.kind in ("Characters", "Tokens"):
            return isinstance(x, str)
        return not isinstance(x, (list, tuple, np.ndarray))

    def encode(self, x, port: str = "Input") -> np.ndarray:
        """One example as an array."""
        where = f'port "{port}" ({self!r})'
        if self.kind in ("Characters", "Tokens"):
            if not isinstance(x, str):
                raise TypeError(f"{where} expects a string; received {type(x).__name__} {x!r:.40}.")
            if self.kind == "Characters":
                parts = list(x)
                bad = [c for c in parts if self._fold(c) not in self.codes]
                if bad:
                    raise ValueError(
                        f"{where}: the character {bad[0]!r} in {x!r:.40} is not among the encoder's "
                        f"characters {''.join(self.items)!r:.120}."
                    )
                idx = [self.codes[self._fold(c)] for c in parts]
            else:
                unknown = len(self.items)
                idx = [self.codes.get(self._fold(w), unknown) for w in self.pattern.findall(x)]
            if not idx:
                raise ValueError(f"{where}: the string {x!r} encodes to an empty sequence.")
            a = np.array(idx, np.int64)
            return np.eye(self.size, dtype=np.float32)[a] if self.form == "UnitVector" else a
        if self.kind == "Boolean":
            if not isinstance(x, (bool, np.bool_)):
                raise TypeError(f"{where} expects True or False; received {x!r:.40}.")
            return np.array(float(x), np.float32)
        try:
            i = self.codes[x]
        except (KeyError, TypeError):
            raise ValueError(
                f"{where}: unknown label {x!r:.40}{closest(x, self.items) if isinstance(x, str) else ''}. "
                f"Labels: {', '.join(map(repr, self.items[:20]))}{' …' if len(self.items) > 20 else ''}."
            ) from None
        if self.form == "UnitVector":
            return np.eye(self.size, dtype=np.float32)[i]
        return np.array(i, np.int64)

    def encode_data(self, x, port: str = "Input"):
        """One example or a batch (a list or array of examples), in the same form."""
        if self.is_one(x):
            return self.encode(x, port)
        if isinstance(x, np.ndarray):
            x = x.tolist()
        if not isinstance(x, (list, tuple)):
            raise TypeError(
                f'port "{port}" ({self!r}) expects one example or a list of them; received {type(x).__name__}.'
            )
        return [self.encode(e, port) for e in x]

    def __call__(self, x):
        return self.encode_data(x)

    def __repr__(self) -> str:
        if self.kind == "Characters":
            shown = (
                "default"
                if "".join(self.items) == DEFAULT_CHARACTERS
                else repr("".join(self.items))
            )
            return f'NetEncoder("Characters", {shown}, {self.size} codes, "{self.form}")'
        if self.kind == "Boolean":
            return 'NetEncoder("Boolean")'
        return f'NetEncoder("{self.kind}", {len(self.items)} {"words" if self.kind == "Tokens" else "labels"})'

    def _repr_html_(self) -> str:
        _, options = self.arguments()
        options = {"form": self.form, **options} if self.kind != "Boolean" else options
        return coder_html(self, "gives", self.items if self.kind != "Boolean" else [], options)


CLASS_PROPERTIES = (
    "Decision",
    "Probabilities",
    "TopProbabilities",
    "Probability",
    "Entropy",
    "TopDecisions",
)
BOOLEAN_PROPERTIES = ("Decision", "Probability", "Entropy")


class NetDecoder:
    """Output arrays → labels and probabilities.

    - ``NetDecoder("Class", labels)``: a probability vector → the most likely label
      ("Decision"). Properties: "Probabilities" (dict label → p), "TopProbabilities"
      (the (label, p) pairs with p > 0.1, most likely first, or ``("TopProbabilities", k)``
      for the top k), "Probability" (``("Probability", label)``), "Entropy" (nats),
      "TopDecisions" (``("TopDecisions", k)``, default 3). ``input_depth=2`` decodes a
      sequence of vectors, one label per step.
    - ``NetDecoder("Boolean")``: a probability p of True → p > 0.5. Properties: "Decision",
      "Probability", "Entropy".

    ``net(x)`` gives the decision, ``net(x, "Probabilities")`` another property, and
    ``net(x, NetPort("Output"))`` the raw array.

    >>> dec = NetDecoder("Class", ["cat", "dog"])
    >>> dec([0.25, 0.75])
    'dog'
    >>> dec([0.25, 0.75], "Probabilities")
    {'cat': 0.25, 'dog': 0.75}
    >>> NetDecoder("Class", ["cat", "dog"], input_depth=2)([[0.9, 0.1], [0.2, 0.8]])
    ['cat', 'dog']
    """

    def __init__(self, kind: str, *args, input_depth: int = 1):
        owner = f'NetDecoder("{kind}")'
        self.kind = kind
        if kind == "Class":
            if not args:
                raise ValueError(f'{owner}: give the labels, such as ["cat", "dog"].')
            self.labels = _labels(args[0], owner)
            self.properties = CLASS_PROPERTIES
        elif kind == "Boolean":
            self.labels = [False, True]
            self.properties = BOOLEAN_PROPERTIES
        else:
            kinds = ("Class", "Boolean")
            raise ValueError(
                f"NetDecoder: unknown kind {kind!r}{closest(kind, kinds)}. Kinds: {', '.join(kinds)}."
            )
        if input_depth not in (1, 2):
            raise ValueError(
                f"{owner}: input_depth must be 1 or 2 (a sequence); received {input_depth!r}."
            )
        self.input_depth = input_depth
        self.index = {x: i for i, x in enumerate(self.labels)}

    def arguments(self) -> tuple[tuple, dict]:
        """``(args, options)`` such that ``NetDecoder(*args, **options)`` is this decoder again."""
        args = ("Class", list(self.labels)) if self.kind == "Class" else ("Boolean",)
        return args, {"input_depth": self.input_depth}

    def port_type(self) -> TensorType:
        if self.kind == "Boolean":
            return TensorType((Var(),) if self.input_depth == 2 else (), REAL)
        n = len(self.labels)
        return TensorType(((Var(),) if self.input_depth == 2 else ()) + (n,), REAL)

    def target(self, label, port: str = "Output"):
        """A training target: a label → its class index (Class), True/False → 1.0/0.0; with
        ``input_depth=2`` a list of labels, one per step → an array of them."""
        if self.input_depth == 1:
            return self._target_step(label, port)
        if not isinstance(label, (list, tuple, np.ndarray)):
            raise ValueError(
                f'port "{port}" ({self!r}): a target is a list of labels, one per step; '
                f"received {label!r:.40}."
            )
        return np.array([self._target_step(x, port) for x in label])

    def _target_step(self, label, port: str) -> np.ndarray:
        if self.kind == "Boolean":
            if not isinstance(label, (bool, np.bool_)):
                raise ValueError(
                    f'port "{port}" ({self!r}): targets are True or False; received {label!r:.40}.'
                )
            return np.array(float(label), np.float32)
        try:
            return np.array(self.index[label], np.int64)
        except (KeyError, TypeError):
            raise ValueError(
                f'port "{port}" ({self!r}): unknown label {label!r:.40}'
                f"{closest(label, self.labels) if isinstance(label, str) else ''}. "
                f"Labels: {', '.join(map(repr, self.labels[:20]))}{' …' if len(self.labels) > 20 else ''}."
            ) from None

    def check_property(self, prop) -> tuple:
        """``"Probabilities"`` or ``("TopDecisions", 2)`` → (name, argument)."""
        name, arg = (
            (prop[0], prop[1]) if isinstance(prop, tuple) and len(prop) == 2 else (prop, None)
        )
        if name not in self.properties:
            raise ValueError(
                f"{self!r} has no property {name!r}{closest(name, self.properties)}. "
                f"Properties: {', '.join(self.properties)}."
            )
        if name == "Probability" and self.kind == "Class":
            if arg not in self.index:
                raise ValueError(
                    f'{self!r}: give the label, as ("Probability", label); received {prop!r}. '
                    f"Labels: {', '.join(map(repr, self.labels[:20]))}."
                )
        takes = ("Probability", "TopProbabilities", "TopDecisions") if self.kind == "Class" else ()
        if arg is not None and name not in takes:
            raise ValueError(
                f'{self!r}: the property "{name}" takes no argument; received {prop!r}. '
                f'Ask for "{name}" alone.'
            )
        if name in ("TopProbabilities", "TopDecisions") and arg is not None:
            if isinstance(arg, bool) or not isinstance(arg, int) or arg < 1:
                raise ValueError(
                    f"{self!r}: ({name!r}, k) needs a positive int k; received {arg!r}."
                )
        return name, arg

    def decode_one(self, p: np.ndarray, prop=("Decision", None)):
        """One example's output (probabilities; with ``input_depth=2`` one vector per step)
        → the property (with ``input_depth=2`` a list of them, one per step)."""
        if self.input_depth == 2:
            return [self._decode_step(q, prop) for q in p]
        return self._decode_step(p, prop)

    def _decode_step(self, p, prop) -> object:
        """One probability vector (Class) or probability (Boolean) → the property."""
        name, arg = prop
        p = np.asarray(p, np.float64)
        if self.kind == "Boolean":
            return _BOOLEAN_PROPERTIES[name](float(p))
        return _CLASS_PROPERTIES[name](self, p, arg)

    def decode(self, y, single: bool, prop=("Decision", None)):
        """A net's output (one example, or a batch array or list) → the property, per example."""
        if single:
            return self.decode_one(y, prop)
        return [self.decode_one(e, prop) for e in y]

    def __call__(self, y, prop="Decision"):
        y = np.asarray(y)
        depth = self.port_type().rank
        return self.decode(y, y.ndim == depth, self.check_property(prop))

    def __repr__(self) -> str:
        depth = ", input_depth=2" if self.input_depth == 2 else ""
        if self.kind == "Boolean":
            return f'NetDecoder("Boolean"{depth})'
        return f'NetDecoder("Class", {len(self.labels)} labels{depth})'

    def _repr_html_(self) -> str:
        labels = self.labels if self.kind == "Class" else []
        return coder_html(self, "takes", labels, {"input_depth": self.input_depth})


def _entropy(p) -> float:
    q = p[p > 0]
    return float(-np.sum(q * np.log(q)))


def _top(p, arg) -> list:
    """Indices of the top classes: ``arg`` of them, else those above 0.1 (at least one)."""
    order = np.argsort(-p, kind="stable")
    return list(order[:arg]) if arg else [i for i in order if p[i] > 0.1] or list(order[:1])


# A decoder's properties of one example's output p (probabilities), with the argument of
# ("TopProbabilities", k) and the like.
_CLASS_PROPERTIES = {
    "Decision": lambda d, p, arg: d.labels[int(np.argmax(p))],
    "Probabilities": lambda d, p, arg: {x: float(v) for x, v in zip(d.labels, p)},
    "Probability": lambda d, p, arg: float(p[d.index[arg]]),
    "Entropy": lambda d, p, arg: _entropy(p),
    "TopDecisions": lambda d, p, arg: [d.labels[i] for i in _top(p, arg or 3)],
    "TopProbabilities": lambda d, p, arg: [(d.labels[i], float(p[i])) for i in _top(p, arg)],
}
_BOOLEAN_PROPERTIES = {
    "Decision": lambda q: q > 0.5,
    "Probability": lambda q: q,
    "Entropy": lambda q: _entropy(np.array([q, 1 - q])),
}

__all__ = ["NetDecoder", "NetEncoder"]
