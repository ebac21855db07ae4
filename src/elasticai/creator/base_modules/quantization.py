"""Fake quantization with straight-through estimators (the torch side of ``arithmetic``).

Forward passes compute on exact integers (``int64`` tensors) with the very
functions of ``elasticai.creator.arithmetic``; backward passes pretend the
rounding was the identity (straight-through estimator) and stop gradients
where a value was clamped (clipped STE).
"""

from __future__ import annotations

import math

import torch

from elasticai.creator.arithmetic import FixedType, Overflow, Rounding, overflow

__all__ = ["as_real", "to_int", "to_float", "FakeQuantize", "fake_quantize", "in_range"]


def as_real(x: torch.Tensor) -> torch.Tensor:
    """``x`` as real numbers: integer and bool tensors become floats of the default dtype,
    values as they are, so a layer gives for them what it gives for the same floats; real
    (and complex) tensors, and anything else, pass unchanged.

    >>> as_real(torch.tensor([1, 2]))
    tensor([1., 2.])
    """
    if isinstance(x, torch.Tensor) and not (x.is_floating_point() or x.is_complex()):
        return x.to(torch.get_default_dtype())
    return x


def to_int(
    x: torch.Tensor,
    t: FixedType,
    rounding: Rounding = Rounding.HALF_EVEN,
    overflow_mode: Overflow = Overflow.SATURATE,
) -> torch.Tensor:
    """``x`` (real numbers) as ``int64`` integers of format ``t``; see ``arithmetic.quantize_float``."""
    if x.is_floating_point() and torch.isnan(x).any():
        raise ValueError(f"cannot quantize NaN to {t}")
    v = x.detach().to(torch.float64) * math.ldexp(1.0, t.frac_bits)
    rounding = Rounding(rounding)
    if rounding is Rounding.FLOOR:
        v = torch.floor(v)
    elif rounding is Rounding.HALF_UP:
        v = torch.floor(v + 0.5)
    else:
        v = torch.round(v)  # ties to even
    if Overflow(overflow_mode) is Overflow.SATURATE:
        return v.clamp(t.min_int, t.max_int).to(torch.int64)
    if not torch.isfinite(v).all():
        raise ValueError(f"cannot wrap infinite values into {t}")
    # fmod of floats is exact: the remainder of any (integer) value fits int64 afterwards
    v = torch.fmod(v, math.ldexp(1.0, t.total_bits))
    return overflow(v.to(torch.int64), t, Overflow.WRAP)


def to_float(q: torch.Tensor, t: FixedType, dtype: torch.dtype) -> torch.Tensor:
    """Integers ``q`` of format ``t`` as real numbers ``q / 2**t.frac_bits``."""
    return (q.to(torch.float64) * math.ldexp(1.0, -t.frac_bits)).to(dtype)


def in_range(x: torch.Tensor, t: FixedType) -> torch.Tensor:
    """Where ``x`` lies inside the representable range of ``t`` (the clipped STE's mask)."""
    return (x >= t.min_value) & (x <= t.max_value)


class FakeQuantize(torch.autograd.Function):
    """``y = to_float(to_int(x))``; gradient passes where ``x`` was not clamped."""

    @staticmethod
    def forward(
        ctx: torch.autograd.function.FunctionCtx,
        x: torch.Tensor,
        t: FixedType,
        rounding: Rounding,
        overflow_mode: Overflow,
    ) -> torch.Tensor:
        ctx.save_for_backward(in_range(x, t))
        return to_float(to_int(x, t, rounding, overflow_mode), t, x.dtype)

    @staticmethod
    def backward(ctx: torch.autograd.function.FunctionCtx, grad: torch.Tensor):
        (mask,) = ctx.saved_tensors  # type: ignore[attr-defined]
        return grad * mask, None, None, None


def fake_quantize(
    x: torch.Tensor,
    t: FixedType,
    rounding: Rounding = Rounding.HALF_EVEN,
    overflow_mode: Overflow = Overflow.SATURATE,
) -> torch.Tensor:
    """Round ``x`` onto the grid of ``t`` in the forward pass, straight through in the backward.

    >>> fake_quantize(torch.tensor([0.3, 9.0]), FixedType(4, 2))
    tensor([0.2500, 1.7500])
    """
    return FakeQuantize.apply(x, t, Rounding(rounding), Overflow(overflow_mode))
