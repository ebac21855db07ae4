"""Pooling in fixed point: maximum and average over windows, and global average pooling.

Pooling is a ``window`` followed by a ``reduce`` (the maximum, or the sum then a
constant scale for the average). A pooling layer without a format computes in the
format of what it reads; its forward computes exactly the integers of these steps:
PyTorch's pooling of the input's integers (the average's exact sums scaled by
``arithmetic.affine_clamp``, as the ``avg_pool`` step), or the steps themselves where
floating point does not hold the sums.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

from elasticai.creator.arithmetic import (
    INT64_SAFE_BITS,
    FixedType,
    Overflow,
    Rounding,
    affine_clamp,
)
from elasticai.creator.base_modules.quantization import as_real, significand_bits, to_grid
from elasticai.creator.ir.types import TensorType
from elasticai.creator.nn.fixed_point import _geometry as g
from elasticai.creator.nn.fixed_point._base import _StepLayer, parse
from elasticai.creator.nn.fixed_point._steps import Step, exact_with_surrogate
from elasticai.creator.ops import PointwiseOp, ReduceOp, WindowOp

__all__ = [
    "MaxPool1d",
    "MaxPool2d",
    "AvgPool1d",
    "AvgPool2d",
    "AdaptiveAvgPool1d",
    "AdaptiveAvgPool2d",
    "avg_pool_constants",
]


def avg_pool_constants(taps: int, sum_bits: int) -> tuple[int, int]:
    """``(R, S)`` of an average over ``taps`` values whose sum has ``sum_bits`` bits:
    ``mean = shift_round(sum * R, S)`` with ``R = round(2**S / taps)``.

    A power of two ``taps = 2**k`` gives ``(1, k)``, the exact mean rounded once.
    Otherwise ``S = sum_bits + bit_length(taps) + 1``: ``R`` is within 1/2 of
    ``2**S / taps``, so ``sum * R / 2**S`` is within ``2**-(bit_length(taps) + 3)`` LSB
    of the true mean before the one rounding; the result is the correctly rounded mean
    except where the mean lies that close to a rounding tie (then at most 1 LSB off).

    >>> avg_pool_constants(4, 10)
    (1, 2)
    >>> avg_pool_constants(3, 10)
    (2731, 13)
    """
    if taps & (taps - 1) == 0:
        return 1, taps.bit_length() - 1
    shift = sum_bits + taps.bit_length() + 1
    return ((1 << shift) + taps // 2) // taps, shift


class _Pool(_StepLayer, torch.nn.Module):
    """Pooling in the format of its input (or, with ``total_bits``/``frac_bits``, converted
    to that format first)."""

    kind = "max"

    def _setup(
        self, total_bits: int | None, frac_bits: int | None, rounding: Any, overflow: Any
    ) -> None:
        self.rounding = parse(Rounding, rounding, "rounding")
        self.overflow = parse(Overflow, overflow, "overflow")
        if (total_bits is None) != (frac_bits is None):
            raise ValueError("give both total_bits and frac_bits, or neither")
        self.fxp = None if total_bits is None else FixedType(total_bits, frac_bits)  # type: ignore[arg-type]

    def _geometry(
        self,
    ) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int], tuple[int, int]]:
        """kernel, stride, dilation, padding (``(1, k)``-style pairs)."""
        raise NotImplementedError

    def steps(self, in_type: TensorType, where: str = "") -> list[Step]:
        kernel, stride, dilation, padding = self._geometry()
        t = in_type.dtype
        pad_value = t.min_int if self.kind == "max" else 0
        total = (2 * padding[0], 2 * padding[1])
        window = g.window(
            in_type, self.dims, kernel, stride, dilation, padding, total, pad_value, where
        )
        return _pool_steps(window, in_type, self.dims, self.kind, self.rounding, self.overflow)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = as_real(x)
        if self.fxp is None and "_inherited_format" not in self.__dict__:
            # no format yet (a model other than a Sequential, not translated yet): PyTorch's
            # pooling -- exact for the maximum, the real mean for the average (translating
            # the model gives the layer its input's format and the exact rounded mean)
            return self._float_pool(x)  # type: ignore[operator]
        fxp = self.input_format()
        self._check_rank(x)
        y = self._pooled_integers(x, fxp)
        if y is None:
            return self._run(x, fxp, self.rounding, self.overflow)
        return exact_with_surrogate(y, fxp, x, lambda: self._surrogate(x))

    def _pooled_integers(self, x: torch.Tensor, fxp: FixedType) -> torch.Tensor | None:
        """The integers of the steps, from PyTorch's pooling of the input's integers: their
        maximum, or their exact sums (where floating point holds them) scaled as the
        ``avg_pool`` step says (``arithmetic.affine_clamp``); ``None``: run the steps."""
        if self.kind == "max":
            return self._float_pool(to_grid(x, fxp, self.rounding, self.overflow))  # type: ignore[operator]
        taps = self._taps(x)
        sum_bits = fxp.total_bits + (taps - 1).bit_length()
        mul, shift = avg_pool_constants(taps, sum_bits)
        if sum_bits > 53 or sum_bits + mul.bit_length() + 2 > INT64_SAFE_BITS:
            return None
        if sum_bits > significand_bits(x.dtype):
            x = x.to(torch.float64)
        sums = self._sums(to_grid(x, fxp, self.rounding, self.overflow)).to(torch.int64)
        low, high = fxp.min_int, fxp.max_int
        return affine_clamp(sums, mul, 0, shift, self.rounding, low, high, fxp, self.overflow)

    def _taps(self, x: torch.Tensor) -> int:
        """Inputs averaged for each output."""
        raise NotImplementedError

    def _sums(self, q: torch.Tensor) -> torch.Tensor:
        """The sum over every window of ``q`` (PyTorch's average pooling without dividing)."""
        raise NotImplementedError

    def input_format(self) -> FixedType:
        """Its own format, or the one of the layer before it (set by ``Sequential`` on
        construction, by ``create_design`` in any other model)."""
        fxp = self.fxp or self.__dict__.get("_inherited_format")
        if fxp is None:
            raise ValueError(
                f"{type(self).__name__} without total_bits and frac_bits takes the format of "
                "the layer before it, which it learns inside a Sequential or when the model is "
                "translated (create_design); give them, or translate the model first"
            )
        return fxp

    def inherit_format(self, fxp: FixedType) -> None:
        """Take ``fxp``, the format of what it reads, as its own (a pooling layer without a
        format, translated in a model other than a ``Sequential``)."""
        self.__dict__["_inherited_format"] = fxp

    def _surrogate(self, x: torch.Tensor) -> torch.Tensor:
        return self._float_pool(x)  # type: ignore[operator]


def _pool_steps(
    window: WindowOp | None,
    in_type: TensorType,
    dims: int,
    kind: str,
    rounding: Rounding,
    overflow: Overflow,
    taps: int = 0,
    out_size: tuple[int, int] = (1, 1),
) -> list[Step]:
    t = in_type.dtype
    channels = in_type.shape[-1]
    steps: list[Step] = []
    if window is not None:
        taps, out_size = window.taps, window.out_size
        if not g.reads_in_order(window):  # else the reduce reads the map as it streams
            steps.append(Step("window", g.map_type(out_size, window.window, dims, t), window))
    if kind == "max":
        out = g.map_type(out_size, channels, dims, t)
        return [*steps, Step("max_pool", out, ReduceOp("max", channels, taps))]
    sum_type = FixedType(t.total_bits + (taps - 1).bit_length(), t.frac_bits)
    steps.append(
        Step(
            "sum",
            g.map_type(out_size, channels, dims, sum_type),
            ReduceOp("sum", channels, taps),
        )
    )
    mul, shift = avg_pool_constants(taps, sum_type.total_bits)
    scale = PointwiseOp("avg_pool", mul, 0, shift, t.min_int, t.max_int, rounding, overflow)
    steps.append(Step("avg_pool", g.map_type(out_size, channels, dims, t), scale))
    return steps


class _WindowPool(_Pool):
    def _taps(self, x: torch.Tensor) -> int:
        kernel = self._geometry()[0]
        return kernel[0] * kernel[1]

    def _sums(self, q: torch.Tensor) -> torch.Tensor:
        kernel, stride, _, padding = self._geometry()
        maps = q.unsqueeze(-2) if self.dims == 1 else q  # 1-D: height 1
        sums = F.avg_pool2d(maps, kernel, stride, padding, divisor_override=1)
        return sums.squeeze(-2) if self.dims == 1 else sums

    def _geometry(
        self,
    ) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int], tuple[int, int]]:
        d = self.dims
        stride = self.stride if self.stride is not None else self.kernel_size
        return (
            g.pair(self.kernel_size, d),
            g.pair(stride, d),
            g.pair(getattr(self, "dilation", 1), d),
            g.pad_pair(self.padding, d),
        )

    def _check(self) -> None:
        if getattr(self, "ceil_mode", False):
            raise ValueError("ceil_mode=True is not supported; use ceil_mode=False")
        if not getattr(self, "count_include_pad", True):
            raise ValueError(
                "count_include_pad=False is not supported; the average divides by the kernel size"
            )
        if getattr(self, "divisor_override", None) is not None:
            raise ValueError("divisor_override is not supported")
        if getattr(self, "return_indices", False):
            raise ValueError("return_indices=True is not supported")


class MaxPool1d(_WindowPool, torch.nn.MaxPool1d):
    """``torch.nn.MaxPool1d``, exact on fixed-point inputs (padding counts as the minimum)."""

    dims = 1
    kind = "max"

    def __init__(
        self,
        kernel_size: int,
        stride: int | None = None,
        padding: int = 0,
        dilation: int = 1,
        return_indices: bool = False,
        ceil_mode: bool = False,
        *,
        total_bits: int | None = None,
        frac_bits: int | None = None,
        rounding: Rounding | str = Rounding.HALF_EVEN,
        overflow: Overflow | str = Overflow.SATURATE,
    ) -> None:
        torch.nn.MaxPool1d.__init__(
            self, kernel_size, stride, padding, dilation, return_indices, ceil_mode
        )
        self._setup(total_bits, frac_bits, rounding, overflow)
        self._check()

    def _float_pool(self, x: torch.Tensor) -> torch.Tensor:
        return torch.nn.MaxPool1d.forward(self, x)


class MaxPool2d(_WindowPool, torch.nn.MaxPool2d):
    """``torch.nn.MaxPool2d``, exact on fixed-point inputs (padding counts as the minimum)."""

    dims = 2
    kind = "max"

    def __init__(
        self,
        kernel_size: Any,
        stride: Any = None,
        padding: Any = 0,
        dilation: Any = 1,
        return_indices: bool = False,
        ceil_mode: bool = False,
        *,
        total_bits: int | None = None,
        frac_bits: int | None = None,
        rounding: Rounding | str = Rounding.HALF_EVEN,
        overflow: Overflow | str = Overflow.SATURATE,
    ) -> None:
        torch.nn.MaxPool2d.__init__(
            self, kernel_size, stride, padding, dilation, return_indices, ceil_mode
        )
        self._setup(total_bits, frac_bits, rounding, overflow)
        self._check()

    def _float_pool(self, x: torch.Tensor) -> torch.Tensor:
        return torch.nn.MaxPool2d.forward(self, x)


class AvgPool1d(_WindowPool, torch.nn.AvgPool1d):
    """``torch.nn.AvgPool1d`` in fixed point: ``shift_round(sum * R, S)`` with the constants
    of ``avg_pool_constants`` (exact mean, rounded once, for power-of-two kernels); zero
    padding counts towards the kernel size."""

    dims = 1
    kind = "avg"

    def __init__(
        self,
        kernel_size: int,
        stride: int | None = None,
        padding: int = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
        *,
        total_bits: int | None = None,
        frac_bits: int | None = None,
        rounding: Rounding | str = Rounding.HALF_EVEN,
        overflow: Overflow | str = Overflow.SATURATE,
    ) -> None:
        torch.nn.AvgPool1d.__init__(
            self,
            kernel_size,
            stride,  # type: ignore[arg-type]  # None: the kernel size, as in PyTorch
            padding,
            ceil_mode,
            count_include_pad,
        )
        self._setup(total_bits, frac_bits, rounding, overflow)
        self._check()

    def _float_pool(self, x: torch.Tensor) -> torch.Tensor:
        return torch.nn.AvgPool1d.forward(self, x)


class AvgPool2d(_WindowPool, torch.nn.AvgPool2d):
    """``torch.nn.AvgPool2d`` in fixed point; see ``AvgPool1d``."""

    dims = 2
    kind = "avg"

    def __init__(
        self,
        kernel_size: Any,
        stride: Any = None,
        padding: Any = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
        divisor_override: int | None = None,
        *,
        total_bits: int | None = None,
        frac_bits: int | None = None,
        rounding: Rounding | str = Rounding.HALF_EVEN,
        overflow: Overflow | str = Overflow.SATURATE,
    ) -> None:
        torch.nn.AvgPool2d.__init__(
            self, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override
        )
        self._setup(total_bits, frac_bits, rounding, overflow)
        self._check()

    def _float_pool(self, x: torch.Tensor) -> torch.Tensor:
        return torch.nn.AvgPool2d.forward(self, x)


class _GlobalAvgPool(_Pool):
    kind = "avg"

    def _check_output(self) -> None:
        size = self.output_size
        sizes = size if isinstance(size, tuple | list) else (size,) * self.dims
        if any(s != 1 for s in sizes):
            raise ValueError(
                f"only global average pooling (output_size=1) is supported, not {size!r}"
            )

    def _taps(self, x: torch.Tensor) -> int:
        return math.prod(x.shape[2:])

    def _sums(self, q: torch.Tensor) -> torch.Tensor:
        return q.sum(dim=tuple(range(2, q.dim())), keepdim=True)

    def steps(self, in_type: TensorType, where: str = "") -> list[Step]:
        taps = in_type.size // in_type.shape[-1]
        return _pool_steps(None, in_type, self.dims, "avg", self.rounding, self.overflow, taps)


class AdaptiveAvgPool1d(_GlobalAvgPool, torch.nn.AdaptiveAvgPool1d):
    """Global average pooling (``output_size=1``) over the length, as ``AvgPool1d``."""

    dims = 1

    def __init__(
        self,
        output_size: int = 1,
        *,
        total_bits: int | None = None,
        frac_bits: int | None = None,
        rounding: Rounding | str = Rounding.HALF_EVEN,
        overflow: Overflow | str = Overflow.SATURATE,
    ) -> None:
        torch.nn.AdaptiveAvgPool1d.__init__(self, output_size)
        self._setup(total_bits, frac_bits, rounding, overflow)
        self._check_output()

    def _float_pool(self, x: torch.Tensor) -> torch.Tensor:
        return torch.nn.AdaptiveAvgPool1d.forward(self, x)


class AdaptiveAvgPool2d(_GlobalAvgPool, torch.nn.AdaptiveAvgPool2d):
    """Global average pooling (``output_size=1``) over height and width, as ``AvgPool2d``."""

    dims = 2

    def __init__(
        self,
        output_size: Any = 1,
        *,
        total_bits: int | None = None,
        frac_bits: int | None = None,
        rounding: Rounding | str = Rounding.HALF_EVEN,
        overflow: Overflow | str = Overflow.SATURATE,
    ) -> None:
        torch.nn.AdaptiveAvgPool2d.__init__(self, output_size)
        self._setup(total_bits, frac_bits, rounding, overflow)
        self._check_output()

    def _float_pool(self, x: torch.Tensor) -> torch.Tensor:
        return torch.nn.AdaptiveAvgPool2d.forward(self, x)
