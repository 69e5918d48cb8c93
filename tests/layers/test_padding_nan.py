import numpy as np

from netgraph import ElementwiseLayer, LinearLayer, NetChain, NetPortGradient
from tests.harness import as64


def test_log_at_padding_does_not_poison_weight_gradients(rng):
    net = as64(NetChain([ElementwiseLayer("Log"), LinearLayer(2)], input=("Varying", 3)))
    data = [rng.uniform(1, 2, size=(n, 3)) for n in (4, 1)]
    g = net(data, NetPortGradient(["2", "Weights"]), working_precision="Real64")
    alone = sum(
        net([d], NetPortGradient(["2", "Weights"]), working_precision="Real64") for d in data
    )
    assert np.all(np.isfinite(g))
    np.testing.assert_allclose(g, alone, rtol=1e-12)
