"""NetInitialize: the statistics of each method, biases, kept arrays, seeds and errors."""

import numpy as np
import pytest

from netgraph import (
    All,
    BasicRecurrentLayer,
    ElementwiseLayer,
    GatedRecurrentLayer,
    LinearLayer,
    LongShortTermMemoryLayer,
    NetChain,
    NetGraph,
    NetInitialize,
)


def weights(net, *path):
    for name in path:
        net = net.layers[name]
    return np.asarray(net.arrays["Weights"], np.float64)


def test_kaiming_is_normal_with_std_sqrt_2_over_fan_in():
    W = weights(NetInitialize(LinearLayer(400, input=250), random_seed=0))
    assert W.shape == (400, 250)
    assert abs(W.std() - np.sqrt(2 / 250)) < 0.01 * np.sqrt(2 / 250)
    assert abs(W.mean()) < 3 * np.sqrt(2 / 250) / np.sqrt(W.size)
    # normal, not uniform: about 4.6% of a normal lies beyond 2 std
    assert 0.04 < np.mean(abs(W) > 2 * W.std()) < 0.052


def test_kaiming_is_the_default():
    a = NetInitialize(LinearLayer(30, input=20), random_seed=4)
    b = NetInitialize(LinearLayer(30, input=20), method="Kaiming", random_seed=4)
    np.testing.assert_array_equal(weights(a), weights(b))


def test_xavier_is_uniform_within_its_bound():
    W = weights(NetInitialize(LinearLayer(300, input=200), method="Xavier", random_seed=1))
    r = np.sqrt(6 / (200 + 300))
    assert np.abs(W).max() <= r and np.abs(W).max() > 0.99 * r
    assert abs(W.var() - r**2 / 3) < 0.02 * r**2 / 3


def test_random_is_uniform_within_one_over_sqrt_fan_in():
    W = weights(NetInitialize(LinearLayer(300, input=100), method="Random", random_seed=2))
    r = 1 / np.sqrt(100)
    assert np.abs(W).max() <= r and np.abs(W).max() > 0.99 * r
    assert abs(W.var() - r**2 / 3) < 0.02 * r**2 / 3


@pytest.mark.parametrize("n,k", [(5, 8), (8, 5), (6, 6)])
def test_orthogonal_has_orthonormal_rows_or_columns(n, k):
    W = weights(NetInitialize(LinearLayer(n, input=k), method="Orthogonal", random_seed=3))
    small = W @ W.T if n <= k else W.T @ W
    np.testing.assert_allclose(small, np.eye(min(n, k)), atol=1e-6)


def test_orthogonal_on_a_weight_tensor_is_orthogonal_after_flattening():
    W = weights(NetInitialize(LinearLayer((2, 3), input=4), method="Orthogonal", random_seed=3))
    assert W.shape == (2, 3, 4)
    M = W.reshape(6, 4)
    np.testing.assert_allclose(M.T @ M, np.eye(4), atol=1e-6)


def test_orthogonal_is_uniformly_distributed_not_sign_biased():
    """QR of a Gaussian matrix gives a uniformly (Haar) distributed orthogonal Q once each
    column's sign follows diag(R); then a diagonal entry is as often positive as negative.
    Householder QR without that correction leaves about a quarter of them positive."""
    diagonals = [
        np.diag(weights(NetInitialize(LinearLayer(n, input=k), method="Orthogonal", random_seed=s)))
        for s, (n, k) in enumerate([(200, 200), (300, 100), (100, 300), (150, 150)])
    ]
    d = np.concatenate(diagonals)  # 650 entries: a standard deviation of 0.02 around 1/2
    assert 0.4 < np.mean(d > 0) < 0.6
    assert abs(np.mean(d)) < 5 * np.sqrt(np.mean(d**2) / d.size)


RECURRENT = [LongShortTermMemoryLayer, GatedRecurrentLayer, BasicRecurrentLayer]


VARIANCE = {  # of each method's weights, from (fan_in, fan_out)
    "Kaiming": lambda fan_in, fan_out: 2 / fan_in,
    "Xavier": lambda fan_in, fan_out: 2 / (fan_in + fan_out),
    "Random": lambda fan_in, fan_out: 1 / (3 * fan_in),
}


@pytest.mark.parametrize("layer", RECURRENT, ids=lambda c: c.__name__)
@pytest.mark.parametrize("method", list(VARIANCE))
def test_recurrent_weights_use_their_own_fan_in_and_fan_out(layer, method):
    """Input weights (n, k) have fan-in k and fan-out n, state weights (n, n) fan-in n: with
    k = 6 and n = 384, a swap changes the variance 64-fold; each array's sample variance is
    within 20% (more than 6 standard deviations of the estimate, ≥ 2304 draws) of the formula."""
    n, k = 384, 6
    net = NetInitialize(layer(n, input=("Varying", k)), method=method, random_seed=0)
    for name, a in net.arrays.items():
        a = np.asarray(a, np.float64)
        if name.endswith("Biases"):
            np.testing.assert_array_equal(a, 0)
            continue
        fan_in = k if name.endswith("InputWeights") else n
        want = VARIANCE[method](fan_in, n)
        assert abs(a.var() - want) < 0.2 * want, (name, a.shape, a.var(), want)


@pytest.mark.parametrize("layer", RECURRENT, ids=lambda c: c.__name__)
def test_recurrent_weights_orthogonal(layer):
    net = NetInitialize(layer(5, input=("Varying", 3)), method="Orthogonal", random_seed=1)
    for name, a in net.arrays.items():
        a = np.asarray(a, np.float64)
        if name.endswith("StateWeights"):
            np.testing.assert_allclose(a @ a.T, np.eye(5), atol=1e-6, err_msg=name)
        elif name.endswith("InputWeights"):
            np.testing.assert_allclose(a.T @ a, np.eye(3), atol=1e-6, err_msg=name)


@pytest.mark.parametrize("method", ["Kaiming", "Xavier", "Orthogonal", "Random"])
def test_biases_start_at_zero_and_arrays_are_float32_and_read_only(method):
    net = NetInitialize(
        NetChain([LinearLayer(4), ElementwiseLayer("Tanh"), LinearLayer(2)], input=3), method=method
    )
    for k in ("1", "3"):
        lin = net.layers[k]
        np.testing.assert_array_equal(lin.arrays["Biases"], np.zeros(lin.arrays["Biases"].shape))
        assert lin.arrays["Weights"].dtype == np.float32
        assert np.any(lin.arrays["Weights"] != 0)
        assert not lin.arrays["Weights"].flags.writeable


def test_same_seed_same_arrays_and_other_seed_other_arrays():
    def make():
        return NetGraph({"a": LinearLayer(6), "b": LinearLayer(3)}, [("a", "b")], input=5)

    a, b, c = (NetInitialize(make(), random_seed=s) for s in (7, 7, 8))
    for path in (("a",), ("b",)):
        np.testing.assert_array_equal(weights(a, *path), weights(b, *path))
        assert not np.allclose(weights(a, *path), weights(c, *path))
    assert a == b and a != c


def test_existing_arrays_are_kept_unless_all(rng):
    W = rng.normal(size=(4, 3))
    b = rng.normal(size=4)
    net = NetChain([LinearLayer(4, weights=W, biases=b), LinearLayer(2)], input=3)
    done = NetInitialize(net, random_seed=0)
    np.testing.assert_array_equal(done.layers["1"].arrays["Weights"], W)
    np.testing.assert_array_equal(done.layers["1"].arrays["Biases"], b)
    assert done.layers["2"].arrays["Weights"].shape == (2, 4)
    again = NetInitialize(done, random_seed=5)
    np.testing.assert_array_equal(weights(again, "2"), weights(done, "2"))
    fresh = NetInitialize(done, All, random_seed=0)
    assert not np.allclose(weights(fresh, "1"), W)
    np.testing.assert_array_equal(fresh.layers["1"].arrays["Biases"], np.zeros(4))
    assert not np.allclose(weights(fresh, "2"), weights(done, "2"))


def test_initialize_returns_a_new_net_and_keeps_the_old_one():
    net = NetChain([LinearLayer(2)], input=3)
    done = NetInitialize(net)
    assert net.layers["1"].arrays["Weights"] is None
    assert done.layers["1"].arrays["Weights"] is not None
    assert repr(done.ports) == repr(net.ports) == "{'Input': (3,), 'Output': (2,)}"


def test_nested_nets_are_initialized_everywhere():
    inner = NetChain([LinearLayer(5), ElementwiseLayer("Tanh")])
    net = NetInitialize(
        NetGraph({"in": inner, "out": LinearLayer(2)}, [("in", "out")], input=3), random_seed=0
    )
    assert weights(net, "in", "1").shape == (5, 3)
    assert weights(net, "out").shape == (2, 5)
    assert net(np.ones(3)).shape == (2,)


def test_unknown_method_and_options_are_refused_with_suggestions():
    lin = LinearLayer(2, input=3)
    with pytest.raises(
        ValueError,
        match=r"unknown method 'Xaviar' \(did you mean \"Xavier\"\?\)\. Valid methods: Kaiming, Xavier, Orthogonal, Random",
    ):
        NetInitialize(lin, method="Xaviar")
    with pytest.raises(
        TypeError, match=r'NetInitialize: unknown option "seed" \(did you mean "random_seed"\?\)'
    ):
        NetInitialize(lin, seed=1)
    with pytest.raises(ValueError, match=r"the second argument is All .* received 'all'"):
        NetInitialize(lin, "all")


def test_missing_arrays_are_named_when_evaluating():
    net = NetChain(
        {
            "enc": LinearLayer(3),
            "act": ElementwiseLayer("Tanh"),
            "dec": LinearLayer(2, biases=None),
        },
        input=4,
    )
    with pytest.raises(ValueError) as e:
        net(np.ones(4))
    assert str(e.value) == (
        'The net has uninitialized arrays: "enc/Weights", "enc/Biases", "dec/Weights". '
        "Call NetInitialize(net) or train it with NetTrain first."
    )
    half = LinearLayer(2, weights=np.ones((2, 4)))
    with pytest.raises(ValueError, match=r'uninitialized arrays: "Biases"\. Call NetInitialize'):
        half(np.ones(4))
