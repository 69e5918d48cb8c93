"""NetTrain's checkpoints: .ngnet files that Import reads as the net of their round, that
resume_from continues bit for bit, and that are refused, with the file and the reason
named, when damaged, non-finite, not of this net, or written with other options."""

from __future__ import annotations

import functools
import json
import os
import struct
import tempfile

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netgraph import (
    CrossEntropyLossLayer,
    Export,
    Import,
    LinearLayer,
    LongShortTermMemoryLayer,
    MeanAbsoluteLossLayer,
    NetChain,
    NetTrain,
    Scaled,
    SequenceLastLayer,
    SoftmaxLayer,
)
from netgraph.io.tensorfile import TensorFile
from tests.io.test_hostile_files import mutate

QUIET = {"training_progress_reporting": None}


def data(rng, n=24):
    X = [rng.normal(size=(int(L), 2)) for L in rng.integers(2, 6, size=n)]
    return X, rng.integers(0, 3, size=n)


def net():
    return NetChain(
        [LongShortTermMemoryLayer(4), SequenceLastLayer(), LinearLayer(3), SoftmaxLayer()],
        input=("Varying", 2),
    )


KW = dict(batch_size=8, random_seed=4, validation_set=Scaled(0.25), **QUIET)


@pytest.fixture
def run(rng, tmp_path):
    """Two rounds trained with checkpoints: (data, checkpoint directory)."""
    XY = data(rng)
    NetTrain(
        net(),
        XY,
        max_training_rounds=2,
        training_progress_checkpointing=("Directory", tmp_path),
        **KW,
    )
    return XY, tmp_path


def resume(XY, where, rounds=3, **changes):
    return NetTrain(
        net(), XY, "All", max_training_rounds=rounds, resume_from=where, **{**KW, **changes}
    )


def test_a_checkpoint_is_the_net_of_its_round(run):
    XY, d = run
    assert sorted(p.name for p in d.iterdir()) == [
        "checkpoint-round0001.ngnet",
        "checkpoint-round0002.ngnet",
    ]
    for rnd in (1, 2):
        final = NetTrain(net(), XY, "FinalNet", max_training_rounds=rnd, **KW)
        back = Import(d / f"checkpoint-round{rnd:04d}.ngnet")
        assert back == final
        x = XY[0][:5]
        assert np.asarray(back(x)).tobytes() == np.asarray(final(x)).tobytes()


def test_resuming_continues_bit_for_bit(run):
    XY, d = run
    whole = NetTrain(net(), XY, "All", max_training_rounds=4, **KW)
    resumed = resume(XY, d, rounds=4)
    for which in ("TrainedNet", "FinalNet"):
        assert resumed[which] == whole[which]
    for key in ("RoundLossList", "ValidationLossList", "BatchLossList"):
        assert resumed[key] == whole[key]
    assert resumed["BestValidationRound"] == whole["BestValidationRound"]
    # from a named file too
    again = resume(XY, d / "checkpoint-round0002.ngnet", rounds=4)
    assert again["FinalNet"] == whole["FinalNet"]


@pytest.mark.parametrize(
    "changes, shown",
    [
        (dict(method="RMSProp"), "method: 'ADAM' there, 'RMSProp' here"),
        (dict(method="SGD"), "method: 'ADAM' there, 'SGD' here"),
        (dict(batch_size=4), "batch_size: 8 there, 4 here"),
        (dict(learning_rate=0.01), "learning_rate: 0.001 there, 0.01 here"),
        (dict(random_seed=5), "random_seed: 4 there, 5 here"),
        (dict(random_seed=None), "random_seed: 4 there, None here"),
        (dict(working_precision="Real64"), "working_precision: 'Real32' there, 'Real64' here"),
        (dict(validation_set=None), "validation_set: Scaled(0.25) there, None here"),
        (dict(validation_set=Scaled(0.5)), "validation_set: Scaled(0.25) there, Scaled(0.5) here"),
        (dict(loss_function=CrossEntropyLossLayer("Probabilities")), "loss_function: "),
        (dict(method=("ADAM", {"beta1": 0.8})), "method suboption beta1: 0.9 there, 0.8 here"),
        (dict(learning_rate_multipliers={"1": 0.5}), "learning_rate_multipliers: "),
        (dict(round_length=8), "round_length: None there, 8 here"),
    ],
)
def test_resuming_with_other_options_is_refused(run, changes, shown):
    XY, d = run
    file = d / "checkpoint-round0002.ngnet"
    with pytest.raises(ValueError, match="other options") as e:
        resume(XY, d, **changes)
    assert repr(str(file)) in str(e.value) and shown in str(e.value)


def test_every_mismatch_is_named(run):
    XY, d = run
    with pytest.raises(ValueError) as e:
        resume(XY, d, method="RMSProp", batch_size=4, random_seed=1)
    msg = str(e.value)
    for shown in ("method: 'ADAM' there", "batch_size: 8 there", "random_seed: 4 there"):
        assert shown in msg


def test_another_net_is_refused_before_reading_its_arrays(run, monkeypatch):
    XY, d = run
    read = []
    original = TensorFile.read
    monkeypatch.setattr(TensorFile, "read", lambda self, k: read.append(k) or original(self, k))
    other = NetChain(
        [LongShortTermMemoryLayer(5), SequenceLastLayer(), LinearLayer(3), SoftmaxLayer()],
        input=("Varying", 2),
    )
    with pytest.raises(ValueError, match="does not fit this net") as e:
        NetTrain(other, XY, max_training_rounds=3, resume_from=d, **KW)
    assert "checkpoint-round0002.ngnet" in str(e.value) and read == []
    mae = NetChain([LongShortTermMemoryLayer(4), SequenceLastLayer(), LinearLayer(3)])
    with pytest.raises(ValueError, match="does not fit this net"):  # same arrays, other layers
        NetTrain(mae, (XY[0], np.eye(3)[XY[1]]), resume_from=d, **KW)


# -- damaged and hostile checkpoints ----------------------------------------------------------


def split(raw: bytes):
    (n,) = struct.unpack("<Q", raw[:8])
    return json.loads(raw[8 : 8 + n]), raw[8 + n :]


def join(header: dict, data: bytes) -> bytes:
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + data


def replace_tensor(raw: bytes, key: str, new: bytes) -> bytes:
    """The file with tensor ``key`` (a U8 tensor) holding the bytes ``new``."""
    header, data = split(raw)
    entries = sorted((e["data_offsets"][0], k) for k, e in header.items() if k != "__metadata__")
    out = b""
    for _, k in entries:
        start, end = header[k]["data_offsets"]
        chunk = new if k == key else data[start:end]
        header[k]["data_offsets"] = [len(out), len(out) + len(chunk)]
        if k == key:
            header[k]["shape"] = [len(chunk)]
        out += chunk
    return join(header, out)


def refused(XY, path, raw: bytes, match: str) -> str:
    path.write_bytes(raw)
    with pytest.raises(ValueError, match=match) as e:
        resume(XY, path)
    assert repr(str(path)) in str(e.value)
    return str(e.value)


def edit_training(raw: bytes, edit) -> bytes:
    header, data = split(raw)
    training = json.loads(header["__metadata__"]["training"])
    edit(training)
    header["__metadata__"]["training"] = json.dumps(training)
    return join(header, data)


def test_damaged_checkpoints_are_value_errors_naming_the_file(run):
    XY, d = run
    good = (d / "checkpoint-round0002.ngnet").read_bytes()
    bad = d / "bad.ngnet"
    refused(XY, bad, good[:100], "truncated")
    refused(XY, bad, good[:-7], "past its end")
    refused(XY, bad, b"PK\x03\x04" + good[4:], "not a .ngnet file")
    header, data = split(good)
    del header["__metadata__"]["training"]
    refused(XY, bad, join(header, data), "not a NetTrain checkpoint")
    for edit, match in [
        (lambda t: t.pop("optimizer"), "damaged"),
        (lambda t: t.update(round="2"), "damaged"),
        (lambda t: t.update(rng={"bit_generator": "MT19937"}), "random generator"),
        (lambda t: t["rng"]["state"].update(state="x"), "random generator"),
        (lambda t: t["optimizer"].update(t=-1), "damaged"),
        (lambda t: t["optimizer"]["moments"].popitem(), "optimizer state"),
        (lambda t: t.update(results="nothing"), "damaged"),
        (lambda t: t.update(best={"loss": 1.0}), "damaged"),
    ]:
        refused(XY, bad, edit_training(good, edit), match)
    for results in (b"\xff", b"[1, 2]", b'{"BatchLossList": 3}', b"[" * 100000):
        refused(XY, bad, replace_tensor(good, "NetTrain:results", results), "results")


def test_non_finite_arrays_in_a_checkpoint_are_refused(run):
    XY, d = run
    good = (d / "checkpoint-round0002.ngnet").read_bytes()
    header, data = split(good)
    training = json.loads(header["__metadata__"]["training"])
    moment = training["optimizer"]["moments"]["3/Weights"][0]
    best = training["best"]["arrays"]["1/ForgetGateBiases"]
    for key, value in [("3/Biases", np.nan), (moment, np.inf), (best, -np.inf)]:
        start, end = header[key]["data_offsets"]
        n = (end - start) // 4
        forged = data[:start] + np.full(n, value, np.float32).tobytes() + data[end:]
        msg = refused(XY, d / "bad.ngnet", join(header, forged), "NaN or infinite")
        assert key in msg


def test_a_checkpoint_claiming_huge_arrays_is_refused_unread(run, monkeypatch):
    """A header that declares an 800 MB array (the file sparse, so it costs no disk) is
    refused from the header: nothing of that size is read."""
    XY, d = run
    header, data = split((d / "checkpoint-round0002.ngnet").read_bytes())
    start, end = header["3/Weights"]["data_offsets"]
    big = 10000 * 10000 * 8
    header["3/Weights"] = {
        "dtype": "F64",
        "shape": [10000, 10000],
        "data_offsets": [len(data), len(data) + big],
    }
    header["3/Weights:unused"] = {
        "dtype": "U8",
        "shape": [end - start],
        "data_offsets": [start, end],
    }
    path = d / "huge.ngnet"
    path.write_bytes(join(header, data))
    with open(path, "r+b") as f:
        f.truncate(path.stat().st_size + big)
    read = []
    original = TensorFile.read
    monkeypatch.setattr(TensorFile, "read", lambda self, k: read.append(k) or original(self, k))
    with pytest.raises(ValueError, match=r"3/Weights.*\(10000, 10000\).*\(3, 4\)"):
        resume(XY, path)
    assert "3/Weights" not in read


def test_a_plain_net_file_is_not_a_checkpoint(run, tmp_path):
    XY, _ = run
    path = Export(tmp_path / "plain.ngnet", net())
    with pytest.raises(ValueError, match="not a NetTrain checkpoint"):
        resume(XY, path)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match=r"no checkpoint-round\*\.ngnet file"):
        resume(XY, empty)


def test_checkpoints_of_a_float64_run_and_an_unnamed_output(rng, tmp_path):
    X = rng.normal(size=(20, 3))
    Y = X @ rng.normal(size=(3, 2))
    lin = LinearLayer(2, input=3)
    kw = dict(batch_size=5, random_seed=0, working_precision="Real64", **QUIET)
    kw.update(loss_function=MeanAbsoluteLossLayer())
    NetTrain(lin, (X, Y), max_training_rounds=2, training_progress_checkpointing=tmp_path, **kw)
    back = Import(tmp_path / "checkpoint-round0002.ngnet")
    assert back.arrays["Weights"].dtype == np.float64
    whole = NetTrain(lin, (X, Y), "All", max_training_rounds=3, **kw)
    resumed = NetTrain(lin, (X, Y), "All", max_training_rounds=3, resume_from=tmp_path, **kw)
    assert resumed["FinalNet"] == whole["FinalNet"]
    assert resumed["BatchLossList"] == whole["BatchLossList"]


# -- fuzzing ------------------------------------------------------------------------------------


@functools.cache
def checkpoint_file() -> tuple:
    """(data, the bytes of a round-2 checkpoint)."""
    XY = data(np.random.default_rng(0))
    with tempfile.TemporaryDirectory() as d:
        NetTrain(net(), XY, max_training_rounds=2, training_progress_checkpointing=d, **KW)
        with open(os.path.join(d, "checkpoint-round0002.ngnet"), "rb") as f:
            return XY, f.read()


@settings(max_examples=40, deadline=None, derandomize=True)
@given(st.data())
def test_fuzz_resume(draw):
    """Bit flips and edits of the training state: resuming continues or refuses with a
    ValueError naming the file, nothing else."""
    XY, raw = checkpoint_file()
    if draw.draw(st.booleans()):
        raw = bytearray(raw)
        for p in draw.draw(st.lists(st.integers(0, 8 * len(raw) - 1), min_size=1, max_size=6)):
            raw[p // 8] ^= 1 << (p % 8)
        raw = bytes(raw)
    else:
        header, tensors = split(raw)
        training = json.loads(header["__metadata__"]["training"])
        mutate(draw, training)
        header["__metadata__"]["training"] = json.dumps(training)
        raw = join(header, tensors)
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "fuzz.ngnet")
        with open(path, "wb") as f:
            f.write(raw)
        try:
            resume(XY, path, rounds=2)
        except ValueError as e:
            assert repr(path) in str(e), str(e)
