"""NormalizationLayer through the shared harness, against PyTorch's nn.LayerNorm, and its
refusals."""

import numpy as np
import pytest

from netgraph import NetChain, NetInitialize, NetPortGradient, NormalizationLayer
from tests.harness import check_layer


def layer_norm(x, g, b, eps):
    mu = x.mean(axis=-1, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * g + b


def reference(eps):
    def ref(ex, a):
        return {"Output": layer_norm(ex["Input"], a["Scaling"], a["Biases"], eps)}

    return ref


def arrays(rng, k):
    return {"Scaling": rng.uniform(0.5, 1.5, size=k), "Biases": rng.normal(size=k)}


def test_vectors(rng):
    x = [rng.normal(size=5) for _ in range(3)]
    check_layer(NormalizationLayer(input=5, arrays=arrays(rng, 5)), {"Input": x}, reference(1e-3))


def test_ragged_sequences_of_vectors_step_by_step(rng):
    x = [rng.normal(size=(n, 4)) for n in (2, 5, 1)]
    layer = NormalizationLayer(epsilon=0.1, input=("Varying", 4), arrays=arrays(rng, 4))
    check_layer(layer, {"Input": x}, reference(0.1))


def test_matrices_row_by_row(rng):
    x = [rng.normal(size=(2, 3)) for _ in range(2)]
    check_layer(
        NormalizationLayer(input=(2, 3), arrays=arrays(rng, 3)), {"Input": x}, reference(1e-3)
    )


def test_defaults():
    layer = NetInitialize(NormalizationLayer(input=("Varying", 3)))
    assert layer.options == {"epsilon": 0.001}  # Wolfram's "Epsilon"
    assert np.array_equal(layer.arrays["Scaling"], np.ones(3))
    assert np.array_equal(layer.arrays["Biases"], np.zeros(3))
    y = layer(np.array([[1.0, 2.0, 6.0], [0.0, 0.0, 0.0]]))
    np.testing.assert_allclose(y.mean(axis=-1), 0, atol=1e-6)
    np.testing.assert_allclose(y[0].var(), 1 / (1 + 1e-3 / y.dtype.type(14 / 3)), rtol=1e-5)
    assert np.array_equal(y[1], np.zeros(3))  # a constant vector becomes Biases


def test_arrays_fix_the_size():
    layer = NormalizationLayer(arrays={"Scaling": [1.0, 2.0, 3.0]})
    assert NetChain([layer], input=("Varying", 3)).ports["Input"].dims[-1] == 3
    assert NormalizationLayer(input=(2, 4)).ports["Output"].dims == (2, 4)


@pytest.mark.parametrize("bad", [0, -1e-3, float("nan"), float("inf"), True, "0.001", None])
def test_bad_epsilon(bad):
    with pytest.raises(ValueError, match="epsilon must be a positive finite number"):
        NormalizationLayer(epsilon=bad)


@pytest.mark.parametrize(
    "kw, message",
    [
        ({"input": "Real"}, "it is a scalar"),
        ({"input": "Varying"}, "sequence of scalars"),
        ({"input": 2, "arrays": {"Scaling": [1.0, 2.0, 3.0]}}, "size 3"),
        ({"arrays": {"Scaling": [1.0, 2.0], "Biases": [0.0]}}, "must be equal"),
        ({"arrays": {"Biases": [[0.0]]}}, "must be a vector"),
        ({"arrays": {"Weights": [1.0]}}, 'unknown array "Weights"'),
    ],
)
def test_refusals(kw, message):
    with pytest.raises(ValueError, match=message):
        NormalizationLayer(**kw)


def test_unknown_option():
    with pytest.raises(TypeError, match="epsilon"):
        NormalizationLayer(eps=1e-5)


def test_pytorch_layer_norm(rng):
    torch = pytest.importorskip("torch", reason="this test compares with PyTorch (torch)")
    k = 6
    ln = torch.nn.LayerNorm(k, eps=1e-5, dtype=torch.float64)
    with torch.no_grad():
        ln.weight.copy_(torch.from_numpy(rng.uniform(0.5, 1.5, size=k)))
        ln.bias.copy_(torch.from_numpy(rng.normal(size=k)))
    layer = NormalizationLayer(
        epsilon=1e-5,
        input=("Varying", k),
        arrays={"Scaling": ln.weight.detach().numpy(), "Biases": ln.bias.detach().numpy()},
    )
    x = rng.normal(size=(4, k))
    want = ln(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(layer(x, working_precision="Real64"), want, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer(x.astype(np.float32)), want, rtol=1e-5, atol=1e-5)

    og = rng.normal(size=(4, k))
    xt = torch.from_numpy(x).requires_grad_()
    ln(xt).backward(torch.from_numpy(og))
    specs = [NetPortGradient("Input"), NetPortGradient(["Scaling"]), NetPortGradient(["Biases"])]
    dx, dg, db = layer(
        {"Input": x, NetPortGradient("Output"): og}, specs, working_precision="Real64"
    ).values()
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(dg, ln.weight.grad.numpy(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(db, ln.bias.grad.numpy(), rtol=1e-10, atol=1e-10)
