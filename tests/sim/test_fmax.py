"""Timing tier: Yosys ``synth_ecp5`` + nextpnr-ecp5 give a plausible Fmax."""

from __future__ import annotations

from pathlib import Path

import pytest

from elasticai.creator.nn import Sequential
from elasticai.creator.nn.fixed_point import Linear, ReLU
from elasticai.creator.synth.nextpnr import fmax, median_seed

pytestmark = pytest.mark.sim


def test_fmax_of_a_small_design_is_plausible(tmp_path: Path) -> None:
    design = Sequential(Linear(6, 4, 8, 4), ReLU(), Linear(4, 2, 8, 4)).create_design("small")
    report = fmax(design.synthesizable_files(), design.name, tmp_path, seed=(1, 2), timeout=300)
    assert 20 < report.mhz < 500, report.summary()
    # two seeds placed on the same netlist: the report is the lower (median of two) one's
    assert set(report.mhz_by_seed) == {1, 2}
    assert report.mhz == min(report.mhz_by_seed.values())
    chosen = median_seed(report.mhz_by_seed)
    assert (tmp_path / "report.json").read_text() == (
        tmp_path / f"report_seed{chosen}.json"
    ).read_text()
    assert "median of 2 seeds" in report.summary()
    assert report.seconds >= report.pnr_seconds > 0
    assert len(report.clocks) == 1
    assert report.utilization["TRELLIS_FF"][0] > 0
    assert report.utilization["TRELLIS_COMB"][0] > 0
    # the critical path is 1000 / mhz long (nextpnr gives the MHz as a 32-bit float) and
    # runs through the design's instances
    assert report.critical_path_ns == pytest.approx(1000 / report.mhz, rel=1e-6)
    assert set(report.critical_instances) <= {"linear_0", "relu_1", "linear_2", ""}
    assert "Max frequency for clock" in report.log
    # the registers around each multiplier went into it (synth.ecp5_registers)
    multipliers = report.utilization["MULT18X18D"][0]
    assert multipliers > 0
    assert report.absorbed.mult_outputs == multipliers
    assert report.absorbed.mult_inputs == 2 * multipliers
    files = ("small.v", "small.json", "small_packed.json", "report.json", "nextpnr.log")
    files += ("nextpnr_seed1.log", "nextpnr_seed2.log", "report_seed2.json")
    for name in (*files, "yosys.log"):
        assert (tmp_path / name).exists(), name
