"""What the fixed-point layers share: formats, their parsing, running IR steps, folding.

A layer's format ``FixedType(total_bits, frac_bits)`` is the one of its input and its
output; its forward first converts its input to it (rounding and overflow as the layer
says), then computes exactly on integers, then rounds the result to the output format.
Layers with weights (``_Foldable``: ``Linear``, ``Conv1d``, ``Conv2d``) may give their
weights and bias formats of their own (``weight_total_bits`` ...), by default the
layer's. The backward pass is the float layer's, with straight-through rounding.

Defaults: ``rounding="half_even"`` (ties to even), ``overflow="saturate"``.
Parameters are always rounded half to even and saturated.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from elasticai.creator.arithmetic import FixedType, Overflow, Rounding
from elasticai.creator.base_modules.quantization import (
    as_real,
    clipped_grid,
    exact_dtype,
    fake_quantize,
    on_grid,
    to_int,
)
from elasticai.creator.ir.types import TensorType, frozen_array
from elasticai.creator.nn.design_creator import DesignCreatorModule
from elasticai.creator.nn.fixed_point._steps import (
    Step,
    channels_first,
    channels_last,
    exact_with_surrogate,
    round_sums,
    run_steps,
)
from elasticai.creator.ops import LinearOp

__all__ = ["_FixedPointLayer", "_Foldable", "_StepLayer", "parse", "parse_parallelism"]


def parse(enum: Any, value: Any, name: str) -> Any:
    """``enum(value)``, or a ``ValueError`` listing the allowed values."""
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(repr(m.value) for m in enum)
        raise ValueError(f"{name} must be one of {allowed}, not {value!r}") from None


def parse_parallelism(value: object, n_in: int, n_out: int) -> tuple[int, int] | None:
    if value is None:
        return None
    if value == "full":
        return (n_in, n_out)
    if (
        isinstance(value, tuple)
        and len(value) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
        and 1 <= value[0] <= n_in
        and 1 <= value[1] <= n_out
    ):
        return (value[0], value[1])
    raise ValueError(
        f"parallelism must be None, 'full' or (p_in, p_out) with 1 <= p_in <= {n_in} and "
        f"1 <= p_out <= {n_out}, not {value!r}"
    )


class _FixedPointLayer(DesignCreatorModule):
    """What all fixed-point layers share: a format and how to round into it. Their
    ``forward`` takes integer (and bool) tensors as the real numbers they hold
    (``base_modules.quantization.as_real``)."""

    fxp: Any

    def _init_format(
        self, total_bits: int, frac_bits: int, rounding: Rounding | str, overflow: Overflow | str
    ) -> None:
        self.fxp = FixedType(total_bits, frac_bits)
        self.rounding = parse(Rounding, rounding, "rounding")
        self.overflow = parse(Overflow, overflow, "overflow")

    def extra_repr(self) -> str:
        fxp = getattr(self, "fxp", None)
        return f"fxp={fxp}, rounding={self.rounding.value}, overflow={self.overflow.value}"

    @property
    def total_bits(self) -> int:
        return self.fxp.total_bits

    @property
    def frac_bits(self) -> int:
        return self.fxp.frac_bits


class _StepLayer:
    """Mixin: a layer whose forward runs its ``steps`` (the IR it translates to) on the
    integers of its input, with the gradient of ``_surrogate`` (straight through)."""

    dims: int  # spatial dimensions of the maps it takes; 0: vectors (the last dimension)

    def steps(self, in_type: TensorType, where: str = "") -> list[Step]:
        raise NotImplementedError

    def _surrogate(self, x: torch.Tensor) -> torch.Tensor | None:
        return None

    def _check_rank(self, x: torch.Tensor) -> None:
        if self.dims and x.dim() != self.dims + 2:
            spatial = "length" if self.dims == 1 else "height, width"
            raise ValueError(
                f"{type(self).__name__} takes (batch, channels, {spatial}), "
                f"not a tensor of shape {tuple(x.shape)}"
            )

    def _run(
        self, x: torch.Tensor, fxp: FixedType, rounding: Rounding, overflow: Overflow
    ) -> torch.Tensor:
        x = as_real(x)
        q = to_int(x, fxp, rounding, overflow)
        self._check_rank(x)
        if self.dims == 0:  # vectors: every leading dimension is a batch
            in_type = TensorType((x.shape[-1],), fxp)
            steps = self.steps(in_type, type(self).__name__)
            out_type = steps[-1].output_type if steps else in_type
            y = run_steps(q.reshape(-1, x.shape[-1]).numpy(), in_type, steps)
            result = torch.from_numpy(y).reshape(*x.shape[:-1], out_type.shape[-1])
        else:
            in_type = TensorType((*x.shape[2:], x.shape[1]), fxp)
            steps = self.steps(in_type, type(self).__name__)
            out_type = steps[-1].output_type if steps else in_type
            y = run_steps(channels_last(q), in_type, steps)
            result = channels_first(y, (out_type.shape[-1], *out_type.shape[:-1]))
        return exact_with_surrogate(result, out_type.dtype, x, lambda: self._surrogate(x))


def _straight(value: torch.Tensor, t: FixedType) -> torch.Tensor:
    """``value`` rounded onto ``t``'s grid (half to even, saturated) in the forward pass,
    the identity in the backward pass (parameters keep learning outside the range)."""
    return fake_quantize(value, t, clipped=False)


def _grid_operands(
    layer: _Foldable,
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    clip: bool,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
    """``x``, weight and bias rounded onto their grids (``on_grid``), and with ``clip`` the
    range mask of ``x`` (its gradient's: the clipped STE)."""
    if clip:
        xq, mask = clipped_grid(x, layer.fxp, layer.rounding, layer.overflow)
    else:
        xq, mask = on_grid(x, layer.fxp, layer.rounding, layer.overflow), None
    wq = on_grid(weight, layer.weight_fxp)
    return xq, wq, None if bias is None else on_grid(bias, layer.bias_fxp), mask


class _GridOperands(torch.autograd.Function):
    """A layer's input, weight and bias rounded onto their grids in the forward pass;
    straight through in the backward pass: the input's gradient where it lay in its range
    (clipped, as ``fake_quantize``), the parameters' everywhere (as ``_straight``)."""

    @staticmethod
    def forward(
        ctx: torch.autograd.function.FunctionCtx,
        layer: _Foldable,
        x: torch.Tensor,
        weight: torch.Tensor,
        bias: torch.Tensor | None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        needs = ctx.needs_input_grad[1:]  # type: ignore[attr-defined]
        *outputs, mask = _grid_operands(layer, x, weight, bias, clip=needs[0])
        ctx.save_for_backward(mask)  # type: ignore[arg-type]  # None: no mask
        if not all(needs):  # no gradient for what needs none (a first layer's input)
            idle = [y for y, n in zip(outputs, needs, strict=True) if y is not None and not n]
            ctx.mark_non_differentiable(*idle)
        return tuple(outputs)  # type: ignore[return-value]

    @staticmethod
    def backward(
        ctx: torch.autograd.function.FunctionCtx,
        grad_x: torch.Tensor,
        grad_weight: torch.Tensor,
        grad_bias: torch.Tensor | None,
    ):
        (mask,) = ctx.saved_tensors  # type: ignore[attr-defined]
        return None, None if mask is None else grad_x * mask, grad_weight, grad_bias


class _Foldable(_StepLayer, _FixedPointLayer):
    """A layer computing ``W x + b`` with weights and bias of their own formats, into which
    a batch norm may be folded (``batchnorm.link_batch_norm``)."""

    weight: torch.Tensor
    bias: Any
    parallelism: tuple[int, int] | None

    def _init_parameter_formats(
        self,
        weight_total_bits: int | None,
        weight_frac_bits: int | None,
        bias_total_bits: int | None,
        bias_frac_bits: int | None,
    ) -> None:
        """The formats of the weights and the bias, by default the layer's."""
        self.weight_fxp = FixedType(
            self.fxp.total_bits if weight_total_bits is None else weight_total_bits,
            self.fxp.frac_bits if weight_frac_bits is None else weight_frac_bits,
        )
        self.bias_fxp = FixedType(
            self.fxp.total_bits if bias_total_bits is None else bias_total_bits,
            self.fxp.frac_bits if bias_frac_bits is None else bias_frac_bits,
        )

    @property
    def batch_norm(self) -> Any:
        """The batch norm folded into this layer in ``eval()`` (linked by ``Sequential`` or
        when a graph is translated)."""
        return self.__dict__.get("_folded_batch_norm")

    def _folding(self) -> bool:
        return self.batch_norm is not None and not self.training and not self.batch_norm.training

    def output_format(self) -> FixedType:
        """The format of the output: the folded batch norm's in ``eval()``, else the layer's."""
        return self.batch_norm.fxp if self._folding() else self.fxp

    def float_parameters(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Weight and bias as real numbers, the batch norm folded in where it is."""
        if self._folding():
            from elasticai.creator.nn.fixed_point.batchnorm import fold

            return fold(self, self.batch_norm)
        return self.weight, self.bias

    def int_weight(self) -> torch.Tensor:
        return to_int(self.float_parameters()[0], self.weight_fxp)

    def int_bias(self) -> torch.Tensor | None:
        bias = self.float_parameters()[1]
        return None if bias is None else to_int(bias, self.bias_fxp)

    def linear_op(self, weight: np.ndarray) -> LinearOp:
        """The IR op with integer ``weight`` (``(out, in)``, in stream order). A bias with
        more fractional bits than the products gets them: the weights are scaled up by the
        difference (exactly the same sums)."""
        bias = self.int_bias()
        w_type = self.weight_fxp
        extra = self.bias_fxp.frac_bits - (self.fxp.frac_bits + w_type.frac_bits)
        if bias is not None and extra > 0:
            w_type = FixedType(w_type.total_bits + extra, w_type.frac_bits + extra)
            wide = object if w_type.total_bits > 62 else np.int64
            weight = np.asarray(weight).astype(wide) * (1 << extra)
        return LinearOp(
            weight=frozen_array(weight),
            bias=None if bias is None else frozen_array(bias.numpy()),
            w_type=w_type,
            b_type=None if bias is None else self.bias_fxp,
            rounding=self.rounding,
            overflow=self.overflow,
            p_in=self.parallelism[0] if self.parallelism else 0,
            p_out=self.parallelism[1] if self.parallelism else 0,
        )

    # forward ------------------------------------------------------------------------
    def _reduction(self) -> int:
        """Products summed for each output (the fan-in)."""
        raise NotImplementedError

    def _float_layer(
        self, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None
    ) -> torch.Tensor:
        """The float layer (``F.linear``, the convolution) with these operands."""
        raise NotImplementedError

    def _surrogate(self, x: torch.Tensor) -> torch.Tensor:
        """The float layer on the grid values of ``x``, weight and bias (straight through:
        ``_GridOperands``), in ``x``'s dtype."""
        return self._float_layer(*_GridOperands.apply(self, x, *self._parameters_in(x.dtype)))

    def _parameters_in(self, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor | None]:
        weight, bias = self.float_parameters()
        if weight.dtype != dtype:
            weight, bias = weight.to(dtype), None if bias is None else bias.to(dtype)
        return weight, bias

    def _exact(
        self, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, dtype: torch.dtype
    ) -> torch.Tensor:
        """The float layer on the grid values of ``x``, weight and bias, rounded once to the
        output format (``round_sums``), as real numbers in ``dtype``: the layer's integers
        where ``x``'s dtype holds every sum. Three autograd steps: ``_GridOperands``, the
        float layer, ``round_sums``."""
        sums = self._float_layer(*_GridOperands.apply(self, x, weight, bias))
        return round_sums(sums, self.output_format(), self.rounding, self.overflow, dtype)

    def _sum_bound(self) -> int:
        """A bound, from the formats and the fan-in alone, on every integer the forward
        meets in units of the accumulator's last bit: operands, partial sums (with the
        bias), the rounding offset and the output's range."""
        x, w, b = self.fxp, self.weight_fxp, self.bias_fxp
        has_bias = self.bias is not None
        acc_frac = max(x.frac_bits + w.frac_bits, b.frac_bits if has_bias else 0)
        product = 1 << (x.total_bits + w.total_bits - 2 + acc_frac - x.frac_bits - w.frac_bits)
        bias = 1 << (b.total_bits - 1 + acc_frac - b.frac_bits) if has_bias else 0
        out = self.output_format()
        rounding = 1 << max(0, acc_frac - out.frac_bits)
        return max(self._reduction() * product + bias + rounding, 1 << (out.total_bits - 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The exact output. Where floating point holds every sum (``exact_dtype`` of
        ``_sum_bound``: float32, else float64), it is the float layer on grid values rounded
        once to the output format (``_exact``), which is the integer semantics; beyond, the
        integer interpreter (``_run``) with that layer's gradient."""
        x = as_real(x)
        dtype = exact_dtype(self._sum_bound(), x)
        if dtype is None:
            return self._run(x, self.fxp, self.rounding, self.overflow)
        self._check_rank(x)
        operand = x if x.dtype == dtype else x.to(dtype)
        return self._exact(operand, *self._parameters_in(dtype), x.dtype)

    def _parameter_repr(self) -> str:
        parts = []
        if self.weight_fxp != self.fxp:
            parts.append(f"weight_fxp={self.weight_fxp}")
        if self.bias is not None and self.bias_fxp != self.fxp:
            parts.append(f"bias_fxp={self.bias_fxp}")
        return "".join(f", {p}" for p in parts)
