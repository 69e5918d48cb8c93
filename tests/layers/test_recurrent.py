"""LongShortTermMemoryLayer against a plain-numpy reference, forward and backward, with dropout."""

import numpy as np
import pytest

from netgraph import LongShortTermMemoryLayer, NetChain, SequenceLastLayer
from tests.harness import as64, check_gradients, check_layer

GATES = ("Input", "Output", "Forget", "Memory")  # the fused order, in which masks are drawn


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def hard_sigmoid(x):
    return np.clip(0.2 * x + 0.5, 0, 1)


def softsign(x):
    return x / (1 + abs(x))


def lstm_reference(x, a, s=None, c=None, gate=sigmoid, act=np.tanh, mx=None, ms=None, u=None):
    """Wolfram's LSTM, one example, written for clarity. mx (4, k), ms (4, n): per-gate masks
    of the input and the state; u (T, n): the StateUpdate masks."""
    n = a["InputGateBiases"].shape[0]
    s = np.zeros(n) if s is None else s
    c = np.zeros(n) if c is None else c
    ys = []
    for t, xt in enumerate(x):
        pre = {
            G: a[f"{G}GateInputWeights"] @ (xt if mx is None else xt * mx[g])
            + a[f"{G}GateStateWeights"] @ (s if ms is None else s * ms[g])
            + a[f"{G}GateBiases"]
            for g, G in enumerate(GATES)
        }
        i, o, f, m = (
            gate(pre["Input"]),
            gate(pre["Output"]),
            gate(pre["Forget"]),
            act(pre["Memory"]),
        )
        c = f * c + i * (m if u is None else m * u[t])
        s = o * act(c)
        ys.append(s)
    return {"Output": np.array(ys), "State": s, "CellState": c}


def ragged(rng, lengths, k):
    return [rng.normal(size=(L, k)) for L in lengths]


def test_lstm_matches_reference_and_finite_differences(rng):
    data = {"Input": ragged(rng, [4, 1, 3], 2)}
    check_layer(
        LongShortTermMemoryLayer(3, input=("Varying", 2)),
        data,
        lambda ex, a: lstm_reference(ex["Input"], a),
        seed=1,
    )


def test_lstm_initial_states_and_their_gradients(rng):
    data = {
        "Input": ragged(rng, [2, 5], 3),
        "State": [rng.normal(size=2) for _ in range(2)],
        "CellState": [rng.normal(size=2) for _ in range(2)],
    }
    check_layer(
        LongShortTermMemoryLayer(2, input=("Varying", 3)),
        data,
        lambda ex, a: lstm_reference(ex["Input"], a, ex["State"], ex["CellState"]),
        seed=2,
    )


@pytest.mark.parametrize(
    ("gate", "act", "gname", "aname"),
    [
        (hard_sigmoid, np.tanh, "HardSigmoid", "Tanh"),
        (sigmoid, softsign, "LogisticSigmoid", "SoftSign"),
    ],
)
def test_lstm_activations(rng, gate, act, gname, aname):
    layer = LongShortTermMemoryLayer(
        3, input=("Varying", 2), gate_activation=gname, state_activation=aname
    )
    data = {"Input": ragged(rng, [3, 2], 2)}
    check_layer(
        layer, data, lambda ex, a: lstm_reference(ex["Input"], a, gate=gate, act=act), seed=3
    )


def test_lstm_fixed_length_input(rng):
    data = {"Input": [rng.normal(size=(4, 2)) for _ in range(3)]}
    check_layer(
        LongShortTermMemoryLayer(2, input=(4, 2)),
        data,
        lambda ex, a: lstm_reference(ex["Input"], a),
        seed=4,
    )


def test_lstm_final_state_is_taken_at_each_true_last_step(rng):
    net = as64(LongShortTermMemoryLayer(4, input=("Varying", 2)))
    xs = ragged(rng, [5, 2, 3], 2)
    out = net(xs, ["Output", "State"], working_precision="Real64")
    for x, y, s in zip(xs, out["Output"], out["State"]):
        assert y.shape == (len(x), 4)
        np.testing.assert_array_equal(s, y[-1])


def test_stacked_lstm_with_sequence_last(rng):
    net = as64(
        NetChain(
            [LongShortTermMemoryLayer(3), LongShortTermMemoryLayer(2), SequenceLastLayer()],
            input=("Varying", 2),
        )
    )
    xs = ragged(rng, [3, 6], 2)
    a = {k: leaf.arrays for k, leaf in net.layers.items() if k in ("1", "2")}
    got = net(xs, working_precision="Real64")
    for x, y in zip(xs, got):
        h = lstm_reference(x, a["1"])["Output"]
        np.testing.assert_allclose(y, lstm_reference(h, a["2"])["State"], rtol=1e-12)
    check_gradients(net, {"Input": xs})


# -- dropout ---------------------------------------------------------------------------------


def keep(rng, shape, p):
    return (rng.random(shape) >= p) / (1 - p)


def _train(net, xs, seed):
    return net(
        xs,
        ["Output", "State", "CellState"],
        evaluation_mode="Train",
        random_seed=seed,
        working_precision="Real64",
    )


def test_dropout_is_off_outside_training(rng):
    xs = ragged(rng, [3, 2], 2)
    plain = as64(LongShortTermMemoryLayer(3, input=("Varying", 2)), seed=5)
    arrays = plain.arrays
    with_dropout = LongShortTermMemoryLayer(
        3,
        input=("Varying", 2),
        arrays=arrays,
        dropout={
            "VariationalWeights": 0.5,
            "VariationalInput": 0.5,
            "VariationalState": 0.5,
            "StateUpdate": 0.5,
        },
    )
    for a, b in zip(
        plain(xs, working_precision="Real64"), with_dropout(xs, working_precision="Real64")
    ):
        np.testing.assert_array_equal(a, b)


def test_variational_weights_masks_every_weight_once_per_pass_never_biases(rng):
    p, seed = 0.4, 7
    net = as64(LongShortTermMemoryLayer(3, input=("Varying", 2), dropout=p), seed=6)
    xs = ragged(rng, [4, 2, 3], 2)
    r = np.random.default_rng(seed)
    masked = dict(net.arrays)
    for G in GATES:
        for part, shape in (("InputWeights", (3, 2)), ("StateWeights", (3, 3))):
            masked[f"{G}Gate{part}"] = net.arrays[f"{G}Gate{part}"] * keep(r, shape, p)
    got = _train(net, xs, seed)
    for i, x in enumerate(xs):
        want = lstm_reference(x, masked)
        np.testing.assert_allclose(got["Output"][i], want["Output"], rtol=1e-12)
        np.testing.assert_allclose(got["CellState"][i], want["CellState"], rtol=1e-12)
    # the mask is shared by the batch: the same example twice gives the same result
    twice = _train(net, [xs[0], xs[0]], seed)["Output"]
    np.testing.assert_array_equal(twice[0], twice[1])


@pytest.mark.parametrize("method", ["VariationalInput", "VariationalState", "StateUpdate"])
def test_per_sequence_and_per_step_masks(rng, method):
    p, seed, n, k = 0.3, 11, 3, 2
    net = as64(LongShortTermMemoryLayer(n, input=("Varying", k), dropout={method: p}), seed=8)
    xs = ragged(rng, [4, 1, 3], k)
    B, T = len(xs), max(len(x) for x in xs)
    r = np.random.default_rng(seed)
    got = _train(net, xs, seed)
    if method == "VariationalInput":
        m = keep(r, (B, 4, k), p)
        want = [lstm_reference(x, net.arrays, mx=m[i]) for i, x in enumerate(xs)]
    elif method == "VariationalState":
        m = keep(r, (B, 4, n), p)
        want = [lstm_reference(x, net.arrays, ms=m[i]) for i, x in enumerate(xs)]
    else:
        m = keep(r, (T, B, n), p)
        want = [lstm_reference(x, net.arrays, u=m[:, i]) for i, x in enumerate(xs)]
    for i in range(B):
        for port in ("Output", "State", "CellState"):
            np.testing.assert_allclose(got[port][i], want[i][port], rtol=1e-12)
    # drawn per sequence: the same example twice in one batch gets different masks
    twice = _train(net, [xs[0], xs[0]], seed)["Output"]
    assert not np.allclose(twice[0], twice[1])


def test_all_four_methods_together_through_the_harness(rng):
    """Test mode is the plain LSTM; Train mode at a seed is reproducible, differs from Test
    mode and from another seed, and its gradients (the forward's masks reused) equal finite
    differences, in float64 and float32."""
    drop = {
        "VariationalWeights": 0.2,
        "VariationalInput": 0.3,
        "VariationalState": 0.25,
        "StateUpdate": 0.1,
    }
    check_layer(
        LongShortTermMemoryLayer(3, input=("Varying", 2), dropout=drop),
        {"Input": ragged(rng, [3, 2], 2), "State": [rng.normal(size=3) for _ in range(2)]},
        lambda ex, a: lstm_reference(ex["Input"], a, ex["State"]),
        seed=9,
    )


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"dropout": 1.0}, "in [0, 1)"),
        ({"dropout": {"Variational": 0.1}}, "did you mean"),
        ({"state_activation": "Ramp"}, "Tanh, SoftSign"),
        ({"gate_activation": "Sigmoid"}, "LogisticSigmoid"),
        ({"learning_rate_multipliers": {"Weights": 0}}, "unknown array"),
        ({"dropuot": 0.1}, 'did you mean "dropout"'),
    ],
)
def test_bad_options_are_refused(kw, message):
    with pytest.raises(
        (ValueError, TypeError),
        match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\["),
    ):
        LongShortTermMemoryLayer(3, **kw)


def test_wrong_array_shape_and_input_rank_are_refused():
    with pytest.raises(ValueError, match=r'"InputGateStateWeights" has shape \(2, 2\)'):
        LongShortTermMemoryLayer(
            3, input=("Varying", 2), arrays={"InputGateStateWeights": np.zeros((2, 2))}
        )
    with pytest.raises(ValueError, match="sequence of vectors"):
        LongShortTermMemoryLayer(3, input=4)
