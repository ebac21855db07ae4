"""Shards of a simulation (``sim.shards``): slices, seeds, order, a process that dies is
retried once, a failure is reported with its samples. A small Python script stands in for
the simulator: it copies ``input.txt`` to ``output.txt`` as the testbench would."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pytest

from elasticai.creator.sim.ghdl import GhdlError
from elasticai.creator.sim.result import SimulationResult
from elasticai.creator.sim.runner import shard_count
from elasticai.creator.sim.shards import ShardError, ShardJob, run_shards, shard_seed, split

FAKE_SIMULATOR = """\
import os, pathlib, signal, sys, time
mode = sys.argv[1]
with open("starts", "a") as starts:
    starts.write("start\\n")
if mode == "die-once" and not pathlib.Path("died").exists():
    pathlib.Path("died").touch()
    os.kill(os.getpid(), signal.SIGKILL)
if mode == "die":
    os.kill(os.getpid(), signal.SIGKILL)
if mode == "fail":
    print("FAIL: timeout after 20 cycles")
    sys.exit(1)
if mode == "sleep":
    time.sleep(60)
samples = pathlib.Path("input.txt").read_text().split()
with open("output.txt", "w") as out:
    for cycle, sample in enumerate(samples):
        out.write(f"{sample} 1 {cycle}\\n")
pathlib.Path("input_log.txt").write_text("".join(f"{c}\\n" for c in range(len(samples))))
"""


def jobs(tmp_path: Path, modes: list[str], samples: int = 10) -> list[ShardJob]:
    script = tmp_path / "fake_simulator.py"
    script.write_text(FAKE_SIMULATOR)
    made = []
    for index, (first, count) in enumerate(split(samples, len(modes))):
        folder = tmp_path / f"shard{index}"
        folder.mkdir()
        (folder / "input.txt").write_text("".join(f"{first + k}\n" for k in range(count)))
        command = (sys.executable, str(script), modes[index])
        made.append(ShardJob(index, len(modes), first, count, command, folder, "ghdl"))
    return made


def starts(job: ShardJob) -> int:
    return len((job.workdir / "starts").read_text().split())


def test_split_is_contiguous_and_balanced() -> None:
    assert split(10, 3) == [(0, 4), (4, 3), (7, 3)]
    assert split(3, 3) == [(0, 1), (1, 1), (2, 1)]
    for samples in range(1, 30):
        for shards in range(1, samples + 1):
            slices = split(samples, shards)
            assert sum(count for _, count in slices) == samples
            assert all(a + n == b for (a, n), (b, _) in zip(slices, slices[1:], strict=False))
            assert max(n for _, n in slices) - min(n for _, n in slices) <= 1
    with pytest.raises(ValueError, match=r"shards must be between 1 and the 3 samples, not 4"):
        split(3, 4)


def test_each_shard_has_its_own_seed() -> None:
    assert shard_seed(7, 0) == 7
    seeds = {shard_seed(seed, index) for seed in (1, 2, 2**31 - 1) for index in range(8)}
    assert len(seeds) == 24
    assert all(0 < s < 2**31 for s in seeds)


def test_shard_count_follows_the_predicted_cycles() -> None:
    assert shard_count(1000, 22_500_000, 2) == 2
    assert shard_count(1000, 22_500_000, 200) == 112  # one per 200,000 cycles
    assert shard_count(3, 22_500_000, 64) == 3
    assert shard_count(6, 30_000, 2) == 1
    assert shard_count(1000, 22_500_000, 2, single=True) == 1


def test_files_come_back_in_order(tmp_path: Path) -> None:
    seen: list[int] = []
    files = run_shards(jobs(tmp_path, ["ok", "ok", "ok"]), workers=2, progress=seen.append)
    assert [f.job.index for f in files] == [0, 1, 2]
    assert [f.output.split()[::3] for f in files] == [
        ["0", "1", "2", "3"],
        ["4", "5", "6"],
        ["7", "8", "9"],
    ]
    assert seen[-1] == 10


def test_a_process_that_dies_is_run_once_more(tmp_path: Path) -> None:
    made = jobs(tmp_path, ["ok", "die-once"])
    files = run_shards(made, workers=2)
    assert files[1].output.split()[::3] == ["5", "6", "7", "8", "9"]
    assert [starts(job) for job in made] == [1, 2]


def test_a_process_that_dies_twice_names_its_samples(tmp_path: Path) -> None:
    made = jobs(tmp_path, ["ok", "die", "ok"])
    with pytest.raises(ShardError) as error:
        run_shards(made, workers=3)
    assert str(error.value).startswith(
        "shard 2 of 3 (samples 4 to 6): the ghdl process died twice (signal SIGKILL); "
        "its samples were not simulated: "
    )
    assert error.value.job is made[1]
    assert starts(made[1]) == 2


def test_a_failed_simulation_is_raised_at_once_with_its_samples(tmp_path: Path) -> None:
    made = jobs(tmp_path, ["ok", "fail"])
    with pytest.raises(GhdlError, match="FAIL: timeout after 20 cycles") as error:
        run_shards(made, workers=2)
    assert error.value.__notes__ == ["in shard 2 of 2 (samples 5 to 9)"]
    assert starts(made[1]) == 1  # not retried: the simulator said why it failed


def test_a_failure_stops_the_other_shards(tmp_path: Path) -> None:
    started = time.monotonic()
    with pytest.raises(GhdlError):
        run_shards(jobs(tmp_path, ["sleep", "fail"]), workers=2)
    assert time.monotonic() - started < 20


def test_workers_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="workers must be at least 1, not 0"):
        run_shards(jobs(tmp_path, ["ok"]), workers=0)


def test_the_interval_leaves_out_shard_boundaries() -> None:
    def result(ends: list[int], starts: tuple[int, ...]) -> SimulationResult:
        empty = np.zeros(len(ends), np.int64)
        return SimulationResult(empty, empty, np.array(ends), starts)

    assert result([10, 20, 30, 40], (0,)).initiation_interval == 10
    assert result([10, 20, 30, 71, 81, 91], (0, 3)).initiation_interval == 10
    assert np.isnan(result([10, 51], (0, 1)).initiation_interval)
