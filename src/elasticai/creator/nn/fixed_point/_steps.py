"""Layers defined by their IR: the forward pass runs the integer interpreter on them.

A layer of this kind describes itself as a list of ``Step`` (operation, output
type, constants) for a given input type. Translation adds exactly these steps to
the graph, and the PyTorch forward runs them through ``ir.interpret``, so model and
hardware compute the same integers by construction (layers with weights reach the same
integers in floating point where that is exact: ``_base._Foldable.forward``). Gradients
come from a float surrogate (the same layer in floating point on fake-quantized
operands) with a straight-through estimator: ``y = exact + (surrogate -
surrogate.detach())``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from elasticai.creator.arithmetic import FixedType, Overflow, Rounding
from elasticai.creator.base_modules.quantization import to_float, to_float_, to_grid, unchanged
from elasticai.creator.ir.graph import INPUT, Node
from elasticai.creator.ir.op import OpDef
from elasticai.creator.ir.types import TensorType

__all__ = [
    "Step",
    "run_steps",
    "channels_last",
    "channels_first",
    "exact_with_surrogate",
    "round_sums",
    "rounded",
    "inside",
]


@dataclass(frozen=True)
class Step:
    """One IR node to be: its name's stem, what it yields, its op (with its constants)."""

    kind: str
    output_type: TensorType
    op: OpDef


def run_steps(x: np.ndarray, in_type: TensorType, steps: list[Step]) -> np.ndarray:
    """The interpreter's result of ``steps`` on integers ``x`` of shape ``(batch, size)``."""
    value, t = x, in_type
    for k, step in enumerate(steps):
        node = Node(f"{step.kind}_{k}", step.op, (INPUT,), (t,), step.output_type)
        value = step.op.interpret(node, [value])
        t = step.output_type
    return np.asarray(value).astype(np.int64)


def channels_last(q: torch.Tensor) -> np.ndarray:
    """``(batch, channels, *spatial)`` integers as streamed: ``(batch, spatial..., channels)``
    flattened."""
    if q.dim() > 2:
        q = q.movedim(1, -1)
    return q.reshape(q.shape[0], -1).numpy()


def channels_first(y: np.ndarray, shape: tuple[int, ...]) -> torch.Tensor:
    """Streamed integers back to the model's ``(batch, channels, *spatial)`` of ``shape``."""
    batch = y.shape[0]
    if len(shape) == 1:
        return torch.from_numpy(y.reshape(batch, *shape))
    spatial, channels = shape[1:], shape[0]
    moved = torch.from_numpy(y.reshape(batch, *spatial, channels)).movedim(-1, 1)
    # not .contiguous(): with one channel that keeps the channels-last strides (a size-1
    # dimension does not count), and convolutions and torch.cat after it then return
    # channels-last tensors that a user's .view(n, -1) cannot take
    return moved.clone(memory_format=torch.contiguous_format)


def inside(q: torch.Tensor, t: FixedType, dtype: torch.dtype) -> torch.Tensor:
    """1 where the integers ``q`` lie strictly inside the range of ``t`` (unchanged when
    clamped to it without its ends), else 0, in ``dtype``: where the output of a layer did
    not saturate, so that its gradient passes."""
    inner = q.clamp(t.min_int + 1, t.max_int - 1)
    if inner.dtype == dtype:
        return torch.eq(inner, q, out=inner)  # written over the clamp, no longer needed
    return unchanged(inner, q, dtype)


class _Exact(torch.autograd.Function):
    @staticmethod
    def forward(
        ctx: torch.autograd.function.FunctionCtx,
        exact: torch.Tensor,
        surrogate: torch.Tensor,
        mask: torch.Tensor,
    ) -> torch.Tensor:
        ctx.save_for_backward(mask)
        return exact

    @staticmethod
    def backward(ctx: torch.autograd.function.FunctionCtx, grad: torch.Tensor):
        (mask,) = ctx.saved_tensors  # type: ignore[attr-defined]
        return None, grad * mask, None


def exact_with_surrogate(
    q: torch.Tensor,
    out: FixedType,
    like: torch.Tensor,
    surrogate: Callable[[], torch.Tensor | None] | None,
) -> torch.Tensor:
    """Integers ``q`` of format ``out`` (``int64``, or held in a floating-point tensor) as
    real numbers (``like``'s dtype) whose gradient is that of ``surrogate()``, stopped where
    the output saturated (``inside``)."""
    y = to_float(q, out, like.dtype)
    if surrogate is None or not torch.is_grad_enabled():
        return y
    s = surrogate()
    if s is None or not s.requires_grad:
        return y
    return _Exact.apply(y, s, inside(q, out, s.dtype))


def rounded(
    sums: torch.Tensor, out: FixedType, rounding: Rounding, overflow: Overflow, dtype: torch.dtype
) -> tuple[torch.Tensor, torch.Tensor]:
    """Exact sums (real numbers, in floating point) rounded to format ``out`` as the
    hardware rounds its accumulator (``arithmetic.requantize``), as real numbers in
    ``dtype``; and where they did not saturate (``inside``: their gradient's mask)."""
    q = to_grid(sums, out, rounding, overflow)
    mask = inside(q, out, sums.dtype)
    return to_float_(q, out, dtype), mask


class _RoundedSums(torch.autograd.Function):
    @staticmethod
    def forward(
        ctx: torch.autograd.function.FunctionCtx,
        sums: torch.Tensor,
        out: FixedType,
        rounding: Rounding,
        overflow: Overflow,
        dtype: torch.dtype,
    ) -> torch.Tensor:
        y, mask = rounded(sums, out, rounding, overflow, dtype)
        ctx.save_for_backward(mask)
        return y

    @staticmethod
    def backward(ctx: torch.autograd.function.FunctionCtx, grad: torch.Tensor):
        (mask,) = ctx.saved_tensors  # type: ignore[attr-defined]
        return grad * mask, None, None, None, None


def round_sums(
    sums: torch.Tensor, out: FixedType, rounding: Rounding, overflow: Overflow, dtype: torch.dtype
) -> torch.Tensor:
    """``rounded``'s numbers; their gradient passes where they did not saturate."""
    return _RoundedSums.apply(sums, out, rounding, overflow, dtype)
