"""Damaged and hostile .ngnet files: each is refused with a ValueError that names the file
and says what is wrong, before any large read, and nothing in a file is ever run. A fuzz test
mutates valid files of several nets: Import gives a net or a ValueError, nothing else."""

from __future__ import annotations

import copy
import json
import os
import pickle
import struct
import tempfile
import time

import numpy as np
import numpy.lib.format
import pytest
import safetensors.numpy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netgraph import (
    EmbeddingLayer,
    Export,
    GatedRecurrentLayer,
    Import,
    LinearLayer,
    LongShortTermMemoryLayer,
    NetChain,
    NetDecoder,
    NetEncoder,
    NetGraph,
    NetInitialize,
    NetPort,
    SequenceLastLayer,
    SoftmaxLayer,
    ThreadingLayer,
    TotalLayer,
)
from netgraph.io.tensorfile import MAX_HEADER
from netgraph.net import Net

# -- building files by hand ---------------------------------------------------------------------


def split(raw: bytes) -> tuple[dict, bytes]:
    """A safetensors file's header (parsed) and data."""
    (n,) = struct.unpack("<Q", raw[:8])
    return json.loads(raw[8 : 8 + n]), raw[8 + n :]


def join(header: dict, data: bytes) -> bytes:
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + data


def with_arch(raw: bytes, edit) -> bytes:
    """The file with its architecture JSON changed by ``edit(arch)`` (in place)."""
    header, data = split(raw)
    arch = json.loads(header["__metadata__"]["net"])
    edit(arch)
    header["__metadata__"]["net"] = json.dumps(arch)
    return join(header, data)


def with_meta(raw: bytes, **changes) -> bytes:
    header, data = split(raw)
    header["__metadata__"].update(changes)
    return join(header, data)


def classifier():
    net = NetChain(
        [LongShortTermMemoryLayer(3), SequenceLastLayer(), LinearLayer(2), SoftmaxLayer()],
        input=("Varying", 2),
        output=NetDecoder("Class", ["no", "yes"]),
    )
    return NetInitialize(net, random_seed=0)


@pytest.fixture
def good(tmp_path) -> bytes:
    return open(Export(tmp_path / "good.ngnet", classifier()), "rb").read()


def refused(tmp_path, raw: bytes, match: str):
    """Import of ``raw`` raises a ValueError that names the file and matches ``match``."""
    path = tmp_path / "bad.ngnet"
    path.write_bytes(raw)
    with pytest.raises(ValueError, match=match) as e:
        Import(path)
    assert repr(str(path)) in str(e.value)
    return str(e.value)


# -- the safetensors layer ----------------------------------------------------------------------


def test_truncated_files(tmp_path, good):
    refused(tmp_path, b"", r"too short \(0 bytes\)")
    refused(tmp_path, good[:5], "too short")
    refused(tmp_path, good[:100], r"truncated .* declares a header of \d+ bytes")
    n = struct.unpack("<Q", good[:8])[0]
    refused(tmp_path, good[: 8 + n + 10], r"past its end: the data holds 10 bytes")
    refused(tmp_path, good[:-1], "past its end")
    refused(tmp_path, good + b"\0", r"the tensors end at byte \d+ of the data, which holds")


def test_a_header_claiming_too_much_is_refused_before_reading(tmp_path):
    huge = struct.pack("<Q", 2**60) + b"{}"
    refused(tmp_path, huge, r"declares a header of 1152921504606846976 bytes")
    refused(tmp_path, struct.pack("<Q", MAX_HEADER + 1) + b" " * 64, "at most")


def test_a_huge_header_within_the_file_is_refused_unread(tmp_path):
    path = tmp_path / "big.ngnet"
    with open(path, "wb") as f:  # a sparse 40 MB file whose header claims 32 MB
        f.write(struct.pack("<Q", 32 * 2**20))
        f.truncate(40 * 2**20)
    with pytest.raises(ValueError, match="at most 16777216"):
        Import(path)


def test_shapes_and_offsets_are_checked_against_the_file(tmp_path, good):
    header, data = split(good)
    key = "3/Weights"

    def entry(**e):
        h = json.loads(json.dumps(header))
        h[key].update(e)
        return join(h, data)

    refused(tmp_path, entry(shape=[100000, 100000]), r'"3/Weights" of shape \(100000, 100000\)')
    refused(tmp_path, entry(data_offsets=[0, 10**12]), "data_offsets")
    start, end = header[key]["data_offsets"]
    refused(tmp_path, entry(data_offsets=[start + 4, end + 4]), "past its end")
    refused(tmp_path, entry(data_offsets=[start - 4, end - 4]), "without gap or overlap")
    refused(tmp_path, entry(shape=[-2, 3]), "lists of ints")
    refused(tmp_path, entry(shape=[1] * 40), "lists of ints")
    refused(tmp_path, entry(dtype="I32"), "has dtype 'I32'; a .ngnet file holds F32, F64, U8")
    refused(tmp_path, entry(dtype="F64"), "needs 48 bytes")
    refused(tmp_path, entry(extra=1), "holds exactly")
    two = json.loads(json.dumps(header))
    two["copy"] = dict(header[key])  # two tensors over the same bytes
    refused(tmp_path, join(two, data), "without gap or overlap")


def test_headers_that_are_not_json_objects(tmp_path, good):
    _, data = split(good)
    for text, match in [
        (b"\xff\xfe{", "damaged"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"a": 1,}', "not valid JSON"),
        (b"[" * 100000 + b"]" * 100000, "nested too deeply"),
        (b'{"__metadata__": {"format": 7}}', "map names to strings"),
    ]:
        refused(tmp_path, struct.pack("<Q", len(text)) + text + data, match)
    dup = b'{"a": {"dtype": "U8", "shape": [0], "data_offsets": [0, 0]}, "a": {}}'
    refused(tmp_path, struct.pack("<Q", len(dup)) + dup, 'names "a" twice')


def test_a_safetensors_file_of_another_program(tmp_path):
    safetensors.numpy.save_file({"weight": np.ones((2, 2), np.float32)}, tmp_path / "t.ngnet")
    with pytest.raises(ValueError, match="a safetensors file but not a .ngnet file"):
        Import(tmp_path / "t.ngnet")


def test_format_versions(tmp_path, good):
    refused(tmp_path, with_meta(good, version="2"), "newer netgraph .*version 2.* reads version 1")
    refused(tmp_path, with_meta(good, version="1.0"), "unreadable format version")
    refused(tmp_path, with_meta(good, version="0"), "unreadable format version")
    refused(tmp_path, with_meta(good, net="{" * 50000), "nested too deeply|not valid JSON")
    header, data = split(good)
    del header["__metadata__"]["net"]
    refused(tmp_path, join(header, data), 'no "net"')


# -- the architecture ---------------------------------------------------------------------------


def layer(arch, i):
    return arch["layers"][i][1]


@pytest.mark.parametrize(
    "edit, match",
    [
        (lambda a: layer(a, 2).update(type="os.system"), r'unknown layer type "os.system"'),
        (lambda a: layer(a, 2).update(type="Layer"), 'unknown layer type "Layer"'),
        (lambda a: layer(a, 2).update(type=["LinearLayer"]), 'a JSON object with a "type"'),
        (lambda a: layer(a, 2)["options"].update(bias=1), r'unknown option "bias".*"biases"'),
        (lambda a: layer(a, 2)["options"].update(n=-3), "output size must be a positive int"),
        (lambda a: layer(a, 2)["options"].update(n={"eval": "1"}), "unknown value form"),
        (lambda a: layer(a, 2)["options"].update(input=3), 'unknown option "input"'),
        (lambda a: layer(a, 2)["options"].update(arrays={}), 'unknown option "arrays"'),
        (lambda a: layer(a, 2)["options"].update(weights=[[1.0] * 3] * 2), "options"),
        (lambda a: layer(a, 2)["options"].update(n={"tuple": [3]}), "output shape is"),
        (lambda a: layer(a, 0)["options"].update(n=1.5), "positive int"),
        (lambda a: layer(a, 0)["options"].update(dropout={"dict": [["x", 0.1]]}), "dropout"),
        (lambda a: layer(a, 0)["options"].update(gate_activation="Exp"), "gate_activation"),
        (lambda a: layer(a, 2)["ports"]["Input"].update(dims=[4]), "3/Weights|Input"),
        (lambda a: layer(a, 2)["ports"]["Input"].update(dims=[2, "Varying"]), "Varying"),
        (lambda a: layer(a, 2)["ports"]["Input"].update(dims=[0]), "positive int"),
        (lambda a: layer(a, 2)["ports"]["Input"].update(kind="Complex"), "Restricted"),
        (lambda a: layer(a, 2)["ports"].update(Extra={"dims": [1], "kind": None}), "ports"),
        (lambda a: layer(a, 2)["arrays"].update(Weights="1/InputGateBiases"), "shape"),
        (lambda a: layer(a, 2)["arrays"].update(Weights="nothing"), "no tensor 'nothing'"),
        (lambda a: layer(a, 2)["arrays"].update(Kernel="3/Weights"), 'unknown array "Kernel"'),
        (lambda a: layer(a, 2).pop("coders"), "has the fields"),
        (lambda a: a["layers"].append(a["layers"][0]), 'name "1" appears twice'),
        (lambda a: a["layers"].clear(), "non-empty list"),
        (lambda a: a.update(type="NetGraph", edges=[[["9", "Output"], [None, "x"]]]), '"9"'),
        (
            lambda a: a["coders"].update(
                Output={"NetDecoder": {"args": ["Class", ["a"]], "options": {}}}
            ),
            "two labels",
        ),
        (lambda a: a["coders"].update(Output={"pickle": "x"}), "a coder is"),
        (lambda a: a["ports"]["Output"].update(dims=[3]), "Output"),
    ],
)
def test_architectures_that_netgraph_does_not_build(tmp_path, good, edit, match):
    refused(tmp_path, with_arch(good, edit), match)


def test_json_nested_absurdly_deep_in_an_option(tmp_path, good):
    deep = {"tuple": [1]}
    for _ in range(100):
        deep = {"tuple": [deep]}
    refused(tmp_path, with_arch(good, lambda a: layer(a, 2)["options"].update(n=deep)), "nested")
    chain = {"type": "NetChain"}
    node = chain
    for _ in range(200):  # containers inside containers
        node.update(layers=[["x", {"type": "NetChain"}]], edges=[], ports={}, coders={})
        node = node["layers"][0][1]
    refused(tmp_path, with_arch(good, lambda a: a.update(chain)), "nested more than 64")


def test_counts_in_a_file_are_checked_before_use(tmp_path):
    raw = open(Export(tmp_path / "t.ngnet", TotalLayer(inputs=[3, 3])), "rb").read()
    for n in (10**12, 3, 0, True, "2"):
        edit = lambda a, n=n: a["options"].update(inputs=n)  # noqa: E731
        refused(tmp_path, with_arch(raw, edit), 'option "inputs" must count the "InputN" ports')


def test_arrays_of_the_wrong_dtype_or_with_nan(tmp_path, good):
    header, data = split(good)
    start, end = header["3/Biases"]["data_offsets"]
    nan = data[:start] + np.full(2, np.nan, np.float32).tobytes() + data[end:]
    refused(tmp_path, join(header, nan), r'layer "3" \(LinearLayer\).*NaN')
    header["3/Biases"].update(dtype="U8", shape=[8])
    refused(tmp_path, join(header, data), "dtype U8; arrays are F32 or F64")


# -- nothing in a file is run -------------------------------------------------------------------

MARKER = os.path.join(tempfile.gettempdir(), "netgraph-hostile-file-marker")


class Payload:
    """Unpickling this runs code (it creates the marker file)."""

    def __reduce__(self):
        return (open, (MARKER, "w"))


@pytest.fixture
def marker():
    if os.path.exists(MARKER):
        os.remove(MARKER)
    yield MARKER
    assert not os.path.exists(MARKER), "a file's content was executed"


EXPRESSIONS = [
    f"__import__('os').system('touch {MARKER}')",
    f"open({MARKER!r}, 'w')",
    "os.system",
    "netgraph.io.tensorfile.write",
    "builtins.eval",
]


@pytest.mark.parametrize("text", EXPRESSIONS)
def test_expressions_in_a_file_are_data(tmp_path, good, marker, text):
    refused(tmp_path, with_arch(good, lambda a: layer(a, 2).update(type=text)), "unknown layer")
    refused(
        tmp_path,
        with_arch(good, lambda a: layer(a, 1)["options"].update({text: 1})),
        "unknown option",
    )
    refused(
        tmp_path,
        with_arch(good, lambda a: layer(a, 3).update(options={"function": text})),
        "unknown option",
    )
    refused(tmp_path, with_arch(good, lambda a: layer(a, 0)["options"].update(n=text)), "int")
    refused(
        tmp_path,
        with_arch(
            good,
            lambda a: a["coders"]["Output"].update(
                {"NetDecoder": {"args": [text, ["a", "b"]], "options": {}}}
            ),
        ),
        "unknown kind",
    )
    refused(
        tmp_path,
        with_arch(good, lambda a: layer(a, 0)["options"].update(n={"symbol": text})),
        "unknown symbol",
    )


def test_a_pickle_payload_is_never_unpickled(tmp_path, good, marker):
    payload = pickle.dumps(Payload())
    header, data = split(good)
    # as a tensor's bytes
    start, end = header["3/Weights"]["data_offsets"]
    forged = data[:start] + payload[: end - start].ljust(end - start, b"\0") + data[end:]
    path = tmp_path / "p.ngnet"
    path.write_bytes(join(header, forged))
    try:
        assert isinstance(Import(path), Net)  # some numbers, or NaN: never code
    except ValueError as e:
        assert "NaN" in str(e)
    # as an extra tensor, in the metadata and as the architecture
    extra = json.loads(json.dumps(header))
    extra["payload"] = {
        "dtype": "U8",
        "shape": [len(payload)],
        "data_offsets": [len(data), len(data) + len(payload)],
    }
    extra["__metadata__"]["pickle"] = payload.decode("latin-1")
    path.write_bytes(join(extra, data + payload))
    assert Import(path) == classifier()
    refused(tmp_path, with_meta(good, net=payload.decode("latin-1")), "not valid JSON")
    # an .npy file holding a pickle, as np.load(allow_pickle=True) would run it
    with open(tmp_path / "p.npy", "wb") as f:
        numpy.lib.format.write_array(f, np.array([Payload()], dtype=object), allow_pickle=True)
    refused(tmp_path, (tmp_path / "p.npy").read_bytes(), "declares a header")


# -- fuzzing ------------------------------------------------------------------------------------


def nets() -> list:
    """Several nets whose files are mutated: recurrent layers, coders, a graph, variadic
    layers, an uninitialized net."""
    tokens = NetChain(
        [EmbeddingLayer(3), GatedRecurrentLayer(2), SequenceLastLayer(), LinearLayer(2)],
        input=NetEncoder("Tokens", ["a", "b", "c"]),
    )
    graph = NetGraph(
        {"a": LinearLayer(3), "t": ThreadingLayer("Times"), "l": LongShortTermMemoryLayer(2)},
        [(["a", "a"], "t"), (NetPort("seq"), "l"), (NetPort("l", "State"), NetPort("S"))],
        input=2,
        seq=("Varying", 3),
    )
    return [
        classifier(),
        NetInitialize(tokens, random_seed=0),
        NetInitialize(graph, random_seed=0),
        NetChain([LinearLayer(4), SoftmaxLayer()]),
    ]


def _files() -> list[bytes]:
    with tempfile.TemporaryDirectory() as d:
        return [
            open(Export(os.path.join(d, f"{i}.ngnet"), n), "rb").read()
            for i, n in enumerate(nets())
        ]


FILES = _files()


def loads_or_refuses(raw: bytes) -> None:
    """Import gives a net or a ValueError naming the file, quickly; nothing else."""
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "fuzz.ngnet")
        with open(path, "wb") as f:
            f.write(raw)
        start = time.perf_counter()
        try:
            assert isinstance(Import(path), Net)
        except ValueError as e:
            assert repr(path) in str(e), str(e)
        assert time.perf_counter() - start < 10


FUZZ = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)


@FUZZ
@given(st.integers(0, len(FILES) - 1), st.lists(st.integers(0, 10**9), min_size=1, max_size=8))
def test_fuzz_bit_flips(i, positions):
    raw = bytearray(FILES[i])
    for p in positions:
        raw[(p // 8) % len(raw)] ^= 1 << (p % 8)
    loads_or_refuses(bytes(raw))


@FUZZ
@given(st.integers(0, len(FILES) - 1), st.integers(0, 10**9), st.binary(min_size=1, max_size=9))
def test_fuzz_truncation_and_insertion(i, at, extra):
    raw = FILES[i]
    at %= len(raw)
    loads_or_refuses(raw[:at])
    loads_or_refuses(raw[:at] + extra + raw[at:])


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 10**6) | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)


def _paths(node, at=()):
    """Every position in a JSON value (key paths)."""
    yield at
    items = (
        node.items()
        if isinstance(node, dict)
        else enumerate(node)
        if isinstance(node, list)
        else ()
    )
    for k, v in items:
        yield from _paths(v, at + (k,))


def _get(tree, at: tuple):
    for k in at:
        tree = tree[k]
    return tree


def mutate(data, tree) -> None:
    """One to three random edits of a JSON tree, in place: a value replaced by random JSON,
    by a layer type name or by a copy of another part of the tree, or deleted."""
    paths = list(_paths(tree))[1:]
    for _ in range(data.draw(st.integers(1, 3))):
        at = data.draw(st.sampled_from(paths))
        how = data.draw(st.sampled_from(["replace", "delete", "type", "copy"]))
        try:
            parent = _get(tree, at[:-1])
            if how == "replace":
                parent[at[-1]] = data.draw(JSON)
            elif how == "delete":
                del parent[at[-1]]
            elif how == "type":
                parent[at[-1]] = data.draw(st.sampled_from(["LinearLayer", "NetGraph", "Tanh"]))
            else:
                parent[at[-1]] = copy.deepcopy(_get(tree, data.draw(st.sampled_from(paths))))
        except (KeyError, IndexError, TypeError):  # an earlier edit removed the position
            continue


@FUZZ
@given(st.integers(0, len(FILES) - 1), st.data())
def test_fuzz_architecture_json(i, data):
    header, tensors = split(FILES[i])
    arch = json.loads(header["__metadata__"]["net"])
    mutate(data, arch)
    header["__metadata__"]["net"] = json.dumps(arch)
    loads_or_refuses(join(header, tensors))


@FUZZ
@given(st.integers(0, len(FILES) - 1), st.data())
def test_fuzz_safetensors_header(i, data):
    header, tensors = split(FILES[i])
    mutate(data, header)
    loads_or_refuses(join(header, tensors))
