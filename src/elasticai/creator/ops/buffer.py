"""``buffer``: a first-in first-out buffer on a skip path (the identity on values).

``passes.insert_buffers`` puts one where a join would otherwise hold up the branch that
arrives first, with the depth the timing model computes. Hardware: ``ec_fifo``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from elasticai.creator.analysis.resources import BRAM_BITS
from elasticai.creator.ir import readers as r
from elasticai.creator.ir.op import Flow, OpDef, latest_in_order, one_per_cycle
from elasticai.creator.vhdl.streams import instance
from elasticai.creator.vhdl.syntax import Constant, Instance

if TYPE_CHECKING:
    from elasticai.creator.ir.graph import Node
    from elasticai.creator.vhdl.streams import Stream

__all__ = ["BufferOp", "FIFO_LATENCY"]

#: ``ec_fifo``: a beat taken at the input can leave this many cycles later.
FIFO_LATENCY = 1


@dataclass(frozen=True)
class BufferOp(OpDef):
    """Holds up to ``depth`` beats of ``lanes`` elements (and their ``tlast``)."""

    name: ClassVar[str] = "buffer"
    entities: ClassVar[tuple[str, ...]] = ("ec_fifo.vhd",)

    depth: int
    lanes: int = 0

    @property
    def kind(self) -> str:
        return "fifo"

    def bits(self, node: Node) -> int:
        """Storage: ``depth`` beats of data and ``tlast``."""
        return self.depth * (self.lanes * node.output_type.dtype.total_bits + 1)

    def interpret(self, node: Node, xs: Sequence[np.ndarray]) -> np.ndarray:
        """``y = x``: a buffer delays, it does not compute."""
        return np.asarray(xs[0])

    def check(self, node: Node, settled: bool) -> None:
        super().check(node, settled)
        if node.input_type != node.output_type:
            raise ValueError(f"{node.where}: a buffer keeps its type")
        if self.depth < 1:
            raise ValueError(f"{node.where}: depth must be at least 1, not {self.depth}")

    def timing(self, node: Node, arrivals: Sequence[np.ndarray], lanes_in: Sequence[int]) -> Flow:
        """Each beat leaves ``FIFO_LATENCY`` cycles after it arrived, one per cycle."""
        return Flow(one_per_cycle(arrivals[0] + FIFO_LATENCY))

    def latest(self, node: Node, due: np.ndarray, lanes_in: Sequence[int]) -> list[np.ndarray]:
        return [latest_in_order(due - FIFO_LATENCY)]

    def estimate(self, node: Node, lanes_in: Sequence[int]) -> dict[str, int]:
        """Up to 4 beats: registers. Beyond, ``ec_fifo`` keeps ``depth - 3`` beats in a RAM
        that Yosys maps to LUT-RAM (up to 64 deep or 2 kbit) or block RAM, with three
        registers of a beat around it; the multiplexers in front of those registers cost
        about five LUTs a data bit (fitted to ``synth_xilinx`` on 8 to 64 bits, 2 to 3,000
        beats). ``fifo_bits`` is its storage."""
        width = self.lanes * node.output_type.dtype.total_bits
        pointer = max(1, math.ceil(math.log2(self.depth + 1)))
        cost = {"dsp": 0, "bram": 0, "carry": 0, "fifo_bits": self.bits(node)}
        if self.depth <= 4:
            return {**cost, "lut": 4 * width + 8, "ff": self.depth * width + 8}
        ram = self.depth - 3
        if ram > 64 and ram * width >= 2048:
            bram = max(-(-ram * (width + 1) // BRAM_BITS), -(-(width + 1) // 36))
            return {**cost, "lut": 5 * width + 82, "ff": 2 * width + 42, "bram": bram, "carry": 4}
        return {
            **cost,
            "lut": 5 * width + 25 + -(-ram * width // 32),
            "ff": 3 * width + 14 + 2 * pointer,
            "carry": math.ceil(pointer / 2),
        }

    def lower(
        self, node: Node, sources: Sequence[Stream], sink: Stream
    ) -> tuple[list[Constant], list[Instance]]:
        generics = {"WIDTH": sources[0].bits, "DEPTH": self.depth}
        return [], [instance(node.name, "ec_fifo", generics, [("s_axis", sources[0])], sink)]

    def to_json(self) -> dict[str, Any]:
        return {"depth": int(self.depth), "lanes": int(self.lanes)}

    @classmethod
    def from_json(cls, value: Any, where: str, node: dict[str, Any]) -> BufferOp:
        return cls(**r.fields(value, where, {"depth": r.integer(1), "lanes": r.integer(0)}))
