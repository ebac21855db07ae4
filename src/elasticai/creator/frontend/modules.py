"""One handler per layer type: what a module call adds to the graph.

A handler gets the graph being built, the module, the values of its arguments and the
module's position in the model (``model.block[2] (Conv1d)``); it adds its nodes and
returns the value of its output. Supporting a new layer is adding a row to ``MODULES``.
Where a layer's input format differs from the value it reads, an explicit ``convert``
node joins them (the same conversion the layer's PyTorch forward makes).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
import torch

from elasticai.creator.arithmetic import FixedType
from elasticai.creator.frontend.joins import add_values, concat_values
from elasticai.creator.frontend.values import Builder, FrontendError, Value
from elasticai.creator.ir.types import TensorType, frozen_array
from elasticai.creator.nn.fixed_point import _pointwise
from elasticai.creator.nn.fixed_point.activations import ReLU6, _PiecewiseLayer
from elasticai.creator.nn.fixed_point.batchnorm import _BatchNorm
from elasticai.creator.nn.fixed_point.conv import Conv1d, Conv2d
from elasticai.creator.nn.fixed_point.elementwise import (
    HardSigmoid,
    HardTanh,
    ReLU,
    _PointwiseLayer,
)
from elasticai.creator.nn.fixed_point.joins import Add, Concatenate
from elasticai.creator.nn.fixed_point.linear import Linear
from elasticai.creator.nn.fixed_point.pooling import (
    AdaptiveAvgPool1d,
    AdaptiveAvgPool2d,
    AvgPool1d,
    AvgPool2d,
    MaxPool1d,
    MaxPool2d,
)
from elasticai.creator.nn.fixed_point.recurrent import _Recurrent
from elasticai.creator.ops import LinearOp, PointwiseOp

__all__ = ["MODULES", "SHAPE_KEEPING_MODULES", "handler_of", "Handler"]

Handler = Callable[[Builder, Any, list[Any], str], Value]


# --- entering a layer: the model input, shapes, conversions ---------------------------


def enter_vector(b: Builder, x: Value, layer: Any, shape: tuple[int, ...], source: str) -> Value:
    """``x`` as the input of a layer of format ``layer.fxp`` that takes vectors of ``shape``."""
    if x.raw:
        if b.input_shape is not None and tuple(b.input_shape) != shape:
            raise FrontendError(
                f"input_shape {tuple(b.input_shape)} does not fit {source}, which takes {shape}"
            )
        return b.start(x, shape, layer.fxp, layer.rounding, layer.overflow, source)
    if x.type.shape != shape:
        raise FrontendError(f"{source} expects shape {shape}, not {x.type.shape}")
    return b.convert(x, layer.fxp, layer.rounding, layer.overflow, source)


def enter_elementwise(b: Builder, x: Value, fxp: FixedType, layer: Any, source: str) -> Value:
    """The input of an element-wise layer: any shape (the model input: ``input_shape``, else
    the shape the layers after it take, else one value)."""
    if x.raw:
        shape = b.input_shape_known or tuple(b.default_shape or (1,))
        return b.start(x, shape, fxp, layer.rounding, layer.overflow, source)
    return b.convert(x, fxp, layer.rounding, layer.overflow, source)


def enter_map(
    b: Builder, x: Value, fxp: FixedType | None, layer: Any, dims: int, source: str
) -> Value:
    """The input of a layer that takes ``(channels, *spatial)`` maps of ``dims`` spatial
    dimensions (streaming channels last)."""
    if x.raw:
        shape = b.input_shape_known
        if shape is None or len(shape) != dims + 1:
            wanted = "(channels, length)" if dims == 1 else "(channels, height, width)"
            raise FrontendError(
                f"{source} is the first layer: give create_design(..., input_shape={wanted})"
            )
        if fxp is None:
            raise FrontendError(f"{source} is the first layer: give it total_bits and frac_bits")
        return b.start(x, tuple(shape), fxp, layer.rounding, layer.overflow, source)
    if len(x.torch_shape) != dims + 1 or not x.is_map:
        raise FrontendError(
            f"{source} takes (batch, channels, {'length' if dims == 1 else 'height, width'}) "
            f"maps, but the layer before it gives {tuple(x.torch_shape)}"
        )
    return b.convert(x, fxp or x.type.dtype, layer.rounding, layer.overflow, source)


def _check_finite(tensor: torch.Tensor, what: str, source: str) -> None:
    bad = ~torch.isfinite(tensor.detach())
    if bad.any():
        index = tuple(int(i) for i in bad.nonzero()[0])
        value = tensor.detach()[index].item()
        raise FrontendError(f"{source} has a non-finite {what} ({value} at {list(index)})")


def _check_parameters(m: Any, source: str, names: tuple[str, ...] = ("weight", "bias")) -> None:
    for what in names:
        tensor = getattr(m, what, None)
        if tensor is not None:
            _check_finite(tensor, what, source)


def _one(args: list[Any], source: str) -> Value:
    if len(args) != 1 or not isinstance(args[0], Value):
        raise FrontendError(f"{source} takes one tensor")
    return args[0]


# --- the layers -------------------------------------------------------------------------


class FinalStates:
    """``h_n`` of a recurrent layer in the model: ``h_n[k]`` is the state of layer ``k``
    after the last step (the last step of that layer's output sequence)."""

    def __init__(self, b: Builder, outputs: list[Value], source: str, what: str) -> None:
        self.b, self.outputs, self.source, self.what = b, outputs, source, what

    def __getitem__(self, index: Any) -> Value:
        if not isinstance(index, int) or not -len(self.outputs) <= index < len(self.outputs):
            raise FrontendError(
                f"{self.source}: {self.what}[{index!r}] is not supported; take one layer's "
                f"state, {self.what}[k] with k in 0 .. {len(self.outputs) - 1} (or -1)"
            )
        return last_step(self.b, self.outputs[index], self.source)


class CellStates:
    """``c_n`` of an LSTM: it stays inside the hardware."""

    def __init__(self, source: str) -> None:
        self.source = source

    def __getitem__(self, index: Any) -> Value:
        raise FrontendError(
            f"{self.source}: the cell state c_n stays inside the hardware; use the output or h_n"
        )


def select_steps(
    b: Builder, x: Value, first: int, stop: int, source: str, one: bool = False
) -> Value:
    """Steps ``first .. stop - 1`` of the sequence ``x``: a sequence, or with ``one`` (a
    single step, ``x[:, k]``) a vector."""
    from elasticai.creator.ops.slice import SliceOp

    steps, features = x.type.shape
    if (first, stop) == (0, steps) and not one:
        return x
    shape = (features,) if one else (stop - first, features)
    out = b.add(
        "slice",
        SliceOp(first * features, stop * features),
        [x],
        [x.type],
        TensorType(shape, x.type.dtype),
        source,
        shape,
        None,
    )
    return out if one else replace(out, sequence=True)


def last_step(b: Builder, x: Value, source: str) -> Value:
    steps = x.type.shape[0]
    return select_steps(b, x, steps - 1, steps, source, one=True)


def _recurrent(b: Builder, m: Any, args: list[Any], source: str) -> Any:
    from elasticai.creator.nn.fixed_point.recurrent import LSTM
    from elasticai.creator.ops.recurrent import RecurrentLayerOp

    if not args or not isinstance(args[0], Value):
        raise FrontendError(f"{source} takes one tensor")
    if len(args) > 1 and args[1] is not None:
        raise FrontendError(
            f"{source} is given an initial state; the hardware starts every sequence from "
            "zero: call it without hx"
        )
    if not m.batch_first:
        raise FrontendError(
            f"{source} has batch_first=False; give it batch_first=True (the weights stay the "
            "same) and create_design(..., input_shape=(sequence_length, input_size))"
        )
    _check_parameters(m, source, tuple(name for name, _ in m.named_parameters()))
    layers = m.recurrent_ops()
    first = layers[0]
    x = args[0]
    if x.raw:
        shape = b.input_shape_known
        if shape is None or len(shape) != 2:
            raise FrontendError(
                f"{source} is the first layer: give create_design(..., "
                "input_shape=(sequence_length, input_size))"
            )
        if shape[1] != first.input_size:
            raise FrontendError(
                f"input_shape {tuple(shape)} does not fit {source}, which takes "
                f"{first.input_size} features a step"
            )
        x = b.start(x, tuple(shape), first.x_type, first.rounding, first.overflow, source, True)
    elif not x.sequence:
        raise FrontendError(
            f"{source} takes (batch, sequence_length, {first.input_size}) sequences, but the "
            f"layer before it gives {tuple(x.torch_shape)}"
        )
    elif x.type.shape[1] != first.input_size:
        raise FrontendError(
            f"{source} expects {first.input_size} features a step, not {x.type.shape[1]}"
        )
    steps = x.type.shape[0]
    outputs = []
    for layer in layers:
        x = b.convert(x, layer.x_type, layer.rounding, layer.overflow, source)
        shape = (steps, layer.hidden_size)
        out = b.add(
            layer.cell,
            RecurrentLayerOp(layer, steps),
            [x],
            [x.type],
            TensorType(shape, layer.x_type),
            source,
            shape,
            None,
        )
        x = replace(out, sequence=True)
        outputs.append(x)
    h_n = FinalStates(b, outputs, source, "h_n")
    if isinstance(m, LSTM):
        return x, (h_n, CellStates(source))
    return x, h_n


def _linear(b: Builder, m: Linear, args: list[Any], source: str) -> Value:
    _check_parameters(m, source)
    x = _one(args, source)
    if x.sequence:  # applied at every step (many-to-many)
        if x.type.shape[-1] != m.in_features:
            raise FrontendError(
                f"{source} expects {m.in_features} features a step, not {x.type.shape[-1]}"
            )
        x = b.convert(x, m.fxp, m.rounding, m.overflow, source)
        return b.steps(m.steps(x.type, source), x, x.type, source)
    x = enter_vector(b, x, m, (m.in_features,), source)
    (step,) = m.steps(x.type, source)
    op = step.op
    assert isinstance(op, LinearOp)
    if x.order is not None and not np.array_equal(x.order, np.arange(x.type.size)):
        # the stream carries element order[i] at i: permute the columns to match
        step = replace(step, op=replace(op, weight=frozen_array(op.weight[:, x.order])))
    return b.steps([step], x, x.type, source)


def _conv(b: Builder, m: Any, args: list[Any], source: str) -> Value:
    _check_parameters(m, source)
    x = enter_map(b, _one(args, source), m.fxp, m, m.dims, source)
    return b.steps(m.steps(x.type, source), x, x.type, source)


def _batch_norm(b: Builder, m: Any, args: list[Any], source: str) -> Value:
    _check_parameters(m, source, ("weight", "bias", "running_mean", "running_var"))
    x = _one(args, source)
    if m.folded:
        return x  # the layer before it computes it
    if x.raw:
        raise FrontendError(f"{source} cannot be the first layer")
    x = b.convert(x, m.fxp, m.rounding, m.overflow, source)
    (step,) = m.steps(x.type, source)
    op = step.op
    assert isinstance(op, LinearOp) and op.bias is not None
    if len(x.torch_shape) == 1 and x.order is not None:
        # a flattened map: stream element i is feature order[i], with its own constants
        weight = frozen_array(np.diag(np.diag(op.weight)[x.order]))
        op = replace(op, weight=weight, bias=frozen_array(op.bias[x.order]))
    return b.steps([replace(step, op=op)], x, x.type, source, elementwise=True)


def _pool(b: Builder, m: Any, args: list[Any], source: str) -> Value:
    x = enter_map(b, _one(args, source), m.fxp, m, m.dims, source)
    if m.fxp is None:
        seen = b.inherited.setdefault(id(m), x.type.dtype)
        if seen != x.type.dtype:
            raise FrontendError(
                f"{source} without total_bits and frac_bits reads values of {seen} and "
                f"{x.type.dtype}; give it a format"
            )
        m.inherit_format(x.type.dtype)
    return b.steps(m.steps(x.type, source), x, x.type, source)


def _flatten(b: Builder, m: Any, args: list[Any], source: str) -> Value:
    x = _one(args, source)
    if x.raw:
        raise FrontendError(f"{source} cannot be the first layer")
    if (m.start_dim, m.end_dim) != (1, -1):
        raise FrontendError(f"{source}: only Flatten(start_dim=1, end_dim=-1) is supported")
    return flatten(x)


def flatten(x: Value) -> Value:
    """``x`` seen as the vector ``(size,)``: the stream is unchanged, only the layout."""
    size = x.type.size
    return Value(x.name, TensorType((size,), x.type.dtype), (size,), x.order, x.source)


def _piecewise(b: Builder, m: Any, args: list[Any], source: str) -> Value:
    x = enter_elementwise(b, _one(args, source), m.fxp, m, source)
    return b.steps(m.steps(x.type, source), x, x.type, source, elementwise=True)


def _pointwise_layer(b: Builder, m: _PointwiseLayer, args: list[Any], source: str) -> Value:
    x = _one(args, source)
    if m.fxp is None:  # a ReLU that keeps the format of the value it reads
        if x.raw:
            raise FrontendError(f"{source} needs frac_bits when it is the first layer")
        declared = getattr(m, "declared_total_bits", None)
        if declared is not None and declared != x.type.dtype.total_bits:
            raise FrontendError(
                f"{source} has total_bits={declared} but its input has "
                f"{x.type.dtype.total_bits}; give frac_bits too to convert"
            )
        return relu(b, x, source)
    x = enter_elementwise(b, x, m.fxp, m, source)
    params = m.pointwise_params()
    return b.add(params.kind, params, [x], [x.type], x.type, source, x.torch_shape, x.order)


def relu(b: Builder, x: Value, source: str) -> Value:
    """``max(x, 0)`` in the format of ``x``."""
    if x.raw:
        raise FrontendError(f"{source} needs frac_bits when it is the first layer")
    params = _pointwise.relu_params(x.type.dtype)
    return b.add("relu", params, [x], [x.type], x.type, source, x.torch_shape, x.order)


def clamp(b: Builder, x: Value, low: float, high: float, kind: str, source: str) -> Value:
    """``min(max(x, low), high)`` in the format of ``x``; the bounds must lie on its grid
    (else PyTorch's result would not)."""
    if x.raw:
        raise FrontendError(f"{source} reads the model input, whose format is not known yet")
    t = x.type.dtype
    if low > t.max_value or high < t.min_value:
        raise FrontendError(
            f"{source}: clamping {t} values to [{low}, {high}] gives values outside {t} "
            f"([{t.min_value}, {t.max_value}]); convert the input to a format that holds them"
        )
    if low > high:
        raise FrontendError(f"{source}: the min bound {low} is above the max bound {high}")
    for name, bound in (("min", low), ("max", high)):
        scaled = bound * 2**t.frac_bits
        if scaled != int(scaled):
            raise FrontendError(
                f"{source}: the {name} bound {bound} is not on the grid of its input ({t}: "
                f"multiples of {t.resolution}); use fixed_point.HardTanh to round it"
            )
    lo, hi = (max(t.min_int, min(t.max_int, int(v * 2**t.frac_bits))) for v in (low, high))
    params = PointwiseOp(kind, 1, 0, 0, lo, hi)
    return b.add(kind, params, [x], [x.type], x.type, source, x.torch_shape, x.order)


def _identity(b: Builder, m: torch.nn.Module, args: list[Any], source: str) -> Value:
    """Layers that compute nothing at inference (``Identity``, ``Dropout``)."""
    return _one(args, source)


def _torch_relu(b: Builder, m: Any, args: list[Any], source: str) -> Value:
    return relu(b, _one(args, source), source)


def _torch_relu6(b: Builder, m: Any, args: list[Any], source: str) -> Value:
    return clamp(b, _one(args, source), 0.0, 6.0, "relu6", source)


def _torch_hardtanh(b: Builder, m: Any, args: list[Any], source: str) -> Value:
    return clamp(b, _one(args, source), m.min_val, m.max_val, "hard_tanh", source)


def _torch_max_pool(b: Builder, m: Any, args: list[Any], source: str) -> Value:
    from elasticai.creator.frontend.functions import max_pool

    dims = 1 if isinstance(m, torch.nn.MaxPool1d) else 2
    return max_pool(
        b,
        _one(args, source),
        dims,
        m.kernel_size,
        m.stride,
        m.padding,
        m.dilation,
        m.ceil_mode,
        m.return_indices,
        source,
    )


def _add(b: Builder, m: Add, args: list[Any], source: str) -> Value:
    y = add_values(b, args[0], args[1], m.subtract, source)
    return b.convert(y, m.fxp, m.rounding, m.overflow, source)


def _concatenate(b: Builder, m: Concatenate, args: list[Any], source: str) -> Value:
    values = list(args[0]) if len(args) == 1 and isinstance(args[0], list | tuple) else args
    y = concat_values(b, values, 1, source)
    return y if m.fxp is None else b.convert(y, m.fxp, m.rounding, m.overflow, source)


MODULES: dict[type, Handler] = {
    Linear: _linear,
    _Recurrent: _recurrent,
    Conv1d: _conv,
    Conv2d: _conv,
    _BatchNorm: _batch_norm,
    MaxPool1d: _pool,
    MaxPool2d: _pool,
    AvgPool1d: _pool,
    AvgPool2d: _pool,
    AdaptiveAvgPool1d: _pool,
    AdaptiveAvgPool2d: _pool,
    ReLU: _pointwise_layer,
    ReLU6: _pointwise_layer,
    HardSigmoid: _pointwise_layer,
    HardTanh: _pointwise_layer,
    _PiecewiseLayer: _piecewise,
    Add: _add,
    Concatenate: _concatenate,
    torch.nn.Flatten: _flatten,
    torch.nn.Identity: _identity,
    torch.nn.Dropout: _identity,
    torch.nn.ReLU: _torch_relu,
    torch.nn.ReLU6: _torch_relu6,
    torch.nn.Hardtanh: _torch_hardtanh,
    torch.nn.MaxPool1d: _torch_max_pool,
    torch.nn.MaxPool2d: _torch_max_pool,
}


#: Layers whose output has the shape of their input.
SHAPE_KEEPING_MODULES: frozenset[Handler] = frozenset(
    {_pointwise_layer, _piecewise, _identity, _torch_relu, _torch_relu6, _torch_hardtanh}
)


def handler_of(module: torch.nn.Module) -> Handler | None:
    """The handler of ``module``'s type (or of the nearest base class that has one)."""
    for cls in type(module).__mro__:
        if cls in MODULES:
            return MODULES[cls]
    return None
