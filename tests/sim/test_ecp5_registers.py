"""Registers moved into the ECP5's multipliers and block RAMs change where they are, not
what the design computes: the netlist before and after ``absorb_registers`` simulated side
by side in Icarus with the design itself (GHDL's Verilog of the VHDL, before synthesis) on
random stimulus (every input random every cycle, handshakes included), every output
compared every cycle. So the Yosys ``synth_ecp5`` run of the Fmax flow is checked too."""

from __future__ import annotations

import json
import random
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from elasticai.creator.nn import Sequential
from elasticai.creator.nn.fixed_point import HardTanh, Linear, ReLU
from elasticai.creator.synth.ecp5_registers import absorb_registers
from elasticai.creator.synth.nextpnr import ecp5_netlist
from elasticai.creator.synth.yosys import yosys_path

pytestmark = pytest.mark.sim

CELLS = Path("/usr/share/yosys/ecp5/cells_sim.v")


def _bus(name: str, n: int) -> str:
    return ", ".join(f"{name}{i}" for i in range(n))


def _cat(name: str, n: int) -> str:
    return "{" + ", ".join(f"{name}{i}" for i in reversed(range(n))) + "}"


def mult18x18d_model() -> str:
    """MULT18X18D with its input and output registers (Yosys 0.23 has only a black box):
    each register on CLK0 when its ``REG_*_CLK`` is not "NONE", enabled by the CE pin its
    ``REG_*_CE`` names, reset to 0 by the RST pin its ``REG_*_RST`` names."""
    pick = "\n".join(
        f'  wire {reg}_ce = {reg.upper()}_CE == "CE0" ? CE0 : {reg.upper()}_CE == "CE1" ? CE1'
        f' : {reg.upper()}_CE == "CE2" ? CE2 : CE3;\n'
        f'  wire {reg}_rst = {reg.upper()}_RST == "RST0" ? RST0 : {reg.upper()}_RST == "RST1"'
        f' ? RST1 : {reg.upper()}_RST == "RST2" ? RST2 : RST3;'
        for reg in ("reg_inputa", "reg_inputb", "reg_output")
    )
    return f"""
module MULT18X18D(
  input {_bus("A", 18)}, {_bus("B", 18)}, {_bus("C", 18)},
  input SIGNEDA, SIGNEDB, SOURCEA, SOURCEB, {_bus("CLK", 4)}, {_bus("CE", 4)}, {_bus("RST", 4)},
  output {_bus("P", 36)});
  parameter REG_INPUTA_CLK = "NONE", REG_INPUTA_CE = "CE0", REG_INPUTA_RST = "RST0";
  parameter REG_INPUTB_CLK = "NONE", REG_INPUTB_CE = "CE0", REG_INPUTB_RST = "RST0";
  parameter REG_OUTPUT_CLK = "NONE", REG_OUTPUT_CE = "CE0", REG_OUTPUT_RST = "RST0";
{pick}
  wire [17:0] a = {_cat("A", 18)}, b = {_cat("B", 18)};
  reg [17:0] ar = 0, br = 0;
  reg [35:0] pr = 0;
  always @(posedge CLK0) begin
    if (reg_inputa_rst) ar <= 0; else if (reg_inputa_ce) ar <= a;
    if (reg_inputb_rst) br <= 0; else if (reg_inputb_ce) br <= b;
    if (reg_output_rst) pr <= 0; else if (reg_output_ce) pr <= p;
  end
  wire [17:0] au = REG_INPUTA_CLK == "NONE" ? a : ar;
  wire [17:0] bu = REG_INPUTB_CLK == "NONE" ? b : br;
  wire [35:0] ax = SIGNEDA ? {{{{18{{au[17]}}}}, au}} : {{18'b0, au}};
  wire [35:0] bx = SIGNEDB ? {{{{18{{bu[17]}}}}, bu}} : {{18'b0, bu}};
  wire [35:0] p = ax * bx;
  assign {_cat("P", 36)} = REG_OUTPUT_CLK == "NONE" ? p : pr;
endmodule
"""


def _write_verilog(netlist: dict[str, Any], top: str, name: str, work: Path) -> Path:
    source = work / f"{name}.json"
    source.write_text(json.dumps(netlist))
    target = work / f"{name}.v"
    script = f"read_json {source}; rename {top} {name}; write_verilog -noattr {target}"
    subprocess.run([yosys_path(), "-q", "-p", script], check=True, cwd=work)
    return target


#: The design before synthesis (GHDL's Verilog), its ECP5 netlist, and the netlist with the
#: registers in the blocks: each instance's outputs are ``<side>_<port>``.
SIDES = ("rtl_net", "fabric_net", "block_net")


def _testbench(ports: dict[str, Any], cycles: int, seed: int) -> str:
    inputs = {n: len(p["bits"]) for n, p in ports.items() if p["direction"] == "input"}
    outputs = {n: len(p["bits"]) for n, p in ports.items() if p["direction"] == "output"}
    rng = random.Random(seed)
    lines = ["`timescale 1ns/1ps", "module tb;", "  reg clk = 0;"]
    lines += [f"  reg [{w - 1}:0] {n} = 0;" for n, w in inputs.items() if n != "clk"]
    for side in SIDES:
        lines += [f"  wire [{w - 1}:0] {side}_{n};" for n, w in outputs.items()]
        conns = [f".{n}({n})" for n in inputs] + [f".{n}({side}_{n})" for n in outputs]
        lines.append(f"  {side} {side}_i({', '.join(conns)});")
    lines += ["  integer differ = 0, valid = 0;", "  always #5 clk = ~clk;", "  initial begin"]
    for cycle in range(cycles):
        for name, width in inputs.items():
            if name == "clk":
                continue
            if name == "rst":
                value = 1 if cycle < 4 or rng.random() < 0.002 else 0
            elif name.endswith(("valid", "ready")):
                value = int(rng.random() < 0.8)
            else:
                value = rng.getrandbits(width)
            lines.append(f"    {name} = {width}'d{value};")
        lines.append("    @(posedge clk); #1;")
        if cycle >= 4:
            compare = " || ".join(
                f"{side}_{n} !== rtl_net_{n}" for side in SIDES[1:] for n in outputs
            )
            lines.append(f"    if ({compare}) differ = differ + 1;")
            lines.append("    if (rtl_net_m_axis_tvalid && m_axis_tready) valid = valid + 1;")
    lines += ['    $display("differ %0d valid %0d", differ, valid);', "    $finish;", "  end"]
    lines.append("endmodule")
    return "\n".join(lines)


@pytest.mark.skipif(shutil.which("iverilog") is None, reason="needs Icarus Verilog")
@pytest.mark.parametrize(
    ("layers", "options"),
    [
        ([Linear(6, 4, 8, 4), ReLU(), Linear(4, 3, 8, 4), HardTanh(8, 4)], {}),
        ([Linear(4, 4, 8, 4), ReLU(), Linear(4, 2, 8, 4)], {"target_ii": 4}),
    ],
    ids=["serial", "lanes"],
)
def test_moving_registers_into_multipliers_keeps_every_output_of_every_cycle(
    tmp_path: Path, layers: list[Any], options: dict[str, Any]
) -> None:
    design = Sequential(*layers).create_design("net", **options)
    netlist = json.loads(ecp5_netlist(design.synthesizable_files(), "net", tmp_path).read_text())
    rtl = tmp_path / "rtl.v"  # the design as GHDL translated it; its ROMs read net's .mem files
    rtl.write_text(
        re.sub(
            r"^module net$", "module rtl_net", (tmp_path / "net.v").read_text(), count=1, flags=re.M
        )
    )
    before = _write_verilog(netlist, "net", "fabric_net", tmp_path)
    absorbed = absorb_registers(netlist, "net")
    mults = sum(c["type"] == "MULT18X18D" for c in netlist["modules"]["net"]["cells"].values())
    # every multiplier took both operand registers and its product register
    assert mults > 0
    assert (absorbed.mult_inputs, absorbed.mult_outputs) == (2 * mults, mults), absorbed
    after = _write_verilog(netlist, "net", "block_net", tmp_path)
    (tmp_path / "mult.v").write_text(mult18x18d_model())
    (tmp_path / "tb.v").write_text(_testbench(netlist["modules"]["net"]["ports"], 1500, seed=1))
    subprocess.run(
        [
            "iverilog",
            "-g2012",
            "-o",
            "sim",
            "-I",
            str(CELLS.parent),
            "tb.v",
            "mult.v",
            str(rtl),
            str(before),
            str(after),
            str(CELLS),
        ],
        check=True,
        cwd=tmp_path,
        capture_output=True,
    )
    out = subprocess.run(["vvp", "-n", "sim"], cwd=tmp_path, capture_output=True, text=True)
    line = next(s for s in out.stdout.splitlines() if s.startswith("differ"))
    differ, valid = int(line.split()[1]), int(line.split()[3])
    assert valid > 50, out.stdout  # the stimulus drove results through the multipliers
    assert differ == 0, out.stdout
