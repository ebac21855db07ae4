"""``Design.run``'s simulation: build the chosen simulator's model of the design once, run
the samples in shards (``sim.shards``), and put the shards' results back in order.

Each shard runs in a folder of its own (the run's folder for a single shard, else its
``shard<k>`` subfolders) with its own ``input.txt`` and its own stall seed
(``shards.shard_seed``); the model is built once for all of them: GHDL analyses and
elaborates into the run's folder, Icarus Verilog compiles there, Verilator's program
comes from the cache (``sim.verilator``).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from elasticai.creator.sim import ghdl, icarus, verilator
from elasticai.creator.sim.result import SimulationResult
from elasticai.creator.sim.shards import ShardFiles, ShardJob, run_shards, shard_seed, split
from elasticai.creator.sim.stream_files import after_last_reset, pack, unpack
from elasticai.creator.vhdl.lower import top_streams
from elasticai.creator.vhdl.testbench import testbench_name

if TYPE_CHECKING:
    from elasticai.creator.design import Design

__all__ = ["MIN_SHARD_CYCLES", "Settings", "shard_count", "simulate"]

#: Predicted cycles a shard must have at least: below this a process more costs more
#: than it saves (GHDL starts in about a second; 200,000 cycles take it about 8 s).
MIN_SHARD_CYCLES = 200_000


@dataclass(frozen=True)
class Settings:
    """The testbench's settings for a whole run (``Design.run``'s arguments)."""

    stall_percent: int = 25
    seed: int = 1
    reset_cycle: int = 0
    hold_cycles: int = 0


def shard_count(samples: int, cycles: int, workers: int, single: bool = False) -> int:
    """Shards for ``samples`` samples of about ``cycles`` cycles in all: at most
    ``workers`` and one per :data:`MIN_SHARD_CYCLES` cycles, one with ``single``.

    >>> shard_count(1000, 22_500_000, 2), shard_count(6, 30_000, 2)
    (2, 1)
    """
    if single:
        return 1
    return max(1, min(workers, samples, cycles // MIN_SHARD_CYCLES))


def simulate(
    design: Design,
    x_int: np.ndarray,
    *,
    simulator: str,
    settings: Settings,
    shards: int,
    max_cycles: Callable[[int], int],
    workdir: Path | None = None,
    ghdl_options: Callable[[Path], list[str]] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> SimulationResult:
    """Simulate the integer samples ``x_int`` (checked by the caller) in ``shards``
    shards; ``max_cycles(samples)`` is a shard's time-out, ``ghdl_options(folder)`` GHDL's
    run options (it may write files to the run's folder)."""
    source, sink = top_streams(design.graph)
    beats_out = -(-design.graph.output_type.size // sink.lanes)
    total = len(x_int)
    with tempfile.TemporaryDirectory(prefix="ec_sim_") as tmp:
        work = Path(workdir) if workdir is not None else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        command = _prepare(design, simulator, work, ghdl_options)
        jobs = []
        for index, (first, count) in enumerate(split(total, shards)):
            folder = work if shards == 1 else work / f"shard{index}"
            folder.mkdir(exist_ok=True)
            rows = x_int[first : first + count]
            (folder / "input.txt").write_text(pack(rows, source.lanes, source.width))
            parameters = _parameters(settings, count, shard_seed(settings.seed, index))
            parameters["MAX_CYCLES"] = max_cycles(count)
            job = ShardJob(
                index,
                shards,
                first,
                count,
                tuple(command(parameters)),
                folder,
                simulator,
                beats_out,
            )
            jobs.append(job)
        report = None if progress is None else (lambda done: progress(done, total))
        files = run_shards(jobs, workers=shards, progress=report)
    if progress is not None:
        progress(total, total)
    return _collect(design, files)


def _parameters(settings: Settings, samples: int, seed: int) -> dict[str, int]:
    parameters = {
        "SAMPLES": samples,
        "STALL_IN": settings.stall_percent,
        "STALL_OUT": settings.stall_percent,
        "SEED": seed,
    }
    if settings.reset_cycle:
        parameters["RESET_CYCLE"] = settings.reset_cycle
    if settings.hold_cycles:
        parameters["HOLD_CYCLES"] = settings.hold_cycles
    return parameters


def _prepare(
    design: Design,
    simulator: str,
    work: Path,
    ghdl_options: Callable[[Path], list[str]] | None,
) -> Callable[[Mapping[str, int]], list[str]]:
    """Build the simulator's model of ``design`` once; the command for a shard's
    parameters."""
    source, sink = top_streams(design.graph)
    if simulator == "verilator":
        program = verilator.build(design.to_verilog(), design.name, source.bits, sink.bits)
        return lambda parameters: verilator.command(program, parameters)
    if simulator == "icarus":
        top = icarus.testbench_name(design.name)
        verilog = {
            f"{top}.v": icarus.testbench(design.name, source.bits, sink.bits),
            f"{design.name}.v": design.to_verilog(),
        }
        compiled = icarus.build(ghdl.write_sources(work, verilog), top, work)
        return lambda parameters: icarus.run_command(compiled, parameters)
    vhdl = {k: v for k, v in design.files.items() if k.endswith(".vhd")}
    top = testbench_name(design.graph)
    ghdl.elaborate(ghdl.write_sources(work, vhdl), top, work)
    options = ghdl_options(work) if ghdl_options is not None else []
    return lambda parameters: ghdl.run_command(top, work, parameters, options)


def _collect(design: Design, files: list[ShardFiles]) -> SimulationResult:
    """The shards' samples in order, their cycles offset (``SimulationResult.of_shards``)."""
    source, sink = top_streams(design.graph)
    beats_in = -(-design.graph.input_type.size // source.lanes)
    shards = []
    for shard in files:
        job = shard.job
        beats = unpack(shard.output, design.graph.output_type.size, sink.lanes, sink.width)
        in_log = [int(v) for v in after_last_reset(shard.input_log).split()]
        if len(beats.samples) != job.samples:
            where = f" in {job.describe()}" if job.shards > 1 else ""
            raise AssertionError(
                f"sent {job.samples} samples, received {len(beats.samples)}{where}"
            )
        first_beats = np.array(in_log[::beats_in], dtype=np.int64)
        shards.append((beats.samples, first_beats, beats.last_cycles))
    return SimulationResult.of_shards(shards, [shard.job.first for shard in files])
