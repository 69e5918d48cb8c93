"""BatchNormalizationLayer through the shared harness (Test mode against a per-example
reference, Train mode's gradients against finite differences), its Train-mode batch
statistics against numpy over the real steps of ragged sequences, PyTorch's nn.BatchNorm1d
and nn.BatchNorm2d, and its refusals."""

import numpy as np
import pytest

from netgraph import (
    BatchNormalizationLayer,
    Information,
    LinearLayer,
    NetChain,
    NetInitialize,
    NetPortGradient,
)
from tests.harness import check_gradients, check_layer

EPS = 1e-3


def arrays(rng, c):
    return {
        "Scaling": rng.uniform(0.5, 1.5, size=c),
        "Biases": rng.normal(size=c),
        "MovingMean": rng.normal(size=c),
        "MovingVariance": rng.uniform(0.5, 2.0, size=c),
    }


def bshape(ndim, axis):
    s = [1] * ndim
    s[axis] = -1
    return s


def affine(x, a, axis, mu, var, eps):
    s = bshape(x.ndim, axis)
    return (x - mu.reshape(s)) / np.sqrt(var.reshape(s) + eps) * a["Scaling"].reshape(s) + a[
        "Biases"
    ].reshape(s)


def evaluation(axis, eps=EPS):
    """One example in Test mode: the moving statistics, channel axis ``axis`` of the example."""

    def ref(ex, a):
        x = ex["Input"]
        return {"Output": affine(x, a, axis, a["MovingMean"], a["MovingVariance"], eps)}

    return ref


def batch_reference(xs, a, axis, eps=EPS):
    """Train mode over a list of examples: each channel's mean and biased variance over every
    value of every example (the real steps only), then the affine map; and those statistics."""
    moved = [np.moveaxis(np.asarray(x, np.float64), axis, -1) for x in xs]
    c = moved[0].shape[-1]
    flat = np.concatenate([m.reshape(-1, c) for m in moved])
    mu, var = flat.mean(0), flat.var(0)
    return [affine(np.asarray(x, np.float64), a, axis, mu, var, eps) for x in xs], mu, var


def test_vectors(rng):
    x = [rng.normal(size=4) for _ in range(5)]
    check_layer(
        BatchNormalizationLayer(input=4, arrays=arrays(rng, 4)), {"Input": x}, evaluation(0)
    )


def test_ragged_sequences_channel_last(rng):
    x = [rng.normal(size=(n, 3)) for n in (2, 5, 1)]
    layer = BatchNormalizationLayer(epsilon=0.01, input=("Varying", 3), arrays=arrays(rng, 3))
    check_layer(layer, {"Input": x}, evaluation(1, 0.01))


def test_images_channel_first(rng):
    x = [rng.normal(size=(2, 3, 2)) for _ in range(3)]
    check_layer(
        BatchNormalizationLayer(input=(2, 3, 2), arrays=arrays(rng, 2)), {"Input": x}, evaluation(0)
    )


def test_interleaved_channel_last(rng):
    x = [rng.normal(size=(3, 2, 4)) for _ in range(3)]
    layer = BatchNormalizationLayer(interleaving=True, input=(3, 2, 4), arrays=arrays(rng, 4))
    check_layer(layer, {"Input": x}, evaluation(2))


@pytest.mark.parametrize(
    "shape, axis, kw",
    [
        ((4,), 0, {}),
        (("Varying", 3), 1, {}),
        ((2, 3, 2), 0, {}),
        ((3, 2, 4), 2, {"interleaving": True}),
    ],
)
def test_train_mode_is_the_batch_statistics(rng, shape, axis, kw):
    """Train mode normalizes with the batch's mean and biased variance, over the real steps
    of ragged sequences only: changing the padding length changes nothing."""
    c = shape[axis] if shape[0] != "Varying" else shape[1]
    a = arrays(rng, c)
    layer = BatchNormalizationLayer(input=shape, arrays=a, **kw)
    if shape[0] == "Varying":
        xs = [rng.normal(size=(n, c)) * 3 + 1 for n in (4, 1, 2)]
    else:
        xs = [rng.normal(size=shape) * 3 + 1 for _ in range(4)]
    want, _, _ = batch_reference(xs, a, axis)
    got = layer(xs, evaluation_mode="Train", working_precision="Real64")
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-12)
    test = layer(xs, working_precision="Real64")
    assert not np.allclose(test[0], got[0])


def test_train_mode_gradients_on_ragged_sequences(rng):
    """The full backward through the batch mean and variance (finite differences of the batch
    loss), with padding that must not count."""
    x = [rng.normal(size=(n, 2)) for n in (3, 1, 2)]
    layer = NetInitialize(BatchNormalizationLayer(input=("Varying", 2), arrays=arrays(rng, 2)))
    check_gradients(layer, {"Input": x}, evaluation_mode="Train", random_seed=1)


def test_train_mode_gradient_against_numpy(rng):
    """dx of Σ y·R in Train mode equals the closed form r·(d − mean d − x̂·mean(d·x̂))."""
    a = arrays(rng, 3)
    x = rng.normal(size=(6, 3))
    R = rng.normal(size=(6, 3))
    layer = BatchNormalizationLayer(input=3, arrays=a)
    res = layer(
        {"Input": x, NetPortGradient("Output"): R},
        [NetPortGradient("Input"), NetPortGradient(["Scaling"]), NetPortGradient(["Biases"])],
        evaluation_mode="Train",
        working_precision="Real64",
    )
    mu, var = x.mean(0), x.var(0)
    r = 1 / np.sqrt(var + EPS)
    xhat = (x - mu) * r
    d = R * a["Scaling"]
    dx = r * (d - d.mean(0) - xhat * (d * xhat).mean(0))
    np.testing.assert_allclose(res[NetPortGradient("Input")], dx, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(res[NetPortGradient(["Scaling"])], (R * xhat).sum(0), rtol=1e-10)
    np.testing.assert_allclose(res[NetPortGradient(["Biases"])], R.sum(0), rtol=1e-10)


def test_defaults_and_information():
    layer = NetInitialize(BatchNormalizationLayer(input=(3, 4, 4)))
    assert layer.options == {"epsilon": 0.001, "momentum": 0.9, "interleaving": False}
    assert [
        layer.arrays[n].tolist() for n in ("Scaling", "Biases", "MovingMean", "MovingVariance")
    ] == [
        [1, 1, 1],
        [0, 0, 0],
        [0, 0, 0],
        [1, 1, 1],
    ]
    net = NetChain({"lin": LinearLayer(2), "bn": BatchNormalizationLayer()}, input=3)
    assert Information(net, "UpdatedArraysPositionList") == [
        ("bn", "MovingMean"),
        ("bn", "MovingVariance"),
    ]


def test_a_plain_train_mode_call_changes_nothing(rng):
    layer = NetInitialize(BatchNormalizationLayer(input=2))
    before = {k: np.array(v) for k, v in layer.arrays.items()}
    layer(rng.normal(size=(4, 2)) + 5, evaluation_mode="Train")
    assert all(np.array_equal(layer.arrays[k], v) for k, v in before.items())


def test_moving_statistics_have_no_gradient(rng):
    layer = NetInitialize(BatchNormalizationLayer(input=2))
    with pytest.raises(
        ValueError, match='array "MovingMean" of the BatchNormalizationLayer has no gradient'
    ):
        layer(rng.normal(size=(3, 2)), NetPortGradient(["MovingMean"]))


def test_arrays_fix_the_channels():
    layer = BatchNormalizationLayer(arrays={"MovingMean": [0.0, 0.0, 0.0]})
    assert NetChain([layer], input=(3, 5)).ports["Input"].dims == (3, 5)
    assert NetChain([layer], input=("Varying", 3)).ports["Input"].dims[-1] == 3


@pytest.mark.parametrize(
    "kw, message",
    [
        ({"input": "Real"}, "it is a scalar"),
        ({"input": "Varying"}, "sequence of scalars"),
        ({"input": ("Varying", 2, 3)}, "sequence of rank 3"),
        ({"input": 2, "arrays": {"Scaling": [1.0, 2.0, 3.0]}}, "3 channels"),
        ({"input": (4, 5), "arrays": {"Biases": [0.0, 0.0]}}, "2 channels"),
        ({"arrays": {"Scaling": [1.0, 2.0], "MovingVariance": [1.0]}}, "must be equal"),
        ({"arrays": {"Weights": [1.0]}}, 'unknown array "Weights"'),
        ({"momentum": 1.5}, r"momentum must be a number in \[0, 1\]"),
        ({"momentum": "0.9"}, r"momentum must be a number in \[0, 1\]"),
        ({"epsilon": 0}, "epsilon must be a positive finite number"),
        ({"interleaving": "yes"}, "interleaving must be True"),
        (
            {"arrays": {"MovingVariance": [1.0, -0.5]}},
            r'"MovingVariance" is a variance and must be ≥ 0; it has \[-0.5\] at the indices \[1\]',
        ),
    ],
)
def test_refusals(kw, message):
    with pytest.raises(ValueError, match=message):
        BatchNormalizationLayer(**kw)


def _torch_bn(torch, rng, cls, c, momentum=0.1):
    bn = cls(c, eps=1e-5, momentum=momentum, dtype=torch.float64)
    with torch.no_grad():
        bn.weight.copy_(torch.from_numpy(rng.uniform(0.5, 1.5, size=c)))
        bn.bias.copy_(torch.from_numpy(rng.normal(size=c)))
        bn.running_mean.copy_(torch.from_numpy(rng.normal(size=c)))
        bn.running_var.copy_(torch.from_numpy(rng.uniform(0.5, 2.0, size=c)))
    return bn


def _ours(bn, shape, momentum):
    get = {
        n: getattr(bn, t).detach().numpy().copy()
        for n, t in [
            ("Scaling", "weight"),
            ("Biases", "bias"),
            ("MovingMean", "running_mean"),
            ("MovingVariance", "running_var"),
        ]
    }
    return BatchNormalizationLayer(epsilon=1e-5, momentum=1 - momentum, input=shape, arrays=get)


@pytest.mark.parametrize(
    "kind, shape", [("BatchNorm1d", (4,)), ("BatchNorm1d", (4, 5)), ("BatchNorm2d", (3, 4, 2))]
)
def test_pytorch_batch_norm(rng, kind, shape):
    """Eval outputs, Train outputs and gradients against torch in float64; the running
    statistics after one update (torch's momentum 0.1 is our 0.9; torch's running_var takes
    the unbiased variance, ours the biased one, as MXNet's and ONNX's)."""
    torch = pytest.importorskip("torch", reason="this test compares with PyTorch (torch)")
    bn = _torch_bn(torch, rng, getattr(torch.nn, kind), shape[0])
    layer = _ours(bn, shape, 0.1)
    x = rng.normal(size=(6, *shape)) * 2 + 0.5
    bn.eval()
    want = bn(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(layer(x, working_precision="Real64"), want, rtol=1e-12, atol=1e-12)

    bn.train()
    og = rng.normal(size=x.shape)
    xt = torch.from_numpy(x).requires_grad_()
    rm0, rv0 = bn.running_mean.clone().numpy(), bn.running_var.clone().numpy()
    y = bn(xt)
    y.backward(torch.from_numpy(og))
    train = layer(x, evaluation_mode="Train", working_precision="Real64")
    np.testing.assert_allclose(train, y.detach().numpy(), rtol=1e-10, atol=1e-10)
    specs = [NetPortGradient("Input"), NetPortGradient(["Scaling"]), NetPortGradient(["Biases"])]
    got = layer(
        {"Input": x, NetPortGradient("Output"): og},
        specs,
        evaluation_mode="Train",
        working_precision="Real64",
    )
    np.testing.assert_allclose(
        got[NetPortGradient("Input")], xt.grad.numpy(), rtol=1e-9, atol=1e-10
    )
    np.testing.assert_allclose(
        got[NetPortGradient(["Scaling"])], bn.weight.grad.numpy(), rtol=1e-9, atol=1e-10
    )
    np.testing.assert_allclose(
        got[NetPortGradient(["Biases"])], bn.bias.grad.numpy(), rtol=1e-9, atol=1e-10
    )

    # one update: the running mean alike; the variance torch's unbiased one, n/(n−1) ours
    axes = tuple(i for i in range(x.ndim) if i != 1)
    n = x.size // x.shape[1]
    mean, var = x.mean(axis=axes), x.var(axis=axes)
    np.testing.assert_allclose(bn.running_mean.numpy(), 0.9 * rm0 + 0.1 * mean, rtol=1e-12)
    np.testing.assert_allclose(
        bn.running_var.numpy(), 0.9 * rv0 + 0.1 * var * n / (n - 1), rtol=1e-12
    )
