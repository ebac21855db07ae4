"""Conv, batch norm, pooling, Flatten and Dropout: the integer semantics are PyTorch's.

The layers' forward passes run the integer interpreter on their IR steps, so model and
hardware agree by construction. These tests pin down that those integers are the right
ones: a fixed-point convolution is PyTorch's convolution of the quantized operands,
summed exactly and rounded once (``q(conv(q(x), q(w), q(b)))``), pooling is PyTorch's
pooling on the grid, batch norm folds as written, and training gets the float layer's
gradients. Float64 convolutions of grid values are exact (every sum is far below 2**53),
so the references compare with ``torch.equal``.
"""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from elasticai.creator.arithmetic import FixedType, Rounding, shift_round
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
    Linear,
    MaxPool1d,
    MaxPool2d,
    ReLU,
)
from elasticai.creator.nn.fixed_point.pooling import avg_pool_constants

# --- references -------------------------------------------------------------------------


def q_int(x: torch.Tensor, t: FixedType, rounding: Rounding = Rounding.HALF_EVEN) -> torch.Tensor:
    """``x`` rounded to integers of ``t`` (saturating), as float64."""
    v = x.detach().to(torch.float64) * 2.0**t.frac_bits
    if rounding is Rounding.FLOOR:
        v = torch.floor(v)
    elif rounding is Rounding.HALF_UP:
        v = torch.floor(v + 0.5)
    else:
        v = torch.round(v)  # ties to even
    return v.clamp(t.min_int, t.max_int)


def q(x: torch.Tensor, t: FixedType, rounding: Rounding = Rounding.HALF_EVEN) -> torch.Tensor:
    """``x`` on the grid of ``t``: rounded once, saturated."""
    return q_int(x, t, rounding) * 2.0**-t.frac_bits


def lsb_error(y: torch.Tensor, ref: torch.Tensor, t: FixedType) -> float:
    return float(((y - ref).abs() * 2.0**t.frac_bits).max())


def grid_values(shape: tuple[int, ...], t: FixedType, scale: float, seed: int) -> torch.Tensor:
    """Float64 values near the grid of ``t`` (some off it, so the input rounding matters)."""
    g = torch.Generator().manual_seed(seed)
    return torch.randn(shape, generator=g, dtype=torch.float64) * scale


# --- convolutions -----------------------------------------------------------------------

FORMATS = [FixedType(16, 8), FixedType(8, 4), FixedType(12, 9), FixedType(10, 3)]


def _conv_cases(dims: int, count: int, seed: int) -> list[dict]:
    """A deterministic sample of the grid, every value of every parameter included."""
    rng = random.Random(seed)
    channels = [(1, 1), (1, 3), (3, 5), (2, 4), (4, 6), (6, 3), (5, 5), (3, 7)]
    kernels = [1, 2, 3, 5] if dims == 1 else [1, 2, 3, (2, 3), (3, 1), 5]
    strides = [1, 2, 3] if dims == 1 else [1, 2, 3, (1, 2), (3, 1)]
    paddings = [0, 1, 2, "same", "valid"] + ([] if dims == 1 else [(1, 0), (0, 2)])
    dilations = [1, 2] if dims == 1 else [1, 2, (2, 1)]
    sizes = [7, 9, 11, 13, 6] if dims == 1 else [(5, 7), (6, 6), (9, 5), (7, 10)]
    cases: list[dict] = []
    k = 0
    while len(cases) < count:
        c_in, c_out = channels[k % len(channels)]
        group_kind = ["one", "two", "depthwise"][(k // 2) % 3]
        if group_kind == "two":
            c_in, c_out, groups = 2 * c_in, 2 * c_out, 2
        elif group_kind == "depthwise":
            c_out, groups = c_in * rng.choice([1, 2]), c_in
        else:
            groups = 1
        case = dict(
            c_in=c_in,
            c_out=c_out,
            groups=groups,
            kernel=kernels[k % len(kernels)],
            stride=strides[(k // 3) % len(strides)],
            padding=paddings[(k // 5) % len(paddings)],
            dilation=dilations[(k // 7) % len(dilations)],
            bias=bool((k // 11) % 2 == 0),
            size=sizes[k % len(sizes)],
            fxp=FORMATS[(k // 13) % len(FORMATS)],
            seed=rng.randrange(1 << 30),
        )
        k += 1
        if case["padding"] == "same" and case["stride"] != 1:
            continue  # PyTorch refuses this too
        if not _fits(case, dims):
            continue
        cases.append(case)
    return cases


def _fits(case: dict, dims: int) -> bool:
    def pair(v):
        return (v, v) if isinstance(v, int) else v

    size = (1, case["size"]) if dims == 1 else case["size"]
    kernel, dilation = pair(case["kernel"]), pair(case["dilation"])
    padding = case["padding"]
    if padding == "same":
        return True
    pad = (0, 0) if padding == "valid" else pair(padding)
    if dims == 1:
        pad = (0, pad[1])
        kernel, dilation = (1, kernel[1]), (1, dilation[1])
    return all(size[d] + 2 * pad[d] >= dilation[d] * (kernel[d] - 1) + 1 for d in range(2))


def _case_id(case: dict) -> str:
    return (
        f"{case['c_in']}to{case['c_out']}-g{case['groups']}-k{case['kernel']}-s{case['stride']}"
        f"-p{case['padding']}-d{case['dilation']}-{'b' if case['bias'] else 'nob'}"
        f"-n{case['size']}-{case['fxp']}"
    ).replace(" ", "")


CONV1D_CASES = _conv_cases(1, 90, seed=1)
CONV2D_CASES = _conv_cases(2, 60, seed=2)


def _make_conv(dims: int, case: dict) -> torch.nn.Module:
    cls = Conv1d if dims == 1 else Conv2d
    t = case["fxp"]
    layer = cls(
        case["c_in"],
        case["c_out"],
        case["kernel"],
        t.total_bits,
        t.frac_bits,
        stride=case["stride"],
        padding=case["padding"],
        dilation=case["dilation"],
        groups=case["groups"],
        bias=case["bias"],
    ).double()
    g = torch.Generator().manual_seed(case["seed"])
    with torch.no_grad():  # weights over most of the format's range, some off the grid
        for p in (layer.weight, layer.bias):
            if p is not None:
                p.copy_((torch.rand(p.shape, generator=g, dtype=torch.float64) * 2 - 1) * 0.9)
                p.mul_(min(t.max_value, 2.0))
    return layer


def _check_conv(dims: int, case: dict) -> None:
    t = case["fxp"]
    layer = _make_conv(dims, case)
    size = (case["size"],) if dims == 1 else case["size"]
    # sample 0 spreads over the format's range and beyond (saturating inputs and outputs
    # are part of the semantics); samples 1 and 2 mostly stay inside
    x = grid_values((3, case["c_in"], *size), t, 1.0, case["seed"] + 1)
    scale = torch.tensor([t.max_value * 0.6, 1.0, 0.25], dtype=torch.float64)
    x = (x * scale.reshape(3, *[1] * (dims + 1))).requires_grad_(True)
    y = layer(x)

    conv = F.conv1d if dims == 1 else F.conv2d
    geometry = dict(
        stride=case["stride"],
        padding=case["padding"],
        dilation=case["dilation"],
        groups=case["groups"],
    )
    xq = q(x, t).requires_grad_(True)
    wq = q(layer.weight, t).requires_grad_(True)
    bq = q(layer.bias, t).requires_grad_(True) if layer.bias is not None else None
    exact = conv(xq, wq, bq, **geometry)  # float64: exact for these widths
    expected = q(exact, t)
    assert y.dtype == torch.float64 and y.shape == expected.shape
    assert torch.equal(y.detach(), expected), f"largest difference {lsb_error(y, expected, t)} LSB"

    # gradients: the float convolution's on the quantized operands (straight through),
    # stopped where the output saturated or the input was outside the format
    g = torch.Generator().manual_seed(case["seed"] + 2)
    upstream = torch.randn(y.shape, generator=g, dtype=torch.float64)
    y.backward(upstream)
    out_int = q_int(exact, t)
    unsaturated = (out_int > t.min_int) & (out_int < t.max_int)
    exact.backward(upstream * unsaturated)
    inside = (x.detach() >= t.min_value) & (x.detach() <= t.max_value)
    for got, want in [
        (x.grad, xq.grad * inside),
        (layer.weight.grad, wq.grad),
        *([(layer.bias.grad, bq.grad)] if bq is not None else []),
    ]:
        assert got is not None and torch.isfinite(got).all()
        torch.testing.assert_close(got, want, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("case", CONV1D_CASES, ids=_case_id)
def test_conv1d_is_pytorch_conv_on_the_grid_rounded_once(case):
    _check_conv(1, case)


@pytest.mark.parametrize("case", CONV2D_CASES, ids=_case_id)
def test_conv2d_is_pytorch_conv_on_the_grid_rounded_once(case):
    _check_conv(2, case)


def test_the_grid_covers_every_parameter_value():
    for dims, cases in ((1, CONV1D_CASES), (2, CONV2D_CASES)):
        seen = {key: {repr(c[key]) for c in cases} for key in cases[0]}
        assert {"1", "2", "3", "5"} <= seen["kernel"]
        assert {"1", "2", "3"} <= seen["stride"]
        assert {"0", "1", "2", "'same'", "'valid'"} <= seen["padding"]
        assert {"1", "2"} <= seen["dilation"]
        assert {"True", "False"} == seen["bias"]
        assert any(c["groups"] == 2 for c in cases)
        assert any(c["groups"] == c["c_in"] > 1 for c in cases), "depthwise"
        assert any(c["c_out"] % 2 == 1 and c["c_in"] > 1 for c in cases)
        assert len(seen["fxp"]) == len(FORMATS)
        assert dims == 1 or any(isinstance(c["size"], tuple) for c in cases)


@pytest.mark.parametrize("rounding", ["floor", "half_up", "half_even"])
def test_conv_rounds_input_and_output_as_its_rounding_says(rounding):
    t = FixedType(8, 3)
    layer = Conv1d(2, 3, 3, t.total_bits, t.frac_bits, padding=1, rounding=rounding).double()
    x = grid_values((4, 2, 10), t, 3.0, seed=7)
    mode = Rounding(rounding)
    # weights and bias are always rounded half to even
    w, b = q(layer.weight, t), q(layer.bias, t)
    expected = q(F.conv1d(q(x, t, mode), w, b, padding=1), t, mode)
    assert torch.equal(layer(x), expected)


def test_conv_in_float32_gives_the_same_numbers():
    t = FixedType(12, 6)
    layer = Conv2d(3, 4, 3, t.total_bits, t.frac_bits, padding=1)
    x = torch.randn(2, 3, 5, 6)
    y32 = layer(x)
    y64 = layer.double()(x.double())
    assert y32.dtype == torch.float32
    assert torch.equal(y32.double(), y64)


def test_conv_trains():
    torch.manual_seed(0)
    model = Sequential(
        Conv1d(2, 4, 3, 16, 8, padding=1), ReLU(), Flatten(), Linear(4 * 6, 1, 16, 8)
    )
    opt = torch.optim.Adam(model.parameters(), lr=0.03)
    x = torch.randn(32, 2, 6)
    target = x[:, 0].sum(dim=1, keepdim=True) * 0.2
    losses = []
    for _ in range(25):
        loss = F.mse_loss(model(x), target)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.3 * losses[0]


# --- batch norm -------------------------------------------------------------------------


def _train(model: torch.nn.Module, x_shape: tuple[int, ...], steps: int = 12) -> None:
    """Some SGD steps in train mode (running statistics move), then ``eval()``."""
    torch.manual_seed(3)
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    model.train()
    for _ in range(steps):
        x = torch.randn(x_shape, dtype=torch.float64) * 1.5 + 0.4
        loss = (model(x) - 0.25).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()


def _scale(bn) -> torch.Tensor:
    gamma = bn.weight if bn.weight is not None else torch.ones_like(bn.running_var)
    return (gamma / torch.sqrt(bn.running_var + bn.eps)).detach()


def _shift(bn) -> torch.Tensor:
    beta = bn.bias if bn.bias is not None else torch.zeros_like(bn.running_mean)
    return beta.detach()


def _folded_reference(layer, bn, x, apply):
    """By hand: ``w * s`` and ``(b - mean) * s + beta`` on the layer's grid, the exact
    integer layer, one rounding to the batch norm's format."""
    s = _scale(bn)
    shape = (-1,) + (1,) * (layer.weight.dim() - 1)
    w = q(layer.weight.detach() * s.reshape(shape), layer.fxp)
    b = layer.bias.detach() if layer.bias is not None else torch.zeros_like(s)
    bias = q((b - bn.running_mean) * s + _shift(bn), layer.fxp)
    return q(apply(q(x, layer.fxp), w, bias), bn.fxp)


def _unfolded_float(layer, bn, x, apply):
    """The float batch norm of the float layer (running statistics) on the quantized input."""
    b = layer.bias.detach() if layer.bias is not None else None
    y = apply(q(x, layer.fxp), layer.weight.detach(), b)
    return F.batch_norm(
        y, bn.running_mean, bn.running_var, bn.weight, bn.bias, False, 0.0, bn.eps
    ).detach()


FOLDING = {
    "conv1d": (
        lambda: (Conv1d(3, 5, 3, 16, 8, padding=1), BatchNorm1d(5, 12, 6)),
        (16, 3, 9),
        lambda lay: lambda x, w, b: F.conv1d(x, w, b, padding=1),
    ),
    "conv1d_no_bias_not_affine": (
        lambda: (
            Conv1d(4, 6, 2, 16, 10, stride=2, bias=False),
            BatchNorm1d(6, 16, 8, affine=False),
        ),
        (16, 4, 11),
        lambda lay: lambda x, w, b: F.conv1d(x, w, b, stride=2),
    ),
    "linear": (
        lambda: (Linear(6, 4, 16, 8), BatchNorm1d(4, 16, 8)),
        (32, 6),
        lambda lay: lambda x, w, b: F.linear(x, w, b),
    ),
    "conv2d": (
        lambda: (Conv2d(2, 3, 3, 16, 8, padding=1, groups=1), BatchNorm2d(3, 10, 5)),
        (8, 2, 5, 6),
        lambda lay: lambda x, w, b: F.conv2d(x, w, b, padding=1),
    ),
    "depthwise_conv2d": (
        lambda: (Conv2d(4, 4, 3, 16, 8, groups=4), BatchNorm2d(4, 16, 8)),
        (8, 4, 6, 5),
        lambda lay: lambda x, w, b: F.conv2d(x, w, b, groups=4),
    ),
}


@pytest.mark.parametrize("name", list(FOLDING))
def test_batch_norm_folds_into_the_layer_before_it(name):
    make, x_shape, apply_of = FOLDING[name]
    layer, bn = make()
    model = Sequential(layer, bn, ReLU()).double()
    assert layer.batch_norm is bn and bn.folded
    before = (bn.running_mean.clone(), bn.running_var.clone())
    _train(model, x_shape)
    assert not torch.equal(bn.running_mean, before[0]) and not torch.equal(
        bn.running_var, before[1]
    ), "training must update the running statistics"
    apply = apply_of(layer)
    x = grid_values((5, *x_shape[1:]), layer.fxp, 1.5, seed=11)
    with torch.no_grad():
        y = layer(x)
        assert torch.equal(bn(y), y), "a folded batch norm passes its input on"
        expected = _folded_reference(layer, bn, x, apply)
        assert torch.equal(y, expected)
        assert torch.equal(model(x), torch.relu(expected))
        # close to the float batch norm of the float layer: the folded weights and bias
        # are each within half an LSB of the layer's format, then one output rounding
        error = (y - _unfolded_float(layer, bn, x, apply)).abs()
        half = 0.5 * layer.fxp.resolution
        bound = apply(q(x, layer.fxp).abs(), torch.full_like(layer.weight, half), None) + half
        assert (error <= bound + 0.5 * bn.fxp.resolution + 1e-12).all()
        assert float(error.max()) * 2**bn.fxp.frac_bits <= 8.0  # a few LSB in practice
    # the design computes the same integers
    shape = tuple(x_shape[1:])
    design = model.create_design("m", input_shape=shape)
    out = design.to_model_layout(design.interpret(design.quantize_input(x)))
    assert torch.equal(torch.from_numpy(out * 2.0**-bn.fxp.frac_bits), model(x).detach())
    # back in train mode the layer computes unfolded again, in its own format
    model.train()
    assert layer.output_format() == layer.fxp


def test_batch_norm_trains_with_batch_statistics():
    torch.manual_seed(0)
    bn = BatchNorm1d(3, 16, 8).double()
    x = torch.randn(64, 3, 5, dtype=torch.float64) * 2 + 1
    y = bn(x)
    ref = F.batch_norm(x, None, None, bn.weight, bn.bias, True, 0.0, bn.eps)
    assert torch.equal(y.detach(), q(ref, bn.fxp))
    y.sum().backward()
    assert bn.weight.grad is not None and torch.isfinite(bn.weight.grad).all()


@pytest.mark.parametrize("dims", [0, 1, 2])
def test_batch_norm_alone_is_a_per_channel_affine(dims):
    bn_cls = BatchNorm2d if dims == 2 else BatchNorm1d
    bn = bn_cls(3, 12, 7).double()
    torch.manual_seed(5)
    with torch.no_grad():
        bn.running_mean.copy_(torch.tensor([0.3, -0.2, 1.1]))
        bn.running_var.copy_(torch.tensor([0.5, 2.0, 0.09]))
        bn.weight.copy_(torch.tensor([1.2, -0.7, 0.4]))
        bn.bias.copy_(torch.tensor([0.1, 0.05, -0.3]))
    bn.eval()
    x = grid_values((4, 3, *[5, 6][:dims]), bn.fxp, 1.0, seed=2)
    s, t = _scale(bn), bn.fxp
    shape = (1, 3) + (1,) * dims
    expected = q(
        q(x, t) * q(s, t).reshape(shape) + q(_shift(bn) - bn.running_mean * s, t).reshape(shape),
        t,
    )
    assert torch.equal(bn(x), expected)


@pytest.mark.parametrize("shape", [(2, 3, 5), (2, 3, 4, 4)])
def test_batch_norm_alone_in_eval_runs_with_autograd_on(shape):
    """Regression: an unfolded batch norm in eval() on maps raised AttributeError with
    autograd on (its surrogate is None)."""
    bn = (BatchNorm1d if len(shape) == 3 else BatchNorm2d)(3, 16, 8).eval()
    x = torch.randn(shape)
    with torch.no_grad():
        expected = bn(x)
    assert torch.equal(bn(x), expected)


def test_batch_norm_after_relu_is_not_folded_and_computes_alone():
    model = Sequential(Conv1d(2, 3, 3, 16, 8), ReLU(), BatchNorm1d(3, 16, 8)).double()
    conv, _, bn = model
    assert conv.batch_norm is None and not bn.folded
    _train(model, (16, 2, 8))
    x = grid_values((4, 2, 8), conv.fxp, 1.0, seed=3)
    with torch.no_grad():
        h = torch.relu(conv(x))
        s, t = _scale(bn), bn.fxp
        expected = q(
            q(h, t) * q(s, t)[:, None] + q(_shift(bn) - bn.running_mean * s, t)[:, None], t
        )
        assert torch.equal(model(x), expected)
    design = model.create_design("m", input_shape=(2, 8))
    out = design.to_model_layout(design.interpret(design.quantize_input(x)))
    assert torch.equal(torch.from_numpy(out * 2.0**-8), model(x).detach())


# --- pooling ----------------------------------------------------------------------------

POOL_T = FixedType(10, 4)


def _pool_input(shape: tuple[int, ...], seed: int) -> torch.Tensor:
    """Values on the grid of ``POOL_T``, both ends of its range included."""
    g = torch.Generator().manual_seed(seed)
    ints = torch.randint(POOL_T.min_int, POOL_T.max_int + 1, shape, generator=g)
    ints.view(-1)[:2] = torch.tensor([POOL_T.min_int, POOL_T.max_int])
    return ints.to(torch.float64) * POOL_T.resolution


@pytest.mark.parametrize(
    ("kernel", "stride", "padding", "dilation", "length"),
    [(2, None, 0, 1, 8), (3, 2, 1, 1, 9), (3, 1, 1, 2, 7), (5, 3, 2, 1, 11), (4, 4, 0, 1, 13)],
)
def test_max_pool1d_is_torch_max_pool_on_the_grid(kernel, stride, padding, dilation, length):
    x = _pool_input((3, 4, length), seed=kernel * 10 + length)
    layer = MaxPool1d(kernel, stride, padding, dilation, total_bits=10, frac_bits=4)
    expected = F.max_pool1d(x, kernel, stride, padding, dilation)
    assert torch.equal(layer(x), expected)


@pytest.mark.parametrize(
    ("kernel", "stride", "padding", "dilation", "size"),
    [(2, None, 0, 1, (6, 8)), (3, 2, 1, 1, (7, 9)), ((2, 3), (1, 2), (1, 1), 1, (5, 7)),
     (3, 1, 1, 2, (7, 6)), ((3, 1), 2, 0, 1, (9, 4))],
)  # fmt: skip
def test_max_pool2d_is_torch_max_pool_on_the_grid(kernel, stride, padding, dilation, size):
    x = _pool_input((2, 3, *size), seed=sum(size))
    layer = MaxPool2d(kernel, stride, padding, dilation, total_bits=10, frac_bits=4)
    expected = F.max_pool2d(x, kernel, stride, padding, dilation)
    assert torch.equal(layer(x), expected)


def _avg_formula(x: torch.Tensor, pool, taps: int) -> torch.Tensor:
    """``shift_round(sum * R, S)`` with ``avg_pool_constants``, sum over the zero-padded
    window (the float pool's mean times ``taps`` is the exact sum)."""
    t = POOL_T
    sums = np.rint(pool(x).numpy() * taps * 2**t.frac_bits).astype(np.int64).astype(object)
    mul, shift = avg_pool_constants(taps, t.total_bits + (taps - 1).bit_length())
    mean = np.clip(shift_round(sums * mul, shift, Rounding.HALF_EVEN), t.min_int, t.max_int)
    return torch.from_numpy(mean.astype(np.float64)) * t.resolution


def _round_half_even_mean(x: torch.Tensor, pool, taps: int) -> torch.Tensor:
    sums = torch.round(pool(x) * taps * 2**POOL_T.frac_bits).to(torch.int64).numpy()
    mean = shift_round(sums, taps.bit_length() - 1, Rounding.HALF_EVEN)
    return torch.from_numpy(mean.astype(np.float64)) * POOL_T.resolution


@pytest.mark.parametrize(
    ("kernel", "stride", "padding", "length"),
    [(2, None, 0, 9), (4, 2, 1, 11), (8, 8, 0, 16), (3, None, 0, 10), (5, 2, 2, 13), (6, 1, 0, 7)],
)
def test_avg_pool1d(kernel, stride, padding, length):
    x = _pool_input((4, 3, length), seed=kernel + length)
    layer = AvgPool1d(kernel, stride, padding, total_bits=10, frac_bits=4)
    y = layer(x)

    def pool(v):
        return F.avg_pool1d(v, kernel, stride, padding)

    if kernel & (kernel - 1) == 0:
        assert torch.equal(y, _round_half_even_mean(x, pool, kernel))
    else:
        assert lsb_error(y, pool(x), POOL_T) <= 0.5 + 1 / 16
    assert torch.equal(y, _avg_formula(x, pool, kernel))


@pytest.mark.parametrize(
    ("kernel", "stride", "padding", "size"),
    [(2, None, 0, (6, 7)), ((2, 4), (2, 1), (1, 2), (5, 8)), (3, None, 0, (9, 6)),
     (3, 1, 1, (5, 5)), ((1, 5), 1, 0, (4, 7))],
)  # fmt: skip
def test_avg_pool2d(kernel, stride, padding, size):
    x = _pool_input((3, 2, *size), seed=sum(size))
    layer = AvgPool2d(kernel, stride, padding, total_bits=10, frac_bits=4)
    y = layer(x)
    k = (kernel, kernel) if isinstance(kernel, int) else kernel
    taps = k[0] * k[1]

    def pool(v):
        return F.avg_pool2d(v, kernel, stride, padding)

    if taps & (taps - 1) == 0:
        assert torch.equal(y, _round_half_even_mean(x, pool, taps))
    else:
        assert lsb_error(y, pool(x), POOL_T) <= 0.5 + 1 / 16
    assert torch.equal(y, _avg_formula(x, pool, taps))


@pytest.mark.parametrize("size", [(8,), (7,), (4, 4), (3, 5)])
def test_adaptive_avg_pool_is_the_global_mean(size):
    x = _pool_input((5, 3, *size), seed=len(size))
    cls = AdaptiveAvgPool1d if len(size) == 1 else AdaptiveAvgPool2d
    y = cls(1, total_bits=10, frac_bits=4)(x)
    taps = math.prod(size)
    dims = tuple(range(2, 2 + len(size)))

    def pool(v):
        return v.mean(dim=dims, keepdim=True)

    assert y.shape == (5, 3, *([1] * len(size)))
    assert lsb_error(y, pool(x), POOL_T) <= 0.5 + 1 / 16
    assert torch.equal(y, _avg_formula(x, pool, taps))
    if taps & (taps - 1) == 0:
        assert torch.equal(y, _round_half_even_mean(x, pool, taps))


def test_pooling_inherits_its_format_inside_a_sequential():
    t = FixedType(12, 5)
    model = Sequential(Conv1d(2, 3, 3, t.total_bits, t.frac_bits), MaxPool1d(2), AvgPool1d(2))
    x = torch.randn(4, 2, 11, dtype=torch.float64)
    model.double()
    h = model[0](x)
    expected = q(F.avg_pool1d(F.max_pool1d(h, 2), 2), t)
    assert torch.equal(model(x), expected)


def test_pool_with_its_own_format_converts_its_input_first():
    x = torch.randn(2, 3, 8, dtype=torch.float64)
    y = MaxPool1d(2, total_bits=8, frac_bits=2)(x)
    assert torch.equal(y, F.max_pool1d(q(x, FixedType(8, 2)), 2))


def test_pool_gradients_are_the_float_pool_gradients():
    # (outputs at the ends of the format get no gradient, as every layer's saturated ones)
    x = _pool_input((2, 3, 8), seed=4).clamp(-10, 10).requires_grad_(True)
    AvgPool1d(2, total_bits=10, frac_bits=4)(x).sum().backward()
    assert torch.equal(x.grad, torch.full_like(x, 0.5))
    x.grad = None
    MaxPool1d(4, total_bits=10, frac_bits=4)(x).sum().backward()
    x2 = x.detach().clone().requires_grad_(True)
    F.max_pool1d(x2, 4).sum().backward()
    assert torch.equal(x.grad, x2.grad)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: MaxPool1d(2, ceil_mode=True), "ceil_mode=True is not supported"),
        (lambda: MaxPool2d(2, ceil_mode=True), "ceil_mode=True is not supported"),
        (lambda: AvgPool1d(3, count_include_pad=False), "count_include_pad=False is not supported"),
        (lambda: AvgPool2d(2, divisor_override=3), "divisor_override is not supported"),
        (lambda: MaxPool1d(2, return_indices=True), "return_indices=True is not supported"),
        (lambda: AdaptiveAvgPool1d(2), "only global average pooling (output_size=1)"),
        (lambda: AdaptiveAvgPool2d((1, 2)), "only global average pooling (output_size=1)"),
        (lambda: MaxPool1d(2, total_bits=8), "give both total_bits and frac_bits"),
    ],
)
def test_unsupported_pooling_options_are_refused(make, message):
    with pytest.raises(ValueError) as error:
        make()
    assert message in str(error.value)


@pytest.mark.parametrize("pool", [AvgPool1d(2), AdaptiveAvgPool1d(1), AdaptiveAvgPool2d(1)])
def test_average_pool_without_a_format_before_translation_is_the_real_mean(pool):
    """It trains before it knows its input's format; translating gives it that format."""
    x = torch.randn(1, 2, 4) if "1d" in type(pool).__name__ else torch.randn(1, 2, 4, 4)
    assert torch.equal(pool(x), pool._float_pool(x))


@pytest.mark.parametrize("pool", [MaxPool1d(2), MaxPool2d(2, padding=1)])
def test_max_pool_without_a_format_is_torchs_max_pool_anywhere(pool):
    """The maximum of values on a grid is on that grid: no format needed."""
    x = torch.randint(-64, 64, (3, 2, 6) if "1d" in type(pool).__name__ else (3, 2, 5, 5)) / 16
    reference = (
        torch.nn.MaxPool1d(2) if "1d" in type(pool).__name__ else torch.nn.MaxPool2d(2, padding=1)
    )
    assert torch.equal(pool(x), reference(x))


# --- Flatten, Dropout -------------------------------------------------------------------


def test_flatten_and_dropout_behave_as_torch():
    x = torch.randn(3, 4, 5, 2)
    assert torch.equal(Flatten()(x), torch.nn.Flatten()(x))
    drop = Dropout(0.3)
    torch.manual_seed(9)
    y = drop(x)
    torch.manual_seed(9)
    assert torch.equal(y, torch.nn.Dropout(0.3)(x))
    drop.eval()
    assert torch.equal(drop(x), x)


def test_flatten_of_other_dims_is_refused():
    with pytest.raises(ValueError, match=r"only Flatten\(start_dim=1, end_dim=-1\)"):
        Flatten(start_dim=2)
    with pytest.raises(ValueError, match=r"only Flatten\(start_dim=1, end_dim=-1\)"):
        Flatten(end_dim=2)


# --- misuse -----------------------------------------------------------------------------


def test_padding_modes_other_than_zeros_are_refused():
    for mode in ("reflect", "replicate", "circular"):
        with pytest.raises(ValueError, match=f"padding_mode must be 'zeros', not '{mode}'"):
            Conv1d(2, 2, 3, 8, 4, padding=1, padding_mode=mode)
    with pytest.raises(ValueError, match="padding_mode"):
        Conv2d(2, 2, 3, 8, 4, padding=1, padding_mode="reflect")


def test_a_kernel_larger_than_the_input_is_refused_at_translation():
    model = Sequential(Conv1d(2, 3, 5, 8, 4, dilation=2))
    with pytest.raises(ValueError) as error:
        model.create_design("m", input_shape=(2, 6))
    message = str(error.value)
    assert message.startswith("model[0] (Conv1d): ") and "does not fit" in message
    assert "5" in message and "6" in message  # the kernel and the input size
    model2d = Sequential(Conv2d(1, 1, (2, 4), 8, 4))
    with pytest.raises(ValueError, match="does not fit.*3x3"):
        model2d.create_design("m", input_shape=(1, 3, 3))


def test_a_first_conv_needs_input_shape():
    for model, wanted in [
        (Sequential(Conv1d(2, 3, 3, 8, 4)), "input_shape=(channels, length)"),
        (Sequential(Conv2d(2, 3, 3, 8, 4)), "input_shape=(channels, height, width)"),
    ]:
        with pytest.raises(ValueError) as error:
            model.create_design("m")
        assert wanted in str(error.value)


def test_an_input_shape_of_the_wrong_channels_is_refused():
    with pytest.raises(ValueError, match="input_shape"):
        Sequential(Conv1d(2, 3, 3, 8, 4)).create_design("m", input_shape=(2,))


def test_wrong_input_rank_is_refused_by_the_layer():
    with pytest.raises(ValueError, match=r"Conv1d takes \(batch, channels, length\)"):
        Conv1d(2, 3, 3, 8, 4)(torch.randn(2, 5))


# --- translation: stream layout ---------------------------------------------------------


def _design_output(model: torch.nn.Module, x: torch.Tensor, input_shape, frac_bits: int):
    design = model.create_design("m", input_shape=input_shape)
    out = design.to_model_layout(design.interpret(design.quantize_input(x)))
    return torch.from_numpy(out * 2.0**-frac_bits)


@pytest.mark.parametrize(
    ("make", "input_shape", "frac_bits"),
    [
        (  # a map flattened into a Linear: the stream order is absorbed by its weights
            lambda: Sequential(Conv1d(3, 4, 3, 16, 8, padding=1), Flatten(), Linear(4 * 7, 5, 16, 8)),
            (3, 7),
            8,
        ),
        (  # ending in a map: channels-last stream back to (channels, length)
            lambda: Sequential(Conv1d(3, 5, 2, 12, 6, stride=2), ReLU(), Conv1d(5, 2, 3, 12, 6, padding="same")),
            (3, 9),
            6,
        ),
        (
            lambda: Sequential(
                Conv2d(2, 3, 3, 16, 8, padding=1), ReLU(), MaxPool2d(2), Conv2d(3, 4, (2, 1), 16, 8)
            ),
            (2, 6, 5),
            8,
        ),
        (
            lambda: Sequential(
                Conv2d(1, 3, 3, 10, 5, stride=(1, 2)), AvgPool2d(2), Flatten(), Linear(3 * 2 * 1, 2, 10, 5)
            ),
            (1, 6, 6),
            5,
        ),
        (
            lambda: Sequential(Conv1d(2, 4, 3, 8, 4), AdaptiveAvgPool1d(1), Flatten(), Linear(4, 3, 8, 4)),
            (2, 10),
            4,
        ),
    ],
)  # fmt: skip
def test_design_output_in_model_layout_equals_the_model(make, input_shape, frac_bits):
    torch.manual_seed(sum(input_shape))
    model = make()
    x = torch.randn(6, *input_shape) * 2
    with torch.no_grad():
        expected = model(x)
    got = _design_output(model, x, input_shape, frac_bits)
    assert got.shape == expected.shape
    assert torch.equal(got.to(expected.dtype), expected)


@pytest.mark.parametrize(
    "make",
    [
        lambda: BatchNorm2d(1, 8, 4),
        lambda: BatchNorm1d(1, 8, 4),
        lambda: Conv2d(1, 1, 1, total_bits=8, frac_bits=4),
        lambda: Conv1d(1, 1, 1, total_bits=8, frac_bits=4),
        lambda: AvgPool2d(2, total_bits=8, frac_bits=4),
        lambda: MaxPool2d(2),
    ],
    ids=["bn2d", "bn1d", "conv2d", "conv1d", "avg_pool2d", "max_pool2d"],
)
def test_single_channel_maps_come_out_in_pytorchs_default_layout(make):
    """Regression (found by ``./dev equivalence``): a one-channel batch norm returned
    channels-last strides, a convolution after it kept them, and ``torch.cat`` of two such
    maps then refused ``.view(n, -1)``."""
    layer = make().eval()
    x = torch.randn(5, 1, 4, 4) if "2d" in type(layer).__name__ else torch.randn(5, 1, 6)
    with torch.no_grad():  # without autograd the integer result itself comes back
        y = layer(x)
    assert y.stride() == torch.empty(y.shape).stride()
    joined = torch.cat([y, y], dim=1)
    assert joined.view(len(x), -1).shape == (5, 2 * y[0].numel())
