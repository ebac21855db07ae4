"""Convolutions, bit-exact in fixed point.

Maps stream channels last: a ``(channels, length)`` map of PyTorch travels as
``length`` positions of ``channels`` elements. A convolution is a ``window`` (the
sliding windows, im2col) followed by a ``linear`` applied at every position; its
forward computes exactly these integers: PyTorch's convolution of the grid values,
rounded once, where floating point holds every sum, else the integer steps (``_steps``;
see ``_base._Foldable.forward``). A batch norm right after it may be folded into it
(``batchnorm``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from elasticai.creator.arithmetic import Overflow, Rounding
from elasticai.creator.ir.types import TensorType
from elasticai.creator.nn.fixed_point import _geometry as g
from elasticai.creator.nn.fixed_point._base import (
    _FixedPointLayer,
    _Foldable,
    parse_parallelism,
)
from elasticai.creator.nn.fixed_point._steps import Step
from elasticai.creator.ops import WindowOp

__all__ = ["Conv1d", "Conv2d"]


class _ConvNd(_Foldable):
    """Shared by ``Conv1d`` and ``Conv2d``."""

    weight: torch.Tensor
    bias: torch.Tensor | None
    in_channels: int
    out_channels: int
    groups: int
    kernel_size: tuple[int, ...]
    stride: tuple[int, ...]
    padding: str | tuple[int, ...]
    dilation: tuple[int, ...]
    padding_mode: Any

    def _setup(
        self,
        total_bits: int,
        frac_bits: int,
        rounding: Any,
        overflow: Any,
        parallelism: Any,
        parameter_bits: dict[str, int | None],
    ) -> None:
        self._init_format(total_bits, frac_bits, rounding, overflow)
        self._init_parameter_formats(**parameter_bits)
        if self.padding_mode != "zeros":
            raise ValueError(f"padding_mode must be 'zeros', not {self.padding_mode!r}")
        window = self.in_channels // self.groups * math.prod(self.kernel_size)
        self.parallelism = parse_parallelism(parallelism, window * self.groups, self.out_channels)

    # IR -----------------------------------------------------------------------
    def _padding(self, size: tuple[int, int]) -> tuple[tuple[int, int], tuple[int, int]]:
        """``(top, left)`` and total padding per dimension."""
        kernel = g.pair(self.kernel_size, self.dims)
        dilation = g.pair(self.dilation, self.dims)
        if isinstance(self.padding, str):
            if self.padding == "valid":
                return (0, 0), (0, 0)
            total = tuple(dilation[d] * (kernel[d] - 1) for d in range(2))
            if self.dims == 1:
                total = (0, total[1])
            return (total[0] // 2, total[1] // 2), total  # type: ignore[return-value]
        pad = g.pad_pair(self.padding, self.dims)
        return pad, (2 * pad[0], 2 * pad[1])

    def window_params(self, in_type: TensorType, where: str = "") -> WindowOp:
        size = g.spatial(in_type, self.dims)
        first, total = self._padding(size)
        return g.window(
            in_type,
            self.dims,
            g.pair(self.kernel_size, self.dims),
            g.pair(self.stride, self.dims),
            g.pair(self.dilation, self.dims),
            first,
            total,
            0,
            where or type(self).__name__,
        )

    def dense_weight(self) -> np.ndarray:
        """Integer weights as ``(out_channels, taps * in_channels)`` in window order
        ``(kh, kw, c)``; a grouped convolution has zeros outside its groups."""
        w = self.int_weight().numpy()
        if self.dims == 1:
            w = w[:, :, None, :]
        out_c, in_g, kh, kw = w.shape
        groups, in_c = self.groups, self.in_channels
        dense = np.zeros((out_c, kh, kw, in_c), dtype=np.int64)
        per_group = out_c // groups
        for group in range(groups):
            rows = slice(group * per_group, (group + 1) * per_group)
            dense[rows, :, :, group * in_g : (group + 1) * in_g] = w[rows].transpose(0, 2, 3, 1)
        return dense.reshape(out_c, kh * kw * in_c)

    def steps(self, in_type: TensorType, where: str = "") -> list[Step]:
        if in_type.shape[-1] != self.in_channels:
            raise ValueError(
                f"{where or type(self).__name__} expects {self.in_channels} input channels, "
                f"not {in_type.shape[-1]}"
            )
        window = self.window_params(in_type, where)
        steps: list[Step] = []
        if not g.is_identity(window):
            w_type = g.map_type(window.out_size, window.window, self.dims, self.fxp)
            steps.append(Step("window", w_type, window))
        params = self.linear_op(self.dense_weight())
        out = g.map_type(window.out_size, self.out_channels, self.dims, self.output_format())
        steps.append(Step("conv", out, params))
        return steps

    def _reduction(self) -> int:
        return self.in_channels // self.groups * math.prod(self.kernel_size)

    def _float_layer(
        self, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None
    ) -> torch.Tensor:
        return self._conv_forward(x, weight, bias)  # type: ignore[operator]

    def extra_repr(self) -> str:
        return (
            f"{self._conv_repr()}, {_FixedPointLayer.extra_repr(self)}"  # type: ignore[operator]
            + self._parameter_repr()
        )


class Conv1d(_ConvNd, torch.nn.Conv1d):
    """``torch.nn.Conv1d`` in fixed point: input and output of one format, weights and bias
    of theirs (``weight_total_bits`` ..., by default the same), exact sums, one rounding at
    the output (as ``Linear``).

    Stride, zero padding (an int, ``"valid"`` or ``"same"``), dilation, groups (depthwise:
    ``groups=in_channels``) and bias as in PyTorch. ``parallelism=(p_in, p_out)``: window
    elements per clock times output channels in parallel; ``"full"`` a whole window and
    every output channel per clock (one position per clock).
    """

    dims = 1

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        total_bits: int,
        frac_bits: int,
        stride: int = 1,
        padding: int | str = 0,
        dilation: int = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: Any = "zeros",
        device: Any = None,
        *,
        weight_total_bits: int | None = None,
        weight_frac_bits: int | None = None,
        bias_total_bits: int | None = None,
        bias_frac_bits: int | None = None,
        rounding: Rounding | str = Rounding.HALF_EVEN,
        overflow: Overflow | str = Overflow.SATURATE,
        parallelism: tuple[int, int] | str | None = None,
    ) -> None:
        torch.nn.Conv1d.__init__(
            self,
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            groups,
            bias,
            padding_mode,
            device,
        )
        self._setup(
            total_bits,
            frac_bits,
            rounding,
            overflow,
            parallelism,
            {
                "weight_total_bits": weight_total_bits,
                "weight_frac_bits": weight_frac_bits,
                "bias_total_bits": bias_total_bits,
                "bias_frac_bits": bias_frac_bits,
            },
        )

    def _conv_repr(self) -> str:
        return torch.nn.Conv1d.extra_repr(self)


class Conv2d(_ConvNd, torch.nn.Conv2d):
    """``torch.nn.Conv2d`` in fixed point; see ``Conv1d``."""

    dims = 2

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        total_bits: int,
        frac_bits: int,
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] | str = 0,
        dilation: int | tuple[int, int] = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: Any = "zeros",
        device: Any = None,
        *,
        weight_total_bits: int | None = None,
        weight_frac_bits: int | None = None,
        bias_total_bits: int | None = None,
        bias_frac_bits: int | None = None,
        rounding: Rounding | str = Rounding.HALF_EVEN,
        overflow: Overflow | str = Overflow.SATURATE,
        parallelism: tuple[int, int] | str | None = None,
    ) -> None:
        torch.nn.Conv2d.__init__(
            self,
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            groups,
            bias,
            padding_mode,
            device,
        )
        self._setup(
            total_bits,
            frac_bits,
            rounding,
            overflow,
            parallelism,
            {
                "weight_total_bits": weight_total_bits,
                "weight_frac_bits": weight_frac_bits,
                "bias_total_bits": bias_total_bits,
                "bias_frac_bits": bias_frac_bits,
            },
        )

    def _conv_repr(self) -> str:
        return torch.nn.Conv2d.extra_repr(self)
