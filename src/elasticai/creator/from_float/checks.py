"""What ``quantize`` checks before it builds anything: its options, that every part of
the float model can be converted (all problems in one ``UnsupportedModuleError``), the
overrides, and the calibration data's shape (against the first layer that reads it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.fx

from elasticai.creator.from_float.layers import (
    FUNCTIONS,
    METHODS,
    MODULES,
    Call,
    Kind,
    is_library_layer,
    kind_of,
)
from elasticai.creator.from_float.ranges import RECURRENT
from elasticai.creator.frontend.functions import FUNCTIONS as TRANSLATED_FUNCTIONS
from elasticai.creator.frontend.functions import METHODS as TRANSLATED_METHODS
from elasticai.creator.frontend.torch_fx import (
    UnsupportedModuleError,
    _call_name,
    _describe,
    _line,
    first_from_input,
    position,
    where,
)

__all__ = [
    "Layer",
    "READ_INPUT",
    "BATCH_NORMS",
    "check_bits",
    "trace",
    "plan",
    "check_overrides",
    "check_data",
]

#: Calls that join tensors: every operand must be a tensor of the model.
_JOINS = {"add", "iadd", "sub", "isub", "add_", "sub_"}
_CLAMPS = {torch.clamp, torch.clip, "clamp", "clip"}
BATCH_NORMS = (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)
#: Layers that read a real-valued model input on their own; anything else reads it
#: through an explicit ``quantize`` (as the frontend requires).
READ_INPUT = (torch.nn.Linear, torch.nn.Conv1d, torch.nn.Conv2d, *RECURRENT)


@dataclass
class Layer:
    """A layer of the quantized model: its row, what it is built from, the float nodes
    that call it."""

    name: str
    kind: Kind
    source: Any
    nodes: list[torch.fx.Node] = field(default_factory=list)


def check_bits(
    total_bits: Any, weight_total_bits: Any, bias_total_bits: Any, percentile: Any
) -> None:
    """``ValueError`` for widths below 2 bits or a percentile outside (0, 100]."""
    for name, value in (
        ("total_bits", total_bits),
        ("weight_total_bits", weight_total_bits),
        ("bias_total_bits", bias_total_bits),
    ):
        if value is None and name != "total_bits":
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 2:
            raise ValueError(f"{name} must be an int of at least 2, not {value!r}")
    if percentile is not None and not (
        isinstance(percentile, int | float) and 0 < percentile <= 100
    ):
        raise ValueError(f"percentile must be a number in (0, 100], not {percentile!r}")


class _Tracer(torch.fx.Tracer):
    record_stack_traces = True

    def is_leaf_module(self, m: torch.nn.Module, module_qualified_name: str) -> bool:
        return is_library_layer(m) or super().is_leaf_module(m, module_qualified_name)


def trace(model: torch.nn.Module) -> torch.fx.GraphModule:
    """``model``'s forward as a ``GraphModule`` sharing its layers (``torch.nn`` layers and
    the library's as leaves; a single ``torch.nn`` layer as ``Sequential(layer)``)."""
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, not {type(model).__name__}")
    root = model if type(model) not in MODULES else torch.nn.Sequential(model)
    try:
        graph = _Tracer().trace(root)
    except Exception as error:  # fx raises many kinds
        raise UnsupportedModuleError(
            f"the model cannot be traced with torch.fx: {error}"
        ) from error
    return torch.fx.GraphModule(root, graph)


def plan(traced: torch.fx.GraphModule) -> tuple[dict[str, Layer], dict[torch.fx.Node, str]]:
    """The layers of the quantized model and the calls that become layers (by the name of
    their layer); ``UnsupportedModuleError`` listing everything that cannot be converted."""
    layers: dict[str, Layer] = {}
    replaced: dict[torch.fx.Node, str] = {}
    problems: list[str] = []
    taken = {name for name, _ in traced.named_modules()}
    inputs = 0
    for node in traced.graph.nodes:
        if node.op == "placeholder":
            inputs += 1
            if inputs == 2:
                problems.append("a second input (only models with one input are supported)")
        elif node.op == "call_module":
            module = traced.get_submodule(str(node.target))
            kind = kind_of(module)
            place = f"{position(str(node.target))} ({_describe(module)})"
            if kind is None:
                problems.append(place)
            elif reason := kind.check(module):
                problems.append(f"{place}: {reason}")
            else:
                layers.setdefault(str(node.target), Layer(str(node.target), kind, module))
                layers[str(node.target)].nodes.append(node)
        elif node.op in ("call_function", "call_method"):
            call = Call(tuple(node.args[1:]), dict(node.kwargs))
            table: Mapping[Any, Kind] = FUNCTIONS if node.op == "call_function" else METHODS
            found = table.get(node.target)
            if node.target in _CLAMPS and not _bounded(call):
                found = None  # one bound: the frontend clamps in the input's format
            if found is not None:
                if reason := found.check(call):
                    problems.append(_call_problem(node, reason))
                    continue
                name = _unique(node.name, taken)
                taken.add(name)
                layers[name] = Layer(name, found, call, [node])
                replaced[node] = name
            elif (problem := _translated(node)) is not None:
                problems.append(_call_problem(node, problem))
        elif node.op == "get_attr":
            problems.append(
                f"{where(node)}: the parameter or buffer {node.target} used directly "
                f"(node {node.name}){_code(node)}"
            )
    if problems:
        raise UnsupportedModuleError(_report(problems))
    return layers, replaced


def _bounded(call: Call) -> bool:
    return call.get(1, "min", None) is not None and call.get(2, "max", None) is not None


def _translated(node: torch.fx.Node) -> str | None:
    """Why ``create_design`` cannot translate this call as it is (``""``: no handler), or
    ``None``."""
    if node.op == "call_function":
        if node.target not in TRANSLATED_FUNCTIONS:
            return ""
    elif str(node.target) not in TRANSLATED_METHODS:
        return ""
    if node.target is getattr and node.args[1] != "shape":
        return ""
    name = getattr(node.target, "__name__", str(node.target))
    operands: list[Any] = []
    if name in _JOINS:
        operands = list(node.args[:2])
    elif node.target in (torch.cat, torch.concat, torch.concatenate):
        tensors: Any = node.args[0] if node.args else node.kwargs.get("tensors", ())
        operands = list(tensors)
    if any(not isinstance(v, torch.fx.Node) for v in operands):
        return "with a constant (only tensors of the model can be joined)"
    return None


def _unique(name: str, taken: set[str]) -> str:
    k, candidate = 1, name
    while candidate in taken:
        candidate, k = f"{name}_{k}", k + 1
    return candidate


def _code(node: torch.fx.Node) -> str:
    line = _line(node)
    return f" [{line.code}]" if line and line.code else ""


def _call_problem(node: torch.fx.Node, reason: str) -> str:
    """``model.forward line 12: torch.matmul (node matmul) [y = torch.matmul(a, b)]``."""
    name = f"Tensor.{node.args[1]}" if node.target is getattr else _call_name(node)
    what = f"{name} {reason}" if reason else name
    return f"{where(node)}: {what} (node {node.name}){_code(node)}"


def _report(problems: list[str]) -> str:
    """One line for one problem, else one line each; then what can be converted."""
    layers = ", ".join(sorted(f"{t.__name__}" for t in MODULES))
    calls = ", ".join(sorted({_name(f) for f in FUNCTIONS} | {f"x.{m}()" for m in METHODS}))
    supported = (
        f"quantize converts these torch.nn layers: {layers}; these calls: {calls}; and keeps "
        "what create_design translates (a + b, a - b, torch.cat(dim=1), F.relu, "
        "F.max_pool1d/2d, torch.flatten(x, 1), x.view(x.size(0), -1), x[:, k] of sequences)"
    )
    if len(problems) == 1:
        return f"{problems[0]} cannot be quantized; {supported}"
    listed = "\n".join(f"  {p}" for p in problems)
    return f"{len(problems)} parts of the model cannot be quantized:\n{listed}\n{supported}"


def _name(function: Any) -> str:
    module = "F" if getattr(torch.nn.functional, function.__name__, None) is function else "torch"
    return f"{module}.{function.__name__}"


def check_overrides(overrides: Any, layers: dict[str, Layer]) -> dict[str, dict[str, Any]]:
    """``overrides`` by layer name; an error for a name of no layer with a format, or for a
    keyword its library layer does not take."""
    if overrides is None:
        return {}
    if not isinstance(overrides, Mapping):
        raise TypeError(
            f"overrides must map layer names to keyword arguments, not {type(overrides).__name__}"
        )
    known = ", ".join(sorted(n for n, layer in layers.items() if layer.kind.keys()))
    chosen = {}
    for name, keywords in overrides.items():
        layer = layers.get(name)
        if layer is None or not layer.kind.keys():
            raise ValueError(
                f"overrides names {name!r}, which is not a layer of the model with a format; "
                f"those are: {known}"
            )
        if not isinstance(keywords, Mapping):
            raise TypeError(
                f"overrides[{name!r}] must be a dict of keyword arguments, not "
                f"{type(keywords).__name__}"
            )
        allowed = layer.kind.keys()
        for key in keywords:
            if key not in allowed:
                raise ValueError(
                    f"overrides[{name!r}] gives {key!r}, which {layer.kind.library.__name__} "
                    f"does not take; it takes: {', '.join(sorted(allowed))}"
                )
        chosen[name] = dict(keywords)
    return chosen


def check_data(data: Any, traced: torch.fx.GraphModule) -> tuple[torch.Tensor, int]:
    """``data`` as a float tensor, and the dimension of its batch."""
    if hasattr(data, "__array__") and not isinstance(data, torch.Tensor):
        data = torch.as_tensor(data)
    if not isinstance(data, torch.Tensor):
        raise TypeError(
            f"calibration_data must be a tensor (a batch of the model's inputs), not "
            f"{type(data).__name__}"
        )
    if not data.is_floating_point():
        data = data.to(torch.get_default_dtype())
    shape = tuple(data.shape)
    first = _first_layer(traced)
    batch_dim = 0
    if first is not None:
        place, module = first
        wanted, fits, batch_dim = _expected(module)
        if not fits(shape):
            raise ValueError(
                f"calibration_data has shape {shape}, but {place} "
                f"({type(module).__name__}), the first layer, takes {wanted}"
            )
    if data.dim() < 2 or shape[batch_dim] == 0:
        raise ValueError(
            f"calibration_data must be a batch of at least one input, not a tensor of shape {shape}"
        )
    bad = ~torch.isfinite(data)
    if bad.any():
        index = [int(i) for i in bad.nonzero()[0]]
        raise ValueError(
            f"calibration_data must hold numbers; it has {data[tuple(index)].item()} at {index}"
        )
    return data, batch_dim


#: Layers and calls whose output has the shape of their input.
_SHAPE_KEEPING_MODULES = (
    torch.nn.ReLU,
    torch.nn.ReLU6,
    torch.nn.Hardtanh,
    torch.nn.Hardsigmoid,
    torch.nn.Hardswish,
    torch.nn.Sigmoid,
    torch.nn.Tanh,
    torch.nn.SiLU,
    torch.nn.LeakyReLU,
    torch.nn.PReLU,
    torch.nn.Dropout,
    torch.nn.Identity,
)
_SHAPE_KEEPING_CALLS = {
    *(f for f in FUNCTIONS if "pool" not in f.__name__),
    *METHODS,
    torch.relu,
    torch.nn.functional.relu,
    torch.nn.functional.dropout,
    "relu",
    "contiguous",
}


def _first_layer(traced: torch.fx.GraphModule) -> tuple[str, torch.nn.Module] | None:
    """The first layer with an input shape of its own that reads the model input (through
    layers and calls that keep the shape)."""

    def module(node: torch.fx.Node) -> torch.nn.Module | None:
        return traced.get_submodule(str(node.target)) if node.op == "call_module" else None

    def takes_a_shape(node: torch.fx.Node) -> tuple[str, torch.nn.Module] | None:
        m = module(node)
        if isinstance(m, (*READ_INPUT, *BATCH_NORMS)):
            return position(str(node.target)), m
        return None

    def keeps_shape(node: torch.fx.Node) -> bool:
        if node.op == "call_module":
            return isinstance(module(node), _SHAPE_KEEPING_MODULES)
        return node.op in ("call_function", "call_method") and node.target in _SHAPE_KEEPING_CALLS

    inputs = [n for n in traced.graph.nodes if n.op == "placeholder"][:1]
    return first_from_input(inputs, takes_a_shape, keeps_shape)


def _expected(m: torch.nn.Module) -> tuple[str, Any, int]:
    """What ``m`` takes: its description, a test of a shape, the batch dimension."""
    if isinstance(m, torch.nn.Linear):
        n = m.in_features
        return f"(batch, {n})", lambda s: len(s) >= 2 and s[-1] == n, 0
    if isinstance(m, RECURRENT):
        n = m.input_size
        if m.batch_first:
            return f"(batch, sequence_length, {n})", lambda s: len(s) == 3 and s[2] == n, 0
        return f"(sequence_length, batch, {n})", lambda s: len(s) == 3 and s[2] == n, 1
    if isinstance(m, torch.nn.BatchNorm1d):
        n = m.num_features
        return f"(batch, {n}) or (batch, {n}, length)", lambda s: len(s) in (2, 3) and s[1] == n, 0
    channels = getattr(m, "in_channels", None) or getattr(m, "num_features", 0)
    if isinstance(m, torch.nn.Conv1d):
        return f"(batch, {channels}, length)", lambda s: len(s) == 3 and s[1] == channels, 0
    return f"(batch, {channels}, height, width)", lambda s: len(s) == 4 and s[1] == channels, 0
