"""Joins of two tensors with a format of their own: ``Add`` and ``Concatenate``.

``a + b`` and ``torch.cat`` on fixed-point tensors need no layer: the sum (or the
concatenation) of two quantized values is exact, and the next layer converts it as it
converts any input. These layers round the result to a format of their choosing.
"""

from __future__ import annotations

from typing import Any

import torch

from elasticai.creator.arithmetic import FixedType, Overflow, Rounding
from elasticai.creator.base_modules.quantization import as_real, fake_quantize
from elasticai.creator.nn.fixed_point._base import _FixedPointLayer, parse

__all__ = ["Add", "Concatenate"]


class Add(_FixedPointLayer, torch.nn.Module):
    """``quantize(a + b)`` (``a - b`` with ``subtract=True``) into ``FixedType(total_bits,
    frac_bits)``: the exact sum, rounded once with ``rounding`` and ``overflow``.

    >>> add = Add(8, 4)
    >>> add(torch.tensor([7.5]), torch.tensor([1.0]))  # 8.5 saturates to Q8.4's maximum
    tensor([7.9375])
    """

    def __init__(
        self,
        total_bits: int,
        frac_bits: int,
        *,
        subtract: bool = False,
        rounding: Rounding | str = Rounding.HALF_EVEN,
        overflow: Overflow | str = Overflow.SATURATE,
    ) -> None:
        torch.nn.Module.__init__(self)
        self._init_format(total_bits, frac_bits, rounding, overflow)
        self.subtract = bool(subtract)

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        a, b = as_real(a), as_real(b)
        wide_a, wide_b = a.to(torch.float64), b.to(torch.float64)  # the sum exactly
        y = wide_a - wide_b if self.subtract else wide_a + wide_b
        return fake_quantize(y, self.fxp, self.rounding, self.overflow).to(a.dtype)


class Concatenate(torch.nn.Module):
    """``torch.cat(tensors, dim=1)`` (channels of maps, features of vectors), then, with
    ``total_bits`` and ``frac_bits``, rounded into that format; without, exact in the
    common format of its inputs."""

    def __init__(
        self,
        total_bits: int | None = None,
        frac_bits: int | None = None,
        *,
        rounding: Rounding | str = Rounding.HALF_EVEN,
        overflow: Overflow | str = Overflow.SATURATE,
    ) -> None:
        super().__init__()
        if (total_bits is None) != (frac_bits is None):
            raise ValueError("give both total_bits and frac_bits, or neither")
        self.fxp = None if total_bits is None else FixedType(total_bits, frac_bits)  # type: ignore[arg-type]
        self.rounding = parse(Rounding, rounding, "rounding")
        self.overflow = parse(Overflow, overflow, "overflow")

    def forward(self, *tensors: Any) -> torch.Tensor:
        if len(tensors) == 1 and isinstance(tensors[0], list | tuple):
            tensors = tuple(tensors[0])
        y = torch.cat([as_real(t) for t in tensors], dim=1)
        if self.fxp is None:
            return y
        return fake_quantize(y, self.fxp, self.rounding, self.overflow)
