"""InputNormalizationLayer through the shared harness (every method, vectors and ragged
sequences, ONNX included), its identity initialization, and its refusals. NetTrain's fitting
of its statistics: tests/training/test_updated_arrays.py."""

import numpy as np
import pytest

from netgraph import InputNormalizationLayer, NetInitialize, NetPortGradient
from tests.harness import check_layer


def reference(method):
    def ref(ex, a):
        x = ex["Input"]
        if method == "zerocenter":
            y = x - a["Mean"]
        elif method == "zscore":
            y = (x - a["Mean"]) / a["StandardDeviation"]
        elif method == "rescale-zero-one":
            y = (x - a["Min"]) / (a["Max"] - a["Min"])
        elif method == "rescale-symmetric":
            y = 2 * (x - a["Min"]) / (a["Max"] - a["Min"]) - 1
        else:
            y = x
        return {"Output": y}

    return ref


def given(rng, method, k):
    lo = rng.normal(size=k)
    a = {
        "Mean": rng.normal(size=k),
        "StandardDeviation": rng.uniform(0.5, 2.0, size=k),
        "Min": lo,
        "Max": lo + rng.uniform(0.5, 2.0, size=k),
    }
    return {n: a[n] for n in InputNormalizationLayer(method).arrays}


METHODS = ["zscore", "zerocenter", "rescale-zero-one", "rescale-symmetric", "none"]


@pytest.mark.parametrize("method", METHODS)
def test_ragged_sequences(rng, method):
    x = [rng.normal(size=(n, 3)) for n in (2, 4, 1)]
    layer = InputNormalizationLayer(method, input=("Varying", 3), arrays=given(rng, method, 3))
    check_layer(layer, {"Input": x}, reference(method))


def test_vectors(rng):
    x = [rng.normal(size=4) for _ in range(3)]
    layer = InputNormalizationLayer("zscore", input=4, arrays=given(rng, "zscore", 4))
    check_layer(layer, {"Input": x}, reference("zscore"))


@pytest.mark.parametrize("method", METHODS)
def test_initialized_to_the_identity(rng, method):
    layer = NetInitialize(InputNormalizationLayer(method, input=("Varying", 2)))
    x = rng.normal(size=(3, 2))
    np.testing.assert_allclose(layer(x, working_precision="Real64"), x, rtol=1e-15)


def test_the_statistics_have_no_gradient(rng):
    layer = NetInitialize(InputNormalizationLayer(input=2))
    assert layer.updated_arrays == ("Mean", "StandardDeviation")
    with pytest.raises(
        ValueError, match='"StandardDeviation" of the InputNormalizationLayer has no gradient'
    ):
        layer(rng.normal(size=(3, 2)), NetPortGradient(["StandardDeviation"]))


@pytest.mark.parametrize(
    "args, kw, message",
    [
        (
            ("zcore",),
            {},
            r"normalization must be one of .* received 'zcore' \(did you mean \"zscore\"\?\)",
        ),
        ((None,), {}, "normalization must be one of"),
        (("zscore",), {"input": "Real"}, "must be a vector k or a sequence of vectors"),
        (("zscore",), {"input": "Varying"}, "must be a vector k or a sequence of vectors"),
        (("zscore",), {"input": 2, "arrays": {"Mean": [0.0, 0.0, 0.0]}}, "3 features"),
        (
            ("zerocenter",),
            {"arrays": {"StandardDeviation": [1.0]}},
            'unknown array "StandardDeviation"',
        ),
        (("rescale-zero-one",), {"arrays": {"Min": [0.0], "Max": [1.0, 2.0]}}, "must be equal"),
        (
            ("rescale-zero-one",),
            {"arrays": {"Min": [0.0, 3.0], "Max": [1.0, 2.0]}},
            r'"Max" is below "Min" at the features \[1\]',
        ),
        (("zscore",), {"arrays": {"StandardDeviation": [-1.0]}}, "must be ≥ 0"),
    ],
)
def test_refusals(args, kw, message):
    with pytest.raises(ValueError, match=message):
        InputNormalizationLayer(*args, **kw)
