"""LinearLayer, ElementwiseLayer, SoftmaxLayer through the shared harness."""

import numpy as np
import pytest
from scipy.special import erf

from netgraph import ElementwiseLayer, LinearLayer, SoftmaxLayer
from tests.harness import check_layer


def seqs(rng, lengths, *feat):
    return [rng.normal(size=(n, *feat)) for n in lengths]


@pytest.mark.parametrize("n", [3, (2, 3), ()])
def test_linear_vectors(rng, n):
    x = [rng.normal(size=4) for _ in range(3)]

    def ref(ex, a):
        W = a["Weights"]
        return {"Output": np.tensordot(W, ex["Input"], axes=([-1], [0])) + a["Biases"]}

    check_layer(LinearLayer(n, input=4), {"Input": x}, ref)


def test_linear_on_sequences_without_biases(rng):
    def ref(ex, a):
        return {"Output": ex["Input"] @ a["Weights"].T}

    check_layer(
        LinearLayer(3, biases=None, input=("Varying", 2)), {"Input": seqs(rng, [2, 5, 1], 2)}, ref
    )


REFS = {
    "Ramp": lambda x: np.maximum(x, 0),
    "Tanh": np.tanh,
    "LogisticSigmoid": lambda x: 1 / (1 + np.exp(-x)),
    "SoftSign": lambda x: x / (1 + abs(x)),
    "HardSigmoid": lambda x: np.clip(0.2 * x + 0.5, 0, 1),
    "ELU": lambda x: np.where(x > 0, x, np.exp(x) - 1),
    "SELU": lambda x: 1.0507009873554805 * np.where(x > 0, x, 1.6732632423543772 * (np.exp(x) - 1)),
    "GELU": lambda x: 0.5 * x * (1 + erf(x / np.sqrt(2))),
    "Sin": np.sin,
    "Cos": np.cos,
    "Exp": np.exp,
    "Log": np.log,
    "Sqrt": np.sqrt,
    "Square": np.square,
    "Abs": np.abs,
}


@pytest.mark.parametrize("name", sorted(REFS))
def test_elementwise(rng, name):
    positive = name in ("Log", "Sqrt")
    data = [
        rng.uniform(0.5, 2.0, size=(n, 3)) if positive else rng.normal(size=(n, 3))
        for n in (3, 1, 4)
    ]
    # keep away from kinks, where finite differences are meaningless
    data = [np.where(abs(d) < 0.05, 0.3, d) for d in data]
    data = [np.where(abs(abs(d) - 2.5) < 0.05, 1.0, d) for d in data]
    check_layer(
        ElementwiseLayer(name, input=("Varying", 3)),
        {"Input": data},
        lambda ex, a: {"Output": REFS[name](ex["Input"])},
    )


def test_elementwise_relu_alias():
    np.testing.assert_array_equal(ElementwiseLayer("ReLU")([-1.0, 3.0]), [0.0, 3.0])


def _softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def test_softmax_vectors_and_sequences(rng):
    check_layer(
        SoftmaxLayer(input=("Varying", 4)),
        {"Input": seqs(rng, [3, 1, 2], 4)},
        lambda ex, a: {"Output": _softmax(ex["Input"])},
    )
    check_layer(
        SoftmaxLayer(input=(2, 3)),
        {"Input": [rng.normal(size=(2, 3)) for _ in range(2)]},
        lambda ex, a: {"Output": _softmax(ex["Input"])},
    )


def test_softmax_over_a_ragged_sequence_of_scalars(rng):
    data = seqs(rng, [4, 2, 3])
    check_layer(
        SoftmaxLayer(input="Varying"),
        {"Input": data},
        lambda ex, a: {"Output": _softmax(ex["Input"])},
    )
