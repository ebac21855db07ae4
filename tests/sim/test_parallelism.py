"""Simulation tier: every parallelism setting stays bit-exact and meets its cycle count."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from elasticai.creator.arithmetic import FixedType
from elasticai.creator.nn import Sequential
from elasticai.creator.nn.fixed_point import HardSigmoid, HardTanh, Linear, ReLU
from elasticai.creator.ops import LinearOp
from elasticai.creator.passes.choose_parallelism import layer_cycles
from tests.strategies import saturating_inputs, set_extreme_weights

pytestmark = pytest.mark.sim


def lanes(design):
    return [(n.op.p_in, n.op.p_out) for n in design.graph.nodes if isinstance(n.op, LinearOp)]


def odd_model(total=8, frac=4, **first):
    model = Sequential(
        Linear(7, 5, total, frac, **first),
        ReLU(),
        Linear(5, 9, total, frac),
        HardSigmoid(total, frac),
        Linear(9, 3, total, frac),
        HardTanh(total, frac),
    )
    set_extreme_weights(model, seed=total)
    return model.eval()


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"target_ii": 20},
        {"target_ii": 6},
        {"target_ii": 2},
        {"max_multipliers": 12},
        {"parallelism": "full"},
    ],
    ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()) or "serial",
)
def test_settings_are_bit_exact_and_reach_their_interval(options):
    model = odd_model()
    design = model.create_design("par", **options)
    x = saturating_inputs(10, 7, FixedType(8, 4), seed=4)
    with torch.no_grad():
        assert torch.equal(design.simulate(x, stall_percent=30), model(x))
    timing = design.run(design.quantize_input(x), stall_percent=0)
    np.testing.assert_array_equal(timing.outputs, design.interpret(design.quantize_input(x)))
    shapes = [(7, 5), (5, 9), (9, 3)]
    slowest = max(
        layer_cycles(i, o, a, b) for (i, o), (a, b) in zip(shapes, lanes(design), strict=True)
    )
    assert timing.initiation_interval == slowest
    if "target_ii" in options:
        assert slowest <= options["target_ii"]
    if "max_multipliers" in options:
        assert sum(a * b for a, b in lanes(design)) <= options["max_multipliers"]
    design.check_synthesis()


def test_per_layer_parallelism_is_kept_and_neighbours_follow():
    model = odd_model(parallelism=(3, 2))
    design = model.create_design("fixed")
    assert lanes(design)[0] == (3, 2)
    assert lanes(design)[1][0] == 2  # the next layer reads what this one writes
    x = saturating_inputs(6, 7, FixedType(8, 4), seed=9)
    with torch.no_grad():
        assert torch.equal(design.simulate(x), model(x))


def test_full_parallelism_takes_a_sample_every_clock():
    model = odd_model(total=6, frac=3)
    design = model.create_design("full", parallelism="full")
    assert lanes(design) == [(7, 5), (5, 9), (9, 3)]
    x = design.quantize_input(saturating_inputs(12, 7, FixedType(6, 3), seed=2))
    assert design.run(x, stall_percent=0).initiation_interval == 1


@pytest.mark.parametrize("levels", [1, 2, 10])
def test_pipeline_levels_set_the_registers_of_unrolled_layers(levels):
    """Fewer adder levels between registers: more cycles, same outputs; GHDL's latency is
    the timing model's, at one sample a clock."""
    model = odd_model()
    design = model.create_design("levels", parallelism="full", pipeline_levels=levels)
    stages = [n.op.stages for n in design.graph.nodes if isinstance(n.op, LinearOp)]
    for node in design.graph.nodes:
        if isinstance(node.op, LinearOp):
            graph = node.op.adder_graph(node)
            assert node.op.stages == -(-(graph.depth + 2) // levels)
    x = saturating_inputs(10, 7, FixedType(8, 4), seed=5)
    with torch.no_grad():
        assert torch.equal(design.simulate(x, stall_percent=30), model(x))
    report = design.report(synthesis=False, timing_samples=4)
    assert report["initiation_interval"] == 1
    assert report["latency_cycles"] == report["predicted_latency_cycles"]
    if levels == 1:
        assert min(stages) >= 3
    if levels == 10:
        assert max(stages) == 1
