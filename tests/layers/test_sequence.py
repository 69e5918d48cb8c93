"""SequenceLast/Most/Rest/Reverse layers through the shared harness, plus inference and errors."""

import numpy as np
import pytest

from netgraph import (
    LinearLayer,
    NetChain,
    NetPortGradient,
    Restricted,
    SequenceLastLayer,
    SequenceMostLayer,
    SequenceRestLayer,
    SequenceReverseLayer,
)
from netgraph.types import Index, Var
from tests.harness import as64, check_layer

REFS = {
    SequenceLastLayer: lambda x: x[-1],
    SequenceMostLayer: lambda x: x[:-1],
    SequenceRestLayer: lambda x: x[1:],
    SequenceReverseLayer: lambda x: x[::-1],
}
LAYERS = list(REFS)


def ref_of(cls):
    return lambda ex, a: {"Output": REFS[cls](ex["Input"])}


def lengths_of(cls):
    """The output length rule of the layers whose output has a length of its own."""
    if cls in (SequenceMostLayer, SequenceRestLayer):
        return {"Output": lambda ex: len(ex["Input"]) - 1}
    return None


@pytest.mark.parametrize("cls", LAYERS)
@pytest.mark.parametrize("feat", [(), (3,), (2, 2)])
def test_ragged_sequences(rng, cls, feat):
    data = [rng.normal(size=(n, *feat)) for n in (4, 2, 5, 3)]
    check_layer(
        cls(input=("Varying", *feat)), {"Input": data}, ref_of(cls), lengths=lengths_of(cls)
    )


@pytest.mark.parametrize("cls", LAYERS)
def test_fixed_length_sequences(rng, cls):
    data = [rng.normal(size=(4, 3)) for _ in range(3)]
    check_layer(cls(input=(4, 3)), {"Input": data}, ref_of(cls))


def test_length_one_sequences_for_last_and_reverse(rng):
    data = [rng.normal(size=(n, 2)) for n in (1, 3, 1)]
    for cls in (SequenceLastLayer, SequenceReverseLayer):
        check_layer(cls(input=("Varying", 2)), {"Input": data}, ref_of(cls))


@pytest.mark.parametrize("cls", LAYERS)
def test_in_a_chain_with_weights(rng, cls):
    net = NetChain([LinearLayer(3), cls(), LinearLayer(2)], input=("Varying", 2))
    data = [rng.normal(size=(n, 2)) for n in (3, 5, 2)]

    def ref(ex, a):
        h = ex["Input"] @ a["1/Weights"].T + a["1/Biases"]
        return {"Output": REFS[cls](h) @ a["3/Weights"].T + a["3/Biases"]}

    check_layer(net, {"Input": data}, ref, lengths=lengths_of(cls))


def test_padding_never_reaches_the_gradient(rng):
    """Input gradients of a ragged batch are zero past each sequence's end and equal the
    gradient of each sequence alone."""
    data = [rng.normal(size=(n, 2)) for n in (5, 2, 3)]
    for cls in LAYERS:
        net = as64(NetChain([cls(), LinearLayer(2)], input=("Varying", 2)))
        g = net(data, NetPortGradient("Input"), working_precision="Real64")
        for x, gx in zip(data, g):
            alone = net([x], NetPortGradient("Input"), working_precision="Real64")[0]
            assert gx.shape == x.shape
            np.testing.assert_allclose(gx, alone, rtol=1e-12, err_msg=cls.__name__)


@pytest.mark.parametrize("cls", LAYERS)
def test_integer_sequences_pass_through_unchanged(rng, cls):
    data = [rng.integers(-50, 50, size=n) for n in (4, 2, 3)]
    out = cls()(data)
    for x, y in zip(data, out):
        y = np.asarray(y)
        assert y.dtype.kind == "i"
        np.testing.assert_array_equal(y, REFS[cls](x))
    typed = cls(input=("Varying", "Integer"))
    assert typed.ports["Output"].kind == "Integer"
    for x, y in zip(data, typed(data)):
        np.testing.assert_array_equal(y, REFS[cls](x))


def test_reverse_of_a_padded_array_batch_uses_the_true_lengths():
    out = SequenceReverseLayer()([[1.0, 2.0, 3.0], [4.0, 5.0]])
    np.testing.assert_array_equal(out[0], [3, 2, 1])
    np.testing.assert_array_equal(out[1], [5, 4])
    out = SequenceLastLayer()([[1.0, 2.0, 3.0], [4.0, 5.0]])
    np.testing.assert_array_equal(out, [3, 5])


def test_shapes_inferred():
    for cls in (SequenceMostLayer, SequenceRestLayer):
        layer = cls(input=("Varying", 3))
        x, y = layer.ports["Input"], layer.ports["Output"]
        assert isinstance(y.dims[0], Var) and y.dims[0] is not x.dims[0]
        assert y.dims[1:] == (3,) and y.kind is None  # a bare shape leaves the kind to the data
        assert cls(input=("Varying", 3, "Real")).ports["Output"].kind == "Real"
        assert cls(input=(5, 3)).ports["Output"].dims == (4, 3)
        assert cls(output=(4, 3)).ports["Input"].dims == (5, 3)
    rev = SequenceReverseLayer(input=("Varying", 3))
    assert rev.ports["Output"].dims[0] is rev.ports["Input"].dims[0]
    assert SequenceLastLayer(input=("Varying", 2, 3)).ports["Output"].dims == (2, 3)
    assert SequenceLastLayer(output=(2, 3)).ports["Input"].dims == (None, 2, 3)
    net = NetChain([SequenceRestLayer(), LinearLayer(3)], input=(6, 2))
    assert net.ports["Output"].dims == (5, 3)


def test_fixed_length_input_binds_a_varying_output():
    net = NetChain([SequenceMostLayer(), LinearLayer(3, input=(4, 2))])
    assert net.ports["Input"].dims == (5, 2)


def test_length_one_at_run_time_is_refused(rng):
    for cls in (SequenceMostLayer, SequenceRestLayer):
        layer = cls(input=("Varying", 2))
        with pytest.raises(
            ValueError, match=f"{cls.__name__}: every sequence needs at least 2 elements.*length 1"
        ):
            layer([rng.normal(size=(3, 2)), rng.normal(size=(1, 2))])


def test_errors_at_construction():
    for cls in (SequenceMostLayer, SequenceRestLayer):
        with pytest.raises(ValueError, match=f"{cls.__name__}: .*length ≥ 2.*it has length 1"):
            cls(input=(1, 3))
        with pytest.raises(ValueError, match="expected a vector of size 2"):
            cls(input=3, output=3)
    for cls in LAYERS:
        with pytest.raises(ValueError, match=f'{cls.__name__}: port "Input" must be a sequence'):
            cls(input="Real")
        with pytest.raises(TypeError, match='unknown option "size"'):
            cls(size=3)
    with pytest.raises(ValueError, match="SequenceReverseLayer"):
        SequenceReverseLayer(input=("Varying", 3), output=("Varying", 4))
    with pytest.raises(ValueError, match="SequenceLastLayer"):
        SequenceLastLayer(input=("Varying", 3), output=2)


def test_element_kind_is_kept_and_checked():
    layer = SequenceRestLayer(input=("Varying", Restricted("Integer", 4)))
    assert layer.ports["Output"].kind == Index(4)
    np.testing.assert_array_equal(layer([[1, 3, 2]])[0], [3, 2])
    with pytest.raises(ValueError, match='port "Input" holds Integer but port "Output" holds Real'):
        SequenceLastLayer(input=("Varying", "Integer"), output="Real")
