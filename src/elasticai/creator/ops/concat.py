"""``concat``: two values side by side along the channels (``torch.cat(dim=1)``).

Maps stream channels last, so at every position the first input's channels come,
then the second's (a vector is a map of one position). Both are converted exactly to
the common format (``ir.types.common_type``). Hardware: ``ec_concat``, in one of two
modes the lane planner picks: *sequential* (every stream carries ``l`` elements per
beat, ``l`` dividing both channel counts: a position's beats of the first input, then
those of the second) or *side by side* (each input a whole position per beat, the
output both).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from elasticai.creator.ir import readers as r
from elasticai.creator.ir.op import Flow, OpDef, latest_in_order, one_per_cycle
from elasticai.creator.ir.types import common_type
from elasticai.creator.vhdl.streams import instance
from elasticai.creator.vhdl.syntax import Constant, Instance

if TYPE_CHECKING:
    from elasticai.creator.ir.graph import Node
    from elasticai.creator.vhdl.streams import Stream

__all__ = ["ConcatOp", "CONCAT_PIPELINE"]

#: ``ec_concat``: an input beat to the output beat made of it.
CONCAT_PIPELINE = 1


@dataclass(frozen=True)
class ConcatOp(OpDef):
    """``y[p] = (a[p] << s_a) ++ (b[p] << s_b)`` at every position ``p``."""

    name: ClassVar[str] = "concat"
    entities: ClassVar[tuple[str, ...]] = ("ec_concat.vhd",)
    arity: ClassVar[int] = 2
    tied: ClassVar[bool] = False

    lanes: int = 0

    @property
    def kind(self) -> str:
        return "concat"

    def shifts(self, node: Node) -> tuple[int, int]:
        f = node.output_type.dtype.frac_bits
        return tuple(f - t.dtype.frac_bits for t in node.input_types)  # type: ignore[return-value]

    def interpret(self, node: Node, xs: Sequence[np.ndarray]) -> np.ndarray:
        """At every position the channels of ``a``, then those of ``b``, each shifted left
        onto the output's fraction (exact)."""
        parts = []
        for x, t, s in zip(xs, node.input_types, self.shifts(node), strict=True):
            rows = np.asarray(x).reshape(x.shape[0], -1, t.channels)
            parts.append(rows.astype(object) << s if s else rows)
        y = np.concatenate(parts, axis=2).reshape(xs[0].shape[0], -1)
        return y.astype(np.int64) if node.output_type.dtype.total_bits <= 62 else y

    def check(self, node: Node, settled: bool) -> None:
        super().check(node, settled)
        a, b = node.input_types
        out = node.output_type
        if a.shape[:-1] != b.shape[:-1] or out.shape != (*a.shape[:-1], a.channels + b.channels):
            raise ValueError(
                f"{node.where}: concatenating {a.shape} and {b.shape} along the channels does "
                f"not give {out.shape}"
            )
        if out.dtype != common_type(a.dtype, b.dtype):
            raise ValueError(
                f"{node.where}: the output format must be {common_type(a.dtype, b.dtype)}, the "
                f"common format of {a.dtype} and {b.dtype}, not {out.dtype}"
            )

    def side_by_side(self, node: Node, lanes_in: Sequence[int], lanes_out: int) -> bool:
        a, b = node.input_types
        return tuple(lanes_in) == (a.channels, b.channels) and lanes_out == a.channels + b.channels

    def in_turn(self, node: Node, lanes_in: Sequence[int]) -> bool:
        return not self.side_by_side(node, lanes_in, self.lanes)  # sequential

    def turn_beats(self, node: Node, lanes_in: Sequence[int]) -> list[int]:
        return [t.channels // self.lanes for t in node.input_types]  # a position's

    def lane_cost(
        self, node: Node, lanes_in: Sequence[int], lanes_out: int
    ) -> tuple[int, int] | None:
        a, b = node.input_types
        if self.side_by_side(node, lanes_in, lanes_out):
            return 0, a.positions
        la, lb = lanes_in
        if la == lb == lanes_out and a.channels % la == 0 and b.channels % la == 0:
            return 0, a.positions * (a.channels + b.channels) // la
        return None

    def timing(self, node: Node, arrivals: Sequence[np.ndarray], lanes_in: Sequence[int]) -> Flow:
        """Each output beat is taken when the input beats it is made of have arrived, one per
        cycle in order (sequential: a position's beats of ``a``, then those of ``b``), and
        leaves ``CONCAT_PIPELINE`` later."""
        a, b = node.input_types
        times_a, times_b = arrivals
        if self.side_by_side(node, lanes_in, self.lanes):
            taken = one_per_cycle(np.maximum(times_a, times_b))
            return Flow(taken + CONCAT_PIPELINE, [taken, taken])
        per_a, per_b = a.channels // self.lanes, b.channels // self.lanes
        positions = len(times_a) // per_a
        order = np.concatenate(
            [times_a.reshape(positions, per_a), times_b.reshape(positions, per_b)], axis=1
        )
        taken = one_per_cycle(order.ravel()).reshape(positions, per_a + per_b)
        return Flow(
            taken.ravel() + CONCAT_PIPELINE,
            [taken[:, :per_a].ravel(), taken[:, per_a:].ravel()],
        )

    def latest(self, node: Node, due: np.ndarray, lanes_in: Sequence[int]) -> list[np.ndarray]:
        a, b = node.input_types
        latest = latest_in_order(due - CONCAT_PIPELINE)
        if self.side_by_side(node, lanes_in, self.lanes):
            return [latest, latest]
        per_a, per_b = a.channels // self.lanes, b.channels // self.lanes
        order = latest.reshape(-1, per_a + per_b)
        return [order[:, :per_a].ravel(), order[:, per_a:].ravel()]

    def estimate(self, node: Node, lanes_in: Sequence[int]) -> dict[str, int]:
        """An output register and a multiplexer per lane, and a beat counter."""
        y_bits = node.output_type.dtype.total_bits
        counter = max(1, math.ceil(math.log2(node.output_type.size + 1)))
        return {
            "lut": self.lanes * y_bits + 3 * counter,
            "ff": self.lanes * y_bits + 2 * counter + 2,
            "dsp": 0,
            "bram": 0,
            "carry": math.ceil(2 * counter / 4),
        }

    def lower(
        self, node: Node, sources: Sequence[Stream], sink: Stream
    ) -> tuple[list[Constant], list[Instance]]:
        a, b = node.input_types
        shift_a, shift_b = self.shifts(node)
        generics = {
            "A_WIDTH": a.dtype.total_bits,
            "B_WIDTH": b.dtype.total_bits,
            "Y_WIDTH": node.output_type.dtype.total_bits,
            "A_SHIFT": shift_a,
            "B_SHIFT": shift_b,
            "A_CHANNELS": a.channels,
            "B_CHANNELS": b.channels,
            "POSITIONS": a.positions,
            "A_LANES": sources[0].lanes,
            "B_LANES": sources[1].lanes,
            "Y_LANES": self.lanes,
        }
        ports = [("s_axis_a", sources[0]), ("s_axis_b", sources[1])]
        return [], [instance(node.name, "ec_concat", generics, ports, sink)]

    def to_json(self) -> dict[str, Any]:
        return {"lanes": self.lanes}

    @classmethod
    def from_json(cls, value: Any, where: str, node: dict[str, Any]) -> ConcatOp:
        return cls(**r.fields(value, where, {"lanes": r.integer(0)}))
