"""``add``: the exact element-wise sum (or difference) of two values: a residual join.

The sum of two fixed-point values lies on the finer of their grids and needs one more
integer bit than the wider of them (``ir.types.sum_type``); the op computes it exactly
in that format, and whatever reads it converts it as it converts any input. Hardware:
``ec_add``, which takes beat ``k`` of both inputs together.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from elasticai.creator.arithmetic import int_array, signed_width
from elasticai.creator.ir import readers as r
from elasticai.creator.ir.op import Flow, OpDef, latest_in_order
from elasticai.creator.vhdl.streams import instance
from elasticai.creator.vhdl.syntax import Constant, Instance

if TYPE_CHECKING:
    from elasticai.creator.ir.graph import Node
    from elasticai.creator.vhdl.streams import Stream

__all__ = ["AddOp", "ADD_PIPELINE"]

#: ``ec_add``: the later of the two input beats to the output beat.
ADD_PIPELINE = 1


@dataclass(frozen=True)
class AddOp(OpDef):
    """``y = a * 2**(f - f_a) + b * 2**(f - f_b)`` (``-`` for ``subtract``), exactly, with
    ``f`` the output's fractional bits; both inputs and the output have one shape."""

    name: ClassVar[str] = "add"
    entities: ClassVar[tuple[str, ...]] = ("ec_add.vhd",)
    arity: ClassVar[int] = 2

    subtract: bool = False
    lanes: int = 0

    @property
    def kind(self) -> str:
        return "sub" if self.subtract else "add"

    def shifts(self, node: Node) -> tuple[int, int]:
        """Left shifts aligning each input to the output's fraction."""
        f = node.output_type.dtype.frac_bits
        return tuple(f - t.dtype.frac_bits for t in node.input_types)  # type: ignore[return-value]

    def interpret(self, node: Node, xs: Sequence[np.ndarray]) -> np.ndarray:
        """``y = (a << s_a) + (b << s_b)``, or ``-``; exact (the output format holds it)."""
        wide = node.output_type.dtype.total_bits + 1
        a, b = (int_array(x, wide) << s for x, s in zip(xs, self.shifts(node), strict=True))
        return a - b if self.subtract else a + b

    def check(self, node: Node, settled: bool) -> None:
        super().check(node, settled)
        a, b = node.input_types
        out = node.output_type
        if not a.shape == b.shape == out.shape:
            raise ValueError(
                f"{node.where}: adds tensors of one shape, not {a.shape} and {b.shape} "
                f"into {out.shape}"
            )
        if min(self.shifts(node)) < 0:
            raise ValueError(
                f"{node.where}: the output format {out.dtype} must have at least the inputs' "
                f"fractional bits ({a.dtype}, {b.dtype})"
            )
        low, high = _extremes(node, self.subtract)
        if signed_width(low, high) > out.dtype.total_bits:
            raise ValueError(
                f"{node.where}: the output format {out.dtype} does not hold every "
                f"{self.kind} of {a.dtype} and {b.dtype} (needs {signed_width(low, high)} bits)"
            )

    def timing(self, node: Node, arrivals: Sequence[np.ndarray], lanes_in: Sequence[int]) -> Flow:
        """Beat ``k`` of both inputs is taken when both have arrived and leaves
        ``ADD_PIPELINE`` cycles later."""
        taken = np.maximum(arrivals[0], arrivals[1])
        return Flow(taken + ADD_PIPELINE, [taken, taken])

    def latest(self, node: Node, due: np.ndarray, lanes_in: Sequence[int]) -> list[np.ndarray]:
        latest = latest_in_order(due - ADD_PIPELINE)
        return [latest, latest]

    def estimate(self, node: Node, lanes_in: Sequence[int]) -> dict[str, int]:
        """One adder per lane and the output register."""
        y_bits = node.output_type.dtype.total_bits
        return {
            "lut": self.lanes * y_bits + 4,
            "ff": self.lanes * y_bits + 2,
            "dsp": 0,
            "bram": 0,
            "carry": self.lanes * math.ceil(y_bits / 4),
        }

    def lower(
        self, node: Node, sources: Sequence[Stream], sink: Stream
    ) -> tuple[list[Constant], list[Instance]]:
        a, b = node.input_types
        shift_a, shift_b = self.shifts(node)
        generics = {
            "LANES": self.lanes,
            "A_WIDTH": a.dtype.total_bits,
            "B_WIDTH": b.dtype.total_bits,
            "Y_WIDTH": node.output_type.dtype.total_bits,
            "A_SHIFT": shift_a,
            "B_SHIFT": shift_b,
            "SUBTRACT": "true" if self.subtract else "false",
        }
        ports = [("s_axis_a", sources[0]), ("s_axis_b", sources[1])]
        return [], [instance(node.name, "ec_add", generics, ports, sink)]

    def to_json(self) -> dict[str, Any]:
        return {"subtract": self.subtract, "lanes": int(self.lanes)}

    @classmethod
    def from_json(cls, value: Any, where: str, node: dict[str, Any]) -> AddOp:
        return cls(**r.fields(value, where, {"subtract": r.boolean, "lanes": r.integer(0)}))


def _extremes(node: Node, subtract: bool) -> tuple[int, int]:
    """The smallest and largest result in integers of the output format."""
    f = node.output_type.dtype.frac_bits
    (a, b) = (t.dtype for t in node.input_types)
    a_lo, a_hi = a.min_int << (f - a.frac_bits), a.max_int << (f - a.frac_bits)
    b_lo, b_hi = b.min_int << (f - b.frac_bits), b.max_int << (f - b.frac_bits)
    if subtract:
        return a_lo - b_hi, a_hi - b_lo
    return a_lo + b_lo, a_hi + b_hi
