"""Simulation tier: models that are not chains are exact in GHDL, with the predicted interval.

Residual blocks (1-D, with a projection, 2-D), concatenated branches, an MLP with a skip,
fan-out to three layers and of the model input: each at the serial end, a ``target_ii``
point and ``"full"``, exact with random stalls on both sides; the interval GHDL measures
equals the prediction; the FIFOs on the skip paths are as deep as they must be.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from elasticai.creator import create_design
from elasticai.creator.analysis.timing import predict_timing
from elasticai.creator.arithmetic import FixedType
from elasticai.creator.design import Design
from elasticai.creator.ir import interpret
from elasticai.creator.ir.graph import Graph, GraphInput, GraphOutput, Node, ParallelismTarget
from elasticai.creator.ir.serialize import graph_to_json, load_graph
from elasticai.creator.ir.types import TensorType, frozen_array, sum_type
from elasticai.creator.ops import AddOp, LinearOp, PointwiseOp
from elasticai.creator.passes import run_pipeline
from elasticai.creator.sim.ghdl import GhdlError
from tests.graph_models import INTERVAL_REGRESSIONS, MODELS

pytestmark = pytest.mark.sim

SETTINGS = [{}, {"target_ii": 64}, {"parallelism": "full"}]


def inputs(shape, seed: int, batch: int = 10) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(batch, *shape, generator=g) - 0.5) * 12


def measured_interval(design: Design, samples: int = 6) -> tuple[int, int]:
    """Latency of the first sample and the largest steady interval, without stalls."""
    zeros = np.zeros((samples, design.graph.input_type.size), dtype=np.int64)
    run = design.run(zeros, stall_percent=0)
    return int(run.latencies[0]), int(np.diff(run.output_cycles)[1:].max())


def assert_exact_at_the_predicted_interval(model, shape, name: str, options: dict) -> None:
    """Exact under stalls; without stalls at the predicted interval and latency (the latency
    a lower bound where the model is not exact: maps)."""
    design = create_design(model, name, input_shape=shape, **options)
    x = inputs(shape, 3)
    assert torch.equal(design.simulate(x, stall_percent=30), model(x))
    predicted = predict_timing(design.graph)
    latency, interval = measured_interval(design)
    assert interval == predicted.initiation_interval
    assert latency >= predicted.latency_cycles
    if predicted.exact:
        assert latency == predicted.latency_cycles


@pytest.mark.parametrize("name", sorted(MODELS))
@pytest.mark.parametrize("options", SETTINGS, ids=["serial", "ii64", "full"])
def test_graph_model_is_exact_in_ghdl_at_the_predicted_interval(name, options):
    model, shape = MODELS[name]()
    assert_exact_at_the_predicted_interval(model, shape, name, options)


@pytest.mark.parametrize(
    "name", ["concat_activation", "concat_activation_twice", "concat_forked_activation"]
)
def test_a_vector_concatenated_with_its_activation_never_stops(name):
    """Regression: the FIFO behind the activation was sized from the stall-free schedule
    at one sample an interval, counting on the beats in flight inside the activation's
    pipeline; under stalls (and, for the second model, without: the layers before run
    ahead) the design stopped. In the third the activation is read by a batch norm too,
    and the chain was not counted at all."""
    model, shape = MODELS[name]()
    design = create_design(model, name, input_shape=shape)
    x = inputs(shape, 5)
    for stall, seed in [(0, 1), (20, 1), (20, 2), (50, 3)]:
        assert torch.equal(design.simulate(x, stall_percent=stall, seed=seed), model(x))


@pytest.mark.parametrize("name", sorted(INTERVAL_REGRESSIONS))
def test_random_dags_that_ran_slow_run_at_the_predicted_interval(name):
    """Regression: FIFOs sized from a schedule in which a waiting beat holds up nothing
    else; the design ran slower than predicted (``passes.insert_buffers``)."""
    build, options = INTERVAL_REGRESSIONS[name]
    model, shape = build()
    assert_exact_at_the_predicted_interval(model, shape, name, options)


def _skip_graph(target: ParallelismTarget) -> Graph:
    """``x`` read by a ReLU and by a Linear, whose results an add joins: the Linear reads
    the model input, not the value before it."""
    t = FixedType(8, 4)
    v = TensorType((6,), t)
    rng = np.random.default_rng(0)
    relu = Node("relu_0", PointwiseOp("relu", 1, 0, 0, 0, t.max_int), ("x",), (v,), v)
    weight = frozen_array(rng.integers(-20, 20, (6, 6)))
    linear = Node("linear_1", LinearOp(weight, None, t, None), ("x",), (v,), v)
    total = TensorType((6,), sum_type(t, t))
    add = Node("add_2", AddOp(), ("relu_0", "linear_1"), (v, v), total)
    return Graph(
        "skip", (GraphInput("x", v),), (relu, linear, add), (GraphOutput("add_2"),), target
    )


@pytest.mark.parametrize("target", [ParallelismTarget(), ParallelismTarget(full=True)])
def test_a_node_reading_an_earlier_value_is_wired_to_it(tmp_path, target):
    """Regression: lowering once wired every node to the node before it, so this design
    computed ``linear(relu(x))`` where the interpreter computes ``relu(x) + linear(x)``."""
    (tmp_path / "design.json").write_text(graph_to_json(run_pipeline(_skip_graph(target))))
    graph = load_graph(tmp_path)
    assert graph.node("linear_1").inputs == ("x",)
    x = np.random.default_rng(1).integers(-128, 128, (20, 6))
    simulated = Design(graph).run(x, stall_percent=30).outputs
    assert np.array_equal(simulated, interpret.run(graph, x))


def _with_depth(design: Design, name: str, depth: int) -> Design:
    nodes = [n.with_op(depth=depth) if n.name == name else n for n in design.graph.nodes]
    return Design(design.graph.replace_nodes(nodes))


def _degraded(design: Design, interval: int) -> str:
    """``"slower"`` where the interval grows, ``"stops"`` where no sample comes out."""
    try:
        # enough samples that a too shallow FIFO fills up even behind a deep pipeline
        return "slower" if measured_interval(design, samples=24)[1] > interval else "as fast"
    except GhdlError:
        return "stops"


@pytest.mark.parametrize(
    ("name", "options", "less", "expected"),
    [
        ("skip_mlp", {"parallelism": "full"}, lambda d: d - 1, {"slower"}),
        ("skip_mlp", {"parallelism": "full"}, lambda d: 1, {"slower"}),
        ("resnet1d", {}, lambda d: d // 2, {"stops"}),
        ("resnet2d", {"target_ii": 64}, lambda d: d - 1, {"slower"}),
    ],
    ids=["full-1", "full-one", "serial-half", "ii64-1"],
)
def test_the_computed_fifo_depth_is_needed(name, options, less, expected):
    """With the computed depth the design runs at the predicted interval; shallower, the
    interval grows (the fully parallel MLP, by one beat less) or the pipeline stops (the
    residual CNN at the serial end: the skip beats fill the FIFO while the convolutions
    still wait for input beats behind them)."""
    model, shape = MODELS[name]()
    design = create_design(model, name, input_shape=shape, **options)
    (fifo,) = [n for n in design.graph.nodes if n.op.name == "buffer"]
    interval = predict_timing(design.graph).initiation_interval
    assert measured_interval(design)[1] == interval
    shallower = _with_depth(design, fifo.name, less(fifo.op.depth))
    assert _degraded(shallower, interval) in expected


def test_fifo_bits_are_reported_and_estimated():
    model, shape = MODELS["resnet1d"]()
    design = create_design(model, "resnet1d", input_shape=shape)
    report = design.report(synthesis=False)
    (fifo,) = [n for n in design.graph.nodes if n.op.name == "buffer"]
    bits = fifo.op.depth * (fifo.op.lanes * fifo.output_type.dtype.total_bits + 1)
    assert report["fifo_bits"] == report["estimate"]["fifo_bits"] == bits
    assert report["layers"][fifo.name]["kind"] == "fifo"
    assert report["initiation_interval"] == report["predicted_initiation_interval"]


@pytest.mark.parametrize("name", sorted(MODELS))
def test_graph_designs_pass_ghdl_synth(name):
    """Forks, joins and FIFOs synthesize (no latches, every port driven)."""
    model, shape = MODELS[name]()
    create_design(model, name, input_shape=shape, target_ii=64).check_synthesis()
