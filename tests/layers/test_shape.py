"""FlattenLayer and ReshapeLayer through the shared harness."""

import numpy as np
import pytest

from netgraph import Automatic, FlattenLayer, ReshapeLayer
from tests.harness import check_layer


@pytest.mark.parametrize(
    "level, out",
    [(None, (24,)), (1, (6, 4)), (2, (24,)), (-1, (2, 12)), (-2, (24,))],
)
def test_flatten_levels(rng, level, out):
    net = FlattenLayer(level, input=(2, 3, 4))
    assert net.ports["Output"].dims == out
    data = {"Input": [rng.normal(size=(2, 3, 4)) for _ in range(3)]}
    check_layer(net, data, lambda ex, a: {"Output": ex["Input"].reshape(out)})


def test_flatten_inner_levels_of_a_ragged_sequence(rng):
    net = FlattenLayer(-1, input=("Varying", 2, 3))
    assert net.ports["Output"].var is net.ports["Input"].var
    assert net.ports["Output"].dims[1:] == (6,)
    data = {"Input": [rng.normal(size=(n, 2, 3)) for n in (3, 1, 2)]}
    check_layer(net, data, lambda ex, a: {"Output": ex["Input"].reshape(len(ex["Input"]), 6)})


def test_flatten_keeps_integers():
    y = FlattenLayer(input=(2, 2, "Integer"))([[1, 2], [3, 4]])
    np.testing.assert_array_equal(y, [1, 2, 3, 4])
    assert y.dtype.kind == "i"


def test_flatten_infers_the_input_rank_from_a_vector():
    np.testing.assert_array_equal(FlattenLayer()([[[1.0], [2.0]], [[3.0], [4.0]]]), [1, 2, 3, 4])


def test_flatten_errors():
    with pytest.raises(ValueError, match='"level" must be None .* or a nonzero int.*received 0'):
        FlattenLayer(0)
    with pytest.raises(
        ValueError, match='cannot merge or split its "Varying" dimension.*FlattenLayer'
    ):
        FlattenLayer(input=("Varying", 3))
    with pytest.raises(ValueError, match='"Varying" dimension'):
        FlattenLayer(1, input=("Varying", 3, 2))
    with pytest.raises(ValueError, match='"Varying" dimension'):
        FlattenLayer(-2, input=("Varying", 3, 2))
    with pytest.raises(ValueError, match=r"FlattenLayer\(2\) flattens the first 3 levels.*rank 2"):
        FlattenLayer(2, input=(3, 2))
    with pytest.raises(ValueError, match=r"FlattenLayer\(-2\) flattens the last 3 levels.*rank 2"):
        FlattenLayer(-2, input=(3, 2))
    with pytest.raises(ValueError, match="is a scalar; FlattenLayer needs an array of rank"):
        FlattenLayer(input="Real")
    with pytest.raises(ValueError, match=r"expected a vector of size 6, found a vector of size 5"):
        FlattenLayer(input=(2, 3), output=5)


@pytest.mark.parametrize(
    "dims, out",
    [((3, 2), (3, 2)), ((Automatic, 2), (3, 2)), (6, (6,)), ((1, Automatic, 3), (1, 2, 3))],
)
def test_reshape(rng, dims, out):
    net = ReshapeLayer(dims, input=(2, 3))
    assert net.ports["Output"].dims == out
    data = {"Input": [rng.normal(size=(2, 3)) for _ in range(3)]}
    check_layer(net, data, lambda ex, a: {"Output": ex["Input"].reshape(out)})


def test_reshape_with_automatic_infers_from_data():
    y = ReshapeLayer((Automatic, 3))(np.arange(12.0).reshape(2, 6))
    np.testing.assert_array_equal(y, np.arange(12.0).reshape(4, 3))  # one (2, 6) example


def test_reshape_errors():
    with pytest.raises(ValueError, match="one of which may be Automatic.*received"):
        ReshapeLayer((Automatic, Automatic))
    with pytest.raises(ValueError, match="dims must be a positive int"):
        ReshapeLayer((2, 0))
    with pytest.raises(ValueError, match="dims must be a positive int"):
        ReshapeLayer("Varying")
    with pytest.raises(ValueError, match=r"9 elements, but the dims \(4, 2\) hold 8"):
        ReshapeLayer((4, 2), input=(3, 3))
    with pytest.raises(
        ValueError, match=r"do not fill the dims \(4, Automatic\): 9 is not a multiple of 4"
    ):
        ReshapeLayer((4, Automatic), input=(3, 3))
    with pytest.raises(
        ValueError, match=r'ReshapeLayer cannot merge or split its "Varying" dimension'
    ):
        ReshapeLayer((Automatic,), input=("Varying", 3))
