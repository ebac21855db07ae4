"""PyTorch module -> IR graph -> ``Design``.

``create_design(model, name, **options)`` translates any ``nn.Module`` whose ``forward``
torch.fx traces, built from the library's layers and the tensor operations of
``frontend.functions`` (residual adds, concatenations, fan-out, the functional forms of
parameter-free layers). Handlers: ``frontend.modules.MODULES`` (one row per layer type)
and ``frontend.functions.FUNCTIONS``/``METHODS``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import torch

from elasticai.creator.design import Design
from elasticai.creator.frontend.modules import MODULES, handler_of
from elasticai.creator.frontend.torch_fx import (
    UnsupportedModuleError,
    Whole,
    default_input_shape,
    link_batch_norms,
    trace,
    unsupported_model,
    walk,
)
from elasticai.creator.frontend.values import Builder, Value
from elasticai.creator.ir.graph import INPUT, Graph, GraphInput, GraphOutput, ParallelismTarget
from elasticai.creator.passes import run_pipeline
from elasticai.creator.vhdl.names import check_identifier

__all__ = ["translate", "create_design", "to_graph", "MODULES", "UnsupportedModuleError"]


def to_graph(
    model: torch.nn.Module, name: str, input_shape: tuple[int, ...] | None = None
) -> Graph:
    """The IR of ``model`` (before passes). ``input_shape`` (without batch) is needed where
    the model starts with a convolution or pooling; otherwise the first ``Linear`` fixes it
    (one value for element-wise layers alone)."""
    given = tuple(input_shape) if input_shape is not None else None
    if handler_of(model) is not None:
        root: torch.nn.Module = Whole(model)
    elif type(model).__module__.startswith("torch.") and not isinstance(model, torch.nn.Sequential):
        raise unsupported_model(model)  # a PyTorch layer of its own
    else:
        root = model
    graph = trace(root)
    link_batch_norms(root, graph)
    b = Builder(given)
    b.default_shape = default_input_shape(root, graph)
    out = walk(root, graph, b)
    if b.input is None or not b.nodes or out.raw:
        raise ValueError("the model has no layer to translate")
    nodes = _used(b, out)
    graph_input = GraphInput(
        INPUT,
        b.input.type,
        b.input_rounding,
        b.input_overflow,
        torch_shape=b.input.torch_shape,
        order=_order(b.input.order),
    )
    output = GraphOutput(out.name, tuple(out.torch_shape), _order(out.order))
    return Graph(name, (graph_input,), tuple(nodes), (output,))


def _used(b: Builder, out: Value) -> list[Any]:
    """The nodes the output depends on, in order (layers whose results nothing reads are
    left out)."""
    needed = {out.name}
    for node in reversed(b.nodes):
        if node.name in needed:
            needed.update(node.inputs)
    return [n for n in b.nodes if n.name in needed]


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


def create_design(model: torch.nn.Module, name: str, **options: Any) -> Design:
    """Translate any ``nn.Module`` into a ``Design`` whose top-level VHDL entity is ``name``;
    ``options`` as ``translate`` takes them (``input_shape``, ``parallelism``,
    ``target_ii``, ``max_multipliers``). The model should be in ``eval()``."""
    return translate(model, name, **options)
