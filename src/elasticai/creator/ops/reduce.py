"""``reduce``: the maximum or the exact sum over the taps of every window, per channel
(pooling, after a ``window``). Hardware: ``ec_reduce``."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from elasticai.creator.ir import readers as r
from elasticai.creator.ir.op import NEVER, Flow, OpDef, beats, latest_in_order
from elasticai.creator.vhdl.streams import instance
from elasticai.creator.vhdl.syntax import Constant, Instance

if TYPE_CHECKING:
    from elasticai.creator.ir.graph import Graph, Node
    from elasticai.creator.vhdl.streams import Stream

__all__ = ["ReduceOp"]


@dataclass(frozen=True)
class ReduceOp(OpDef):
    """``kind`` ``"max"`` or ``"sum"`` over the ``taps`` of every window, per channel.
    Its stream carries whole positions: ``lanes`` divides ``channels``."""

    name: ClassVar[str] = "reduce"
    entities: ClassVar[tuple[str, ...]] = ("ec_reduce.vhd",)

    kind: str
    channels: int
    taps: int
    lanes: int = 0

    def __post_init__(self) -> None:
        if self.kind not in ("max", "sum"):
            raise ValueError(f"kind must be 'max' or 'sum', not {self.kind!r}")

    def interpret(self, node: Node, xs: Sequence[np.ndarray]) -> np.ndarray:
        """``y[p, c] = max_t x[p, t, c]`` (``kind="max"``) or the exact ``sum_t x[p, t, c]``."""
        (x,) = xs
        windows = x.reshape(x.shape[0], -1, self.taps, self.channels)
        y = windows.max(axis=2) if self.kind == "max" else windows.sum(axis=2)
        return y.reshape(x.shape[0], -1)

    def check(self, node: Node, settled: bool) -> None:
        if node.input_type.size != node.output_type.size * self.taps or (
            node.output_type.shape[-1] != self.channels
        ):
            raise ValueError(f"{node.where}: reducing {self.taps} taps does not fit its tensors")
        if settled and (self.lanes < 1 or self.channels % self.lanes):
            raise ValueError(f"{node.where}: lanes must divide the channels, not {self.lanes}")

    def lane_domain(self, node: Node, stream: int, graph: Graph) -> list[int] | None:
        return [d for d in range(1, self.channels + 1) if self.channels % d == 0]

    def lane_cost(
        self, node: Node, lanes_in: Sequence[int], lanes_out: int
    ) -> tuple[int, int] | None:
        return 0, beats(node.input_type.size, lanes_out)

    @property
    def latency(self) -> int:
        """Cycles from a last-tap beat in to its output beat: the max has a compare stage."""
        return 2 if self.kind == "max" else 1

    def timing(self, node: Node, arrivals: Sequence[np.ndarray], lanes_in: Sequence[int]) -> Flow:
        """The beats of a window's last tap leave ``latency`` cycles after they arrived."""
        per_tap = self.channels // self.lanes
        window = per_tap * self.taps
        times = arrivals[0]
        return Flow(times[np.arange(len(times)) % window >= window - per_tap] + self.latency)

    def latest(self, node: Node, due: np.ndarray, lanes_in: Sequence[int]) -> list[np.ndarray]:
        """A window's last-tap beats by their output's due time less ``latency``; the taps
        before them one per cycle before."""
        per_tap = self.channels // self.lanes
        window = per_tap * self.taps
        count = len(due) // per_tap * window
        last_tap = np.arange(count) % window >= window - per_tap
        latest = np.full(count, NEVER, dtype=np.int64)
        latest[last_tap] = due - self.latency
        return [latest_in_order(latest)]

    def estimate(self, node: Node, lanes_in: Sequence[int]) -> dict[str, int]:
        """A partial result per channel and one comparator or adder per lane; for the max
        a compare stage (partial result, data and a flag per lane)."""
        y_bits = node.output_type.dtype.total_bits
        x_bits = node.input_type.dtype.total_bits
        stage = self.lanes * (2 * x_bits + 1) + 2 if self.kind == "max" else 0
        return {
            "lut": 20 + self.lanes * 2 * y_bits,
            "ff": 16 + (self.channels + self.lanes) * y_bits + stage,
            "dsp": 0,
            "bram": 0,
            "carry": self.lanes * math.ceil(y_bits / 4),
        }

    def lower(
        self, node: Node, sources: Sequence[Stream], sink: Stream
    ) -> tuple[list[Constant], list[Instance]]:
        generics = {
            "X_WIDTH": node.input_type.dtype.total_bits,
            "Y_WIDTH": node.output_type.dtype.total_bits,
            "CHANNELS": self.channels,
            "TAPS": self.taps,
            "LANES": self.lanes,
            "KIND": 0 if self.kind == "max" else 1,
        }
        return [], [instance(node.name, "ec_reduce", generics, [("s_axis", sources[0])], sink)]

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "channels": self.channels,
            "taps": self.taps,
            "lanes": self.lanes,
        }

    @classmethod
    def from_json(cls, value: Any, where: str, node: dict[str, Any]) -> ReduceOp:
        read = r.fields(value, where, _SCHEMA)
        if read["kind"] not in ("max", "sum"):
            raise r.wrong(f"{where}.kind", "'max' or 'sum'", read["kind"])
        return cls(**read)


_SCHEMA: dict[str, r.Reader] = {
    "kind": r.identifier,
    "channels": r.integer(1),
    "taps": r.integer(1),
    "lanes": r.integer(0),
}
