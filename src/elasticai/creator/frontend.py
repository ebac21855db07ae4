"""PyTorch module -> IR graph: trace with torch.fx, then one handler per module type.

The handlers live in ``HANDLERS``; supporting a new layer is adding a row.
Where a layer's input format differs from what the layer before it produces,
an explicit ``convert`` node joins them (the same conversion the layer's
PyTorch forward makes when it quantizes its input).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch
import torch.fx

from elasticai.creator.arithmetic import FixedType
from elasticai.creator.design import Design
from elasticai.creator.ir.graph import (
    INPUT,
    Graph,
    GraphInput,
    GraphOutput,
    Node,
    ParallelismTarget,
    TensorType,
    frozen_array,
)
from elasticai.creator.nn.fixed_point import _pointwise
from elasticai.creator.nn.fixed_point.activations import ReLU6, _PiecewiseLayer
from elasticai.creator.nn.fixed_point.conv import (
    AdaptiveAvgPool1d,
    AdaptiveAvgPool2d,
    AvgPool1d,
    AvgPool2d,
    Conv1d,
    Conv2d,
    MaxPool1d,
    MaxPool2d,
    _BatchNorm,
)
from elasticai.creator.nn.fixed_point.layers import (
    HardSigmoid,
    HardTanh,
    Linear,
    ReLU,
    _PointwiseLayer,
)
from elasticai.creator.passes import run_pipeline
from elasticai.creator.vhdl.names import check_identifier

__all__ = ["translate", "to_graph", "HANDLERS", "UnsupportedModuleError"]


class UnsupportedModuleError(TypeError):
    """A model contains something that cannot be translated."""


@dataclass
class _Chain:
    """The graph being built: the last value's name, stream type and layout, and the nodes.

    ``torch_shape`` is the value's shape in the model (without batch); ``order[i]`` is
    the model's flat index of stream element ``i`` (``None``: the same order). Maps
    (``(channels, *spatial)`` in the model) stream channels last.
    """

    nodes: list[Node]
    value: str
    type: TensorType | None
    torch_shape: tuple[int, ...] = ()
    order: np.ndarray | None = None
    input_shape: tuple[int, ...] | None = None  # what the user said the model takes
    first: tuple[tuple[int, ...], np.ndarray | None] | None = None  # model input shape, order

    def add(
        self, kind: str, in_type: TensorType, out_type: TensorType, op: Any, source: str
    ) -> None:
        name = f"{kind}_{len(self.nodes)}"
        self.nodes.append(Node(name, op, (self.value,), (in_type,), out_type, source))
        self.value, self.type = name, out_type

    def start(self, torch_shape: tuple[int, ...], fxp: FixedType) -> TensorType:
        """The model's input: a vector, or a ``(channels, *spatial)`` map streamed channels
        last."""
        order: np.ndarray | None = None
        stream = TensorType(torch_shape, fxp)
        if len(torch_shape) > 1:
            stream = TensorType((*torch_shape[1:], torch_shape[0]), fxp)
            order = _channels_last_order(torch_shape)
        self.type, self.torch_shape, self.order = stream, torch_shape, order
        self.first = (torch_shape, order)
        return stream

    def enter(self, fxp: FixedType, layer: Any, shape: tuple[int, ...], source: str) -> TensorType:
        """The input of a layer of format ``fxp``: converted if the value before differs."""
        if self.type is None:
            return self.start(shape, fxp)
        if self.type.shape != shape:
            raise ValueError(f"{source} expects shape {shape}, not {self.type.shape}")
        return self.convert(fxp, layer, source)

    def enter_elementwise(self, fxp: FixedType, layer: Any, source: str) -> TensorType:
        """The input of an element-wise layer: any shape (``input_shape``, else one value)."""
        if self.type is None:
            return self.start(self.input_shape or (1,), fxp)
        return self.convert(fxp, layer, source)

    def convert(self, fxp: FixedType, layer: Any, source: str) -> TensorType:
        assert self.type is not None
        wanted = TensorType(self.type.shape, fxp)
        if self.type.dtype != fxp:
            params = _pointwise.convert_params(self.type.dtype, fxp, layer.rounding, layer.overflow)
            self.add("convert", self.type, wanted, params, source)
        return wanted

    def enter_map(self, fxp: FixedType | None, layer: Any, dims: int, source: str) -> TensorType:
        """The input of a layer that takes a ``(channels, *spatial)`` map with ``dims``
        spatial dimensions, streaming channels last."""
        if self.type is None:
            shape = self.input_shape
            if shape is None or len(shape) != dims + 1:
                wanted = "(channels, length)" if dims == 1 else "(channels, height, width)"
                raise ValueError(
                    f"{source} is the first layer: give create_design(..., input_shape={wanted})"
                )
            if fxp is None:
                raise ValueError(f"{source} is the first layer: give it total_bits and frac_bits")
            return self.start(tuple(shape), fxp)
        is_map = self.order is not None and np.array_equal(
            self.order, _channels_last_order(self.torch_shape)
        )
        if len(self.torch_shape) != dims + 1 or not is_map:
            raise ValueError(
                f"{source} takes (batch, channels, {'length' if dims == 1 else 'height, width'}) "
                f"maps, but the layer before it gives {tuple(self.torch_shape)}"
            )
        return self.convert(fxp or self.type.dtype, layer, source)

    def add_steps(self, steps: list[Any], in_type: TensorType, source: str) -> None:
        t = in_type
        for step in steps:
            self.add(step.kind, t, step.output_type, step.op, source)
            t = step.output_type
        shape = t.shape
        if len(shape) > 1:  # a map: the model sees (channels, *spatial)
            self.torch_shape = (shape[-1], *shape[:-1])
            self.order = _channels_last_order(self.torch_shape)


def _channels_last_order(torch_shape: tuple[int, ...]) -> np.ndarray:
    """Model flat index of each stream element of a channels-last map."""
    index = np.arange(int(np.prod(torch_shape))).reshape(torch_shape)
    return np.moveaxis(index, 0, -1).ravel()


def _check_finite(tensor: torch.Tensor, what: str, source: str) -> None:
    bad = ~torch.isfinite(tensor.detach())
    if bad.any():
        index = tuple(int(i) for i in bad.nonzero()[0])
        value = tensor.detach()[index].item()
        raise ValueError(f"{source} has a non-finite {what} ({value} at {list(index)})")


def _linear(m: Linear, chain: _Chain, source: str) -> None:
    _check_finite(m.weight, "weight", source)
    if m.bias is not None:
        _check_finite(m.bias, "bias", source)
    in_type = chain.enter(m.fxp, m, (m.in_features,), source)
    (step,) = m.steps(in_type, source)
    if chain.order is not None and not np.array_equal(chain.order, np.arange(in_type.size)):
        # the stream carries element order[i] at i: permute the columns to match
        weight = step.op.weight[:, chain.order]
        step = replace(step, op=replace(step.op, weight=frozen_array(weight)))
    chain.add_steps([step], in_type, source)
    chain.torch_shape, chain.order = (m.out_features,), None


def _conv(m: Any, chain: _Chain, source: str) -> None:
    _check_finite(m.weight, "weight", source)
    if m.bias is not None:
        _check_finite(m.bias, "bias", source)
    in_type = chain.enter_map(m.fxp, m, m.dims, source)
    chain.add_steps(m.steps(in_type, source), in_type, source)


def _batch_norm(m: Any, chain: _Chain, source: str) -> None:
    for what in ("weight", "bias", "running_mean", "running_var"):
        if getattr(m, what) is not None:
            _check_finite(getattr(m, what), what, source)
    if m.folded:
        return  # the layer before it computes it
    if chain.type is None:
        raise ValueError(f"{source} cannot be the first layer")
    in_type = chain.convert(m.fxp, m, source)
    chain.add_steps(m.steps(in_type, source), in_type, source)


def _pool(m: Any, chain: _Chain, source: str) -> None:
    in_type = chain.enter_map(m.fxp, m, m.dims, source)
    chain.add_steps(m.steps(in_type, source), in_type, source)


def _flatten(m: Any, chain: _Chain, source: str) -> None:
    if chain.type is None:
        raise ValueError(f"{source} cannot be the first layer")
    if (m.start_dim, m.end_dim) != (1, -1):
        raise ValueError(f"{source}: only Flatten(start_dim=1, end_dim=-1) is supported")
    size = chain.type.size
    chain.type = TensorType((size,), chain.type.dtype)
    chain.torch_shape = (size,)


def _piecewise(m: Any, chain: _Chain, source: str) -> None:
    in_type = chain.enter_elementwise(m.fxp, m, source)
    steps = m.steps(in_type, source)
    for step in steps:
        chain.add(step.kind, in_type, step.output_type, step.op, source)


def _pointwise_layer(m: _PointwiseLayer, chain: _Chain, source: str) -> None:
    if m.fxp is None:  # a ReLU that keeps the format of the layer before it
        if chain.type is None:
            raise ValueError(f"{source} needs frac_bits when it is the first layer")
        declared = getattr(m, "declared_total_bits", None)
        if declared is not None and declared != chain.type.dtype.total_bits:
            raise ValueError(
                f"{source} has total_bits={declared} but its input has "
                f"{chain.type.dtype.total_bits}; give frac_bits too to convert"
            )
        fxp = chain.type.dtype
        params = _pointwise.relu_params(fxp)
    else:
        fxp = m.fxp
        params = m.pointwise_params()
    in_type = chain.enter_elementwise(fxp, m, source)
    chain.add(params.kind, in_type, in_type, params, source)


def _identity(m: torch.nn.Module, chain: _Chain, source: str) -> None:
    """Layers that compute nothing at inference (``Identity``, ``Dropout``)."""


HANDLERS: dict[type, Callable[[Any, _Chain, str], None]] = {
    Linear: _linear,
    Conv1d: _conv,
    Conv2d: _conv,
    _BatchNorm: _batch_norm,
    MaxPool1d: _pool,
    MaxPool2d: _pool,
    AvgPool1d: _pool,
    AvgPool2d: _pool,
    AdaptiveAvgPool1d: _pool,
    AdaptiveAvgPool2d: _pool,
    torch.nn.Flatten: _flatten,
    ReLU: _pointwise_layer,
    ReLU6: _pointwise_layer,
    HardSigmoid: _pointwise_layer,
    HardTanh: _pointwise_layer,
    _PiecewiseLayer: _piecewise,
    torch.nn.Identity: _identity,
    torch.nn.Dropout: _identity,
}


def _handler(module: torch.nn.Module) -> Callable[[Any, _Chain, str], None] | None:
    for cls in type(module).__mro__:
        if cls in HANDLERS:
            return HANDLERS[cls]
    return None


class _Tracer(torch.fx.Tracer):
    def is_leaf_module(self, m: torch.nn.Module, module_qualified_name: str) -> bool:
        return _handler(m) is not None or super().is_leaf_module(m, module_qualified_name)


def _position(target: str) -> str:
    """``"block.2"`` -> ``"model.block[2]"``."""
    text = "model"
    for part in target.split("."):
        text += f"[{part}]" if part.isdigit() else f".{part}"
    return text


def _describe(module: torch.nn.Module) -> str:
    cls = type(module)
    return f"{cls.__module__}.{cls.__qualname__}"


def _unsupported(position: str, module: torch.nn.Module) -> UnsupportedModuleError:
    from elasticai.creator.nn import fixed_point

    layers = {name for name in fixed_point.__all__ if name != "quantize"}
    supported = ", ".join(sorted(layers | {"Identity", "Dropout", "Flatten"}))
    return UnsupportedModuleError(
        f"{position} ({_describe(module)}) is not supported; supported layers: {supported}"
    )


def _modules_in_order(model: torch.nn.Module) -> list[tuple[str, torch.nn.Module]]:
    """The model's layers as a chain ``[(position, module)]``, or a clear error."""
    if _handler(model) is not None:
        return [("model", model)]
    if not list(model.children()) and not isinstance(model, torch.nn.Sequential):
        raise _unsupported("model", model)
    try:
        traced = _Tracer().trace(model)
    except Exception as error:  # fx raises many kinds
        raise UnsupportedModuleError(
            f"the model cannot be traced with torch.fx: {error}"
        ) from error
    chain: list[tuple[str, torch.nn.Module]] = []
    previous = None
    for node in traced.nodes:
        if node.op in ("placeholder", "output", "get_attr"):
            if node.op == "placeholder" and previous is not None:
                raise UnsupportedModuleError("models with more than one input are not supported")
            previous = previous if node.op != "placeholder" else node
            continue
        if node.op != "call_module":
            raise UnsupportedModuleError(
                f"{node.op} {getattr(node.target, '__name__', node.target)!s} "
                f"(at '{node.name}') is not supported; only chains of supported layers are"
            )
        module = model.get_submodule(str(node.target))
        position = _position(str(node.target))
        if _handler(module) is None:
            raise _unsupported(position, module)
        if len(node.args) != 1 or node.args[0] is not previous or node.kwargs:
            raise UnsupportedModuleError(
                f"{position} does not take the output of the layer before it; only chains are"
                " supported"
            )
        chain.append((position, module))
        previous = node
    return chain


def to_graph(
    model: torch.nn.Module, name: str, input_shape: tuple[int, ...] | None = None
) -> Graph:
    """The IR of ``model`` (before passes). ``input_shape`` matters only where no layer
    fixes the number of input features (element-wise layers alone); it defaults to (1,)."""
    given = tuple(input_shape) if input_shape is not None else None
    chain = _Chain([], INPUT, None, input_shape=given)
    first_module: Any = None
    for position, module in _modules_in_order(model):
        _handler(module)(module, chain, f"{position} ({type(module).__name__})")  # type: ignore[misc]
        if first_module is None and chain.nodes:
            first_module = module
    if not chain.nodes or chain.first is None:
        raise ValueError("the model has no layer to translate")
    nodes = chain.nodes
    torch_input, input_order = chain.first
    if given is not None and given != torch_input:
        raise ValueError(
            f"input_shape {given} does not fit {nodes[0].source}, which takes {torch_input}"
        )
    graph_input = GraphInput(
        INPUT,
        nodes[0].input_type,
        first_module.rounding,
        first_module.overflow,
        torch_shape=torch_input,
        order=_order(input_order),
    )
    output = GraphOutput(nodes[-1].name, tuple(chain.torch_shape), _order(chain.order))
    return Graph(name, (graph_input,), tuple(nodes), (output,))


def _order(order: np.ndarray | None) -> tuple[int, ...]:
    if order is None or np.array_equal(order, np.arange(order.size)):
        return ()
    return tuple(int(i) for i in order)


def translate(
    model: torch.nn.Module,
    name: str,
    *,
    input_shape: tuple[int, ...] | None = None,
    parallelism: str | None = None,
    target_ii: int | None = None,
    max_multipliers: int | None = None,
) -> Design:
    """``model`` as a hardware ``Design`` named ``name`` (the VHDL top entity).

    The parallelism knob, model-wide (per layer: ``Linear(parallelism=...)``):
    ``parallelism="serial"`` (default) one multiply-accumulate unit per layer;
    ``parallelism="full"`` one sample per clock; ``target_ii=N`` a sample every ``N``
    cycles with the fewest multipliers; ``max_multipliers=M`` the fastest design
    with at most ``M`` multipliers.
    """
    check_identifier(name)
    if parallelism not in (None, "serial", "full"):
        raise ValueError(f"parallelism must be 'serial' or 'full', not {parallelism!r}")
    target = ParallelismTarget(target_ii, max_multipliers, parallelism == "full")
    graph = replace(to_graph(model, name, input_shape), parallelism=target)
    return Design(run_pipeline(graph))
