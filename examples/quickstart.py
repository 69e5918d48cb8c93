"""Build a net, initialize it, evaluate it, and ask what it is."""

import numpy as np

from netgraph import (
    ElementwiseLayer,
    Information,
    LinearLayer,
    NetChain,
    NetInitialize,
    NetPort,
    NetPortGradient,
    SequenceLastLayer,
    SoftmaxLayer,
)

# A classifier of sequences of 12-vectors: per-step features, the last step, 9 class scores.
net = NetChain(
    [
        LinearLayer(32),
        ElementwiseLayer("Tanh"),
        SequenceLastLayer(),
        LinearLayer(9),
        SoftmaxLayer(),
    ],
    input=("Varying", 12),
)
print(net)  # shapes are inferred; arrays are not there yet

net = NetInitialize(net, random_seed=1)
rng = np.random.default_rng(0)
sequences = [rng.normal(size=(n, 12)) for n in (5, 3, 8)]  # a ragged batch

probs = net(sequences)  # list in, list out
print("class probabilities of the first sequence:", np.round(probs[0], 3))
print("most likely classes:", [int(np.argmax(p)) for p in probs])

hidden = net(sequences[0], NetPort("2", "Output"))  # an inner value: (5, 32)
onehot = np.eye(9)[6]  # d(probability of class 6)/d input, by forcing the output gradient
grad = net({"Input": sequences[0], NetPortGradient("Output"): onehot}, NetPortGradient("Input"))
print("inner value shape:", hidden.shape, "input gradient shape:", grad.shape)

print(
    "arrays:",
    Information(net, "ArraysCount"),
    "elements:",
    Information(net, "ArraysTotalElementCount"),
)
print(Information(net))
