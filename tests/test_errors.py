"""Bad input is refused with a message naming the port or option, what was expected and what came.

Nothing is silently broadcast, truncated or cast from text.
"""

import numpy as np
import pytest

from netgraph import (
    ElementwiseLayer,
    LinearLayer,
    NetChain,
    NetGraph,
    NetInitialize,
    NetPort,
    NetPortGradient,
    Restricted,
    SoftmaxLayer,
)
from tests.containers.test_graph import DiffLayer


@pytest.fixture
def vec():
    """A net on vectors of size 3."""
    return NetInitialize(
        NetChain([LinearLayer(2), ElementwiseLayer("Tanh")], input=3), random_seed=0
    )


@pytest.fixture
def seq():
    """A net on sequences of vectors of size 3."""
    return NetInitialize(NetChain([LinearLayer(2)], input=("Varying", 3)), random_seed=0)


@pytest.mark.parametrize(
    "data,got",
    [
        (5.0, "received data of shape ()"),
        (np.ones((2, 2, 3)), "received data of shape (2, 2, 3)"),
        ([np.ones((2, 3)), np.ones((2, 3))], "received data of shape (2, 2, 3)"),
    ],
)
def test_wrong_rank(vec, data, got):
    with pytest.raises(ValueError) as e:
        vec(data)
    want = 'port "Input" expects rank 1 for one example of a vector of size 3 (reals) or rank 2 for a batch; '
    assert str(e.value) == want + got + "."


def test_wrong_rank_in_a_list_of_sequences(seq):
    with pytest.raises(ValueError) as e:
        seq([np.ones((2, 3)), np.ones(3)])
    assert str(e.value) == (
        'port "Input" expects rank 2 for one example of a sequence of vectors of size 3 (reals) '
        "or rank 3 for a batch; received a list containing an example of shape (3,)."
    )


@pytest.mark.parametrize(
    "data,shape",
    [
        (np.ones(4), "(4,)"),
        (np.ones((5, 2)), "(2,)"),
        ([[1, 2, 3], [1, 2]], "(2,)"),
        ([1.0], "(1,)"),
    ],
)
def test_wrong_size_is_not_broadcast_or_truncated(vec, data, shape):
    with pytest.raises(ValueError) as e:
        vec(data)
    assert str(e.value) == (
        f'port "Input" expects each example to have shape (3,); received an example of shape {shape}.'
    )


def test_wrong_feature_size_in_sequences(seq):
    with pytest.raises(
        ValueError,
        match=r'port "Input" expects each example to have shape \(Varying, 3\); received an example of shape \(4, 2\)',
    ):
        seq([np.ones((2, 3)), np.ones((4, 2))])
    with pytest.raises(
        ValueError,
        match=r'port "Input" received a sequence of length 0; sequences need at least one step',
    ):
        seq([np.ones((0, 3))])


@pytest.mark.parametrize(
    "data,err,msg",
    [
        (
            "abc",
            TypeError,
            r'port "Input" expects numeric data \(a number, list or numpy array\); received str',
        ),
        (
            np.array(["a", "b", "c"]),
            TypeError,
            r"port \"Input\" expects numbers; received text array\(\['a', 'b', 'c'\]",
        ),
        ([1, 2, "3"], TypeError, r'port "Input" expects numbers; received an array of dtype <U'),
        (
            np.ones(3, complex),
            TypeError,
            r'port "Input" expects numbers; received an array of dtype complex128',
        ),
        (
            np.array([1, None, 2], dtype=object),
            TypeError,
            r'port "Input" expects numbers; received an array of dtype object',
        ),
        (
            [object(), object()],
            TypeError,
            r'port "Input" expects numeric data; received a list containing object',
        ),
        ({1, 2, 3}, TypeError, r'port "Input" expects numeric data .* received set'),
        (None, TypeError, r'port "Input" expects numeric data .* received NoneType'),
        ([], ValueError, r'port "Input" received an empty list; give at least one example'),
        (
            np.zeros((0, 3)),
            ValueError,
            r'port "Input" received an empty batch; give at least one example',
        ),
    ],
)
def test_wrong_type(vec, data, err, msg):
    with pytest.raises(err, match=msg):
        vec(data)


def test_wrong_type_reaches_a_net_with_open_input():
    net = ElementwiseLayer("Tanh")
    with pytest.raises(TypeError, match=r'port "Input" expects numeric data .* received set'):
        net({1.0, 2.0})
    with pytest.raises(
        TypeError, match=r'port "Input" expects numeric data; received a list containing object'
    ):
        net([object()])


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_and_inf_are_refused(vec, seq, bad):
    x = np.ones((2, 3))
    x[1, 2] = bad
    with pytest.raises(
        ValueError,
        match=r'port "Input" received NaN or infinite values; clean or impute the data first',
    ):
        vec(x)
    with pytest.raises(ValueError, match=r'port "Input" received NaN or infinite values'):
        seq([np.ones((3, 3)), x])
    with pytest.raises(ValueError, match=r"NaN or infinite values"):
        vec(
            {"Input": np.ones((2, 3)), NetPortGradient("Output"): x[:, 1:]},
            NetPortGradient("Input"),
        )


def test_unknown_input_port_is_refused_with_a_suggestion():
    g = NetGraph({"d": DiffLayer()}, [], input1=2, input2=2)
    with pytest.raises(ValueError) as e:
        g({"Inptu1": np.ones(2), "Input2": np.ones(2)})
    assert (
        str(e.value)
        == 'The net has no input port "Inptu1" (did you mean "Input1"?). Input ports: Input1, Input2.'
    )


def test_unknown_output_port_or_layer_is_refused_with_a_suggestion(vec):
    x = np.ones(3)
    with pytest.raises(ValueError) as e:
        vec(x, "Outptu")
    assert (
        str(e.value)
        == 'The net has no output port "Outptu" (did you mean "Output"?). Output ports: Output.'
    )
    with pytest.raises(
        ValueError,
        match=r'Layer "1" has no port "Outptu" \(did you mean "Output"\?\)\. Ports: Input, Output',
    ):
        vec(x, NetPort("1", "Outptu"))
    with pytest.raises(ValueError, match=r'The net has no layer "3"\. Layers: 1, 2'):
        vec(x, NetPort(3, "Output"))
    with pytest.raises(
        TypeError, match=r"Unknown output specification 3: give an output port name"
    ):
        vec(x, 3)


def test_unknown_option_to_a_layer_suggests_the_closest():
    with pytest.raises(TypeError) as e:
        LinearLayer(3, bias=None)
    assert str(e.value) == (
        'LinearLayer: unknown option "bias" (did you mean "biases"?). '
        "Valid options: arrays, biases, input, n, output, weights."
    )
    with pytest.raises(
        TypeError, match=r'ElementwiseLayer: unknown option "inptu" \(did you mean "input"\?\)'
    ):
        ElementwiseLayer("Tanh", inptu=3)
    with pytest.raises(
        TypeError, match=r'SoftmaxLayer: unknown option "level"\. Valid options: input, output'
    ):
        SoftmaxLayer(level=2)
    with pytest.raises(
        ValueError, match=r"ElementwiseLayer: unknown function 'Tahn' \(did you mean \"Tanh\"\?\)"
    ):
        ElementwiseLayer("Tahn")


def test_unknown_option_to_evaluation_suggests_the_closest(vec):
    with pytest.raises(TypeError) as e:
        vec(np.ones(3), working_precison="Real64")
    assert str(e.value) == (
        'NetChain evaluation: unknown option "working_precison" (did you mean "working_precision"?). '
        "Valid options: batch_size, evaluation_mode, random_seed, working_precision."
    )
    with pytest.raises(
        TypeError,
        match=r'LinearLayer evaluation: unknown option "random_sed" \(did you mean "random_seed"\?\)',
    ):
        LinearLayer(2, input=2)(np.ones(2), random_sed=1)


def test_bad_option_values_name_the_option():
    with pytest.raises(
        ValueError,
        match=r"LinearLayer: the output size must be a positive int or a tuple of them; received 0",
    ):
        LinearLayer(0)
    with pytest.raises(ValueError, match=r"received '3'"):
        LinearLayer("3")
    with pytest.raises(
        ValueError,
        match=r'LinearLayer: port "Input": each dimension must be a positive int, "Varying", or None or Automatic \(a size to infer\); received -3',
    ):
        LinearLayer(2, input=-3)
    with pytest.raises(
        ValueError,
        match=r'LinearLayer: port "Input": only the first dimension may be "Varying"; received it at position 1',
    ):
        LinearLayer(2, input=(2, "Varying"))
    with pytest.raises(
        TypeError,
        match=r'LinearLayer: port "Output": expected a shape such as 12, .* received \'abc\'',
    ):
        LinearLayer(2, output="abc")
    with pytest.raises(
        ValueError, match=r"Restricted: the count must be a positive int; received 0"
    ):
        Restricted("Integer", 0)
    with pytest.raises(TypeError, match=r"NetPortGradient takes a port name"):
        NetPortGradient(3)
    with pytest.raises(
        TypeError,
        match=r"NetPort takes a port name, or a layer and a port name; received 3 arguments",
    ):
        NetPort("a", "b", "c")


def test_array_of_the_wrong_shape_given_to_a_layer():
    with pytest.raises(
        ValueError,
        match=r'LinearLayer: array "Weights" has shape \(3, 4\), but the output shape is \(2,\)',
    ):
        LinearLayer(2, weights=np.ones((3, 4)))
    with pytest.raises(
        ValueError,
        match=r'LinearLayer: array "Biases" has shape \(3,\), but the output shape is \(2,\)',
    ):
        LinearLayer(2, weights=np.ones((2, 4)), biases=np.ones(3))
    with pytest.raises(ValueError) as e:
        LinearLayer(2, weights=np.ones((2, 4)), input=3)
    assert str(e.value).startswith(
        'LinearLayer: port "Input" (array "Weights" has shape (2, 4)): expected a vector of size 4 '
        "(reals), found a vector of size 3"
    )
    with pytest.raises(
        ValueError,
        match=r'LinearLayer: unknown array "Weight" \(did you mean "Weights"\?\)\. This layer has arrays: Weights, Biases',
    ):
        LinearLayer(2, arrays={"Weight": np.ones((2, 3))})
    with pytest.raises(
        TypeError, match=r'LinearLayer: array "Weights" must be numeric; received dtype <U1'
    ):
        LinearLayer(2, weights=[["a", "b"]])
    with pytest.raises(
        ValueError, match=r'LinearLayer: array "Weights" contains NaN or infinite values'
    ):
        LinearLayer(2, weights=[[1.0, np.nan], [0.0, 1.0]])


def test_data_for_a_layer_with_given_weights_must_fit_them():
    lin = LinearLayer(2, weights=np.ones((2, 4)), biases=np.zeros(2))
    with pytest.raises(
        ValueError,
        match=r'port "Input" \(array "Weights" has shape \(2, 4\)\): expected a vector of size 4 \(reals\), found a vector of size 3',
    ):
        lin(np.ones(3))
    np.testing.assert_array_equal(lin(np.ones(4)), [4.0, 4.0])


def test_batch_sizes_must_agree_between_ports():
    g = NetGraph({"d": DiffLayer()}, [], input1=2, input2=2)
    with pytest.raises(ValueError) as e:
        g({"Input1": np.ones((3, 2)), "Input2": np.ones((4, 2))})
    assert (
        str(e.value)
        == "Every input port needs the same number of examples; received Input1: 3, Input2: 4."
    )
    with pytest.raises(
        ValueError,
        match=r"one example, or every port a batch; the data mixes both \(one example for Input1\)",
    ):
        g({"Input1": np.ones(2), "Input2": np.ones((4, 2))})


def test_forced_gradient_of_the_wrong_shape_is_refused(vec):
    x = np.ones((3, 3))
    with pytest.raises(
        ValueError,
        match=r"port \"NetPortGradient\('Output'\)\" expects each example to have shape \(2,\); received an example of shape \(1,\)",
    ):
        vec({"Input": x, NetPortGradient("Output"): np.ones((3, 1))}, NetPortGradient("Input"))
    with pytest.raises(ValueError, match=r"batch shape \(1, 2\); the output has \(3, 2\)"):
        vec({"Input": x, NetPortGradient("Output"): np.ones((1, 2))}, NetPortGradient("Input"))
