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
    position,
    trace,
    unsupported_model,
    walk,
)
from elasticai.creator.frontend.values import Builder, Value
from elasticai.creator.ir.graph import INPUT, Graph, GraphInput, GraphOutput, ParallelismTarget
from elasticai.creator.nn.fixed_point._base import _Foldable
from elasticai.creator.passes import run_pipeline
from elasticai.creator.vhdl.names import check_identifier

__all__ = [
    "translate",
    "create_design",
    "to_graph",
    "check_design_name",
    "check_inference_mode",
    "MODULES",
    "UnsupportedModuleError",
]

#: Names that VHDL tools give libraries: a design named so clashes with the library
#: (GHDL fails on ``std``, ``ieee`` and ``work``; vendor flows make their libraries
#: visible the same way). IEEE 1076, GHDL and simulators: std, ieee, work, ieee_proposed,
#: synopsys, vital2000; AMD/Xilinx Vivado and ISE: unisim, unimacro, unifast, simprim,
#: secureip, xpm, xil_defaultlib; Intel Quartus: altera, altera_mf, altera_lnsim, lpm, sgate.
LIBRARY_NAMES = frozenset(
    """
    std ieee work ieee_proposed synopsys vital2000
    unisim unimacro unifast simprim secureip xpm xil_defaultlib
    altera altera_mf altera_lnsim lpm sgate
    """.split()  # noqa: SIM905
)

#: The longest design name: the longest file a design writes, ``sim/<name>_tb.vhd``
#: (``vivado/<name>_ip.vhd`` with the Vivado flow), stays far below the 255 bytes file
#: systems allow, and paths stay short on Windows.
MAX_NAME_LENGTH = 64


def check_design_name(name: object) -> str:
    """``name`` if a design may take it, else ``ValueError``: a VHDL identifier
    (``vhdl.names.check_identifier``) that names no VHDL library and is at most
    ``MAX_NAME_LENGTH`` characters long.

    >>> check_design_name("work")
    Traceback (most recent call last):
    ...
    ValueError: design name must not be the name of a VHDL library (std, ieee, work, or a vendor's such as unisim), not 'work'
    """
    check_identifier(name)
    assert isinstance(name, str)  # check_identifier refused anything else
    if len(name) > MAX_NAME_LENGTH:
        shown = f"{name[:24]}..."
        raise ValueError(
            f"design name must be at most {MAX_NAME_LENGTH} characters long (it names files "
            f"such as sim/<name>_tb.vhd), not {len(name)} characters ({shown!r})"
        )
    if name.lower() in LIBRARY_NAMES:
        raise ValueError(
            "design name must not be the name of a VHDL library (std, ieee, work, or a "
            f"vendor's such as unisim), not {name!r}"
        )
    return name


#: What layers compute in training mode that the hardware does not, by type.
_TRAINING_ONLY: tuple[tuple[type, str], ...] = (
    (torch.nn.modules.batchnorm._BatchNorm, "normalises with each batch's own statistics"),
    (torch.nn.modules.dropout._DropoutNd, "zeroes values at random"),
    (_Foldable, "leaves out the batch norm folded into it"),
)


def check_inference_mode(model: torch.nn.Module) -> None:
    """``ValueError`` if a layer of ``model`` is in training mode and computes something
    else there than in ``eval()`` (batch norms, dropout): the design computes what the
    model computes in ``eval()``."""
    for kind, what in _TRAINING_ONLY:
        for name, module in model.named_modules():
            if not module.training or not isinstance(module, kind):
                continue
            if isinstance(module, _Foldable) and module.batch_norm is None:
                continue
            raise ValueError(
                f"{position(name)} ({type(module).__name__}) is in training mode, where it "
                f"{what}, unlike the hardware; call model.eval() before create_design"
            )


def to_graph(
    model: torch.nn.Module, name: str, input_shape: tuple[int, ...] | None = None
) -> Graph:
    """The IR of ``model`` (before passes). ``input_shape`` (without batch) is needed where
    the model starts with a convolution or pooling; otherwise the first ``Linear`` fixes it
    (one value for element-wise layers alone)."""
    given = tuple(input_shape) if input_shape is not None else None
    if handler_of(model) is not None:
        root: torch.nn.Module = Whole(model)
    elif type(model).__module__.startswith("torch.") and not isinstance(
        model, torch.nn.Sequential | torch.fx.GraphModule
    ):
        raise unsupported_model(model)  # a PyTorch layer of its own
    else:
        root = model
    graph = trace(root)
    link_batch_norms(root, graph)
    check_inference_mode(model)
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
    pipeline_levels: int | None = None,
) -> Design:
    """``model`` as a hardware ``Design`` named ``name`` (the VHDL top entity).

    The parallelism knob, model-wide (per layer: ``Linear(parallelism=...)``):
    ``parallelism="serial"`` (default) one multiply-accumulate unit per layer;
    ``parallelism="full"`` one sample per clock; ``target_ii=N`` a sample every ``N``
    cycles with the fewest multipliers; ``max_multipliers=M`` the fastest design
    with at most ``M`` multipliers. ``pipeline_levels=L``: at most ``L`` adder levels
    between two registers inside a fully unrolled layer (default
    ``ops.linear.UNROLLED_LEVELS``; fewer: higher clock, more: fewer cycles and
    flip-flops).
    """
    check_design_name(name)
    if parallelism not in (None, "serial", "full"):
        raise ValueError(f"parallelism must be 'serial' or 'full', not {parallelism!r}")
    target = ParallelismTarget(target_ii, max_multipliers, parallelism == "full", pipeline_levels)
    graph = replace(to_graph(model, name, input_shape), parallelism=target)
    return Design(run_pipeline(graph))


def create_design(model: torch.nn.Module, name: str, **options: Any) -> Design:
    """Translate any ``nn.Module`` into a ``Design`` whose top-level VHDL entity is ``name``;
    ``options`` as ``translate`` takes them (``input_shape``, ``parallelism``,
    ``target_ii``, ``max_multipliers``, ``pipeline_levels``). Layers that compute something else in training
    mode (batch norms, dropout) must be in ``eval()``."""
    return translate(model, name, **options)
