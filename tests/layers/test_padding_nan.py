"""A padded step holds zeros, where Log is -inf: nothing of it may reach a result or a gradient."""

import numpy as np

from netgraph import ElementwiseLayer, LinearLayer, NetChain, NetPortGradient
from tests.harness import as64, check_layer


def test_log_at_padding_does_not_poison_weight_gradients(rng):
    net = as64(NetChain([ElementwiseLayer("Log"), LinearLayer(2)], input=("Varying", 3)))
    data = [rng.uniform(1, 2, size=(n, 3)) for n in (4, 1)]
    g = net(data, NetPortGradient(["2", "Weights"]), working_precision="Real64")
    alone = sum(
        net([d], NetPortGradient(["2", "Weights"]), working_precision="Real64") for d in data
    )
    assert np.all(np.isfinite(g))
    np.testing.assert_allclose(g, alone, rtol=1e-12)


def test_log_then_linear_on_ragged_sequences_through_the_harness(rng):
    def ref(ex, a):
        return {"Output": np.log(ex["Input"]) @ a["2/Weights"].T + a["2/Biases"]}

    data = [rng.uniform(1, 2, size=(n, 3)) for n in (4, 1, 2)]
    check_layer(
        NetChain([ElementwiseLayer("Log"), LinearLayer(2)], input=("Varying", 3)),
        {"Input": data},
        ref,
    )
