"""MATLAB's and Keras's recurrent layouts (netgraph/io/layouts.py), without PyTorch: gate
blocks filled with distinct constants, so that a wrong order is caught; each framework's own
equations, written here from its layout, against netgraph's outputs; round trips; the
per-gate MATLAB factors through NetTrain; and every refusal."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from netgraph import (
    GatedRecurrentLayer,
    LinearLayer,
    LongShortTermMemoryLayer,
    NetInitialize,
    NetTrain,
    from_keras_gru,
    from_keras_lstm,
    from_matlab_gru,
    from_matlab_l2_factors,
    from_matlab_learn_rate_factors,
    from_matlab_lstm,
    to_keras_gru,
    to_keras_lstm,
    to_matlab_gru,
    to_matlab_lstm,
)

N, K = 2, 3
PARTS = ("InputWeights", "StateWeights", "Biases")
LSTM_NAMES = ("Input", "Output", "Forget", "Memory")
GRU_NAMES = ("Input", "Reset", "Memory")


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def blocks(g: int, scale: float, shape: tuple, axis: int) -> np.ndarray:
    """g gate blocks stacked along ``axis``, block j filled with scale·(j + 1)."""
    return np.concatenate([np.full(shape, scale * (j + 1)) for j in range(g)], axis=axis)


def check_blocks(arrays: dict, order: tuple, scales=(1, 10, 100)) -> None:
    """Each Wolfram array holds the constant of its gate's block in the framework's order."""
    for j, gate in enumerate(order):
        for part, s in zip(PARTS, scales):
            assert np.all(arrays[f"{gate}Gate{part}"] == s * (j + 1)), (gate, part)


def random_layer(cls, seed=0):
    return NetInitialize(cls(N, input=("Varying", K)), random_seed=seed)


# -- gate orders -----------------------------------------------------------------------------


def test_matlab_lstm_gate_order_is_i_f_g_o():
    arrays = from_matlab_lstm(
        InputWeights=blocks(4, 1, (N, K), 0),
        RecurrentWeights=blocks(4, 10, (N, N), 0),
        Bias=blocks(4, 100, (N, 1), 0),
    )
    check_blocks(arrays, ("Input", "Forget", "Memory", "Output"))
    assert list(arrays) == list(LongShortTermMemoryLayer.array_names())
    assert arrays["InputGateInputWeights"].shape == (N, K)


def test_keras_lstm_gate_order_is_i_f_c_o():
    arrays = from_keras_lstm(
        blocks(4, 1, (K, N), 1), blocks(4, 10, (N, N), 1), blocks(4, 100, (N,), 0)
    )
    check_blocks(arrays, ("Input", "Forget", "Memory", "Output"))


def test_matlab_gru_gate_order_is_r_z_h():
    arrays = from_matlab_gru(
        InputWeights=blocks(3, 1, (N, K), 0),
        RecurrentWeights=blocks(3, 10, (N, N), 0),
        Bias=blocks(3, 100, (N,), 0),
    )
    check_blocks(arrays, ("Reset", "Input", "Memory"))


def test_keras_gru_gate_order_is_z_r_h():
    bias = np.stack([blocks(3, 100, (N,), 0), np.zeros(3 * N)])
    arrays = from_keras_gru(blocks(3, 1, (K, N), 1), blocks(3, 10, (N, N), 1), bias)
    check_blocks(arrays, ("Input", "Reset", "Memory"))


def test_recurrent_biases_of_the_gates_are_added():
    rec = np.r_[np.full(N, 1.0), np.full(N, 2.0), np.zeros(N)]  # r, z; the candidate's zero
    bias = np.r_[blocks(3, 100, (N,), 0), rec]
    arrays = from_matlab_gru(
        InputWeights=np.ones((3 * N, K)),
        RecurrentWeights=np.ones((3 * N, N)),
        Bias=bias[:, None],
        ResetGateMode="recurrent-bias-after-multiplication",
    )
    assert np.all(arrays["ResetGateBiases"] == 101)
    assert np.all(arrays["InputGateBiases"] == 202)
    assert np.all(arrays["MemoryGateBiases"] == 300)
    keras_bias = np.stack([blocks(3, 100, (N,), 0), np.r_[np.full(N, 1.0), np.full(N, 2.0), 0, 0]])
    arrays = from_keras_gru(np.ones((K, 3 * N)), np.ones((N, 3 * N)), keras_bias)
    assert np.all(arrays["InputGateBiases"] == 101)  # Keras's z comes first
    assert np.all(arrays["ResetGateBiases"] == 202)
    assert np.all(arrays["MemoryGateBiases"] == 300)


def test_keras_without_biases_gives_zero_biases():
    arrays = from_keras_gru(np.ones((K, 3 * N)), np.ones((N, 3 * N)))
    assert all(not np.any(arrays[f"{g}GateBiases"]) for g in GRU_NAMES)
    arrays = from_keras_lstm(np.ones((K, 4 * N), np.float32), np.ones((N, 4 * N), np.float32))
    assert arrays["OutputGateBiases"].dtype == np.float32


# -- each framework's equations, from its own layout -------------------------------------------


def matlab_lstm(x, W, R, b):
    """MATLAB's lstmLayer: gates stacked as rows in the order i, f, g, o."""
    n = R.shape[1]
    h, c, out = np.zeros(n), np.zeros(n), []
    for xt in x:
        z = W @ xt + R @ h + b
        i, f, g, o = sigmoid(z[:n]), sigmoid(z[n : 2 * n]), np.tanh(z[2 * n : 3 * n]), z[3 * n :]
        c = f * c + i * g
        h = sigmoid(o) * np.tanh(c)
        out.append(h)
    return np.array(out)


def matlab_gru_recurrent_bias(x, W, R, b):
    """MATLAB's gruLayer, ResetGateMode "recurrent-bias-after-multiplication": rows r, z, h;
    Bias (6n): input biases, then recurrent biases."""
    n = R.shape[1]
    bw, br = b[: 3 * n], b[3 * n :]
    h, out = np.zeros(n), []
    for xt in x:
        a, p = W @ xt + bw, R @ h + br
        r = sigmoid(a[:n] + p[:n])
        z = sigmoid(a[n : 2 * n] + p[n : 2 * n])
        cand = np.tanh(a[2 * n :] + r * p[2 * n :])
        h = (1 - z) * cand + z * h
        out.append(h)
    return np.array(out)


def keras_lstm(x, kernel, rk, bias):
    """Keras's LSTM: gates stacked as columns in the order i, f, c, o."""
    n = rk.shape[0]
    h, c, out = np.zeros(n), np.zeros(n), []
    for xt in x:
        z = xt @ kernel + h @ rk + bias
        i, f = sigmoid(z[:n]), sigmoid(z[n : 2 * n])
        c = f * c + i * np.tanh(z[2 * n : 3 * n])
        h = sigmoid(z[3 * n :]) * np.tanh(c)
        out.append(h)
    return np.array(out)


def keras_gru(x, kernel, rk, bias):
    """Keras's GRU with reset_after=True: columns z, r, h; bias rows input, recurrent."""
    n = rk.shape[0]
    h, out = np.zeros(n), []
    for xt in x:
        a, p = xt @ kernel + bias[0], h @ rk + bias[1]
        z = sigmoid(a[:n] + p[:n])
        r = sigmoid(a[n : 2 * n] + p[n : 2 * n])
        hh = np.tanh(a[2 * n :] + r * p[2 * n :])
        h = z * h + (1 - z) * hh
        out.append(h)
    return np.array(out)


def keras_gru_reset_before(x, kernel, rk, bias, gate=sigmoid, state=np.tanh):
    """Keras's GRU with reset_after=False: columns z, r, h; one bias row; the reset gate
    scales the state before the candidate's recurrent kernel."""
    n = rk.shape[0]
    h, out = np.zeros(n), []
    for xt in x:
        a = xt @ kernel + bias
        z = gate(a[:n] + h @ rk[:, :n])
        r = gate(a[n : 2 * n] + h @ rk[:, n : 2 * n])
        hh = state(a[2 * n :] + (r * h) @ rk[:, 2 * n :])
        h = z * h + (1 - z) * hh
        out.append(h)
    return np.array(out)


@pytest.fixture
def x():
    return np.random.default_rng(1).normal(size=(6, K))


def test_matlab_lstm_equations(x, rng):
    W, R, b = rng.normal(size=(4 * N, K)), rng.normal(size=(4 * N, N)), rng.normal(size=4 * N)
    net = LongShortTermMemoryLayer(
        arrays=from_matlab_lstm(InputWeights=W, RecurrentWeights=R, Bias=b)
    )
    y = net(x, working_precision="Real64")
    np.testing.assert_allclose(y, matlab_lstm(x, W, R, b), rtol=0, atol=1e-12)


def test_matlab_gru_equations_with_recurrent_biases(x, rng):
    W, R, b = rng.normal(size=(3 * N, K)), rng.normal(size=(3 * N, N)), rng.normal(size=6 * N)
    mode = "recurrent-bias-after-multiplication"
    arrays = from_matlab_gru(InputWeights=W, RecurrentWeights=R, Bias=b, ResetGateMode=mode)
    np.testing.assert_array_equal(arrays["MemoryGateStateBiases"], b[5 * N :])  # inside r∘(…)
    y = GatedRecurrentLayer(arrays=arrays, reset_gate_mode=mode)(x, working_precision="Real64")
    np.testing.assert_allclose(y, matlab_gru_recurrent_bias(x, W, R, b), rtol=0, atol=1e-12)
    back = to_matlab_gru(
        GatedRecurrentLayer(arrays=arrays, reset_gate_mode=mode), ResetGateMode=mode
    )
    y_back = matlab_gru_recurrent_bias(x, W, R, back["Bias"][:, 0])
    np.testing.assert_allclose(y_back, y, rtol=0, atol=1e-12)  # the same GRU, MATLAB's way
    with pytest.raises(ValueError, match="MemoryGateStateBiases.*ResetGateMode"):
        to_matlab_gru(arrays)  # "after-multiplication" cannot hold that bias
    b[5 * N :] = 0  # a zero candidate bias: the plain layer
    plain = from_matlab_gru(InputWeights=W, RecurrentWeights=R, Bias=b[: 3 * N])
    y = GatedRecurrentLayer(arrays=plain)(x, working_precision="Real64")
    b[3 * N :] = 0  # "after-multiplication" is the same layer without recurrent biases
    np.testing.assert_allclose(y, matlab_gru_recurrent_bias(x, W, R, b), rtol=0, atol=1e-12)


def test_keras_lstm_equations(x, rng):
    kernel, rk, bias = (
        rng.normal(size=(K, 4 * N)),
        rng.normal(size=(N, 4 * N)),
        rng.normal(size=4 * N),
    )
    y = LongShortTermMemoryLayer(arrays=from_keras_lstm(kernel, rk, bias))(
        x, working_precision="Real64"
    )
    np.testing.assert_allclose(y, keras_lstm(x, kernel, rk, bias), rtol=0, atol=1e-12)


def test_keras_gru_equations(x, rng):
    kernel, rk, bias = (
        rng.normal(size=(K, 3 * N)),
        rng.normal(size=(N, 3 * N)),
        rng.normal(size=(2, 3 * N)),
    )
    arrays = from_keras_gru(kernel, rk, bias)  # the candidate's recurrent bias, nonzero
    layer = GatedRecurrentLayer(
        arrays=arrays, reset_gate_mode="recurrent-bias-after-multiplication"
    )
    y = layer(x, working_precision="Real64")
    np.testing.assert_allclose(y, keras_gru(x, kernel, rk, bias), rtol=0, atol=1e-12)
    back = to_keras_gru(layer)
    np.testing.assert_allclose(keras_gru(x, *back.values()), y, rtol=0, atol=1e-12)
    bias[1, 2 * N :] = 0
    y = GatedRecurrentLayer(arrays=from_keras_gru(kernel, rk, bias))(x, working_precision="Real64")
    np.testing.assert_allclose(y, keras_gru(x, kernel, rk, bias), rtol=0, atol=1e-12)


def test_keras_gru_with_reset_after_false(x, rng):
    """reset_after=False is the mode "before-multiplication": one bias row, added outside r;
    with MATLAB's HardSigmoid gates and SoftSign state too. to_keras_gru takes the form from
    the layer's mode, and MATLAB's "before-multiplication" holds the same arrays."""
    kernel, rk, bias = (
        rng.normal(size=(K, 3 * N)),
        rng.normal(size=(N, 3 * N)),
        rng.normal(size=3 * N),
    )
    arrays = from_keras_gru(kernel, rk, bias, reset_after=False)
    assert "MemoryGateStateBiases" not in arrays
    layer = GatedRecurrentLayer(arrays=arrays, reset_gate_mode="before-multiplication")
    y = layer(x, working_precision="Real64")
    np.testing.assert_allclose(y, keras_gru_reset_before(x, kernel, rk, bias), rtol=0, atol=1e-12)
    after = GatedRecurrentLayer(arrays=arrays)(x, working_precision="Real64")
    assert np.max(np.abs(after - y)) > 1e-3  # the mode matters
    back = to_keras_gru(layer)
    assert back["bias"].shape == (3 * N,)
    for key, value in zip(("kernel", "recurrent_kernel", "bias"), (kernel, rk, bias)):
        np.testing.assert_array_equal(back[key], value)
    hard = GatedRecurrentLayer(
        arrays=arrays,
        reset_gate_mode="before-multiplication",
        gate_activation="HardSigmoid",
        state_activation="SoftSign",
    )
    want = keras_gru_reset_before(
        x, kernel, rk, bias, lambda v: np.clip(0.2 * v + 0.5, 0, 1), lambda v: v / (1 + abs(v))
    )
    np.testing.assert_allclose(hard(x, working_precision="Real64"), want, rtol=0, atol=1e-12)
    matlab = to_matlab_gru(layer, ResetGateMode="before-multiplication")
    assert matlab["Bias"].shape == (3 * N, 1)
    again = from_matlab_gru(**matlab, ResetGateMode="before-multiplication")
    for a, v in arrays.items():
        np.testing.assert_array_equal(again[a], v)


# -- round trips -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cls, to, back",
    [
        (LongShortTermMemoryLayer, to_matlab_lstm, lambda d: from_matlab_lstm(**d)),
        (GatedRecurrentLayer, to_matlab_gru, lambda d: from_matlab_gru(**d)),
        (LongShortTermMemoryLayer, to_keras_lstm, lambda d: from_keras_lstm(**d)),
        (GatedRecurrentLayer, to_keras_gru, lambda d: from_keras_gru(*d.values())),
    ],
)
def test_layer_to_layout_and_back_is_exact(cls, to, back):
    layer = random_layer(cls)
    arrays = back(to(layer))
    assert list(arrays) == list(cls.array_names())
    for name, a in layer.arrays.items():
        assert arrays[name].dtype == a.dtype
        np.testing.assert_array_equal(arrays[name], a)
    assert cls(arrays=arrays) == cls(arrays=dict(layer.arrays))
    from_dict = back(to(dict(layer.arrays)))  # a dict of arrays instead of a layer
    assert all(np.array_equal(from_dict[name], a) for name, a in layer.arrays.items())


def test_layouts_to_layer_and_back_are_exact(rng):
    d = {
        "InputWeights": rng.normal(size=(8, K)),
        "RecurrentWeights": rng.normal(size=(8, N)),
        "Bias": rng.normal(size=(8, 1)),
    }
    for name, a in to_matlab_lstm(LongShortTermMemoryLayer(arrays=from_matlab_lstm(**d))).items():
        np.testing.assert_array_equal(a, d[name])
    d = {
        "kernel": rng.normal(size=(K, 6)),
        "recurrent_kernel": rng.normal(size=(N, 6)),
        "bias": np.r_[[rng.normal(size=6)], [np.zeros(6)]],
    }
    for name, a in to_keras_gru(GatedRecurrentLayer(arrays=from_keras_gru(**d))).items():
        np.testing.assert_array_equal(a, d[name])
    gru = random_layer(GatedRecurrentLayer)
    six = to_matlab_gru(gru, ResetGateMode="recurrent-bias-after-multiplication")
    assert six["Bias"].shape == (6 * N, 1) and not np.any(six["Bias"][3 * N :])
    back = from_matlab_gru(**six, ResetGateMode="recurrent-bias-after-multiplication")
    assert all(np.array_equal(back[a], gru.arrays[a]) for a in back)


# -- MATLAB's learn-rate and L2 factors --------------------------------------------------------


def test_learn_rate_factors_per_gate():
    lrm = from_matlab_learn_rate_factors(
        LongShortTermMemoryLayer,
        InputWeightsLearnRateFactor=[1, 2, 3, 4],
        RecurrentWeightsLearnRateFactor=np.array([[5, 6, 7, 8]]),  # 1-by-4, as MATLAB has it
        BiasLearnRateFactor=0,
    )
    for j, gate in enumerate(("Input", "Forget", "Memory", "Output")):
        assert lrm[f"{gate}GateInputWeights"] == j + 1
        assert lrm[f"{gate}GateStateWeights"] == j + 5
        assert lrm[f"{gate}GateBiases"] == 0
    lrm = from_matlab_learn_rate_factors(
        random_layer(GatedRecurrentLayer), BiasLearnRateFactor=[1, 2, 3]
    )
    assert (lrm["ResetGateBiases"], lrm["InputGateBiases"], lrm["MemoryGateBiases"]) == (1, 2, 3)
    assert lrm["MemoryGateStateWeights"] == 1


def test_l2_factors_per_gate():
    l2 = from_matlab_l2_factors(
        GatedRecurrentLayer,
        ("outer", "gru"),
        L2Regularization=0.01,
        RecurrentWeightsL2Factor=[1, 2, 3],
    )
    assert l2[("outer", "gru", "ResetGateStateWeights")] == 0.01
    assert l2[("outer", "gru", "InputGateStateWeights")] == 0.02
    assert l2[("outer", "gru", "MemoryGateInputWeights")] == 0.01
    assert l2[("outer", "gru", "MemoryGateBiases")] == 0  # MATLAB's BiasL2Factor default
    assert len(l2) == 9


def _one_sgd_step(net, x, y, l2=None):
    method = ("SGD", {"learning_rate": 0.1, "momentum": 0.0, "l2_regularization": l2})
    return NetTrain(
        net,
        (x, y),
        batch_size=len(x),
        max_training_rounds=1,
        method=method,
        working_precision="Real64",
        random_seed=0,
        training_progress_reporting=None,
    )


def test_factors_act_in_nettrain_as_in_matlab(rng):
    """One SGD step: a learn-rate factor f scales a gate's step by f; an L2 factor f adds
    −η·λ·f·w to it."""
    net = NetInitialize(LongShortTermMemoryLayer(N, input=("Varying", K)), random_seed=0)
    x = [rng.normal(size=(4, K)) for _ in range(3)]
    y = [rng.normal(size=(4, N)) for _ in range(3)]
    plain = _one_sgd_step(net, x, y).arrays
    lrm = from_matlab_learn_rate_factors(net, InputWeightsLearnRateFactor=[0, 2, 1, 1])
    layer = LongShortTermMemoryLayer(N, arrays=dict(net.arrays), learning_rate_multipliers=lrm)
    scaled = _one_sgd_step(layer, x, y).arrays
    for a, w0 in net.arrays.items():
        np.testing.assert_allclose(scaled[a] - w0, (plain[a] - w0) * lrm[a], rtol=0, atol=1e-14)
    assert np.array_equal(scaled["InputGateInputWeights"], net.arrays["InputGateInputWeights"])
    assert not np.array_equal(plain["InputGateInputWeights"], net.arrays["InputGateInputWeights"])
    # a bare layer's arrays are named alone: its path is ()
    l2 = from_matlab_l2_factors(net, (), L2Regularization=0.5, InputWeightsL2Factor=[1, 0, 0, 2])
    assert l2[("OutputGateInputWeights",)] == 1.0 and l2[("ForgetGateBiases",)] == 0
    reg = _one_sgd_step(net, x, y, l2=l2).arrays
    for a, w0 in net.arrays.items():
        np.testing.assert_allclose(
            reg[a] - plain[a], -0.1 * l2[(a,)] * w0.astype(np.float64), rtol=0, atol=1e-14
        )


# -- refusals --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call, message",
    [
        (
            lambda: from_matlab_lstm(
                InputWeights=np.ones((7, K)), RecurrentWeights=np.ones((8, N)), Bias=np.ones(8)
            ),
            r"InputWeights must be a matrix of shape \(4n, k\), 4 gate blocks of n units each; "
            r"received shape \(7, 3\)",
        ),
        (
            lambda: from_matlab_lstm(
                InputWeights=np.ones((8, K)), RecurrentWeights=np.ones((8, 3)), Bias=np.ones(8)
            ),
            r"RecurrentWeights must have shape \(8, 2\) \(4n × n, n = 2 units from InputWeights\); "
            r"received shape \(8, 3\)",
        ),
        (
            lambda: from_matlab_lstm(
                InputWeights=np.ones((8, K)), RecurrentWeights=np.ones((8, 2)), Bias=np.ones((1, 8))
            ),
            r"Bias must have shape \(8,\) \(8 × 1 or a vector, n = 2 units from InputWeights\); "
            r"received shape \(1, 8\)",
        ),
        (
            lambda: from_keras_lstm(np.ones((8, K)), np.ones((N, 8)), np.ones(8)),
            r"kernel must be a matrix of shape \(k, 4n\).*received shape \(8, 3\)",
        ),
        (
            lambda: from_keras_lstm(np.ones((K, 8)), np.ones((N, 8)), np.ones(6)),
            r"bias must have shape \(8,\) \(n = 2 units from kernel\); received shape \(6,\)",
        ),
        (
            lambda: from_keras_gru(np.ones((K, 6)), np.ones((N, 6)), np.ones(6)),
            r"bias must have shape \(2, 6\).*received shape \(6,\)",
        ),
        (
            lambda: from_keras_gru(
                np.ones((K, 6)), np.ones((N, 6)), np.ones((2, 6)), reset_after=False
            ),
            r"bias must have shape \(6,\).*received shape \(2, 6\)",
        ),
        (
            lambda: to_keras_gru(random_layer(GatedRecurrentLayer), reset_after=False),
            r'reset_gate_mode is "after-multiplication" \(the reset gate after the state '
            r"product\), but reset_after=False applies it before the product.*Pass reset_after=True",
        ),
        (
            lambda: to_matlab_gru(
                GatedRecurrentLayer(
                    N,
                    input=("Varying", K),
                    reset_gate_mode="before-multiplication",
                    arrays=random_layer(GatedRecurrentLayer).arrays,
                )
            ),
            r'"before-multiplication" \(the reset gate before the state product\), but '
            r'ResetGateMode "after-multiplication" applies it after.*'
            r'ResetGateMode="before-multiplication"',
        ),
        (
            lambda: from_matlab_gru(
                InputWeights=np.ones((6, K)),
                RecurrentWeights=np.ones((6, N)),
                Bias=np.ones(6),
                ResetGateMode="after-multiplcation",
            ),
            r"unknown ResetGateMode 'after-multiplcation'.*after-multiplication",
        ),
        (
            lambda: to_matlab_lstm(LongShortTermMemoryLayer(2, input=("Varying", 3))),
            r"to_matlab_lstm: the LongShortTermMemoryLayer has no value for "
            r"InputGateInputWeights.*NetInitialize",
        ),
        (
            lambda: to_keras_lstm({"InputGateInputWeight": np.ones((2, 3))}),
            r'unknown array "InputGateInputWeight".*InputGateInputWeights',
        ),
        (
            lambda: to_matlab_lstm(
                {**random_layer(LongShortTermMemoryLayer).arrays, "OutputGateBiases": np.ones(3)}
            ),
            r"OutputGateBiases must have shape \(2,\) \(n = 2 units, k = 3 inputs\); "
            r"received shape \(3,\)",
        ),
        (
            lambda: from_matlab_learn_rate_factors(
                LongShortTermMemoryLayer, BiasLearnRateFactor=[1, 2, 3]
            ),
            r"BiasLearnRateFactor must be a number ≥ 0 or a 1-by-4 vector.*i, f, g, o; "
            r"received \[1, 2, 3\]",
        ),
        (
            lambda: from_matlab_l2_factors(GatedRecurrentLayer, "g", InputWeightsL2Factor=-1),
            r"InputWeightsL2Factor must be a number ≥ 0 or a 1-by-3 vector.*r, z, h; received -1",
        ),
        (
            lambda: from_matlab_l2_factors(GatedRecurrentLayer, "g", L2Regularization="high"),
            r"L2Regularization must be a number ≥ 0; received 'high'",
        ),
        (
            lambda: from_matlab_learn_rate_factors(LinearLayer),
            r"takes LongShortTermMemoryLayer or GatedRecurrentLayer",
        ),
        (
            lambda: to_matlab_gru(random_layer(LongShortTermMemoryLayer)),
            r"to_matlab_gru: takes a GatedRecurrentLayer or a dict of its arrays; "
            r"received LongShortTermMemoryLayer",
        ),
    ],
)
def test_refusals(call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call()


def test_netgraph_and_to_pytorch_state_dict_do_not_import_torch():
    code = (
        "import sys; from netgraph import *; "
        "net = NetChain({'l0': GatedRecurrentLayer(3), 'l1': GatedRecurrentLayer(3)}, "
        "input=('Varying', 2)); "
        "net = NetInitialize(net, random_seed=0); "
        "keys = sorted(to_pytorch_state_dict(net)); "
        "assert 'torch' not in sys.modules, 'torch was imported'; print(keys)"
    )
    root = Path(__file__).resolve().parents[2]  # this checkout's netgraph
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root
    )
    assert (
        out.stdout.split()
        == (
            "['bias_hh_l0', 'bias_hh_l1', 'bias_ih_l0', 'bias_ih_l1', "
            "'weight_hh_l0', 'weight_hh_l1', 'weight_ih_l0', 'weight_ih_l1']"
        ).split()
    )
