"""CrossEntropyLossLayer, MeanSquaredLossLayer, MeanAbsoluteLossLayer through the shared harness."""

import numpy as np
import pytest

from netgraph import (
    CrossEntropyLossLayer,
    LinearLayer,
    MeanAbsoluteLossLayer,
    MeanSquaredLossLayer,
    NetChain,
    NetInitialize,
    NetPortGradient,
    Restricted,
    SoftmaxLayer,
)
from tests.harness import check_layer, leaf_arrays

EPS = 1e-7


def probs(rng, *shape):
    """Probabilities kept inside (0.05, 0.95), where the logarithms are smooth."""
    return rng.uniform(0.05, 0.95, size=shape)


def ragged(rng, lengths, make, *feat):
    return [make(rng, n, *feat) for n in lengths]


# -- plain-numpy references, one example at a time --------------------------------------


def ref_index(ex, a):
    p, t = ex["Input"], ex["Target"]
    picked = np.take_along_axis(p, t[..., None], axis=-1)[..., 0]
    return {"Loss": np.mean(-np.log(picked))}


def ref_probabilities(ex, a):
    p, t = ex["Input"], ex["Target"]
    return {"Loss": np.mean(-np.sum(t * np.log(p), axis=-1))}


def ref_binary(ex, a):
    p, t = ex["Input"], ex["Target"]
    return {"Loss": np.mean(-(t * np.log(p) + (1 - t) * np.log(1 - p)))}


def ref_squared(ex, a):
    return {"Loss": np.mean((ex["Input"] - ex["Target"]) ** 2)}


def ref_absolute(ex, a):
    return {"Loss": np.mean(np.abs(ex["Input"] - ex["Target"]))}


# -- CrossEntropyLossLayer("Index") -------------------------------------------------------


def test_index_on_vectors(rng):
    data = {
        "Input": [probs(rng, 3) for _ in range(4)],
        "Target": [np.array(k) for k in (0, 2, 1, 2)],
    }
    check_layer(CrossEntropyLossLayer("Index", input=3), data, ref_index)
    net = CrossEntropyLossLayer(input=3)
    got = net({"Input": np.stack(data["Input"]), "Target": np.array([0, 2, 1, 2])})
    want = -np.log([data["Input"][i][k] for i, k in enumerate((0, 2, 1, 2))])
    np.testing.assert_allclose(got, want, rtol=1e-6)
    assert got.dtype == np.float32 and got.shape == (4,)


def test_index_on_ragged_sequences_counts_true_steps_only(rng):
    lengths = [3, 1, 5]
    data = {
        "Input": ragged(rng, lengths, probs, 4),
        "Target": [rng.integers(0, 4, size=n) for n in lengths],
    }
    net = check_layer(CrossEntropyLossLayer("Index", input=("Varying", 4)), data, ref_index)
    assert repr(net.ports["Target"]) == "(Varying, Restricted('Integer', 4))"


def test_index_on_arrays_of_class_vectors(rng):
    data = {
        "Input": [probs(rng, 2, 3, 4) for _ in range(2)],
        "Target": [rng.integers(0, 4, size=(2, 3)) for _ in range(2)],
    }
    check_layer(CrossEntropyLossLayer("Index", input=(2, 3, 4)), data, ref_index)
    lengths = [2, 4]
    data = {
        "Input": ragged(rng, lengths, probs, 2, 3),
        "Target": [rng.integers(0, 3, size=(n, 2)) for n in lengths],
    }
    check_layer(CrossEntropyLossLayer("Index", input=("Varying", 2, 3)), data, ref_index)


def test_index_gradient_is_minus_one_over_p_at_the_target_divided_by_positions():
    p = np.array([[0.2, 0.5, 0.3], [0.6, 0.1, 0.3]])
    net = CrossEntropyLossLayer(input=(2, 3))
    g = net({"Input": p, "Target": np.array([1, 2])}, NetPortGradient("Input"))
    want = np.zeros((2, 3))
    want[0, 1], want[1, 2] = -1 / (2 * 0.5), -1 / (2 * 0.3)
    np.testing.assert_allclose(g, want, rtol=1e-6)


def test_index_target_out_of_range_is_refused():
    net = CrossEntropyLossLayer("Index", input=("Varying", 3))
    x = [np.full((2, 3), 1 / 3), np.full((1, 3), 1 / 3)]
    with pytest.raises(ValueError, match=r'port "Target" expects integers in 0\.\.2; received 3'):
        net({"Input": x, "Target": [np.array([0, 3]), np.array([1])]})
    with pytest.raises(ValueError, match=r"received -1\. Indices count from 0"):
        net({"Input": x, "Target": [np.array([0, -1]), np.array([1])]})


# -- CrossEntropyLossLayer("Probabilities") and ("Binary") ---------------------------------


def test_probabilities_on_vectors_and_ragged_sequences(rng):
    data = {"Input": [probs(rng, 4) for _ in range(3)], "Target": [probs(rng, 4) for _ in range(3)]}
    check_layer(CrossEntropyLossLayer("Probabilities", input=4), data, ref_probabilities)
    lengths = [2, 5, 1]
    data = {"Input": ragged(rng, lengths, probs, 3), "Target": ragged(rng, lengths, probs, 3)}
    check_layer(
        CrossEntropyLossLayer("Probabilities", input=("Varying", 3)), data, ref_probabilities
    )


def test_probabilities_over_the_steps_of_a_sequence(rng):
    # the class axis is the sequence itself (a softmax over steps, say)
    lengths = [4, 2, 3]
    data = {"Input": ragged(rng, lengths, probs), "Target": ragged(rng, lengths, probs)}
    check_layer(CrossEntropyLossLayer("Probabilities", input="Varying"), data, ref_probabilities)


def test_probabilities_target_gradient_is_minus_log_p():
    p, t = np.array([0.25, 0.75]), np.array([0.5, 0.5])
    g = CrossEntropyLossLayer("Probabilities", input=2)(
        {"Input": p, "Target": t}, NetPortGradient("Target"), working_precision="Real64"
    )
    np.testing.assert_allclose(g, -np.log(p))


@pytest.mark.parametrize(
    "shape", ["Real", 3, (2, 3), "Varying", ("Varying", 3)], ids=lambda s: str(s)
)
def test_binary(rng, shape):
    if "Varying" in np.atleast_1d(shape):
        lengths = [3, 1, 4]
        feat = () if shape == "Varying" else (3,)
        data = {
            "Input": ragged(rng, lengths, probs, *feat),
            "Target": ragged(rng, lengths, probs, *feat),
        }
    else:
        dims = () if shape == "Real" else np.atleast_1d(shape)
        data = {
            "Input": [probs(rng, *dims) for _ in range(3)],
            "Target": [probs(rng, *dims) for _ in range(3)],
        }
    check_layer(CrossEntropyLossLayer("Binary", input=shape), data, ref_binary)


def test_binary_with_hard_targets_matches_log_of_the_right_side():
    net = CrossEntropyLossLayer("Binary", input=2)
    got = net({"Input": [0.9, 0.2], "Target": [1.0, 0.0]}, working_precision="Real64")
    np.testing.assert_allclose(got, -(np.log(0.9) + np.log(0.8)) / 2)


def test_clipping_bounds_the_loss_and_zeroes_the_gradient():
    net = CrossEntropyLossLayer("Index", input=3)
    p = np.array([0.0, 0.4, 0.6])
    loss = net({"Input": p, "Target": 0}, working_precision="Real64")
    np.testing.assert_allclose(loss, -np.log(EPS))
    g = net({"Input": p, "Target": 0}, NetPortGradient("Input"), working_precision="Real64")
    np.testing.assert_array_equal(g, [0.0, 0.0, 0.0])
    g = net({"Input": p, "Target": 1}, NetPortGradient("Input"), working_precision="Real64")
    np.testing.assert_allclose(g, [0.0, -1 / 0.4, 0.0])

    binary = CrossEntropyLossLayer("Binary", input=2)
    data = {"Input": [0.0, 1.0], "Target": [1.0, 0.0]}
    loss = binary(data, working_precision="Real64")
    np.testing.assert_allclose(loss, -np.log(EPS), rtol=1e-6)
    assert np.isfinite(loss)
    res = binary(
        data, [NetPortGradient("Input"), NetPortGradient("Target")], working_precision="Real64"
    )
    np.testing.assert_array_equal(res[NetPortGradient("Input")], [0.0, 0.0])
    d = np.log1p(-EPS) - np.log(EPS)  # dℓ/dt = log(1 − p) − log p at the clipped p
    np.testing.assert_allclose(res[NetPortGradient("Target")], [d / 2, -d / 2], rtol=1e-6)


def test_clipping_in_float32_stays_finite():
    net = CrossEntropyLossLayer("Binary", input=2)
    loss = net({"Input": [0.0, 1.0], "Target": [0.0, 1.0]})
    assert loss.dtype == np.float32 and np.isfinite(loss) and 0 <= loss < 1e-5


# -- MeanSquaredLossLayer and MeanAbsoluteLossLayer ---------------------------------------


def away_from_target(x, t):
    """x moved so that |x − t| ≥ 0.1, where |·| is smooth."""
    return np.where(np.abs(x - t) < 0.1, t + 0.3, x)


@pytest.mark.parametrize(
    "layer,ref", [(MeanSquaredLossLayer, ref_squared), (MeanAbsoluteLossLayer, ref_absolute)]
)
@pytest.mark.parametrize("shape", ["Real", 4, (2, 3), "Varying", ("Varying", 2)], ids=str)
def test_mean_losses(rng, layer, ref, shape):
    if "Varying" in np.atleast_1d(shape):
        feat = () if shape == "Varying" else (2,)
        sizes = [(n, *feat) for n in (3, 1, 4)]
    else:
        sizes = [() if shape == "Real" else tuple(np.atleast_1d(shape))] * 3
    t = [rng.normal(size=s) for s in sizes]
    x = [away_from_target(rng.normal(size=s), ti) for s, ti in zip(sizes, t)]
    check_layer(layer(input=shape), {"Input": x, "Target": t}, ref)


def test_mean_squared_gradients_in_float32():
    x, t = np.array([[1.0, 2.0, 3.0]]), np.array([[0.0, 2.5, 1.0]])
    res = MeanSquaredLossLayer(input=3)(
        {"Input": x, "Target": t}, [NetPortGradient("Input"), NetPortGradient("Target")]
    )
    np.testing.assert_allclose(res[NetPortGradient("Input")], 2 * (x - t) / 3, rtol=1e-6)
    np.testing.assert_allclose(res[NetPortGradient("Target")], -2 * (x - t) / 3, rtol=1e-6)
    assert res[NetPortGradient("Input")].dtype == np.float32


def test_mean_absolute_gradient_is_sign_over_count():
    x, t = np.array([1.0, -2.0, 0.5, 4.0]), np.array([0.0, 0.0, 1.0, 4.0])
    g = MeanAbsoluteLossLayer(input=4)({"Input": x, "Target": t}, NetPortGradient("Input"))
    np.testing.assert_allclose(g, [0.25, -0.25, -0.25, 0.0])


# -- type rules ---------------------------------------------------------------------------


def test_ports_and_shared_length_variable():
    for layer in (
        CrossEntropyLossLayer("Index", input=("Varying", 3)),
        CrossEntropyLossLayer("Binary", input=("Varying", 3)),
        MeanSquaredLossLayer(input=("Varying", 3)),
    ):
        assert layer.input_ports() == ("Input", "Target")
        assert layer.output_ports() == ("Loss",)
        assert layer.ports["Loss"].dims == ()
        assert layer.ports["Input"].var is layer.ports["Target"].var is not None
    index = CrossEntropyLossLayer("Index", input=("Varying", 3))
    assert repr(index.ports["Target"]) == "(Varying, Restricted('Integer', 3))"
    probs_ = CrossEntropyLossLayer("Probabilities", target=(2, 5))
    assert repr(probs_.ports["Input"]) == "(2, 5)"
    assert (
        repr(CrossEntropyLossLayer(target=(4, Restricted("Integer", 7))).ports["Input"]) == "(4, 7)"
    )


@pytest.mark.parametrize("layer", [MeanSquaredLossLayer, MeanAbsoluteLossLayer])
def test_ragged_input_and_target_of_different_lengths_are_refused(rng, layer):
    net = layer(input=("Varying", 2))
    with pytest.raises(ValueError, match="same sequence lengths"):
        net({"Input": [rng.normal(size=(3, 2))], "Target": [rng.normal(size=(2, 2))]})
    with pytest.raises(ValueError, match='"Input".*"Target"'):
        layer(input=("Varying", 2), target=(2,))


@pytest.mark.parametrize(
    "make",
    [
        lambda: MeanSquaredLossLayer(input=(2, 3), target=(3, 2)),
        lambda: MeanAbsoluteLossLayer(input=4, target=5),
        lambda: CrossEntropyLossLayer("Probabilities", input=3, target=4),
        lambda: CrossEntropyLossLayer("Binary", input=("Varying", 2), target=("Varying", 3)),
        lambda: CrossEntropyLossLayer("Index", input=(2, 3), target=(3,)),
        lambda: CrossEntropyLossLayer("Index", input=3, target=Restricted("Integer", 4)),
    ],
)
def test_shape_mismatch_names_both_ports(make):
    with pytest.raises(ValueError) as e:
        make()
    msg = str(e.value)
    assert '"Input"' in msg and '"Target"' in msg, msg
    assert msg.split(":")[0] in (
        "MeanSquaredLossLayer",
        "MeanAbsoluteLossLayer",
        "CrossEntropyLossLayer",
    )


def test_index_type_errors():
    with pytest.raises(ValueError, match='integer class indices.*"Probabilities"'):
        CrossEntropyLossLayer("Index", input=3, target="Real")
    with pytest.raises(ValueError, match="must be a fixed size"):
        CrossEntropyLossLayer("Index", input="Varying")
    with pytest.raises(ValueError, match='it is a scalar.*"Binary"'):
        CrossEntropyLossLayer("Index", input="Real")
    with pytest.raises(ValueError, match="it is a scalar"):
        CrossEntropyLossLayer("Probabilities", target="Real")


def test_unknown_target_form_and_option():
    with pytest.raises(ValueError) as e:
        CrossEntropyLossLayer("Indx")
    assert '(did you mean "Index"?)' in str(e.value)
    assert 'Valid forms: "Index", "Probabilities", "Binary".' in str(e.value)
    with pytest.raises(ValueError, match="Valid forms"):
        CrossEntropyLossLayer(3)
    with pytest.raises(TypeError, match='unknown option "inputs"'):
        MeanSquaredLossLayer(inputs=3)


# -- in a chain ---------------------------------------------------------------------------


def test_chain_exposes_target_and_loss(rng):
    chain = NetChain([LinearLayer(3), SoftmaxLayer(), CrossEntropyLossLayer("Index")], input=4)
    assert chain.input_ports() == ("Input", "Target")
    assert chain.output_ports() == ("Loss",)
    assert repr(chain.ports["Target"]) == "Restricted('Integer', 3)"

    def ref(ex, a):
        z = a["1/Weights"] @ ex["Input"] + a["1/Biases"]
        p = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
        return {"Loss": -np.log(p[ex["Target"]])}

    data = {
        "Input": [rng.normal(size=4) for _ in range(5)],
        "Target": [np.array(k) for k in (0, 1, 2, 2, 1)],
    }
    check_layer(chain, data, ref)

    net = NetInitialize(chain, random_seed=3)
    arrays = {p + (k,): v for (p, k), v in leaf_arrays(net).items()}
    W, b = arrays[("1", "Weights")], arrays[("1", "Biases")]
    X, T = np.stack(data["Input"]), np.array([0, 1, 2, 2, 1])
    Z = X @ W.T + b
    P = np.exp(Z) / np.exp(Z).sum(1, keepdims=True)
    want = -np.log(P[np.arange(5), T])
    got = net({"Input": X, "Target": T}, working_precision="Real64")
    np.testing.assert_allclose(got, want, rtol=1e-10)
    np.testing.assert_allclose(net({"Input": X, "Target": T}), want, rtol=1e-5)
