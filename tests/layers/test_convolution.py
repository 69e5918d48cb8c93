"""ConvolutionLayer and PoolingLayer through the shared harness (against a loop-by-loop numpy
reference), ragged sequences, shape inference and refusals."""

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netgraph import (
    ConvolutionLayer,
    NetChain,
    NetInitialize,
    NetPortGradient,
    PoolingLayer,
)
from tests.harness import check_layer


def same_pads(n, k, s, d):
    total = max((math.ceil(n / s) - 1) * s + d * (k - 1) + 1 - n, 0)
    return total // 2, total - total // 2


def pads_of(padding, sizes, kernel, stride, dilation):
    if padding == "Same":
        return [same_pads(*a) for a in zip(sizes, kernel, stride, dilation)]
    if isinstance(padding, int):
        return [(padding, padding)] * len(sizes)
    return [p if isinstance(p, tuple) else (p, p) for p in padding]


def conv_ref(x, w, b, stride, dilation, padding, groups):
    """x (c, *S), w (n, c/g, *K): a direct loop over output channels and positions."""
    n, cg, K = w.shape[0], w.shape[1], w.shape[2:]
    pads = pads_of(padding, x.shape[1:], K, stride, dilation)
    xp = np.pad(x, [(0, 0)] + pads)
    out = [(xp.shape[1 + i] - dilation[i] * (K[i] - 1) - 1) // stride[i] + 1 for i in range(len(K))]
    y = np.zeros((n, *out))
    for o in range(n):
        g = o // (n // groups)
        xs = xp[g * cg : (g + 1) * cg]
        for pos in np.ndindex(*out):
            win = tuple(
                slice(p * s, p * s + dl * (k - 1) + 1, dl)
                for p, s, dl, k in zip(pos, stride, dilation, K)
            )
            y[(o, *pos)] = np.sum(xs[(slice(None), *win)] * w[o]) + (0.0 if b is None else b[o])
    return y


def pool_ref(x, kernel, stride, padding, function):
    """x (c, *S): Max ignores padding, Mean divides by the whole window (padding counted)."""
    pads = pads_of(padding, x.shape[1:], kernel, stride, (1,) * len(kernel))
    xp = np.pad(x, [(0, 0)] + pads, constant_values=np.nan)
    out = [(xp.shape[1 + i] - kernel[i]) // stride[i] + 1 for i in range(len(kernel))]
    y = np.zeros((x.shape[0], *out))
    for pos in np.ndindex(*out):
        win = xp[(slice(None), *(slice(p * s, p * s + k) for p, s, k in zip(pos, stride, kernel)))]
        win = win.reshape(len(x), -1)
        if function == "Max":
            y[(slice(None), *pos)] = np.nanmax(win, axis=1)
        else:
            total = np.nansum(win, axis=1)
            y[(slice(None), *pos)] = total / win.shape[1] if function == "Mean" else total
    return y


def channel_first(x, interleaving):
    return np.moveaxis(x, -1, 0) if interleaving else x


def conv_reference(stride, dilation, padding, groups=1, interleaving=False):
    def ref(ex, a):
        x = channel_first(ex["Input"], interleaving)
        y = conv_ref(x, a["Weights"], a.get("Biases"), stride, dilation, padding, groups)
        return {"Output": np.moveaxis(y, 0, -1) if interleaving else y}

    return ref


def pool_reference(kernel, stride, padding, function, interleaving=False):
    def ref(ex, a):
        y = pool_ref(channel_first(ex["Input"], interleaving), kernel, stride, padding, function)
        return {"Output": np.moveaxis(y, 0, -1) if interleaving else y}

    return ref


# -- ConvolutionLayer ----------------------------------------------------------------------


def test_1d_channel_first_stride_padding_dilation(rng):
    layer = ConvolutionLayer(3, 2, stride=2, padding_size=1, dilation=2, input=(2, 7))
    assert layer.ports["Output"].dims == (3, 4)  # ⌊(7 + 2 − 2 − 1)/2⌋ + 1
    x = [rng.normal(size=(2, 7)) for _ in range(2)]
    check_layer(layer, {"Input": x}, conv_reference((2,), (2,), 1))


def test_2d_groups_asymmetric_padding(rng):
    layer = ConvolutionLayer(
        4,
        (2, 3),
        stride=(1, 2),
        padding_size=((1, 0), (0, 2)),
        dilation=(2, 1),
        channel_groups=2,
        input=(4, 4, 5),
    )
    assert layer.ports["Output"].dims == (4, 3, 3)
    x = [rng.normal(size=(4, 4, 5)) for _ in range(2)]
    check_layer(layer, {"Input": x}, conv_reference((1, 2), (2, 1), ((1, 0), (0, 2)), groups=2))


def test_2d_channel_last_same_without_biases(rng):
    layer = ConvolutionLayer(
        2, (3, 2), stride=2, padding_size="Same", interleaving=True, biases=None, input=(5, 4, 3)
    )
    assert layer.ports["Output"].dims == (3, 2, 2)
    assert set(NetInitialize(layer).arrays) == {"Weights"}
    x = [rng.normal(size=(5, 4, 3)) for _ in range(2)]
    check_layer(layer, {"Input": x}, conv_reference((2, 2), (1, 1), "Same", interleaving=True))


def test_sequence_keeps_its_length(rng):
    layer = ConvolutionLayer(3, 3, padding_size=1, interleaving=True, input=("Varying", 2))
    assert layer.ports["Output"].dims[0] is layer.ports["Input"].dims[0]  # one length
    x = [rng.normal(size=(n, 2)) for n in (5, 2, 7)]
    check_layer(layer, {"Input": x}, conv_reference((1,), (1,), 1, interleaving=True))


@pytest.mark.parametrize(
    "padding, stride, dilation, sizes",
    [("Same", 2, 1, (5, 4, 8, 1)), (0, 2, 2, (5, 6, 8)), (((2, 1),), 3, 1, (4, 6, 1))],
)
def test_ragged_sequences_with_lengths_of_their_own(rng, padding, stride, dilation, sizes):
    layer = ConvolutionLayer(
        2,
        3,
        stride=stride,
        dilation=dilation,
        padding_size=padding,
        interleaving=True,
        input=("Varying", 3),
    )
    x, y = layer.ports["Input"].dims[0], layer.ports["Output"].dims[0]
    assert x is not y  # a length of its own
    pads = padding if padding == "Same" else [padding] if isinstance(padding, int) else padding
    geo = ((stride,), (dilation,), pads)

    def length(ex):
        n = len(ex["Input"])
        ((pl, pr),) = pads_of(pads, (n,), (3,), (stride,), (dilation,))
        return (n + pl + pr - dilation * 2 - 1) // stride + 1

    xs = [rng.normal(size=(n, 3)) for n in sizes]
    check_layer(
        layer, {"Input": xs}, conv_reference(*geo, interleaving=True), lengths={"Output": length}
    )
    outs = NetInitialize(layer)(xs)
    assert [len(o) for o in outs] == [length({"Input": x}) for x in xs]


def test_wide_channel_last_layout(rng):
    """At least 16 channels per group, channel-last: the windows are copied in runs of
    channel vectors (the other im2col layout), over ragged sequences and over 2-D maps."""
    layer = ConvolutionLayer(
        4,
        3,
        stride=2,
        padding_size="Same",
        channel_groups=2,
        interleaving=True,
        input=("Varying", 32),
    )
    xs = [rng.normal(size=(n, 32)) for n in (5, 2, 6)]
    ref = conv_reference((2,), (1,), "Same", groups=2, interleaving=True)
    check_layer(
        layer, {"Input": xs}, ref, lengths={"Output": lambda ex: math.ceil(len(ex["Input"]) / 2)}
    )
    layer = ConvolutionLayer(
        3, (2, 2), dilation=(1, 2), padding_size=1, interleaving=True, input=(3, 4, 16)
    )
    x = [rng.normal(size=(3, 4, 16)) for _ in range(2)]
    check_layer(layer, {"Input": x}, conv_reference((1, 1), (1, 2), 1, interleaving=True))


def test_padding_never_changes_a_sequence(rng):
    """A batch with a long sequence next to a short one: the short one's outputs equal its
    outputs alone, even the last ones, whose windows reach past its end."""
    layer = NetInitialize(
        ConvolutionLayer(
            2, 3, stride=2, padding_size="Same", interleaving=True, input=("Varying", 1)
        ),
        random_seed=1,
    )
    short, long = np.ones((3, 1)), 5 * np.ones((9, 1))
    alone = layer(short[None])[0]
    both = layer([long, short])[1]
    np.testing.assert_array_equal(both, alone)
    w = layer.arrays["Weights"][:, 0, :].astype(np.float64)
    # length 3, stride 2, "Same": output ⌈3/2⌉ = 2, padding (1, 1): windows [0, x0, x1], [x1, x2, 0]
    np.testing.assert_allclose(alone[0], w[:, 1:].sum(1), rtol=1e-6)
    np.testing.assert_allclose(alone[1], w[:, :2].sum(1), rtol=1e-6)


def test_sequence_too_short_is_refused():
    layer = NetInitialize(ConvolutionLayer(2, 4, interleaving=True, input=("Varying", 1)))
    layer([np.ones((4, 1))])
    with pytest.raises(ValueError, match=r"sequence of length 2 is too short.*length ≥ 4"):
        layer([np.ones((5, 1)), np.ones((2, 1))])


def test_gradients_against_weights_layout(rng):
    """The weights gradient comes back in Wolfram's layout (n, c/g, kh, kw)."""
    layer = NetInitialize(ConvolutionLayer(4, (2, 3), channel_groups=2, input=(6, 3, 4)))
    x = rng.normal(size=(2, 6, 3, 4))
    g = layer(x, NetPortGradient(["Weights"]), working_precision="Real64")
    assert g.shape == (4, 3, 2, 3)
    # every output is a sum of Weights·window; the sum of outputs' gradient is Σ windows
    xs = x.sum(0)
    np.testing.assert_allclose(g[0, 0, 0, 0], xs[0, :2, :2].sum(), rtol=1e-10)
    np.testing.assert_allclose(g[2, 1, 1, 2], xs[4, 1:, 2:].sum(), rtol=1e-10)


def test_shapes_inferred_from_the_weights():
    w = np.zeros((4, 3, 2, 2))
    layer = ConvolutionLayer(4, (2, 2), channel_groups=2, weights=w)
    assert layer.ports["Input"].dims == (6, None, None)
    chain = NetChain([layer], input=(6, 5, 5))
    assert chain.ports["Output"].dims == (4, 4, 4)
    assert ConvolutionLayer(5, (3, 3), input=(3, 8, 8)).array_shapes(
        ConvolutionLayer(5, (3, 3), input=(3, 8, 8)).ports
    ) == {"Weights": (5, 3, 3, 3), "Biases": (5,)}


@pytest.mark.parametrize(
    "args, kw, message",
    [
        ((0, 3), {}, "n .output channels. must be a positive int"),
        ((2, (1, 2, 3)), {}, "kernel_size must be a positive int"),
        ((2, 3), {"stride": 0}, "stride must be a positive int"),
        ((2, (3, 3)), {"dilation": (1, 2, 3)}, "dilation must be a positive int or a tuple of 2"),
        ((2, 3), {"padding_size": -1}, 'padding_size must be "Same"'),
        ((2, 3), {"padding_size": "Valid"}, 'padding_size must be "Same"'),
        ((4, 3), {"channel_groups": 3}, "channel_groups must be a positive int that divides n = 4"),
        ((4, 3), {"interleaving": 1}, "interleaving must be True or False"),
        ((2, 3), {"input": ("Varying", 4)}, "give interleaving=True"),
        ((2, (3, 3)), {"input": ("Varying", 4, 4)}, "give interleaving=True"),
        ((2, 3), {"input": (3, 2)}, r"size 2 in spatial dimension 1, too small.*size ≥ 3"),
        ((2, (3, 3)), {"input": (3, 8)}, r"rank 3, \(channels, height, width\), for a 2-D"),
        ((2, 3), {"input": (3, 8), "weights": np.zeros((2, 2, 3))}, "has 3 channels, but array"),
        ((2, 3), {"weights": np.zeros((2, 2, 4))}, 'array "Weights" has shape'),
        ((2, 3), {"biases": np.zeros(3)}, 'array "Biases" has shape'),
        ((4, 3), {"channel_groups": 2, "input": (3, 8)}, "3 channels, which channel_groups=2"),
    ],
)
def test_convolution_refusals(args, kw, message):
    with pytest.raises(ValueError, match=message):
        ConvolutionLayer(*args, **kw)


def test_unknown_option():
    with pytest.raises(TypeError, match="padding_size"):
        ConvolutionLayer(2, 3, padding=1)


# -- PoolingLayer --------------------------------------------------------------------------


@pytest.mark.parametrize("function", ["Max", "Mean", "Total"])
def test_pooling_1d_padding(rng, function):
    layer = PoolingLayer(3, 2, function=function, padding_size=((1, 2),), input=(2, 6))
    assert layer.ports["Output"].dims == (2, 4)
    x = [rng.normal(size=(2, 6)) for _ in range(2)]
    check_layer(layer, {"Input": x}, pool_reference((3,), (2,), ((1, 2),), function))


@pytest.mark.parametrize("function", ["Max", "Mean"])
def test_pooling_2d(rng, function):
    layer = PoolingLayer(
        (2, 3), (2, 1), function=function, padding_size=((1, 1), (0, 2)), input=(2, 4, 4)
    )
    x = [rng.normal(size=(2, 4, 4)) for _ in range(2)]
    check_layer(layer, {"Input": x}, pool_reference((2, 3), (2, 1), ((1, 1), (0, 2)), function))


def test_pooling_2d_channel_last_same(rng):
    layer = PoolingLayer(
        (2, 2), 2, padding_size="Same", function="Total", interleaving=True, input=(5, 3, 2)
    )
    assert layer.ports["Output"].dims == (3, 2, 2)
    x = [rng.normal(size=(5, 3, 2)) for _ in range(2)]
    ref = pool_reference((2, 2), (2, 2), "Same", "Total", interleaving=True)
    check_layer(layer, {"Input": x}, ref)


@pytest.mark.parametrize("function", ["Max", "Mean", "Total"])
def test_pooling_ragged_sequences(rng, function):
    layer = PoolingLayer(
        3, 2, function=function, padding_size="Same", interleaving=True, input=("Varying", 2)
    )

    def length(ex):
        return math.ceil(len(ex["Input"]) / 2)

    # all-negative values: a Max that took the batch padding's zeros would be wrong
    xs = [-rng.uniform(1, 2, size=(n, 2)) for n in (5, 2, 6, 1)]
    ref = pool_reference((3,), (2,), "Same", function, interleaving=True)
    check_layer(layer, {"Input": xs}, ref, lengths={"Output": length})


def test_pooling_defaults():
    layer = PoolingLayer(2)
    assert layer.options["stride"] == (1,) and layer.options["function"] == "Max"
    np.testing.assert_array_equal(layer([[1.0, 3.0, 2.0]]), [[3.0, 3.0]])
    seq = PoolingLayer(2, padding_size=((0, 1),), interleaving=True, input=("Varying", 1))
    assert seq.ports["Output"].dims[0] is seq.ports["Input"].dims[0]


@pytest.mark.parametrize(
    "args, kw, message",
    [
        ((), {}, "kernel_size must be a positive int"),
        ((2,), {"function": "Min"}, "unknown function 'Min'"),
        ((2,), {"padding_size": 2}, "padding_size must be smaller than the kernel"),
        ((2, (1, 1)), {}, "stride must be a positive int or a tuple of 1"),
        ((2,), {"input": ("Varying", 3)}, "give interleaving=True"),
        ((2,), {"input": 3, "output": (4, 2)}, 'port "Input" must be an array of rank 2'),
        ((2,), {"input": (3, 5), "output": (4, 4)}, 'port "Output"'),
    ],
)
def test_pooling_refusals(args, kw, message):
    with pytest.raises(ValueError, match=message):
        PoolingLayer(*args, **kw)


# -- PyTorch parity ------------------------------------------------------------------------


def _torch_padded(torch, x, padding, nd):
    """x padded as the layer pads it (torch's own padding is symmetric only)."""
    flat = [q for p in reversed(padding) for q in p]  # F.pad: last dimension first
    return torch.nn.functional.pad(x, flat) if any(flat) else x


@pytest.mark.parametrize(
    "kernel, stride, padding, dilation, groups, size",
    [
        (3, 2, ((1, 2),), 2, 1, (4, 11)),
        (4, 1, ((0, 0),), 1, 2, (4, 9)),
        ((3, 2), (2, 1), ((1, 1), (0, 1)), (1, 2), 2, (4, 7, 6)),
        ((1, 3), 1, ((0, 0), (2, 2)), 1, 1, (3, 5, 5)),
    ],
)
def test_pytorch_conv(rng, kernel, stride, padding, dilation, groups, size):
    torch = pytest.importorskip("torch", reason="this test compares with PyTorch (torch)")
    F = torch.nn.functional
    nd = len(size) - 1
    n = 6
    layer = ConvolutionLayer(
        n,
        kernel,
        stride=stride,
        padding_size=padding,
        dilation=dilation,
        channel_groups=groups,
        input=size,
    )
    layer = NetInitialize(layer, random_seed=3)
    w = np.asarray(layer.arrays["Weights"], np.float64)
    b = rng.normal(size=n)
    layer = ConvolutionLayer(
        n,
        kernel,
        stride=stride,
        padding_size=padding,
        dilation=dilation,
        channel_groups=groups,
        input=size,
        weights=w,
        biases=b,
    )
    conv = F.conv1d if nd == 1 else F.conv2d
    x = rng.normal(size=(3, *size))
    xt = torch.from_numpy(x).requires_grad_()
    wt, bt = torch.from_numpy(w).requires_grad_(), torch.from_numpy(b).requires_grad_()
    kw = {"stride": stride, "dilation": dilation, "groups": groups}
    want = conv(_torch_padded(torch, xt, padding, nd), wt, bt, **kw)
    np.testing.assert_allclose(
        layer(x, working_precision="Real64"), want.detach().numpy(), 1e-12, 1e-12
    )
    np.testing.assert_allclose(layer(x.astype(np.float32)), want.detach().numpy(), 1e-5, 1e-5)

    og = rng.normal(size=tuple(want.shape))
    want.backward(torch.from_numpy(og))
    specs = [NetPortGradient("Input"), NetPortGradient(["Weights"]), NetPortGradient(["Biases"])]
    for precision, tol in (("Real64", 1e-11), ("Real32", 2e-4)):
        dx, dw, db = layer(
            {"Input": x, NetPortGradient("Output"): og}, specs, working_precision=precision
        ).values()
        np.testing.assert_allclose(dx, xt.grad.numpy(), tol, tol)
        np.testing.assert_allclose(dw, wt.grad.numpy(), tol, tol)
        np.testing.assert_allclose(db, bt.grad.numpy(), tol, tol)


def test_pytorch_conv1d_over_time(rng):
    """A sequence of vectors ("Varying", c) with interleaving=True is conv1d over time,
    after a transpose (N, T, C) → (N, C, T), each sequence on its own."""
    torch = pytest.importorskip("torch", reason="this test compares with PyTorch (torch)")
    layer = NetInitialize(
        ConvolutionLayer(5, 3, padding_size=1, interleaving=True, input=("Varying", 4)),
        random_seed=2,
    )
    w = torch.from_numpy(np.asarray(layer.arrays["Weights"], np.float64))
    b = torch.from_numpy(np.asarray(layer.arrays["Biases"], np.float64))
    xs = [rng.normal(size=(t, 4)) for t in (6, 3)]
    got = layer(xs, working_precision="Real64")
    for x, y in zip(xs, got):
        want = torch.nn.functional.conv1d(torch.from_numpy(x.T)[None], w, b, padding=1)[0].T
        np.testing.assert_allclose(y, want.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("function", ["Max", "Mean", "Total"])
@pytest.mark.parametrize(
    "kernel, stride, padding, size",
    [(3, 2, 1, (3, 8)), ((2, 3), (2, 1), (1, 1), (2, 5, 6)), ((2, 2), 2, 0, (2, 6, 6))],
)
def test_pytorch_pooling(rng, function, kernel, stride, padding, size):
    torch = pytest.importorskip("torch", reason="this test compares with PyTorch (torch)")
    F = torch.nn.functional
    nd = len(size) - 1
    layer = PoolingLayer(kernel, stride, function=function, padding_size=padding, input=size)
    x = rng.normal(size=(2, *size))
    xt = torch.from_numpy(x).requires_grad_()
    if function == "Max":
        want = (F.max_pool1d if nd == 1 else F.max_pool2d)(xt, kernel, stride, padding)
    else:  # Wolfram's Mean counts the padding: count_include_pad=True
        want = (F.avg_pool1d if nd == 1 else F.avg_pool2d)(
            xt, kernel, stride, padding, count_include_pad=True
        )
        if function == "Total":
            want = want * int(np.prod(kernel))
    np.testing.assert_allclose(
        layer(x, working_precision="Real64"), want.detach().numpy(), 1e-12, 1e-12
    )
    og = rng.normal(size=tuple(want.shape))
    want.backward(torch.from_numpy(og))
    dx = layer(
        {"Input": x, NetPortGradient("Output"): og},
        NetPortGradient("Input"),
        working_precision="Real64",
    )
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-12, atol=1e-12)


# -- properties ----------------------------------------------------------------------------

geometry = st.fixed_dictionaries(
    {
        "nd": st.integers(1, 2),
        "k": st.integers(1, 3),
        "s": st.integers(1, 3),
        "d": st.integers(1, 2),
        "pad": st.one_of(st.just("Same"), st.integers(0, 2)),
        "size": st.integers(1, 7),
        "interleaving": st.booleans(),
        "pool": st.booleans(),
    }
)


@settings(deadline=None, max_examples=40, suppress_health_check=[HealthCheck.too_slow])
@given(g=geometry, seed=st.integers(0, 2**16))
def test_inferred_sizes_are_the_formula_and_the_outputs(g, seed):
    """Any valid construction infers ⌊(L + pl + pr − d·(K−1) − 1)/s⌋ + 1 (⌈L/s⌉ "Same") per
    dimension, and the output computed has that shape; too small an input is refused."""
    nd, k, s, d, pad, L = g["nd"], g["k"], g["s"], g["d"], g["pad"], g["size"]
    if g["pool"]:
        d, pad = 1, pad if pad == "Same" or pad < k else k - 1
    ext = d * (k - 1) + 1
    want = -(-L // s) if pad == "Same" else (L + 2 * pad - ext) // s + 1
    shape = (L,) * nd + (2,) if g["interleaving"] else (2,) + (L,) * nd
    kw = {"padding_size": pad, "interleaving": g["interleaving"], "input": shape}
    kernel = k if nd == 1 else (k, k)

    def make():
        if g["pool"]:
            return PoolingLayer(kernel, s, **kw)
        return ConvolutionLayer(3, kernel, stride=s, dilation=d, **kw)

    if want < 1:
        with pytest.raises(ValueError, match="too small"):
            make()
        return
    layer = NetInitialize(make(), random_seed=seed)
    c = 2 if g["pool"] else 3
    expected = (want,) * nd + (c,) if g["interleaving"] else (c,) + (want,) * nd
    assert layer.ports["Output"].dims == expected
    x = np.random.default_rng(seed).normal(size=shape)
    assert layer(x).shape == expected
