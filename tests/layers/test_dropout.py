"""DropoutLayer: identity in Test mode, masks and scaling in Train mode, alpha dropout, errors."""

import numpy as np
import pytest

from netgraph import DropoutLayer, NetPortGradient
from netgraph.kernels.dropout import ALPHA_PRIME
from tests.harness import check_layer

SELU_ALPHA, SELU_LAMBDA = 1.6732632423543772, 1.0507009873554805


def train(layer, x, seed):
    return layer(x, evaluation_mode="Train", random_seed=seed, working_precision="Real64")


@pytest.mark.parametrize("method", ["Dropout", "AlphaDropout"])
def test_identity_in_test_mode_and_masks_in_train_mode_through_the_harness(rng, method):
    data = [rng.normal(size=(n, 3)) for n in (3, 1, 4)]
    check_layer(
        DropoutLayer(0.4, method=method, input=("Varying", 3)),
        {"Input": data},
        lambda ex, a: {"Output": ex["Input"]},
    )
    x = rng.normal(size=(2, 5)).astype(np.float32)
    np.testing.assert_array_equal(DropoutLayer(0.9, method=method)(x), x)


def test_train_mode_drops_a_fraction_p_and_scales_the_rest(rng):
    p = 0.3
    x = rng.uniform(0.5, 2.0, size=(200, 500))
    y = train(DropoutLayer(p), x, seed=1)
    dropped = y == 0
    assert abs(dropped.mean() - p) < 0.01
    np.testing.assert_allclose(y[~dropped], x[~dropped] / (1 - p), rtol=1e-15)


def test_masks_follow_the_seed(rng):
    x = rng.uniform(0.5, 2.0, size=(4, 50))
    layer = DropoutLayer(0.5)
    np.testing.assert_array_equal(train(layer, x, 7), train(layer, x, 7))
    assert not np.array_equal(train(layer, x, 7), train(layer, x, 8))
    alpha = DropoutLayer(0.5, method="AlphaDropout")
    np.testing.assert_array_equal(train(alpha, x, 7), train(alpha, x, 7))
    assert not np.array_equal(train(alpha, x, 7), train(alpha, x, 8))


def test_p_zero_keeps_everything_in_training(rng):
    x = rng.normal(size=(3, 4))
    np.testing.assert_array_equal(train(DropoutLayer(0), x, 0), x)


def _output_and_gradient(layer, x, seed):
    res = layer(
        {"Input": x, NetPortGradient("Output"): np.ones_like(x)},
        ["Output", NetPortGradient("Input")],
        evaluation_mode="Train",
        random_seed=seed,
        working_precision="Real64",
    )
    return res["Output"], res[NetPortGradient("Input")]


def test_gradient_uses_the_forward_mask(rng):
    p = 0.25
    x = rng.uniform(0.5, 2.0, size=(6, 40))
    y, g = _output_and_gradient(DropoutLayer(p), x, seed=3)
    kept = y != 0
    assert 0 < kept.mean() < 1
    np.testing.assert_allclose(g, kept / (1 - p), rtol=1e-15)


def test_gradient_on_a_ragged_sequence_batch(rng):
    p = 0.5
    data = [rng.uniform(0.5, 2.0, size=(n, 3)) for n in (4, 2)]
    layer = DropoutLayer(p, input=("Varying", 3))
    res = layer(
        {"Input": data, NetPortGradient("Output"): [np.ones_like(d) for d in data]},
        ["Output", NetPortGradient("Input")],
        evaluation_mode="Train",
        random_seed=0,
        working_precision="Real64",
    )
    for y, g, x in zip(res["Output"], res[NetPortGradient("Input")], data):
        assert g.shape == x.shape
        np.testing.assert_allclose(g, (y != 0) / (1 - p), rtol=1e-15)


def test_alpha_dropout_formula_and_gradient(rng):
    p = 0.2
    x = rng.normal(size=(50, 40))
    y, g = _output_and_gradient(DropoutLayer(p, method="AlphaDropout"), x, seed=5)
    alpha_prime = -SELU_LAMBDA * SELU_ALPHA
    assert ALPHA_PRIME == pytest.approx(alpha_prime, rel=1e-15)
    a = ((1 - p) * (1 + p * alpha_prime**2)) ** -0.5
    b = -a * p * alpha_prime
    dropped = np.isclose(y, a * alpha_prime + b, rtol=0, atol=1e-12)
    assert abs(dropped.mean() - p) < 0.03
    np.testing.assert_allclose(y[~dropped], a * x[~dropped] + b, rtol=1e-13)
    np.testing.assert_allclose(g, np.where(dropped, 0.0, a), rtol=1e-15)


@pytest.mark.parametrize("p", [0.1, 0.5])
def test_alpha_dropout_keeps_mean_and_variance(rng, p):
    x = rng.normal(size=(400, 1000))
    y = train(DropoutLayer(p, method="AlphaDropout"), x, seed=2)
    assert abs(y.mean()) < 0.01
    assert abs(y.var() - 1) < 0.01
    # plain dropout does not keep the variance
    z = train(DropoutLayer(p), x, seed=2)
    assert abs(z.var() - 1 / (1 - p)) < 0.02


@pytest.mark.parametrize("p", [1, 1.0, -0.1, 2, "0.5", True, None])
def test_bad_probability_is_refused(p):
    with pytest.raises(
        ValueError, match=r"DropoutLayer: the dropout probability p must be a number in \[0, 1\)"
    ):
        DropoutLayer(p)


def test_unknown_method_is_refused():
    with pytest.raises(
        ValueError, match='unknown method .AlphaDrop..*did you mean "AlphaDropout"'
    ) as e:
        DropoutLayer(0.5, method="AlphaDrop")
    assert "Valid methods: Dropout, AlphaDropout" in str(e.value)


def test_unknown_option_and_integer_input_are_refused():
    with pytest.raises(TypeError, match='unknown option "rate"'):
        DropoutLayer(0.5, rate=0.1)
    with pytest.raises(ValueError, match="DropoutLayer"):
        DropoutLayer(0.5, input=("Varying", "Integer"))
