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

import torch
import torch.fx

from elasticai.creator.arithmetic import FixedType
from elasticai.creator.design import Design
from elasticai.creator.ir.graph import (
    INPUT,
    Graph,
    LinearParams,
    Node,
    Op,
    ParallelismTarget,
    TensorType,
    frozen_array,
)
from elasticai.creator.nn.fixed_point import _pointwise
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
    """The graph being built: the last value's name and type, and the nodes so far."""

    nodes: list[Node]
    value: str
    type: TensorType | None

    def add(
        self, op: Op, kind: str, in_type: TensorType, out_type: TensorType, params: Any, source: str
    ) -> None:
        name = f"{kind}_{len(self.nodes)}"
        self.nodes.append(Node(name, op, (self.value,), in_type, out_type, params, source))
        self.value, self.type = name, out_type

    def enter(self, fxp: FixedType, layer: Any, shape: tuple[int, ...], source: str) -> TensorType:
        """The input of a layer of format ``fxp``: converted if the value before differs."""
        wanted = TensorType(shape, fxp)
        if self.type is None:
            return wanted
        if self.type.shape != shape:
            raise ValueError(f"{source} expects shape {shape}, not {self.type.shape}")
        if self.type.dtype != fxp:
            params = _pointwise.convert_params(self.type.dtype, fxp, layer.rounding, layer.overflow)
            self.add(Op.POINTWISE, "convert", self.type, wanted, params, source)
        return wanted


def _check_finite(tensor: torch.Tensor, what: str, source: str) -> None:
    bad = ~torch.isfinite(tensor.detach())
    if bad.any():
        index = tuple(int(i) for i in bad.nonzero()[0])
        value = tensor.detach()[index].item()
        raise ValueError(f"{source} has a non-finite {what} ({value} at {list(index)})")


def _linear(m: Linear, chain: _Chain, source: str) -> None:
    _check_finite(m.weight, "weight", source)
    bias = None
    if m.bias is not None:
        _check_finite(m.bias, "bias", source)
        bias = frozen_array(m.int_bias().numpy())  # type: ignore[union-attr]
    in_type = chain.enter(m.fxp, m, (m.in_features,), source)
    params = LinearParams(
        weight=frozen_array(m.int_weight().numpy()),
        bias=bias,
        w_type=m.fxp,
        b_type=m.fxp if bias is not None else None,
        rounding=m.rounding,
        overflow=m.overflow,
        p_in=m.parallelism[0] if m.parallelism else 0,
        p_out=m.parallelism[1] if m.parallelism else 0,
    )
    out_type = TensorType((m.out_features,), m.fxp)
    chain.add(Op.LINEAR, "linear", in_type, out_type, params, source)


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
    shape = chain.type.shape if chain.type is not None else (1,)
    in_type = chain.enter(fxp, m, shape, source)
    chain.add(Op.POINTWISE, params.kind, in_type, in_type, params, source)


def _identity(m: torch.nn.Module, chain: _Chain, source: str) -> None:
    """Layers that compute nothing at inference (``Identity``, ``Dropout``)."""


HANDLERS: dict[type, Callable[[Any, _Chain, str], None]] = {
    Linear: _linear,
    ReLU: _pointwise_layer,
    HardSigmoid: _pointwise_layer,
    HardTanh: _pointwise_layer,
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
    supported = ", ".join(sorted(c.__name__ for c in HANDLERS))
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
    chain = _Chain([], INPUT, None)
    first_module: Any = None
    for position, module in _modules_in_order(model):
        _handler(module)(module, chain, f"{position} ({type(module).__name__})")  # type: ignore[misc]
        if first_module is None and chain.nodes:
            first_module = module
    if not chain.nodes:
        raise ValueError("the model has no layer to translate")
    nodes = chain.nodes
    if input_shape is not None and tuple(input_shape) != nodes[0].input_type.shape:
        nodes = _reshape_pointwise(nodes, tuple(input_shape))
    return Graph(
        name=name,
        input_type=nodes[0].input_type,
        nodes=tuple(nodes),
        input_rounding=first_module.rounding,
        input_overflow=first_module.overflow,
    )


def _reshape_pointwise(nodes: list[Node], shape: tuple[int, ...]) -> list[Node]:
    """Element-wise-only models take whatever ``input_shape`` says."""
    fixed = next((n for n in nodes if n.op is not Op.POINTWISE), None)
    if fixed is not None:
        raise ValueError(
            f"input_shape {shape} does not fit {fixed.source}, which takes {nodes[0].input_type.shape}"
        )
    return [
        replace(
            n,
            input_type=TensorType(shape, n.input_type.dtype),
            output_type=TensorType(shape, n.output_type.dtype),
        )
        for n in nodes
    ]


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
