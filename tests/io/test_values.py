"""Option values, port types and coders in JSON: each form of the table round-trips, and
anything else is refused, at Export and at Import."""

import json

import numpy as np
import pytest

from netgraph import All, Automatic, NetDecoder, NetEncoder, Restricted, Scaled
from netgraph.io.values import (
    decode_coder,
    decode_type,
    decode_value,
    encode_coder,
    encode_type,
    encode_value,
)
from netgraph.types import parse_type


def through_json(v):
    return decode_value(json.loads(json.dumps(encode_value(v, "test"))), "test")


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        3,
        -2.5,
        "Tanh",
        [1, 2, [3]],
        (2, 3),
        (),
        {"VariationalInput": 0.1, "StateUpdate": 0.2},
        {1: "a", (1, 2): None},
        slice(2, All),
        (3, Automatic),
    ],
)
def test_values_round_trip(value):
    assert through_json(value) == value
    assert type(through_json(value)) is type(value)


def test_symbols_and_wolfram_values_keep_their_identity():
    assert through_json(Automatic) is Automatic and through_json(All) is All
    assert through_json(Restricted("Integer", 5)) == Restricted("Integer", 5)
    assert through_json(Scaled(0.2)).r == 0.2
    assert through_json(np.float32(0.5)) == 0.5 and through_json(np.int64(7)) == 7
    assert encode_value((1, [2]), "x") == {"tuple": [1, [2]]}


@pytest.mark.parametrize("value", [float("nan"), float("inf"), object(), np.ones(2), {1, 2}])
def test_values_without_a_form_are_refused_at_export(value):
    with pytest.raises(ValueError, match="option x"):
        encode_value(value, "option x")


@pytest.mark.parametrize(
    "j, match",
    [
        ({"tuple": [1], "dict": []}, "unknown value form"),
        ({"eval": "1+1"}, "unknown value form"),
        ({"symbol": "os"}, "unknown symbol"),
        ({"dict": [[[1], 2]]}, "dict key"),
        ({"dict": [[1, 2, 3]]}, r"\[key, value\] pairs"),
        ({"slice": [1, 2]}, r"\[start, stop, step\]"),
        ({"Restricted": ["Real", 3]}, '"Integer"'),
        ({"Scaled": 2.0}, "between 0 and 1"),
        ({"Scaled": "0.5"}, "between 0 and 1"),
        (1e400, "not a finite number"),
    ],
)
def test_malformed_values_are_refused_at_import(j, match):
    with pytest.raises(ValueError, match=match):
        decode_value(j, "option x")


@pytest.mark.parametrize(
    "spec",
    [None, 3, (2, 3), ("Varying", 4), "Real", "Integer", ("Varying", Restricted("Integer", 5))],
)
def test_port_types_round_trip(spec):
    t = parse_type(spec)
    back = decode_type(json.loads(json.dumps(encode_type(t))), "port")
    assert repr(back) == repr(t) and back.kind == t.kind


@pytest.mark.parametrize(
    "coder",
    [
        NetEncoder("Characters"),
        NetEncoder("Characters", "ab+", "UnitVector", ignore_case=True),
        NetEncoder("Tokens", ["the", "cat"], ignore_case=False, split_pattern=r"\S+"),
        NetEncoder("Class", ["x", 2, (1, 2)], "UnitVector"),
        NetEncoder("Boolean"),
        NetDecoder("Class", ["cat", "dog"], input_depth=2),
        NetDecoder("Boolean"),
    ],
)
def test_coders_round_trip(coder):
    j = encode_coder(coder, "port")
    back = decode_coder(json.loads(json.dumps(j)), "port")
    assert type(back) is type(coder) and repr(back) == repr(coder)
    assert encode_coder(back, "port") == j


def test_malformed_coders_are_refused():
    for j, match in [
        ({"NetEncoder": {"args": ["Tokens", ["a"]], "options": {}}}, "at least two"),
        ({"NetEncoder": {"args": ["Tokens", ["a", "b"]], "options": {"x": 1}}}, "unknown"),
        (
            {"NetEncoder": {"args": ["Tokens", ["a", "b"]], "options": {"split_pattern": "("}}},
            "unterminated",
        ),
        ({"NetEncoder": {"args": [["Class"]], "options": {}}}, "unknown kind|unhashable"),
        ({"Pickle": {}}, "a coder is"),
        ({"NetDecoder": {"args": "Class"}}, '"args" and "options"'),
    ]:
        with pytest.raises(ValueError, match=match):
            decode_coder(j, 'port "Output"')
