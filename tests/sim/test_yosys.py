"""Cost tier: GHDL's Verilog through Yosys keeps every ROM bit and gives plausible counts."""

from __future__ import annotations

import json
import random
import re
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from elasticai.creator.nn import Sequential
from elasticai.creator.nn.fixed_point import Linear
from elasticai.creator.synth import (
    KEYS,
    SynthesisError,
    YosysNotFoundError,
    synthesize,
    synthesize_verilog,
)
from elasticai.creator.synth.yosys import logic_depth, to_verilog, with_memory_files, yosys_path

pytestmark = pytest.mark.sim


def yosys_json(verilog: Path, top: str, passes: str) -> dict[str, Any]:
    """``read_verilog; hierarchy; <passes>; write_json`` -> the JSON netlist."""
    out = verilog.with_suffix(".json")
    script = f"read_verilog {verilog.name}; hierarchy -top {top}; {passes}; write_json {out.name}"
    subprocess.run(
        [yosys_path(), "-q", "-p", script], cwd=verilog.parent, check=True, capture_output=True
    )
    return json.loads(out.read_text())


def linear_with_weights(n_in: int, n_out: int, total: int, frac: int, seed: int):
    """A one-layer model whose integer weights are known (whole range, ends included)."""
    layer = Linear(n_in, n_out, total, frac)
    rng = np.random.default_rng(seed)
    lo, hi = -(2 ** (total - 1)), 2 ** (total - 1) - 1
    weights = rng.integers(lo, hi + 1, size=(n_out, n_in))
    weights.flat[0], weights.flat[1] = lo, hi
    biases = rng.integers(lo, hi + 1, size=n_out)
    with torch.no_grad():
        layer.weight.copy_(torch.from_numpy(weights * 2.0**-frac))
        layer.bias.copy_(torch.from_numpy(biases * 2.0**-frac))
    return Sequential(layer), weights


def memories(netlist: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        cell
        for module in netlist["modules"].values()
        for cell in module["cells"].values()
        if cell["type"] in ("$mem", "$mem_v2")
    ]


def words(cell: dict[str, Any]) -> list[int]:
    """The INIT words of a ``$mem`` cell as unsigned integers, word 0 first."""
    p = cell["parameters"]
    width, size = int(p["WIDTH"], 2), int(p["SIZE"], 2)
    init = p["INIT"]
    assert set(init) <= {"0", "1"}, "ROM bits left undefined"
    assert len(init) == width * size
    return [int(init[len(init) - (k + 1) * width : len(init) - k * width], 2) for k in range(size)]


def reads_reversed(verilog: str, size: int, width: int) -> bool:
    """Whether GHDL reads the ``size`` x ``width`` memory at ``size-1 - addr``."""
    (name,) = re.findall(rf"reg \[{width - 1}:0\] (\w+)\[{size - 1}:0\]", verilog)
    (address,) = set(re.findall(rf"\b{name}\[(\w+)\];", verilog))
    match = re.search(rf"assign {address} = (\d+)'b([01]+) - \w+;", verilog)
    return match is not None and int(match.group(2), 2) == size - 1


@pytest.mark.parametrize("memory_files", [False, True], ids=["statements", "readmemb"])
def test_rom_contents_survive_ghdl_rewrite_and_yosys(tmp_path: Path, memory_files: bool) -> None:
    """The ROM's words reach Yosys bit for bit, as ``initial`` statements in the one
    Verilog file (``to_verilog``) and as the ``$readmemb`` files of the synthesis flows."""
    n_in, n_out, total = 12, 20, 8
    model, weights = linear_with_weights(n_in, n_out, total, 4, seed=5)
    design = model.create_design("romcheck")
    (node,) = design.graph.nodes
    np.testing.assert_array_equal(node.op.weight, weights)
    p_in, p_out = node.op.p_in, node.op.p_out
    ni, no = -(-n_in // p_in), -(-n_out // p_out)
    assert ni * no > 1, "needs a ROM (not fully unrolled)"

    verilog = tmp_path / "romcheck.v"
    text = to_verilog(design.synthesizable_files(), "romcheck", tmp_path)
    if memory_files:
        text = with_memory_files(text, tmp_path)
        assert "$readmemb" in text
    else:
        assert "$readmemb" not in text
    verilog.write_text(text)
    netlist = yosys_json(verilog, "romcheck", "proc; memory -nomap")

    # ec_linear's layout: word ob*NI+ib holds w[ob*P_OUT+lo][ib*P_IN+li] at bit (lo*P_IN+li)*W
    expected = []
    for ob in range(no):
        for ib in range(ni):
            word = 0
            for lo in range(p_out):
                for li in range(p_in):
                    o, i = ob * p_out + lo, ib * p_in + li
                    if o < n_out and i < n_in:
                        word |= (int(weights[o, i]) & (2**total - 1)) << ((lo * p_in + li) * total)
            expected.append(word)
    size, width = ni * no, p_out * p_in * total
    roms = [
        m
        for m in memories(netlist)
        if int(m["parameters"]["SIZE"], 2) == size
        and int(m["parameters"]["WIDTH"], 2) == width
        and int(m["parameters"]["WR_PORTS"], 2) == 0
    ]
    assert len(roms) == 1, [c["parameters"]["SIZE"] for c in memories(netlist)]
    stored = words(roms[0])
    if reads_reversed(verilog.read_text(), size, width):
        # GHDL keeps an ascending VHDL array (0 to N-1) as memory words N-1 .. 0 and
        # reads word N-1-addr: element k lies in word N-1-k
        stored.reverse()
    assert stored == expected


def test_wide_string_constant_survives_bit_for_bit(tmp_path: Path) -> None:
    """A 40 kbit constant: GHDL writes it as a string, raw Yosys 0.23 cannot lex it."""
    n = 40_000
    bits = "".join(random.Random(n).choice("01") for _ in range(n))
    vhdl = (
        "library ieee; use ieee.std_logic_1164.all;\n"
        f"entity wide is port (y : out std_logic_vector({n - 1} downto 0)); end;\n"
        f'architecture rtl of wide is constant K : std_logic_vector({n - 1} downto 0) := "{bits}";\n'
        "begin y <= K; end;\n"
    )
    verilog_text = to_verilog({"wide.vhd": vhdl}, "wide", tmp_path)
    assert '"' not in verilog_text
    verilog = tmp_path / "wide.v"
    verilog.write_text(verilog_text)
    netlist = yosys_json(verilog, "wide", "proc; opt_clean")
    port = netlist["modules"]["wide"]["ports"]["y"]["bits"]  # LSB first
    assert "".join(reversed(port)) == bits


@pytest.fixture(scope="module")
def small_report(tmp_path_factory: pytest.TempPathFactory):
    model, _ = linear_with_weights(6, 3, 8, 4, seed=1)
    design = model.create_design("small")
    work = tmp_path_factory.mktemp("small")
    return design, synthesize(design.synthesizable_files(), "small", workdir=work), work


def test_small_design_counts_are_plausible(small_report) -> None:
    design, report, work = small_report
    instances = {n.name for n in design.graph.nodes}
    assert set(report.per_instance) == instances | {"framer"}  # the top's tlast check
    assert tuple(report.total) == KEYS
    assert all(tuple(c) == KEYS for c in report.per_instance.values())
    t = report.total
    assert t["dsp"] >= 1, report.cells  # one 8x8 multiply-accumulate unit
    assert t["ff"] > 0 and t["lut"] > 0 and t["logic_depth"] > 0
    for key in KEYS[:-1]:
        assert t[key] >= sum(c[key] for c in report.per_instance.values())
    assert t["logic_depth"] >= max(c["logic_depth"] for c in report.per_instance.values())
    assert report.seconds > 0
    assert "Executing SYNTH_XILINX pass" in report.log
    assert (work / "small.v").exists() and (work / "stat.txt").exists()
    assert "total" in report.table()


def test_rom_over_16_kbit_synthesizes(tmp_path: Path) -> None:
    model, _ = linear_with_weights(64, 64, 8, 4, seed=2)  # 4096 x 8 bit = 32 kbit of weights
    design = model.create_design("big")
    report = synthesize(design.synthesizable_files(), "big", workdir=tmp_path)
    assert report.total["dsp"] >= 1
    assert report.total["bram"] + report.total["lut"] > 0
    assert set(report.per_instance) == {n.name for n in design.graph.nodes} | {"framer"}


def test_verilog_from_elsewhere_gets_the_same_flow(tmp_path: Path) -> None:
    """``synthesize_verilog``: Verilog text (e.g. a peer tool's) through the same script."""
    verilog = """
module inner (input [7:0] a, input [7:0] b, output [8:0] s);
  assign s = a + b;
endmodule
module outer (input clk, input [7:0] a, input [7:0] b, output reg [8:0] q);
  wire [8:0] s;
  inner add (.a(a), .b(b), .s(s));
  always @(posedge clk) q <= s;
endmodule
"""
    report = synthesize_verilog(verilog, "outer", workdir=tmp_path)
    assert tuple(report.total) == KEYS
    assert report.total["ff"] == 9 and report.total["lut"] >= 8
    assert report.total["carry"] >= 2 and report.total["logic_depth"] >= 2
    assert set(report.per_instance) == {"add"}
    assert (tmp_path / "outer.v").read_text() == verilog
    assert "synth_xilinx -family xc7 -top outer" in (tmp_path / "synth.ys").read_text()
    with pytest.raises(ValueError, match="identifier"):
        synthesize_verilog(verilog, "no such top")


def test_missing_yosys_is_explained(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ELASTICAI_YOSYS", "/nonexistent/yosys")
    with pytest.raises(YosysNotFoundError, match="apt-get install yosys"):
        synthesize({"x.vhd": ""}, "x")


def test_ghdl_failure_raises_with_log_tail(tmp_path: Path) -> None:
    with pytest.raises(SynthesisError, match=r"GHDL failed[\s\S]*broken"):
        synthesize({"broken.vhd": "entity broken is end; architecture a of broken is"}, "broken")


def test_yosys_failure_raises_with_log_tail(tmp_path: Path) -> None:
    vhdl = "entity ok is end; architecture a of ok is begin end;"
    with pytest.raises(SynthesisError, match=re.compile("Yosys failed.*nosuchfamily", re.S)):
        synthesize({"ok.vhd": vhdl}, "ok", part="nosuchfamily")


def test_logic_depth_counts_levels_between_registers() -> None:
    lut = {"I0": "input", "O": "output"}
    module = {
        "cells": {
            "ff0": {
                "type": "FDRE",
                "port_directions": {"D": "input", "Q": "output"},
                "connections": {"D": [9], "Q": [2]},
            },
            "l1": {"type": "LUT1", "port_directions": lut, "connections": {"I0": [2], "O": [3]}},
            "c1": {
                "type": "CARRY4",
                "port_directions": {"CI": "input", "CO": "output"},
                "connections": {"CI": [3], "CO": [4, 5, 6, 7]},
            },
            "c2": {
                "type": "CARRY4",
                "port_directions": {"CI": "input", "CO": "output"},
                "connections": {"CI": [7], "CO": [10, 11, 12, 13]},
            },
            "l2": {"type": "LUT1", "port_directions": lut, "connections": {"I0": ["0"], "O": [8]}},
            "ff1": {
                "type": "FDRE",
                "port_directions": {"D": "input", "Q": "output"},
                "connections": {"D": [13], "Q": [9]},
            },
        }
    }
    assert logic_depth(module) == 3
    assert logic_depth({"cells": {}}) == 0
