"""``slice``: a contiguous part of each sample's stream, e.g. the last time step of a sequence.

Of every sample of ``n`` elements (in stream order) it keeps ``start .. stop - 1`` and
drops the others: ``out[:, -1]`` of a recurrent layer's output of ``T`` steps of ``H``
elements is ``start = (T - 1) * H``, ``stop = T * H``. One element a beat on the input and
the output. Hardware: ``ec_slice``, which counts the elements of each sample and passes
the kept ones through without a register.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from elasticai.creator.ir import readers as r
from elasticai.creator.ir.op import NEVER, Flow, OpDef, latest_in_order
from elasticai.creator.vhdl.streams import instance
from elasticai.creator.vhdl.syntax import Constant, Instance

if TYPE_CHECKING:
    from elasticai.creator.ir.graph import Graph, Node
    from elasticai.creator.vhdl.streams import Stream

__all__ = ["SliceOp", "SLICE_PIPELINE"]

#: ``ec_slice``: a kept input beat to its output beat (combinational pass-through).
SLICE_PIPELINE = 0


@dataclass(frozen=True)
class SliceOp(OpDef):
    """``y = x[start:stop]`` of every sample; values and format unchanged."""

    name: ClassVar[str] = "slice"
    entities: ClassVar[tuple[str, ...]] = ("ec_slice.vhd",)
    tied: ClassVar[bool] = False

    start: int
    stop: int
    lanes: int = 0

    @property
    def kind(self) -> str:
        return "slice"

    def kept(self, node: Node, beats: int) -> np.ndarray:
        """Which of ``beats`` input beats (whole samples, one element each) it keeps."""
        index = np.arange(beats) % node.input_type.size
        return (index >= self.start) & (index < self.stop)

    def interpret(self, node: Node, xs: Sequence[np.ndarray]) -> np.ndarray:
        """``y = x[:, start:stop]``."""
        return np.asarray(xs[0])[:, self.start : self.stop]

    def check(self, node: Node, settled: bool) -> None:
        super().check(node, settled)
        n, out = node.input_type.size, node.output_type
        if not 0 <= self.start < self.stop <= n:
            raise ValueError(
                f"{node.where}: a slice of {n} elements needs 0 <= start < stop <= {n}, not "
                f"start = {self.start}, stop = {self.stop}"
            )
        if out.size != self.stop - self.start:
            raise ValueError(
                f"{node.where}: elements {self.start} .. {self.stop - 1} are "
                f"{self.stop - self.start}, not the output's {out.size} ({out.shape})"
            )
        if out.dtype != node.input_type.dtype:
            raise ValueError(
                f"{node.where}: a slice keeps its format, {node.input_type.dtype}, not {out.dtype}"
            )

    def lane_domain(self, node: Node, stream: int, graph: Graph) -> list[int] | None:
        return [1]

    def lane_cost(
        self, node: Node, lanes_in: Sequence[int], lanes_out: int
    ) -> tuple[int, int] | None:
        """One input beat a cycle: ``n`` cycles a sample, one element a beat only."""
        if list(lanes_in) != [1] or lanes_out != 1:
            return None
        return 0, node.input_type.size

    def timing(self, node: Node, arrivals: Sequence[np.ndarray], lanes_in: Sequence[int]) -> Flow:
        """Every input beat is taken as it arrives; a kept one leaves ``SLICE_PIPELINE``
        cycles later (the output is ready: ``ec_slice`` holds up only kept beats, and only
        while the output is not ready)."""
        times = arrivals[0]
        return Flow(times[self.kept(node, len(times))] + SLICE_PIPELINE)

    def latest(self, node: Node, due: np.ndarray, lanes_in: Sequence[int]) -> list[np.ndarray]:
        """Kept beats by their output's due time; nothing waits for a dropped one, but the
        beats arrive in order."""
        count = len(due) // (self.stop - self.start) * node.input_type.size
        latest = np.full(count, NEVER, dtype=np.int64)
        latest[self.kept(node, count)] = due - SLICE_PIPELINE
        return [latest_in_order(latest)]

    def estimate(self, node: Node, lanes_in: Sequence[int]) -> dict[str, int]:
        """The element counter (0 .. n - 1), its increment and its comparisons with
        ``start``, ``stop`` and ``n - 1`` (fitted to ``synth_xilinx``, n from 2 to 4096)."""
        counter = max(1, math.ceil(math.log2(node.input_type.size + 1)))
        return {
            "lut": 2 * counter + 2,
            "ff": counter,
            "dsp": 0,
            "bram": 0,
            "carry": math.ceil(counter / 4),
        }

    def lower(
        self, node: Node, sources: Sequence[Stream], sink: Stream
    ) -> tuple[list[Constant], list[Instance]]:
        generics = {
            "N": node.input_type.size,
            "START": self.start,
            "STOP": self.stop,
            "WIDTH": node.input_type.dtype.total_bits,
        }
        return [], [instance(node.name, "ec_slice", generics, [("s_axis", sources[0])], sink)]

    def to_json(self) -> dict[str, Any]:
        return {"start": int(self.start), "stop": int(self.stop), "lanes": int(self.lanes)}

    @classmethod
    def from_json(cls, value: Any, where: str, node: dict[str, Any]) -> SliceOp:
        return cls(**r.fields(value, where, _SCHEMA))


_SCHEMA: dict[str, r.Reader] = {
    "start": r.integer(0),
    "stop": r.integer(1),
    "lanes": r.integer(0),
}
