"""Simulation tier: the designs survive a reset mid-run and long output holds, and
``Design.run`` refuses integers outside the input format."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch

from elasticai.creator.nn import Sequential
from elasticai.creator.nn.fixed_point import HardTanh, Linear, ReLU
from elasticai.creator.sim import ghdl
from elasticai.creator.sim.stream_files import after_last_reset, unpack
from elasticai.creator.vhdl.lower import top_streams

pytestmark = pytest.mark.sim

PARALLELISM = {
    "serial": {},
    "ii4": {"target_ii": 4},
    "full": {"parallelism": "full"},
}
SAMPLES = 5


def make_design(options: dict, name: str = "robust"):
    torch.manual_seed(3)
    model = Sequential(Linear(6, 4, 8, 4), ReLU(), Linear(4, 3, 8, 4), HardTanh(8, 4))
    model.eval()
    return model.create_design(name, **options)


def random_inputs(design, batch: int = SAMPLES, seed: int = 0) -> np.ndarray:
    t = design.graph.input_type
    rng = np.random.default_rng(seed)
    return rng.integers(t.dtype.min_int, t.dtype.max_int + 1, size=(batch, t.size))


def beat_lines(path: Path) -> list[str]:
    return [line for line in path.read_text().split("\n") if line.strip()]


def out_beat_cycles(path: Path) -> list[int]:
    """Cycles of the accepted output beats after the last reset."""
    lines = after_last_reset(path.read_text()).split("\n")
    return [int(line.split()[2]) for line in lines if line.strip()]


def phase_cycles(design, x: np.ndarray, workdir: Path) -> dict[str, int]:
    """Reset cycles, from an undisturbed run with the same stalls (identical up to the
    reset): during sample 0's input, while the layers compute, while outputs leave."""
    design.run(x, workdir=workdir)
    in_cycles = [int(v) for v in (workdir / "input_log.txt").read_text().split()]
    out_cycles = out_beat_cycles(workdir / "output.txt")
    source, sink = top_streams(design.graph)
    beats_in = -(-design.graph.input_type.size // source.lanes)
    beats_out = -(-design.graph.output_type.size // sink.lanes)
    last_in, first_out = in_cycles[beats_in - 1], out_cycles[0]
    assert first_out > last_in
    return {
        "input": max(1, in_cycles[min(1, beats_in - 1)]),
        "compute": (last_in + first_out + 1) // 2,
        # after sample 0's first output beat (mid-sample if it has more than one beat)
        "output": first_out + 1 if beats_out > 1 else out_cycles[1],
    }


@pytest.mark.parametrize("parallelism", PARALLELISM)
def test_reset_mid_run_gives_exact_outputs(parallelism, tmp_path):
    design = make_design(PARALLELISM[parallelism])
    x = random_inputs(design, seed=len(parallelism))
    expected = design.interpret(x)
    phases = phase_cycles(design, x, tmp_path / "base")
    for phase, cycle in phases.items():
        work = tmp_path / phase
        result = design.run(x, reset_cycle=cycle, workdir=work)
        lines = beat_lines(work / "output.txt")
        assert lines.count("reset") == 1, phase
        assert beat_lines(work / "input_log.txt").count("reset") == 1, phase
        if phase == "output":
            assert lines.index("reset") >= 1, "no output beat left before the reset"
        assert len(result.outputs) == len(x), phase
        np.testing.assert_array_equal(result.outputs, expected, err_msg=f"reset {phase} @{cycle}")
        # timing counts from the reset: inputs went in again, outputs followed
        assert len(result.input_cycles) == len(x)
        assert (result.latencies > 0).all()


@pytest.mark.parametrize("parallelism", PARALLELISM)
def test_long_output_hold_loses_nothing(parallelism, tmp_path):
    design = make_design(PARALLELISM[parallelism])
    x = random_inputs(design, batch=8, seed=7)
    result = design.run(x, hold_cycles=200, stall_percent=25, seed=5, workdir=tmp_path)
    assert result.outputs.shape == (len(x), design.graph.output_type.size)
    np.testing.assert_array_equal(result.outputs, design.interpret(x))
    _, sink = top_streams(design.graph)
    cycles = out_beat_cycles(tmp_path / "output.txt")
    assert len(cycles) == len(x) * -(-design.graph.output_type.size // sink.lanes)
    assert np.diff(cycles).max() >= 200, "the sink never held tready low for 200 cycles"


def test_reset_during_a_hold(tmp_path):
    design = make_design(PARALLELISM["serial"])
    x = random_inputs(design, seed=11)
    base = design.run(x, hold_cycles=300, stall_percent=0, workdir=tmp_path / "base")
    first_out = out_beat_cycles(tmp_path / "base" / "output.txt")[0]
    result = design.run(
        x, hold_cycles=300, stall_percent=0, reset_cycle=first_out + 100, workdir=tmp_path / "r"
    )
    assert beat_lines(tmp_path / "r" / "output.txt").count("reset") == 1
    np.testing.assert_array_equal(result.outputs, design.interpret(x))
    np.testing.assert_array_equal(base.outputs, result.outputs)


def test_simulate_passes_the_options_through():
    design = make_design(PARALLELISM["ii4"])
    x = torch.randn(4, 6) * 4
    expected = design.interpret(design.quantize_input(x))
    np.testing.assert_array_equal(
        design.simulate(x, raw=True, reset_cycle=3, hold_cycles=50), expected
    )


@pytest.mark.parametrize(
    ("value", "where"), [(200, (0, 3)), (-129, (2, 0)), (128, (1, 5)), (10**20, (0, 0))]
)
def test_out_of_range_inputs_are_refused_before_ghdl(value, where, monkeypatch):
    def no_ghdl(*args, **kwargs):
        raise AssertionError("GHDL ran")

    monkeypatch.setattr(ghdl, "simulate", no_ghdl)
    design = make_design(PARALLELISM["serial"])
    x = np.zeros((3, 6), dtype=object if abs(value) > 2**62 else np.int64)
    x[where] = value
    x[2, 5] = -300  # a later offender: the first one is named
    message = (
        f"input {value} at [{where[0]}, {where[1]}] is outside the range of "
        "Q8.4 integers [-128, 127]"
    )
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        design.run(x)


def test_non_integer_inputs_are_refused(monkeypatch):
    monkeypatch.setattr(ghdl, "simulate", lambda *a, **k: pytest.fail("GHDL ran"))
    design = make_design(PARALLELISM["serial"])
    x = np.zeros((2, 6))
    x[1, 2] = 1.5
    with pytest.raises(ValueError, match=re.escape("input 1.5 at [1, 2] is not an integer")):
        design.run(x)


def test_in_range_boundaries_are_accepted():
    design = make_design(PARALLELISM["full"])
    x = np.array([[-128, 127, 0, -1, 1, 127]] * 2)
    np.testing.assert_array_equal(design.run(x).outputs, design.interpret(x))


def test_unpack_keeps_what_follows_the_last_reset():
    text = "0001 0 3\nreset\n0010 1 5\nreset\n0011 0 7\n0100 1 8\n"
    beats = unpack(text, n=2, lanes=1, width=4)
    np.testing.assert_array_equal(beats.samples, [[3, 4]])
    np.testing.assert_array_equal(beats.last_cycles, [8])
    assert after_last_reset("1\n2\n") == "1\n2\n"
    assert after_last_reset("1\nreset\n2\n").split() == ["2"]
