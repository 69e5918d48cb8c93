"""from_pytorch and to_pytorch_state_dict (netgraph/io/pytorch.py) against PyTorch itself:
outputs and gradients (input and every array) of converted modules, on ragged and full
batches, in float64 (to 1e-12) and float32 (to 1e-5); state dicts loaded into torch modules;
the refusals. Skipped when torch is not installed."""

from __future__ import annotations

import copy
from collections import OrderedDict

import numpy as np
import pytest

from netgraph import (
    BasicRecurrentLayer,
    ConvolutionLayer,
    DropoutLayer,
    EmbeddingLayer,
    GatedRecurrentLayer,
    Information,
    LinearLayer,
    LongShortTermMemoryLayer,
    NetChain,
    NetInitialize,
    NetPort,
    NetPortGradient,
    NetReplacePart,
    PoolingLayer,
    from_pytorch,
    to_pytorch_state_dict,
)

torch = pytest.importorskip("torch", reason="these tests compare with PyTorch (torch)")
nn = torch.nn

K, N = 3, 4
LENGTHS = [5, 2, 4]
PRECISION = {torch.float64: ("Real64", 1e-12), torch.float32: ("Real32", 1e-5)}


def close(actual, expected, tol):
    """Equal to ``tol`` times the larger of 1 and the largest magnitude of ``expected``."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape
    scale = max(1.0, float(np.max(np.abs(expected), initial=0.0)))
    np.testing.assert_allclose(actual, expected, rtol=0, atol=tol * scale)


def recurrent(kind: str, dtype, **kw):
    """A torch recurrent module with random weights; "GRU-no-b_hn": a GRU whose b_hn (inside
    the reset product) is zero, which converts to Wolfram's plain GRU."""
    torch.manual_seed(0)
    if kind.startswith("RNN"):
        m = nn.RNN(K, N, nonlinearity=kind[4:], **kw)
    else:
        m = getattr(nn, kind[:3] if kind.startswith("GRU") else kind)(K, N, **kw)
    m = m.to(dtype).eval()
    with torch.no_grad():
        for name, p in m.named_parameters():
            p.copy_(torch.randn_like(p) * 0.5)
            if kind == "GRU-no-b_hn" and name.startswith("bias_hh"):
                p[2 * N :] = 0
    return m


def torch_run(m, xs: list, ogs: list, batch_first: bool, ragged: bool):
    """The module's output sequences, the input gradients and the parameter gradients of
    Σ output·og, on a packed (ragged) or plain batch."""
    x = torch.nn.utils.rnn.pad_sequence([torch.from_numpy(v) for v in xs], batch_first=True)
    x.requires_grad_(True)
    xin = x if batch_first else x.transpose(0, 1)
    m.zero_grad()
    if ragged:
        packed = nn.utils.rnn.pack_padded_sequence(
            xin, [len(v) for v in xs], batch_first=batch_first, enforce_sorted=False
        )
        y, _ = nn.utils.rnn.pad_packed_sequence(m(packed)[0], batch_first=True)
    else:
        y = m(xin)[0]
        y = y if batch_first else y.transpose(0, 1)
    og = nn.utils.rnn.pad_sequence([torch.from_numpy(v) for v in ogs], batch_first=True)
    (y * og).sum().backward()
    grads = {k: p.grad.numpy().copy() for k, p in m.named_parameters()}
    return y.detach().numpy(), x.grad.numpy(), grads


def netgraph_run(net, xs, ogs, precision: str, ragged: bool):
    """The net's outputs, input gradients and array gradients, the last as a PyTorch state
    dict (to_pytorch_state_dict of the net holding its gradients as arrays)."""
    xs_in = xs if ragged else np.stack(xs)
    ogs_in = ogs if ragged else np.stack(ogs)
    y = net(xs_in, working_precision=precision)
    keys = list(Information(net, "Arrays"))
    specs = [NetPortGradient("Input")] + [NetPortGradient(list(k)) for k in keys]
    g = net({"Input": xs_in, NetPortGradient("Output"): ogs_in}, specs, working_precision=precision)
    grads = {k if len(k) > 1 else k[0]: g[s] for k, s in zip(keys, specs[1:])}
    return y, g[specs[0]], to_pytorch_state_dict(NetReplacePart(net, grads))


def compare_grads(ours: dict, theirs: dict, tol, gru: bool = False) -> None:
    """Every parameter gradient but bias_hh's (netgraph has one bias per gate: its gradient
    is bias_ih's), and a GRU's b_hn block of bias_hh (its "MemoryGateStateBiases")."""
    for k, v in theirs.items():
        if "bias_hh" not in k:
            close(ours[k], v, tol)
        elif gru:
            close(ours[k][2 * N :], v[2 * N :], tol)


def data(dtype, ragged: bool, k=K, n=N):
    rng = np.random.default_rng(2)
    lengths = LENGTHS if ragged else [max(LENGTHS)] * len(LENGTHS)
    np_dt = np.float64 if dtype == torch.float64 else np.float32
    xs = [rng.normal(size=(t, k)).astype(np_dt) for t in lengths]
    ogs = [rng.normal(size=(t, n)).astype(np_dt) for t in lengths]
    return xs, ogs


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("ragged", [True, False], ids=["ragged", "full"])
@pytest.mark.parametrize("batch_first", [True, False], ids=["batch_first", "time_first"])
@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("kind", ["LSTM", "GRU", "GRU-no-b_hn", "RNN-tanh", "RNN-relu"])
def test_recurrent_outputs_and_gradients_match_torch(kind, layers, batch_first, ragged, dtype):
    m = recurrent(kind, dtype, num_layers=layers, batch_first=batch_first)
    net = from_pytorch(m)
    precision, tol = PRECISION[dtype]
    xs, ogs = data(dtype, ragged)
    y, dx, grads = netgraph_run(net, xs, ogs, precision, ragged)
    ty, tdx, tgrads = torch_run(m, xs, ogs, batch_first, ragged)
    for b, t in enumerate(LENGTHS if ragged else [max(LENGTHS)] * 3):
        close(y[b], ty[b, :t], tol)
        close(dx[b], tdx[b, :t], tol)
        assert not np.any(ty[b, t:])  # torch pads with zeros too
    compare_grads(grads, tgrads, tol, gru=kind == "GRU")
    assert set(grads) == set(tgrads)
    if kind.startswith("GRU"):  # b_hn nonzero: the mode that holds it; zero: the plain GRU
        mode = "recurrent-bias-after-multiplication" if kind == "GRU" else "after-multiplication"
        grus = [v for v in Information(net, "Layers").values() if "reset_gate_mode" in v.options]
        assert {g.options["reset_gate_mode"] for g in grus} == {mode}
    assert y[0].dtype == (np.float64 if dtype == torch.float64 else np.float32)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN-tanh"])
def test_bidirectional_modules_match_torch_on_ragged_batches(kind, layers, dtype):
    m = recurrent(kind, dtype, num_layers=layers, bidirectional=True, batch_first=True)
    net = from_pytorch(m)
    assert type(net if layers == 1 else net.layers["l1"]).__name__ == "NetBidirectionalOperator"
    precision, tol = PRECISION[dtype]
    xs, ogs = data(dtype, True, n=2 * N)
    y, dx, grads = netgraph_run(net, xs, ogs, precision, True)
    ty, tdx, tgrads = torch_run(m, xs, ogs, True, True)
    for b, t in enumerate(LENGTHS):
        close(y[b], ty[b, :t], tol)
        close(dx[b], tdx[b, :t], tol)
    assert set(grads) == set(tgrads)  # "_reverse" keys for the backward nets
    compare_grads(grads, tgrads, tol, gru=kind == "GRU")


def test_to_pytorch_state_dict_refuses_a_bidirectional_operator_torch_lacks():
    from netgraph import BasicRecurrentLayer, NetBidirectionalOperator, NetInitialize

    net = NetBidirectionalOperator(BasicRecurrentLayer(2), "Total", input=("Varying", 1))
    with pytest.raises(ValueError, match='joined by "Catenate"'):
        to_pytorch_state_dict(NetInitialize(net))


def test_final_states_match_torch():
    m = recurrent("LSTM", torch.float64, batch_first=True)
    xs, _ = data(torch.float64, ragged=True)
    net = from_pytorch(m)
    out = net(xs, [NetPort("State"), NetPort("CellState")], working_precision="Real64")
    x = nn.utils.rnn.pad_sequence([torch.from_numpy(v) for v in xs], batch_first=True)
    packed = nn.utils.rnn.pack_padded_sequence(x, LENGTHS, batch_first=True, enforce_sorted=False)
    _, (h, c) = m(packed)
    for b in range(len(xs)):
        close(out[NetPort("State")][b], h[0, b].detach().numpy(), 1e-12)
        close(out[NetPort("CellState")][b], c[0, b].detach().numpy(), 1e-12)


def test_stacked_layers_and_dropout_between_them():
    m = recurrent("GRU", torch.float32, num_layers=3, dropout=0.25)
    net = from_pytorch(m)
    assert list(net.layers) == ["l0", "dropout_l0", "l1", "dropout_l1", "l2"]
    drop = net.layers["dropout_l1"]
    assert isinstance(drop, DropoutLayer) and drop.options == {"p": 0.25, "method": "Dropout"}
    assert net.ports["Input"].dims[1] == K and net.ports["Output"].dims[1] == N
    assert list(from_pytorch(recurrent("GRU", torch.float32, num_layers=2)).layers) == ["l0", "l1"]


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN-tanh"])
def test_without_biases(kind):
    torch.manual_seed(0)
    m = recurrent(kind, torch.float64, bias=False, num_layers=2, batch_first=True)
    net = from_pytorch(m)
    layer = net.layers["l1"]
    biases = [a for a in layer.arrays if a.endswith("Biases")]
    assert all(not np.any(layer.arrays[a]) for a in biases)
    assert layer.options["learning_rate_multipliers"] == dict.fromkeys(biases, 0.0)
    state = to_pytorch_state_dict(net)
    assert sorted(state) == sorted(m.state_dict())  # no bias keys: loads into bias=False
    xs, _ = data(torch.float64, ragged=False)
    close(
        net(np.stack(xs), working_precision="Real64"),
        m(torch.from_numpy(np.stack(xs)))[0].detach(),
        1e-12,
    )


# -- nn.Sequential and the other modules -----------------------------------------------------


def sequential_run(s, x, og):
    """Output and input gradient of Σ output·og, a recurrent module standing for its output
    sequence (element 0 of what it returns)."""
    x = torch.from_numpy(x).requires_grad_(x.dtype.kind == "f")
    y = x
    for m in s:
        y = m(y)
        y = y[0] if isinstance(y, tuple) else y
    (y * torch.from_numpy(og)).sum().backward()
    return y.detach().numpy(), None if x.grad is None else x.grad.numpy()


def same_as_sequential(net, s, x, og) -> None:
    """The net's output and input gradient of Σ output·og equal the float64 Sequential's."""
    ty, tdx = sequential_run(s, x, og)
    close(net(x, working_precision="Real64"), ty, 1e-12)
    dx = net(
        {"Input": x, NetPortGradient("Output"): og},
        NetPortGradient("Input"),
        working_precision="Real64",
    )
    close(dx, tdx, 1e-12)


@pytest.mark.parametrize(
    "activation",
    [
        nn.ReLU(),
        nn.Tanh(),
        nn.Sigmoid(),
        nn.Softsign(),
        nn.ELU(),
        nn.SELU(),
        nn.GELU(),
        nn.Identity(),
        nn.Dropout(0.3),
        nn.Softmax(dim=-1),
    ],
    ids=lambda m: type(m).__name__,
)
def test_mlp_with_each_activation(activation):
    torch.manual_seed(1)
    s = (
        nn.Sequential(nn.Linear(K, 5), activation, nn.Linear(5, 2), nn.Softmax(dim=-1))
        .double()
        .eval()
    )
    net = from_pytorch(s)
    assert net.ports["Input"].dims == (K,)
    x = np.random.default_rng(3).normal(size=(6, K)) * 2
    same_as_sequential(net, s, x, np.random.default_rng(4).normal(size=(6, 2)))
    expected = ["0", "2", "3"] if isinstance(activation, nn.Identity) else ["0", "1", "2", "3"]
    assert list(net.layers) == expected  # PyTorch's names; an Identity is left out
    assert sorted(to_pytorch_state_dict(net)) == sorted(s.state_dict())


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
def test_embedding_stacked_lstm_linear(dtype):
    """An Embedding, a two-layer LSTM (its output sequence) and a Linear, on a ragged batch of
    index sequences: outputs and every array gradient."""
    torch.manual_seed(2)
    s = (
        nn.Sequential(
            OrderedDict(
                emb=nn.Embedding(7, K),
                lstm=nn.LSTM(K, N, num_layers=2, dropout=0.5, batch_first=True),
                out=nn.Linear(N, 2),
            )
        )
        .to(dtype)
        .eval()
    )
    net = from_pytorch(s)
    assert list(net.layers) == ["emb", "lstm", "out"]
    assert list(net.layers["lstm"].layers) == ["l0", "dropout_l0", "l1"]
    precision, tol = PRECISION[dtype]
    rng = np.random.default_rng(5)
    idx = [rng.integers(0, 7, size=t) for t in LENGTHS]
    ogs = [
        rng.normal(size=(t, 2)).astype(np.float64 if dtype == torch.float64 else np.float32)
        for t in LENGTHS
    ]
    keys = list(Information(net, "Arrays"))
    specs = [NetPortGradient(list(k)) for k in keys]
    g = net({"Input": idx, NetPortGradient("Output"): ogs}, specs, working_precision=precision)
    ours = to_pytorch_state_dict(NetReplacePart(net, {k: g[sp] for k, sp in zip(keys, specs)}))
    y = net(idx, working_precision=precision)
    for b in range(len(LENGTHS)):  # torch one sequence at a time: no padding to handle
        s.zero_grad()
        ty, _ = sequential_run(s, idx[b][None], ogs[b][None])
        close(y[b], ty[0], tol)
        if b == 0:
            total = {k: p.grad.clone() for k, p in s.named_parameters()}
        else:
            for k, p in s.named_parameters():
                total[k] += p.grad
    compare_grads(ours, {k: v.numpy() for k, v in total.items()}, tol)


@pytest.mark.parametrize(
    "flatten, ours",
    [((1, -1), (24,)), ((1, 2), (6, 4)), ((-2, -1), (2, 12)), ((1, 1), (2, 3, 4))],
)
def test_flatten(flatten, ours):
    s = nn.Sequential(nn.Tanh(), nn.Flatten(*flatten)).double()
    net = from_pytorch(s, input=(2, 3, 4))
    assert net.ports["Output"].dims == ours
    x = np.random.default_rng(6).normal(size=(5, 2, 3, 4))
    close(net(x, working_precision="Real64"), s(torch.from_numpy(x)).numpy(), 1e-12)


def test_input_shapes_taken_from_the_module():
    assert from_pytorch(nn.Linear(K, 2)).ports["Input"].dims == (K,)
    emb = from_pytorch(nn.Sequential(nn.Embedding(9, 2), nn.GRU(2, 3, bias=False)))
    assert emb.ports["Input"].kind.n == 9 and len(emb.ports["Input"].dims) == 1
    seq = from_pytorch(nn.Sequential(nn.Linear(K, 5), nn.ReLU(), nn.RNN(5, 2)))
    assert seq.ports["Input"].dims[1:] == (K,)
    assert from_pytorch(nn.Linear(K, 2), input=("Varying", K)).ports["Output"].dims[1:] == (2,)
    emb = nn.Embedding(4, 2).double()  # alone: indices of any shape, as in PyTorch
    idx = np.array([[1, 3], [0, 0]])
    y = from_pytorch(emb)(idx, working_precision="Real64")
    assert np.array_equal(y, emb(torch.from_numpy(idx)).detach().numpy())
    assert from_pytorch(nn.Linear(K, 2, bias=False)).arrays.keys() == {"Weights"}


# -- to_pytorch_state_dict: netgraph nets into torch modules ---------------------------------


@pytest.mark.parametrize(
    "layer, module",
    [
        (LongShortTermMemoryLayer(N), lambda: nn.LSTM(K, N, batch_first=True)),
        (GatedRecurrentLayer(N), lambda: nn.GRU(K, N, batch_first=True)),
        (
            BasicRecurrentLayer(N, activation="Ramp"),
            lambda: nn.RNN(K, N, nonlinearity="relu", batch_first=True),
        ),
        (
            NetChain(
                {
                    "l0": GatedRecurrentLayer(N),
                    "drop": DropoutLayer(0.1),
                    "l1": GatedRecurrentLayer(N),
                }
            ),
            lambda: nn.GRU(K, N, num_layers=2, batch_first=True),
        ),
    ],
    ids=["LSTM", "GRU", "RNN-relu", "GRU-2-layers"],
)
def test_state_dict_loads_into_torch_and_reproduces_the_net(layer, module):
    net = NetInitialize(NetReplacePart(layer, {"Input": ("Varying", K)}), random_seed=3)
    m = module().eval()
    m.load_state_dict({k: torch.from_numpy(v) for k, v in to_pytorch_state_dict(net).items()})
    xs, _ = data(torch.float32, ragged=False)
    x = np.stack(xs)
    close(net(x), m(torch.from_numpy(x))[0].detach().numpy(), 1e-5)


def test_state_dict_of_a_chain_uses_layer_names():
    net = NetChain(
        {
            "emb": EmbeddingLayer(K, 6),
            "rnn": NetChain({"l0": LongShortTermMemoryLayer(N), "l1": LongShortTermMemoryLayer(N)}),
            "head": NetChain([LinearLayer(5), LinearLayer(2)]),
        },
        input="Varying",
    )
    net = NetInitialize(net, random_seed=0)
    mods = nn.ModuleDict(
        {
            "emb": nn.Embedding(6, K),
            "rnn": nn.LSTM(K, N, num_layers=2, batch_first=True),
            "head": nn.Sequential(OrderedDict([("1", nn.Linear(N, 5)), ("2", nn.Linear(5, 2))])),
        }
    )
    mods.load_state_dict({k: torch.from_numpy(v) for k, v in to_pytorch_state_dict(net).items()})
    idx = np.array([[1, 5, 0, 2]])
    ty = mods["head"](mods["rnn"](mods["emb"](torch.from_numpy(idx)))[0])
    close(net(idx)[0], ty[0].detach().numpy(), 1e-5)


def test_from_pytorch_then_state_dict_is_the_modules():
    s = nn.Sequential(nn.Linear(K, N), nn.Tanh(), nn.GRU(N, N, num_layers=2), nn.Linear(N, 1))
    with torch.no_grad():
        s[2].bias_hh_l0[2 * N :] = 0
        s[2].bias_hh_l1[2 * N :] = 0
    state = to_pytorch_state_dict(from_pytorch(s))
    assert sorted(state) == sorted(s.state_dict())
    copy.deepcopy(s).load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
    for k, v in s.state_dict().items():
        if "bias" not in k:
            assert np.array_equal(state[k], v.numpy()), k
    np.testing.assert_allclose(
        state["2.bias_ih_l1"], (s[2].bias_ih_l1 + s[2].bias_hh_l1).detach().numpy()
    )


# -- refusals --------------------------------------------------------------------------------


class MyLinear(nn.Linear):
    pass


@pytest.mark.parametrize(
    "module, message",
    [
        (lambda: nn.LSTM(K, N, proj_size=2), r"proj_size=2.*no projection"),
        (
            lambda: nn.Sequential(nn.Linear(K, 2), nn.Conv3d(1, 1, 1)),
            r'module "1" is a torch.nn.modules.conv.Conv3d, which does not convert.*LSTM, GRU, RNN',
        ),
        (lambda: MyLinear(K, 2), r"is a .*MyLinear, which does not convert.*not subclasses"),
        (lambda: nn.Softmax(dim=0), r"nn.Softmax with dim=0.*only nn.Softmax\(dim=-1\)"),
        (lambda: nn.GELU(approximate="tanh"), r"approximate='tanh'"),
        (lambda: nn.ELU(alpha=0.5), r"alpha=0.5"),
        (lambda: nn.Embedding(4, 2, max_norm=1.0), r"max_norm=1.0"),
        (
            lambda: nn.Linear(K, 2).half(),
            r"weight of the module has dtype torch.float16.*\.float\(\)",
        ),
        (lambda: nn.Sequential(nn.Identity()), r"computes the identity"),
        (lambda: nn.Flatten(0, -1), r"nn.Flatten\(start_dim=0, end_dim=-1\)"),
        (lambda: nn.ModuleList([nn.ReLU()]), r"ModuleList, which does not convert"),
        (lambda: nn.Conv2d(2, 2, 3, padding_mode="reflect"), r"padding_mode='reflect'.*zeros"),
        (lambda: nn.MaxPool2d(2, ceil_mode=True), r"ceil_mode=True"),
        (lambda: nn.MaxPool1d(2, dilation=2), r"dilation or return_indices"),
        (
            lambda: nn.AvgPool2d(3, padding=1, count_include_pad=False),
            r"count_include_pad=False.*padding counted",
        ),
    ],
)
def test_from_pytorch_refusals(module, message):
    with pytest.raises(ValueError, match=message):
        from_pytorch(module())


def test_from_pytorch_takes_a_module():
    with pytest.raises(TypeError, match=r"takes a torch.nn.Module; received ndarray"):
        from_pytorch(np.ones(3))


@pytest.mark.parametrize(
    "net, message",
    [
        (
            LongShortTermMemoryLayer(N, gate_activation="HardSigmoid", input=("Varying", K)),
            r'the net has gate_activation "HardSigmoid".*nn.LSTM computes only',
        ),
        (
            GatedRecurrentLayer(N, state_activation="SoftSign", input=("Varying", K)),
            r'the net has gate_activation "LogisticSigmoid" and state_activation "SoftSign"; '
            r"nn.GRU computes only",
        ),
        (
            GatedRecurrentLayer(N, reset_gate_mode="before-multiplication", input=("Varying", K)),
            r'the net has reset_gate_mode "before-multiplication".*nn.GRU applies it after',
        ),
        (
            NetChain({"a": BasicRecurrentLayer(N, activation="SoftSign")}, input=("Varying", K)),
            r'layer "a" has activation "SoftSign"; nn.RNN computes only',
        ),
        (
            LinearLayer((2, 3), input=K),
            r"a LinearLayer with arrays of shapes .*'Weights': \(2, 3, 3\)",
        ),
    ],
)
def test_to_pytorch_state_dict_refusals(net, message):
    with pytest.raises(ValueError, match=message):
        to_pytorch_state_dict(NetInitialize(net, random_seed=0))


def test_to_pytorch_state_dict_needs_initialized_arrays():
    net = NetChain({"x": LinearLayer(2)}, input=K)
    with pytest.raises(ValueError, match=r'layer "x" has no value for Weights, Biases; initialize'):
        to_pytorch_state_dict(net)
    with pytest.raises(TypeError, match=r"takes a netgraph net; received dict"):
        to_pytorch_state_dict({})


@pytest.mark.parametrize("affine", [True, False], ids=["affine", "plain"])
def test_layer_norm_on_sequences(affine):
    """nn.LayerNorm(k) at every step of an LSTM's output: NormalizationLayer, outputs and
    input gradients as torch's, and its state dict back."""
    torch.manual_seed(2)
    s = nn.Sequential(
        nn.LSTM(K, 4, batch_first=True), nn.LayerNorm(4, eps=1e-3, elementwise_affine=affine)
    )
    s = s.double().eval()
    if affine:
        with torch.no_grad():
            s[1].weight.copy_(torch.randn(4))
            s[1].bias.copy_(torch.randn(4))
    net = from_pytorch(s)
    assert net.layers["1"].options["epsilon"] == pytest.approx(1e-3)
    x = np.random.default_rng(3).normal(size=(2, 5, K))
    same_as_sequential(net, s, x, np.random.default_rng(4).normal(size=(2, 5, 4)))
    state = to_pytorch_state_dict(net)
    if affine:
        close(state["1.weight"], s[1].weight.detach().numpy(), 0)
        close(state["1.bias"], s[1].bias.detach().numpy(), 0)


def test_layer_norm_over_several_dimensions_is_refused():
    with pytest.raises(ValueError, match=r"nn.LayerNorm over the last 2 dimensions \(2, 3\)"):
        from_pytorch(nn.LayerNorm((2, 3)))


@pytest.mark.parametrize(
    "module, shape",
    [
        (lambda: nn.Sequential(nn.BatchNorm1d(4, momentum=0.2), nn.Linear(4, 2)), (4,)),
        (lambda: nn.BatchNorm1d(3, eps=1e-3, affine=False), (3, 5)),
        (lambda: nn.BatchNorm2d(2), (2, 3, 4)),
    ],
    ids=["BatchNorm1d-vectors", "BatchNorm1d-plain-(c,L)", "BatchNorm2d"],
)
def test_batch_norm(module, shape):
    """nn.BatchNorm1d/2d: BatchNormalizationLayer with momentum 1 − torch's; the evaluation
    outputs after torch has updated its running statistics, and the state dict back (with
    num_batches_tracked)."""
    torch.manual_seed(5)
    m = module().double()
    m.train()
    with torch.no_grad():  # two training batches move the running statistics off 0 and 1
        for _ in range(2):
            m(torch.randn(6, *shape, dtype=torch.float64) * 2 + 1)
    m.eval()
    bn = m[0] if isinstance(m, nn.Sequential) else m
    net = from_pytorch(m, input=shape)
    layer = net.layers["0"] if isinstance(m, nn.Sequential) else net
    assert layer.options["momentum"] == pytest.approx(1 - bn.momentum)
    assert layer.options["epsilon"] == pytest.approx(bn.eps)
    x = np.random.default_rng(6).normal(size=(5, *shape))
    want = m(torch.from_numpy(x)).detach().numpy()
    close(net(x, working_precision="Real64"), want, 1e-12)
    state = to_pytorch_state_dict(net)
    prefix = "0." if isinstance(m, nn.Sequential) else ""
    for key, value in m.state_dict().items():
        if key.startswith(prefix) and key[len(prefix) :] in ("running_mean", "running_var"):
            close(state[key], value.numpy(), 0)
    assert state[f"{prefix}num_batches_tracked"] == 0
    if bn.affine:
        close(state[f"{prefix}weight"], bn.weight.detach().numpy(), 0)
    fresh = module().double()
    keys = fresh.state_dict()  # without affine, torch has no weight and bias (ours: 1 and 0)
    fresh.load_state_dict(
        {k: torch.from_numpy(np.asarray(v)) for k, v in state.items() if k in keys}
    )
    fresh.eval()
    close(fresh(torch.from_numpy(x)).detach().numpy(), want, 1e-12)


def test_batch_norm_without_running_statistics_is_refused():
    with pytest.raises(ValueError, match=r"nn.BatchNorm1d without running statistics"):
        from_pytorch(nn.BatchNorm1d(3, track_running_stats=False))
    with pytest.raises(ValueError, match=r"momentum=None"):
        from_pytorch(nn.BatchNorm2d(3, momentum=None))


# -- convolution and pooling -------------------------------------------------------------------


def image_net():
    torch.manual_seed(2)
    return (
        nn.Sequential(
            nn.Conv2d(2, 4, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(4, 6, (2, 3), stride=(1, 2), padding=(1, 0), dilation=(2, 1), groups=2),
            nn.Tanh(),
            nn.AvgPool2d(2, stride=1, padding=1),
            nn.Flatten(),
            nn.Linear(6 * 5 * 2, 3),
        )
        .double()
        .eval()
    )


def test_conv2d_pooling_net():
    s = image_net()
    net = from_pytorch(s, input=(2, 8, 9))
    assert isinstance(net.layers["0"], ConvolutionLayer)
    assert net.layers["2"].options["stride"] == (2, 2)  # PyTorch's default: the kernel size
    assert net.layers["5"].options["function"] == "Mean"
    rng = np.random.default_rng(5)
    x = rng.normal(size=(3, 2, 8, 9))
    same_as_sequential(net, s, x, rng.normal(size=(3, 3)))
    state = to_pytorch_state_dict(net)
    assert sorted(state) == sorted(s.state_dict())
    for k, v in s.state_dict().items():
        assert np.array_equal(state[k], v.numpy()), k


def test_conv1d_same_and_pools_without_input_shape():
    torch.manual_seed(3)
    s = nn.Sequential(
        nn.Conv1d(3, 4, 3, padding="same", dilation=2),
        nn.MaxPool1d(3, stride=2, padding=1),
        nn.Conv1d(4, 2, 2, bias=False),
        nn.AvgPool1d(2),
    ).double()
    net = from_pytorch(s)  # the sizes come from the data
    x = np.random.default_rng(6).normal(size=(2, 3, 11))
    og = np.random.default_rng(7).normal(size=(2, 2, 2))
    same_as_sequential(net, s, x, og)
    assert sorted(to_pytorch_state_dict(net)) == ["0.bias", "0.weight", "2.weight"]


def test_state_dict_of_convolutions_loads_into_torch():
    net = NetChain(
        {
            "c1": ConvolutionLayer(4, (3, 3), padding_size=1, channel_groups=2),
            "pool": PoolingLayer((2, 2), 2),
            "c2": ConvolutionLayer(2, (2, 2), biases=None),
        },
        input=(2, 6, 6),
    )
    net = NetInitialize(net, random_seed=1)
    m = nn.Sequential(
        OrderedDict(
            c1=nn.Conv2d(2, 4, 3, padding=1, groups=2),
            pool=nn.MaxPool2d(2),
            c2=nn.Conv2d(4, 2, 2, bias=False),
        )
    )
    m.load_state_dict({k: torch.from_numpy(v) for k, v in to_pytorch_state_dict(net).items()})
    x = np.random.default_rng(8).normal(size=(2, 2, 6, 6)).astype(np.float32)
    close(net(x), m(torch.from_numpy(x)).detach().numpy(), 1e-5)
