"""Recurrent layers driven into saturation: Real32 against Real64, forward and every gradient.

Large weights, large inputs and long sequences push the pre-activations and the LSTM's cell far
past where tanh and sigmoid are ±1 and 0 or 1 in float32 (|z| up to 1e6); the float32 kernels
must saturate there as float64 does, never give NaN, and agree with float64 as elsewhere
(tests/harness.py's F32_TOL). The arrays and inputs are float32 numbers, so that both
precisions start from the same values.

Two things make these cases harder for float32 than the other layer tests, and the tolerance
says so. A pre-activation z = Σ w·v + b is rounded to about u·Σ|w·v| (u = 2⁻²⁴), which with
weights ×100 and 37 units is 1e-4 absolute: a unit near its transition and everything after it
move by that much (chaotically, through the recurrence), so every comparison is within F32_TOL
times ``reach``, the largest Σ|w·v| + |b| of any unit (at least 1). And a gradient through
saturated units is a sum of terms that float64 keeps (at 1e-179, say) and float32 rounds to 0, so
each gradient is compared on the larger of its own size and that of one of its terms had the
units not saturated, |seed|·max(1, |x|, |array|). Where old kernels gave NaN, these fail at once."""

import numpy as np
import pytest

from netgraph import (
    BasicRecurrentLayer,
    GatedRecurrentLayer,
    KernelOptions,
    LongShortTermMemoryLayer,
    NetPortGradient,
    NetStateObject,
)
from netgraph.kernels import settings
from tests.harness import F32_TOL, as64, assert_close, assert_f32_close, leaf_arrays, set_array
from tests.kernels.ops import recorded_runs

# Units enough for each activation loop to have a SIMD body as well as a scalar remainder: the
# old float32 kernels gave NaN in the body only.
N = 37
LAYERS = {
    "LSTM": lambda: LongShortTermMemoryLayer(N, input=("Varying", 3)),
    "GRU": lambda: GatedRecurrentLayer(N, input=("Varying", 3)),
    "GRU before-multiplication": lambda: GatedRecurrentLayer(
        N, input=("Varying", 3), reset_gate_mode="before-multiplication"
    ),
    "GRU HardSigmoid SoftSign": lambda: GatedRecurrentLayer(
        N, input=("Varying", 3), gate_activation="HardSigmoid", state_activation="SoftSign"
    ),
    "RNN Tanh": lambda: BasicRecurrentLayer(N, input=("Varying", 3)),
    "RNN LogisticSigmoid": lambda: BasicRecurrentLayer(
        N, activation="LogisticSigmoid", input=("Varying", 3)
    ),
}
# (weight scale, bias, input scale, sequence length)
CASES = {
    "weights x10": (10.0, None, 1.0, 12),
    "weights x100": (100.0, None, 1.0, 12),
    "inputs 1e4": (1.0, None, 1e4, 12),
    "biases 6, zero input, long": (1.0, 6.0, 0.0, 80),
}
LENGTHS = {"ragged": [1.0, 0.25, 0.6], "full": [1.0, 1.0, 1.0]}


def f32(v):
    return np.asarray(v, np.float32).astype(np.float64)


def saturating(make, case, rng):
    """The layer with its weights scaled (and biases set) as ``case`` says, float32 numbers."""
    w, b, _, _ = CASES[case]
    net = as64(make())
    for (path, name), a in leaf_arrays(net).items():
        value = np.full_like(a, b) if b is not None and name.endswith("Biases") else a * w
        net = set_array(net, path, name, f32(value))
    return net


def data_of(case, fractions, rng):
    _, _, scale, T = CASES[case]
    return [f32(rng.normal(size=(max(1, int(T * p)), 3)) * scale) for p in fractions]


def assert_within(g32, g64, scale, reach, what):
    """float32, finite, within F32_TOL·reach of the larger of its own size and ``scale``."""
    g32, g64 = np.asarray(g32), np.asarray(g64, np.float64)
    assert g32.dtype == np.float32 and np.all(np.isfinite(g32)), f"{what}: {g32}"
    scale = max(float(np.max(np.abs(g64), initial=0.0)), scale)
    assert_close(g32.astype(np.float64), g64, 0, F32_TOL * reach * scale, f"{what} (float32)")


def reach_of(net, xs):
    """The largest Σ|w·v| + |b| of any unit's pre-activation (states are at most 1), or 1."""
    x = max(float(np.max(np.abs(v), initial=0.0)) for v in xs)
    sums = 0.0
    for (_, name), a in leaf_arrays(net).items():
        v = x if "Input" in name.replace("InputGate", "") else 1.0
        sums += np.max(np.sum(np.abs(a), axis=-1) * v) if a.ndim == 2 else np.max(np.abs(a))
    return max(1.0, float(sums))


def term_size(net, xs):
    """The size of one term of any gradient: |seed| (at most 4) times the largest input or
    array value, or 1."""
    values = [np.max(np.abs(x), initial=0.0) for x in xs]
    values += [np.max(np.abs(a)) for a in leaf_arrays(net).values()]
    return 4.0 * max(1.0, *values)


def everything(net, xs, precision):
    """Outputs, and the gradients of the input and of every array, for random output seeds
    (normal, clipped to ±4)."""
    rng = np.random.default_rng(3)
    outs = net(xs, list(net.output_ports()), working_precision=precision)
    seeds = {
        NetPortGradient(p): [f32(np.clip(rng.normal(size=np.shape(y)), -4, 4)) for y in ys]
        for p, ys in outs.items()
    }
    specs = [NetPortGradient("Input")] + [
        NetPortGradient([*path, name]) for path, name in leaf_arrays(net)
    ]
    grads = net({"Input": xs, **seeds}, specs, working_precision=precision)
    return outs, grads


# "auto" runs these small calls on BLAS; the micro-kernel of each width this CPU runs, forced,
# runs the same cases on the ragged batches (kernels/packed.py).
RUNS = [(lengths, "auto") for lengths in LENGTHS] + [
    ("ragged", k) for k in settings.host_kernels() if k != "blas"
]


@pytest.mark.parametrize(("lengths", "kernel"), RUNS)
@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("layer", list(LAYERS))
def test_float32_saturates_like_float64_forward_and_backward(layer, case, lengths, kernel):
    rng = np.random.default_rng(0)
    net = saturating(LAYERS[layer], case, rng)
    xs = data_of(case, LENGTHS[lengths], rng)
    with KernelOptions(kernel=kernel), recorded_runs() as calls:
        outs64, grads64 = everything(net, xs, "Real64")
        outs32, grads32 = everything(net, xs, "Real32")
    if kernel != "auto":  # the micro-kernel asked for is the one that ran
        assert calls and {bits for _, bits in calls} == {settings.WIDTHS[kernel]}
    reach, term = reach_of(net, xs), term_size(net, xs)
    for p in outs64:
        for i, (y32, y64) in enumerate(zip(outs32[p], outs64[p])):
            assert_within(y32, y64, 1.0, reach, f"{layer}, {case}: port {p}, example {i}")
    for spec in grads64:
        g32, g64 = grads32[spec], grads64[spec]
        if spec == NetPortGradient("Input"):
            for i, (a, b) in enumerate(zip(g32, g64)):
                assert_within(a, b, term, reach, f"{layer}, {case}: input gradient, example {i}")
        else:
            assert_within(g32, g64, term, reach, f"{layer}, {case}: gradient {spec}")


def test_lstm_of_the_issue_is_finite_and_equals_float64():
    lstm = as64(LongShortTermMemoryLayer(3, input=("Varying", 2)))
    x = np.zeros((2, 2))
    x[0, 0] = 100.0
    y32, y64 = lstm(x), lstm(x, working_precision="Real64")
    assert np.all(np.isfinite(y32))
    assert_f32_close(y32, y64, "LSTM, one input of 100")


@pytest.mark.parametrize("layer", list(LAYERS))
def test_streaming_a_long_saturated_sequence_in_float32(layer):
    """Biases 6 and zero input: the LSTM's cell grows past 44.4 at step 46 and keeps growing;
    fed one step at a time through NetStateObject, Real32 stays equal to Real64 whole."""
    net = saturating(LAYERS[layer], "biases 6, zero input, long", np.random.default_rng(0))
    x = np.zeros((80, 3))
    so = NetStateObject(net)
    steps = np.concatenate([so(x[t : t + 1]) for t in range(len(x))])
    assert np.all(np.isfinite(steps))
    assert_f32_close(steps, net(x, working_precision="Real64"), f"{layer}, streamed")
    for port, s in so.states.items():
        assert np.all(np.isfinite(s)), f"{layer}: final state {port}"
    if layer == "LSTM":
        cell = so.states[next(p for p in so.states if "Cell" in str(p))]
        assert np.mean(cell > 44.4) > 0.5  # the case of the issue: most cells went past 44.4
