"""AggregationLayer through the shared harness."""

import numpy as np
import pytest

from netgraph import AggregationLayer, All, NetPortGradient
from tests.harness import check_layer

REFS = {"Max": np.max, "Min": np.min, "Mean": np.mean, "Total": np.sum}


@pytest.mark.parametrize("f", sorted(REFS))
@pytest.mark.parametrize(
    "levels, axes, out",
    [
        (None, (1, 2), (3,)),
        (1, (0,), (4, 2)),
        (-1, (2,), (3, 4)),
        ((1, 2), (0, 1), (2,)),
        ((2, All), (1, 2), (3,)),
        ((-2, -1), (1, 2), (3,)),
        ([1, 3], (0, 2), (4,)),
        ((1, All), (0, 1, 2), ()),
    ],
)
def test_aggregation_levels(rng, f, levels, axes, out):
    net = AggregationLayer(f, levels, input=(3, 4, 2))
    assert net.ports["Output"].dims == out
    data = {"Input": [rng.normal(size=(3, 4, 2)) for _ in range(3)]}
    check_layer(net, data, lambda ex, a: {"Output": REFS[f](ex["Input"], axis=axes)})


@pytest.mark.parametrize("f", sorted(REFS))
def test_aggregation_over_ragged_steps_ignores_padding(rng, f):
    # all negative for Max and all positive for Min: a padded zero would win if counted
    sign = -1 if f == "Max" else 1
    data = {"Input": [sign * rng.uniform(0.5, 2.0, size=(n, 3)) for n in (4, 1, 2)]}
    net = AggregationLayer(f, 1, input=("Varying", 3))
    assert net.ports["Output"].dims == (3,)
    check_layer(net, data, lambda ex, a: {"Output": REFS[f](ex["Input"], axis=0)})


@pytest.mark.parametrize("f", sorted(REFS))
def test_aggregation_over_steps_and_features(rng, f):
    data = {"Input": [rng.normal(size=(n, 2, 3)) for n in (2, 5, 1)]}
    net = AggregationLayer(f, (1, 2), input=("Varying", 2, 3))
    check_layer(net, data, lambda ex, a: {"Output": REFS[f](ex["Input"], axis=(0, 1))})


@pytest.mark.parametrize("f", sorted(REFS))
def test_aggregation_keeps_the_sequence_length(rng, f):
    data = {"Input": [rng.normal(size=(n, 2, 3)) for n in (2, 5, 1)]}
    net = AggregationLayer(f, input=("Varying", 2, 3))  # levels 2 and 3
    assert net.ports["Output"].var is net.ports["Input"].var and net.ports["Output"].rank == 1
    check_layer(net, data, lambda ex, a: {"Output": REFS[f](ex["Input"], axis=(1, 2))})


def test_mean_divides_by_the_true_length():
    net = AggregationLayer("Mean", 1, input="Varying")
    y = net([np.array([1.0, 2.0, 6.0]), np.array([4.0])])
    np.testing.assert_allclose(y, [3.0, 4.0])
    g = net([np.array([1.0, 2.0, 6.0]), np.array([4.0])], NetPortGradient("Input"))
    np.testing.assert_allclose(g[0], [1 / 3] * 3, rtol=1e-6)
    np.testing.assert_allclose(g[1], [1.0])


@pytest.mark.parametrize("f, want", [("Max", [0, 1, 0, 0]), ("Min", [1, 0, 0, 0])])
def test_ties_route_the_gradient_to_the_first_extreme_element(f, want):
    net = AggregationLayer(f, 1, input=4)
    x = np.array([1.0, 3.0, 3.0, 1.0])
    assert net(x) == (3.0 if f == "Max" else 1.0)
    np.testing.assert_array_equal(net(x, NetPortGradient("Input")), want)


def test_max_over_levels_in_row_major_order_on_ties():
    net = AggregationLayer("Max", (1, 2), input=(2, 2))
    g = net(np.array([[0.0, 5.0], [5.0, 1.0]]), NetPortGradient("Input"))
    np.testing.assert_array_equal(g, [[0.0, 1.0], [0.0, 0.0]])


def test_aggregation_errors():
    with pytest.raises(ValueError, match=r"unknown function 'Median'.*Valid functions: Max, Min"):
        AggregationLayer("Median")
    for bad in (0, "2", (1, 2, 3), (0, All), [], [1, 0], slice(1, 3, 2)):
        with pytest.raises(ValueError, match='"levels" must be a nonzero int'):
            AggregationLayer("Max", bad)
    with pytest.raises(ValueError, match="by default AggregationLayer aggregates levels 2 through"):
        AggregationLayer(input=3)
    with pytest.raises(ValueError, match=r'level 3 does not exist in port "Input".*rank 2'):
        AggregationLayer("Max", 3, input=(2, 2))
    with pytest.raises(ValueError, match=r"levels \[1, -2\] name a level of the input twice"):
        AggregationLayer("Max", [1, -2], input=(2, 2))
    with pytest.raises(ValueError, match="is a scalar; AggregationLayer needs an array"):
        AggregationLayer("Max", 1, input="Real")
    with pytest.raises(
        ValueError, match=r"expected a vector of size 3 \(reals\), found a vector of size 2"
    ):
        AggregationLayer("Max", input=(3, 4), output=2)


def test_default_is_all_levels_but_the_first():
    assert AggregationLayer("Total").options["levels"] == slice(2, All)
    y = AggregationLayer("Total")(np.arange(12.0).reshape(2, 3, 2))
    np.testing.assert_array_equal(y, [15.0, 51.0])
