"""Simulation tier: every design's GHDL simulation equals the PyTorch model, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from elasticai.creator.arithmetic import FixedType
from elasticai.creator.nn import Sequential
from elasticai.creator.nn.fixed_point import HardSigmoid, HardTanh, Linear, ReLU
from tests.strategies import saturating_inputs, set_extreme_weights

pytestmark = pytest.mark.sim

WIDTHS = [(4, 2), (8, 4), (16, 8)]


def assert_bit_exact(model: torch.nn.Module, x: torch.Tensor, name: str = "dut", **options) -> None:
    """GHDL == model on ``x`` (with stalls), and the design passes ``ghdl --synth``."""
    model.eval()
    design = model.create_design(name, **options)
    with torch.no_grad():
        expected = model(x)
    simulated = design.simulate(x)
    assert simulated.dtype == expected.dtype
    assert torch.equal(simulated, expected), (simulated - expected).abs().max()
    np.testing.assert_array_equal(
        design.simulate(x, raw=True),
        design.to_model_layout(design.interpret(design.quantize_input(x))),
    )
    design.check_synthesis()


def saturating_model(*layers: torch.nn.Module, seed: int = 0) -> Sequential:
    model = Sequential(*layers)
    set_extreme_weights(model, seed)
    return model


@pytest.mark.parametrize(("total", "frac"), WIDTHS)
@pytest.mark.parametrize(("n_in", "n_out"), [(1, 1), (17, 3), (10, 2), (3, 8)])
def test_linear_alone(total, frac, n_in, n_out):
    model = saturating_model(Linear(n_in, n_out, total, frac), seed=n_in * n_out)
    assert_bit_exact(model, saturating_inputs(12, n_in, FixedType(total, frac), seed=total))


@pytest.mark.parametrize(("total", "frac"), WIDTHS)
@pytest.mark.parametrize(
    "layer",
    [ReLU, HardSigmoid, HardTanh, lambda t, f: HardTanh(t, f, -0.5, 0.75)],
    ids=["relu", "hard_sigmoid", "hard_tanh", "hard_tanh_bounds"],
)
def test_activation_alone(total, frac, layer):
    model = Sequential(layer(total, frac))
    x = saturating_inputs(40, 3, FixedType(total, frac), seed=frac)
    assert_bit_exact(model, x, input_shape=(3,))


@pytest.mark.parametrize(("total", "frac"), WIDTHS)
def test_linear_relu_linear_hardtanh_chain(total, frac):
    model = saturating_model(
        Linear(5, 7, total, frac),
        ReLU(),
        Linear(7, 3, total, frac),
        HardTanh(total, frac),
        seed=total,
    )
    assert_bit_exact(model, saturating_inputs(16, 5, FixedType(total, frac), seed=1))


def test_the_readme_model_trained():
    torch.manual_seed(0)
    model = Sequential(
        Linear(in_features=10, out_features=2, bias=True, total_bits=16, frac_bits=8),
        HardSigmoid(total_bits=16, frac_bits=8),
    )
    x = torch.randn(64, 10) * 3
    target = (x[:, :2] > 0).float()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(20):
        optimizer.zero_grad()
        torch.nn.functional.mse_loss(model(x), target).backward()
        optimizer.step()
    assert_bit_exact(model, torch.cat([x, saturating_inputs(8, 10, FixedType(16, 8), 3)]))


def test_layers_of_different_formats_are_joined_exactly():
    model = saturating_model(
        Linear(4, 6, 16, 8, rounding="floor"),
        ReLU(8, 3, rounding="half_up"),
        Linear(6, 2, 6, 1, overflow="wrap"),
        HardSigmoid(10, 7, rounding="half_even"),
    )
    assert_bit_exact(model, saturating_inputs(20, 4, FixedType(16, 8), seed=5))


def test_results_do_not_depend_on_stalls():
    model = saturating_model(Linear(6, 4, 8, 4), ReLU(), Linear(4, 3, 8, 4))
    design = model.create_design("stalls")
    x = design.quantize_input(saturating_inputs(10, 6, FixedType(8, 4), seed=2))
    runs = [design.run(x, stall_percent=p, seed=s).outputs for p, s in [(0, 1), (50, 2), (90, 3)]]
    for outputs in runs:
        np.testing.assert_array_equal(outputs, design.interpret(x))


def test_layers_overlap_consecutive_samples():
    model = saturating_model(Linear(8, 8, 8, 4), ReLU(), Linear(8, 8, 8, 4))
    design = model.create_design("overlap")
    timing = design.run(design.quantize_input(torch.zeros(6, 8)), stall_percent=0)
    macs = 64 + 64
    assert timing.latencies[0] <= macs + 4 * 3  # a few cycles per stage beyond the MACs
    assert timing.initiation_interval == 64  # the slowest layer, not the sum: layers overlap
