"""Export and Import of .ngnet files: every layer type and container round-trips (== and
identical outputs), dtypes and coders are kept, uninitialized nets export too, the elements
are Wolfram's, and a trained net with an encoder and a decoder gives bit-identical outputs
in a fresh process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import safetensors.numpy

from netgraph import (
    AggregationLayer,
    All,
    Automatic,
    BasicRecurrentLayer,
    BatchNormalizationLayer,
    CatenateLayer,
    ConvolutionLayer,
    CrossEntropyLossLayer,
    DropoutLayer,
    ElementwiseLayer,
    EmbeddingLayer,
    Export,
    FlattenLayer,
    GatedRecurrentLayer,
    Import,
    InputNormalizationLayer,
    LinearLayer,
    LongShortTermMemoryLayer,
    MeanAbsoluteLossLayer,
    MeanSquaredLossLayer,
    NetBidirectionalOperator,
    NetChain,
    NetDecoder,
    NetEncoder,
    NetFoldOperator,
    NetGraph,
    NetInitialize,
    NetMapOperator,
    NetNestOperator,
    NetPort,
    NetTrain,
    NormalizationLayer,
    PoolingLayer,
    ReshapeLayer,
    Restricted,
    SequenceLastLayer,
    SequenceMostLayer,
    SequenceRestLayer,
    SequenceReverseLayer,
    SoftmaxLayer,
    ThreadingLayer,
    TotalLayer,
)
from netgraph.io.architecture import LAYER_TYPES, architecture
from netgraph.types import Index, Var
from netgraph.walk import all_arrays, flatten


def example(t, rng, length: int = 4):
    """One random example of the port type ``t`` (a sequence of ``length`` steps)."""
    shape = tuple(length if isinstance(d, Var) else d for d in t.dims)
    if isinstance(t.kind, Index):
        return rng.integers(0, t.kind.n, size=shape)
    return rng.normal(size=shape)


def batch(net, rng) -> dict:
    """A ragged batch of 3 examples for every input port (sequences of lengths 2, 5, 3)."""
    ins = net.required_inputs()
    return {p: [example(net.ports[p], rng, n) for n in (2, 5, 3)] for p in ins}


def outputs(net, data, precision):
    outs = net.output_ports()
    feed = data if len(data) > 1 else next(iter(data.values()))
    return net(feed, list(outs), working_precision=precision)


def round_trip(net, tmp_path, name="net.ngnet"):
    path = Export(tmp_path / name, net)
    return Import(path)


def assert_same_net(back, net):
    assert back == net
    assert architecture(back) == architecture(net)  # options, ports, coders and array keys
    for k, a in all_arrays(net).items():
        b = all_arrays(back)[k]
        assert (a is None and b is None) or (b.dtype == a.dtype and not b.flags.writeable)


def assert_same_outputs(back, net, rng):
    data = batch(net, rng)
    for precision in ("Real32", "Real64"):
        want, got = outputs(net, data, precision), outputs(back, data, precision)
        for p in want:
            for w, g in zip(want[p], got[p]):
                assert np.asarray(g).tobytes() == np.asarray(w).tobytes(), p


def zoo() -> dict:
    """One net of every layer type and container, with non-default options where it has
    them (each the kind of value the .ngnet file gives a form: tuples, dicts, Automatic,
    All, spans, lists)."""
    seq = ("Varying", 3)
    return {
        "LinearLayer": LinearLayer((2, 2), input=3),
        "LinearLayer scalar": LinearLayer(output="Real", input=3),  # a 0-d "Biases"
        "LinearLayer without biases": LinearLayer(4, biases=None, input=("Varying", 3)),
        "ElementwiseLayer": ElementwiseLayer("GELU", input=seq),
        "SoftmaxLayer": SoftmaxLayer(input=(2, 3)),
        "NormalizationLayer": NormalizationLayer(epsilon=1e-5, input=seq),
        "BatchNormalizationLayer": BatchNormalizationLayer(
            momentum=0.8, interleaving=True, input=(2, 3)
        ),
        "BatchNormalizationLayer sequence": BatchNormalizationLayer(epsilon=1e-5, input=seq),
        "InputNormalizationLayer": InputNormalizationLayer("rescale-symmetric", input=seq),
        "ConvolutionLayer": ConvolutionLayer(
            4,
            (2, 3),
            stride=(1, 2),
            padding_size=((1, 0), (0, 2)),
            channel_groups=2,
            input=(2, 4, 5),
        ),
        "ConvolutionLayer over a sequence": ConvolutionLayer(
            2, 3, padding_size="Same", dilation=2, biases=None, interleaving=True, input=seq
        ),
        "PoolingLayer": PoolingLayer((2, 2), 2, function="Mean", padding_size=1, input=(2, 4, 4)),
        "PoolingLayer over a sequence": PoolingLayer(2, 2, interleaving=True, input=seq),
        "DropoutLayer": DropoutLayer(0.3, method="AlphaDropout", input=3),
        "EmbeddingLayer": EmbeddingLayer(2, 5, input="Varying"),
        "SequenceLastLayer": SequenceLastLayer(input=seq),
        "SequenceMostLayer": SequenceMostLayer(input=seq),
        "SequenceRestLayer": SequenceRestLayer(input=seq),
        "SequenceReverseLayer": SequenceReverseLayer(input=seq),
        "CatenateLayer": CatenateLayer(-1, inputs=[(2, 1), (2, 2)]),
        "TotalLayer": TotalLayer(inputs=[seq, seq]),
        "ThreadingLayer": ThreadingLayer("Times", inputs=[(3, 1), (1, 4)]),
        "FlattenLayer": FlattenLayer(-1, input=(2, 3, 4)),
        "ReshapeLayer": ReshapeLayer((3, Automatic), input=6),
        "AggregationLayer": AggregationLayer("Mean", [1, 3], input=(2, 3, 4)),
        "AggregationLayer span": AggregationLayer("Max", (2, All), input=(2, 3, 4)),
        "CrossEntropyLossLayer": CrossEntropyLossLayer("Index", input=3),
        "MeanSquaredLossLayer": MeanSquaredLossLayer(input=seq),
        "MeanAbsoluteLossLayer": MeanAbsoluteLossLayer(input=2),
        "LongShortTermMemoryLayer": LongShortTermMemoryLayer(
            3,
            input=("Varying", 2),
            dropout={"VariationalInput": 0.1, "StateUpdate": 0.2},
            gate_activation="HardSigmoid",
            learning_rate_multipliers={"InputGateBiases": 2.0},
        ),
        "GatedRecurrentLayer": GatedRecurrentLayer(3, input=("Varying", 2), dropout=0.1),
        "GatedRecurrentLayer before-multiplication": GatedRecurrentLayer(
            3,
            input=("Varying", 2),
            reset_gate_mode="before-multiplication",
            gate_activation="HardSigmoid",
            state_activation="SoftSign",
            dropout={"VariationalState": 0.1},
        ),
        "BasicRecurrentLayer": BasicRecurrentLayer(2, activation="Ramp", input=seq),
        "NetChain": NetChain(
            [EmbeddingLayer(4), GatedRecurrentLayer(3), SequenceLastLayer(), LinearLayer(2)],
            input=("Varying", Restricted("Integer", 6)),
        ),
        "NetGraph": NetGraph(
            {"a": LinearLayer(3), "b": ElementwiseLayer("Tanh"), "c": ThreadingLayer("Plus")},
            [("a", "b"), (["a", "b"], "c")],
            input=2,
        ),
        "NetMapOperator": NetMapOperator(
            NetChain([LinearLayer(2), ElementwiseLayer("Tanh")]), input=seq
        ),
        "NetBidirectionalOperator": NetBidirectionalOperator(
            [LongShortTermMemoryLayer(2), GatedRecurrentLayer(3)], "Catenate", input=seq
        ),
        "NetFoldOperator": NetFoldOperator(
            NetGraph(
                {"x": LinearLayer(2), "s": LinearLayer(2), "add": ThreadingLayer("Plus")},
                [(NetPort("Input"), "x"), (NetPort("State"), "s"), (["x", "s"], "add")],
                input=3,
                State=2,
            )
        ),
        "NetNestOperator": NetNestOperator(LinearLayer(3), 2, input=3),
    }


ZOO = zoo()


def test_the_zoo_has_every_type_a_file_may_hold():
    assert {type(n).__name__ for n in ZOO.values()} == set(LAYER_TYPES)


@pytest.mark.parametrize("name", list(ZOO))
def test_every_layer_type_round_trips(name, tmp_path, rng):
    net = NetInitialize(ZOO[name], random_seed=1)
    back = round_trip(net, tmp_path)
    assert_same_net(back, net)
    assert_same_outputs(back, net, rng)


def state_graph():
    """A graph of a chain and a graph, with recurrent states wired to graph ports."""
    inner = NetGraph(
        {"lstm": LongShortTermMemoryLayer(3), "last": SequenceLastLayer()},
        [
            ("lstm", "last"),
            (NetPort("init"), NetPort("lstm", "State")),
            (NetPort("lstm", "CellState"), NetPort("FinalCell")),
        ],
    )
    return NetGraph(
        {
            "pre": NetChain({"lin": LinearLayer(4), "act": ElementwiseLayer("Tanh")}),
            "rec": inner,
            "out": LinearLayer(2),
        },
        [
            ("pre", "rec"),
            (NetPort("rec", "Output"), "out"),
            (NetPort("start"), NetPort("rec", "init")),
            (NetPort("rec", "FinalCell"), NetPort("Cell")),
        ],
        input=("Varying", 2),
    )


def test_nested_containers_with_state_ports(tmp_path, rng):
    net = NetInitialize(state_graph(), random_seed=2)
    assert set(net.input_ports()) == {"Input", "start"}
    assert set(net.output_ports()) == {"Output", "Cell"}
    back = round_trip(net, tmp_path)
    assert_same_net(back, net)
    x, s = [rng.normal(size=(n, 2)) for n in (3, 6)], [rng.normal(size=3) for _ in range(2)]
    want = net({"Input": x, "start": s}, ["Output", "Cell"])
    got = back({"Input": x, "start": s}, ["Output", "Cell"])
    for p in want:
        for w, g in zip(want[p], got[p]):
            np.testing.assert_array_equal(g, w)
    # the recurrent states are found at the same positions
    st = back({"Input": x[:1], "start": s[:1]}, NetPort(All, "States"))
    assert set(st) == set(net({"Input": x[:1], "start": s[:1]}, NetPort(All, "States")))


@pytest.mark.parametrize("precision", ["Real32", "Real64"])
def test_the_arrays_keep_their_dtype(tmp_path, precision):
    dtype = {"Real32": np.float32, "Real64": np.float64}[precision]
    w = np.arange(6, dtype=dtype).reshape(2, 3) / 7
    net = LinearLayer(2, weights=w, biases=np.array([0.5, -0.25], dtype))
    back = round_trip(net, tmp_path)
    assert back.arrays["Weights"].dtype == dtype
    assert back.arrays["Weights"].tobytes() == w.tobytes()


def test_the_file_is_a_safetensors_file_with_arrays_by_path(tmp_path):
    g = NetGraph(
        {"lstm": LongShortTermMemoryLayer(2), "1": LinearLayer(1)},
        [("lstm", "1")],
        input=("Varying", 3),
    )
    net = NetInitialize(g, random_seed=0)
    path = Export(tmp_path / "g.ngnet", net)
    tensors = safetensors.numpy.load_file(path)
    assert "lstm/InputGateInputWeights" in tensors and "1/Weights" in tensors
    assert len(tensors) == 12 + 2
    np.testing.assert_array_equal(tensors["1/Biases"], net.layers["1"].arrays["Biases"])
    with safetensors.safe_open(path, framework="numpy") as f:
        meta = f.metadata()
    assert meta["format"] == "ngnet" and meta["version"] == "1"
    arch = json.loads(meta["net"])
    assert arch["type"] == "NetGraph" and [n for n, _ in arch["layers"]] == ["lstm", "1"]


def test_an_uninitialized_net_exports_too(tmp_path, rng):
    net = NetChain([LongShortTermMemoryLayer(3), SequenceLastLayer(), LinearLayer(2)])
    back = round_trip(net, tmp_path)
    assert_same_net(back, net)
    assert repr(back.ports["Input"]) == "(Varying, ?)"  # nothing inferred that was not
    assert safetensors.numpy.load_file(tmp_path / "net.ngnet") == {}
    # partly initialized: the given array is kept, the others stay absent
    w = rng.normal(size=(2, 3))
    part = NetChain([LongShortTermMemoryLayer(3, input=("Varying", 2)), LinearLayer(2, weights=w)])
    back = round_trip(part, tmp_path, "part.ngnet")
    assert_same_net(back, part)
    assert list(safetensors.numpy.load_file(tmp_path / "part.ngnet")) == ["2/Weights"]


def test_elements(tmp_path):
    net = NetInitialize(state_graph(), random_seed=3)
    path = Export(tmp_path / "net.ngnet", net)
    assert Import(path, "Net") == net
    bare = Import(path, "UninitializedNet")
    assert all(a is None for a in all_arrays(bare).values())
    assert {p: repr(t) for p, t in bare.ports.items()} == {p: repr(t) for p, t in net.ports.items()}
    assoc = Import(path, "ArrayAssociation")
    assert set(assoc) == set(all_arrays(net))
    assert ("pre", "lin", "Weights") in assoc and ("rec", "lstm", "ForgetGateBiases") in assoc
    for k, a in assoc.items():
        np.testing.assert_array_equal(a, all_arrays(net)[k])
    single = Import(Export(tmp_path / "one.ngnet", LinearLayer(2, weights=np.ones((2, 2)))))
    assert single.arrays["Biases"] is None  # only initialized arrays are listed
    assert set(Import(tmp_path / "one.ngnet", "ArrayAssociation")) == {("Weights",)}
    with pytest.raises(
        ValueError, match=r"unknown element 'Arrays' \(did you mean \"ArrayAssociation"
    ):
        Import(path, "Arrays")


def test_the_suffix_picks_the_format(tmp_path):
    net = LinearLayer(2, input=3)
    for bad in ("net.wlnet", "net", "net.ngnet.bak"):
        with pytest.raises(ValueError, match=r"Supported suffixes: \.ngnet, \.onnx"):
            Export(tmp_path / bad, net)
        with pytest.raises(ValueError, match=r"Supported suffixes: \.ngnet, \.onnx"):
            Import(tmp_path / bad)
    with pytest.raises(OSError, match="cannot write"):
        Export(tmp_path / "no such folder" / "net.ngnet", net)
    with pytest.raises(ValueError, match="net.ngnet' does not exist"):
        Import(tmp_path / "net.ngnet")
    (tmp_path / "folder.ngnet").mkdir()
    with pytest.raises(ValueError, match="is not a file"):
        Import(tmp_path / "folder.ngnet")
    Export(tmp_path / "NET.NGNET", net)  # suffixes are case-insensitive, as in Wolfram
    assert Import(tmp_path / "NET.NGNET") == net
    with pytest.raises(TypeError, match="must be a net"):
        Export(tmp_path / "x.ngnet", "LinearLayer(2)")


def test_a_layer_of_another_package_is_not_exported(tmp_path):
    class MyLinear(LinearLayer):
        pass

    with pytest.raises(ValueError, match=r'layer "2" \(MyLinear\) is not one of netgraph'):
        Export(tmp_path / "x.ngnet", NetChain([LinearLayer(3), MyLinear(2)], input=2))
    assert not os.listdir(tmp_path)  # nothing written, not even a temporary file


# -- a trained net with an encoder and a decoder, read back in a fresh process -----------------

CHILD = textwrap.dedent(
    """
    import sys
    import numpy as np
    from netgraph import Import
    net = Import(sys.argv[1])
    texts = ["the cat sat", "a dog", "The Cat", "sat sat sat dog"]
    probs = net(texts, "Probabilities")
    np.save(sys.argv[2], np.array([[p[k] for k in sorted(p)] for p in probs]))
    print("|".join(net(texts)))
    """
)


def trained(encoder, rng):
    """A classifier of strings into "no"/"yes", trained for a few rounds."""
    net = NetChain(
        [EmbeddingLayer(4), LongShortTermMemoryLayer(5), SequenceLastLayer(), LinearLayer(2)]
        + [SoftmaxLayer()],
        input=encoder,
        output=NetDecoder("Class", ["no", "yes"]),
    )
    words = ["the", "cat", "sat", "a", "dog"]
    texts = [" ".join(rng.choice(words, size=rng.integers(1, 5))) for _ in range(40)]
    labels = ["yes" if "cat" in t else "no" for t in texts]
    return NetTrain(
        net,
        (texts, labels),
        max_training_rounds=3,
        batch_size=8,
        random_seed=0,
        training_progress_reporting=None,
    )


@pytest.mark.parametrize(
    "encoder",
    [
        NetEncoder("Tokens", ["the", "cat", "sat", "a", "dog"]),
        NetEncoder("Characters", "abcdefghijklmnopqrstuvwxyz ", ignore_case=True),
    ],
    ids=["Tokens", "Characters"],
)
def test_a_trained_net_with_coders_in_a_fresh_process(encoder, tmp_path, rng):
    net = trained(encoder, rng)
    path = Export(tmp_path / "classifier.ngnet", net)
    back = Import(path)
    assert_same_net(back, net)
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), str(tmp_path / "p.npy")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    texts = ["the cat sat", "a dog", "The Cat", "sat sat sat dog"]
    probs = net(texts, "Probabilities")
    want = np.array([[p[k] for k in sorted(p)] for p in probs])
    assert np.load(tmp_path / "p.npy").tobytes() == want.tobytes()
    assert done.stdout.strip() == "|".join(net(texts))


def test_flatten_leaves_match_the_tensor_keys(tmp_path):
    net = NetInitialize(state_graph(), random_seed=0)
    Export(tmp_path / "n.ngnet", net)
    keys = set(safetensors.numpy.load_file(tmp_path / "n.ngnet"))
    want = {
        "/".join(path + (k,)) for path, leaf in flatten(net).leaves.items() for k in leaf.arrays
    }
    assert keys == want
