"""Non-linear activations defined by piecewise-linear integer formulas.

``Sigmoid``, ``Tanh``, ``SiLU`` and ``HardSwish`` interpolate the float function
linearly between ``segments + 1`` knots spread evenly over an interval (``[-8, 8]``
for sigmoid and SiLU, ``[-4, 4]`` for tanh, ``[-3, 3]`` for hard swish), with the
function's asymptotes outside it. ``LeakyReLU`` and ``PReLU`` are two exact segments
(the negative slope rounded to ``SLOPE_BITS`` fractional bits), ``ReLU6`` a clamp.

In integers (``ir.graph.PiecewiseOp``): segment ``k`` of ``x`` computes
``shift_round((x - base[k]) * mul[k] + add[k], SLOPE_BITS)``, saturated to the output
format. The forward pass, the interpreter and the VHDL (``ec_piecewise``) evaluate
this same formula, so they agree bit for bit. The gradient is the float function's
(straight through). Accuracy against the float function, measured over every input
of the format (``tests/unit/test_activations.py`` keeps these bounds), is in
``docs/activations.md``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch

from elasticai.creator.arithmetic import FixedType, Overflow, Rounding
from elasticai.creator.base_modules.quantization import as_real, to_int
from elasticai.creator.ir.types import TensorType
from elasticai.creator.nn.fixed_point import _pointwise
from elasticai.creator.nn.fixed_point._base import _FixedPointLayer
from elasticai.creator.nn.fixed_point._steps import Step, exact_with_surrogate, run_steps
from elasticai.creator.nn.fixed_point.elementwise import _PointwiseLayer
from elasticai.creator.ops import PiecewiseOp, PointwiseOp

__all__ = [
    "Sigmoid",
    "Tanh",
    "SiLU",
    "HardSwish",
    "LeakyReLU",
    "PReLU",
    "ReLU6",
    "piecewise_params",
]

#: Fractional bits of the slopes (``shift`` of every piecewise function).
SLOPE_BITS = 16

Line = tuple[float, float]  # slope, intercept


def _hard_swish(x: np.ndarray) -> np.ndarray:
    return x * np.clip(x + 3.0, 0.0, 6.0) / 6.0


FUNCTIONS: dict[str, tuple[Callable[[np.ndarray], np.ndarray], float, float, Line, Line]] = {
    # name: (function, knots from, knots to, line left of them, line right of them)
    "sigmoid": (lambda x: 1.0 / (1.0 + np.exp(-x)), -8.0, 8.0, (0.0, 0.0), (0.0, 1.0)),
    "tanh": (np.tanh, -4.0, 4.0, (0.0, -1.0), (0.0, 1.0)),
    "silu": (lambda x: x / (1.0 + np.exp(-x)), -8.0, 8.0, (0.0, 0.0), (1.0, 0.0)),
    "hard_swish": (_hard_swish, -3.0, 3.0, (0.0, 0.0), (1.0, 0.0)),
}


def piecewise_params(
    kind: str,
    t_in: FixedType,
    t_out: FixedType,
    segments: int,
    rounding: Rounding = Rounding.HALF_EVEN,
    overflow: Overflow = Overflow.SATURATE,
) -> PiecewiseOp:
    """The integer constants of ``kind`` (a key of ``FUNCTIONS``) with ``segments`` pieces
    between its knots, for inputs of ``t_in`` and outputs of ``t_out``."""
    fn, lo, hi, left, right = FUNCTIONS[kind]
    scale_in, scale_out = 2.0**t_in.frac_bits, 2.0**t_out.frac_bits
    lo_int = max(t_in.min_int, math.ceil(lo * scale_in))
    hi_int = min(t_in.max_int, math.floor(hi * scale_in))
    knots = sorted({int(round(v)) for v in np.linspace(lo_int, hi_int, segments + 1)})
    if hi_int < lo_int:  # the interval lies outside the format: tails only
        knots = [min(max(0, t_in.min_int), t_in.max_int)]
    unit = 2.0**SLOPE_BITS

    def line(base: int, slope: float, value: float) -> tuple[int, int, int]:
        """``(base, mul, add)`` of ``y = value + slope * (x - base)`` (reals)."""
        mul = int(round(slope * scale_out / scale_in * unit))
        add = int(round(value * scale_out * unit))
        return base, mul, add

    def at(x_int: int) -> float:
        return float(fn(np.array(x_int / scale_in)))

    pieces = [line(knots[0], left[0], left[0] * knots[0] / scale_in + left[1])]
    breaks = [t_in.min_int]
    for a, b in zip(knots, knots[1:], strict=False):
        slope = (at(b) - at(a)) / ((b - a) / scale_in)
        pieces.append(line(a, slope, at(a)))
        breaks.append(a)
    if hi * scale_in <= t_in.max_int or len(knots) == 1:  # else the last chord reaches the end
        pieces.append(line(knots[-1], right[0], right[0] * knots[-1] / scale_in + right[1]))
        breaks.append(knots[-1])
    bases, muls, adds = (tuple(p[i] for p in pieces) for i in range(3))
    return PiecewiseOp(kind, tuple(breaks), bases, muls, adds, SLOPE_BITS, rounding, overflow)


def two_slope_params(
    kind: str, slope: float, t: FixedType, rounding: Rounding, overflow: Overflow
) -> PiecewiseOp:
    """``x`` for ``x >= 0``, ``round(slope * 2**SLOPE_BITS) / 2**SLOPE_BITS * x`` below."""
    unit = 1 << SLOPE_BITS
    return PiecewiseOp(
        kind,
        (t.min_int, 0),
        (0, 0),
        (int(round(slope * unit)), unit),
        (0, 0),
        SLOPE_BITS,
        rounding,
        overflow,
    )


class _PiecewiseLayer(_FixedPointLayer, torch.nn.Module):
    """An activation given by ``piecewise`` constants; one format in and out."""

    def piecewise(self) -> PiecewiseOp:
        raise NotImplementedError

    def _float(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def steps(self, in_type: TensorType, where: str = "") -> list[Step]:
        p = self.piecewise()
        return [Step(p.kind, TensorType(in_type.shape, self.fxp), p)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = as_real(x)
        q = to_int(x, self.fxp, self.rounding, self.overflow)
        flat = q.reshape(q.shape[0] if q.dim() else 1, -1)
        in_type = TensorType((flat.shape[1],), self.fxp)
        y = torch.from_numpy(run_steps(flat.numpy(), in_type, self.steps(in_type))).reshape(q.shape)
        return exact_with_surrogate(y, self.fxp, x, lambda: self._float(x))


class _FittedActivation(_PiecewiseLayer):
    kind = ""

    def __init__(
        self,
        total_bits: int,
        frac_bits: int,
        *,
        segments: int = 32,
        rounding: Rounding | str = Rounding.HALF_EVEN,
        overflow: Overflow | str = Overflow.SATURATE,
    ) -> None:
        torch.nn.Module.__init__(self)
        self._init_format(total_bits, frac_bits, rounding, overflow)
        if not isinstance(segments, int) or isinstance(segments, bool) or not 1 <= segments <= 1024:
            raise ValueError(f"segments must be an int from 1 to 1024, not {segments!r}")
        self.segments = segments

    def piecewise(self) -> PiecewiseOp:
        return piecewise_params(
            self.kind, self.fxp, self.fxp, self.segments, self.rounding, self.overflow
        )


class Sigmoid(_FittedActivation):
    """``1 / (1 + exp(-x))``, ``segments`` linear pieces on ``[-8, 8]``, 0 and 1 outside."""

    kind = "sigmoid"

    def _float(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(x)


class Tanh(_FittedActivation):
    """``tanh(x)``, ``segments`` linear pieces on ``[-4, 4]``, -1 and 1 outside."""

    kind = "tanh"

    def _float(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(x)


class SiLU(_FittedActivation):
    """``x * sigmoid(x)``, ``segments`` linear pieces on ``[-8, 8]``, 0 and ``x`` outside."""

    kind = "silu"

    def _float(self, x: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.silu(x)


class HardSwish(_FittedActivation):
    """``x * relu6(x + 3) / 6``, ``segments`` linear pieces on ``[-3, 3]``, 0 and ``x``
    outside (exact there)."""

    kind = "hard_swish"

    def _float(self, x: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.hardswish(x)


class LeakyReLU(_PiecewiseLayer):
    """``x`` for ``x >= 0``, ``negative_slope * x`` below (the slope rounded to 16 fractional bits)."""

    def __init__(
        self,
        total_bits: int,
        frac_bits: int,
        negative_slope: float = 0.01,
        *,
        rounding: Rounding | str = Rounding.HALF_EVEN,
        overflow: Overflow | str = Overflow.SATURATE,
    ) -> None:
        torch.nn.Module.__init__(self)
        self._init_format(total_bits, frac_bits, rounding, overflow)
        if not math.isfinite(negative_slope):
            raise ValueError(f"negative_slope must be a finite number, not {negative_slope}")
        self.negative_slope = float(negative_slope)

    def piecewise(self) -> PiecewiseOp:
        return two_slope_params(
            "leaky_relu", self.negative_slope, self.fxp, self.rounding, self.overflow
        )

    def _float(self, x: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.leaky_relu(x, self.negative_slope)


class PReLU(_PiecewiseLayer):
    """``LeakyReLU`` whose slope is learned (one slope: ``num_parameters=1``)."""

    def __init__(
        self,
        total_bits: int,
        frac_bits: int,
        num_parameters: int = 1,
        init: float = 0.25,
        *,
        rounding: Rounding | str = Rounding.HALF_EVEN,
        overflow: Overflow | str = Overflow.SATURATE,
    ) -> None:
        torch.nn.Module.__init__(self)
        self._init_format(total_bits, frac_bits, rounding, overflow)
        if num_parameters != 1:
            raise ValueError(
                f"PReLU supports one learned slope (num_parameters=1), not {num_parameters}"
            )
        self.weight = torch.nn.Parameter(torch.tensor([float(init)]))

    def piecewise(self) -> PiecewiseOp:
        slope = float(self.weight.detach()[0])
        if not math.isfinite(slope):
            raise ValueError(f"PReLU has a non-finite slope ({slope})")
        return two_slope_params("prelu", slope, self.fxp, self.rounding, self.overflow)

    def _float(self, x: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.prelu(x, self.weight)


class ReLU6(_PointwiseLayer):
    """``min(max(x, 0), 6)`` (6 saturated to the format's maximum where it does not fit)."""

    def __init__(
        self,
        total_bits: int,
        frac_bits: int,
        *,
        rounding: Rounding | str = Rounding.HALF_EVEN,
        overflow: Overflow | str = Overflow.SATURATE,
    ) -> None:
        torch.nn.Module.__init__(self)
        self._init_format(total_bits, frac_bits, rounding, overflow)

    def pointwise_params(self) -> PointwiseOp:
        p = _pointwise.hard_tanh_params(self.fxp, 0.0, 6.0, self.rounding, self.overflow)
        return PointwiseOp("relu6", p.mul, p.add, p.shift, p.low, p.high, p.rounding, p.overflow)
