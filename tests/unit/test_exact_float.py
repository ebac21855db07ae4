"""The layers with weights compute their exact integers in floating point where that is
exact: float32 while every partial sum stays within 2**24 (``_sum_bound``, from the
formats and the fan-in), float64 within 2**53, the integer interpreter beyond. These
tests hold each path against the integer interpreter (``_run``: int64 or Python ints)."""

from __future__ import annotations

import pytest
import torch

from elasticai.creator.arithmetic import FixedType, Rounding
from elasticai.creator.base_modules.quantization import exact_dtype, on_grid
from elasticai.creator.nn.fixed_point import (
    AdaptiveAvgPool1d,
    AdaptiveAvgPool2d,
    AvgPool1d,
    AvgPool2d,
    Conv1d,
    Conv2d,
    Linear,
    MaxPool2d,
)


def _formats(x: FixedType, w: FixedType, b: FixedType | None) -> dict:
    return {
        "total_bits": x.total_bits,
        "frac_bits": x.frac_bits,
        "weight_total_bits": w.total_bits,
        "weight_frac_bits": w.frac_bits,
        **(
            {"bias_total_bits": b.total_bits, "bias_frac_bits": b.frac_bits}
            if b is not None
            else {"bias": False}
        ),
    }


def _at_the_extremes(shape: tuple[int, ...], t: FixedType, g: torch.Generator) -> torch.Tensor:
    """Integers of ``t`` as reals: half of them the format's ends (sums as large as the
    bound allows), the rest anywhere in it, a few beyond (saturating inputs)."""
    uniform = torch.randint(t.min_int, t.max_int + 1, shape, generator=g).double()
    ends = torch.where(torch.rand(shape, generator=g) < 0.5, t.min_int, t.max_int).double()
    v = torch.where(torch.rand(shape, generator=g) < 0.5, ends, uniform)
    v = torch.where(torch.rand(shape, generator=g) < 0.05, v * 3, v)
    return (v * 2.0**-t.frac_bits).float()


def _edge_fan_in(make, limit: int = 4096) -> int:
    """The largest fan-in whose layer still sums in float32."""
    like = torch.zeros(1)
    fan_in = 0
    while fan_in < limit and exact_dtype(make(fan_in + 1)._sum_bound(), like) is torch.float32:
        fan_in += 1
    return fan_in


# (input/output, weight, bias format or None, rounding)
EDGE_CASES = [
    (FixedType(8, 4), FixedType(8, 4), FixedType(8, 4), "half_even"),
    (FixedType(12, 6), FixedType(12, 12), None, "half_even"),
    (FixedType(12, 6), FixedType(12, 12), None, "floor"),
    (FixedType(16, 8), FixedType(8, 7), FixedType(16, 8), "half_even"),
    (FixedType(11, 5), FixedType(11, 5), FixedType(14, 12), "half_up"),
    (FixedType(22, 18), FixedType(2, 1), None, "half_even"),
]


@pytest.mark.parametrize("case", EDGE_CASES, ids=lambda c: "-".join(map(str, c)))
def test_float32_linear_at_its_bound_equals_the_integer_interpreter(case):
    x_t, w_t, b_t, rounding = case
    kw = {**_formats(x_t, w_t, b_t), "rounding": rounding}
    fan_in = _edge_fan_in(lambda n: Linear(n, 1, **kw))
    assert fan_in >= 1
    layer = Linear(fan_in, 6, **kw)
    assert exact_dtype(layer._sum_bound(), torch.zeros(1)) is torch.float32
    assert layer._sum_bound() > 1 << 22, "at the edge: sums of up to 2**22 and more"
    g = torch.Generator().manual_seed(fan_in)
    with torch.no_grad():
        layer.weight.copy_(_at_the_extremes(layer.weight.shape, w_t, g))
        if b_t is not None:
            layer.bias.copy_(_at_the_extremes(layer.bias.shape, b_t, g))
    x = _at_the_extremes((256, fan_in), x_t, g)
    x[0] = x_t.max_value  # every product at its largest, of one sign per output
    x[1] = x_t.min_value
    y = layer(x)
    expected = layer._run(x, layer.fxp, layer.rounding, layer.overflow)
    assert y.dtype == torch.float32
    assert torch.equal(y, expected)


@pytest.mark.parametrize("dims", [1, 2])
def test_float32_depthwise_conv_at_its_bound_equals_the_integer_interpreter(dims):
    t, b_t = FixedType(11, 5), FixedType(14, 10)
    conv, kernel, size = (Conv1d, 15, (40,)) if dims == 1 else (Conv2d, (3, 5), (9, 11))
    layer = conv(3, 6, kernel, padding=2, groups=3, **_formats(t, t, b_t))
    assert layer._reduction() == 15  # one input channel a group
    bound = layer._sum_bound()
    assert exact_dtype(bound, torch.zeros(1)) is torch.float32 and bound > 1 << 23
    g = torch.Generator().manual_seed(dims)
    with torch.no_grad():
        layer.weight.copy_(_at_the_extremes(layer.weight.shape, t, g))
        layer.bias.copy_(_at_the_extremes(layer.bias.shape, b_t, g))
    x = _at_the_extremes((32, 3, *size), t, g)
    x[0] = t.min_value
    assert torch.equal(layer(x), layer._run(x, layer.fxp, layer.rounding, layer.overflow))


# Two products whose exact sum lies one unit above a rounding tie, ``2**(p + 4)`` and
# ``2**(s - 1) + 1`` with ``s`` the bits the output drops: a float with a significand of
# ``p`` bits (spacing 32 there) loses the unit, lands on the tie and rounds (to even) the
# other way.
BEYOND = [
    # (input/output, weight, model dtype, float that is not exact, dtype the layer takes)
    (FixedType(16, 8), FixedType(16, 14), torch.float32, torch.float32, torch.float64),
    (FixedType(32, 16), FixedType(32, 30), torch.float64, torch.float64, None),
]


@pytest.mark.parametrize("case", BEYOND, ids=lambda c: f"{c[0]}-{c[1]}")
def test_a_layer_beyond_a_floats_bound_takes_an_exact_path(case):
    x_t, w_t, dtype, inexact, chosen = case
    shift = w_t.frac_bits  # bits dropped: the output has the input's fraction
    p = 24 if inexact is torch.float32 else 53
    x_int = [1 << (x_t.total_bits - 2), (1 << (shift - 1)) + 1]
    w_int = [1 << (p + 4 - (x_t.total_bits - 2)), 1]
    assert max(w_int) <= w_t.max_int and max(x_int) <= x_t.max_int
    acc = x_int[0] * w_int[0] + x_int[1] * w_int[1]  # 2**(p+4) + 2**(s-1) + 1
    exact = (acc >> shift) + 1  # just above the tie: up
    assert exact < x_t.max_int, "not saturated"

    layer = Linear(2, 1, **_formats(x_t, w_t, None)).to(dtype)
    assert exact_dtype(layer._sum_bound(), torch.zeros(1, dtype=dtype)) is chosen
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([w_int], dtype=torch.float64) * 2.0**-w_t.frac_bits)
    x = (torch.tensor([x_int], dtype=torch.float64) * 2.0**-x_t.frac_bits).to(dtype)
    assert (layer(x).double() * 2.0**x_t.frac_bits).item() == exact

    # the same layer in the float that is not exact gives the other neighbour
    naive = torch.nn.functional.linear(x.to(inexact), layer.weight.detach().to(inexact))
    assert torch.round(naive.double() * 2.0**x_t.frac_bits).item() == exact - 1


def test_exact_dtype_thresholds():
    f32, f64 = torch.zeros(1), torch.zeros(1, dtype=torch.float64)
    assert exact_dtype(1 << 24, f32) is torch.float32
    assert exact_dtype((1 << 24) + 1, f32) is torch.float64
    assert exact_dtype(1 << 24, f64) is torch.float64
    assert exact_dtype(1 << 53, f32) is torch.float64
    assert exact_dtype((1 << 53) + 1, f32) is None


@pytest.mark.parametrize("backend", ["matmul", "conv"])
def test_float32_waits_for_ieee_products(backend):
    """With bfloat16 matrix products or convolutions allowed, float32 is not exact: float64."""
    settings = getattr(torch.backends.mkldnn, backend, None)
    if settings is None or not hasattr(settings, "fp32_precision"):
        pytest.skip("PyTorch without per-backend precision settings")
    before = settings.fp32_precision
    settings.fp32_precision = "bf16"
    try:
        assert exact_dtype(1 << 10, torch.zeros(1)) is torch.float64
    finally:
        settings.fp32_precision = before
    assert exact_dtype(1 << 10, torch.zeros(1)) is torch.float32


def test_float32_waits_for_onednn():
    """Without oneDNN, PyTorch may convolve with NNPACK's Winograd: float64."""
    torch.backends.mkldnn.enabled = False
    try:
        assert exact_dtype(1 << 10, torch.zeros(1)) is torch.float64
    finally:
        torch.backends.mkldnn.enabled = True
    assert exact_dtype(1 << 10, torch.zeros(1)) is torch.float32


@pytest.mark.parametrize("rounding", list(Rounding))
def test_float_paths_agree(rounding):
    """The same layer in float32 (float32 sums) and in float64 gives the same numbers."""
    layer = Linear(64, 8, 8, 4, rounding=rounding)
    x = torch.randn(128, 64) * 4
    y32 = layer(x)
    assert torch.equal(y32.double(), layer.double()(x.double()))


def test_wide_weights_of_a_float32_model_are_rounded_in_float64():
    """Weights of a format wider than float32 holds, in a float32 model: the float64 path
    rounds (here: saturates) them in float64, to the very integers of the hardware."""
    w_t = FixedType(32, 28)
    layer = Linear(3, 2, **_formats(FixedType(8, 4), w_t, None))
    assert exact_dtype(layer._sum_bound(), torch.zeros(1)) is torch.float64
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[8.0, -8.0, 1.5], [-9.0, 0.25, 3.0]]))
    weight, _ = layer._parameters_in(torch.float64)  # what the float64 path rounds
    weight = on_grid(weight, w_t)
    assert weight.dtype == torch.float64
    assert torch.equal((weight * 2.0**w_t.frac_bits).long(), layer.int_weight())
    assert layer.int_weight()[0, 0] == w_t.max_int  # 2**31 - 1: not a float32


@pytest.mark.parametrize(
    ("make", "shape", "t"),
    [
        (lambda: AdaptiveAvgPool2d(1, total_bits=8, frac_bits=4), (16, 5, 22, 2), FixedType(8, 4)),
        (lambda: AdaptiveAvgPool1d(1, total_bits=20, frac_bits=4), (4, 3, 77), FixedType(20, 4)),
        (lambda: AvgPool2d(3, 2, 1, total_bits=12, frac_bits=6), (8, 2, 9, 7), FixedType(12, 6)),
        (lambda: AvgPool1d(5, 3, 2, total_bits=8, frac_bits=2), (8, 2, 31), FixedType(8, 2)),
        (lambda: MaxPool2d(3, 2, 1, total_bits=8, frac_bits=4), (8, 2, 9, 7), FixedType(8, 4)),
    ],
)
def test_pooling_in_floating_point_equals_the_integer_steps(make, shape, t):
    """Sums of up to 77 taps of 20 bits (beyond float32: float64), averages over 44 and 9
    taps (no power of two: the scale rounds), the maximum."""
    pool = make()
    g = torch.Generator().manual_seed(len(shape))
    x = _at_the_extremes(shape, t, g)
    y = pool(x)
    assert torch.equal(y, pool._run(x, t, pool.rounding, pool.overflow))


@pytest.mark.parametrize("rounding", list(Rounding))
@pytest.mark.parametrize(("bias", "weight_bits"), [(True, 8), (False, 8), (True, 30)])
def test_linear_as_one_autograd_function_equals_the_composed_steps(rounding, bias, weight_bits):
    """``Linear`` runs its float path as one autograd function with ``F.linear``'s backward
    written out; the convolutions compose ``_GridOperands``, the float layer and
    ``round_sums``. Both give the same numbers and gradients (saturating inputs and
    outputs, leading batch dimensions, float32 and float64 sums)."""
    layer = Linear(
        12, 5, 8, 4, bias=bias, rounding=rounding, weight_total_bits=weight_bits, weight_frac_bits=6
    )
    g = torch.Generator().manual_seed(weight_bits + bias)
    with torch.no_grad():
        layer.weight.mul_(4)  # products large enough to saturate some outputs
    x = (torch.randn((3, 7, 12), generator=g) * 3).requires_grad_(True)
    upstream = torch.randn((3, 7, 5), generator=g)
    results = []
    for composed in (False, True):
        layer.zero_grad()
        x.grad = None
        if composed:  # _Foldable._exact instead of Linear's
            exact = Linear._exact
            del Linear._exact
            try:
                y = layer(x)
            finally:
                Linear._exact = exact  # type: ignore[method-assign]
        else:
            y = layer(x)
        y.backward(upstream)
        grads = [x.grad, layer.weight.grad] + ([layer.bias.grad] if bias else [])
        results.append((y.detach(), *(t.clone() for t in grads)))
    saturated = (results[0][0].abs() >= 7.9).float().mean()
    assert 0.05 < saturated < 0.95, "some outputs saturate, some do not"
    for a, b in zip(*results, strict=True):
        assert torch.equal(a, b)
