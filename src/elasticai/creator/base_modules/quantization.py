"""Fake quantization with straight-through estimators (the torch side of ``arithmetic``).

Forward passes compute on exact integers: ``int64`` tensors (``to_int``), or integers
held in floating-point tensors (``to_grid``), which PyTorch's float kernels add and
multiply exactly as long as every value stays within the significand (``exact_dtype``).
Backward passes pretend the rounding was the identity (straight-through estimator) and
stop gradients where a value was clamped (clipped STE).
"""

from __future__ import annotations

import functools
import math

import torch

from elasticai.creator.arithmetic import FixedType, Overflow, Rounding, overflow

__all__ = [
    "as_real",
    "to_int",
    "to_grid",
    "to_float",
    "to_float_",
    "exact_dtype",
    "FakeQuantize",
    "fake_quantize",
    "in_range",
    "range_mask",
    "on_grid",
    "clipped_grid",
    "unchanged",
]


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


@functools.cache
def _power_of_two(exponent: int, dtype: torch.dtype) -> torch.Tensor:
    """``2**exponent`` as a 0-dim CPU tensor of ``dtype``: PyTorch multiplies by it about
    twice as fast as by a Python float, which it converts on every call."""
    with torch.inference_mode(False):
        return torch.tensor(math.ldexp(1.0, exponent), dtype=dtype, device="cpu")


def _cast(x: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """``x`` in ``dtype``: ``x`` itself where it has it (``Tensor.to`` takes longer to parse
    its arguments than the check)."""
    return x if x.dtype == dtype else x.to(dtype)


def _round_(v: torch.Tensor, rounding: Rounding) -> torch.Tensor:
    """``v`` rounded to integers in place as ``rounding`` says (exact; half up adds 1/2
    first, as ``arithmetic.quantize_float``)."""
    if rounding is Rounding.FLOOR:
        return v.floor_()
    if rounding is Rounding.HALF_UP:
        return v.add_(0.5).floor_()
    return v.round_()  # ties to even


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
    v = _round_(v, Rounding(rounding))
    if Overflow(overflow_mode) is Overflow.SATURATE:
        return v.clamp_(t.min_int, t.max_int).to(torch.int64)
    if not torch.isfinite(v).all():
        raise ValueError(f"cannot wrap infinite values into {t}")
    # fmod of floats is exact: the remainder of any (integer) value fits int64 afterwards
    v = torch.fmod(v, math.ldexp(1.0, t.total_bits))
    return overflow(v.to(torch.int64), t, Overflow.WRAP)


@functools.cache
def significand_bits(dtype: torch.dtype) -> int:
    """Every integer up to ``2**significand_bits`` in magnitude is exact in ``dtype``
    (float32: 24, float64: 53)."""
    return 1 - int(math.log2(torch.finfo(dtype).eps))


def _holding(dtype: torch.dtype, t: FixedType, rounding: Rounding) -> torch.dtype:
    """The dtype that holds the integers of ``t`` for real numbers of ``dtype``: ``dtype``
    where its significand holds them (float32: up to 24 bits), else (and for half up, as
    ``to_int``) float64, exact up to 53 bits."""
    if t.total_bits > significand_bits(dtype) or rounding is Rounding.HALF_UP:
        return torch.float64
    return dtype


def to_grid(
    x: torch.Tensor,
    t: FixedType,
    rounding: Rounding = Rounding.HALF_EVEN,
    overflow_mode: Overflow = Overflow.SATURATE,
) -> torch.Tensor:
    """``to_int(x, t, rounding, overflow_mode)`` held in a floating-point tensor (of the
    dtype ``_holding`` says), without gradient. NaN stays NaN (``to_int``, which gives the
    integers of the hardware, refuses it)."""
    rounding = Rounding(rounding)
    dtype = _holding(x.dtype, t, rounding)
    if Overflow(overflow_mode) is Overflow.WRAP:
        return to_int(x, t, rounding, overflow_mode).to(dtype)
    v = _cast(x.detach(), dtype) * _power_of_two(t.frac_bits, dtype)
    # the bounds are integers: clamping first gives the same integers
    return _round_(v.clamp_(t.min_int, t.max_int), rounding)


def exact_dtype(bound: int, like: torch.Tensor) -> torch.dtype | None:
    """The floating-point dtype in which PyTorch computes sums of products exactly when no
    value and no partial sum exceeds ``bound`` (in units of the last bit): ``like``'s own
    where its significand holds ``bound`` (float32 only on the CPU, with IEEE float32
    matrix products and convolutions: no TF32 or bfloat16 shortcut, oneDNN's direct
    convolutions rather than NNPACK's Winograd), else float64, else ``None``."""
    if like.dtype == torch.float32 and bound <= 1 << 24 and _float32_is_ieee(like):
        return torch.float32
    if bound <= 1 << 53:
        return torch.float64
    return None


def _float32_is_ieee(like: torch.Tensor) -> bool:
    mkldnn = torch.backends.mkldnn
    if not like.is_cpu or not (mkldnn.is_available() and mkldnn.enabled):
        return False
    ops = getattr(mkldnn, "matmul", None), getattr(mkldnn, "conv", None)
    if None in ops:  # PyTorch before the per-backend settings
        return torch.get_float32_matmul_precision() == "highest"
    settings = (torch.backends, mkldnn, *ops)
    return all(getattr(b, "fp32_precision", "none") in ("none", "ieee") for b in settings)


def to_float(q: torch.Tensor, t: FixedType, dtype: torch.dtype) -> torch.Tensor:
    """Integers ``q`` of format ``t`` (``int64``, or held in a floating-point tensor) as
    real numbers ``q / 2**t.frac_bits`` in ``dtype``, rounded once."""
    if dtype not in (torch.float32, torch.float64):
        return to_float(q, t, torch.float64).to(dtype)
    # the conversion rounds (int64 or float64 to float32), the power of two scales exactly
    return _cast(q, dtype) * _power_of_two(-t.frac_bits, dtype)


def to_float_(q: torch.Tensor, t: FixedType, dtype: torch.dtype) -> torch.Tensor:
    """``to_float``, scaling ``q`` itself where it has ``dtype`` already (``q`` is then
    consumed)."""
    if q.dtype != dtype:
        return to_float(q, t, dtype)
    return q.mul_(_power_of_two(-t.frac_bits, dtype))


def in_range(x: torch.Tensor, t: FixedType) -> torch.Tensor:
    """Where ``x`` lies inside the representable range of ``t`` (the clipped STE's mask)."""
    return (x >= t.min_value) & (x <= t.max_value)


def unchanged(a: torch.Tensor, b: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """1 where ``a == b``, else 0, in ``dtype``: a gradient mask. (PyTorch makes and
    applies masks of ``dtype`` several times faster than ``bool`` ones.)"""
    return torch.eq(a, b, out=torch.empty_like(a, dtype=dtype))


def range_mask(x: torch.Tensor, t: FixedType) -> torch.Tensor:
    """1 where ``x`` lies in the range of ``t`` (clamping leaves it as it is), else 0, in
    ``x``'s dtype: the clipped STE's gradient mask."""
    return unchanged(x.clamp(t.min_value, t.max_value), x, x.dtype)


def on_grid(
    x: torch.Tensor,
    t: FixedType,
    rounding: Rounding = Rounding.HALF_EVEN,
    overflow_mode: Overflow = Overflow.SATURATE,
) -> torch.Tensor:
    """``x`` rounded onto the grid of ``t``: the real numbers ``to_float(to_grid(x))`` in
    ``x``'s dtype, without gradient."""
    return to_float_(to_grid(x, t, rounding, overflow_mode), t, x.dtype)


def clipped_grid(
    x: torch.Tensor, t: FixedType, rounding: Rounding, overflow_mode: Overflow
) -> tuple[torch.Tensor, torch.Tensor]:
    """``on_grid(x, ...)`` and ``range_mask(x, t)`` at once: where ``x``'s dtype holds the
    integers and they saturate, the mask is where their clamp left them as they were."""
    rounding = Rounding(rounding)
    dtype = x.dtype
    if Overflow(overflow_mode) is Overflow.WRAP or _holding(dtype, t, rounding) != dtype:
        return on_grid(x, t, rounding, overflow_mode), range_mask(x, t)
    v = x.detach() * _power_of_two(t.frac_bits, dtype)
    q = v.clamp(t.min_int, t.max_int)
    mask = torch.eq(q, v, out=v)  # unchanged: in the range (written over v, no longer needed)
    return _round_(q, rounding).mul_(_power_of_two(-t.frac_bits, dtype)), mask


class FakeQuantize(torch.autograd.Function):
    """``y = on_grid(x)``; the gradient passes where ``x`` was not clamped (``clipped``),
    or everywhere."""

    @staticmethod
    def forward(
        ctx: torch.autograd.function.FunctionCtx,
        x: torch.Tensor,
        t: FixedType,
        rounding: Rounding,
        overflow_mode: Overflow,
        clipped: bool,
    ) -> torch.Tensor:
        if not (clipped and ctx.needs_input_grad[0]):  # type: ignore[attr-defined]
            return on_grid(x, t, rounding, overflow_mode)
        y, mask = clipped_grid(x, t, rounding, overflow_mode)
        ctx.save_for_backward(mask)
        return y

    @staticmethod
    def backward(ctx: torch.autograd.function.FunctionCtx, grad: torch.Tensor):
        for mask in ctx.saved_tensors:  # type: ignore[attr-defined]
            grad = grad * mask
        return grad, None, None, None, None


def fake_quantize(
    x: torch.Tensor,
    t: FixedType,
    rounding: Rounding = Rounding.HALF_EVEN,
    overflow_mode: Overflow = Overflow.SATURATE,
    clipped: bool = True,
) -> torch.Tensor:
    """Round ``x`` onto the grid of ``t`` in the forward pass, straight through in the
    backward pass: only where ``x`` lies in the range of ``t`` (``clipped``), or everywhere.

    >>> fake_quantize(torch.tensor([0.3, 9.0]), FixedType(4, 2))
    tensor([0.2500, 1.7500])
    """
    return FakeQuantize.apply(x, t, Rounding(rounding), Overflow(overflow_mode), clipped)
