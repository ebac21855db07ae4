"""Per-tensor formats: weights and bias of their own formats, exact in PyTorch and the
interpreter, with the accumulator still exact."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from elasticai.creator.arithmetic import FixedType, Rounding, requantize
from elasticai.creator.base_modules.quantization import to_int
from elasticai.creator.nn import Sequential
from elasticai.creator.nn.fixed_point import BatchNorm1d, Conv1d, Conv2d, Linear, ReLU

FORMATS = [
    # (layer, weight, bias)
    ((8, 4), (4, 2), (8, 4)),
    ((8, 4), (4, 3), (16, 8)),  # the bias finer than the products: weights scaled up
    ((8, 2), (3, 1), (16, 10)),
    ((6, 3), (8, 7), (4, 1)),
    ((16, 8), (2, 0), (16, 12)),
]


def _formats(layer, weight, bias):
    return {
        "weight_total_bits": weight[0],
        "weight_frac_bits": weight[1],
        "bias_total_bits": bias[0],
        "bias_frac_bits": bias[1],
    }


def exact_affine(xq, wq, bq, x_t: FixedType, w_t: FixedType, b_t: FixedType, out: FixedType):
    """The reference in Python integers: every term on the finest grid, rounded once."""
    frac = max(x_t.frac_bits + w_t.frac_bits, b_t.frac_bits)
    acc = xq.astype(object) @ wq.astype(object).T * (1 << (frac - x_t.frac_bits - w_t.frac_bits))
    acc = acc + bq.astype(object) * (1 << (frac - b_t.frac_bits))
    return requantize(acc, frac, out, Rounding.HALF_EVEN).astype(np.int64)


@pytest.mark.parametrize(("layer", "weight", "bias"), FORMATS)
def test_linear_with_its_own_weight_and_bias_formats_is_exact(layer, weight, bias):
    torch.manual_seed(0)
    m = Linear(5, 3, *layer, **_formats(layer, weight, bias)).eval()
    x_t, w_t, b_t = FixedType(*layer), FixedType(*weight), FixedType(*bias)
    x = (torch.rand(40, 5) - 0.5) * 4 * max(1.0, x_t.max_value)
    xq = to_int(x, x_t).numpy()
    wq, bq = to_int(m.weight, w_t).numpy(), to_int(m.bias, b_t).numpy()
    expected = exact_affine(xq, wq, bq, x_t, w_t, b_t, x_t)
    with torch.no_grad():
        assert torch.equal(m(x), torch.from_numpy(expected * 2.0**-x_t.frac_bits).float())
    design = Sequential(m).create_design("mixed")
    assert np.array_equal(design.interpret(design.quantize_input(x)), expected)


@pytest.mark.parametrize(("layer", "weight", "bias"), FORMATS[:3])
@pytest.mark.parametrize("conv", [Conv1d, Conv2d])
def test_convolutions_with_their_own_formats_are_pytorchs_on_the_grids(conv, layer, weight, bias):
    torch.manual_seed(1)
    m = conv(3, 4, 3, *layer, padding=1, **_formats(layer, weight, bias)).eval()
    x_t, w_t, b_t = FixedType(*layer), FixedType(*weight), FixedType(*bias)
    shape = (6, 3, 7) if conv is Conv1d else (6, 3, 5, 5)
    x = (torch.rand(*shape) - 0.5) * 4
    grid = [
        to_int(v, t).double() * 2.0**-t.frac_bits
        for v, t in ((x, x_t), (m.weight, w_t), (m.bias, b_t))
    ]
    exact = (F.conv1d if conv is Conv1d else F.conv2d)(*grid, padding=1)
    expected = requantize(
        np.round(exact.numpy() * 2.0**24).astype(np.int64), 24, x_t, Rounding.HALF_EVEN
    )
    with torch.no_grad():
        assert torch.equal(m(x).double(), torch.from_numpy(expected * 2.0**-x_t.frac_bits))


def test_folded_batch_norm_rounds_into_the_parameter_formats():
    torch.manual_seed(2)
    conv = Conv1d(
        2, 3, 3, 8, 4, weight_total_bits=5, weight_frac_bits=3, bias_total_bits=12, bias_frac_bits=8
    )
    bn = BatchNorm1d(3, 8, 4)
    with torch.no_grad():
        bn.running_mean.copy_(torch.tensor([0.1, -0.2, 0.3]))
        bn.running_var.copy_(torch.tensor([0.5, 1.5, 2.0]))
    model = Sequential(conv, bn, ReLU()).eval()
    design = model.create_design("folded", input_shape=(2, 8))
    op = design.graph.nodes[-1].op
    # the bias (8 fractional bits) is finer than the products (4 + 3): weights scaled by 2
    assert (op.w_type, op.b_type) == (FixedType(6, 4), FixedType(12, 8))
    x = torch.randn(5, 2, 8) * 2
    y = design.to_model_layout(design.interpret(design.quantize_input(x)))
    with torch.no_grad():
        assert torch.equal(torch.from_numpy(y * 2.0**-4).float(), model(x))


def test_defaults_are_the_layers_format():
    m = Linear(3, 2, 8, 4)
    assert m.weight_fxp == m.bias_fxp == FixedType(8, 4)
    assert "weight_fxp" not in repr(m)
    assert "weight_fxp=Q4.2" in repr(Linear(3, 2, 8, 4, weight_total_bits=4, weight_frac_bits=2))


def test_bad_weight_format_is_refused():
    with pytest.raises(ValueError) as error:
        Linear(3, 2, 8, 4, weight_total_bits=4, weight_frac_bits=5)
    assert str(error.value) == "frac_bits must not exceed total_bits (4), not 5"


def test_training_with_4_bit_weights_learns():
    torch.manual_seed(3)
    model = Sequential(
        Linear(2, 8, 8, 4, weight_total_bits=4, weight_frac_bits=2),
        ReLU(),
        Linear(8, 1, 8, 4, weight_total_bits=4, weight_frac_bits=2),
    )
    x = torch.rand(256, 2) * 2 - 1
    y = (x[:, :1] * x[:, 1:] > 0).float()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    losses = []
    for _ in range(150):
        optimizer.zero_grad()
        loss = F.mse_loss(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert np.mean(losses[-10:]) < 0.6 * np.mean(losses[:10])
    assert all(p.grad is not None for p in model.parameters())


def test_accumulator_stays_exact_for_every_combination_of_extremes():
    """All ends of all formats at once: the accumulator width holds every partial sum."""
    m = Linear(
        4, 1, 12, 2, weight_total_bits=8, weight_frac_bits=7, bias_total_bits=16, bias_frac_bits=15
    )
    w_t, b_t, x_t = FixedType(8, 7), FixedType(16, 15), FixedType(12, 2)
    with torch.no_grad():
        m.weight.copy_(torch.tensor([[w_t.min_value, w_t.max_value, w_t.min_value, w_t.max_value]]))
        m.bias.copy_(torch.tensor([b_t.min_value]))
    design = Sequential(m).create_design("ends")
    xs = np.array(list(itertools.product([x_t.min_int, x_t.max_int, 0], repeat=4)))
    expected = exact_affine(
        xs, to_int(m.weight, w_t).numpy(), to_int(m.bias, b_t).numpy(), x_t, w_t, b_t, x_t
    )
    assert np.array_equal(design.interpret(xs), expected)
