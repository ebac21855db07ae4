"""The graph being built: values with their layout in the model, and the nodes so far.

A ``Value`` is one tensor of the model as it streams: its IR value name and type,
its shape in the model (without batch), and ``order`` (stream element ``i`` is element
``order[i]`` of the model's tensor, flattened in PyTorch's order; ``None``: the same
order). Maps (``(channels, *spatial)`` in the model) stream channels last.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from elasticai.creator.arithmetic import FixedType, Overflow, Rounding
from elasticai.creator.ir.graph import INPUT, Node
from elasticai.creator.ir.op import OpDef
from elasticai.creator.ir.types import TensorType
from elasticai.creator.nn.fixed_point import _pointwise

__all__ = ["Value", "Builder", "channels_last_order", "FrontendError"]


class FrontendError(ValueError):
    """A model that cannot be translated as it is (shapes, formats)."""


def channels_last_order(torch_shape: tuple[int, ...]) -> np.ndarray:
    """Model flat index of each stream element of a channels-last map."""
    index = np.arange(int(np.prod(torch_shape))).reshape(torch_shape)
    return np.moveaxis(index, 0, -1).ravel()


@dataclass(frozen=True, eq=False)
class Value:
    """A tensor of the model: the IR value carrying it and its layout in the model."""

    name: str
    type: TensorType
    torch_shape: tuple[int, ...]
    order: np.ndarray | None = None
    source: str = ""  # what produced it, for messages
    #: the real-valued model input, before a layer quantized it (its type is not known)
    raw: bool = False
    #: a sequence ``(steps, features)`` (batch first in the model), streaming step by step
    sequence: bool = False

    @property
    def is_map(self) -> bool:
        """A ``(channels, *spatial)`` map streaming channels last."""
        return (
            len(self.torch_shape) > 1
            and self.order is not None
            and np.array_equal(self.order, channels_last_order(self.torch_shape))
        )

    def same_layout(self, other: Value) -> bool:
        if self.torch_shape != other.torch_shape:
            return False
        a = self.order if self.order is not None else np.arange(self.type.size)
        b = other.order if other.order is not None else np.arange(other.type.size)
        return bool(np.array_equal(a, b))


def stream_type(
    torch_shape: tuple[int, ...], fxp: FixedType
) -> tuple[TensorType, np.ndarray | None]:
    """The stream of a model tensor of ``torch_shape``: a vector as it is, a map channels last."""
    if len(torch_shape) > 1:
        return TensorType((*torch_shape[1:], torch_shape[0]), fxp), channels_last_order(torch_shape)
    return TensorType(torch_shape, fxp), None


@dataclass
class Builder:
    """Collects the nodes of the graph; knows the model input once a layer fixed it."""

    input_shape: tuple[int, ...] | None
    #: the input shape the first Linear takes, where the user gave none
    default_shape: tuple[int, ...] | None = None
    nodes: list[Node] = field(default_factory=list)
    input: Value | None = None
    input_rounding: Rounding = Rounding.HALF_EVEN
    input_overflow: Overflow = Overflow.SATURATE
    first_reader: str = ""
    #: formats that layers without one took in this translation, by ``id`` of the layer
    inherited: dict[int, FixedType] = field(default_factory=dict)
    _converted: dict[tuple[Any, ...], Value] = field(default_factory=dict)

    def add(
        self,
        kind: str,
        op: OpDef,
        inputs: Sequence[Value],
        in_types: Sequence[TensorType],
        out_type: TensorType,
        source: str,
        torch_shape: tuple[int, ...],
        order: np.ndarray | None,
    ) -> Value:
        """A node named ``<kind>_<number>`` reading ``inputs`` as ``in_types``."""
        name = f"{kind}_{len(self.nodes)}"
        node = Node(name, op, tuple(v.name for v in inputs), tuple(in_types), out_type, source)
        self.nodes.append(node)
        return Value(name, out_type, torch_shape, order, source)

    def steps(
        self,
        steps: Sequence[Any],
        value: Value,
        in_type: TensorType,
        source: str,
        elementwise: bool = False,
    ) -> Value:
        """A layer's ``steps`` (``nn.fixed_point._steps.Step``) after each other from ``value``
        (read as ``in_type``); a map stays a map, a vector a vector. ``elementwise``: the
        result is laid out as ``value`` is (a flattened map stays in its stream order)."""
        start = value
        t = in_type
        for step in steps:
            value = self.add(step.kind, step.op, [value], [t], step.output_type, source, (), None)
            t = step.output_type
        if elementwise:
            return Value(
                value.name, t, start.torch_shape, start.order, source, sequence=start.sequence
            )
        shape = t.shape
        if start.sequence and len(shape) == 2:  # a layer applied at every step
            return Value(value.name, t, shape, None, source, sequence=True)
        if len(shape) > 1:  # a map: the model sees (channels, *spatial)
            torch_shape = (shape[-1], *shape[:-1])
            return Value(value.name, t, torch_shape, channels_last_order(torch_shape), source)
        return Value(value.name, t, shape, None, source)

    # --- the model's input ------------------------------------------------------------

    def start(
        self,
        value: Value,
        torch_shape: tuple[int, ...],
        fxp: FixedType,
        rounding: Rounding,
        overflow: Overflow,
        source: str,
        sequence: bool = False,
    ) -> Value:
        """The design's input as a layer of format ``fxp`` reads the real model input
        ``value``: the first such layer fixes it; every other one must read it the same way
        (PyTorch rounds the real input in each layer, one integer input only once).
        ``sequence``: ``(steps, features)``, streaming step by step (not a map)."""
        assert value.raw
        if self.input is None:
            if sequence:
                t, order = TensorType(torch_shape, fxp), None
            else:
                t, order = stream_type(torch_shape, fxp)
            self.input = Value(INPUT, t, torch_shape, order, "the model input", sequence=sequence)
            self.input_rounding, self.input_overflow = rounding, overflow
            self.first_reader = source
            return self.input
        given = self.input
        if torch_shape != given.torch_shape:
            raise FrontendError(
                f"{source} takes inputs of shape {torch_shape}, but {self.first_reader} takes "
                f"{given.torch_shape}"
            )
        wanted = (fxp, rounding, overflow)
        if wanted != (given.type.dtype, self.input_rounding, self.input_overflow):
            raise FrontendError(
                f"the model input is read by {self.first_reader} as {given.type.dtype} "
                f"({self.input_rounding.value}, {self.input_overflow.value}) and by {source} as "
                f"{fxp} ({rounding.value}, {overflow.value}); quantize it once first: "
                "x = fixed_point.quantize(x, total_bits, frac_bits)"
            )
        return given

    @property
    def input_shape_known(self) -> tuple[int, ...] | None:
        """The model input's shape: fixed by a layer, else given, else ``None``."""
        if self.input is not None:
            return self.input.torch_shape
        return None if self.input_shape is None else tuple(self.input_shape)

    # --- conversions ------------------------------------------------------------------

    def convert(
        self, value: Value, fxp: FixedType, rounding: Rounding, overflow: Overflow, source: str
    ) -> Value:
        """``value`` in format ``fxp``: itself, or an explicit ``convert`` node (one per value,
        view of it, format and rounding, shared by every reader that needs it; a map and its
        flattened view are one stream but two IR types, so each gets its own)."""
        if value.type.dtype == fxp:
            return value
        order = None if value.order is None else value.order.tobytes()
        view = (value.type.shape, value.torch_shape, order)
        key = (value.name, view, fxp, rounding, overflow)
        if key not in self._converted:
            params = _pointwise.convert_params(value.type.dtype, fxp, rounding, overflow)
            out = TensorType(value.type.shape, fxp)
            converted = self.add(
                "convert",
                params,
                [value],
                [value.type],
                out,
                source,
                value.torch_shape,
                value.order,
            )
            self._converted[key] = replace(converted, sequence=value.sequence)
        return self._converted[key]
