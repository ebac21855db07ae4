"""Simulation tier: the timeline GHDL measures, and the page in a real browser."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch

from elasticai.creator import create_design
from elasticai.creator.analysis.timing import busy_spans, predict_timing
from elasticai.creator.cli import main
from elasticai.creator.design import Design
from elasticai.creator.ir.op import beats
from elasticai.creator.nn import Sequential
from elasticai.creator.nn.fixed_point import HardSigmoid, Linear, ReLU
from elasticai.creator.sim.activity import handshakes
from elasticai.creator.vhdl import testbench
from tests.graph_models import MODELS

pytestmark = pytest.mark.sim

CHROMIUM = shutil.which("chromium")


def mlp(**options) -> Design:
    torch.manual_seed(0)
    model = Sequential(Linear(6, 4, 8, 4), ReLU(), Linear(4, 3, 8, 4), HardSigmoid(8, 4))
    return model.eval().create_design("mlp", **options)


def test_handshakes_in_the_vcd_are_the_cycles_the_testbench_logs(tmp_path):
    design = mlp(target_ii=6)
    x = np.random.default_rng(0).integers(-128, 128, size=(4, 6))
    result = design.run(x, stall_percent=30, seed=3, vcd=tmp_path / "wave.vcd")
    moved = handshakes(
        (tmp_path / "wave.vcd").read_text(), f"{testbench.testbench_name(design.graph)}.dut"
    )
    per_in = beats(6, design.graph.input_lanes)
    per_out = beats(3, design.graph.output_lanes)
    assert moved["s_axis"][::per_in] == result.input_cycles.tolist()
    # the run stops at the edge of the very last beat, which the dump does not hold
    ends = moved["m_axis"][per_out - 1 :: per_out]
    assert ends == result.output_cycles[: len(ends)].tolist()
    assert len(ends) >= len(x) - 1
    for node in design.graph.nodes:  # every layer's ports are in the dump
        assert moved[f"{node.name}.m_axis"] and moved[f"{node.name}.s_axis"]


@pytest.mark.parametrize(
    ("model", "options"),
    [("mlp", {}), ("mlp", {"parallelism": "full"}), ("skip_mlp", {}), ("fan_out3", {})],
)
def test_the_measured_timeline_agrees_with_the_simulation_and_the_timing_model(model, options):
    if model == "mlp":
        design = mlp(**options)
    else:
        module, shape = MODELS[model]()
        design = create_design(module, model, input_shape=shape, **options)
    report = design.report(synthesis=False, timeline=True)
    alone = design.run(np.zeros((6, design.graph.input_type.size), np.int64), stall_percent=0)
    timeline = report["timeline"]
    assert timeline["origin_cycle"] == alone.input_cycles[0]
    measured = timeline["measured"]
    assert list(measured) == [n.name for n in design.graph.nodes]
    assert min(start for start, _ in measured.values()) == 0
    latency = int(alone.output_cycles[0] - alone.input_cycles[0])
    assert measured[design.graph.output.value][1] == latency == report["latency_cycles"]
    # vectors only: the timing model is exact there, layer by layer
    assert predict_timing(design.graph).exact
    assert {k: tuple(v) for k, v in measured.items()} == busy_spans(design.graph)
    assert timeline["predicted"] == {k: list(v) for k, v in busy_spans(design.graph).items()}
    for name, cycles in timeline["output_beats"].items():
        assert cycles[-1] == measured[name][1] and cycles == sorted(cycles)


def test_a_report_without_timeline_has_none_and_the_same_figures():
    design = mlp()
    plain, full = design.report(synthesis=False), design.report(synthesis=False, timeline=True)
    assert "timeline" not in plain
    assert {k: v for k, v in full.items() if k != "timeline"} == dict(plain)


@pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("CI"),
    reason="chromium is not installed (Debian: apt-get install chromium; ./dev installs it)",
)
def test_the_page_renders_in_headless_chromium_without_errors(tmp_path):
    pytest.importorskip("matplotlib", reason="the page needs the report extra (matplotlib)")
    assert CHROMIUM is not None, "CI must have chromium (./dev installs it)"
    design = mlp(target_ii=6)
    page = design.report(synthesis=False, timeline=True).to_html(tmp_path / "report.html")
    common = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]
    logging = ["--enable-logging=stderr", "--v=0", "--user-data-dir=" + str(tmp_path / "profile")]
    shot = tmp_path / "out.png"
    run = subprocess.run(
        [*common, *logging, f"--screenshot={shot}", "--window-size=1200,2000", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    console = [line for line in run.stderr.splitlines() if ":CONSOLE" in line]
    assert run.returncode == 0 and not console, run.stderr[-2000:]
    image = pytest.importorskip("matplotlib.image").imread(shot)
    assert image.shape[:2] == (2000, 1200)
    pixels = image[..., :3].reshape(-1, 3)
    assert len(np.unique(np.round(pixels * 255), axis=0)) > 20  # text, tables, charts
    assert (pixels.min(axis=1) < 0.5).mean() > 0.01  # dark ink on a good part of it
    dom = subprocess.run(
        [*common, *logging, "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert not [line for line in dom.stderr.splitlines() if ":CONSOLE" in line]
    assert dom.stdout.count("<svg") == 3
    for node in design.graph.nodes:
        assert f'<td class="l">{node.name}</td>' in dom.stdout


def test_the_command_line_writes_the_page_and_says_where(tmp_path, monkeypatch, capsys):
    pytest.importorskip("matplotlib", reason="the page needs the report extra (matplotlib)")
    (tmp_path / "my_models.py").write_text(
        "from elasticai.creator.nn import Sequential\n"
        "from elasticai.creator.nn.fixed_point import Linear, ReLU\n"
        "def build():\n"
        "    return Sequential(Linear(5, 3, 8, 4), ReLU(), Linear(3, 2, 8, 4)).eval()\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    page = tmp_path / "out" / "report.html"
    assert main(["report", "my_models:build", "--estimate", "--html", str(page)]) == 0
    assert f"report page written to {page}" in capsys.readouterr().out
    text = page.read_text()
    assert "measured (GHDL)" in text and text.count("<svg") == 3
