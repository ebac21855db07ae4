"""The Vivado scripts of ``flows.vivado``, run in ``tclsh`` against stubs (Vivado is not run).

Every name in ``VIVADO_COMMANDS`` becomes a stub that logs its call and returns a plausible
value; ``unknown`` fails, so the scripts may call nothing but those and Tcl's builtins.
The scripts run from another working directory than the design's folder, and the log
shows what Vivado would have been asked: the project for the part, the sources in compile
order as VHDL 2008, the top, the XDC, the runs, the reports and the IP's interfaces.
"""

from __future__ import annotations

import math
import shutil
import subprocess
from pathlib import Path

import pytest

from elasticai.creator.flows.vivado import (
    BUILD_SCRIPT,
    DEFAULT_PART,
    IP_DIR,
    PACKAGE_SCRIPT,
    PROJECT_DIR,
    TIMING_REPORT,
    UTILIZATION_REPORT,
    VIVADO_COMMANDS,
    XDC_COMMANDS,
    check_clock,
    check_part,
    vivado_files,
)

TCLSH = shutil.which("tclsh")
needs_tclsh = pytest.mark.skipif(TCLSH is None, reason="tclsh (Tcl) is not installed")

SOURCES = ["ec_pkg.vhd", "ec_linear.vhd", "net_pkg.vhd", "net.vhd"]
FINISHED = "elasticai.creator: build.tcl finished"
DRIVER_DONE = "STUB-DRIVER: done"
SEP = "\x1f"


def _ports(tdata_in: int = 8, tdata_out: int = 16) -> list[tuple[str, str, str]]:
    slv = "std_logic_vector({} downto 0)".format
    return [
        ("clk", "in", "std_logic"),
        ("rst", "in", "std_logic"),
        ("s_axis_tdata", "in", slv(tdata_in - 1)),
        ("s_axis_tvalid", "in", "std_logic"),
        ("s_axis_tready", "out", "std_logic"),
        ("s_axis_tlast", "in", "std_logic"),
        ("m_axis_tdata", "out", slv(tdata_out - 1)),
        ("m_axis_tvalid", "out", "std_logic"),
        ("m_axis_tready", "in", "std_logic"),
        ("m_axis_tlast", "out", "std_logic"),
        ("tlast_error", "out", "std_logic"),
    ]


# The stubs: each logs "name<US>arg<US>arg..." and returns what Vivado would, roughly.
# Bus interfaces are "busif:<name>", port maps "portmap:<busif>/<logical>", bus parameters
# "param:<busif>/<name>"; ipx::get_bus_interfaces pretends Vivado inferred two interfaces.
STUB_PRELUDE = r"""
set stub_log [open [lindex $argv 0] w]
fconfigure $stub_log -encoding utf-8
set stub_commands [lrange $argv 3 end]
set stub_builtins [info commands]
foreach name $stub_commands {
    if {[lsearch -exact $stub_builtins $name] >= 0} {
        error "STUB-DRIVER: $name is a Tcl builtin, it must not be in VIVADO_COMMANDS"
    }
}
namespace eval ipx {}
proc stub_call {name args} {
    puts $::stub_log [join [concat [list $name] $args] "\x1f"]
    flush $::stub_log
    set words {}
    foreach arg $args { if {![string match -* $arg]} { lappend words $arg } }
    switch -- $name {
        create_project { return [lindex $words 0] }
        current_project { return project_1 }
        get_files - get_filesets - get_runs - get_ports { return [lindex $words end] }
        get_property {
            set property [lindex $words 0]
            set object [lindex $words 1]
            switch -- $property {
                PROGRESS { return "100%" }
                STATS.WNS { return 0.123 }
                NAME { return [lindex [split $object :] end] }
            }
            return ""
        }
        ipx::current_core { return core_1 }
        ipx::get_bus_interfaces { return [list busif:S_AXIS busif:CLK] }
        ipx::add_bus_interface { return busif:[lindex $words 0] }
        ipx::add_port_map { return portmap:[lindex $words 1]/[lindex $words 0] }
        ipx::add_bus_parameter { return param:[lindex $words 1]/[lindex $words 0] }
    }
    return ""
}
foreach name $stub_commands {
    proc $name args [format {return [stub_call %s {*}$args]} [list $name]]
}
rename unknown stub_original_unknown
proc unknown {args} {
    error "STUB-DRIVER: [lindex $args 0] is neither in VIVADO_COMMANDS nor a Tcl builtin"
}
cd [lindex $argv 1]
source [lindex $argv 2]
close $stub_log
puts "STUB-DRIVER: done"
"""


def _write_design(folder: Path, sources: list[str], files: dict[str, str]) -> None:
    """The saved design's layout: its (here empty) sources and the Vivado files."""
    for name in sources:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text("")
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)


def _run_stubbed(
    tmp_path: Path, workdir: Path, script: str, commands: tuple[str, ...]
) -> tuple[list[list[str]], subprocess.CompletedProcess[str]]:
    """Source ``script`` (as given, from ``workdir``) in tclsh with stubs of ``commands``."""
    assert TCLSH is not None
    driver = tmp_path / "stub_driver.tcl"
    driver.write_text(STUB_PRELUDE)
    log = tmp_path / "calls.log"
    result = subprocess.run(
        [TCLSH, str(driver), str(log), str(workdir), script, *commands],
        capture_output=True,
        text=True,
        timeout=60,
    )
    calls = [line.split(SEP) for line in log.read_text().splitlines()] if log.exists() else []
    return calls, result


def _words(call: list[str]) -> list[str]:
    """A call's arguments without its options and their values (for the commands used)."""
    valued = {"-fileset", "-part", "-of_objects", "-jobs", "-file", "-max_paths", "-name"}
    out, skip = [], False
    for arg in call[1:]:
        if skip:
            skip = False
        elif arg in valued:
            skip = True
        elif not arg.startswith("-"):
            out.append(arg)
    return out


def _option(call: list[str], option: str) -> str:
    return call[call.index(option) + 1]


def _build(
    tmp_path: Path,
    *,
    part: str = DEFAULT_PART,
    clock_mhz: float = 100.0,
    sources: list[str] | None = None,
    ports: list[tuple[str, str, str]] | None = None,
    from_design_dir: bool = False,
) -> tuple[Path, dict[str, str], list[list[str]]]:
    sources = SOURCES if sources is None else sources
    design = tmp_path / "design"
    files = vivado_files("net", sources, part=part, clock_mhz=clock_mhz, ports=ports)
    _write_design(design, sources, files)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    if from_design_dir:  # as "vivado -mode batch -source vivado/build.tcl" in the design's folder
        workdir, script = design, BUILD_SCRIPT
    else:  # from another folder, the script named by a relative path
        workdir, script = elsewhere, "../design/" + BUILD_SCRIPT
    calls, result = _run_stubbed(tmp_path, workdir, script, VIVADO_COMMANDS)
    assert result.returncode == 0, result.stderr + result.stdout
    assert FINISHED in result.stdout and DRIVER_DONE in result.stdout
    assert not any(elsewhere.iterdir()), "the script wrote into the working directory"
    return design, files, calls


def _named(calls: list[list[str]], name: str) -> list[list[str]]:
    return [call for call in calls if call[0] == name]


def _properties(calls: list[list[str]]) -> dict[str, dict[str, str]]:
    """``set_property NAME VALUE OBJECT`` calls as {object: {name: value}}."""
    props: dict[str, dict[str, str]] = {}
    for call in _named(calls, "set_property"):
        if call[1].startswith("-"):
            continue
        name, value, obj = call[1], call[2], call[3]
        props.setdefault(obj, {})[name] = value
    return props


@needs_tclsh
@pytest.mark.parametrize(
    ("part", "clock_mhz", "period"),
    [
        (DEFAULT_PART, 100.0, "10.000"),
        ("xc7a35ticsg324-1L", 150, "6.667"),
        ("xczu3eg-sbva484-1-e", 250.0, "4.000"),
        ("XC7Z020CLG400-1", 33.3, "30.030"),
    ],
)
def test_build_script_runs_through_with_stubbed_vivado(
    tmp_path: Path, part: str, clock_mhz: float, period: str
) -> None:
    design, files, calls = _build(tmp_path, part=part, clock_mhz=clock_mhz)
    names = [call[0] for call in calls]
    assert set(names) <= set(VIVADO_COMMANDS)
    assert set(names) == set(VIVADO_COMMANDS), "VIVADO_COMMANDS lists a command no script calls"

    # the project, for the part asked for, in vivado/project
    (create,) = _named(calls, "create_project")
    assert _option(create, "-part") == part.lower()
    assert "-force" in create
    assert _words(create) == ["net", str(design / PROJECT_DIR)]

    # every file named exists; the sources in compile order, as VHDL 2008; the XDC
    added = [(_option(call, "-fileset"), _words(call)) for call in _named(calls, "add_files")]
    for _, paths in added:
        for path in paths:
            assert Path(path).is_absolute() and Path(path).is_file(), path
    sources = [p for fileset, paths in added if fileset == "sources_1" for p in paths]
    assert sources == [str(design / s) for s in SOURCES]
    constraints = [p for fileset, paths in added if fileset == "constrs_1" for p in paths]
    assert constraints == [str(design / "vivado" / "net.xdc")]
    props = _properties(calls)
    for source in sources:
        assert props[source]["file_type"] == "VHDL 2008"
    assert props["sources_1"]["top"] == "net"

    # the order of the flow: sources, top, IP, XDC, synthesis, implementation, reports
    def first(name: str, *args: str) -> int:
        return next(
            i for i, call in enumerate(calls) if call[0] == name and all(a in call for a in args)
        )

    assert first("set_property", "top") < first("ipx::package_project")
    assert first("ipx::save_core") < first("add_files", "constrs_1")
    assert first("add_files", "constrs_1") < first("launch_runs", "synth_1")
    assert first("launch_runs", "synth_1") < first("wait_on_run", "synth_1")
    assert first("wait_on_run", "synth_1") < first("launch_runs", "impl_1")
    assert first("launch_runs", "impl_1") < first("wait_on_run", "impl_1")
    assert first("wait_on_run", "impl_1") < first("open_run", "impl_1")
    assert first("open_run") < first("report_utilization") < first("report_timing_summary")
    ooc = [c for c in _named(calls, "set_property") if "-mode out_of_context" in c]
    assert ooc and ooc[0][-1] == "synth_1"

    # the reports under vivado/reports
    (utilization,) = _named(calls, "report_utilization")
    (timing,) = _named(calls, "report_timing_summary")
    assert _option(utilization, "-file") == str(design / UTILIZATION_REPORT)
    assert _option(timing, "-file") == str(design / TIMING_REPORT)
    assert (design / "vivado" / "reports").is_dir()

    # the clock constraint
    xdc = files["vivado/net.xdc"]
    assert f"create_clock -period {period} -name clk [get_ports clk]" in xdc
    assert math.isclose(float(period), 1000 / clock_mhz, abs_tol=0.0005)


@needs_tclsh
def test_build_script_from_the_design_folder_and_by_absolute_path(tmp_path: Path) -> None:
    design, _, calls = _build(tmp_path / "a", from_design_dir=True)
    sources = [_words(c)[0] for c in _named(calls, "add_files") if "sources_1" in c]
    assert sources == [str(design / s) for s in SOURCES]

    other = tmp_path / "b"
    files = vivado_files("net", SOURCES)
    _write_design(other / "design", SOURCES, files)
    (other / "cwd").mkdir()
    script = str(other / "design" / BUILD_SCRIPT)
    calls, result = _run_stubbed(other, other / "cwd", script, VIVADO_COMMANDS)
    assert result.returncode == 0, result.stderr
    assert FINISHED in result.stdout
    (create,) = _named(calls, "create_project")
    assert _words(create)[1] == str(other / "design" / PROJECT_DIR)


@needs_tclsh
def test_nested_sources_keep_their_folders(tmp_path: Path) -> None:
    nested = ["lib/ec_pkg.vhd", "lib/ec_linear.vhd", "net_pkg.vhd", "net.vhd"]
    design, _, calls = _build(tmp_path, sources=nested)
    sources = [_words(c)[0] for c in _named(calls, "add_files") if "sources_1" in c]
    assert sources == [str(design / s) for s in nested]


def _ip(calls: list[list[str]]) -> tuple[list[list[str]], dict[str, dict[str, str]]]:
    """The calls from ipx::package_project on, and the properties they set."""
    start = next(i for i, c in enumerate(calls) if c[0] == "ipx::package_project")
    return calls[start:], _properties(calls[start:])


@needs_tclsh
def test_ip_interfaces_are_declared(tmp_path: Path) -> None:
    design, _, calls = _build(tmp_path)
    ip_calls, props = _ip(calls)
    (package,) = _named(ip_calls, "ipx::package_project")
    assert _option(package, "-root_dir") == str(design / IP_DIR)
    assert "-import_files" in package
    core = "core_1"
    assert props[core]["name"] == "net"
    assert props[core]["version"] == "1.0"

    # whatever was inferred is removed before the interfaces are declared
    removed = [_words(c)[0] for c in _named(ip_calls, "ipx::remove_bus_interface")]
    assert removed == ["S_AXIS", "CLK"]
    first_add = next(i for i, c in enumerate(ip_calls) if c[0] == "ipx::add_bus_interface")
    last_remove = max(i for i, c in enumerate(ip_calls) if c[0] == "ipx::remove_bus_interface")
    assert last_remove < first_add

    added = [_words(c)[0] for c in _named(ip_calls, "ipx::add_bus_interface")]
    assert sorted(added) == ["clk", "m_axis", "rst", "s_axis"]
    for name, mode in (("s_axis", "slave"), ("m_axis", "master")):
        busif = props[f"busif:{name}"]
        assert busif["abstraction_type_vlnv"] == "xilinx.com:interface:axis_rtl:1.0"
        assert busif["bus_type_vlnv"] == "xilinx.com:interface:axis:1.0"
        assert busif["interface_mode"] == mode
        for signal in ("tdata", "tvalid", "tready", "tlast"):
            port_map = props[f"portmap:busif:{name}/{signal.upper()}"]
            assert port_map["physical_name"] == f"{name}_{signal}"
    clock, reset = props["busif:clk"], props["busif:rst"]
    assert clock["abstraction_type_vlnv"] == "xilinx.com:signal:clock_rtl:1.0"
    assert clock["bus_type_vlnv"] == "xilinx.com:signal:clock:1.0"
    assert props["portmap:busif:clk/CLK"]["physical_name"] == "clk"
    assert props["param:busif:clk/ASSOCIATED_BUSIF"]["value"] == "s_axis:m_axis"
    assert props["param:busif:clk/ASSOCIATED_RESET"]["value"] == "rst"
    assert reset["abstraction_type_vlnv"] == "xilinx.com:signal:reset_rtl:1.0"
    assert reset["bus_type_vlnv"] == "xilinx.com:signal:reset:1.0"
    assert props["portmap:busif:rst/RST"]["physical_name"] == "rst"
    assert props["param:busif:rst/POLARITY"]["value"] == "ACTIVE_HIGH"
    # no interface for other ports (tlast_error stays a plain port)
    mapped = {v["physical_name"] for k, v in props.items() if k.startswith("portmap:")}
    assert "tlast_error" not in mapped

    order = [c[0] for c in ip_calls]
    tail = ["ipx::create_xgui_files", "ipx::update_checksums", "ipx::check_integrity"]
    assert [n for n in order if n in tail + ["ipx::save_core"]] == tail + ["ipx::save_core"]


@needs_tclsh
def test_wrapper_is_the_top_of_the_ip_only(tmp_path: Path) -> None:
    design, files, calls = _build(tmp_path, ports=_ports(8, 24))
    wrapper = files["vivado/net_ip.vhd"]
    assert "entity net_ip is" in wrapper and "core : entity work.net" in wrapper
    assert "m_axis_tdata : out std_logic_vector(23 downto 0)" in wrapper
    assert "tlast_error => tlast_error" in wrapper
    assert "2008" not in wrapper.split("library ieee;")[1]  # VHDL-93 text, no 2008 syntax

    added = [_words(c)[0] for c in _named(calls, "add_files") if "sources_1" in c]
    assert added == [str(design / s) for s in SOURCES] + [str(design / "vivado" / "net_ip.vhd")]
    props = _properties(calls)
    assert props[str(design / "vivado" / "net_ip.vhd")]["file_type"] == "VHDL"
    tops = [c[2] for c in _named(calls, "set_property") if c[1] == "top"]
    assert tops == ["net", "net_ip", "net"]  # the design, the IP's wrapper, the design again
    package = next(i for i, c in enumerate(calls) if c[0] == "ipx::package_project")
    top_at_package = [c[2] for c in calls[:package] if c[0] == "set_property" and c[1] == "top"]
    assert top_at_package[-1] == "net_ip"
    synth = next(i for i, c in enumerate(calls) if c[0] == "launch_runs")
    top_at_synth = [c[2] for c in calls[:synth] if c[0] == "set_property" and c[1] == "top"]
    assert top_at_synth[-1] == "net"


@needs_tclsh
def test_xdc_calls_only_its_commands(tmp_path: Path) -> None:
    files = vivado_files("net", SOURCES, clock_mhz=150)
    (tmp_path / "net.xdc").write_text(files["vivado/net.xdc"])
    calls, result = _run_stubbed(tmp_path, tmp_path, "net.xdc", XDC_COMMANDS)
    assert result.returncode == 0, result.stderr
    assert calls == [
        ["get_ports", "clk"],
        ["create_clock", "-period", "6.667", "-name", "clk", "clk"],
    ]


@needs_tclsh
def test_stubs_refuse_a_command_not_in_the_list(tmp_path: Path) -> None:
    """The harness itself: a Vivado command missing from the list fails the run."""
    (tmp_path / "bad.tcl").write_text(
        "create_project p . -part xc7s15ftgb196-1\nsynth_design -top net\n"
    )
    calls, result = _run_stubbed(tmp_path, tmp_path, "bad.tcl", VIVADO_COMMANDS)
    assert result.returncode != 0
    assert "synth_design is neither in VIVADO_COMMANDS nor a Tcl builtin" in result.stderr
    assert [c[0] for c in calls] == ["create_project"]


@needs_tclsh
def test_package_script_alone_needs_the_project(tmp_path: Path) -> None:
    files = vivado_files("net", SOURCES)
    _write_design(tmp_path / "design", SOURCES, files)
    commands = tuple(c for c in VIVADO_COMMANDS if c != "current_project")
    driver = STUB_PRELUDE.replace(
        "rename unknown", "proc current_project args { return {} }\nrename unknown"
    )
    (tmp_path / "driver.tcl").write_text(driver)
    assert TCLSH is not None
    result = subprocess.run(
        [TCLSH, str(tmp_path / "driver.tcl"), str(tmp_path / "log"), str(tmp_path)]
        + [str(tmp_path / "design" / PACKAGE_SCRIPT), *commands],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "package_ip.tcl packages the open project of build.tcl" in result.stderr


def test_scripts_say_what_they_are() -> None:
    files = vivado_files("net", SOURCES, part="xc7k325tffg900-2", clock_mhz=200)
    assert sorted(files) == sorted([BUILD_SCRIPT, PACKAGE_SCRIPT, "vivado/net.xdc"])
    for name in (BUILD_SCRIPT, PACKAGE_SCRIPT):
        header = files[name].split("\n\n")[0] + files[name].split("\n\n")[1]
        assert "generated by elasticai.creator" in header
        assert "did not run it: Vivado is not installed" in header
    build = files[BUILD_SCRIPT]
    assert "[file dirname [file normalize [info script]]]" in build
    assert "set part xc7k325tffg900-2\n" in build
    assert "clk at 200 MHz (period 5.000 ns)" in build
    assert "set_property file_type {VHDL 2008} [get_files $path]" in build


# ---------------------------------------------------------------- checks of the options


@pytest.mark.parametrize(
    ("part", "expected"),
    [
        ("xc7s15ftgb196-1", "xc7s15ftgb196-1"),
        ("xc7s15ftgb196-2", "xc7s15ftgb196-2"),
        ("xc7a35ticsg324-1L", "xc7a35ticsg324-1l"),
        ("xc7z020clg400-1", "xc7z020clg400-1"),
        ("xc7k325tffg900-2", "xc7k325tffg900-2"),
        ("xc7vx485tffg1761-2", "xc7vx485tffg1761-2"),
        ("xcku040-ffva1156-2-e", "xcku040-ffva1156-2-e"),
        ("xczu3eg-sbva484-1-e", "xczu3eg-sbva484-1-e"),
        ("xcvu9p-flga2104-2L-e", "xcvu9p-flga2104-2l-e"),
        ("XC7S15FTGB196-1", "xc7s15ftgb196-1"),
    ],
)
def test_check_part_accepts_vivado_part_names(part: str, expected: str) -> None:
    assert check_part(part) == expected


@pytest.mark.parametrize(
    "part",
    [
        "",
        "spartan7",
        "xc7s15",
        "xc7s15ftgb196",
        "7s15ftgb196-1",
        "xc6slx9-2tqg144",
        "xc7s15ftgb196-1 ",
        "xc7s15 ftgb196-1",
        "xc7s15ftgb196-1; exit",
        "xcku040-ffva1156-2",
        42,
        None,
        True,
        ["xc7s15ftgb196-1"],
    ],
)
def test_check_part_refuses_anything_else(part: object) -> None:
    with pytest.raises(ValueError) as error:
        check_part(part)
    assert str(error.value) == (
        f"vivado_part must be a Xilinx part name such as {DEFAULT_PART!r} (xc, family digit "
        f"and letter, device, package, speed grade), not {part!r}"
    )


def test_default_part_is_the_env5_spartan7() -> None:
    assert DEFAULT_PART == "xc7s15ftgb196-1"
    assert check_part(DEFAULT_PART) == DEFAULT_PART
    for files in (vivado_files("net", SOURCES), vivado_files("net", SOURCES, part=None)):
        assert f"set part {DEFAULT_PART}\n" in files[BUILD_SCRIPT]


@pytest.mark.parametrize(("mhz", "expected"), [(100, 100.0), (150.0, 150.0), (0.5, 0.5)])
def test_check_clock_accepts_positive_numbers(mhz: float, expected: float) -> None:
    assert check_clock(mhz) == expected
    assert type(check_clock(mhz)) is float


@pytest.mark.parametrize(
    "mhz", [0, -5, 0.0, -0.1, float("inf"), float("-inf"), float("nan"), True, False, "100", None]
)
def test_check_clock_refuses_anything_else(mhz: object) -> None:
    with pytest.raises(ValueError) as error:
        check_clock(mhz)
    assert str(error.value) == f"clock_mhz must be a positive number of MHz, not {mhz!r}"


def test_check_clock_refuses_a_period_below_the_xdc_resolution() -> None:
    with pytest.raises(ValueError, match="at least 0.001 ns"):
        check_clock(3e6)


def test_vivado_files_checks_its_options() -> None:
    with pytest.raises(ValueError, match="vivado_part must be a Xilinx part name"):
        vivado_files("net", SOURCES, part="spartan7")
    with pytest.raises(ValueError, match="clock_mhz must be a positive number of MHz, not 0"):
        vivado_files("net", SOURCES, clock_mhz=0)
    with pytest.raises(ValueError, match="top must be a VHDL identifier"):
        vivado_files("my net", SOURCES)
    with pytest.raises(ValueError, match="reserved word"):
        vivado_files("signal", SOURCES)


@pytest.mark.parametrize(
    ("sources", "message"),
    [
        ([], "at least one"),
        ("net.vhd", "sequence of relative paths"),
        (["/abs/net.vhd"], "relative paths of .vhd files"),
        (["../net.vhd"], "relative paths of .vhd files"),
        (["lib/../net.vhd"], "relative paths of .vhd files"),
        (["./net.vhd"], "relative paths of .vhd files"),
        (["net.v"], "relative paths of .vhd files"),
        (["my net.vhd"], "relative paths of .vhd files"),
        (["net[1].vhd"], "relative paths of .vhd files"),
        (["$x.vhd"], "relative paths of .vhd files"),
        (["vivado/net_ip.vhd"], "vivado/ holds the Vivado files"),
        (["net.vhd", "NET.vhd"], "twice"),
        ([42], "relative paths of .vhd files"),
    ],
)
def test_vivado_files_checks_the_sources(sources: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        vivado_files("net", sources)  # type: ignore[arg-type]


def test_vivado_files_checks_the_ports() -> None:
    ports = _ports()
    with pytest.raises(ValueError, match="ports lack rst"):
        vivado_files("net", SOURCES, ports=[p for p in ports if p[0] != "rst"])
    swapped = [
        ("s_axis_tready", "in", "std_logic") if p[0] == "s_axis_tready" else p for p in ports
    ]
    with pytest.raises(ValueError, match="port s_axis_tready must be out std_logic"):
        vivado_files("net", SOURCES, ports=swapped)
    with pytest.raises(ValueError, match="type must be std_logic or std_logic_vector"):
        vivado_files("net", SOURCES, ports=[*ports, ("x", "out", "signed(3 downto 0)")])
    with pytest.raises(ValueError, match="direction must be 'in' or 'out'"):
        vivado_files("net", SOURCES, ports=[*ports, ("x", "inout", "std_logic")])
    with pytest.raises(ValueError, match="twice"):
        vivado_files("net", SOURCES, ports=[*ports, ("CLK", "in", "std_logic")])
    with pytest.raises(ValueError, match="m_axis_tdata must be out std_logic_vector"):
        vivado_files(
            "net",
            SOURCES,
            ports=[
                ("m_axis_tdata", "out", "std_logic") if p[0] == "m_axis_tdata" else p for p in ports
            ],
        )
