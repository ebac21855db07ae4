"""``piecewise``: a piecewise-linear function on integers (sigmoid, tanh, SiLU, hard
swish, leaky ReLU, PReLU). Hardware: ``ec_piecewise`` (compare with the breaks, one
multiply-add, round)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from elasticai.creator.analysis.resources import dsps_per_multiplier
from elasticai.creator.arithmetic import Overflow, Rounding, int_array, overflow, shift_round
from elasticai.creator.arithmetic import signed_width as _signed_width
from elasticai.creator.ir import readers as r
from elasticai.creator.ir.op import Flow, OpDef, latest_in_order
from elasticai.creator.vhdl.streams import instance, slv, vector_literal
from elasticai.creator.vhdl.syntax import Constant, Instance

if TYPE_CHECKING:
    from elasticai.creator.ir.graph import Node
    from elasticai.creator.vhdl.streams import Stream

__all__ = ["PiecewiseOp", "PIECEWISE_PIPELINE"]

#: ``ec_piecewise``: compare, multiply-add, round (one register each).
PIECEWISE_PIPELINE = 3


@dataclass(frozen=True)
class PiecewiseOp(OpDef):
    """A piecewise-linear function on integers: segment ``k`` (the number of
    ``breaks[1:]`` at or below ``x``) computes ``(x - bases[k]) * muls[k] + adds[k]``,
    shifted right by ``shift`` with ``rounding``, into the output format with ``overflow``.
    ``breaks[0]`` is unused. ``kind`` names the function (``sigmoid``, ``leaky_relu``, ...)."""

    name: ClassVar[str] = "piecewise"
    entities: ClassVar[tuple[str, ...]] = ("ec_piecewise.vhd",)

    kind: str
    breaks: tuple[int, ...]
    bases: tuple[int, ...]
    muls: tuple[int, ...]
    adds: tuple[int, ...]
    shift: int
    rounding: Rounding = Rounding.HALF_EVEN
    overflow: Overflow = Overflow.SATURATE
    lanes: int = 0

    def __post_init__(self) -> None:
        n = len(self.breaks)
        if n < 1 or not len(self.bases) == len(self.muls) == len(self.adds) == n:
            raise ValueError("a piecewise function needs as many bases, muls and adds as breaks")
        if list(self.breaks[1:]) != sorted(set(self.breaks[1:])):
            raise ValueError(f"breaks must ascend strictly, not {list(self.breaks[1:])}")

    def interpret(self, node: Node, xs: Sequence[np.ndarray]) -> np.ndarray:
        """``k = #{j >= 1 : breaks[j] <= x}``,
        ``y = overflow(shift_round((x - bases[k]) * muls[k] + adds[k], shift, rounding))``."""
        (x,) = xs
        bits = max(abs(v).bit_length() for v in (*self.bases, *self.muls, *self.adds, 1))
        wide = 2 * max(bits, node.input_type.dtype.total_bits) + 4
        xs_wide = int_array(x, wide)
        k = np.searchsorted(np.array(self.breaks[1:], dtype=np.int64), np.asarray(x), side="right")
        base, mul, add = (
            int_array(np.array(v, dtype=object)[k], wide)
            for v in (self.bases, self.muls, self.adds)
        )
        t = (xs_wide - base) * mul + add
        out = node.output_type.dtype
        return overflow(shift_round(t, self.shift, self.rounding), out, self.overflow)

    def check(self, node: Node, settled: bool) -> None:
        super().check(node, settled)
        if node.input_type.shape != node.output_type.shape:
            raise ValueError(f"{node.where}: a piecewise function keeps its shape")

    def timing(self, node: Node, arrivals: Sequence[np.ndarray], lanes_in: Sequence[int]) -> Flow:
        """Every beat leaves ``PIECEWISE_PIPELINE`` cycles after it arrived."""
        return Flow(arrivals[0] + PIECEWISE_PIPELINE)

    def latest(self, node: Node, due: np.ndarray, lanes_in: Sequence[int]) -> list[np.ndarray]:
        return [latest_in_order(due - PIECEWISE_PIPELINE)]

    def lockstep(self, node: Node) -> bool:
        return True  # ec_piecewise: three stages on one clock enable

    def estimate(self, node: Node, lanes_in: Sequence[int]) -> dict[str, int]:
        """Per lane a comparison per break, a multiplexer of the segment constants, one
        multiplier (a DSP slice from 5 bits on) and the rounding adder."""
        x_bits, y_bits = node.input_type.dtype.total_bits, node.output_type.dtype.total_bits
        m_bits = max(abs(v).bit_length() for v in self.muls) + 1
        segments = len(self.breaks)
        per_mult = dsps_per_multiplier(x_bits + 1, m_bits)
        lut_mult = 0 if per_mult else x_bits * m_bits // 2
        sum_bits = x_bits + m_bits + 2
        lanes = self.lanes
        return {
            "lut": lanes * (segments * x_bits // 3 + segments * 3 + sum_bits + lut_mult + y_bits),
            "ff": lanes * (x_bits + segments.bit_length() + sum_bits + y_bits) + 4,
            "dsp": lanes * per_mult,
            "bram": 0,
            "carry": lanes * math.ceil((segments * x_bits / 2 + 2 * sum_bits) / 4),
        }

    def lower(
        self, node: Node, sources: Sequence[Stream], sink: Stream
    ) -> tuple[list[Constant], list[Instance]]:
        x_width = node.input_type.dtype.total_bits
        widths = {
            key: _signed_width(min(values), max(values))
            for key, values in (("B", self.bases), ("M", self.muls), ("A", self.adds))
        }
        prefix = node.name.upper()
        constants = [
            Constant(
                f"{prefix}_{name}",
                slv(len(values) * width),
                vector_literal(np.array(values, dtype=object), width),
            )
            for name, values, width in (
                ("BREAKS", self.breaks, x_width),
                ("BASES", self.bases, widths["B"]),
                ("MULS", self.muls, widths["M"]),
                ("ADDS", self.adds, widths["A"]),
            )
        ]
        generics = {
            "LANES": self.lanes,
            "X_WIDTH": x_width,
            "Y_WIDTH": node.output_type.dtype.total_bits,
            "SEGMENTS": len(self.breaks),
            "B_WIDTH": widths["B"],
            "M_WIDTH": widths["M"],
            "A_WIDTH": widths["A"],
            "BREAKS": f"{prefix}_BREAKS",
            "BASES": f"{prefix}_BASES",
            "MULS": f"{prefix}_MULS",
            "ADDS": f"{prefix}_ADDS",
            "SHIFT": self.shift,
            "ROUNDING": self.rounding.code,
            "OVERFLOW": self.overflow.code,
            "PAD_LANES": -node.output_type.size % self.lanes,
        }
        return constants, [
            instance(node.name, "ec_piecewise", generics, [("s_axis", sources[0])], sink)
        ]

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            **{key: [int(v) for v in getattr(self, key)] for key in _LISTS},
            "shift": int(self.shift),
            "rounding": self.rounding.value,
            "overflow": self.overflow.value,
            "lanes": int(self.lanes),
        }

    @classmethod
    def from_json(cls, value: Any, where: str, node: dict[str, Any]) -> PiecewiseOp:
        read = r.fields(value, where, _SCHEMA)
        for key in _LISTS:
            read[key] = tuple(read[key])
        return r.build(cls, where, read)


_LISTS = ("breaks", "bases", "muls", "adds")
_SCHEMA: dict[str, r.Reader] = {
    "kind": r.identifier,
    **{key: r.listing(r.integer(), min_length=1) for key in _LISTS},
    "shift": r.integer(0),
    "rounding": r.ROUNDING,
    "overflow": r.OVERFLOW,
    "lanes": r.integer(0),
}
