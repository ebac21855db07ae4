"""PyTorch forward == integer interpreter, and the layers' training behaviour."""

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings

from elasticai.creator.arithmetic import FixedType
from elasticai.creator.frontend import to_graph
from elasticai.creator.ir import interpret
from elasticai.creator.nn import Sequential
from elasticai.creator.nn.fixed_point import HardSigmoid, HardTanh, Linear, ReLU, quantize
from tests.strategies import chains, saturating_inputs


def model_ints(model, x):
    graph = to_graph(model, "m")
    with torch.no_grad():
        y = model(x).to(torch.float64) * 2.0**graph.output_type.dtype.frac_bits
    assert torch.equal(y, torch.round(y)), "the model's outputs must lie on the output grid"
    return graph, y.to(torch.int64).numpy()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chains())
def test_pytorch_forward_equals_integer_interpreter(case):
    model, features, seed = case
    graph = to_graph(model, "m")
    x = saturating_inputs(32, features, graph.input_type.dtype, seed)
    graph, expected = model_ints(model, x)
    from elasticai.creator.arithmetic import quantize_float

    x_int = quantize_float(
        x.numpy(), graph.input_type.dtype, graph.input.rounding, graph.input.overflow
    )
    np.testing.assert_array_equal(interpret.run(graph, x_int), expected)


def test_wide_formats_are_exact_beyond_int64():
    layer = Linear(4, 1, total_bits=32, frac_bits=16, bias=False)
    with torch.no_grad():
        layer.weight.fill_(FixedType(32, 16).max_value)
    x = torch.full((1, 4), FixedType(32, 16).max_value, dtype=torch.float64)
    graph, expected = model_ints(Sequential(layer), x)
    assert expected[0, 0] == FixedType(32, 16).max_int  # saturated, not wrapped


def test_hard_sigmoid_is_close_to_the_float_function():
    x = torch.linspace(-4, 4, 2001)
    for total, frac in [(8, 4), (16, 8), (12, 10)]:
        y = HardSigmoid(total, frac)(x)
        exact = torch.nn.functional.hardsigmoid(quantize(x, total, frac))
        assert (y - exact).abs().max() < 0.6 * 2.0**-frac  # the bound HardSigmoid documents


def test_gradients_flow_straight_through():
    model = Sequential(Linear(3, 2, total_bits=16, frac_bits=8), HardTanh(16, 8))
    x = torch.randn(8, 3, requires_grad=True) * 0.1
    model(x).sum().backward()
    assert model[0].weight.grad is not None and model[0].weight.grad.abs().sum() > 0
    assert model[0].bias.grad is not None


def test_relu_gradient_is_zero_where_clamped():
    x = torch.tensor([-1.0, 0.5], requires_grad=True)
    ReLU(8, 4)(x).sum().backward()
    assert x.grad.tolist() == [0.0, 1.0]


def test_quantize_is_half_even_and_saturating():
    assert quantize(torch.tensor([0.125, 0.375, 100.0]), 8, 2).tolist() == [0.0, 0.5, 31.75]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Linear(2, 2, total_bits=1, frac_bits=0), "total_bits must be at least 2, not 1"),
        (
            lambda: Linear(2, 2, total_bits=8, frac_bits=9),
            "frac_bits must not exceed total_bits (8), not 9",
        ),
        (lambda: HardSigmoid(8, -1), "frac_bits must not be negative, not -1"),
        (lambda: HardTanh(8, 4, 1.0, -1.0), "min_val must not exceed max_val (-1.0), not 1.0"),
        (
            lambda: ReLU(8, 4, rounding="up"),
            "rounding must be one of 'floor', 'half_up', 'half_even', not 'up'",
        ),
    ],
)
def test_bad_layer_arguments_name_the_rule_and_value(make, message):
    with pytest.raises(ValueError) as error:
        make()
    assert str(error.value) == message
