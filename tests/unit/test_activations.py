"""Piecewise activations: accuracy over every input of a format, gradients, misuse.

The errors are measured in LSB of the output, ``|y - f(x)| * 2**frac_bits``, against the
exact float function clipped to the format's range (the best any output could do), over
*every* integer of the format. ``python -m tests.unit.test_activations`` prints the
table of ``docs/activations.md`` and the bounds asserted here (measured, rounded up to
0.01 LSB).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from elasticai.creator.arithmetic import FixedType
from elasticai.creator.ir.graph import INPUT, Node, TensorType
from elasticai.creator.nn import Sequential
from elasticai.creator.nn.fixed_point import (
    HardSwish,
    LeakyReLU,
    Linear,
    PReLU,
    ReLU6,
    Sigmoid,
    SiLU,
    Tanh,
)
from elasticai.creator.nn.fixed_point.activations import SLOPE_BITS

FORMATS = [(4, 2), (6, 3), (8, 4), (8, 6), (12, 8), (16, 8), (16, 12)]
SEGMENTS = [8, 32, 64]
FITTED = {
    "Sigmoid": (Sigmoid, torch.sigmoid),
    "Tanh": (Tanh, torch.tanh),
    "SiLU": (SiLU, F.silu),
    "HardSwish": (HardSwish, F.hardswish),
}
KNOTS = {"Sigmoid": (-8.0, 8.0), "Tanh": (-4.0, 4.0), "SiLU": (-8.0, 8.0), "HardSwish": (-3.0, 3.0)}
#: What each function is outside its knots: (left of them, right of them).
TAILS = {
    "Sigmoid": (lambda x: 0 * x, lambda x: 0 * x + 1),
    "Tanh": (lambda x: 0 * x - 1, lambda x: 0 * x + 1),
    "SiLU": (lambda x: 0 * x, lambda x: x),
    "HardSwish": (lambda x: 0 * x, lambda x: x),
}

#: Max error in LSB over every input, per activation and segments, one entry per format of
#: ``FORMATS`` (measured; see the module docstring). The 4.2 and 8.6 entries of Sigmoid,
#: SiLU and HardSwish (and Tanh 8.6) are set by the largest input alone; see
#: ``test_the_largest_input_is_interpolated_where_the_format_ends_inside_the_knots``.
BOUNDS = {
    ("Sigmoid", 8): (0.49, 0.55, 1.09, 0.66, 10.91, 10.91, 167.88),
    ("Sigmoid", 32): (0.49, 0.5, 0.51, 0.5, 1.24, 1.24, 12.73),
    ("Sigmoid", 64): (0.49, 0.5, 0.51, 0.5, 0.69, 0.69, 3.57),
    ("Tanh", 8): (0.55, 0.87, 1.59, 1.86, 21.31, 21.31, 335.27),
    ("Tanh", 32): (0.46, 0.48, 0.55, 0.57, 1.98, 1.98, 24.87),
    ("Tanh", 64): (0.46, 0.48, 0.5, 0.52, 0.87, 0.87, 6.61),
    ("SiLU", 8): (0.44, 0.75, 2.85, 1.38, 39.68, 39.68, 627.98),
    ("SiLU", 32): (0.44, 0.52, 0.69, 0.54, 4.27, 4.27, 62.22),
    ("SiLU", 64): (0.44, 0.49, 0.5, 0.5, 1.44, 1.44, 16.34),
    ("HardSwish", 8): (0.5, 0.67, 0.74, 1.16, 6.49, 6.49, 96.5),
    ("HardSwish", 32): (0.5, 0.48, 0.5, 0.5, 0.85, 0.85, 6.49),
    ("HardSwish", 64): (0.5, 0.48, 0.5, 0.5, 0.58, 0.58, 1.99),
}


def every_input(t: FixedType) -> torch.Tensor:
    """Every value of format ``t``, ascending, as float64."""
    return torch.arange(t.min_int, t.max_int + 1, dtype=torch.float64) * t.resolution


def errors_lsb(layer: torch.nn.Module, f, t: FixedType) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs and ``|y - clip(f(x))|`` in LSB over every input of ``t``."""
    x = every_input(t)
    with torch.no_grad():
        y = layer(x)
    ref = f(x).clamp(t.min_value, t.max_value)
    return x, (y - ref).abs() * 2.0**t.frac_bits


def _id(fmt: tuple[int, int]) -> str:
    return f"Q{fmt[0]}.{fmt[1]}"


# --- accuracy ---------------------------------------------------------------------------


@pytest.mark.parametrize("segments", SEGMENTS)
@pytest.mark.parametrize("name", list(FITTED))
def test_fitted_activation_error_over_every_input(name, segments):
    cls, f = FITTED[name]
    for k, (total, frac) in enumerate(FORMATS):
        t = FixedType(total, frac)
        layer = cls(total, frac, segments=segments)
        x, err = errors_lsb(layer, f, t)
        worst = float(err.max())
        assert worst <= BOUNDS[(name, segments)][k], f"{name} {t} {segments}: {worst:.3f} LSB"
        with torch.no_grad():
            y = layer(x)
        assert torch.equal(y * 2.0**frac, torch.round(y * 2.0**frac)), "outputs on the grid"
        assert y.min() >= t.min_value and y.max() <= t.max_value


def test_the_default_is_32_segments():
    for cls, _ in FITTED.values():
        assert cls(16, 8).segments == 32
        assert cls(16, 8).piecewise() == cls(16, 8, segments=32).piecewise()


@pytest.mark.parametrize("fmt", [(8, 4), (12, 8), (16, 8)], ids=_id)
def test_more_segments_are_never_less_accurate_where_the_knots_fit(fmt):
    t = FixedType(*fmt)
    for name, (cls, f) in FITTED.items():
        worst = [float(errors_lsb(cls(*fmt, segments=s), f, t)[1].max()) for s in (8, 32, 64, 256)]
        assert worst == sorted(worst, reverse=True), f"{name}: {worst}"
        assert worst[-1] <= 0.75, f"{name}: {worst}"


@pytest.mark.parametrize("segments", SEGMENTS)
@pytest.mark.parametrize("fmt", FORMATS, ids=_id)
def test_sigmoid_and_tanh_are_monotonic_and_in_range(fmt, segments):
    t = FixedType(*fmt)
    x = every_input(t)
    with torch.no_grad():
        s = Sigmoid(*fmt, segments=segments)(x)
        h = Tanh(*fmt, segments=segments)(x)
    for y in (s, h):
        assert (y[1:] >= y[:-1]).all(), "non-decreasing over every input"
    assert s.min() >= 0 and s.max() <= 1
    assert h.min() >= -1 and h.max() <= 1


@pytest.mark.parametrize("name", list(FITTED))
def test_outside_the_knots_the_tails_are_the_asymptotes(name):
    cls, _ = FITTED[name]
    t = FixedType(16, 8)  # range [-128, 128): wider than every knot interval
    lo, hi = KNOTS[name]
    x = every_input(t)
    with torch.no_grad():
        y = cls(16, 8)(x)
    left, right = TAILS[name]
    assert torch.equal(y[x < lo], left(x[x < lo]))
    assert torch.equal(y[x >= hi], right(x[x >= hi]))


@pytest.mark.parametrize("segments", [1, 8, 32, 1024])
@pytest.mark.parametrize("name", list(FITTED))
def test_the_knots_are_evenly_spread_and_met_within_half_an_lsb(name, segments):
    cls, f = FITTED[name]
    t = FixedType(16, 8)
    p = cls(16, 8, segments=segments).piecewise()
    lo, hi = KNOTS[name]
    knots = list(p.breaks[1:])
    assert knots[0] == lo * 256 and knots[-1] == hi * 256
    assert len(p.breaks) == min(segments, int((hi - lo) * 256)) + 2  # + the two tails
    assert p.shift == SLOPE_BITS == 16
    x = torch.tensor(knots[:-1], dtype=torch.float64) * t.resolution
    with torch.no_grad():
        err = (cls(16, 8, segments=segments)(x) - f(x)).abs() * 256
    assert float(err.max()) <= 0.5 + 2.0**-SLOPE_BITS


@pytest.mark.parametrize(
    ("name", "fmt"),
    [("Sigmoid", (8, 6)), ("Tanh", (8, 6)), ("SiLU", (8, 6)), ("HardSwish", (8, 6)),
     ("SiLU", (4, 2)), ("HardSwish", (4, 2)), ("Sigmoid", (16, 12)), ("SiLU", (16, 12))],
)  # fmt: skip
def test_the_largest_input_is_interpolated_where_the_format_ends_inside_the_knots(name, fmt):
    cls, f = FITTED[name]
    t = FixedType(*fmt)
    _, err = errors_lsb(cls(*fmt, segments=64), f, t)
    assert float(err[-1]) <= 1.0, f"{float(err[-1]):.2f} LSB at the largest input"


@pytest.mark.parametrize("slope", [0.01, 0.1, 0.2, 0.25, 1 / 3])
@pytest.mark.parametrize("fmt", FORMATS, ids=_id)
def test_leaky_relu_is_exact_for_positive_inputs_and_rounds_once_below(fmt, slope):
    t = FixedType(*fmt)
    x = every_input(t)
    with torch.no_grad():
        y = LeakyReLU(*fmt, negative_slope=slope)(x)
    assert torch.equal(y[x >= 0], x[x >= 0])
    # below zero: x * round(slope * 2**16) / 2**16 rounded once, so within half an LSB of
    # it, plus the slope's rounding times |x|
    slope_q = round(slope * 2**SLOPE_BITS) / 2**SLOPE_BITS
    neg = x < 0
    err = (y[neg] - F.leaky_relu(x[neg], slope)).abs() * 2.0**t.frac_bits
    allowed = 0.5 + x[neg].abs() * abs(slope - slope_q) * 2.0**t.frac_bits
    assert (err <= allowed + 1e-9).all()
    assert ((y[neg] - x[neg] * slope_q).abs() * 2.0**t.frac_bits <= 0.5).all()


@pytest.mark.parametrize("fmt", FORMATS, ids=_id)
def test_prelu_with_its_initial_slope_is_exact_to_half_an_lsb(fmt):
    t = FixedType(*fmt)
    x = every_input(t)
    layer = PReLU(*fmt)  # init 0.25: exact in 16 fractional bits
    with torch.no_grad():
        y = layer(x)
        ref = F.prelu(x, layer.weight.double())
    assert torch.equal(y[x >= 0], x[x >= 0])
    assert float((y - ref).abs().max()) * 2.0**t.frac_bits <= 0.5


@pytest.mark.parametrize("fmt", FORMATS, ids=_id)
def test_relu6_is_an_exact_clamp(fmt):
    t = FixedType(*fmt)
    x = every_input(t)
    with torch.no_grad():
        y = ReLU6(*fmt)(x)
    assert torch.equal(y, x.clamp(0.0, min(6.0, t.max_value)))


# --- the layer is its IR ----------------------------------------------------------------


def _layers(fmt: tuple[int, int]) -> list[torch.nn.Module]:
    layers = [cls(*fmt, segments=s) for cls, _ in FITTED.values() for s in (1, 8, 32)]
    return [*layers, LeakyReLU(*fmt, 0.1), LeakyReLU(*fmt, -0.3), PReLU(*fmt, init=0.37)]


@pytest.mark.parametrize("fmt", [(4, 2), (8, 6), (12, 8), (16, 12)], ids=_id)
def test_the_layer_computes_the_interpreters_piecewise_function(fmt):
    t = FixedType(*fmt)
    x = every_input(t)
    x_int = np.arange(t.min_int, t.max_int + 1, dtype=np.int64)[None, :]
    tt = TensorType((x_int.shape[1],), t)
    for layer in _layers(fmt):
        node = Node("a", layer.piecewise(), (INPUT,), (tt,), tt)
        expected = node.op.interpret(node, [x_int]).astype(np.float64)[0] * t.resolution
        with torch.no_grad():
            got = layer(x)
        assert torch.equal(got, torch.from_numpy(expected)), repr(layer)


def test_activations_translate_to_designs_that_compute_the_model():
    torch.manual_seed(0)
    x = torch.randn(16, 5) * 3
    for layer in _layers((12, 8)) + [ReLU6(12, 8)]:
        model = Sequential(Linear(5, 4, 12, 8), layer)
        design = model.create_design("m")
        with torch.no_grad():
            expected = model(x)
        got = design.interpret(design.quantize_input(x)) * 2.0**-8
        assert torch.equal(torch.from_numpy(got).float(), expected), repr(layer)


def test_activations_work_on_maps_of_any_shape():
    x = torch.randn(2, 3, 4, 5)
    for layer in _layers((16, 8)):
        with torch.no_grad():
            y = layer(x)
            flat = layer(x.reshape(1, -1)).reshape(x.shape)
        assert y.shape == x.shape and torch.equal(y, flat)


# --- gradients --------------------------------------------------------------------------


def _float_grad(f, x: torch.Tensor) -> torch.Tensor:
    x2 = x.detach().clone().requires_grad_(True)
    f(x2).sum().backward()
    return x2.grad


@pytest.mark.parametrize("fmt", [(8, 4), (12, 8), (16, 8)], ids=_id)
@pytest.mark.parametrize("name", list(FITTED))
def test_gradients_are_the_float_functions_derivative(name, fmt):
    cls, f = FITTED[name]
    t = FixedType(*fmt)
    g = torch.Generator().manual_seed(1)
    # off the grid as well; kept inside half the range (no saturated outputs)
    x = (torch.rand(500, generator=g, dtype=torch.float64) * 2 - 1) * t.max_value / 2
    x.requires_grad_(True)
    cls(*fmt)(x).sum().backward()
    torch.testing.assert_close(x.grad, _float_grad(f, x), rtol=0, atol=1e-12)


@pytest.mark.parametrize("fmt", [(8, 4), (16, 8)], ids=_id)
def test_leaky_relu_prelu_and_relu6_gradients_are_the_float_ones(fmt):
    t = FixedType(*fmt)
    x = every_input(t)
    x = x[(x.abs() < t.max_value / 2) & (x != 0) & (x != 6)]  # away from kinks and ends
    for layer, f in [
        (LeakyReLU(*fmt, 0.1), lambda v: F.leaky_relu(v, 0.1)),
        (
            PReLU(*fmt, init=0.25).double(),
            lambda v: F.prelu(v, torch.tensor([0.25], dtype=v.dtype)),
        ),
        (ReLU6(*fmt), F.relu6),
    ]:
        xg = x.clone().requires_grad_(True)
        layer(xg).sum().backward()
        torch.testing.assert_close(xg.grad, _float_grad(f, x), rtol=0, atol=1e-12)


def test_saturated_outputs_get_no_gradient():
    x = torch.tensor([7.9, 100.0], requires_grad=True)  # SiLU(x) = x for x >= 8, Q8.4 ends at 7.94
    SiLU(8, 4)(x).sum().backward()
    assert x.grad[1] == 0 and x.grad[0] > 0


def test_prelu_learns_its_slope_and_the_constants_follow():
    torch.manual_seed(0)
    layer = PReLU(16, 8, init=0.25)
    x = torch.randn(256) * 2
    target = F.leaky_relu(x, 0.1)
    y = layer(x)
    loss = (y - target).pow(2).mean()
    loss.backward()
    w = layer.weight.detach().clone().requires_grad_(True)
    ((F.prelu(x, w) - target).pow(2).mean()).backward()
    # the surrogate's gradient at the exact forward's residuals: same sign, same size order
    assert layer.weight.grad is not None and torch.isfinite(layer.weight.grad).all()
    assert torch.sign(layer.weight.grad) == torch.sign(w.grad)
    torch.testing.assert_close(layer.weight.grad, w.grad, rtol=0.05, atol=1e-4)

    before = layer.piecewise()
    opt = torch.optim.SGD(layer.parameters(), lr=0.5)
    for _ in range(40):
        opt.zero_grad()
        (layer(x) - target).pow(2).mean().backward()
        opt.step()
    after = layer.piecewise()
    assert abs(float(layer.weight.detach()) - 0.1) < 0.01
    assert before.muls[0] == 0.25 * 2**SLOPE_BITS
    assert after.muls[0] == round(float(layer.weight.detach()) * 2**SLOPE_BITS) != before.muls[0]
    assert after.muls[1] == before.muls[1] == 2**SLOPE_BITS


# --- misuse -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Sigmoid(8, 4, segments=0), "segments must be an int from 1 to 1024, not 0"),
        (lambda: Tanh(8, 4, segments=2000), "segments must be an int from 1 to 1024, not 2000"),
        (lambda: SiLU(8, 4, segments=8.0), "segments must be an int from 1 to 1024, not 8.0"),
        (
            lambda: HardSwish(8, 4, segments=True),
            "segments must be an int from 1 to 1024, not True",
        ),
        (
            lambda: PReLU(8, 4, num_parameters=3),
            "PReLU supports one learned slope (num_parameters=1), not 3",
        ),
        (
            lambda: LeakyReLU(8, 4, negative_slope=float("nan")),
            "negative_slope must be a finite number, not nan",
        ),
        (
            lambda: LeakyReLU(8, 4, negative_slope=float("inf")),
            "negative_slope must be a finite number, not inf",
        ),
        (lambda: Sigmoid(8, 9), "frac_bits must not exceed total_bits (8), not 9"),
    ],
)
def test_bad_arguments_are_refused_with_the_rule_and_value(make, message):
    with pytest.raises(ValueError) as error:
        make()
    assert str(error.value) == message


def test_a_diverged_prelu_slope_is_refused():
    layer = PReLU(8, 4)
    with torch.no_grad():
        layer.weight.fill_(float("nan"))
    with pytest.raises(ValueError, match=r"PReLU has a non-finite slope \(nan\)"):
        layer.piecewise()


# --- the table of docs/activations.md ---------------------------------------------------


def _table() -> str:
    formats = [FixedType(*f) for f in FORMATS]
    lines = [
        "| activation | segments | " + " | ".join(str(t) for t in formats) + " |",
        "|---|---|" + "---|" * len(formats),
    ]
    bounds = {}
    for name, (cls, f) in FITTED.items():
        for s in SEGMENTS:
            cells, row = [], []
            for t in formats:
                _, err = errors_lsb(cls(t.total_bits, t.frac_bits, segments=s), f, t)
                worst, rest = float(err.max()), float(err[:-1].max())
                row.append(math.ceil(worst * 100) / 100)
                cell = f"{worst:.2f}"
                if worst > rest + 0.005:  # set by the largest input alone (the bug)
                    cell += f" ({rest:.2f})"
                cells.append(cell)
            bounds[(name, s)] = tuple(row)
            lines.append(f"| {name} | {s} | " + " | ".join(cells) + " |")
    for slope in (0.01, 0.1, 0.2):
        cells = []
        for t in formats:
            _, err = errors_lsb(
                LeakyReLU(t.total_bits, t.frac_bits, slope),
                lambda v, s=slope: F.leaky_relu(v, s),
                t,
            )
            cells.append(f"{float(err.max()):.2f}")
        lines.append(f"| LeakyReLU({slope}) | - | " + " | ".join(cells) + " |")
    cells = []
    for t in formats:
        layer = PReLU(t.total_bits, t.frac_bits)
        _, err = errors_lsb(layer, lambda v, w=layer.weight: F.prelu(v, w.detach().double()), t)
        cells.append(f"{float(err.max()):.2f}")
    lines.append("| PReLU(0.25) | - | " + " | ".join(cells) + " |")
    cells = []
    for t in formats:
        _, err = errors_lsb(ReLU6(t.total_bits, t.frac_bits), F.relu6, t)
        cells.append(f"{float(err.max()):.2f}")
    lines.append("| ReLU6 | - | " + " | ".join(cells) + " |")
    text = "\n".join(lines)
    text += "\n\nBOUNDS = {\n"
    text += "".join(f"    {k!r}: {v!r},\n" for k, v in bounds.items()) + "}"
    return text


if __name__ == "__main__":
    print(_table())
