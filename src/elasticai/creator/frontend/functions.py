"""Handlers of the tensor operations a ``forward`` may use: functions and methods.

The functional forms of the layers that carry no parameters (``F.relu``,
``F.hardtanh``, ``torch.flatten(x, 1)``, ``x.view(x.size(0), -1)``, ``F.max_pool1d``,
...), the joins (``a + b``, ``a - b``, ``torch.cat``) and what reshapes need
(``x.size(0)``, ``x.shape[0]``). ``FUNCTIONS`` maps the callables, ``METHODS`` the tensor
method names; supporting one more is adding a row.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import torch
import torch.nn.functional as F

from elasticai.creator.arithmetic import FixedType, Overflow, Rounding
from elasticai.creator.frontend.joins import add_values, concat_values
from elasticai.creator.frontend.modules import clamp, enter_map, flatten, relu, select_steps
from elasticai.creator.frontend.values import (
    Builder,
    FrontendError,
    Value,
    channels_last_order,
)
from elasticai.creator.nn.fixed_point.elementwise import quantize

__all__ = ["FUNCTIONS", "METHODS", "SHAPE_KEEPING", "BATCH", "max_pool"]

FunctionHandler = Callable[[Builder, list[Any], dict[str, Any], str], Any]


class _Batch:
    """The batch size, as ``x.size(0)`` or ``x.shape[0]`` give it."""

    def __repr__(self) -> str:
        return "batch"


BATCH = _Batch()


def _arg(args: list[Any], kwargs: dict[str, Any], index: int, name: str, default: Any) -> Any:
    if len(args) > index:
        return args[index]
    return kwargs.get(name, default)


def _tensor(b: Builder, value: Any, source: str) -> Value:
    if not isinstance(value, Value):
        raise FrontendError(f"{source} takes a tensor of the model, not {value!r}")
    return value


def _settled(b: Builder, value: Any, source: str) -> Value:
    x = _tensor(b, value, source)
    if x.raw:
        raise FrontendError(
            f"{source} reads the real-valued model input; quantize it first: "
            "x = fixed_point.quantize(x, total_bits, frac_bits)"
        )
    return x


# --- joins ----------------------------------------------------------------------------


def _add(b: Builder, args: list[Any], kwargs: dict[str, Any], source: str) -> Value:
    if kwargs.get("alpha", 1) != 1:
        raise FrontendError(f"{source}: torch.add with alpha={kwargs['alpha']} is not supported")
    return add_values(b, args[0], args[1], False, source)


def _sub(b: Builder, args: list[Any], kwargs: dict[str, Any], source: str) -> Value:
    if kwargs.get("alpha", 1) != 1:
        raise FrontendError(f"{source}: torch.sub with alpha={kwargs['alpha']} is not supported")
    return add_values(b, args[0], args[1], True, source)


def _cat(b: Builder, args: list[Any], kwargs: dict[str, Any], source: str) -> Value:
    tensors = _arg(args, kwargs, 0, "tensors", ())
    dim = _arg(args, kwargs, 1, "dim", 0)
    return concat_values(b, list(tensors), int(dim), source)


# --- element-wise -----------------------------------------------------------------------


def _relu(b: Builder, args: list[Any], kwargs: dict[str, Any], source: str) -> Value:
    return relu(b, _tensor(b, args[0], source), source)


def _relu6(b: Builder, args: list[Any], kwargs: dict[str, Any], source: str) -> Value:
    return clamp(b, _settled(b, args[0], source), 0.0, 6.0, "relu6", source)


def _hardtanh(b: Builder, args: list[Any], kwargs: dict[str, Any], source: str) -> Value:
    low = _arg(args, kwargs, 1, "min_val", -1.0)
    high = _arg(args, kwargs, 2, "max_val", 1.0)
    return clamp(b, _settled(b, args[0], source), float(low), float(high), "hard_tanh", source)


def _clamp(b: Builder, args: list[Any], kwargs: dict[str, Any], source: str) -> Value:
    x = _settled(b, args[0], source)
    t = x.type.dtype
    low = _arg(args, kwargs, 1, "min", None)
    high = _arg(args, kwargs, 2, "max", None)
    if isinstance(low, Value) or isinstance(high, Value):
        raise FrontendError(f"{source}: clamping to bounds that are tensors is not supported")
    low = t.min_value if low is None else float(low)
    high = t.max_value if high is None else float(high)
    return clamp(b, x, low, high, "clamp", source)


def _identity(b: Builder, args: list[Any], kwargs: dict[str, Any], source: str) -> Value:
    return _tensor(b, args[0], source)


def _dropout(b: Builder, args: list[Any], kwargs: dict[str, Any], source: str) -> Value:
    """``F.dropout(x, p, training)``: the identity where it is off (``training=False``)."""
    p = _arg(args, kwargs, 1, "p", 0.5)
    if _arg(args, kwargs, 2, "training", True) and p:
        raise FrontendError(
            f"{source} zeroes values at random (training=True, p={p}), unlike the hardware; "
            "pass training=self.training and call model.eval() before create_design"
        )
    return _tensor(b, args[0], source)


def _quantize(b: Builder, args: list[Any], kwargs: dict[str, Any], source: str) -> Value:
    """``fixed_point.quantize(x, total_bits, frac_bits)``: half to even, saturating."""
    x = _tensor(b, args[0], source)
    fxp = FixedType(
        _arg(args, kwargs, 1, "total_bits", None), _arg(args, kwargs, 2, "frac_bits", None)
    )
    rounding, overflow = Rounding.HALF_EVEN, Overflow.SATURATE
    if x.raw:
        shape = b.input_shape_known or tuple(b.default_shape or (1,))
        return b.start(x, shape, fxp, rounding, overflow, source)
    return b.convert(x, fxp, rounding, overflow, source)


# --- pooling ----------------------------------------------------------------------------


def max_pool(
    b: Builder,
    x: Value,
    dims: int,
    kernel: Any,
    stride: Any,
    padding: Any,
    dilation: Any,
    ceil_mode: bool,
    return_indices: bool,
    source: str,
) -> Value:
    """Max pooling in the format of ``x`` (exact on any grid)."""
    from elasticai.creator.nn.fixed_point.pooling import MaxPool1d, MaxPool2d

    layer = MaxPool1d if dims == 1 else MaxPool2d
    try:
        pool = layer(kernel, stride, padding, dilation, return_indices, ceil_mode)
    except ValueError as error:
        raise FrontendError(f"{source}: {error}") from None
    x = enter_map(b, _settled(b, x, source), None, pool, dims, source)
    return b.steps(pool.steps(x.type, source), x, x.type, source)


def _max_pool(dims: int) -> FunctionHandler:
    def handle(b: Builder, args: list[Any], kwargs: dict[str, Any], source: str) -> Value:
        names = ("input", "kernel_size", "stride", "padding", "dilation", "ceil_mode")
        defaults = (None, None, None, 0, 1, False)
        values = [
            _arg(args, kwargs, k, n, d)
            for k, (n, d) in enumerate(zip(names, defaults, strict=True))
        ]
        kernel, stride, padding, dilation = values[1:5]
        return max_pool(
            b,
            values[0],
            dims,
            kernel,
            stride,
            padding,
            dilation,
            bool(values[5]),
            bool(kwargs.get("return_indices", False)),
            source,
        )

    return handle


# --- shapes -----------------------------------------------------------------------------


def _size(b: Builder, args: list[Any], kwargs: dict[str, Any], source: str) -> Any:
    x = _tensor(b, args[0], source)
    shape = (BATCH, *_torch_shape(b, x, source))
    dim = _arg(args, kwargs, 1, "dim", None)
    return shape if dim is None else shape[dim]


def _torch_shape(b: Builder, x: Value, source: str) -> tuple[int, ...]:
    if x.raw:
        if b.input_shape_known is None:
            raise FrontendError(
                f"{source} asks for the shape of the model input: give create_design(..., "
                "input_shape=...)"
            )
        return b.input_shape_known
    return x.torch_shape


def _getattr(b: Builder, args: list[Any], kwargs: dict[str, Any], source: str) -> Any:
    x, name = args
    if isinstance(x, Value) and name == "shape":
        return (BATCH, *_torch_shape(b, x, source))
    raise Unsupported(f"getattr(..., {name!r})")


def _getitem(b: Builder, args: list[Any], kwargs: dict[str, Any], source: str) -> Any:
    container, index = args
    if isinstance(container, Value):
        if container.sequence:
            return _sequence_steps(b, container, index, source)
        raise Unsupported(f"indexing a tensor ([{index!r}])")
    return container[index]


def _sequence_steps(b: Builder, x: Value, index: Any, source: str) -> Value:
    """``x[:, k]`` (one step: a vector) or ``x[:, a:b]`` (steps: a sequence) of a sequence."""
    steps = x.type.shape[0]
    if isinstance(index, tuple) and len(index) == 2 and index[0] == slice(None):
        step = index[1]
        if isinstance(step, int) and -steps <= step < steps:
            k = step % steps
            return select_steps(b, x, k, k + 1, source, one=True)
        if isinstance(step, slice) and step.step in (None, 1):
            first, stop, _ = step.indices(steps)
            if first < stop:
                return select_steps(b, x, first, stop, source)
    raise FrontendError(
        f"{source} indexes a sequence of {steps} steps with [{index!r}]; only whole steps "
        "are supported: x[:, k] or x[:, a:b]"
    )


def _transpose(b: Builder, args: list[Any], kwargs: dict[str, Any], source: str) -> Value:
    """``x.transpose(1, 2)`` / ``x.permute(0, 2, 1)``: a 1-D map ``(channels, length)`` as
    the sequence ``(length, channels)`` and back; the stream is the same."""
    x = _settled(b, args[0], source)
    dims = (
        [d for d in args[1:]]
        if len(args) > 2 or not isinstance(args[1], tuple | list)
        else list(args[1])
    )
    if len(dims) == 3:  # permute
        swap = dims in ([0, 2, 1], [0, -1, 1], [0, 2, -2], [0, -1, -2])
    else:
        swap = sorted(d % 3 for d in dims) == [1, 2]
    if swap and x.sequence:
        steps, features = x.type.shape
        torch_shape = (features, steps)
        return replace(
            x, torch_shape=torch_shape, order=channels_last_order(torch_shape), sequence=False
        )
    if swap and x.is_map and len(x.torch_shape) == 2:
        return replace(x, torch_shape=x.type.shape, order=None, sequence=True)
    raise FrontendError(
        f"{source} rearranges {tuple(x.torch_shape)} with {tuple(dims)}; only swapping the "
        "channels and the length of a 1-D map (x.transpose(1, 2)) is supported"
    )


def _reshape(b: Builder, args: list[Any], kwargs: dict[str, Any], source: str) -> Value:
    x = _settled(b, args[0], source)
    shape = (
        list(args[1]) if len(args) == 2 and isinstance(args[1], tuple | list) else list(args[1:])
    )
    size = x.type.size
    rest = [d for d in shape[1:]]
    if shape[:1] not in ([BATCH], [-1]) or not all(isinstance(d, int) for d in rest):
        raise FrontendError(
            f"{source} reshapes to {tuple(shape)}; keep the batch first (x.size(0) or -1)"
        )
    if rest in ([-1], [size]) or (shape[0] == -1 and rest == [size]):
        return flatten(x)
    if tuple(rest) == x.torch_shape:
        return x
    raise FrontendError(
        f"{source} reshapes {x.torch_shape} to {tuple(rest)}; only flattening to (batch, "
        f"{size}) is supported"
    )


def _flatten(b: Builder, args: list[Any], kwargs: dict[str, Any], source: str) -> Value:
    x = _settled(b, args[0], source)
    start = _arg(args, kwargs, 1, "start_dim", 0)
    end = _arg(args, kwargs, 2, "end_dim", -1)
    if (start, end) != (1, -1):
        raise FrontendError(
            f"{source} flattens dimensions {start} to {end}; only flatten(x, 1) (all but the "
            "batch) is supported"
        )
    return flatten(x)


class Unsupported(Exception):
    """A call the frontend has no handler for (collected, then reported together)."""


FUNCTIONS: dict[Any, FunctionHandler] = {
    operator.add: _add,
    operator.iadd: _add,
    torch.add: _add,
    operator.sub: _sub,
    operator.isub: _sub,
    torch.sub: _sub,
    torch.cat: _cat,
    torch.concat: _cat,
    torch.concatenate: _cat,
    F.relu: _relu,
    torch.relu: _relu,
    F.relu6: _relu6,
    F.hardtanh: _hardtanh,
    torch.clamp: _clamp,
    torch.clip: _clamp,
    F.max_pool1d: _max_pool(1),
    F.max_pool2d: _max_pool(2),
    torch.flatten: _flatten,
    torch.transpose: _transpose,
    torch.permute: _transpose,
    F.dropout: _dropout,
    quantize: _quantize,
    getattr: _getattr,
    operator.getitem: _getitem,
}

#: Operations whose output has the shape of their (first) input.
SHAPE_KEEPING: frozenset[FunctionHandler] = frozenset(
    {_add, _sub, _relu, _relu6, _hardtanh, _clamp, _identity, _dropout, _quantize}
)

METHODS: dict[str, FunctionHandler] = {
    "add": _add,
    "add_": _add,
    "sub": _sub,
    "sub_": _sub,
    "relu": _relu,
    "relu_": _relu,
    "clamp": _clamp,
    "clip": _clamp,
    "flatten": _flatten,
    "transpose": _transpose,
    "permute": _transpose,
    "view": _reshape,
    "reshape": _reshape,
    "size": _size,
    "contiguous": _identity,
}
