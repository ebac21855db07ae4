"""Run a simulation's samples in shards: contiguous slices, each its own simulator process.

A :class:`ShardJob` is one process to start: its command, the folder it runs in (with the
shard's ``input.txt`` written there) and which samples it holds. :func:`run_shards` runs
a list of them, ``workers`` at a time, and returns what each wrote (``output.txt``,
``input_log.txt``) in the order of the jobs. It is the seam for other executors: one that
runs the jobs elsewhere (e.g. on Ray workers) takes the same jobs and returns the same
:class:`ShardFiles`.

A process that dies (ends by a signal: killed, out of memory, crashed) is started once
more; if it dies again, :class:`ShardError` names the shard's samples. A simulator that
reports a failure (a non-zero exit: a time-out, a protocol violation) is not retried:
its error (``GhdlError``, ``IcarusError``, ``VerilatorError``) is raised as it is, with a
note naming the shard's samples when there are several shards.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

from elasticai.creator.sim.ghdl import GhdlError, run_watched
from elasticai.creator.sim.icarus import IcarusError
from elasticai.creator.sim.verilator import VerilatorError

__all__ = [
    "ShardJob",
    "ShardFiles",
    "ShardError",
    "split",
    "shard_seed",
    "run_shards",
]

#: The error each simulator's failed run raises: ``error(command, output, returncode)``.
ERRORS: dict[str, Callable[[Sequence[str], str, int], Exception]] = {
    "ghdl": GhdlError,
    "icarus": IcarusError,
    "verilator": VerilatorError,
}

#: Lines of a dead process's output that ShardError shows.
_OUTPUT_TAIL = 20


@dataclass(frozen=True)
class ShardJob:
    """One simulator process: samples ``first .. first + samples - 1`` of the run, shard
    ``index`` of ``shards``, started as ``command`` in ``workdir`` (which holds the
    shard's ``input.txt``); ``simulator`` names the error a failure raises, and
    ``beats_out`` (output beats per sample) lets progress count samples."""

    index: int
    shards: int
    first: int
    samples: int
    command: tuple[str, ...]
    workdir: Path
    simulator: str
    beats_out: int = 1

    def describe(self) -> str:
        last = self.first + self.samples - 1
        return f"shard {self.index + 1} of {self.shards} (samples {self.first} to {last})"


@dataclass(frozen=True)
class ShardFiles:
    """What a shard's testbench wrote: ``output.txt`` and ``input_log.txt``."""

    job: ShardJob
    output: str
    input_log: str


class ShardError(RuntimeError):
    """A shard's simulator process died twice; names the shard's samples."""

    def __init__(self, job: ShardJob, output: str, returncode: int) -> None:
        self.job = job
        self.output = output
        self.returncode = returncode
        tail = "\n".join(output.rstrip().splitlines()[-_OUTPUT_TAIL:])
        super().__init__(
            f"{job.describe()}: the {job.simulator} process died twice "
            f"({_cause(returncode)}); its samples were not simulated: "
            f"{' '.join(job.command)}\n{tail}".rstrip()
        )


def _cause(returncode: int) -> str:
    try:
        return f"signal {signal.Signals(-returncode).name}"
    except ValueError:
        return f"signal {-returncode}"


def split(samples: int, shards: int) -> list[tuple[int, int]]:
    """``shards`` contiguous slices of ``samples`` samples as ``(first, count)``, sizes
    differing by one at most, the larger first.

    >>> split(10, 3)
    [(0, 4), (4, 3), (7, 3)]
    """
    if samples < 1 or not 1 <= shards <= samples:
        raise ValueError(f"shards must be between 1 and the {samples} samples, not {shards}")
    size, extra = divmod(samples, shards)
    slices, first = [], 0
    for index in range(shards):
        count = size + (index < extra)
        slices.append((first, count))
        first += count
    return slices


def shard_seed(seed: int, index: int) -> int:
    """The stall seed of shard ``index``: ``seed`` for the first, a different positive
    one (below 2**31) for each other.

    >>> shard_seed(1, 0), shard_seed(1, 1)
    (1, 1000004)
    """
    return (seed - 1 + index * 1_000_003) % (2**31 - 1) + 1


def run_shards(
    jobs: Sequence[ShardJob],
    *,
    workers: int,
    progress: Callable[[int], None] | None = None,
) -> list[ShardFiles]:
    """Run ``jobs``, at most ``workers`` processes at a time; their files in job order.

    ``progress(samples)`` is called about twice a second with the samples that have left
    the design in all shards together. The first failure stops the other processes and is
    raised (see the module's docstring); so is ``KeyboardInterrupt``.
    """
    if workers < 1:
        raise ValueError(f"workers must be at least 1, not {workers}")
    cancel = threading.Event()
    counters = {job.index: _LineCounter(job.workdir / "output.txt") for job in jobs}

    def report() -> None:
        if progress is not None:
            done = sum(min(counters[job.index]() // job.beats_out, job.samples) for job in jobs)
            progress(done)

    with ThreadPoolExecutor(max_workers=min(workers, max(len(jobs), 1))) as pool:
        futures: list[Future[ShardFiles]] = [
            pool.submit(_run_job, job, cancel, len(jobs) > 1) for job in jobs
        ]
        try:
            pending: set[Future[ShardFiles]] = set(futures)
            while pending:
                _, pending = wait(pending, timeout=0.5, return_when=FIRST_EXCEPTION)
                report()
                for future in futures:
                    error = future.exception() if future.done() else None
                    if error is not None:
                        raise error
        except BaseException:
            cancel.set()
            raise
    return [future.result() for future in futures]


class _Cancelled(Exception):
    """Another shard failed or the run was interrupted: stop this one."""


def _run_job(job: ShardJob, cancel: threading.Event, several: bool) -> ShardFiles:
    def watch() -> None:
        if cancel.is_set():
            raise _Cancelled

    watch()  # not started after another shard failed
    for _attempt in range(2):
        job.workdir.mkdir(parents=True, exist_ok=True)
        returncode, output = run_watched(job.command, job.workdir, watch)
        if returncode == 0:
            return ShardFiles(
                job,
                (job.workdir / "output.txt").read_text(),
                (job.workdir / "input_log.txt").read_text(),
            )
        if returncode > 0:
            error = ERRORS[job.simulator](job.command, output, returncode)
            if several:
                error.add_note(f"in {job.describe()}")
            raise error
    raise ShardError(job, output, returncode)


class _LineCounter:
    """How many lines the growing file ``path`` has, reading only what was added since
    the last call (it starts over when the file is rewritten)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.lines = 0

    def __call__(self) -> int:
        try:
            with self.path.open("rb") as f:
                size = f.seek(0, 2)
                if size < self.offset:  # rewritten (a retried shard)
                    self.offset = self.lines = 0
                f.seek(self.offset)
                chunk = f.read()
        except FileNotFoundError:
            return 0
        self.offset += len(chunk)
        self.lines += chunk.count(b"\n")
        return self.lines
