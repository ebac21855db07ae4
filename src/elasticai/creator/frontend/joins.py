"""Where two values meet: ``a + b``, ``a - b`` and ``torch.cat``.

Formats at a join: the sum (or difference) of two fixed-point values is computed
exactly, on the finer of the two grids with one more integer bit than the wider input
(``ir.types.sum_type``); a concatenation keeps every value exactly in the common format
(``ir.types.common_type``). What reads the result converts it as it converts any
input. Both operands must be tensors of the model with the same shape and layout.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from elasticai.creator.frontend.values import Builder, FrontendError, Value, channels_last_order
from elasticai.creator.ir.types import TensorType, common_type, sum_type
from elasticai.creator.ops import AddOp, ConcatOp

__all__ = ["add_values", "concat_values"]


def _operand(b: Builder, value: Any, source: str) -> Value:
    if not isinstance(value, Value):
        raise FrontendError(
            f"{source}: both operands must be tensors of the model, not {value!r} "
            "(constants are not supported)"
        )
    if value.raw:
        raise FrontendError(
            f"{source} reads the real-valued model input, which PyTorch does not round there; "
            "quantize it first: x = fixed_point.quantize(x, total_bits, frac_bits)"
        )
    return value


def add_values(b: Builder, x: Any, y: Any, subtract: bool, source: str) -> Value:
    """The exact ``x + y`` (``x - y``) in ``sum_type`` of their formats."""
    x, y = _operand(b, x, source), _operand(b, y, source)
    if x.torch_shape != y.torch_shape:
        raise FrontendError(
            f"{source} {'subtracts' if subtract else 'adds'} tensors of shapes "
            f"{x.torch_shape} and {y.torch_shape}; they must be equal (no broadcasting)"
        )
    if not x.same_layout(y):
        raise FrontendError(
            f"{source} joins two tensors of shape {x.torch_shape} that stream in different "
            "orders (a flattened map and a vector); flatten both or neither"
        )
    out = TensorType(x.type.shape, sum_type(x.type.dtype, y.type.dtype))
    kind = "sub" if subtract else "add"
    return b.add(
        kind, AddOp(subtract), [x, y], [x.type, y.type], out, source, x.torch_shape, x.order
    )


def concat_values(b: Builder, values: Sequence[Any], dim: int, source: str) -> Value:
    """``torch.cat(values, dim)`` along the channels of maps or the features of vectors,
    exactly, in the common format; more than two values join pairwise."""
    parts = [_operand(b, v, source) for v in values]
    if not parts:
        raise FrontendError(f"{source} concatenates nothing")
    result = parts[0]
    for part in parts[1:]:
        result = _concat_two(b, result, part, dim, source)
    return result


def _concat_two(b: Builder, x: Value, y: Value, dim: int, source: str) -> Value:
    rank = len(x.torch_shape)
    axis = dim + rank + 1 if dim < 0 else dim
    if len(y.torch_shape) != rank or axis != 1:
        raise FrontendError(
            f"{source} concatenates along dim={dim}; only dim=1 (the channels of maps, the "
            f"features of vectors) is supported, for tensors of one rank, not "
            f"{x.torch_shape} and {y.torch_shape}"
        )
    dtype = common_type(x.type.dtype, y.type.dtype)
    if rank == 1:
        order_x = x.order if x.order is not None else np.arange(x.type.size)
        order_y = y.order if y.order is not None else np.arange(y.type.size)
        order = np.concatenate([order_x, order_y + x.type.size])
        size = x.type.size + y.type.size
        out = TensorType((size,), dtype)
        natural = np.array_equal(order, np.arange(size))
        return b.add(
            "concat",
            ConcatOp(),
            [x, y],
            [x.type, y.type],
            out,
            source,
            (size,),
            None if natural else order,
        )
    if not (x.is_map and y.is_map) or x.torch_shape[1:] != y.torch_shape[1:]:
        raise FrontendError(
            f"{source} concatenates maps of shapes {x.torch_shape} and {y.torch_shape}; "
            "their sizes other than the channels must be equal"
        )
    out = TensorType((*x.type.shape[:-1], x.type.channels + y.type.channels), dtype)
    torch_shape = (out.channels, *x.torch_shape[1:])
    order = channels_last_order(torch_shape)
    return b.add("concat", ConcatOp(), [x, y], [x.type, y.type], out, source, torch_shape, order)
