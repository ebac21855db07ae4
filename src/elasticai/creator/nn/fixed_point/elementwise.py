"""Element-wise layers defined by one ``affine_clamp`` each: ``ReLU``, ``HardTanh``,
``HardSigmoid``; and ``quantize``, which rounds a tensor onto a format."""

from __future__ import annotations

import torch

from elasticai.creator.arithmetic import FixedType, Overflow, Rounding
from elasticai.creator.base_modules.quantization import as_real, fake_quantize
from elasticai.creator.nn.fixed_point import _pointwise
from elasticai.creator.nn.fixed_point._base import _FixedPointLayer, parse
from elasticai.creator.ops import PointwiseOp

__all__ = ["ReLU", "HardSigmoid", "HardTanh", "quantize"]


def quantize(x: torch.Tensor, total_bits: int, frac_bits: int) -> torch.Tensor:
    """Round ``x`` onto the grid of ``FixedType(total_bits, frac_bits)`` (half to even,
    saturating), with a straight-through gradient.

    >>> quantize(torch.tensor([0.3, -5.0]), total_bits=4, frac_bits=2)
    tensor([ 0.2500, -2.0000])
    """
    return fake_quantize(as_real(x), FixedType(total_bits, frac_bits))


class _PointwiseLayer(_FixedPointLayer, torch.nn.Module):
    """An element-wise layer: ``_pointwise.apply`` with this layer's constants."""

    def pointwise_params(self) -> PointwiseOp:
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _pointwise.apply(as_real(x), self.pointwise_params(), self.fxp, self.fxp)


class HardSigmoid(_PointwiseLayer):
    """``clamp(x / 6 + 1/2, 0, 1)``, with 1/6 as a constant of ``frac_bits + 4``
    fractional bits (see ``_pointwise.hard_sigmoid_params`` for the exact formula)."""

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
        return _pointwise.hard_sigmoid_params(self.fxp, self.rounding, self.overflow)


class HardTanh(_PointwiseLayer):
    """``clamp(x, min_val, max_val)``; the bounds are rounded onto the grid."""

    def __init__(
        self,
        total_bits: int,
        frac_bits: int,
        min_val: float = -1.0,
        max_val: float = 1.0,
        *,
        rounding: Rounding | str = Rounding.HALF_EVEN,
        overflow: Overflow | str = Overflow.SATURATE,
    ) -> None:
        torch.nn.Module.__init__(self)
        if not min_val <= max_val:
            raise ValueError(f"min_val must not exceed max_val ({max_val}), not {min_val}")
        self._init_format(total_bits, frac_bits, rounding, overflow)
        self.min_val, self.max_val = float(min_val), float(max_val)

    def pointwise_params(self) -> PointwiseOp:
        return _pointwise.hard_tanh_params(
            self.fxp, self.min_val, self.max_val, self.rounding, self.overflow
        )


class ReLU(_PointwiseLayer):
    """``max(x, 0)``.

    With ``frac_bits`` it first converts its input to ``FixedType(total_bits,
    frac_bits)``; without, it keeps the format of the layer before it (whose
    ``total_bits`` must then equal this one's, if given). ``use_clock`` is
    accepted for compatibility: the hardware is always registered.
    """

    def __init__(
        self,
        total_bits: int | None = None,
        frac_bits: int | None = None,
        use_clock: bool = False,
        *,
        rounding: Rounding | str = Rounding.HALF_EVEN,
        overflow: Overflow | str = Overflow.SATURATE,
    ) -> None:
        torch.nn.Module.__init__(self)
        self.declared_total_bits = total_bits
        self.use_clock = use_clock
        if frac_bits is None:
            if total_bits is not None:
                FixedType(total_bits, 0)  # validate
            self.fxp = None
            self.rounding = parse(Rounding, rounding, "rounding")
            self.overflow = parse(Overflow, overflow, "overflow")
        else:
            if total_bits is None:
                raise ValueError("ReLU needs total_bits when frac_bits is given")
            self._init_format(total_bits, frac_bits, rounding, overflow)

    def pointwise_params(self) -> PointwiseOp:
        return _pointwise.relu_params(self.fxp, self.rounding, self.overflow)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.fxp is None:
            return torch.relu(as_real(x))  # exact on any grid
        return super().forward(x)
