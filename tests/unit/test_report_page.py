"""The report page, the design space and the timing model's spans, without a simulator.

The reports here are put together from the timing model and the analytic estimate (what
``Design.report`` measures in GHDL is tested in ``tests/sim/test_report_page.py``).
"""

from __future__ import annotations

import json
import re
import sys

import pytest
import torch

from elasticai.creator import create_design
from elasticai.creator.analysis.design_space import design_space, plan, unsettled
from elasticai.creator.analysis.estimate import estimate
from elasticai.creator.analysis.timing import busy_spans, predict_timing
from elasticai.creator.design import Design
from elasticai.creator.nn import Sequential
from elasticai.creator.nn.fixed_point import HardSigmoid, Linear, ReLU
from elasticai.creator.report import Report
from tests.graph_models import MODELS

pytest.importorskip("matplotlib", reason="the page needs the report extra (matplotlib)")


def mlp(**options) -> Design:
    torch.manual_seed(0)
    model = Sequential(Linear(6, 4, 8, 4), ReLU(), Linear(4, 3, 8, 4), HardSigmoid(8, 4))
    return model.eval().create_design("mlp", **options)


def estimated_report(design: Design) -> Report:
    """A report as ``Design.report(synthesis=False)`` makes it, cycles from the model."""
    timing = predict_timing(design.graph)
    total, per_node = estimate(design.graph)
    layers = {
        node.name: {
            "kind": node.op.kind,
            "source": node.source,
            "latency_cycles": timing.per_node[node.name][0],
            "initiation_interval": timing.per_node[node.name][1],
            **per_node[node.name],
        }
        for node in design.graph.nodes
    }
    figures = {
        "latency_cycles": timing.latency_cycles,
        "initiation_interval": timing.initiation_interval,
        "predicted_latency_cycles": timing.latency_cycles,
        "predicted_initiation_interval": timing.initiation_interval,
        "estimate": total,
        **total,
        "resources_from": "estimate",
        "synthesis_seconds": 0.0,
        "layers": layers,
    }
    return Report(figures, design=design)


def test_a_report_is_a_dict_that_json_takes_as_it_is():
    report = estimated_report(mlp())
    assert isinstance(report, dict)
    assert json.loads(json.dumps(report)) == dict(report)


@pytest.mark.parametrize("options", [{}, {"target_ii": 6}, {"parallelism": "full"}])
def test_the_page_is_one_file_with_every_layer_and_its_charts(tmp_path, options):
    design = mlp(**options)
    written = estimated_report(design).to_html(tmp_path / "sub" / "report.html")
    assert written == tmp_path / "sub" / "report.html"
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == ["report.html"]
    page = written.read_text()
    assert page.startswith("<!DOCTYPE html>")
    assert "http://" not in page and "https://" not in page
    assert not re.search(r"<(script|link|img|iframe)\b|\bsrc=|@import|url\((?!#)", page)
    for node in design.graph.nodes:
        assert f'<td class="l">{node.name}</td>' in page
    assert page.count("<svg") == 3
    assert 'href="#' not in page or all(
        f'id="{ref}"' in page for ref in re.findall(r'href="#([^"]+)"', page)
    )


def test_the_design_space_table_marks_the_designs_own_interval(tmp_path):
    design = mlp(target_ii=6)
    page = estimated_report(design).to_html(tmp_path / "r.html").read_text()
    own = predict_timing(design.graph).initiation_interval
    marked = re.findall(r'<tr class="this"><td class="l">[^<]*</td><td>([\d,]+)</td>', page)
    assert marked == [str(own)]


def test_a_report_read_back_from_json_has_a_page_without_what_needs_the_design(tmp_path):
    report = Report(json.loads(json.dumps(estimated_report(mlp()))))
    page = report.to_html(tmp_path / "r.html").read_text()
    assert "read without its design" in page
    assert page.count("<svg") == 1


def test_without_matplotlib_the_page_says_which_extra_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r"pip install 'elasticai.creator\[report\]'"):
        estimated_report(mlp()).to_html(tmp_path / "r.html")


@pytest.mark.parametrize(
    ("model", "options"),
    [
        ("mlp", {}),
        ("mlp", {"target_ii": 6}),
        ("mlp", {"parallelism": "full"}),
        ("mlp", {"max_multipliers": 5}),
        ("skip_mlp", {"target_ii": 8}),
        ("resnet1d", {}),
    ],
)
def test_the_design_space_runs_from_full_to_serial_through_the_designs_interval(model, options):
    if model == "mlp":
        design = mlp(**options)
    else:
        module, shape = MODELS[model]()
        design = create_design(module, model, input_shape=shape, **options)
    own = predict_timing(design.graph).initiation_interval
    points = design_space(design.graph, include=[own])
    intervals = [p.initiation_interval for p in points]
    assert intervals == sorted(set(intervals))
    assert all(a.multipliers >= b.multipliers for a, b in zip(points, points[1:], strict=False))
    assert (points[0].target, points[-1].target) == ("full", "serial")
    assert own in intervals
    point = points[intervals.index(own)]
    assert point.resources == estimate(design.graph)[0]


def test_replanning_a_settled_graph_for_its_own_target_gives_it_back():
    module, shape = MODELS["skip_mlp"]()
    design = create_design(module, "skip", input_shape=shape, target_ii=8)
    again = plan(unsettled(design.graph), design.graph.parallelism)
    assert [n.name for n in again.nodes] == [n.name for n in design.graph.nodes]
    assert [n.op.lanes for n in again.nodes] == [n.op.lanes for n in design.graph.nodes]
    assert estimate(again) == estimate(design.graph)


def test_unsettled_takes_out_the_lanes_and_the_skip_path_fifos():
    module, shape = MODELS["skip_mlp"]()
    graph = create_design(module, "skip", input_shape=shape).graph
    assert any(n.op.name == "buffer" for n in graph.nodes)
    free = unsettled(graph)
    assert not any(n.op.name == "buffer" for n in free.nodes)
    assert all(n.op.lanes == 0 for n in free.nodes) and free.input.lanes == 0


@pytest.mark.parametrize("model", ["skip_mlp", "inception1d"])
def test_busy_spans_start_after_what_they_read_and_the_output_ends_at_the_latency(model):
    module, shape = MODELS[model]()
    graph = create_design(module, model, input_shape=shape).graph
    spans = busy_spans(graph)
    assert spans[graph.output.value][1] == predict_timing(graph).latency_cycles
    for node in graph.nodes:
        start, end = spans[node.name]
        assert start <= end
        read = [spans[value] for value in node.inputs if value in spans]
        if read:  # a concat may start on one input before another's producer starts
            assert min(first for first, _ in read) <= start
            assert all(start <= last for _, last in read)


def test_the_page_names_where_resources_come_from_and_shows_fmax_when_there(tmp_path):
    report = estimated_report(mlp())
    page = report.to_html(tmp_path / "a.html").read_text()
    assert "analytic estimate (no synthesis)" in page and "MHz" not in page
    assert "this design (Yosys)" not in page  # the legend (a comment beside its paths)
    report.update(resources_from="yosys", synthesis_seconds=12.5, fmax_mhz=123.4, fmax_seconds=9)
    page = report.to_html(tmp_path / "b.html").read_text()
    assert "Yosys synth_xilinx (7-series), 12.5 s of synthesis" in page
    assert "123.4 MHz" in page and "this design (Yosys)" in page
    assert "median of" not in page
    report.update(fmax_mhz_by_seed={1: 123.4, 2: 118.0, 3: 131.25})
    page = report.to_html(tmp_path / "c.html").read_text()
    assert "median of 3 seeds, 118.0-131.2 MHz; 9.0 s" in page
