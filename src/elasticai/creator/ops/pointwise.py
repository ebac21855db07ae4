"""``pointwise``: an element-wise affine map with rounding and a clamp.

ReLU, HardTanh, HardSigmoid, format conversions and the scale of average pooling are
all this one op with their own constants. Hardware: ``ec_pointwise`` (the constant
multiplication as shifted adds, no multiplier).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from elasticai.creator.analysis.resources import csd_digits
from elasticai.creator.arithmetic import Overflow, Rounding, affine_clamp, int_array
from elasticai.creator.ir import readers as r
from elasticai.creator.ir.op import Flow, OpDef, latest_in_order
from elasticai.creator.vhdl.streams import instance, signed_generic
from elasticai.creator.vhdl.syntax import Constant, Instance

if TYPE_CHECKING:
    from elasticai.creator.ir.graph import Node
    from elasticai.creator.vhdl.streams import Stream

__all__ = ["PointwiseOp", "pointwise_stages"]


@dataclass(frozen=True)
class PointwiseOp(OpDef):
    """``affine_clamp`` constants; ``kind`` names what they implement (``relu``, ...)."""

    name: ClassVar[str] = "pointwise"
    entities: ClassVar[tuple[str, ...]] = ("ec_skid.vhd", "ec_pointwise.vhd")

    kind: str
    mul: int
    add: int
    shift: int
    low: int
    high: int
    rounding: Rounding = Rounding.HALF_EVEN
    overflow: Overflow = Overflow.SATURATE
    lanes: int = 0

    def interpret(self, node: Node, xs: Sequence[np.ndarray]) -> np.ndarray:
        """``affine_clamp(x, mul, add, shift, rounding, low, high, out, overflow)`` per
        element: ``overflow(clamp(shift_round(x * mul + add, shift), low, high))``."""
        (x,) = xs
        wide = (
            node.input_type.dtype.total_bits
            + abs(self.mul).bit_length()
            + abs(self.add).bit_length()
            + 2
        )
        return affine_clamp(
            int_array(x, wide),
            self.mul,
            self.add,
            self.shift,
            self.rounding,
            self.low,
            self.high,
            node.output_type.dtype,
            self.overflow,
        )

    def is_clamp(self) -> bool:
        """Whether it only clamps (``mul = 1``, no offset, no shift)."""
        return (self.mul, self.add, self.shift) == (1, 0, 0)

    def check(self, node: Node, settled: bool) -> None:
        super().check(node, settled)
        if node.input_type.shape != node.output_type.shape:
            raise ValueError(f"{node.where}: a pointwise operation keeps its shape")
        if self.low > self.high:
            raise ValueError(f"{node.where}: clamp range [{self.low}, {self.high}] is empty")

    def timing(self, node: Node, arrivals: Sequence[np.ndarray], lanes_in: Sequence[int]) -> Flow:
        """Each beat leaves ``pointwise_stages`` cycles after it arrived."""
        return Flow(arrivals[0] + pointwise_stages(self.mul))

    def latest(self, node: Node, due: np.ndarray, lanes_in: Sequence[int]) -> list[np.ndarray]:
        return [latest_in_order(due - pointwise_stages(self.mul))]

    def lockstep(self, node: Node) -> bool:
        return True  # ec_pointwise: four stages on one clock enable

    def estimate(self, node: Node, lanes_in: Sequence[int]) -> dict[str, int]:
        """Per lane a clamp and, where it scales, one adder per canonical signed digit of
        the constant beyond the first (plus one for the offset)."""
        x_bits, y_bits = node.input_type.dtype.total_bits, node.output_type.dtype.total_bits
        digits = csd_digits(self.mul)
        mul = self.mul
        lowest_negative = mul != 0 and (mul >> ((mul & -mul).bit_length() - 1)) & 3 == 3
        adders = max(0, digits - 1) + (1 if self.add or lowest_negative else 0)
        adder_bits = adders * (x_bits + abs(mul).bit_length())
        return {
            "lut": self.lanes * (adder_bits // 2 + 2 * y_bits),  # adders are as wide as sums
            # per lane: the partial sums, the sum, the rounded value's low bits and two
            # comparisons, the output
            "ff": self.lanes * (2 * (x_bits + abs(mul).bit_length()) + 2 * y_bits + 2) + 8,
            "dsp": 0,
            "bram": 0,
            "carry": self.lanes * math.ceil(adder_bits / 4),
        }

    def lower(
        self, node: Node, sources: Sequence[Stream], sink: Stream
    ) -> tuple[list[Constant], list[Instance]]:
        generics = {
            "LANES": self.lanes,
            "X_WIDTH": node.input_type.dtype.total_bits,
            "Y_WIDTH": node.output_type.dtype.total_bits,
            "MUL": signed_generic(self.mul),
            "ADD": signed_generic(self.add),
            "SHIFT": self.shift,
            "ROUNDING": self.rounding.code,
            "OVERFLOW": self.overflow.code,
            "LO": signed_generic(self.low),
            "HI": signed_generic(self.high),
            "PAD_LANES": -node.output_type.size % self.lanes,
        }
        return [], [instance(node.name, "ec_pointwise", generics, [("s_axis", sources[0])], sink)]

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            **{key: int(getattr(self, key)) for key in ("mul", "add", "shift", "low", "high")},
            "rounding": self.rounding.value,
            "overflow": self.overflow.value,
            "lanes": int(self.lanes),
        }

    @classmethod
    def from_json(cls, value: Any, where: str, node: dict[str, Any]) -> PointwiseOp:
        return cls(**r.fields(value, where, _SCHEMA))


_SCHEMA: dict[str, r.Reader] = {
    "kind": r.identifier,
    **{key: r.integer() for key in ("mul", "add", "shift", "low", "high")},
    "rounding": r.ROUNDING,
    "overflow": r.OVERFLOW,
    "lanes": r.integer(0),
}


def pointwise_stages(mul: int) -> int:
    """Latency of ``ec_pointwise``: 4 for every ``mul`` (the first two levels of the
    shift-add tree; the rest with the floor and rounding decision; the rounded value with
    its clamp comparisons beside it; the output register)."""
    return 4
