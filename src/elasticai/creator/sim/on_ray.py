"""``Design.run(executor="ray")``: the samples' shards as Ray tasks, on a Ray instance of
this machine or a cluster (``explore.executors`` connects, as for design-space sweeps).

Each shard is one task (``num_cpus=1``) that gets the design as ``design.json`` text and
its slice of the samples, and runs them with ``Design.run`` where it lands (one process
there: ``workers=1``) with the simulator asked for (``None``: the fastest that node has)
and the shard's own stall seed (``shards.shard_seed``). The results come back in the
order of the samples, their cycles offset as ``SimulationResult`` says.

A task whose worker dies (killed, out of memory, its node lost) is run once more; if it
dies again, :class:`RayShardError` names the shard's samples. A simulator that reports a
failure on the node (a time-out, a protocol violation) is raised as it is, with a note
naming the shard's samples. Every node needs this package and the simulator the run asks
for (GHDL at least).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from elasticai.creator.sim.result import SimulationResult
from elasticai.creator.sim.shards import shard_seed, split

if TYPE_CHECKING:
    from elasticai.creator.design import Design

__all__ = ["RayShardError", "ShardRun", "run_shard", "simulate"]


class RayShardError(RuntimeError):
    """A shard's Ray task died twice; names the shard's samples."""


@dataclass(frozen=True)
class ShardRun:
    """One shard's task: the design as ``design.json`` text, its samples and settings."""

    graph_json: str
    rows: np.ndarray
    simulator: str | None
    stall_percent: int
    seed: int
    hold_cycles: int


def run_shard(shard: ShardRun) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Simulate one shard in this process (a Ray task's body): outputs, input and output
    cycles."""
    from elasticai.creator.design import Design
    from elasticai.creator.ir.serialize import graph_from_json

    design = Design(graph_from_json(shard.graph_json))
    result = design.run(
        shard.rows,
        stall_percent=shard.stall_percent,
        seed=shard.seed,
        hold_cycles=shard.hold_cycles,
        simulator=shard.simulator,
        workers=1,
        progress=False,
    )
    return result.outputs, result.input_cycles, result.output_cycles


def simulate(
    design: Design,
    x_int: np.ndarray,
    *,
    simulator: str | None,
    stall_percent: int,
    seed: int,
    hold_cycles: int,
    workers: int,
    address: str | None,
) -> SimulationResult:
    """``x_int`` in ``min(workers, samples)`` shards, one Ray task each (see the module)."""
    from elasticai.creator.explore import executors
    from elasticai.creator.ir.serialize import graph_to_json

    settings = executors.Settings("ray", workers, address)
    executors.check(settings)
    text = graph_to_json(design.graph)
    slices = split(len(x_int), min(workers, len(x_int)))
    runs = [
        ShardRun(
            text,
            x_int[first : first + count],
            simulator,
            stall_percent,
            shard_seed(seed, index),
            hold_cycles,
        )
        for index, (first, count) in enumerate(slices)
    ]
    results: dict[int, Any] = dict(executors.run(run_shard, [(r,) for r in runs], settings))
    failed = [k for k, r in results.items() if isinstance(r, BaseException)]
    for k in failed:
        _raise_reported(results[k], k, slices)
    if failed:  # workers that died: once more
        again = executors.run(run_shard, [(runs[k],) for k in failed], settings)
        for j, outcome in again:
            k = failed[j]
            if isinstance(outcome, BaseException):
                _raise_reported(outcome, k, slices)
                raise RayShardError(
                    f"{_describe(k, slices)}: its Ray task died twice ({outcome}); its "
                    "samples were not simulated"
                ) from outcome
            results[k] = outcome
    shards = [results[k] for k in range(len(slices))]
    return SimulationResult.of_shards(shards, [first for first, _ in slices])


def _describe(k: int, slices: list[tuple[int, int]]) -> str:
    first, count = slices[k]
    return f"shard {k + 1} of {len(slices)} (samples {first} to {first + count - 1})"


def _raise_reported(error: BaseException, k: int, slices: list[tuple[int, int]]) -> None:
    """Raise the simulator's own error where the task ran and failed (not where it died)."""
    cause = getattr(error, "cause", None)  # ray.exceptions.RayTaskError
    if isinstance(cause, Exception):
        cause.add_note(f"in {_describe(k, slices)}, on Ray")
        raise cause
