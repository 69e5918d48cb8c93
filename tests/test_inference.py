"""Shape inference: sizes flow both ways, length variables, conflicts, partial nets, nesting."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netgraph import (
    ElementwiseLayer,
    LinearLayer,
    NetChain,
    NetGraph,
    NetInitialize,
    NetPort,
    SoftmaxLayer,
)
from netgraph.inference import infer_net
from netgraph.types import TensorType, Var
from tests.containers.test_graph import DiffLayer


def dims(t):
    return repr(t)


def test_sizes_flow_forwards():
    net = NetChain([LinearLayer(5), ElementwiseLayer("Tanh"), LinearLayer((2, 3))], input=4)
    assert [dims(net.layers[k].ports["Input"]) for k in "123"] == ["(4,)", "(5,)", "(5,)"]
    assert dims(net.ports["Output"]) == "(2, 3)"


def test_n_is_inferred_from_a_following_layers_weights():
    W = np.ones((2, 6))
    net = NetChain([LinearLayer(), ElementwiseLayer("Tanh"), LinearLayer(2, weights=W)], input=3)
    first = net.layers["1"]
    assert dims(first.ports["Output"]) == "(6,)"
    assert first.array_shapes(first.ports) == {"Weights": (6, 3), "Biases": (6,)}
    assert dims(net.ports["Output"]) == "(2,)"


def test_input_is_inferred_from_weights_and_flows_back_to_the_net():
    W = np.ones((2, 7))
    lone = LinearLayer(2, weights=W, input=(None,))
    assert dims(lone.ports["Input"]) == "(7,)"
    net = NetChain(
        [ElementwiseLayer("Sin"), SoftmaxLayer(), LinearLayer(weights=W)], input=("Varying", None)
    )
    assert dims(net.ports["Input"]) == "(Varying, 7)"
    assert dims(net.ports["Output"]) == "(Varying, 2)"


def test_sizes_flow_backwards_from_an_output_shape_through_nesting():
    inner = NetChain([LinearLayer(3, weights=np.ones((3, 2)))])
    net = NetChain([ElementwiseLayer("Tanh"), inner], output=(7, 3))
    assert dims(net.ports["Input"]) == "(7, 2)"
    assert dims(net.layers["1"].ports["Output"]) == "(7, 2)"


def test_varying_length_is_shared_along_a_chain():
    net = NetChain([LinearLayer(4), ElementwiseLayer("Tanh"), SoftmaxLayer()], input=("Varying", 3))
    v = net.ports["Input"].var
    assert isinstance(v, Var)
    assert net.ports["Output"].var is v
    assert all(net.layers[k].ports[p].var is v for k in "123" for p in ("Input", "Output"))


def test_varying_length_is_shared_across_ports_of_a_two_input_layer():
    g = NetGraph({"d": DiffLayer()}, [], input1=("Varying", 2), input2=("Varying", 2))
    v1, v2 = g.ports["Input1"].var, g.ports["Input2"].var
    assert v1 is v2 and g.ports["Output"].var is v1
    # one length variable: sequences of different lengths are refused at evaluation
    with pytest.raises(ValueError, match=r'port "Input2" must have the same sequence lengths'):
        g({"Input1": [np.ones((2, 2))], "Input2": [np.ones((3, 2))]})
    out = g(
        {
            "Input1": [np.ones((2, 2)), np.ones((3, 2))],
            "Input2": [np.zeros((2, 2)), np.ones((3, 2))],
        }
    )
    np.testing.assert_array_equal(out[0], np.ones((2, 2)))
    np.testing.assert_array_equal(out[1], -np.ones((3, 2)))


def test_separate_varying_lengths_stay_separate():
    g = NetGraph(
        {"a": ElementwiseLayer("Tanh"), "b": ElementwiseLayer("Sin")},
        [(NetPort("x"), "a"), (NetPort("y"), "b")],
        x=("Varying", 2),
        y=("Varying", 2),
    )
    assert g.ports["x"].var is not g.ports["y"].var
    out = g({"x": [np.zeros((2, 2))], "y": [np.zeros((5, 2))]})
    assert out["Output1"][0].shape == (2, 2) and out["Output2"][0].shape == (5, 2)


def test_varying_dimension_unifies_with_a_fixed_length():
    net = NetChain(
        [ElementwiseLayer("Tanh", input=("Varying", 3)), ElementwiseLayer("Sin", output=(4, 3))]
    )
    assert dims(net.ports["Input"]) == "(4, 3)"
    assert net.layers["1"].ports["Output"].var is None


def test_varying_bound_to_two_lengths_is_a_conflict():
    with pytest.raises(ValueError) as e:
        NetGraph(
            {
                "t": ElementwiseLayer("Tanh", input=("Varying", 3)),
                "u": ElementwiseLayer("Sin", output=(4, 3)),
                "v": ElementwiseLayer("Cos", output=(5, 3)),
            },
            [("t", "u"), ("t", "v")],
        )
    msg = str(e.value)
    assert 'port "Output" of layer "t" (ElementwiseLayer)' in msg
    assert 'port "Input" of layer "v" (ElementwiseLayer)' in msg
    assert "(4, 3)" in msg and "(5, 3)" in msg


def test_edge_conflict_names_both_ends_and_both_types():
    with pytest.raises(ValueError) as e:
        NetChain({"enc": LinearLayer(3, input=4), "dec": LinearLayer(2, input=5)})
    assert str(e.value) == (
        'Cannot connect port "Output" of layer "enc" (LinearLayer) to port "Input" of layer "dec" '
        "(LinearLayer): the first is a vector of size 3 (reals), the second expects a vector of "
        "size 5 (reals). Change a layer's size or the port's shape so that they agree."
    )


def test_rule_conflict_names_the_layer_the_port_and_what_feeds_it():
    with pytest.raises(ValueError) as e:
        NetChain([ElementwiseLayer("Tanh", input=3), LinearLayer(2, weights=np.ones((2, 4)))])
    assert str(e.value) == (
        'layer "2" (LinearLayer): port "Input" (array "Weights" has shape (2, 4)): expected a '
        "vector of size 4 (reals), found a vector of size 3 (reals) "
        '(port "Input" receives port "Output" of layer "1" (ElementwiseLayer)).'
    )
    with pytest.raises(ValueError) as e:
        NetChain([LinearLayer(2)], input=3, output=3)
    msg = str(e.value)
    assert msg.startswith('layer "1" (LinearLayer): port "Output": expected a vector of size 2')
    assert "found a vector of size 3" in msg and 'feeds port "Output" of the net' in msg
    with pytest.raises(
        ValueError,
        match=r'layer "2" \(SoftmaxLayer\): port "Input" must be a vector .* it is a scalar',
    ):
        NetChain([ElementwiseLayer("Tanh"), SoftmaxLayer()], input="Real")


def test_conflict_inside_nested_nets_names_the_path():
    inner = NetChain({"lin": LinearLayer(2, weights=np.ones((2, 4)))})
    with pytest.raises(ValueError) as e:
        NetChain({"pre": ElementwiseLayer("Tanh"), "sub": inner}, input=3)
    msg = str(e.value)
    assert msg.startswith('layer "sub/lin" (LinearLayer): port "Input"')
    assert 'receives port "Output" of layer "pre" (ElementwiseLayer)' in msg


def test_layer_conflicts_at_construction():
    with pytest.raises(
        ValueError,
        match=r'LinearLayer: array "Weights" has shape \(3, 4\), but the output shape is \(2,\)',
    ):
        LinearLayer(2, weights=np.ones((3, 4)))
    with pytest.raises(
        ValueError,
        match=r'ElementwiseLayer: port "Input" is a vector of size 3 \(reals\) but port "Output" is a vector of size 4',
    ):
        ElementwiseLayer("Tanh", input=3, output=4)


def test_partial_net_is_valid_until_evaluated_or_initialized():
    net = NetChain([LinearLayer(), ElementwiseLayer("Tanh")], input=3)
    assert dims(net.ports["Output"]) == "(?,)"
    assert "LinearLayer" in repr(net)
    with pytest.raises(ValueError) as e:
        NetInitialize(net)
    assert str(e.value).startswith(
        'NetInitialize: the shape of array "Weights" is not known yet, because port "Output" of '
        'layer "1" (LinearLayer) is a vector of size ? (reals).'
    )
    with pytest.raises(ValueError) as e:
        net(np.ones(3))
    assert str(e.value).startswith(
        'The net cannot be evaluated yet: port "Output" of layer "1" (LinearLayer) is a vector of size ?'
    )
    # completing the net later works
    done = NetInitialize(NetChain([net, LinearLayer(2, weights=np.ones((2, 5)), biases=[0, 0])]))
    assert dims(done.ports["Output"]) == "(2,)"
    assert done(np.ones(3)).shape == (2,)


def test_unknown_rank_is_filled_from_the_data():
    lin = LinearLayer(2, weights=[[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]], biases=[0.0, 1.0])
    net = NetChain([ElementwiseLayer("Abs"), lin])
    assert net.ports["Input"].dims is None
    np.testing.assert_allclose(net([-1.0, 2.0, -3.0]), [1.0, 6.0])
    out = net([np.array([[1.0, -1.0, 0.0]] * 2), np.array([[0.0, 0.0, 2.0]])])
    np.testing.assert_allclose(out[0], [[1.0, 2.0], [1.0, 2.0]])
    np.testing.assert_allclose(out[1], [[0.0, 3.0]])


def test_given_types_refine_a_net():
    net = NetChain([LinearLayer(4), SoftmaxLayer()])
    done = infer_net(net, {"Input": TensorType((5, 3), "Real")})
    assert dims(done.ports["Output"]) == "(5, 4)"
    assert dims(done.layers["1"].ports["Input"]) == "(5, 3)"
    with pytest.raises(
        ValueError,
        match=r'port "Input" of the net is a vector of size 3 \(reals\); it cannot take a vector of size 4',
    ):
        infer_net(NetChain([LinearLayer(4)], input=3), {"Input": TensorType((4,), "Real")})


def test_inference_is_a_fixed_point():
    net = NetChain(
        [
            NetChain([LinearLayer(), ElementwiseLayer("Tanh")]),
            NetGraph({"l": LinearLayer(2, weights=np.ones((2, 6)))}, []),
        ],
        input=("Varying", 3),
    )
    again = infer_net(net)
    for a, b in ((net, again), (net.layers["1"], again.layers["1"])):
        assert {p: dims(t) for p, t in a.ports.items()} == {p: dims(t) for p, t in b.ports.items()}
    assert dims(net.layers["1"].layers["1"].ports["Output"]) == "(Varying, 6)"
    assert dims(net.ports["Output"]) == "(Varying, 2)"


@settings(max_examples=30, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 6), min_size=1, max_size=4),
    k=st.integers(1, 6),
    sequence=st.booleans(),
    given_at=st.sampled_from(["input", "layer", "weights"]),
)
def test_inferred_shapes_match_a_hand_computation(sizes, k, sequence, given_at):
    layers = []
    for n in sizes:
        layers += [LinearLayer(n), ElementwiseLayer("Tanh")]
    if given_at == "weights":  # the input size comes from the first layer's weights
        layers[0] = LinearLayer(sizes[0], weights=np.ones((sizes[0], k)))
    spec = ("Varying", k) if sequence else (k,)
    if given_at == "weights":
        spec = ("Varying", None) if sequence else (None,)
    if given_at == "layer":
        layers[0] = LinearLayer(sizes[0], input=("Varying", k) if sequence else k)
        net = NetChain(layers)
    else:
        net = NetChain(layers, input=spec)
    lead = "Varying, " if sequence else ""
    assert dims(net.ports["Input"]) == f"({lead}{k}{'' if sequence else ','})"
    assert dims(net.ports["Output"]) == f"({lead}{sizes[-1]}{'' if sequence else ','})"
    for i, n in enumerate(sizes):
        lin = net.layers[str(2 * i + 1)]
        want = (n, sizes[i - 1] if i else k)
        assert lin.array_shapes(lin.ports)["Weights"] == want
