"""Trainable fixed-point layers.

Every layer has one number format ``FixedType(total_bits, frac_bits)`` for its
input, its parameters and its output. Its forward pass first converts its
input to that format (rounding and overflow as the layer says), then computes
exactly on integers, then rounds the result to the output format. The
backward pass is the float layer's, with straight-through rounding.

Defaults: ``rounding="half_even"`` (ties to even), ``overflow="saturate"``.
Parameters are always rounded half to even and saturated.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from elasticai.creator.arithmetic import FixedType, Overflow, Rounding, requantize
from elasticai.creator.base_modules.quantization import fake_quantize, in_range, to_float, to_int
from elasticai.creator.ir.types import TensorType, frozen_array
from elasticai.creator.nn.design_creator import DesignCreatorModule
from elasticai.creator.nn.fixed_point import _pointwise
from elasticai.creator.ops import LinearOp, PointwiseOp

__all__ = ["Linear", "ReLU", "HardSigmoid", "HardTanh", "quantize"]


def quantize(x: torch.Tensor, total_bits: int, frac_bits: int) -> torch.Tensor:
    """Round ``x`` onto the grid of ``FixedType(total_bits, frac_bits)`` (half to even,
    saturating), with a straight-through gradient.

    >>> quantize(torch.tensor([0.3, -5.0]), total_bits=4, frac_bits=2)
    tensor([ 0.2500, -2.0000])
    """
    return fake_quantize(x, FixedType(total_bits, frac_bits))


class _FixedPointLayer(DesignCreatorModule):
    """What all fixed-point layers share: a format and how to round into it."""

    def _init_format(
        self, total_bits: int, frac_bits: int, rounding: Rounding | str, overflow: Overflow | str
    ) -> None:
        self.fxp = FixedType(total_bits, frac_bits)
        self.rounding = _parse(Rounding, rounding, "rounding")
        self.overflow = _parse(Overflow, overflow, "overflow")

    def extra_repr(self) -> str:
        fxp = getattr(self, "fxp", None)
        return f"fxp={fxp}, rounding={self.rounding.value}, overflow={self.overflow.value}"

    @property
    def total_bits(self) -> int:
        return self.fxp.total_bits

    @property
    def frac_bits(self) -> int:
        return self.fxp.frac_bits


def _parse(enum: Any, value: Any, name: str) -> Any:
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(repr(m.value) for m in enum)
        raise ValueError(f"{name} must be one of {allowed}, not {value!r}") from None


class _Foldable(_FixedPointLayer):
    """A layer computing ``W x + b`` into which ``Sequential`` may fold a batch norm."""

    weight: torch.Tensor
    bias: Any
    parallelism: tuple[int, int] | None

    @property
    def batch_norm(self) -> Any:
        """The batch norm folded into this layer in ``eval()`` (set by ``Sequential``)."""
        return self.__dict__.get("_folded_batch_norm")

    def _folding(self) -> bool:
        return self.batch_norm is not None and not self.training and not self.batch_norm.training

    def output_format(self) -> FixedType:
        """The format of the output: the folded batch norm's in ``eval()``, else the layer's."""
        return self.batch_norm.fxp if self._folding() else self.fxp

    def int_weight(self) -> torch.Tensor:
        weight = _fold(self, self.batch_norm)[0] if self._folding() else self.weight
        return to_int(weight, self.fxp)

    def int_bias(self) -> torch.Tensor | None:
        if self._folding():
            return to_int(_fold(self, self.batch_norm)[1], self.fxp)
        return None if self.bias is None else to_int(self.bias, self.fxp)

    def linear_params(self, weight: np.ndarray) -> LinearOp:
        """The IR constants with integer ``weight`` (``(out, in)``, in stream order)."""
        bias = self.int_bias()
        return LinearOp(
            weight=frozen_array(weight),
            bias=None if bias is None else frozen_array(bias.numpy()),
            w_type=self.fxp,
            b_type=None if bias is None else self.fxp,
            rounding=self.rounding,
            overflow=self.overflow,
            p_in=self.parallelism[0] if self.parallelism else 0,
            p_out=self.parallelism[1] if self.parallelism else 0,
        )


def _fold(layer: Any, bn: Any) -> tuple[torch.Tensor, torch.Tensor]:
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


class Linear(_Foldable, torch.nn.Linear):
    """``y = W x + b`` on fixed-point numbers, exact inside, rounded once at the output.

    The accumulator is wide enough for every sum, so the only rounding is
    ``requantize(acc, 2*frac_bits -> frac_bits, rounding, overflow)``.
    ``parallelism=(p_in, p_out)`` fixes the hardware: ``p_in`` inputs per clock times
    ``p_out`` outputs in parallel = ``p_in * p_out`` multipliers, a sample every
    ``ceil(in/p_in) * ceil(out/p_out)`` cycles; ``"full"`` is ``(in, out)``. Left
    ``None``, ``create_design`` decides (by default one multiply-accumulate unit).
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        total_bits: int,
        frac_bits: int,
        bias: bool = True,
        device: Any = None,
        *,
        rounding: Rounding | str = Rounding.HALF_EVEN,
        overflow: Overflow | str = Overflow.SATURATE,
        parallelism: tuple[int, int] | str | None = None,
    ) -> None:
        torch.nn.Linear.__init__(self, in_features, out_features, bias=bias, device=device)
        self._init_format(total_bits, frac_bits, rounding, overflow)
        self.parallelism = _parse_parallelism(parallelism, in_features, out_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self._folding():
            from elasticai.creator.nn.fixed_point._steps import exact_with_surrogate, run_steps

            q = to_int(x, self.fxp, self.rounding, self.overflow)
            flat = q.reshape(-1, self.in_features)
            in_type = TensorType((self.in_features,), self.fxp)
            y = run_steps(flat.numpy(), in_type, self.steps(in_type))
            y_q = torch.from_numpy(y).reshape(*x.shape[:-1], self.out_features)
            return exact_with_surrogate(y_q, self.output_format(), x, None)
        return _LinearFunction.apply(x, self.weight, self.bias, self)

    def steps(self, in_type: TensorType, where: str = "") -> list[Any]:
        """This layer as IR steps (see ``_steps``) for inputs of ``in_type``."""
        from elasticai.creator.nn.fixed_point._steps import Step

        params = self.linear_params(self.int_weight().numpy())
        rows = in_type.shape[:-1]
        out = TensorType((*rows, self.out_features), self.output_format())
        return [Step("linear", out, params)]

    def extra_repr(self) -> str:
        return f"{torch.nn.Linear.extra_repr(self)}, {_FixedPointLayer.extra_repr(self)}"


def _parse_parallelism(value: object, n_in: int, n_out: int) -> tuple[int, int] | None:
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


class _LinearFunction(torch.autograd.Function):
    @staticmethod
    def forward(
        ctx: torch.autograd.function.FunctionCtx,
        x: torch.Tensor,
        weight: torch.Tensor,
        bias: torch.Tensor | None,
        layer: Linear,
    ) -> torch.Tensor:
        t = layer.fxp
        xq = to_int(x, t, layer.rounding, layer.overflow)
        wq = layer.int_weight()
        bq = layer.int_bias() if bias is not None else None
        y = _exact_affine(xq, wq, bq, layer)
        x_fake, w_fake = to_float(xq, t, x.dtype), to_float(wq, t, weight.dtype)
        out_ok = torch.ones_like(y, dtype=torch.bool)
        if layer.overflow is Overflow.SATURATE:
            out_ok = (y > t.min_int) & (y < t.max_int)
        ctx.save_for_backward(x_fake, w_fake, in_range(x, t), out_ok)
        ctx.has_bias = bias is not None  # type: ignore[attr-defined]
        return to_float(y, t, x.dtype)

    @staticmethod
    def backward(ctx: torch.autograd.function.FunctionCtx, grad: torch.Tensor):
        x_fake, w_fake, x_ok, out_ok = ctx.saved_tensors  # type: ignore[attr-defined]
        g = grad * out_ok
        grad_x = (g @ w_fake) * x_ok
        grad_w = g.reshape(-1, g.shape[-1]).T @ x_fake.reshape(-1, x_fake.shape[-1])
        grad_b = g.reshape(-1, g.shape[-1]).sum(0) if ctx.has_bias else None  # type: ignore[attr-defined]
        return grad_x, grad_w, grad_b, None


def _exact_affine(
    xq: torch.Tensor, wq: torch.Tensor, bq: torch.Tensor | None, layer: Linear
) -> torch.Tensor:
    """``requantize(xq @ wq.T + bq << frac_bits)``, exact: in ``int64`` where no sum can
    overflow it, in Python integers (through NumPy) where one could."""
    t = layer.fxp
    if 2 * t.total_bits + wq.shape[1].bit_length() + 1 <= 62:
        acc = xq @ wq.T
        if bq is not None:
            acc = acc + (bq << t.frac_bits)
        return requantize(acc, 2 * t.frac_bits, t, layer.rounding, layer.overflow)
    acc_wide = xq.numpy().astype(object) @ wq.numpy().astype(object).T
    if bq is not None:
        acc_wide = acc_wide + bq.numpy().astype(object) * (1 << t.frac_bits)
    y = requantize(acc_wide, 2 * t.frac_bits, t, layer.rounding, layer.overflow)
    return torch.from_numpy(y.astype("int64"))


class _PointwiseLayer(_FixedPointLayer, torch.nn.Module):
    """An element-wise layer: ``_pointwise.apply`` with this layer's constants."""

    def pointwise_params(self) -> PointwiseOp:
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _pointwise.apply(x, self.pointwise_params(), self.fxp, self.fxp)


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
            self.fxp = None  # type: ignore[assignment]
            self.rounding = _parse(Rounding, rounding, "rounding")
            self.overflow = _parse(Overflow, overflow, "overflow")
        else:
            if total_bits is None:
                raise ValueError("ReLU needs total_bits when frac_bits is given")
            self._init_format(total_bits, frac_bits, rounding, overflow)

    def pointwise_params(self) -> PointwiseOp:
        return _pointwise.relu_params(self.fxp, self.rounding, self.overflow)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.fxp is None:
            return torch.relu(x)  # exact on any grid
        return super().forward(x)
