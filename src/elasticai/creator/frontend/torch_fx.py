"""Trace a model with torch.fx and walk its graph: every node to its handler.

The library's layers are leaves of the trace; everything else a ``forward`` does is
traced into calls of functions and methods. Each call goes to its handler
(``modules.MODULES``, ``functions.FUNCTIONS``/``METHODS``); calls without one are
collected and reported together, each with where the model's ``forward`` made it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import torch
import torch.fx

from elasticai.creator.frontend.functions import FUNCTIONS, METHODS, Unsupported
from elasticai.creator.frontend.modules import handler_of
from elasticai.creator.frontend.values import Builder, FrontendError, Value
from elasticai.creator.ir.graph import INPUT

T = TypeVar("T")

__all__ = [
    "UnsupportedModuleError",
    "Whole",
    "trace",
    "walk",
    "position",
    "link_batch_norms",
    "default_input_shape",
    "first_from_input",
    "unsupported_model",
]

_TORCH_DIR = os.path.dirname(torch.__file__)
_OWN_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # elasticai.creator
_whole = [False]  # whether the model being walked is a single layer in a ``Whole``


class UnsupportedModuleError(TypeError):
    """A model contains something that cannot be translated."""


class _Tracer(torch.fx.Tracer):
    record_stack_traces = True

    def is_leaf_module(self, m: torch.nn.Module, module_qualified_name: str) -> bool:
        return handler_of(m) is not None or super().is_leaf_module(m, module_qualified_name)


class Whole(torch.nn.Module):
    """A single layer translated on its own, as a model (its position is ``model``)."""

    def __init__(self, layer: torch.nn.Module) -> None:
        super().__init__()
        self.layer = layer

    def forward(self, x: Any) -> Any:
        return self.layer(x)


def trace(model: torch.nn.Module) -> torch.fx.Graph:
    """``model``'s forward as a torch.fx graph (the library's layers as leaves)."""
    try:
        from elasticai.creator.nn.fixed_point.elementwise import quantize

        return _Tracer(autowrap_functions=(quantize,)).trace(model)
    except Exception as error:  # fx raises many kinds
        raise UnsupportedModuleError(
            f"the model cannot be traced with torch.fx: {error}"
        ) from error


def position(target: str) -> str:
    """``"block.2"`` -> ``"model.block[2]"`` (a ``Whole``'s layer is the ``model``)."""
    text = "model"
    if target == "layer" and _whole[0]:
        return text
    for part in target.split("."):
        if part:
            text += f"[{part}]" if part.isdigit() else f".{part}"
    return text


def _describe(module: torch.nn.Module) -> str:
    cls = type(module)
    return f"{cls.__module__}.{cls.__qualname__}"


@dataclass(frozen=True)
class _Line:
    """Where the model's code made a node: the method, its line number and its text."""

    method: str
    line: int
    code: str


def _line(node: torch.fx.Node) -> _Line | None:
    """The innermost frame of ``node``'s stack trace in the model's code (not in torch or in
    this package), if any."""
    trace_text = node.stack_trace or ""
    lines = trace_text.splitlines()
    found = None
    for k, text in enumerate(lines):
        text = text.strip()
        if not text.startswith('File "'):
            continue
        path = text[6 : text.index('"', 6)]
        if os.path.abspath(path).startswith((_TORCH_DIR, _OWN_DIR)):
            continue
        try:
            number = int(text.split(", line ")[1].split(",")[0])
        except (IndexError, ValueError):
            continue
        method = text.rsplit(" in ", 1)[-1]
        code = lines[k + 1].strip() if k + 1 < len(lines) else ""
        found = _Line(method, number, code)
    return found


def _owner(node: torch.fx.Node) -> str:
    """The module whose code made ``node``: ``model`` or ``model.block``."""
    stack = node.meta.get("nn_module_stack") or {}
    paths = [path for path, _ in stack.values()]
    if node.op == "call_module":
        paths = [p for p in paths if p != node.target]
    return position(paths[-1]) if paths else "model"


def where(node: torch.fx.Node) -> str:
    """``model.block.forward line 12`` (or ``model`` where no line of the model's is known)."""
    line = _line(node)
    owner = _owner(node)
    return f"{owner}.{line.method} line {line.line}" if line else owner


def _call_name(node: torch.fx.Node) -> str:
    target = node.target
    if node.op == "call_method":
        return f"Tensor.{target}"
    module = getattr(target, "__module__", None) or ""
    name = getattr(target, "__name__", str(target))
    if module in ("_operator", "operator"):
        return {
            "add": "a + b",
            "sub": "a - b",
            "mul": "a * b",
            "truediv": "a / b",
            "matmul": "a @ b",
            "getitem": "indexing",
        }.get(name, f"operator.{name}")
    if getattr(torch.nn.functional, name, None) is target:
        return f"F.{name}"
    if getattr(torch, name, None) is target:
        return f"torch.{name}"
    return f"{module}.{name}" if module else name


def link_batch_norms(model: torch.nn.Module, graph: torch.fx.Graph) -> None:
    """Fold every batch norm whose only input is a convolution or linear layer that nothing
    else reads into that layer (as ``Sequential`` does on construction)."""
    from elasticai.creator.nn.fixed_point.batchnorm import link_batch_norm

    calls: dict[str, int] = {}
    for node in graph.nodes:
        if node.op == "call_module":
            calls[str(node.target)] = calls.get(str(node.target), 0) + 1
    for node in graph.nodes:
        if node.op != "call_module" or len(node.args) != 1 or node.kwargs:
            continue
        producer = node.args[0]
        if not isinstance(producer, torch.fx.Node) or producer.op != "call_module":
            continue
        if (
            len(producer.users) != 1
            or calls[str(producer.target)] != 1
            or calls[str(node.target)] != 1
        ):
            continue
        link_batch_norm(
            model.get_submodule(str(producer.target)), model.get_submodule(str(node.target))
        )


def first_from_input(
    start: list[torch.fx.Node],
    found: Callable[[torch.fx.Node], T | None],
    keeps_shape: Callable[[torch.fx.Node], bool],
) -> T | None:
    """Breadth first from ``start`` (the model input) through the nodes ``keeps_shape``
    accepts: the first ``found(node)`` that is not ``None`` (``None``: there is none)."""
    frontier = list(start)
    seen: set[torch.fx.Node] = set()
    while frontier:
        node = frontier.pop(0)
        for user in node.users:
            if user in seen:
                continue
            seen.add(user)
            result = found(user)
            if result is not None:
                return result
            if keeps_shape(user):
                frontier.append(user)
    return None


def default_input_shape(model: torch.nn.Module, graph: torch.fx.Graph) -> tuple[int, ...] | None:
    """The input shape of the first ``Linear`` that reads the model input through layers and
    operations that keep the shape (``None``: there is none)."""
    from elasticai.creator.frontend.functions import SHAPE_KEEPING
    from elasticai.creator.frontend.modules import SHAPE_KEEPING_MODULES
    from elasticai.creator.nn.fixed_point.linear import Linear

    def linear_shape(node: torch.fx.Node) -> tuple[int, ...] | None:
        if node.op != "call_module":
            return None
        module = model.get_submodule(str(node.target))
        return (module.in_features,) if isinstance(module, Linear) else None

    def keeps_shape(node: torch.fx.Node) -> bool:
        if node.op == "call_module":
            return handler_of(model.get_submodule(str(node.target))) in SHAPE_KEEPING_MODULES
        if node.op == "call_function":
            return FUNCTIONS.get(node.target) in SHAPE_KEEPING
        return METHODS.get(str(node.target)) in SHAPE_KEEPING

    inputs = [n for n in graph.nodes if n.op == "placeholder"]
    return first_from_input(inputs, linear_shape, keeps_shape)


def walk(model: torch.nn.Module, graph: torch.fx.Graph, b: Builder) -> Value:
    """Build ``graph``'s nodes with ``b``; return the value of the model's output."""
    _whole[0] = isinstance(model, Whole)
    try:
        return _walk(model, graph, b)
    finally:
        _whole[0] = False


def _walk(model: torch.nn.Module, graph: torch.fx.Graph, b: Builder) -> Value:
    env: dict[torch.fx.Node, Any] = {}
    problems: list[str] = []
    poisoned = object()
    output: Any = None

    def resolve(arg: Any) -> Any:
        if isinstance(arg, torch.fx.Node):
            return env[arg]
        if isinstance(arg, list | tuple):
            return type(arg)(resolve(a) for a in arg)
        if isinstance(arg, dict):
            return {k: resolve(v) for k, v in arg.items()}
        return arg

    def uses_poison(value: Any) -> bool:
        if value is poisoned:
            return True
        if isinstance(value, list | tuple):
            return any(uses_poison(v) for v in value)
        if isinstance(value, dict):
            return any(uses_poison(v) for v in value.values())
        return False

    placeholders = 0
    for node in graph.nodes:
        if node.op == "placeholder":
            placeholders += 1
            if placeholders > 1:
                raise UnsupportedModuleError("models with more than one input are not supported")
            env[node] = Value(INPUT, None, (), None, "the model input", raw=True)  # type: ignore[arg-type]
            continue
        if node.op == "output":
            output = resolve(node.args[0])
            continue
        args, kwargs = resolve(list(node.args)), resolve(dict(node.kwargs))
        if uses_poison(args) or uses_poison(kwargs):
            env[node] = poisoned
            continue
        try:
            env[node] = _call(model, node, b, args, kwargs)
        except Unsupported as unsupported:
            problems.append(_problem(node, str(unsupported)))
            env[node] = poisoned
        except FrontendError as error:
            raise ValueError(str(error)) from None
    if problems:
        raise UnsupportedModuleError(_report(problems))
    if isinstance(output, list | tuple):
        raise UnsupportedModuleError(
            f"the model returns {len(output)} tensors; only models with one output are supported"
        )
    if not isinstance(output, Value):
        raise UnsupportedModuleError(f"the model returns {output!r}, not a tensor")
    return output


def _call(
    model: torch.nn.Module, node: torch.fx.Node, b: Builder, args: list[Any], kwargs: dict[str, Any]
) -> Any:
    line = _line(node)
    if node.op == "call_module":
        module = model.get_submodule(str(node.target))
        handler = handler_of(module)
        place = position(str(node.target))
        if handler is None:
            raise Unsupported(f"{place} ({_describe(module)})")
        if kwargs:
            raise FrontendError(f"{place} ({type(module).__name__}) is called with keywords")
        return handler(b, module, args, f"{place} ({type(module).__name__})")
    source = f"{where(node)} ({_call_name(node)})" if line else _call_name(node)
    if node.op == "call_function":
        function = FUNCTIONS.get(node.target)
        if function is None:
            raise Unsupported(_call_name(node))
        return function(b, args, kwargs, source)
    if node.op == "call_method":
        method = METHODS.get(str(node.target))
        if method is None:
            raise Unsupported(_call_name(node))
        return method(b, args, kwargs, source)
    raise Unsupported(f"{node.op} {node.target}")  # get_attr: parameters used directly


def _problem(node: torch.fx.Node, what: str) -> str:
    """``model.forward line 12: torch.matmul is not supported [y = torch.matmul(a, b)]``."""
    line = _line(node)
    if line is None:
        return f"{what} is not supported"
    code = f" [{line.code}]" if line.code else ""
    return f"{where(node)}: {what} is not supported{code}"


def _supported() -> str:
    from elasticai.creator.nn import fixed_point

    layers = {name for name in fixed_point.__all__ if name != "quantize"}
    names = ", ".join(sorted(layers | {"Identity", "Dropout", "Flatten"}))
    calls = "a + b, a - b, torch.cat(dim=1), F.relu, F.relu6, F.hardtanh, torch.clamp, "
    calls += "F.max_pool1d/2d, torch.flatten(x, 1), x.view(x.size(0), -1), fixed_point.quantize, "
    calls += "x[:, k] and x[:, a:b] of sequences, x.transpose(1, 2) of 1-D maps"
    return f"supported layers: {names}; functions: {calls}"


def unsupported_model(model: torch.nn.Module) -> UnsupportedModuleError:
    """The error for a model that is a single layer of an unsupported type."""
    return UnsupportedModuleError(f"model ({_describe(model)}) is not supported; {_supported()}")


def _report(problems: list[str]) -> str:
    if len(problems) == 1:
        return f"{problems[0]}; {_supported()}"
    listed = "\n".join(f"  {p}" for p in problems)
    return f"{len(problems)} parts of the model are not supported:\n{listed}\n{_supported()}"
