"""Batch normalisation in fixed point, on its own or folded into the layer before it.

``BatchNorm1d``/``BatchNorm2d`` directly after a ``Conv1d``/``Conv2d``/``Linear`` whose
output nothing else reads is folded into it (``link_batch_norm``: by ``Sequential`` on
construction, in any other model when it is translated): in ``eval()`` that layer
computes with the folded, then quantized, weights ``w * gamma / sqrt(var + eps)`` and
bias ``(b - mean) * gamma / sqrt(var + eps) + beta`` and rounds to the batch norm's
format, and the batch norm passes its input on. Training uses batch statistics as usual.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from elasticai.creator.arithmetic import Overflow, Rounding
from elasticai.creator.base_modules.quantization import as_real, fake_quantize, to_int
from elasticai.creator.ir.types import TensorType, frozen_array
from elasticai.creator.nn.fixed_point._base import _FixedPointLayer, _Foldable, _StepLayer
from elasticai.creator.nn.fixed_point._steps import Step
from elasticai.creator.ops import LinearOp

__all__ = ["BatchNorm1d", "BatchNorm2d", "link_batch_norm", "fold", "bn_scale"]


def fold(layer: Any, bn: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """Float weight and bias of ``layer`` with ``bn`` (running statistics) folded in."""
    scale = bn_scale(bn)
    shape = (-1,) + (1,) * (layer.weight.dim() - 1)
    weight = layer.weight.detach() * scale.reshape(shape)
    bias = layer.bias.detach() if layer.bias is not None else torch.zeros_like(scale)
    shift = bn.bias.detach() if bn.bias is not None else torch.zeros_like(scale)
    return weight, (bias - bn.running_mean) * scale + shift


def bn_scale(bn: Any) -> torch.Tensor:
    """``gamma / sqrt(running_var + eps)`` of a batch norm."""
    gamma = bn.weight.detach() if bn.weight is not None else torch.ones_like(bn.running_var)
    return gamma / torch.sqrt(bn.running_var + bn.eps)


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
        """Whether the layer before it computes it (``link_batch_norm``)."""
        return bool(self.__dict__.get("_folded", False))

    def steps(self, in_type: TensorType, where: str = "") -> list[Step]:
        channels = in_type.shape[-1]
        if channels != self.num_features:
            raise ValueError(
                f"{where or type(self).__name__} expects {self.num_features} channels, "
                f"not {channels}"
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
        x = as_real(x)
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
        self.dims = max(0, x.dim() - 2)  # (batch, features): vectors
        return self._run(x, self.fxp, self.rounding, self.overflow)

    def extra_repr(self) -> str:
        norm = torch.nn.modules.batchnorm._NormBase.extra_repr(self)  # type: ignore[arg-type]
        return f"{norm}, {_FixedPointLayer.extra_repr(self)}"


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
