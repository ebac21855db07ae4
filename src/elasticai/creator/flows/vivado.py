"""Vivado scripts for a saved design: a project, synthesis, implementation, reports, an IP.

``vivado_files(top, sources)`` returns the files to write beside the design (paths relative
to the folder that holds it)::

    vivado/build.tcl       the flow: vivado -mode batch -source vivado/build.tcl
    vivado/package_ip.tcl  the IP packaging, sourced by build.tcl (needs its open project)
    vivado/<top>.xdc       the clock constraint
    vivado/<top>_ip.vhd    only with ``ports=``: a VHDL-93 wrapper, the top of the IP

``build.tcl`` works from any working directory (every path comes from the script's own
place) and, when run, makes::

    vivado/project/<top>.xpr          the Vivado project (recreated on every run)
    vivado/ip/component.xml           the packaged IP (user.org:elasticai:<top>:1.0) and its
                                      copies of the sources: add vivado/ip to the IP
                                      repositories and it is in IP Integrator's catalog
    vivado/reports/utilization.txt    after implementation
    vivado/reports/timing.txt

Order of the flow: create the project for the part, add the sources in compile order as
VHDL 2008 and set the top, package the IP, add the XDC, synthesize out of context (the
design is a core: its ports get no I/O buffers and need no pins, so even a design with
more port bits than the package has pins goes through), implement, write the reports. The
IP is packaged before the XDC is added, so the IP carries no clock constraint of its own
(IP Integrator takes the clock from the block design).

The IP's interfaces are declared explicitly, not left to inference: ``s_axis`` (AXI4-Stream
slave), ``m_axis`` (master), the clock ``clk`` (``ASSOCIATED_BUSIF s_axis:m_axis``,
``ASSOCIATED_RESET rst``) and the synchronous reset ``rst`` (``POLARITY ACTIVE_HIGH``). Any
other port (e.g. the status output ``tlast_error``) stays a plain port.

Vivado's IP packager wants a Verilog or VHDL (not VHDL-2008) top-level file (UG1118, "Top-Level
HDL Requirements"). Given the top entity's ``ports``, ``vivado_files`` writes that wrapper
and packages it; without them it packages the VHDL-2008 top as it is.

Nothing here runs Vivado; the scripts call only the commands in ``VIVADO_COMMANDS`` besides
Tcl's own, and the XDC only those in ``XDC_COMMANDS``.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Sequence

from elasticai.creator.vhdl.names import check_identifier

__all__ = [
    "DEFAULT_PART",
    "VIVADO_COMMANDS",
    "XDC_COMMANDS",
    "BUILD_SCRIPT",
    "PACKAGE_SCRIPT",
    "PROJECT_DIR",
    "IP_DIR",
    "REPORT_DIR",
    "UTILIZATION_REPORT",
    "TIMING_REPORT",
    "IP_VENDOR",
    "IP_LIBRARY",
    "IP_VERSION",
    "check_part",
    "check_clock",
    "vivado_files",
]

#: The FPGA of the enV5 board (Elastic Node v5, rev. 1): a Spartan-7 XC7S15 in the FTGB196
#: package, speed grade -1, as the enV5 runtime's prebuilt bitfiles name it
#: (es-ude/elastic-ai.runtime.enV5, python_utils/bitfile_scripts/bitfiles/env5_bitfiles/readme.md:
#: "Targeted FPGA are xc7s15ftgb196-1"; their .bit headers say 7s15ftgb196).
DEFAULT_PART = "xc7s15ftgb196-1"

#: Every Vivado command ``build.tcl`` and ``package_ip.tcl`` call; anything else they call is
#: a Tcl builtin (set, file, foreach, if, error, puts, source, info).
VIVADO_COMMANDS: tuple[str, ...] = (
    "create_project",
    "current_project",
    "set_property",
    "get_property",
    "add_files",
    "get_files",
    "get_filesets",
    "update_compile_order",
    "get_runs",
    "launch_runs",
    "wait_on_run",
    "open_run",
    "report_utilization",
    "report_timing_summary",
    "ipx::package_project",
    "ipx::current_core",
    "ipx::get_bus_interfaces",
    "ipx::remove_bus_interface",
    "ipx::add_bus_interface",
    "ipx::add_port_map",
    "ipx::add_bus_parameter",
    "ipx::create_xgui_files",
    "ipx::update_checksums",
    "ipx::check_integrity",
    "ipx::save_core",
)

#: The commands of the XDC file.
XDC_COMMANDS: tuple[str, ...] = ("create_clock", "get_ports")

BUILD_SCRIPT = "vivado/build.tcl"
PACKAGE_SCRIPT = "vivado/package_ip.tcl"
PROJECT_DIR = "vivado/project"
IP_DIR = "vivado/ip"
REPORT_DIR = "vivado/reports"
UTILIZATION_REPORT = "vivado/reports/utilization.txt"
TIMING_REPORT = "vivado/reports/timing.txt"

#: The packaged IP's VLNV is ``IP_VENDOR:IP_LIBRARY:<top>:IP_VERSION`` (user.org is
#: Vivado's own default vendor for user IP).
IP_VENDOR = "user.org"
IP_LIBRARY = "elasticai"
IP_VERSION = "1.0"

_JOBS = 4  # parallel runs launch_runs may start

# 7-series: xc7 + family letter (s, a, k, v, z; Virtex may add x/h), device, package, -speed.
_SERIES7 = re.compile(r"xc7[a-z][a-z]?\d+[a-z]+\d+-\d+[a-z]*")
# UltraScale(+), Versal, Kria: xc + family + device - package - speed - temperature[-suffix].
_ULTRASCALE = re.compile(r"xc[a-z]{1,3}\d+[a-z]*-[a-z]+\d+-\d+[a-z]*-[a-z](-[a-z0-9]+)?")

_SOURCE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*(/[A-Za-z0-9_][A-Za-z0-9_.-]*)*\.vhdl?")
_SLV = re.compile(r"std_logic_vector\((\d+) downto 0\)")
_PORT_NAME = re.compile(r"[A-Za-z](_?[A-Za-z0-9])*")

# The ports every design's top has: name -> (direction, vector?)
_AXIS_PORTS = {
    "clk": ("in", False),
    "rst": ("in", False),
    "s_axis_tdata": ("in", True),
    "s_axis_tvalid": ("in", False),
    "s_axis_tready": ("out", False),
    "s_axis_tlast": ("in", False),
    "m_axis_tdata": ("out", True),
    "m_axis_tvalid": ("out", False),
    "m_axis_tready": ("in", False),
    "m_axis_tlast": ("out", False),
}


def check_part(part: object) -> str:
    """Return ``part`` lower-cased if it is a Xilinx part name as Vivado spells it.

    >>> check_part("xc7a35ticsg324-1L")
    'xc7a35ticsg324-1l'
    >>> check_part("xczu3eg-sbva484-1-e")
    'xczu3eg-sbva484-1-e'
    >>> check_part("spartan7")
    Traceback (most recent call last):
    ...
    ValueError: vivado_part must be a Xilinx part name such as 'xc7s15ftgb196-1' (xc, family digit and letter, device, package, speed grade), not 'spartan7'
    """
    if isinstance(part, str):
        lowered = part.lower()
        if _SERIES7.fullmatch(lowered) or _ULTRASCALE.fullmatch(lowered):
            return lowered
    raise ValueError(
        f"vivado_part must be a Xilinx part name such as {DEFAULT_PART!r} (xc, family digit "
        f"and letter, device, package, speed grade), not {part!r}"
    )


def check_clock(mhz: object) -> float:
    """Return ``mhz`` as a float if it is a positive, finite number of MHz (not a bool).

    >>> check_clock(150)
    150.0
    >>> check_clock(0)
    Traceback (most recent call last):
    ...
    ValueError: clock_mhz must be a positive number of MHz, not 0
    """
    if isinstance(mhz, numbers.Real) and not isinstance(mhz, bool):
        value = float(mhz)
        if math.isfinite(value) and value > 0:
            if round(1000.0 / value, 3) <= 0:
                raise ValueError(
                    f"clock_mhz must give a clock period of at least 0.001 ns, not {mhz!r} MHz"
                )
            return value
    raise ValueError(f"clock_mhz must be a positive number of MHz, not {mhz!r}")


def _period_ns(mhz: float) -> str:
    return f"{1000.0 / mhz:.3f}"


def _check_sources(sources: Sequence[str]) -> list[str]:
    if isinstance(sources, str) or not isinstance(sources, Sequence):
        raise ValueError(f"sources must be a sequence of relative paths, not {sources!r}")
    checked: list[str] = []
    seen: set[str] = set()
    for source in sources:
        if not isinstance(source, str) or not _SOURCE.fullmatch(source):
            raise ValueError(
                "sources must be relative paths of .vhd files inside the design's folder "
                "(letters, digits, '_', '.', '-' and '/', no '..'), not "
                f"{source!r}"
            )
        if source.split("/")[0] == "vivado":
            raise ValueError(f"vivado/ holds the Vivado files, not a source: {source!r}")
        if source.lower() in seen:
            raise ValueError(f"sources name {source!r} twice")
        seen.add(source.lower())
        checked.append(source)
    if not checked:
        raise ValueError("sources must name at least one VHDL file (the top's)")
    return checked


def _check_ports(ports: Sequence[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    checked: list[tuple[str, str, str]] = []
    seen: set[str] = set()
    for port in ports:
        if not (isinstance(port, tuple | list) and len(port) == 3):
            raise ValueError(f"a port must be (name, direction, VHDL type), not {port!r}")
        name, direction, vhdl_type = port
        if not isinstance(name, str) or not _PORT_NAME.fullmatch(name):
            raise ValueError(f"a port name must be a VHDL identifier, not {name!r}")
        if name.lower() in seen:
            raise ValueError(f"ports name {name!r} twice")
        seen.add(name.lower())
        if direction not in ("in", "out"):
            raise ValueError(f"port {name}: direction must be 'in' or 'out', not {direction!r}")
        if vhdl_type != "std_logic" and not (
            isinstance(vhdl_type, str) and _SLV.fullmatch(vhdl_type)
        ):
            raise ValueError(
                f"port {name}: type must be std_logic or std_logic_vector(N downto 0), "
                f"not {vhdl_type!r}"
            )
        checked.append((name, direction, vhdl_type))
    by_name = {name: (direction, vhdl_type) for name, direction, vhdl_type in checked}
    for name, (direction, vector) in _AXIS_PORTS.items():
        wanted = "std_logic_vector(N downto 0)" if vector else "std_logic"
        if name not in by_name:
            raise ValueError(f"ports lack {name} ({direction} {wanted})")
        got_direction, got_type = by_name[name]
        if got_direction != direction or (got_type != "std_logic") != vector:
            raise ValueError(
                f"port {name} must be {direction} {wanted}, not {got_direction} {got_type}"
            )
    return checked


def _wrapper(top: str, ip_top: str, ports: list[tuple[str, str, str]]) -> str:
    declarations = ";\n".join(
        f"    {name} : {direction} {vhdl_type}" for name, direction, vhdl_type in ports
    )
    associations = ",\n".join(f"      {name} => {name}" for name, _, _ in ports)
    return f"""\
-- {ip_top}: the top of the packaged IP {top}; generated by elasticai.creator, do not edit.
--
-- Vivado's IP packager wants a VHDL (not VHDL-2008) top-level file (UG1118, "Top-Level HDL
-- Requirements"): this VHDL-93 entity has the ports of {top} and instantiates it.
-- vivado/package_ip.tcl packages it; synthesis and implementation in build.tcl use {top}.

library ieee;
use ieee.std_logic_1164.all;

entity {ip_top} is
  port (
{declarations}
  );
end entity {ip_top};

architecture wrapper of {ip_top} is
begin
  core : entity work.{top}
    port map (
{associations}
    );
end architecture wrapper;
"""


def _xdc(top: str, mhz: float) -> str:
    return f"""\
# {top}: clock constraint for Vivado, generated by elasticai.creator.
# clk at {mhz:g} MHz.
create_clock -period {_period_ns(mhz)} -name clk [get_ports clk]
"""


def _build_tcl(top: str, sources: list[str], part: str, mhz: float) -> str:
    source_lines = "\n".join(f"    {source}" for source in sources)
    return f"""\
# build.tcl: the Vivado flow for the design {top}, generated by elasticai.creator.
#
# elasticai.creator generated this script but did not run it: Vivado is not installed
# where it was made (a test ran it in tclsh against stubs of the Vivado commands).
#
# Run it from any working directory:
#     vivado -mode batch -source <design folder>/vivado/build.tcl
# It
#   1. creates the project vivado/project/{top}.xpr for the part {part},
#   2. adds the design's VHDL files in compile order as VHDL 2008 and sets the top {top},
#   3. packages the design as an IP in vivado/ip (package_ip.tcl): AXI4-Stream interfaces
#      s_axis (slave) and m_axis (master), clock clk, synchronous active-high reset rst;
#      add vivado/ip to the IP repositories (Settings > IP > Repository) to find
#      {IP_VENDOR}:{IP_LIBRARY}:{top}:{IP_VERSION} in IP Integrator,
#   4. adds vivado/{top}.xdc: clk at {mhz:g} MHz (period {_period_ns(mhz)} ns),
#   5. synthesizes out of context (the design is a core: no I/O buffers, no pins) and
#      implements it,
#   6. writes vivado/reports/utilization.txt and vivado/reports/timing.txt.
# Every run recreates the project and the IP.

set script_dir [file dirname [file normalize [info script]]]
set design_dir [file dirname $script_dir]
set top {top}
set part {part}
set project_dir [file join $script_dir project]
set report_dir [file join $script_dir reports]
set jobs {_JOBS}

create_project -force $top $project_dir -part $part
set_property target_language VHDL [current_project]

# The design's synthesizable files in compile order, relative to its folder.
foreach source {{
{source_lines}
}} {{
    set path [file join $design_dir $source]
    add_files -norecurse -fileset sources_1 $path
    set_property file_type {{VHDL 2008}} [get_files $path]
}}
set_property top $top [get_filesets sources_1]
update_compile_order -fileset sources_1

# Before the XDC is added: the IP gets no clock constraint of its own.
source [file join $script_dir package_ip.tcl]

add_files -norecurse -fileset constrs_1 [file join $script_dir {top}.xdc]

set_property -name {{STEPS.SYNTH_DESIGN.ARGS.MORE OPTIONS}} -value {{-mode out_of_context}} -objects [get_runs synth_1]
launch_runs synth_1 -jobs $jobs
wait_on_run synth_1
if {{[get_property PROGRESS [get_runs synth_1]] ne "100%"}} {{
    error "elasticai.creator: synthesis of $top failed, see [file join $project_dir $top.runs synth_1 runme.log]"
}}
launch_runs impl_1 -jobs $jobs
wait_on_run impl_1
if {{[get_property PROGRESS [get_runs impl_1]] ne "100%"}} {{
    error "elasticai.creator: implementation of $top failed, see [file join $project_dir $top.runs impl_1 runme.log]"
}}

open_run impl_1
file mkdir $report_dir
report_utilization -file [file join $report_dir utilization.txt]
report_timing_summary -max_paths 10 -file [file join $report_dir timing.txt]
puts "elasticai.creator: $top on $part, worst negative slack [get_property STATS.WNS [get_runs impl_1]] ns at {mhz:g} MHz; reports in $report_dir"
puts "elasticai.creator: build.tcl finished"
"""


def _interface(name: str, vlnv: str, mode: str, port_maps: list[tuple[str, str]]) -> str:
    lines = [
        f"set ip_busif [ipx::add_bus_interface {name} $ip_core]",
        f"set_property abstraction_type_vlnv {vlnv}_rtl:1.0 $ip_busif",
        f"set_property bus_type_vlnv {vlnv}:1.0 $ip_busif",
        f"set_property interface_mode {mode} $ip_busif",
    ]
    lines += [
        f"set_property physical_name {physical} [ipx::add_port_map {logical} $ip_busif]"
        for logical, physical in port_maps
    ]
    return "\n".join(lines)


def _parameter(name: str, value: str) -> str:
    return f"set_property value {value} [ipx::add_bus_parameter {name} $ip_busif]"


def _package_tcl(top: str, ip_top: str, wrapper: str | None) -> str:
    axis = {
        prefix: [
            (part.upper(), f"{prefix}_{part}") for part in ("tdata", "tvalid", "tready", "tlast")
        ]
        for prefix in ("s_axis", "m_axis")
    }
    if wrapper is None:
        choose_top = f"""\
# The IP's top is {top} itself (a VHDL-2008 file: UG1118 asks for a VHDL or Verilog wrapper;
# save the design with its ports to get one)."""
        restore_top = ""
    else:
        choose_top = f"""\
# The IP's top: {ip_top}, the VHDL-93 wrapper of {top} (UG1118 wants a VHDL or Verilog top).
set ip_wrapper [file join $ip_script_dir {wrapper}]
add_files -norecurse -fileset sources_1 $ip_wrapper
set_property file_type VHDL [get_files $ip_wrapper]
set_property top {ip_top} [get_filesets sources_1]
update_compile_order -fileset sources_1"""
        restore_top = f"""
# Synthesis and implementation go on with {top}.
set_property top {top} [get_filesets sources_1]
update_compile_order -fileset sources_1
"""
    return f"""\
# package_ip.tcl: packages the design {top} as a Vivado IP, generated by elasticai.creator.
#
# elasticai.creator generated this script but did not run it: Vivado is not installed
# where it was made (a test ran it in tclsh against stubs of the Vivado commands).
#
# build.tcl sources it with the project open, before the XDC is added. It writes the IP
# {IP_VENDOR}:{IP_LIBRARY}:{top}:{IP_VERSION} to vivado/ip (with copies of the sources) and declares its
# interfaces: s_axis (AXI4-Stream slave), m_axis (AXI4-Stream master), clk (clock of both,
# reset rst) and rst (synchronous, active high). Other ports stay plain ports.

set ip_script_dir [file dirname [file normalize [info script]]]
set ip_dir [file join $ip_script_dir ip]
if {{[current_project -quiet] eq ""}} {{
    error "elasticai.creator: package_ip.tcl packages the open project of build.tcl; run vivado -mode batch -source [file join $ip_script_dir build.tcl]"
}}

{choose_top}

ipx::package_project -root_dir $ip_dir -vendor {IP_VENDOR} -library {IP_LIBRARY} -taxonomy /UserIP -import_files -set_current true -force
set ip_core [ipx::current_core]
set_property name {top} $ip_core
set_property display_name {top} $ip_core
set_property description {{{top}: a neural network from elasticai.creator, AXI4-Stream in and out}} $ip_core
set_property version {IP_VERSION} $ip_core
set_property core_revision 1 $ip_core

# Whatever Vivado inferred from the port names and attributes goes; the interfaces are
# declared here instead.
foreach ip_busif [ipx::get_bus_interfaces -of_objects $ip_core] {{
    ipx::remove_bus_interface [get_property NAME $ip_busif] $ip_core
}}

{_interface("s_axis", "xilinx.com:interface:axis", "slave", axis["s_axis"])}

{_interface("m_axis", "xilinx.com:interface:axis", "master", axis["m_axis"])}

{_interface("clk", "xilinx.com:signal:clock", "slave", [("CLK", "clk")])}
{_parameter("ASSOCIATED_BUSIF", "s_axis:m_axis")}
{_parameter("ASSOCIATED_RESET", "rst")}

{_interface("rst", "xilinx.com:signal:reset", "slave", [("RST", "rst")])}
{_parameter("POLARITY", "ACTIVE_HIGH")}

ipx::create_xgui_files $ip_core
ipx::update_checksums $ip_core
ipx::check_integrity $ip_core
ipx::save_core $ip_core
{restore_top}
puts "elasticai.creator: packaged {top} as {IP_VENDOR}:{IP_LIBRARY}:{top}:{IP_VERSION} in $ip_dir"
"""


def vivado_files(
    top: str,
    sources: Sequence[str],
    *,
    part: str | None = DEFAULT_PART,
    clock_mhz: float = 100.0,
    ports: Sequence[tuple[str, str, str]] | None = None,
) -> dict[str, str]:
    """The Vivado files of the design ``top``: ``{path relative to the design's folder: text}``.

    ``sources`` are the design's synthesizable VHDL files, relative to its folder, in
    compile order (the top's file last). ``part`` is any Xilinx part (``check_part``;
    ``None``: ``DEFAULT_PART``, the enV5's Spartan-7), ``clock_mhz`` the clock ``create_clock`` sets (``check_clock``). ``ports``, the top
    entity's ports as ``(name, "in" | "out", "std_logic" | "std_logic_vector(N downto 0)")``,
    adds ``vivado/<top>_ip.vhd``, the VHDL-93 wrapper Vivado's IP packager asks for; they
    must include clk, rst and the s_axis/m_axis tdata, tvalid, tready and tlast ports.

    >>> sorted(vivado_files("net", ["ec_pkg.vhd", "net.vhd"]))
    ['vivado/build.tcl', 'vivado/net.xdc', 'vivado/package_ip.tcl']
    """
    top = check_identifier(top, "top")
    checked_sources = _check_sources(sources)
    checked_part = check_part(DEFAULT_PART if part is None else part)
    mhz = check_clock(clock_mhz)
    files = {
        BUILD_SCRIPT: _build_tcl(top, checked_sources, checked_part, mhz),
        f"vivado/{top}.xdc": _xdc(top, mhz),
    }
    if ports is None:
        files[PACKAGE_SCRIPT] = _package_tcl(top, top, None)
    else:
        ip_top = f"{top}_ip"
        wrapper = f"{ip_top}.vhd"
        files[f"vivado/{wrapper}"] = _wrapper(top, ip_top, _check_ports(ports))
        files[PACKAGE_SCRIPT] = _package_tcl(top, ip_top, wrapper)
    return files
