"""Evaluation in chunks, ``net(data, output, batch_size=N)``: every result equals one call
over the whole batch (array gradients, sums over the batch, up to round-off)."""

import numpy as np
import pytest

from netgraph import (
    All,
    DropoutLayer,
    ElementwiseLayer,
    LinearLayer,
    LongShortTermMemoryLayer,
    NetChain,
    NetGraph,
    NetInitialize,
    NetPort,
    NetPortGradient,
    NetStateObject,
    SequenceLastLayer,
    SoftmaxLayer,
)
from tests.test_coders import classifier

STATES = NetPort(All, "States")
SIZES = (1, 3, 7)  # 10 examples: chunks of 1, of 3 (3+3+3+1) and of 7 (7+3)
PRECISIONS = ("Real32", "Real64")
# BLAS rounds the products of one row differently in matrix products with other row counts
# (other kernels for the edge rows; a vector product for one row), so values that pass
# through LinearLayer or a recurrent layer may differ from one call's in the last bits:
# measured up to 2 eps (relative to max(1, |value|)) for chunks of 1, 3 and 7 against one
# call of 10, in Real32 and Real64. Array gradients, sums of the chunks' sums, up to 5 eps.
ULPS = 8
GRAD_ULPS = 64
EXACT = 0  # nets without matrix products: every value equal, bit for bit


def assert_same(got, want, ulps=ULPS):
    """Equal through lists and dicts: the same structure, shapes and dtypes exactly, and the
    same values up to ``ulps`` machine epsilons (relative to max(1, |value|))."""
    if isinstance(want, dict):
        assert list(got) == list(want)
        for k in want:
            assert_same(got[k], want[k], ulps)
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want)
        for g, w in zip(got, want):
            assert_same(g, w, ulps)
    elif isinstance(want, np.ndarray):
        assert isinstance(got, np.ndarray) and got.dtype == want.dtype
        assert got.shape == want.shape
        if ulps == EXACT:
            assert np.array_equal(got, want)
        else:
            tol = ulps * np.finfo(want.dtype).eps
            np.testing.assert_allclose(got, want, rtol=tol, atol=tol)
    elif isinstance(want, float):  # a decoder's probability, from a Real32 output
        tol = ulps * float(np.finfo(np.float32).eps)
        assert got == pytest.approx(want, rel=tol, abs=tol)
    else:
        assert got == want


def lstm_chain():
    return NetInitialize(
        NetChain(
            [LongShortTermMemoryLayer(4), LinearLayer(3), ElementwiseLayer("Tanh")],
            input=("Varying", 2),
        ),
        random_seed=1,
    )


def ragged(rng, n=10):
    return [rng.normal(size=(L, 2)) for L in rng.integers(1, 9, n)]


def design_graph():
    """Two inputs: sequences ("Input") and the LSTM's initial state ("init")."""
    return NetInitialize(
        NetGraph(
            {
                "lstm": LongShortTermMemoryLayer(4),
                "last": SequenceLastLayer(),
                "out": LinearLayer(2),
            },
            [
                ("lstm", "last", "out"),
                (NetPort("init"), NetPort("lstm", "State")),
                (NetPort("lstm", "CellState"), NetPort("FinalCell")),
            ],
            input=("Varying", 3),
        ),
        random_seed=2,
    )


ARRAY_GRADS = [NetPortGradient(["1", "InputGateInputWeights"]), NetPortGradient(["2", "Weights"])]


@pytest.mark.parametrize("precision", PRECISIONS)
@pytest.mark.parametrize("size", SIZES)
def test_without_matrix_products_every_value_is_exact(rng, precision, size):
    net = NetChain([ElementwiseLayer("Tanh"), SoftmaxLayer()], input=("Varying", 3))
    xs, opts = (
        [rng.normal(size=(L, 3)) for L in rng.integers(1, 9, 10)],
        {"working_precision": precision},
    )
    specs = ["Output", NetPort("1", "Output"), NetPortGradient("Input")]
    assert_same(net(xs, specs, batch_size=size, **opts), net(xs, specs, **opts), EXACT)
    x = np.stack([x[:1] for x in xs])
    assert_same(net(x, specs, batch_size=size, **opts), net(x, specs, **opts), EXACT)


@pytest.mark.parametrize("precision", PRECISIONS)
@pytest.mark.parametrize("size", SIZES)
def test_a_ragged_list_through_an_lstm_equals_one_call(rng, precision, size):
    net, xs = lstm_chain(), ragged(rng)
    opts = {"working_precision": precision}
    want = net(xs, **opts)
    assert_same(net(xs, batch_size=size, **opts), want)
    specs = ["Output", NetPort("1", "Output"), NetPort("2", "Input"), STATES]
    specs += [NetPortGradient("Input")]
    assert_same(net(xs, specs, batch_size=size, **opts), net(xs, specs, **opts))
    whole = net(xs, ARRAY_GRADS, **opts)
    assert_same(net(xs, ARRAY_GRADS, batch_size=size, **opts), whole, GRAD_ULPS)


@pytest.mark.parametrize("precision", PRECISIONS)
@pytest.mark.parametrize("size", SIZES)
def test_an_array_batch_gives_an_array(rng, precision, size):
    net, opts = lstm_chain(), {"working_precision": precision}
    x = rng.normal(size=(10, 5, 2))
    got = net(x, batch_size=size, **opts)
    assert isinstance(got, np.ndarray) and got.shape == (10, 5, 3)
    assert_same(got, net(x, **opts))
    specs = [NetPort("1", "Output"), STATES, NetPortGradient("Input")]
    assert_same(net(x, specs, batch_size=size, **opts), net(x, specs, **opts))


@pytest.mark.parametrize("precision", PRECISIONS)
@pytest.mark.parametrize("size", SIZES)
def test_forced_gradients_and_initial_states_are_split_with_the_inputs(rng, precision, size):
    net, xs, opts = lstm_chain(), ragged(rng), {"working_precision": precision}
    ogs = [rng.normal(size=(len(x), 3)) for x in xs]
    states = {
        NetPort("1", "State"): list(rng.normal(size=(10, 4))),
        NetPort("1", "CellState"): list(rng.normal(size=(10, 4))),
    }
    feed = {"Input": xs, NetPortGradient("Output"): ogs, STATES: states}
    specs = ["Output", STATES, NetPortGradient("Input")]
    assert_same(net(feed, specs, batch_size=size, **opts), net(feed, specs, **opts))
    whole = net(feed, ARRAY_GRADS, **opts)
    assert_same(net(feed, ARRAY_GRADS, batch_size=size, **opts), whole, GRAD_ULPS)
    # a forced gradient as one padded array for a ragged list: each chunk takes its steps
    padded = np.zeros((10, max(map(len, xs)), 3))
    for i, og in enumerate(ogs):
        padded[i, : len(og)] = og
    feed[NetPortGradient("Output")] = padded
    grad = NetPortGradient("Input")
    assert_same(net(feed, grad, batch_size=size, **opts), net(feed, grad, **opts))


@pytest.mark.parametrize("precision", PRECISIONS)
@pytest.mark.parametrize("size", SIZES)
def test_a_graph_with_two_inputs_takes_a_dict(rng, precision, size):
    g, opts = design_graph(), {"working_precision": precision}
    xs = [rng.normal(size=(L, 3)) for L in rng.integers(1, 9, 10)]
    feed = {"Input": xs, "init": list(rng.normal(size=(10, 4)))}
    assert_same(g(feed, batch_size=size, **opts), g(feed, **opts))
    specs = ["Output", NetPort("lstm", "Output"), NetPortGradient("init"), NetPortGradient("Input")]
    assert_same(g(feed, specs, batch_size=size, **opts), g(feed, specs, **opts))
    # the first port is an array: outputs are arrays, sequences padded to the longest of all
    feed = {"init": rng.normal(size=(10, 4)), "Input": xs}
    specs = ["Output", NetPort("lstm", "Output"), NetPortGradient("Input")]
    got = g(feed, specs, batch_size=size, **opts)
    assert got[NetPort("lstm", "Output")].shape == (10, max(map(len, xs)), 4)
    assert_same(got, g(feed, specs, **opts))


@pytest.mark.parametrize("size", SIZES)
def test_encoded_inputs_and_decoded_outputs(rng, size):
    net = classifier()
    words = ["".join(rng.choice(["x", "y"], L)) for L in rng.integers(1, 9, 10)]
    assert net(words, batch_size=size) == net(words)
    assert_same(net(words, "Probabilities", batch_size=size), net(words, "Probabilities"))
    top = ("TopDecisions", 2)
    assert_same(net(words, top, batch_size=size), net(words, top))
    raw = NetPort("Output")
    assert_same(net(words, raw, batch_size=size), net(words, raw))
    assert net(words[0], batch_size=size) == net(words[0])  # one example is one chunk


def test_one_example_and_a_batch_size_beyond_the_data(rng):
    net, xs = lstm_chain(), ragged(rng)
    assert_same(net(xs[0], batch_size=1), net(xs[0]))
    assert_same(net(xs, STATES, batch_size=100), net(xs, STATES))
    assert_same(net(xs, batch_size=np.int64(4)), net(xs))


def test_train_mode_is_reproducible_per_batch_size(rng):
    net = NetChain([DropoutLayer(0.5)], input=("Varying", 2))
    xs = ragged(rng)
    train = {"evaluation_mode": "Train", "random_seed": 0}
    chunked = net(xs, batch_size=3, **train)
    assert_same(net(xs, batch_size=3, **train), chunked, EXACT)
    # masks are drawn chunk after chunk from one generator: not those of one call
    assert not all(np.array_equal(a, b) for a, b in zip(chunked, net(xs, **train)))
    assert_same(net(xs, batch_size=10, **train), net(xs, **train), EXACT)  # one chunk
    test = net(xs, batch_size=3)  # Test mode: no dropout
    assert_same(test, [x.astype(np.float32) for x in xs], EXACT)


@pytest.mark.parametrize("bad", [0, -2, 2.0, True, "4", [3]])
def test_batch_size_must_be_a_positive_integer(rng, bad):
    net = lstm_chain()
    with pytest.raises(ValueError, match=r"batch_size must be a positive integer .* received"):
        net(ragged(rng), batch_size=bad)


def test_counts_that_differ_are_refused_for_the_whole_data(rng):
    g, net = design_graph(), lstm_chain()
    xs = [rng.normal(size=(3, 3))] * 10
    with pytest.raises(
        ValueError, match=r"the same number of examples; received Input: 10, init: 9"
    ):
        g({"Input": xs, "init": list(rng.normal(size=(9, 4)))}, batch_size=4)
    feed = {"Input": ragged(rng), NetPortGradient("Output"): [np.ones((1, 3))] * 9}
    with pytest.raises(ValueError, match=r'forced gradient for output "Output" has 9 examples'):
        net(feed, NetPortGradient("Input"), batch_size=4)
    feed = {"Input": ragged(rng), STATES: {NetPort("1", "State"): [np.ones(4)] * 11}}
    with pytest.raises(ValueError, match=r"initial state NetPort\('1', 'State'\) has 11 examples"):
        net(feed, batch_size=4)


def test_a_state_object_refuses_batch_size(rng):
    so = NetStateObject(lstm_chain())
    with pytest.raises(TypeError, match=r"NetStateObject: batch_size is not an option"):
        so(ragged(rng), batch_size=3)
