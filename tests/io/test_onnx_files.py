"""import_onnx reads files as data: a damaged or hostile file is a ValueError that names it,
found before anything large is allocated, and nothing in a file is run or read from
elsewhere; a fuzz test holds that to any mutation of valid files."""

from __future__ import annotations

import json
import pathlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netgraph import *
from netgraph.io.onnx import export_onnx, import_onnx

from .onnx_check import session  # noqa: F401  (skips without onnxruntime)

onnx = pytest.importorskip("onnx", reason="the ONNX tests need onnx")


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A small net and the bytes of its ONNX file."""
    net = NetInitialize(
        NetChain(
            [LongShortTermMemoryLayer(3), SequenceLastLayer(), LinearLayer(2)], input=("Varying", 2)
        ),
        random_seed=0,
    )
    path = export_onnx(tmp_path_factory.mktemp("onnx") / "net.onnx", net)
    return net, open(path, "rb").read()


def write(tmp_path, data: bytes, name="bad.onnx"):
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("cut", [0, 10, 200, -30])
def test_a_truncated_file_is_refused_naming_it(cut, saved, tmp_path):
    path = write(tmp_path, saved[1][:cut])
    with pytest.raises(ValueError, match=rf"import_onnx: {path} is not"):
        import_onnx(path)


def test_a_file_that_is_not_onnx_is_refused(tmp_path):
    path = write(tmp_path, b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    with pytest.raises(ValueError, match=rf"import_onnx: {path} is not"):
        import_onnx(path)


def test_a_missing_file_is_an_os_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        import_onnx(tmp_path / "nowhere.onnx")


def test_external_data_is_not_read(saved, tmp_path):
    m = onnx.load_from_string(saved[1])
    t = m.graph.initializer[0]
    t.ClearField("raw_data")
    t.data_location = onnx.TensorProto.EXTERNAL
    t.external_data.add(key="location", value="/etc/passwd")
    path = write(tmp_path, m.SerializeToString())
    with pytest.raises(ValueError, match=rf'keeps the tensor "{t.name}" in an external file'):
        import_onnx(path)


def test_a_tensor_claiming_a_huge_shape_is_refused_before_reading(saved, tmp_path):
    m = onnx.load_from_string(saved[1])
    t = m.graph.initializer[0]
    del t.dims[:]
    t.dims.extend([1 << 20, 1 << 20])  # 4 TiB of float32, from a few bytes
    path = write(tmp_path, m.SerializeToString())
    with pytest.raises(ValueError, match=rf'{path}.*(tensor name: {t.name}\)|tensor "{t.name}")'):
        import_onnx(path)


def test_a_tensor_with_too_little_data_is_refused(saved, tmp_path):
    m = onnx.load_from_string(saved[1])
    t = next(t for t in m.graph.initializer if t.raw_data and len(t.raw_data) > 8)
    t.raw_data = t.raw_data[:8]
    path = write(tmp_path, m.SerializeToString())
    with pytest.raises(ValueError, match=rf'{path}.*(tensor name: {t.name}\)|tensor "{t.name}")'):
        import_onnx(path)


@pytest.mark.parametrize(
    "dims, values, message",
    [
        ([1 << 20, 1 << 20], [1.0], r"declares the shape \[1048576, 1048576\]"),
        ([3, 2], [1.0, 2.0], r"declares the shape \[3, 2\] \(6 elements\) but holds 2"),
        ([-1], [], r"declares the shape \[-1\]"),
    ],
)
def test_tensors_are_checked_before_they_are_read(dims, values, message):
    """The check of each tensor, whatever the checker of the onnx package finds first."""
    from netgraph.io.onnx_read import to_array

    t = onnx.helper.make_tensor("w", onnx.TensorProto.FLOAT, [1], [1.0])
    del t.dims[:]
    t.dims.extend(dims)
    del t.float_data[:]
    t.float_data.extend(values)
    with pytest.raises(ValueError, match=r'import_onnx: f.onnx: the tensor "w" ' + message):
        to_array(t, "f.onnx")


def edited(saved, tmp_path, edit):
    """The file with its netgraph description edited by ``edit(description) -> text``."""
    m = onnx.load_from_string(saved[1])
    prop = next(p for p in m.metadata_props if p.key == "netgraph")
    prop.value = edit(json.loads(prop.value))
    return write(tmp_path, m.SerializeToString())


def _set(path: list, value):
    def edit(d):
        node = d
        for k in path[:-1]:
            node = node[k]
        node[path[-1]] = value
        return json.dumps(d)

    return edit


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda d: "{not json", r"its description is not JSON"),
        (_set(["version"], 99), r"has version 99; this netgraph reads version 1"),
        (
            _set(["net", "layers", "1", "type"], "os.system"),
            r'the layer type "os.system" is not one that netgraph exports',
        ),
        (
            _set(["net", "layers", "3", "options", "n"], "__import__('os').system('echo hi')"),
            r"LinearLayer: the output size must be a positive int",
        ),
        (
            _set(["net", "layers", "1", "options", "dropout"], {"pickle": "cos\nsystem\n"}),
            r"an option value .* is not one netgraph writes",
        ),
        (
            _set(["net", "layers", "1", "onnx", "W"], "nowhere"),
            r'the initializer "nowhere" that holds "W" is missing',
        ),
        (
            _set(["net", "layers", "3", "arrays", "Weights"], [5, 5]),
            r'the array "Weights" has 6 elements, not the shape \[5, 5\]',
        ),
    ],
    ids=["json", "version", "type", "expression", "pickle", "initializer", "shape"],
)
def test_a_tampered_description_is_refused(edit, message, saved, tmp_path):
    with pytest.raises(ValueError, match=message):
        import_onnx(edited(saved, tmp_path, edit))


def test_without_its_description_a_netgraph_file_is_read_as_a_graph(saved, tmp_path):
    """The description is what gives back the net; without it the ops are read, and what
    netgraph writes around its layers (lengths, step masks) is not among the ops import reads."""
    m = onnx.load_from_string(saved[1])
    del m.metadata_props[:]
    path = write(tmp_path, m.SerializeToString())
    with pytest.raises(ValueError, match=rf"import_onnx: {path}: "):
        import_onnx(path)


FOREIGN = [
    pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "onnx" / f"{name}.onnx"
    for name in ("lstm_stack_time_major", "mlp", "gru_reset_bias")
]
FUZZ = settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@FUZZ
@given(
    st.sampled_from(["netgraph", *range(len(FOREIGN))]),
    st.lists(st.tuples(st.integers(0, 1 << 16), st.integers(0, 255)), min_size=1, max_size=6),
)
def test_fuzz_a_mutated_file_gives_a_net_or_a_value_error(saved, tmp_path, which, changes):
    """Bytes changed in a netgraph file or a PyTorch export."""
    data = bytearray(saved[1] if which == "netgraph" else FOREIGN[which].read_bytes())
    for at, byte in changes:
        data[at % len(data)] = byte
    path = write(tmp_path, bytes(data), "fuzz.onnx")
    try:
        net = import_onnx(path)
    except ValueError:
        return
    assert isinstance(net, (NetChain, NetGraph))


def _paths(d, at=()):
    """Every place in a JSON value: tuples of keys and indices."""
    yield at
    items = d.items() if isinstance(d, dict) else enumerate(d) if isinstance(d, list) else ()
    for k, v in items:
        yield from _paths(v, at + (k,))


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 1 << 40) | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)


@FUZZ
@given(st.data())
def test_fuzz_a_mutated_description_gives_a_net_or_a_value_error(saved, tmp_path, data):
    description = json.loads(next(p.value for p in onnx.load_from_string(saved[1]).metadata_props))
    places = [p for p in _paths(description) if p]
    for _ in range(data.draw(st.integers(1, 3))):
        where = data.draw(st.sampled_from(places))
        node = description
        for k in where[:-1]:
            node = node[k]
        node[where[-1]] = data.draw(JSON)
        places = [p for p in _paths(description) if p]
    try:
        net = import_onnx(edited(saved, tmp_path, lambda d: json.dumps(description)))
    except ValueError:
        return
    assert isinstance(net, (NetChain, NetGraph))


def test_a_mutated_transpose_before_a_recurrent_op_is_refused(tmp_path):
    """A byte changed in a Transpose's perm (found by the fuzz test): the input's axes no
    longer cover the example's dims, a ValueError that says so."""
    data = bytearray(FOREIGN[2].read_bytes())
    data[57344 % len(data)] = 0
    with pytest.raises(ValueError, match=r'the input "x" reaches its op through axes'):
        import_onnx(write(tmp_path, bytes(data), "fuzz.onnx"))
