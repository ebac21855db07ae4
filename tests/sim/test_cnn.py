"""Simulation tier: convolutions, pooling, batch norm and the new activations in GHDL equal
the PyTorch model bit for bit, alone over a grid of shapes and settings, and in chains."""

from __future__ import annotations

import pytest
import torch

from elasticai.creator import create_design
from elasticai.creator.nn import Sequential
from elasticai.creator.nn.fixed_point import (
    AdaptiveAvgPool1d,
    AdaptiveAvgPool2d,
    AvgPool1d,
    AvgPool2d,
    BatchNorm1d,
    BatchNorm2d,
    Conv1d,
    Conv2d,
    Dropout,
    Flatten,
    HardSwish,
    LeakyReLU,
    Linear,
    MaxPool1d,
    MaxPool2d,
    PReLU,
    ReLU,
    ReLU6,
    Sigmoid,
    SiLU,
    Tanh,
)
from tests.sim.test_designs import assert_bit_exact

pytestmark = pytest.mark.sim


def maps(batch: int, shape: tuple[int, ...], scale: float = 2.0, seed: int = 0) -> torch.Tensor:
    """Random inputs that also reach beyond the format's range (saturation)."""
    g = torch.Generator().manual_seed(seed)
    return torch.randn(batch, *shape, generator=g, dtype=torch.float64).float() * scale


def trained(model: Sequential, shape: tuple[int, ...], seed: int = 0) -> Sequential:
    """Random weights, and batch norm statistics from a few training batches."""
    torch.manual_seed(seed)
    for m in model.modules():
        if isinstance(m, Conv1d | Conv2d | Linear):
            torch.nn.init.uniform_(m.weight, -1.0, 1.0)
        if isinstance(m, BatchNorm1d | BatchNorm2d):
            torch.nn.init.uniform_(m.weight, 0.5, 2.0)
            torch.nn.init.uniform_(m.bias, -0.5, 0.5)
    model.train()
    with torch.no_grad():
        for k in range(3):
            model(maps(16, shape, seed=100 + k))
    return model.eval()


CONV1D = [
    # in, out, kernel, stride, padding, dilation, groups, bias, length
    (1, 1, 1, 1, 0, 1, 1, True, 5),
    (2, 3, 3, 1, 1, 1, 1, True, 9),
    (3, 5, 5, 2, 2, 1, 1, False, 13),
    (4, 4, 3, 1, "same", 2, 4, True, 7),  # depthwise, dilated
    (4, 6, 2, 3, 0, 1, 2, True, 11),  # grouped, stride 3
    (3, 2, 1, 1, 0, 1, 1, True, 6),  # pointwise (no window)
]


@pytest.mark.parametrize("setting", [{}, {"target_ii": 40}, {"parallelism": "full"}])
@pytest.mark.parametrize("case", CONV1D, ids=[f"conv1d{i}" for i in range(len(CONV1D))])
def test_conv1d_alone(case, setting):
    c_in, c_out, k, stride, pad, dil, groups, bias, length = case
    model = trained(
        Sequential(Conv1d(c_in, c_out, k, 8, 4, stride, pad, dil, groups, bias)), (c_in, length)
    )
    assert_bit_exact(model, maps(4, (c_in, length)), input_shape=(c_in, length), **setting)


@pytest.mark.parametrize(("total", "frac"), [(4, 2), (16, 8)])
def test_conv1d_formats_and_fixed_parallelism(total, frac):
    model = trained(
        Sequential(Conv1d(3, 4, 3, total, frac, padding=1, parallelism=(2, 2))), (3, 10)
    )
    assert_bit_exact(model, maps(3, (3, 10), scale=4.0), input_shape=(3, 10))


CONV2D = [
    # in, out, kernel, stride, padding, dilation, groups, (h, w)
    (1, 2, 3, 1, 1, 1, 1, (5, 6)),
    (3, 4, (3, 2), (2, 1), (1, 0), (1, 2), 1, (7, 6)),
    (2, 2, 3, 2, 0, 1, 2, (6, 5)),
]


@pytest.mark.parametrize("setting", [{}, {"parallelism": "full"}])
@pytest.mark.parametrize("case", CONV2D, ids=[f"conv2d{i}" for i in range(len(CONV2D))])
def test_conv2d_alone(case, setting):
    c_in, c_out, k, stride, pad, dil, groups, (h, w) = case
    model = trained(
        Sequential(Conv2d(c_in, c_out, k, 8, 4, stride, pad, dil, groups)), (c_in, h, w)
    )
    assert_bit_exact(model, maps(3, (c_in, h, w)), input_shape=(c_in, h, w), **setting)


POOLS = [
    (lambda: MaxPool1d(3, 2, 1, total_bits=8, frac_bits=4), (3, 10)),
    (lambda: MaxPool1d(2, total_bits=6, frac_bits=2), (2, 9)),
    (lambda: AvgPool1d(3, total_bits=8, frac_bits=4), (2, 9)),
    (lambda: AvgPool1d(4, 2, 1, total_bits=8, frac_bits=4, rounding="floor"), (3, 11)),
    (lambda: AdaptiveAvgPool1d(1, total_bits=8, frac_bits=4), (4, 6)),
    (lambda: MaxPool2d(2, total_bits=8, frac_bits=4), (2, 5, 4)),
    (lambda: MaxPool2d(3, 2, 1, total_bits=8, frac_bits=4), (3, 5, 5)),
    (lambda: AvgPool2d((2, 3), total_bits=8, frac_bits=4), (2, 4, 6)),
    (lambda: AdaptiveAvgPool2d(1, total_bits=8, frac_bits=4), (3, 3, 3)),
    # windows that are the map in stream order: the reduce reads it without an ec_window
    (lambda: MaxPool1d(2, total_bits=8, frac_bits=4), (3, 8)),
    (lambda: MaxPool2d((1, 4), total_bits=8, frac_bits=4), (2, 3, 4)),
    (lambda: AvgPool2d((2, 4), total_bits=8, frac_bits=4), (2, 4, 4)),
]
#: the POOLS whose windows are the map in stream order (AvgPool1d(3) over 9: three whole
#: windows; the global ones: one window of the whole map)
IN_ORDER = {2, 4, 8, 9, 10, 11}


@pytest.mark.parametrize("setting", [{}, {"parallelism": "full"}])
@pytest.mark.parametrize("case", POOLS, ids=[f"pool{i}" for i in range(len(POOLS))])
def test_pool_alone(case, setting):
    make, shape = case
    model = Sequential(make())
    assert_bit_exact(model, maps(4, shape, scale=5.0), input_shape=shape, **setting)


@pytest.mark.parametrize("index", range(len(POOLS)), ids=[f"pool{i}" for i in range(len(POOLS))])
def test_a_pool_whose_windows_are_the_map_in_order_has_no_window(index):
    make, shape = POOLS[index]
    design = create_design(Sequential(make()), "pool", input_shape=shape)
    windows = [n.name for n in design.graph.nodes if n.op.name == "window"]
    assert (not windows) == (index in IN_ORDER), windows


ACTIVATIONS = [
    lambda t, f: Sigmoid(t, f),
    lambda t, f: Tanh(t, f, segments=16),
    lambda t, f: SiLU(t, f),
    lambda t, f: HardSwish(t, f, segments=8),
    lambda t, f: LeakyReLU(t, f, 0.1),
    lambda t, f: PReLU(t, f, init=-0.3),
    lambda t, f: ReLU6(t, f),
]
NAMES = ["sigmoid", "tanh", "silu", "hard_swish", "leaky_relu", "prelu", "relu6"]


@pytest.mark.parametrize(("total", "frac"), [(4, 2), (8, 4), (16, 8)])
@pytest.mark.parametrize("make", ACTIVATIONS, ids=NAMES)
def test_activation_alone(make, total, frac):
    model = Sequential(make(total, frac))
    x = maps(6, (5,), scale=2.0 ** (total - frac - 1), seed=total)
    assert_bit_exact(model, x, input_shape=(5,))


def test_activations_on_maps_with_lanes():
    model = trained(
        Sequential(
            Conv1d(2, 4, 3, 8, 4, padding=1),
            SiLU(8, 4),
            Conv1d(4, 4, 1, 8, 4),
            Tanh(8, 4),
            MaxPool1d(2),
        ),
        (2, 8),
    )
    assert_bit_exact(model, maps(3, (2, 8)), input_shape=(2, 8), parallelism="full")


@pytest.mark.parametrize("setting", [{}, {"target_ii": 64}, {"parallelism": "full"}])
def test_conv1d_chain_to_linear(setting):
    model = trained(
        Sequential(
            Conv1d(2, 6, 5, 8, 4, padding=2),
            BatchNorm1d(6, 8, 4),
            ReLU(),
            MaxPool1d(2),
            Conv1d(6, 5, 3, 8, 4, padding=1, bias=False),
            BatchNorm1d(5, 8, 4),
            LeakyReLU(8, 4, 0.125),
            AvgPool1d(2),
            Dropout(0.2),
            Flatten(),
            Linear(5 * 3, 4, 8, 4),
            Sigmoid(8, 4),
        ),
        (2, 13),
    )
    assert_bit_exact(model, maps(4, (2, 13)), input_shape=(2, 13), **setting)


@pytest.mark.parametrize("setting", [{}, {"max_multipliers": 6}])
def test_conv2d_chain_with_global_pooling(setting):
    model = trained(
        Sequential(
            Conv2d(1, 4, 3, 8, 4, padding=1),
            BatchNorm2d(4, 8, 4),
            ReLU6(8, 4),
            MaxPool2d(2),
            Conv2d(4, 4, 3, 8, 4, padding=1, groups=4),  # depthwise
            Conv2d(4, 3, 1, 8, 4),  # pointwise: a separable convolution
            HardSwish(8, 4),
            AdaptiveAvgPool2d(1),
            Flatten(),
            Linear(3, 2, 8, 4),
        ),
        (1, 6, 6),
    )
    assert_bit_exact(model, maps(3, (1, 6, 6)), input_shape=(1, 6, 6), **setting)


def test_model_ending_in_a_map_and_standalone_batch_norm():
    model = trained(
        Sequential(
            Conv1d(3, 4, 3, 8, 4),
            ReLU(),
            BatchNorm1d(4, 8, 3),  # not directly after the convolution: computed on its own
            Conv1d(4, 2, 2, 8, 4, stride=2),
        ),
        (3, 9),
    )
    assert not model[2].folded
    assert_bit_exact(model, maps(3, (3, 9)), input_shape=(3, 9))


def test_linear_with_folded_batch_norm():
    model = trained(
        Sequential(Linear(6, 5, 8, 4), BatchNorm1d(5, 8, 4), Tanh(8, 4), Linear(5, 2, 8, 4)), (6,)
    )
    assert model[1].folded
    assert_bit_exact(model, maps(5, (6,)), target_ii=8)


def test_activation_before_the_first_convolution():
    model = trained(Sequential(Tanh(8, 4), Conv1d(2, 3, 3, 8, 4), MaxPool1d(2)), (2, 9))
    assert_bit_exact(model, maps(3, (2, 9)), input_shape=(2, 9))


@pytest.mark.parametrize("setting", [{}, {"target_ii": 6}])
def test_zero_blocks_are_skipped_and_the_bank_waits_for_the_whole_vector(setting):
    """Pruned weights: all-zero blocks cost no cycle, and a vector whose last visited block
    is not its last input word still waits for that word before freeing its input bank
    (found by the randomised equivalence: a 2-input layer with the weights [-2, 0])."""
    model = Sequential(Linear(2, 1, 2, 0, bias=False, rounding="floor"), Linear(1, 1, 2, 0))
    pruned = Sequential(Linear(12, 6, 8, 4))
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor([[-2.0, 0.0]]))
        model[1].weight.fill_(1.0)
        # no weight of the kept blocks may round to zero (it would skip one more block)
        g = torch.Generator().manual_seed(12)
        sign = torch.randint(0, 2, (6, 12), generator=g) * 2 - 1
        pruned[0].weight.copy_(sign * (0.25 + 0.75 * torch.rand(6, 12, generator=g)))
        pruned[0].weight[:, 8:] = 0.0  # the last third of the inputs unused
        pruned[0].weight[3:, :4] = 0.0
    assert_bit_exact(model, maps(8, (2,), scale=3.0))
    assert_bit_exact(pruned, maps(8, (12,)), **setting)
    design = pruned.create_design("pruned", **setting)
    report = design.report(synthesis=False)
    assert report["initiation_interval"] == report["predicted_initiation_interval"]
    if not setting:
        assert report["initiation_interval"] == 6 * 12 - 3 * 8 - 3 * 4  # 36 of 72 blocks
