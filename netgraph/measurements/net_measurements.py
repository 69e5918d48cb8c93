"""NetMeasurements(net, data, measurement): how well a net does on data (Wolfram's
NetMeasurements). The net runs with the loss NetTrain would attach (training/losses.py),
in test mode, in batches; measures.py turns the batches' values into the measurements."""

from __future__ import annotations

import numpy as np

from ..batching import PRECISIONS, specialize
from ..net import Net
from ..plan import plan_of
from ..text import check_keywords
from ..training.data import as_examples, check_ports, data_coders, encoded
from ..training.losses import training_net
from ..walk import all_arrays
from .measures import measure, measurement_names, measures_for

OWNER = "NetMeasurements"
NAMES = ("batch_size", "working_precision", "loss_function")


def NetMeasurements(
    net,
    data,
    measurement,
    *,
    batch_size: int = 256,
    working_precision: str = "Real32",
    loss_function=None,
    **unknown,
):
    """The ``measurement`` of ``net`` on ``data``, or a dict name → value for a list of them.

    ``data``: as NetTrain takes it: ``(inputs, targets)``, a list of ``(input, target)``
    pairs, or a dict of port → examples; labels of a ``NetDecoder("Class", labels)`` as
    targets, else class indices (from 0) for an output of probabilities. The net is evaluated
    in test mode, ``batch_size`` examples at a time (default 256), in ``working_precision``
    ("Real32" or "Real64"); ``loss_function`` is NetTrain's option, for "Loss".

    Measurements (Wolfram's names):

    - "Loss": the mean per example of the loss NetTrain attaches (or ``loss_function``),
      as NetTrain's round and validation losses.
    - For a classifier (an output with a cross-entropy loss, as after a SoftmaxLayer, or
      after a LogisticSigmoid: two classes, False/True with a Boolean decoder, else 0/1;
      each example, or each true step of a sequence, is one case; the prediction is the
      most probable class): "Accuracy", the fraction of cases classified correctly;
      "Precision", "Recall", "F1Score", a dict class → value, keyed by the decoder's labels
      (class indices without a decoder): precision = correct / predicted as the class,
      recall = correct / actually in the class, F1 = their harmonic mean; a class never
      predicted has precision 0.0 and a class absent from the targets recall 0.0 (0/0 is
      taken as 0, scikit-learn's default), so no value is NaN. "ConfusionMatrix": an int
      array whose element [i, j] counts the cases of class i classified as class j (rows
      the actual class, columns the predicted one, as in Wolfram), classes in the
      decoder's order (or by index).
    - For a regression (an output with a mean squared or mean absolute loss), over every
      element of every example's output (true steps only): "MeanSquare", the mean squared
      error; "MeanDeviation", the mean absolute error; "RSquared", 1 − Σ(y − t)² / Σ(t − t̄)²,
      t̄ the mean of all the target elements (for constant targets: 1.0 when fitted
      exactly, else 0.0).

    >>> from netgraph import LinearLayer, NetChain, NetDecoder, NetMeasurements, SoftmaxLayer
    >>> net = NetChain([LinearLayer(2, weights=[[1.0, 0.0], [0.0, 1.0]], biases=[0.0, 0.0]),
    ...                 SoftmaxLayer()], input=2, output=NetDecoder("Class", ["cat", "dog"]))
    >>> X = [[2.0, 0.0], [0.0, 2.0], [1.0, 0.0], [0.0, 1.0]]   # predicted: cat, dog, cat, dog
    >>> Y = ["cat", "dog", "dog", "dog"]
    >>> NetMeasurements(net, (X, Y), "Accuracy")
    0.75
    >>> NetMeasurements(net, (X, Y), ["Precision", "Recall"])
    {'Precision': {'cat': 0.5, 'dog': 1.0}, 'Recall': {'cat': 1.0, 'dog': 0.6666666666666666}}
    >>> NetMeasurements(net, (X, Y), "ConfusionMatrix")   # rows actual, columns predicted
    array([[1, 0],
           [1, 2]])
    """
    check_keywords(OWNER, unknown, NAMES)
    if not isinstance(net, Net):
        raise TypeError(
            f"{OWNER}: the first argument must be a net; received {type(net).__name__}."
        )
    names = measurement_names(measurement, OWNER)
    dtype = _options(batch_size, working_precision)
    _check_initialized(net)
    tn = training_net(net, loss_function, OWNER)
    m = measures_for(names, net, tn, OWNER)
    examples = _examples(net, tn, data)
    run = specialize(tn.net, examples.take(np.arange(min(examples.n, 16))))
    values = measure(run, plan_of(run), m, examples, batch_size=batch_size, dtype=dtype)
    return values[names[0]] if isinstance(measurement, str) else values


def _options(batch_size, working_precision):
    """The dtype of ``working_precision``, after checking both options."""
    if (
        isinstance(batch_size, bool)
        or not isinstance(batch_size, (int, np.integer))
        or batch_size < 1
    ):
        raise ValueError(
            f"{OWNER}: batch_size must be a positive integer; received {batch_size!r}."
        )
    if working_precision not in PRECISIONS:
        raise ValueError(
            f'{OWNER}: working_precision must be "Real32" or "Real64"; received {working_precision!r}.'
        )
    return PRECISIONS[working_precision]


def _check_initialized(net) -> None:
    missing = ["/".join(k) for k, a in all_arrays(net).items() if a is None]
    if missing:
        raise ValueError(
            f"{OWNER}: the net has uninitialized arrays ({', '.join(missing[:4])}"
            f"{' …' if len(missing) > 4 else ''}); measure a trained net, or call "
            "NetInitialize(net) first."
        )


def _examples(net, tn, data):
    """The data as examples by training-net port, through the net's encoders and decoders."""
    if callable(data) and not isinstance(data, Net):
        raise TypeError(
            f"{OWNER}: give the data itself, as (inputs, targets), a list of (input, target) "
            "pairs or a dict of port name → examples; a generator function is for NetTrain."
        )
    inputs = net.required_inputs()
    examples = as_examples(data, inputs[0] if len(inputs) == 1 else None, tn.targets, OWNER)
    check_ports(examples, tn, OWNER)
    return encoded(examples, data_coders(net, tn))
