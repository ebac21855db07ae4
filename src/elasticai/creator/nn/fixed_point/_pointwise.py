"""Element-wise fixed-point layers: each one is an ``affine_clamp`` with its own constants.

The constants below *define* the layers. Training (the PyTorch forward), the
integer interpreter and the VHDL all use them, so all three agree bit for bit.
"""

from __future__ import annotations

import numpy as np
import torch

from elasticai.creator.arithmetic import (
    INT64_SAFE_BITS,
    FixedType,
    Overflow,
    Rounding,
    affine_clamp,
    clamp,
    int_array,
    quantize_float,
    shift_round,
)
from elasticai.creator.base_modules.quantization import to_float, to_int
from elasticai.creator.ops import PointwiseOp

#: Extra fractional bits of the constant 1/6 in ``HardSigmoid`` beyond the data's own.
HARD_SIGMOID_EXTRA_BITS = 4


def relu_params(
    t: FixedType, rounding: Rounding = Rounding.HALF_EVEN, overflow: Overflow = Overflow.SATURATE
) -> PointwiseOp:
    """``y = max(x, 0)``."""
    return PointwiseOp("relu", 1, 0, 0, 0, t.max_int, rounding, overflow)


def hard_tanh_params(
    t: FixedType, min_val: float, max_val: float, rounding: Rounding, overflow: Overflow
) -> PointwiseOp:
    """``y = min(max(x, min_val), max_val)``, the bounds rounded onto the grid of ``t``."""
    low, high = (int(quantize_float(v, t, Rounding.HALF_EVEN)) for v in (min_val, max_val))
    return PointwiseOp("hard_tanh", 1, 0, 0, low, high, rounding, overflow)


def hard_sigmoid_params(t: FixedType, rounding: Rounding, overflow: Overflow) -> PointwiseOp:
    """``y = min(max(x * C / 2**k + 1/2, 0), 1)`` with ``k = frac_bits + 4``, ``C = round(2**k / 6)``.

    In integers: ``y_q = clamp(shift_round(x_q * C + 2**(f+k-1), k), 0, 2**f)``. The
    slope ``C / 2**k`` differs from 1/6 by at most ``2**-(k+1)``, so the result is
    within ``0.5 + 3 * 2**-(k+1) * 2**f < 0.6`` LSB of ``hardsigmoid(x)``.
    """
    k = t.frac_bits + HARD_SIGMOID_EXTRA_BITS
    mul = ((1 << k) + 3) // 6  # round(2**k / 6); never a tie
    add = 1 << (t.frac_bits + k - 1)
    return PointwiseOp("hard_sigmoid", mul, add, k, 0, 1 << t.frac_bits, rounding, overflow)


def convert_params(
    a: FixedType, b: FixedType, rounding: Rounding, overflow: Overflow
) -> PointwiseOp:
    """Format conversion ``a -> b``: ``y = overflow(shift_round(x, a.frac - b.frac))``."""
    shift = a.frac_bits - b.frac_bits
    low, high = (int(shift_round(v, shift, rounding)) for v in (a.min_int, a.max_int))
    return PointwiseOp("convert", 1, 0, shift, low, high, rounding, overflow)


def apply(x: torch.Tensor, p: PointwiseOp, t_in: FixedType, t_out: FixedType) -> torch.Tensor:
    """Quantize ``x`` to ``t_in`` and apply ``p``: the layer's forward, with a clipped STE."""
    return _PointwiseFunction.apply(x, p, t_in, t_out)


class _PointwiseFunction(torch.autograd.Function):
    @staticmethod
    def forward(
        ctx: torch.autograd.function.FunctionCtx,
        x: torch.Tensor,
        p: PointwiseOp,
        t_in: FixedType,
        t_out: FixedType,
    ) -> torch.Tensor:
        q = to_int(x, t_in, p.rounding, p.overflow)
        wide = t_in.total_bits + abs(p.mul).bit_length() + abs(p.add).bit_length() + 2
        if wide > INT64_SAFE_BITS:  # exact in Python integers where int64 could overflow
            q_exact = int_array(q.numpy(), wide)
            r = torch.from_numpy(
                clamp(
                    shift_round(q_exact * p.mul + p.add, p.shift, p.rounding), p.low - 1, p.high + 1
                ).astype(np.int64)
            )
            y = torch.from_numpy(
                affine_clamp(
                    q_exact, p.mul, p.add, p.shift, p.rounding, p.low, p.high, t_out, p.overflow
                ).astype(np.int64)
            )
        else:
            r = shift_round(q * p.mul + p.add, p.shift, p.rounding)
            y = affine_clamp(q, p.mul, p.add, p.shift, p.rounding, p.low, p.high, t_out, p.overflow)
        passes = (
            (r > p.low) & (r < p.high) & (r == y) & (x >= t_in.min_value) & (x <= t_in.max_value)
        )
        ctx.save_for_backward(passes)
        ctx.slope = p.mul * 2.0 ** (t_in.frac_bits - p.shift - t_out.frac_bits)  # type: ignore[attr-defined]
        return to_float(y, t_out, x.dtype)

    @staticmethod
    def backward(ctx: torch.autograd.function.FunctionCtx, grad: torch.Tensor):
        (passes,) = ctx.saved_tensors  # type: ignore[attr-defined]
        return grad * passes * ctx.slope, None, None, None  # type: ignore[attr-defined]
