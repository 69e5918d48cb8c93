"""GatedRecurrentLayer and BasicRecurrentLayer against plain-numpy references, forward and
backward, with dropout."""

import numpy as np
import pytest

from netgraph import (
    BasicRecurrentLayer,
    GatedRecurrentLayer,
    NetChain,
    NetPortGradient,
    NetStateObject,
    SequenceLastLayer,
)
from tests.harness import as64, check_gradients, check_layer

GRU_GATES = ("Input", "Reset", "Memory")


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


ACTIVATIONS = {
    "Tanh": np.tanh,
    "Ramp": lambda x: np.maximum(x, 0),
    "ReLU": lambda x: np.maximum(x, 0),
    "LogisticSigmoid": sigmoid,
    "SoftSign": lambda x: x / (1 + abs(x)),
    "Identity": lambda x: x,
}


def hard_sigmoid(x):
    return np.clip(0.2 * x + 0.5, 0.0, 1.0)


GATE = {"LogisticSigmoid": sigmoid, "HardSigmoid": hard_sigmoid}


def gru_reference(
    x, a, s=None, mx=None, ms=None, before=False, gate="LogisticSigmoid", state="Tanh"
):
    """Wolfram's GRU, one example, written for clarity; ``before``: the reset gate scales the
    state before the memory block's state weights (reset_gate_mode "before-multiplication").
    mx (3, k), ms (3, n): per-gate masks of the input and of the state, in the order input
    gate, reset gate, memory."""
    n = a["InputGateBiases"].shape[0]
    s = np.zeros(n) if s is None else s
    sg, ss = GATE[gate], ACTIVATIONS[state]
    ys = []
    for xt in x:
        xi = [xt if mx is None else xt * mx[g] for g in range(3)]
        si = [s if ms is None else s * ms[g] for g in range(3)]
        i = sg(
            a["InputGateInputWeights"] @ xi[0]
            + a["InputGateStateWeights"] @ si[0]
            + a["InputGateBiases"]
        )
        r = sg(
            a["ResetGateInputWeights"] @ xi[1]
            + a["ResetGateStateWeights"] @ si[1]
            + a["ResetGateBiases"]
        )
        if before:
            recurrent = a["MemoryGateStateWeights"] @ (r * si[2])
        else:
            recurrent = r * (
                a["MemoryGateStateWeights"] @ si[2] + a.get("MemoryGateStateBiases", 0.0)
            )
        m = ss(a["MemoryGateInputWeights"] @ xi[2] + recurrent + a["MemoryGateBiases"])
        s = (1 - i) * m + i * s
        ys.append(s)
    return {"Output": np.array(ys), "State": s}


def rnn_reference(x, a, s=None, f=np.tanh, mx=None, ms=None):
    """s' = f(Wx·x + Ws·s + b), one example. mx (1, k), ms (1, n): input and state masks."""
    n = a["Biases"].shape[0]
    s = np.zeros(n) if s is None else s
    ys = []
    for xt in x:
        s = f(
            a["InputWeights"] @ (xt if mx is None else xt * mx[0])
            + a["StateWeights"] @ (s if ms is None else s * ms[0])
            + a["Biases"]
        )
        ys.append(s)
    return {"Output": np.array(ys), "State": s}


def ragged(rng, lengths, k):
    return [rng.normal(size=(L, k)) for L in lengths]


# -- values and gradients ----------------------------------------------------------------------


def test_gru_matches_reference_and_finite_differences(rng):
    data = {"Input": ragged(rng, [4, 1, 3], 2)}
    check_layer(
        GatedRecurrentLayer(3, input=("Varying", 2)),
        data,
        lambda ex, a: gru_reference(ex["Input"], a),
        seed=1,
    )


def test_gru_with_a_state_bias_inside_the_reset_product(rng):
    """reset_gate_mode="recurrent-bias-after-multiplication" (MATLAB's, PyTorch's b_hn):
    m = tanh(Wmx·x + r*(Wms·s + bms) + bm); the bias and its gradient, against the reference."""
    data = {"Input": ragged(rng, [4, 1, 3], 2)}
    layer = GatedRecurrentLayer(
        3,
        input=("Varying", 2),
        reset_gate_mode="recurrent-bias-after-multiplication",
        arrays={"MemoryGateStateBiases": rng.normal(size=3)},
    )
    net = check_layer(layer, data, lambda ex, a: gru_reference(ex["Input"], a), seed=1)
    plain = net._replace(
        options={**net.options, "reset_gate_mode": "after-multiplication"},
        arrays={k: v for k, v in net.arrays.items() if k != "MemoryGateStateBiases"},
    )
    assert not np.allclose(net(data["Input"])[0], plain(data["Input"])[0])  # the bias acts


def test_gru_reset_before_the_product(rng):
    """reset_gate_mode="before-multiplication" (MATLAB's, Keras's reset_after=False):
    m = tanh(Wmx·x + Wms·(r*s) + bm), with an initial state, against the reference; the ONNX
    trip is a GRU with linear_before_reset=0."""
    data = {"Input": ragged(rng, [4, 1, 3], 2), "State": [rng.normal(size=3) for _ in range(3)]}
    layer = GatedRecurrentLayer(3, input=("Varying", 2), reset_gate_mode="before-multiplication")
    net = check_layer(
        layer, data, lambda ex, a: gru_reference(ex["Input"], a, ex["State"], before=True), seed=1
    )
    after = net._replace(options={**net.options, "reset_gate_mode": "after-multiplication"})
    assert not np.allclose(net(data["Input"])[0], after(data["Input"])[0])  # the mode acts


@pytest.mark.parametrize(
    ("mode", "gate", "state"),
    [
        ("before-multiplication", "HardSigmoid", "SoftSign"),
        ("after-multiplication", "HardSigmoid", "Tanh"),
        ("recurrent-bias-after-multiplication", "LogisticSigmoid", "SoftSign"),
    ],
)
def test_gru_state_and_gate_activations(rng, mode, gate, state):
    """MATLAB's StateActivationFunction and GateActivationFunction in each reset gate mode:
    forward, gradients, .ngnet and the ONNX GRU's activations attribute."""
    data = {"Input": ragged(rng, [4, 1, 3], 2), "State": [rng.normal(size=3) for _ in range(3)]}
    arrays = {"MemoryGateStateBiases": rng.normal(size=3)} if mode.startswith("recurrent") else {}
    layer = GatedRecurrentLayer(
        3,
        input=("Varying", 2),
        reset_gate_mode=mode,
        gate_activation=gate,
        state_activation=state,
        arrays=arrays,
    )

    def reference(ex, a):
        return gru_reference(ex["Input"], a, ex["State"], None, None, mode[0] == "b", gate, state)

    net = check_layer(layer, data, reference, seed=2)
    plain = net._replace(
        options={**net.options, "gate_activation": "LogisticSigmoid", "state_activation": "Tanh"}
    )
    assert not np.allclose(net(data["Input"])[0], plain(data["Input"])[0])  # they act


@pytest.mark.parametrize("mode", ["before-multiplication", "after-multiplication"])
def test_gru_one_step_by_hand(mode):
    """Two units, one step, from s = (1, 0) with i = 1/2 and r = (3/4, 1/4), and Wms sending
    unit 1 to unit 2: before the product m₂ = tanh(Wms·(r*s))₂ = tanh(r₁) = tanh(3/4); after
    it, m₂ = r₂·(Wms·s)₂ = tanh(1/4). s' = (1 − i)*m + i*s."""
    zero2, zero21 = np.zeros((2, 2)), np.zeros((2, 1))
    arrays = {
        f"{g}Gate{p}": v
        for g in GRU_GATES
        for p, v in (("InputWeights", zero21), ("StateWeights", zero2), ("Biases", np.zeros(2)))
    }
    arrays["ResetGateBiases"] = np.log([3.0, 1 / 3])  # r = σ(±ln 3) = 3/4, 1/4
    arrays["MemoryGateStateWeights"] = np.array([[0.0, 0.0], [1.0, 0.0]])
    gru = GatedRecurrentLayer(reset_gate_mode=mode, arrays=arrays)
    out = gru(
        {"Input": np.zeros((1, 1)), "State": np.array([1.0, 0.0])}, working_precision="Real64"
    )
    m2 = np.tanh(0.75 if mode == "before-multiplication" else 0.25)
    np.testing.assert_allclose(out[0], [0.5, 0.5 * m2], rtol=1e-15)


def test_gru_reset_gate_modes_are_checked():
    with pytest.raises(ValueError, match='"MemoryGateStateBiases".*belongs to the reset_gate_mode'):
        GatedRecurrentLayer(3, arrays={"MemoryGateStateBiases": np.ones(3)})
    with pytest.raises(ValueError, match='"MemoryGateStateBiases".*belongs to the reset_gate_mode'):
        GatedRecurrentLayer(
            3, reset_gate_mode="before-multiplication", arrays={"MemoryGateStateBiases": np.ones(3)}
        )
    with pytest.raises(
        ValueError,
        match=r"unknown reset_gate_mode 'before-multiplcation' \(did you mean "
        r"\"before-multiplication\"\?\)\. Valid values: after-multiplication, "
        r"recurrent-bias-after-multiplication, before-multiplication",
    ):
        GatedRecurrentLayer(3, reset_gate_mode="before-multiplcation")
    with pytest.raises(
        ValueError, match=r"unknown state_activation 'tanh' \(did you mean \"Tanh\""
    ):
        GatedRecurrentLayer(3, state_activation="tanh")
    with pytest.raises(
        ValueError, match=r"unknown gate_activation 'Sigmoid'.*LogisticSigmoid, HardSigmoid"
    ):
        GatedRecurrentLayer(3, gate_activation="Sigmoid")
    gru = GatedRecurrentLayer(3, reset_gate_mode="recurrent-bias-after-multiplication")
    assert gru.arrays["MemoryGateStateBiases"] is None


def test_gru_initial_state_and_its_gradient(rng):
    data = {"Input": ragged(rng, [2, 5, 3], 3), "State": [rng.normal(size=2) for _ in range(3)]}
    check_layer(
        GatedRecurrentLayer(2, input=("Varying", 3)),
        data,
        lambda ex, a: gru_reference(ex["Input"], a, ex["State"]),
        seed=2,
    )


def test_gru_fixed_length_input(rng):
    data = {"Input": [rng.normal(size=(4, 2)) for _ in range(3)]}
    check_layer(
        GatedRecurrentLayer(2, input=(4, 2)),
        data,
        lambda ex, a: gru_reference(ex["Input"], a),
        seed=4,
    )


@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_basic_rnn_matches_reference_and_finite_differences(rng, activation):
    data = {"Input": ragged(rng, [3, 1, 4], 2), "State": [rng.normal(size=3) for _ in range(3)]}
    layer = BasicRecurrentLayer(3, activation=activation, input=("Varying", 2))
    check_layer(
        layer,
        data,
        lambda ex, a: rnn_reference(ex["Input"], a, ex["State"], f=ACTIVATIONS[activation]),
        seed=3,
    )


def test_basic_rnn_default_is_tanh_without_state(rng):
    layer = BasicRecurrentLayer(2, input=("Varying", 3))
    assert layer.options["activation"] == "Tanh"
    check_layer(
        layer,
        {"Input": ragged(rng, [2, 5], 3)},
        lambda ex, a: rnn_reference(ex["Input"], a),
        seed=5,
    )


def test_gru_files_leave_out_default_activations():
    """A GRU with the default activations is written as before they existed, so that older
    files read back; other activations are written."""
    from netgraph.io.architecture import architecture

    plain = architecture(GatedRecurrentLayer(3, input=("Varying", 2)))["options"]
    assert "state_activation" not in plain and "gate_activation" not in plain
    assert plain["reset_gate_mode"] == "after-multiplication"
    hard = GatedRecurrentLayer(3, input=("Varying", 2), gate_activation="HardSigmoid")
    assert architecture(hard)["options"]["gate_activation"] == "HardSigmoid"


@pytest.mark.parametrize("layer", [GatedRecurrentLayer, BasicRecurrentLayer])
def test_final_state_is_taken_at_each_true_last_step(rng, layer):
    net = as64(layer(4, input=("Varying", 2)))
    xs = ragged(rng, [5, 2, 3, 1], 2)
    out = net(xs, ["Output", "State"], working_precision="Real64")
    for x, y, s in zip(xs, out["Output"], out["State"]):
        assert y.shape == (len(x), 4)
        np.testing.assert_array_equal(s, y[-1])
    # a state-only gradient reaches the input only up to each sequence's end, and all of it
    g = net(
        {
            "Input": xs,
            NetPortGradient("State"): [np.ones(4)] * 4,
            NetPortGradient("Output"): [np.zeros((len(x), 4)) for x in xs],
        },
        NetPortGradient("Input"),
        working_precision="Real64",
    )
    for x, gx in zip(xs, g):
        assert gx.shape == x.shape and np.all(np.abs(gx[0]) > 0)


def test_stacked_gru_and_basic_rnn_with_sequence_last(rng):
    net = as64(
        NetChain(
            [
                GatedRecurrentLayer(3),
                BasicRecurrentLayer(2, activation="SoftSign"),
                SequenceLastLayer(),
            ],
            input=("Varying", 2),
        )
    )
    xs = ragged(rng, [3, 6], 2)
    a = {k: leaf.arrays for k, leaf in net.layers.items() if k in ("1", "2")}
    got = net(xs, working_precision="Real64")
    for x, y in zip(xs, got):
        h = gru_reference(x, a["1"])["Output"]
        want = rnn_reference(h, a["2"], f=ACTIVATIONS["SoftSign"])["State"]
        np.testing.assert_allclose(y, want, rtol=1e-12)
    check_gradients(net, {"Input": xs})


@pytest.mark.parametrize("mode", ["after-multiplication", "before-multiplication"])
def test_feeding_steps_one_call_at_a_time_equals_the_whole_sequence(rng, mode):
    gru = GatedRecurrentLayer(3, reset_gate_mode=mode, gate_activation="HardSigmoid")
    net = as64(
        NetChain([gru, BasicRecurrentLayer(2, activation="Ramp")], input=("Varying", 2)),
        seed=7,
    )
    x = rng.normal(size=(6, 2))
    so = NetStateObject(net)
    parts = [
        so(x[:2], working_precision="Real64"),
        so(x[2:3], working_precision="Real64"),
        so(x[3:], working_precision="Real64"),
    ]
    np.testing.assert_allclose(
        np.concatenate(parts), net(x, working_precision="Real64"), rtol=1e-12, atol=1e-14
    )


# -- dropout ---------------------------------------------------------------------------------


def keep(rng, shape, p):
    return (rng.random(shape) >= p) / (1 - p)


def _train(net, xs, seed):
    return net(
        xs,
        ["Output", "State"],
        evaluation_mode="Train",
        random_seed=seed,
        working_precision="Real64",
    )


def _gru(n=3, k=2, **kw):
    return GatedRecurrentLayer(n, input=("Varying", k), **kw)


def _rnn(n=3, k=2, **kw):
    return BasicRecurrentLayer(n, input=("Varying", k), **kw)


CASES = {  # layer, weight names per gate (in mask-drawing order), reference
    "GRU": (
        _gru,
        [(f"{g}GateInputWeights", f"{g}GateStateWeights") for g in GRU_GATES],
        gru_reference,
    ),
    "GRU before-multiplication": (
        lambda n=3, k=2, **kw: _gru(n, k, reset_gate_mode="before-multiplication", **kw),
        [(f"{g}GateInputWeights", f"{g}GateStateWeights") for g in GRU_GATES],
        lambda x, a, s=None, mx=None, ms=None: gru_reference(x, a, s, mx, ms, before=True),
    ),
    "Basic": (_rnn, [("InputWeights", "StateWeights")], rnn_reference),
}
ALL = {"VariationalWeights": 0.5, "VariationalInput": 0.5, "VariationalState": 0.5}


@pytest.mark.parametrize("case", list(CASES))
def test_dropout_is_off_outside_training(rng, case):
    make = CASES[case][0]
    xs = ragged(rng, [3, 2], 2)
    plain = as64(make(), seed=5)
    with_dropout = make(arrays=plain.arrays, dropout=ALL)
    for a, b in zip(
        plain(xs, working_precision="Real64"), with_dropout(xs, working_precision="Real64")
    ):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("case", list(CASES))
def test_variational_weights_masks_every_weight_once_per_pass_never_biases(rng, case):
    make, gates, reference = CASES[case]
    p, seed, n, k = 0.4, 7, 3, 2
    net = as64(make(n, k, dropout=p), seed=6)
    xs = ragged(rng, [4, 2, 3], k)
    r = np.random.default_rng(seed)
    masked = dict(net.arrays)
    for wx, ws in gates:
        masked[wx] = net.arrays[wx] * keep(r, (n, k), p)
        masked[ws] = net.arrays[ws] * keep(r, (n, n), p)
    got = _train(net, xs, seed)
    for i, x in enumerate(xs):
        want = reference(x, masked)
        np.testing.assert_allclose(got["Output"][i], want["Output"], rtol=1e-12)
        np.testing.assert_allclose(got["State"][i], want["State"], rtol=1e-12)
    assert not np.allclose(got["Output"][0], reference(xs[0], net.arrays)["Output"])
    # shared by the batch and the steps: the same example twice gives the same result
    twice = _train(net, [xs[0], xs[0]], seed)["Output"]
    np.testing.assert_array_equal(twice[0], twice[1])


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("method", ["VariationalInput", "VariationalState"])
def test_per_sequence_masks(rng, case, method):
    make, gates, reference = CASES[case]
    p, seed, n, k = 0.3, 11, 3, 2
    net = as64(make(n, k, dropout={method: p}), seed=8)
    xs = ragged(rng, [4, 1, 3], k)
    B, G = len(xs), len(gates)
    r = np.random.default_rng(seed)
    got = _train(net, xs, seed)
    if method == "VariationalInput":
        m = keep(r, (B, G, k), p)
        want = [reference(x, net.arrays, mx=m[i]) for i, x in enumerate(xs)]
    else:
        m = keep(r, (B, G, n), p)
        want = [reference(x, net.arrays, ms=m[i]) for i, x in enumerate(xs)]
    for i in range(B):
        for port in ("Output", "State"):
            np.testing.assert_allclose(got[port][i], want[i][port], rtol=1e-12)
    # drawn per sequence: the same example twice in one batch gets different masks
    twice = _train(net, [xs[0], xs[0]], seed)["Output"]
    assert not np.allclose(twice[0], twice[1])


@pytest.mark.parametrize("case", list(CASES))
def test_all_methods_together_through_the_harness(rng, case):
    """Test mode is the plain layer; Train mode at a seed is reproducible, differs from Test
    mode and from another seed, and its gradients (the forward's masks reused) equal finite
    differences, in float64 and float32."""
    make, _, reference = CASES[case]
    drop = {"VariationalWeights": 0.2, "VariationalInput": 0.3, "VariationalState": 0.25}
    check_layer(
        make(dropout=drop),
        {"Input": ragged(rng, [3, 2], 2), "State": [rng.normal(size=3) for _ in range(2)]},
        lambda ex, a: reference(ex["Input"], a, ex["State"]),
        seed=9,
    )


# -- options and errors ---------------------------------------------------------------------


@pytest.mark.parametrize("layer", [GatedRecurrentLayer, BasicRecurrentLayer])
@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"dropout": 1.0}, "in [0, 1)"),
        ({"dropout": -0.1}, "in [0, 1)"),
        (
            {"dropout": {"StateUpdate": 0.1}},
            "Valid methods: VariationalWeights, VariationalInput, VariationalState",
        ),
        ({"dropout": {"VariationalInputs": 0.1}}, 'did you mean "VariationalInput"'),
        ({"learning_rate_multipliers": {"Weights": 0}}, "unknown array"),
        ({"dropuot": 0.1}, 'did you mean "dropout"'),
    ],
)
def test_bad_options_are_refused(layer, kw, message):
    escaped = message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")
    with pytest.raises((ValueError, TypeError), match=escaped):
        layer(3, **kw)


@pytest.mark.parametrize("n", [0, -2, 2.5, True, "3"])
def test_bad_unit_counts_are_refused(n):
    for layer in (GatedRecurrentLayer, BasicRecurrentLayer):
        with pytest.raises(ValueError, match="positive int"):
            layer(n)


def test_bad_activation_is_refused():
    with pytest.raises(ValueError, match=r'activation .*did you mean "Tanh"'):
        BasicRecurrentLayer(3, activation="tanh")
    with pytest.raises(TypeError, match="activation"):
        GatedRecurrentLayer(3, activation="Tanh")


def test_options_arrays_and_shapes():
    gru = GatedRecurrentLayer(
        4, input=("Varying", 3), learning_rate_multipliers={"ResetGateBiases": 0}
    )
    assert list(gru.arrays) == [
        f"{g}Gate{p}" for g in GRU_GATES for p in ("InputWeights", "StateWeights", "Biases")
    ]
    assert gru.array_shapes(gru.ports)["MemoryGateInputWeights"] == (4, 3)
    assert gru.array_shapes(gru.ports)["ResetGateStateWeights"] == (4, 4)
    assert gru.ports["State"].dims == (4,)
    rnn = BasicRecurrentLayer(2, input=("Varying", 5), dropout=0.1)
    assert list(rnn.arrays) == ["InputWeights", "StateWeights", "Biases"]
    assert rnn.options["dropout"] == {"VariationalWeights": 0.1}
    assert rnn.array_shapes(rnn.ports) == {
        "InputWeights": (2, 5),
        "StateWeights": (2, 2),
        "Biases": (2,),
    }
    # n and k come from given arrays
    rnn = BasicRecurrentLayer(arrays={"InputWeights": np.zeros((3, 7)), "StateWeights": np.eye(3)})
    assert rnn.ports["Input"].dims[1] == 7 and rnn.ports["Output"].dims[1] == 3


def test_wrong_array_shape_and_input_rank_are_refused():
    with pytest.raises(ValueError, match=r'"ResetGateStateWeights" has shape \(2, 2\)'):
        GatedRecurrentLayer(
            3, input=("Varying", 2), arrays={"ResetGateStateWeights": np.zeros((2, 2))}
        )
    with pytest.raises(ValueError, match=r'"Input".*size 4.*found .*size 2'):
        BasicRecurrentLayer(3, input=("Varying", 2), arrays={"InputWeights": np.zeros((3, 4))})
    with pytest.raises(ValueError, match="sequence of vectors"):
        BasicRecurrentLayer(3, input=4)
