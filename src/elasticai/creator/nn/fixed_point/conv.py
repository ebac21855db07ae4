"""Convolutions, batch normalisation, pooling and reshaping, bit-exact in fixed point.

Maps stream channels last: a ``(channels, length)`` map of PyTorch travels as
``length`` positions of ``channels`` elements. A convolution is a ``window`` (the
sliding windows, im2col) followed by a ``linear`` applied at every position; pooling
is a ``window`` followed by a ``reduce`` (max, or sum then a constant scale for the
average). Each layer's forward runs exactly these integer steps (``_steps``).

``BatchNorm1d``/``BatchNorm2d`` directly after a ``Conv1d``/``Conv2d``/``Linear`` in a
``Sequential`` is folded into it: in ``eval()`` that layer computes with the folded,
then quantized, weights ``w * gamma / sqrt(var + eps)`` and bias
``(b - mean) * gamma / sqrt(var + eps) + beta`` and rounds to the batch norm's format,
and the batch norm passes its input on. Training uses batch statistics as usual.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from elasticai.creator.arithmetic import FixedType, Overflow, Rounding
from elasticai.creator.base_modules.quantization import fake_quantize, to_int
from elasticai.creator.ir.types import TensorType, frozen_array
from elasticai.creator.nn.fixed_point._steps import (
    Step,
    channels_first,
    channels_last,
    exact_with_surrogate,
    run_steps,
)
from elasticai.creator.nn.fixed_point.layers import (
    _FixedPointLayer,
    _Foldable,
    _parse,
    _parse_parallelism,
    bn_scale,
)
from elasticai.creator.ops import LinearOp, PointwiseOp, ReduceOp, WindowOp

__all__ = [
    "Conv1d",
    "Conv2d",
    "BatchNorm1d",
    "BatchNorm2d",
    "MaxPool1d",
    "MaxPool2d",
    "AvgPool1d",
    "AvgPool2d",
    "AdaptiveAvgPool1d",
    "AdaptiveAvgPool2d",
    "Flatten",
    "Dropout",
    "avg_pool_constants",
]


def _pair(value: Any, dims: int) -> tuple[int, int]:
    """A 1-D size ``k`` as ``(1, k)``; a 2-D one as ``(h, w)``."""
    if dims == 1:
        v = value[0] if isinstance(value, tuple | list) else value
        return (1, int(v))
    if isinstance(value, tuple | list):
        return (int(value[0]), int(value[1]))
    return (int(value), int(value))


def _pad_pair(value: Any, dims: int) -> tuple[int, int]:
    """Padding: a 1-D ``p`` as ``(0, p)`` (no padding in the unit height)."""
    if dims == 1:
        return (0, _pair(value, 1)[1])
    return _pair(value, 2)


def _out_size(
    size: tuple[int, int],
    kernel: tuple[int, int],
    stride: tuple[int, int],
    dilation: tuple[int, int],
    padding: tuple[int, int],
    total_padding: tuple[int, int],
) -> tuple[int, int]:
    return tuple(  # type: ignore[return-value]
        (size[d] + total_padding[d] - dilation[d] * (kernel[d] - 1) - 1) // stride[d] + 1
        for d in range(2)
    )


def _spatial(in_type: TensorType, dims: int) -> tuple[int, int]:
    shape = in_type.shape
    return (1, shape[0]) if dims == 1 else (shape[0], shape[1])


def _map_type(size: tuple[int, int], channels: int, dims: int, fxp: FixedType) -> TensorType:
    shape = (size[1], channels) if dims == 1 else (size[0], size[1], channels)
    return TensorType(shape, fxp)


def _window(
    in_type: TensorType,
    dims: int,
    kernel: tuple[int, int],
    stride: tuple[int, int],
    dilation: tuple[int, int],
    padding: tuple[int, int],
    total_padding: tuple[int, int],
    pad_value: int,
    where: str,
) -> WindowOp:
    size = _spatial(in_type, dims)
    out = _out_size(size, kernel, stride, dilation, padding, total_padding)
    if min(out) < 1:

        def show(pair: tuple[int, int]) -> str:
            return "x".join(str(v) for v in pair[2 - dims :])

        raise ValueError(
            f"{where}: a kernel of {show(kernel)} (dilation {show(dilation)}) does not fit "
            f"an input of {show(size)} with padding {show(padding)}"
        )
    return WindowOp(
        channels=in_type.shape[-1],
        in_size=size,
        out_size=out,
        kernel=kernel,
        stride=stride,
        dilation=dilation,
        padding=padding,
        pad_value=pad_value,
    )


def _is_identity(w: WindowOp) -> bool:
    return (
        w.kernel == (1, 1)
        and w.stride == (1, 1)
        and w.padding == (0, 0)
        and w.in_size == w.out_size
    )


class _StepLayer:
    """Mixin: a layer whose forward runs its ``steps`` on channels-last integers."""

    dims: int

    def _input_format(self, x: torch.Tensor) -> FixedType:
        raise NotImplementedError

    def steps(self, in_type: TensorType, where: str = "") -> list[Step]:
        raise NotImplementedError

    def _surrogate(self, x: torch.Tensor) -> torch.Tensor | None:
        return None

    def _run(
        self, x: torch.Tensor, fxp: FixedType, rounding: Rounding, overflow: Overflow
    ) -> torch.Tensor:
        if x.dim() != self.dims + 2:
            raise ValueError(
                f"{type(self).__name__} takes (batch, channels, {'length' if self.dims == 1 else 'height, width'}), "
                f"not a tensor of shape {tuple(x.shape)}"
            )
        q = to_int(x, fxp, rounding, overflow)
        shape = tuple(x.shape[2:]) + (x.shape[1],)
        in_type = TensorType(shape, fxp)
        steps = self.steps(in_type, type(self).__name__)
        out_type = steps[-1].output_type if steps else in_type
        y = run_steps(channels_last(q), in_type, steps)
        torch_shape = (out_type.shape[-1], *out_type.shape[:-1])
        result = channels_first(y, torch_shape)
        return exact_with_surrogate(result, out_type.dtype, x, lambda: self._surrogate(x))


class _ConvNd(_StepLayer, _Foldable):
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
        self, total_bits: int, frac_bits: int, rounding: Any, overflow: Any, parallelism: Any
    ) -> None:
        self._init_format(total_bits, frac_bits, rounding, overflow)
        if self.padding_mode != "zeros":
            raise ValueError(f"padding_mode must be 'zeros', not {self.padding_mode!r}")
        window = self.in_channels // self.groups * math.prod(self.kernel_size)
        self.parallelism = _parse_parallelism(parallelism, window * self.groups, self.out_channels)

    # IR -----------------------------------------------------------------------
    def _padding(self, size: tuple[int, int]) -> tuple[tuple[int, int], tuple[int, int]]:
        """``(top, left)`` and total padding per dimension."""
        kernel = _pair(self.kernel_size, self.dims)
        dilation = _pair(self.dilation, self.dims)
        if isinstance(self.padding, str):
            if self.padding == "valid":
                return (0, 0), (0, 0)
            total = tuple(dilation[d] * (kernel[d] - 1) for d in range(2))
            if self.dims == 1:
                total = (0, total[1])
            return (total[0] // 2, total[1] // 2), total  # type: ignore[return-value]
        pad = _pad_pair(self.padding, self.dims)
        return pad, (2 * pad[0], 2 * pad[1])

    def window_params(self, in_type: TensorType, where: str = "") -> WindowOp:
        size = _spatial(in_type, self.dims)
        first, total = self._padding(size)
        return _window(
            in_type,
            self.dims,
            _pair(self.kernel_size, self.dims),
            _pair(self.stride, self.dims),
            _pair(self.dilation, self.dims),
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
        for g in range(groups):
            rows = slice(g * per_group, (g + 1) * per_group)
            dense[rows, :, :, g * in_g : (g + 1) * in_g] = w[rows].transpose(0, 2, 3, 1)
        return dense.reshape(out_c, kh * kw * in_c)

    def steps(self, in_type: TensorType, where: str = "") -> list[Step]:
        if in_type.shape[-1] != self.in_channels:
            raise ValueError(
                f"{where or type(self).__name__} expects {self.in_channels} input channels, "
                f"not {in_type.shape[-1]}"
            )
        window = self.window_params(in_type, where)
        steps: list[Step] = []
        if not _is_identity(window):
            w_type = _map_type(window.out_size, window.window, self.dims, self.fxp)
            steps.append(Step("window", w_type, window))
        params = self.linear_params(self.dense_weight())
        out = _map_type(window.out_size, self.out_channels, self.dims, self.output_format())
        steps.append(Step("conv", out, params))
        return steps

    def _surrogate(self, x: torch.Tensor) -> torch.Tensor:
        xq = fake_quantize(x, self.fxp, self.rounding, self.overflow)
        wq = fake_quantize(self.weight, self.fxp)
        bq = None if self.bias is None else fake_quantize(self.bias, self.fxp)
        return self._conv_forward(xq, wq, bq)  # type: ignore[operator]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._run(x, self.fxp, self.rounding, self.overflow)

    def extra_repr(self) -> str:
        return f"{self._conv_repr()}, {_FixedPointLayer.extra_repr(self)}"  # type: ignore[operator]


class Conv1d(_ConvNd, torch.nn.Conv1d):
    """``torch.nn.Conv1d`` in fixed point: input, weights, bias and output of one format,
    exact sums, one rounding at the output (as ``Linear``).

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
        self._setup(total_bits, frac_bits, rounding, overflow, parallelism)

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
        self._setup(total_bits, frac_bits, rounding, overflow, parallelism)

    def _conv_repr(self) -> str:
        return torch.nn.Conv2d.extra_repr(self)


class _BatchNorm(_StepLayer, _FixedPointLayer):
    weight: Any
    bias: Any
    running_mean: Any
    running_var: Any
    num_features: int
    eps: float
    momentum: float | None

    """Shared by ``BatchNorm1d`` and ``BatchNorm2d``: trained in floating point with batch
    statistics, then quantized to ``FixedType(total_bits, frac_bits)``. In ``eval()``:
    folded into the layer before it (see the module), or on its own a per-channel
    ``y = requantize(x * q(s) + q(beta - mean * s))``, ``s = gamma / sqrt(var + eps)``."""

    def _setup(self, total_bits: int, frac_bits: int, rounding: Any, overflow: Any) -> None:
        self._init_format(total_bits, frac_bits, rounding, overflow)

    @property
    def folded(self) -> bool:
        """Whether the layer before it computes it (set by ``Sequential``)."""
        return bool(self.__dict__.get("_folded", False))

    def steps(self, in_type: TensorType, where: str = "") -> list[Step]:
        channels = in_type.shape[-1]
        if channels != self.num_features:
            raise ValueError(
                f"{where or type(self).__name__} expects {self.num_features} channels, not {channels}"
            )
        scale = bn_scale(self)
        shift = (self.bias.detach() if self.bias is not None else torch.zeros_like(scale)) - (
            self.running_mean * scale
        )
        params = LinearOp(
            weight=frozen_array(np.diag(to_int(scale, self.fxp).numpy())),
            bias=frozen_array(to_int(shift, self.fxp).numpy()),
            w_type=self.fxp,
            b_type=self.fxp,
            rounding=self.rounding,
            overflow=self.overflow,
        )
        return [Step("batch_norm", TensorType(in_type.shape, self.fxp), params)]

    def _surrogate(self, x: torch.Tensor) -> torch.Tensor:
        """The float batch norm with the running statistics (the gradient in ``eval()``)."""
        return F.batch_norm(
            x, self.running_mean, self.running_var, self.weight, self.bias, False, 0.0, self.eps
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            y = F.batch_norm(
                x,
                self.running_mean,
                self.running_var,
                self.weight,
                self.bias,
                True,
                self.momentum if self.momentum is not None else 0.0,
                self.eps,
            )
            return fake_quantize(y, self.fxp, self.rounding, self.overflow)
        if self.folded:
            return x
        self.dims = x.dim() - 2
        if x.dim() == 2:
            q = to_int(x, self.fxp, self.rounding, self.overflow)
            in_type = TensorType((x.shape[1],), self.fxp)
            y_int = run_steps(q.numpy(), in_type, self.steps(in_type))
            return exact_with_surrogate(
                torch.from_numpy(y_int), self.fxp, x, lambda: self._surrogate(x)
            )
        return self._run(x, self.fxp, self.rounding, self.overflow)

    def extra_repr(self) -> str:
        return f"{torch.nn.modules.batchnorm._NormBase.extra_repr(self)}, {_FixedPointLayer.extra_repr(self)}"  # type: ignore[arg-type]


class BatchNorm1d(_BatchNorm, torch.nn.BatchNorm1d):
    """``torch.nn.BatchNorm1d`` whose output is quantized to ``FixedType(total_bits, frac_bits)``."""

    def __init__(
        self,
        num_features: int,
        total_bits: int,
        frac_bits: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        *,
        rounding: Rounding | str = Rounding.HALF_EVEN,
        overflow: Overflow | str = Overflow.SATURATE,
    ) -> None:
        torch.nn.BatchNorm1d.__init__(self, num_features, eps, momentum, affine)
        self._setup(total_bits, frac_bits, rounding, overflow)


class BatchNorm2d(_BatchNorm, torch.nn.BatchNorm2d):
    """``torch.nn.BatchNorm2d`` whose output is quantized to ``FixedType(total_bits, frac_bits)``."""

    def __init__(
        self,
        num_features: int,
        total_bits: int,
        frac_bits: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        *,
        rounding: Rounding | str = Rounding.HALF_EVEN,
        overflow: Overflow | str = Overflow.SATURATE,
    ) -> None:
        torch.nn.BatchNorm2d.__init__(self, num_features, eps, momentum, affine)
        self._setup(total_bits, frac_bits, rounding, overflow)


def link_batch_norm(layer: torch.nn.Module, bn: torch.nn.Module) -> bool:
    """Fold ``bn`` into ``layer`` (both fixed point, channels matching); whether it did."""
    channels = getattr(layer, "out_channels", getattr(layer, "out_features", None))
    if not isinstance(layer, _Foldable) or not isinstance(bn, _BatchNorm):
        return False
    if channels != bn.num_features:
        return False
    layer.__dict__["_folded_batch_norm"] = bn
    bn.__dict__["_folded"] = True
    return True


# --- pooling --------------------------------------------------------------------------


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
        self.rounding = _parse(Rounding, rounding, "rounding")
        self.overflow = _parse(Overflow, overflow, "overflow")
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
        window = _window(
            in_type, self.dims, kernel, stride, dilation, padding, total, pad_value, where
        )
        return _pool_steps(window, in_type, self.dims, self.kind, self.rounding, self.overflow)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.kind == "max" and self.fxp is None and "_inherited_format" not in self.__dict__:
            return self._float_pool(x)  # type: ignore[operator]  # exact on any grid
        return self._run(x, self.input_format(), self.rounding, self.overflow)

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
        if not _is_identity(window):
            steps.append(Step("window", _map_type(out_size, window.window, dims, t), window))
    if kind == "max":
        out = _map_type(out_size, channels, dims, t)
        return [*steps, Step("max_pool", out, ReduceOp("max", channels, taps))]
    sum_type = FixedType(t.total_bits + (taps - 1).bit_length(), t.frac_bits)
    steps.append(
        Step(
            "sum",
            _map_type(out_size, channels, dims, sum_type),
            ReduceOp("sum", channels, taps),
        )
    )
    mul, shift = avg_pool_constants(taps, sum_type.total_bits)
    scale = PointwiseOp("avg_pool", mul, 0, shift, t.min_int, t.max_int, rounding, overflow)
    steps.append(Step("avg_pool", _map_type(out_size, channels, dims, t), scale))
    return steps


class _WindowPool(_Pool):
    def _geometry(
        self,
    ) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int], tuple[int, int]]:
        d = self.dims
        stride = self.stride if self.stride is not None else self.kernel_size
        return (
            _pair(self.kernel_size, d),
            _pair(stride, d),
            _pair(getattr(self, "dilation", 1), d),
            _pad_pair(self.padding, d),
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


class Flatten(torch.nn.Flatten):
    """``torch.nn.Flatten`` (``start_dim=1``): in hardware only the order of the stream
    changes, which the next ``Linear``'s weights absorb."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        if start_dim != 1 or end_dim != -1:
            raise ValueError(
                f"only Flatten(start_dim=1, end_dim=-1) is supported, not ({start_dim}, {end_dim})"
            )
        super().__init__(start_dim, end_dim)


class Dropout(torch.nn.Dropout):
    """``torch.nn.Dropout``: active in training, the identity in hardware."""
