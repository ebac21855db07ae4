"""Which simulator runs (``sim.choice``): the one asked for, or the one that answers first,
and the errors for simulators that are missing or designs too large."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from elasticai.creator.sim import choice, verilator
from elasticai.creator.sim.ghdl import GhdlError

VERILOG = "module top; endmodule\n"
MISSING = (
    "Verilator was not found. Install it (Debian/Ubuntu: `apt-get install verilator`; "
    "`./dev setup` does) or set the ELASTICAI_VERILATOR environment variable to the "
    "verilator binary."
)


@pytest.fixture
def installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(verilator, "verilator_path", lambda: "/usr/bin/verilator")


@pytest.fixture
def missing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ELASTICAI_VERILATOR", str(tmp_path / "no_verilator"))


def auto(cycles: int, *, compiled: bool = False, ready: bool = False, verilog=lambda: VERILOG):
    return choice.choose(
        None,
        cycles=cycles,
        vcd=False,
        verilog=verilog,
        compiled=lambda _: compiled,
        verilog_ready=ready,
    )


def never() -> str:
    raise AssertionError("the Verilog was made for a short run")


def test_names_and_vcd_are_checked() -> None:
    with pytest.raises(
        ValueError,
        match=r"^simulator must be 'ghdl', 'icarus', 'verilator' or None \(the fastest\), not 'vcs'$",
    ):
        choice.check_request("vcs", vcd=False)
    with pytest.raises(ValueError, match="^vcd= needs simulator='ghdl'$"):
        choice.check_request("verilator", vcd=True)
    choice.check_request("ghdl", vcd=True)


def test_a_missing_verilator_names_its_package(missing: None) -> None:
    with pytest.raises(verilator.VerilatorNotFoundError) as error:
        choice.check_request("verilator", vcd=False)
    assert str(error.value).startswith(MISSING)
    assert "ELASTICAI_VERILATOR=" in str(error.value)


def test_verilator_needs_a_compiler(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    tool = tmp_path / "verilator"
    tool.write_text("#!/bin/sh\n")
    tool.chmod(0o755)
    monkeypatch.setenv("ELASTICAI_VERILATOR", str(tool))
    monkeypatch.setenv("CXX", "no-such-c++")
    with pytest.raises(
        verilator.VerilatorNotFoundError,
        match=r"\(it needs 'no-such-c\+\+' to compile its models: `apt-get install make g\+\+`\)",
    ):
        verilator.verilator_path()


def test_without_verilator_the_fastest_is_ghdl(missing: None) -> None:
    assert auto(10**9, verilog=never) == choice.Choice(
        "ghdl", "Verilator is not installed (Debian package verilator)"
    )


def test_short_runs_stay_in_ghdl(installed: None) -> None:
    picked = auto(1000, verilog=never)
    assert picked == choice.Choice("ghdl", "1000 cycles: GHDL is done before a compile would be")
    assert auto(1000, ready=True, compiled=True).simulator == "verilator"


def test_long_runs_compile(installed: None, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="elasticai.creator.sim"):
        picked = auto(22_500_000)
    assert picked == choice.Choice(
        "verilator", "GHDL would take about 900 s, the compile about 5 s"
    )
    assert caplog.messages == [
        "simulator=None: verilator (GHDL would take about 900 s, the compile about 5 s)"
    ]
    assert auto(22_500_000, compiled=True).reason == "the compiled model is in the cache"
    assert auto(130_000, verilog=lambda: "x" * 2_000_000).simulator == "ghdl"  # 35 s compile


def test_a_design_too_large_for_verilator(
    installed: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(choice, "MAX_VERILOG_BYTES", 10)
    message = (
        "the design's Verilog has 22 bytes, more than the 10 Verilator compiles here "
        "(about 0.35 GB of memory per MB); simulate it with simulator='ghdl'"
    )
    assert auto(10**9).simulator == "ghdl"
    assert caplog.messages == [f"simulating in GHDL: {message}"]
    with pytest.raises(ValueError, match=f"^{message}$".replace("(", r"\(").replace(")", r"\)")):
        choice.choose(
            "verilator",
            cycles=1,
            vcd=False,
            verilog=lambda: VERILOG,
            compiled=lambda _: False,
            verilog_ready=False,
        )


def test_no_verilog_means_ghdl(installed: None, caplog: pytest.LogCaptureFixture) -> None:
    def crash() -> str:
        raise GhdlError(["ghdl", "--synth"], "crashed", 1)

    assert auto(10**9, verilog=crash) == choice.Choice("ghdl", "ghdl --synth failed")
    assert caplog.messages[0].startswith("no Verilog for Verilator (ghdl --synth failed)")


def test_a_value_change_dump_needs_ghdl(installed: None) -> None:
    picked = choice.choose(
        None, cycles=10**9, vcd=True, verilog=never, compiled=bool, verilog_ready=False
    )
    assert picked == choice.Choice("ghdl", "a value change dump needs GHDL")
