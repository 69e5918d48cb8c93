"""EmbeddingLayer through the shared harness, plus inference and errors."""

import numpy as np
import pytest

from netgraph import (
    EmbeddingLayer,
    LinearLayer,
    NetChain,
    NetInitialize,
    NetPortGradient,
    Restricted,
)
from netgraph.types import Index
from tests.harness import as64, check_layer


def ref(ex, a):
    return {"Output": a["Weights"][ex["Input"]]}


def test_sequences_of_indices(rng):
    data = [rng.integers(0, 7, size=n) for n in (5, 1, 3, 4)]
    check_layer(EmbeddingLayer(3, 7, input="Varying"), {"Input": data}, ref)


def test_fixed_arrays_and_scalars(rng):
    check_layer(
        EmbeddingLayer(2, 5, input=(2, 3)),
        {"Input": [rng.integers(0, 5, size=(2, 3)) for _ in range(3)]},
        ref,
    )
    check_layer(
        EmbeddingLayer(4, input=Restricted("Integer", 6)),
        {"Input": [np.array(k) for k in (0, 5, 2, 5)]},
        ref,
    )


def test_given_weights_are_looked_up():
    W = np.arange(12.0).reshape(4, 3)
    emb = EmbeddingLayer(weights=W, input="Varying")
    assert emb.ports["Input"].kind == Index(4)
    assert emb.ports["Output"].dims[1:] == (3,)
    out = emb([[3, 0, 3], [1]], working_precision="Real64")
    np.testing.assert_array_equal(out[0], W[[3, 0, 3]])
    np.testing.assert_array_equal(out[1], W[[1]])


def test_repeated_indices_accumulate_their_gradients():
    W = np.zeros((4, 2))
    emb = EmbeddingLayer(2, 4, weights=W, input=3)
    og = np.array([[1.0, 2.0], [10.0, 20.0], [100.0, 200.0]])
    g = emb(
        {"Input": [2, 0, 2], NetPortGradient("Output"): og},
        NetPortGradient(["Weights"]),
        working_precision="Real64",
    )
    np.testing.assert_array_equal(g, [[10, 20], [0, 0], [101, 202], [0, 0]])


def test_padding_adds_nothing_to_the_weight_gradient(rng):
    net = as64(NetChain([EmbeddingLayer(3, 5), LinearLayer(2)], input=("Varying", "Integer")))
    # index 0 never occurs, so padding (which holds index 0) is the only way row 0 could move
    data = [rng.integers(1, 5, size=n) for n in (6, 2, 1)]
    spec = NetPortGradient(["1", "Weights"])
    g = net(data, spec, working_precision="Real64")
    alone = sum(net([d], spec, working_precision="Real64") for d in data)
    np.testing.assert_array_equal(g[0], 0.0)
    assert np.abs(g[1:]).sum() > 0
    np.testing.assert_allclose(g, alone, rtol=1e-12)


def test_n_is_inferred_from_the_input_kind_and_weights():
    emb = EmbeddingLayer(3, input=("Varying", Restricted("Integer", 9)))
    assert NetInitialize(emb, random_seed=0).arrays["Weights"].shape == (9, 3)
    emb = EmbeddingLayer(weights=np.zeros((5, 2)))
    assert emb.ports["Input"].kind == Index(5)
    assert emb.ports["Output"].kind == "Real"


def test_initialization_is_standard_normal():
    W = NetInitialize(EmbeddingLayer(64, 500), random_seed=0).arrays["Weights"]
    assert W.shape == (500, 64) and W.dtype == np.float32
    assert abs(W.mean()) < 0.01
    assert abs(W.std() - 1) < 0.01
    W2 = NetInitialize(EmbeddingLayer(64, 500), random_seed=0).arrays["Weights"]
    np.testing.assert_array_equal(W, W2)


def test_out_of_range_index_is_refused():
    emb = NetInitialize(EmbeddingLayer(3, 5, input="Varying"), random_seed=0)
    with pytest.raises(
        ValueError, match=r"expects integers in 0\.\.4; received 5\. Indices count from 0"
    ):
        emb([[1, 5, 2]])
    with pytest.raises(ValueError, match=r"expects integers in 0\.\.4; received -1"):
        emb([[1, -1]])
    with pytest.raises(ValueError, match="non-integer values"):
        emb([[1.5, 2.0]])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            {"size": 4, "n": 10, "weights": np.zeros((10, 3))},
            r"shape \(10, 3\).*need shape \(10, 4\)",
        ),
        (
            {"size": 4, "n": 10, "weights": np.zeros((9, 4))},
            r"shape \(9, 4\).*need shape \(10, 4\)",
        ),
        ({"weights": np.zeros(4)}, r'array "Weights" has shape \(4,\)'),
        (
            {"weights": np.zeros((3, 2)), "output": ("Varying", 5)},
            r"shape \(3, 2\), but the ports need shape \(\?, 5\)",
        ),
    ],
)
def test_inconsistent_weights_are_refused(kwargs, message):
    with pytest.raises(ValueError, match="EmbeddingLayer: .*" + message):
        EmbeddingLayer(**kwargs)


def test_bad_options_and_ports_are_refused():
    with pytest.raises(ValueError, match="the size must be a positive int or None; received 0"):
        EmbeddingLayer(0, 5)
    with pytest.raises(ValueError, match="the number of codes n must be a positive int"):
        EmbeddingLayer(3, 2.5)
    with pytest.raises(ValueError, match='port "Input" takes integer indices; it receives reals'):
        EmbeddingLayer(3, 5, input=("Varying", "Real"))
    with pytest.raises(
        ValueError, match=r"takes integers in 0\.\.4 \(n = 5\), but it receives integers in 0\.\.6"
    ):
        EmbeddingLayer(3, 5, input=("Varying", Restricted("Integer", 7)))
    with pytest.raises(TypeError, match='unknown option "weight"'):
        EmbeddingLayer(3, 5, weight=np.zeros((5, 3)))
    with pytest.raises(
        ValueError, match='NetInitialize: the shape of array "Weights" is not known'
    ):
        NetInitialize(EmbeddingLayer(3))
