"""What a simulation returns: the integer outputs and when each sample went in and out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["SimulationResult"]


@dataclass(frozen=True)
class SimulationResult:
    """Integer outputs of a simulation and when they came out.

    ``input_cycles[k]`` is the cycle the first beat of sample ``k`` was accepted,
    ``output_cycles[k]`` the cycle its last output beat was accepted.

    A run in several shards (``Design.run(workers=...)``) simulates each slice of the
    samples from a reset of its own; ``shard_starts`` holds the index of each shard's
    first sample (``(0,)`` for one shard). Each shard's cycles are offset by the last
    output cycle of the shard before it, plus one: the cycles grow as if the shards had
    run one after the other, and latencies are exact; the interval from one shard's last
    sample to the next shard's first is a refill, not an initiation interval.
    """

    outputs: np.ndarray
    input_cycles: np.ndarray
    output_cycles: np.ndarray
    shard_starts: tuple[int, ...] = (0,)

    @classmethod
    def of_shards(
        cls, shards: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]], starts: Sequence[int]
    ) -> SimulationResult:
        """The shards' ``(outputs, input_cycles, output_cycles)``, each counted from its own
        reset, as one result: in order, each shard's cycles offset by the last output cycle
        of the shard before it, plus one; ``starts`` the index of each shard's first
        sample."""
        outputs, inputs, ends = [], [], []
        offset = 0
        for out, cycles_in, cycles_out in shards:
            outputs.append(out)
            inputs.append(cycles_in + offset)
            ends.append(cycles_out + offset)
            offset = int(ends[-1][-1]) + 1
        return cls(
            np.concatenate(outputs), np.concatenate(inputs), np.concatenate(ends), tuple(starts)
        )

    @property
    def latencies(self) -> np.ndarray:
        """Cycles from each sample's first input beat to its last output beat."""
        return self.output_cycles - self.input_cycles

    @property
    def initiation_interval(self) -> float:
        """Mean cycles between consecutive samples' last output beats (within shards)."""
        gaps = np.diff(self.output_cycles)
        within = np.ones(len(gaps), dtype=bool)
        boundaries = [start - 1 for start in self.shard_starts if 0 < start <= len(gaps)]
        within[boundaries] = False
        if not within.any():
            return float("nan")
        return float(gaps[within].mean())
