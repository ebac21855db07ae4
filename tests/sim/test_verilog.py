"""The Verilog of designs (``save_to(..., verilog=True)``, ``Design.to_verilog``): one
file that Icarus Verilog, Yosys and Vivado read as GHDL meant it.

Icarus runs it in ``test_cocotb.py`` (same outputs, same cycles as the VHDL); here Yosys
checks its structure: no latches and no combinational loops in any library entity
(GHDL writes some VHDL constructs as Verilog that infers latches), and the library's VHDL
names no net after a (System)Verilog keyword.
"""

from __future__ import annotations

import re
import subprocess

import pytest

from elasticai.creator import create_design
from elasticai.creator.nn import Sequential
from elasticai.creator.nn.fixed_point import Linear
from elasticai.creator.sim import ghdl
from elasticai.creator.synth.yosys import yosys_path
from elasticai.creator.vhdl.verilog_keywords import VERILOG_KEYWORDS
from tests.graph_models import MODELS as GRAPHS
from tests.sim.test_cocotb import MODELS

pytestmark = pytest.mark.sim


def names_in(vhdl: str) -> set[str]:
    """Names of signals, variables, constants and ports of a VHDL text."""
    text = re.sub(r"--.*", "", vhdl.lower())
    found = set()
    for group in re.findall(r"\b(?:signal|variable|constant)\s+([a-z_0-9, ]+?)\s*:", text):
        found |= {n.strip() for n in group.split(",")}
    found |= set(re.findall(r"^\s*([a-z]\w*)\s*:\s*(?:in|out|inout)\b", text, re.M))
    return found


@pytest.mark.parametrize("path", ghdl.library_files(), ids=lambda p: p.name)
def test_library_names_are_no_verilog_keywords(path):
    assert not names_in(path.read_text()) & VERILOG_KEYWORDS


def designs():
    yield "mlp_serial", create_design(MODELS["mlp6_odd"](), "mlp_serial")
    yield "mlp_ii3", create_design(MODELS["mlp8"](), "mlp_ii3", target_ii=3)
    yield "mlp_full", create_design(MODELS["mlp8"](), "mlp_full", parallelism="full")
    yield "cnn", create_design(MODELS["cnn8"](), "cnn", input_shape=(2, 12))
    for name in ("resnet1d", "inception1d", "vector_concat"):
        model, shape = GRAPHS[name]()
        yield name, create_design(model, name, input_shape=shape, target_ii=64)


@pytest.mark.parametrize(
    ("name", "design"), list(designs()), ids=lambda v: v if isinstance(v, str) else ""
)
def test_verilog_has_no_latches_or_loops(tmp_path, name, design):
    (tmp_path / f"{name}.v").write_text(design.to_verilog())
    script = (
        f"read_verilog {name}.v; hierarchy -check -top {name}; proc; "
        "select -assert-none t:$dlatch t:$adlatch t:$dlatchsr t:$_DLATCH_*; check -assert"
    )
    run = subprocess.run(
        [yosys_path(), "-q", "-p", script], cwd=tmp_path, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]


@pytest.mark.parametrize("name", ["wire", "design", "Module"])
def test_a_design_named_after_a_verilog_keyword_writes_no_verilog(name, tmp_path):
    design = Sequential(Linear(2, 1, 8, 4)).eval().create_design(name)
    design.save_to(tmp_path / "vhdl")  # a fine VHDL name
    with pytest.raises(ValueError, match=f"design name '{name}' is a .System.Verilog keyword"):
        design.save_to(tmp_path / "v", verilog=True)
    assert not (tmp_path / "v").exists()
