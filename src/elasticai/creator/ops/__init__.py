"""Every IR op, one module each, and the one registry of them (``OPS``).

An op module holds everything about its op: parameters and their checks, the integer
semantics (``interpret``, formula in the docstring), lanes and cycles for the
planner, timing, cost estimate, lowering to a library entity, serialization. Adding
an op is a module here, a row in ``OPS``, its VHDL entity, the ``nn`` layer and a
frontend handler.
"""

from __future__ import annotations

from elasticai.creator.ir.op import OpDef
from elasticai.creator.ops.add import AddOp
from elasticai.creator.ops.buffer import BufferOp
from elasticai.creator.ops.concat import ConcatOp
from elasticai.creator.ops.linear import LinearOp
from elasticai.creator.ops.piecewise import PiecewiseOp
from elasticai.creator.ops.pointwise import PointwiseOp
from elasticai.creator.ops.recurrent import RecurrentLayerOp
from elasticai.creator.ops.reduce import ReduceOp
from elasticai.creator.ops.slice import SliceOp
from elasticai.creator.ops.window import WindowOp

__all__ = [
    "OPS",
    "LinearOp",
    "PointwiseOp",
    "WindowOp",
    "ReduceOp",
    "PiecewiseOp",
    "AddOp",
    "ConcatOp",
    "BufferOp",
    "SliceOp",
    "RecurrentLayerOp",
]

#: The closed set of ops, by the name ``design.json`` gives them.
OPS: dict[str, type[OpDef]] = {
    op.name: op
    for op in (
        LinearOp,
        PointwiseOp,
        WindowOp,
        ReduceOp,
        PiecewiseOp,
        AddOp,
        ConcatOp,
        BufferOp,
        SliceOp,
        RecurrentLayerOp,
    )
}
