"""``Linear``: ``W x + b`` on fixed-point numbers, exact inside, rounded once at the output."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from elasticai.creator.arithmetic import Overflow, Rounding
from elasticai.creator.ir.types import TensorType
from elasticai.creator.nn.fixed_point._base import (
    _FixedPointLayer,
    _Foldable,
    _grid_operands,
    parse_parallelism,
)
from elasticai.creator.nn.fixed_point._steps import Step, rounded

__all__ = ["Linear"]


class Linear(_Foldable, torch.nn.Linear):
    """``y = W x + b`` on fixed-point numbers, exact inside, rounded once at the output.

    Input and output have the format ``FixedType(total_bits, frac_bits)``; the weights
    ``FixedType(weight_total_bits, weight_frac_bits)`` and the bias
    ``FixedType(bias_total_bits, bias_frac_bits)``, by default the same. The accumulator
    is wide enough for every sum, so the only rounding is ``requantize(acc,
    frac_bits + weight_frac_bits -> frac_bits, rounding, overflow)`` (the integer
    semantics: ``ops.linear.LinearOp.interpret``, which the forward computes; see
    ``_base._Foldable.forward``).
    ``parallelism=(p_in, p_out)`` fixes the hardware: ``p_in`` inputs per clock times
    ``p_out`` outputs in parallel = ``p_in * p_out`` multipliers, a sample every
    ``ceil(in/p_in) * ceil(out/p_out)`` cycles; ``"full"`` is ``(in, out)``. Left
    ``None``, ``create_design`` decides (by default one multiply-accumulate unit).
    """

    dims = 0

    def __init__(
        self,
        in_features: int,
        out_features: int,
        total_bits: int,
        frac_bits: int,
        bias: bool = True,
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
        torch.nn.Linear.__init__(self, in_features, out_features, bias=bias, device=device)
        self._init_format(total_bits, frac_bits, rounding, overflow)
        self._init_parameter_formats(
            weight_total_bits, weight_frac_bits, bias_total_bits, bias_frac_bits
        )
        self.parallelism = parse_parallelism(parallelism, in_features, out_features)

    def steps(self, in_type: TensorType, where: str = "") -> list[Step]:
        """This layer as IR steps (see ``_steps``) for inputs of ``in_type``."""
        op = self.linear_op(self.int_weight().numpy())
        out = TensorType((*in_type.shape[:-1], self.out_features), self.output_format())
        return [Step("linear", out, op)]

    def _reduction(self) -> int:
        return self.in_features

    def _float_layer(
        self, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None
    ) -> torch.Tensor:
        return F.linear(x, weight, bias)

    def _exact(
        self, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, dtype: torch.dtype
    ) -> torch.Tensor:
        return _ExactLinear.apply(self, x, weight, bias, dtype)

    def extra_repr(self) -> str:
        return (
            f"{torch.nn.Linear.extra_repr(self)}, {_FixedPointLayer.extra_repr(self)}"
            + self._parameter_repr()
        )


class _ExactLinear(torch.autograd.Function):
    """``_Foldable._exact`` of a ``Linear`` as one autograd function, ``F.linear``'s
    backward written out (with the same masks): a Linear is small, its step mostly the
    overhead of operations, and the two autograd steps around ``F.linear`` cost the jet MLP
    of ``bench/train_speed.py`` a fifth of its training time."""

    @staticmethod
    def forward(
        ctx: torch.autograd.function.FunctionCtx,
        layer: Linear,
        x: torch.Tensor,
        weight: torch.Tensor,
        bias: torch.Tensor | None,
        dtype: torch.dtype,
    ) -> torch.Tensor:
        clip = ctx.needs_input_grad[1]  # type: ignore[attr-defined]
        xq, wq, bq, mask_in = _grid_operands(layer, x, weight, bias, clip)
        out = layer.output_format()
        y, mask_out = rounded(F.linear(xq, wq, bq), out, layer.rounding, layer.overflow, dtype)
        ctx.save_for_backward(xq, wq, mask_in, mask_out)  # type: ignore[arg-type]
        return y

    @staticmethod
    def backward(ctx: torch.autograd.function.FunctionCtx, grad: torch.Tensor):
        xq, wq, mask_in, mask_out = ctx.saved_tensors  # type: ignore[attr-defined]
        needs = ctx.needs_input_grad  # type: ignore[attr-defined]
        grad = grad * mask_out
        rows = grad.reshape(-1, grad.shape[-1])  # every leading dimension is a batch
        return (
            None,
            grad @ wq * mask_in if needs[1] else None,
            rows.t() @ xq.reshape(-1, xq.shape[-1]) if needs[2] else None,
            rows.sum(0) if needs[3] else None,
            None,
        )
