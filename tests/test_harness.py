"""The shared layer-test harness refuses to pass when it is given nothing to check."""

import numpy as np
import pytest

from netgraph import ElementwiseLayer, LinearLayer, SequenceMostLayer
from tests.harness import as64, check_gradients, check_layer, check_reference


def tanh_ref(ex, a):
    return {"Output": np.tanh(ex["Input"])}


def test_no_data_or_no_examples_is_refused():
    layer = ElementwiseLayer("Tanh", input=3)
    with pytest.raises(ValueError, match="no data to check"):
        check_layer(layer, {}, tanh_ref)
    with pytest.raises(ValueError, match="same, nonzero number of examples"):
        check_layer(layer, {"Input": []}, tanh_ref)
    with pytest.raises(ValueError, match=r"no input port\(s\) \['Inptu'\]"):
        check_layer(layer, {"Inptu": [np.ones(3)]}, tanh_ref)


def test_a_reference_that_checks_no_output_is_refused():
    layer = as64(ElementwiseLayer("Tanh", input=3))
    with pytest.raises(ValueError, match="the reference gives"):
        check_reference(layer, {"Input": [np.ones(3)]}, lambda ex, a: {})
    with pytest.raises(ValueError, match="the reference gives"):
        check_reference(layer, {"Input": [np.ones(3)]}, lambda ex, a: {"Out": ex["Input"]})


def test_no_gradient_to_check_is_refused():
    tanh = as64(ElementwiseLayer("Tanh", input=3))
    data = {"Input": [np.ones(3)]}
    with pytest.raises(ValueError, match="the net has no arrays"):
        check_gradients(tanh, data, arrays=True)
    with pytest.raises(ValueError, match="no gradient to check"):
        check_gradients(tanh, data, ports=[])
    check_gradients(as64(LinearLayer(2, input=3)), data, ports=[], arrays=True)


def test_an_output_length_without_a_rule_is_refused(rng):
    data = {"Input": [rng.normal(size=(n, 2)) for n in (3, 2)]}
    layer = SequenceMostLayer(input=("Varying", 2))
    with pytest.raises(ValueError, match=r'has a length of its own; give lengths=\{"Output"'):
        check_layer(layer, data, lambda ex, a: {"Output": ex["Input"][:-1]})
    with pytest.raises(AssertionError, match="shape"):  # a wrong rule is caught
        check_layer(
            layer,
            data,
            lambda ex, a: {"Output": ex["Input"][:-1]},
            lengths={"Output": lambda ex: len(ex["Input"])},
        )


def test_a_wrong_reference_fails():
    with pytest.raises(AssertionError, match="output Output, example 0"):
        check_layer(
            ElementwiseLayer("Tanh", input=3),
            {"Input": [np.ones(3)]},
            lambda ex, a: {"Output": np.sin(ex["Input"])},
        )


def test_a_net_that_does_not_come_back_whole_fails(monkeypatch):
    import tests.harness as harness

    net = as64(LinearLayer(2, input=3))
    data = {"Input": [np.ones(3)]}
    harness.check_export(net, data)
    other = as64(LinearLayer(2, input=3), seed=1)  # other arrays
    monkeypatch.setattr(harness, "Import", lambda path: other)
    with pytest.raises(AssertionError, match=r"Import\(Export\(net\)\) != net"):
        harness.check_export(net, data)
    with pytest.raises(ValueError, match="no data"):
        harness.check_export(net, {})
