"""``simulator="verilator"``: the design's Verilog compiled by Verilator, against GHDL,
Icarus Verilog and the model; its cache, the shards, a process that dies, ``None``.

Verilator runs the testbench Icarus Verilog runs (``sim.verilog_testbench``): the same
stalls for the same seed, so the two give the same cycles with stalls too; without
stalls all three simulators give the same cycles.
"""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

from elasticai.creator import create_design
from elasticai.creator.sim import choice, progress, runner, verilator
from elasticai.creator.sim.shards import ShardError
from elasticai.creator.sim.stream_files import pack
from elasticai.creator.vhdl.top import top_streams
from tests.conftest import REQUIRES_VERILATOR
from tests.sim.test_icarus import cnn, design, inputs, mlp

pytestmark = [pytest.mark.sim, REQUIRES_VERILATOR]

REAL_COMMAND = verilator.command


@pytest.mark.parametrize("name", ["mlp", "mlp_full", "cnn", "residual"])
def test_verilator_equals_ghdl_icarus_and_the_model(name: str) -> None:
    model, d = design(name)
    x = inputs(d, 8, 1)
    with torch.no_grad():
        expected = model(x)
    assert torch.equal(d.simulate(x, simulator="verilator"), expected)
    x_int = d.quantize_input(x)
    plain = d.run(x_int, stall_percent=0, simulator="verilator")
    vhdl = d.run(x_int, stall_percent=0, simulator="ghdl")
    np.testing.assert_array_equal(plain.outputs, vhdl.outputs)
    np.testing.assert_array_equal(plain.input_cycles, vhdl.input_cycles)
    np.testing.assert_array_equal(plain.output_cycles, vhdl.output_cycles)
    stalled = d.run(x_int, stall_percent=30, seed=5, simulator="verilator")
    icarus = d.run(x_int, stall_percent=30, seed=5, simulator="icarus")
    np.testing.assert_array_equal(stalled.outputs, d.interpret(x_int))
    np.testing.assert_array_equal(stalled.input_cycles, icarus.input_cycles)
    np.testing.assert_array_equal(stalled.output_cycles, icarus.output_cycles)
    assert stalled.output_cycles[-1] > plain.output_cycles[-1]


def test_reset_and_held_outputs(tmp_path: Path) -> None:
    _, d = design("mlp")
    x_int = d.quantize_input(inputs(d, 5, 3))
    vhdl = d.run(x_int, stall_percent=0, reset_cycle=40)
    reset = d.run(x_int, stall_percent=0, reset_cycle=40, simulator="verilator", workdir=tmp_path)
    assert "reset" in (tmp_path / "output.txt").read_text().split("\n")
    np.testing.assert_array_equal(reset.outputs, d.interpret(x_int))
    np.testing.assert_array_equal(reset.output_cycles, vhdl.output_cycles)
    held = d.run(x_int, stall_percent=25, hold_cycles=30, simulator="verilator")
    np.testing.assert_array_equal(held.outputs, d.interpret(x_int))


def test_a_second_simulate_does_not_compile(monkeypatch: pytest.MonkeyPatch) -> None:
    _, d = design("mlp")
    x = inputs(d, 4, 2)
    d.simulate(x, simulator="verilator")  # compiled here or by an earlier test
    source, sink = top_streams(d.graph)
    assert verilator.is_built(d.to_verilog(), d.name, source.bits, sink.bits)

    def compile_again(command, workdir):
        raise AssertionError(f"compiled again: {command}")

    monkeypatch.setattr(verilator, "_run", compile_again)
    again = create_design(mlp(), "mlp")  # a new design object with the same content
    assert torch.equal(again.simulate(x, simulator="verilator"), d.simulate(x))


def test_samples_are_sharded_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "MIN_SHARD_CYCLES", 1)
    _, d = design("mlp_ii3")
    x_int = d.quantize_input(inputs(d, 12, 4))
    calls: list[tuple[int, int]] = []
    alone = d.run(x_int, stall_percent=0, simulator="verilator", workers=1)
    three = d.run(
        x_int,
        stall_percent=0,
        simulator="verilator",
        workers=3,
        workdir=tmp_path,
        progress=lambda done, total: calls.append((done, total)),
    )
    assert three.shard_starts == (0, 4, 8)
    assert sorted(p.name for p in tmp_path.glob("shard*")) == ["shard0", "shard1", "shard2"]
    np.testing.assert_array_equal(three.outputs, d.interpret(x_int))
    assert (np.diff(three.output_cycles) > 0).all() and (np.diff(three.input_cycles) > 0).all()
    assert set(three.latencies[[0, 4, 8]]) == {alone.latencies[0]}
    assert three.initiation_interval == alone.initiation_interval
    assert calls[-1] == (12, 12)
    stalled = d.run(x_int, simulator="ghdl", workers=2)  # GHDL shards the same way
    assert stalled.shard_starts == (0, 6)
    np.testing.assert_array_equal(stalled.outputs, d.interpret(x_int))


def dying(mode: str):
    """``verilator.command`` whose program is killed: on its first start in each shard
    (``once``) or always."""
    real = REAL_COMMAND
    script = (
        'if [ "$0" = always ] || [ ! -e died ]; then touch died; kill -9 $$; fi; shift; exec "$@"'
    )

    def command(program, parameters):
        return ["sh", "-c", script, mode, "run", *real(program, parameters)]

    return command


def test_a_killed_shard_is_retried_then_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "MIN_SHARD_CYCLES", 1)
    _, d = design("mlp_ii3")
    x_int = d.quantize_input(inputs(d, 6, 5))
    monkeypatch.setattr(verilator, "command", dying("once"))
    retried = d.run(x_int, simulator="verilator", workers=2)
    np.testing.assert_array_equal(retried.outputs, d.interpret(x_int))
    monkeypatch.setattr(verilator, "command", dying("always"))
    with pytest.raises(ShardError) as error:  # the shard that is seen dying first
        d.run(x_int, simulator="verilator", workers=2)
    assert str(error.value).startswith(
        (
            "shard 1 of 2 (samples 0 to 2): the verilator process died twice (signal SIGKILL)",
            "shard 2 of 2 (samples 3 to 5): the verilator process died twice (signal SIGKILL)",
        )
    )


def test_a_time_out_is_a_failure_of_the_model(tmp_path: Path) -> None:
    _, d = design("mlp")
    source, sink = top_streams(d.graph)
    program = verilator.build(d.to_verilog(), d.name, source.bits, sink.bits)
    x_int = np.zeros((2, d.graph.input_type.size), np.int64)
    (tmp_path / "input.txt").write_text(pack(x_int, source.lanes, source.width))
    run = subprocess.run(
        verilator.command(program, {"SAMPLES": 2, "MAX_CYCLES": 20}),
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 1
    assert "FAIL: mlp_tb: timeout after 20 cycles, 0 of 2 samples received" in run.stdout
    with pytest.raises(ValueError, match=r"unknown testbench parameters \['SAMPLE'\]"):
        verilator.command(program, {"SAMPLE": 2})


def test_none_picks_verilator_for_long_runs(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, capsys
) -> None:
    _, d = design("cnn")
    x = inputs(d, 6, 6)
    fresh = create_design(cnn(), "cnn", input_shape=(2, 12))  # no Verilog at hand yet
    with caplog.at_level(logging.INFO, logger="elasticai.creator.sim"):
        short = fresh.simulate(x, raw=True)
    assert caplog.messages[-1].startswith("simulator=None: ghdl (")
    monkeypatch.setattr(choice, "GHDL_CYCLES_PER_SECOND", 1)  # every run is long
    monkeypatch.setattr(progress, "DELAY_SECONDS", 0.0)
    with caplog.at_level(logging.INFO, logger="elasticai.creator.sim"):
        long = d.simulate(x, raw=True)
    assert caplog.messages[-1].startswith("simulator=None: verilator (")
    np.testing.assert_array_equal(long, short)
    assert "cnn (verilator): 100%" in capsys.readouterr().err
    monkeypatch.setenv("ELASTICAI_VERILATOR", "/no/verilator")
    with caplog.at_level(logging.INFO, logger="elasticai.creator.sim"):
        np.testing.assert_array_equal(d.simulate(x, raw=True), short)
    assert caplog.messages[-1] == (
        "simulator=None: ghdl (Verilator is not installed (Debian package verilator))"
    )
