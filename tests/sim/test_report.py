"""Simulation tier: the cost report's figures against the tools that measure them."""

from __future__ import annotations

import pytest
import torch

from elasticai.creator.analysis.estimate import estimate
from elasticai.creator.analysis.timing import predict_timing
from elasticai.creator.nn import Sequential
from elasticai.creator.nn.fixed_point import (
    AdaptiveAvgPool2d,
    AvgPool1d,
    Conv1d,
    Conv2d,
    Flatten,
    HardSigmoid,
    HardTanh,
    Linear,
    MaxPool1d,
    MaxPool2d,
    ReLU,
    Sigmoid,
)
from elasticai.creator.synth import KEYS, synthesize
from tests.strategies import set_extreme_weights

pytestmark = pytest.mark.sim


def model(*layers: torch.nn.Module) -> Sequential:
    m = Sequential(*layers)
    set_extreme_weights(m, seed=3)
    return m.eval()


@pytest.mark.parametrize(
    ("layers", "options"),
    [
        ((Linear(16, 12, 8, 4), ReLU(), Linear(12, 5, 8, 4)), {}),
        ((Linear(7, 5, 6, 3), HardSigmoid(6, 3), Linear(5, 9, 6, 3)), {"target_ii": 6}),
        ((Linear(7, 5, 8, 4), HardTanh(8, 4), Linear(5, 3, 8, 4)), {"parallelism": "full"}),
        ((Linear(9, 4, 8, 4, parallelism=(3, 2)), ReLU(8, 2), Linear(4, 4, 8, 2)), {}),
        ((HardSigmoid(8, 4),), {"input_shape": (5,)}),
        ((Sigmoid(8, 4),), {"input_shape": (5,)}),
        (
            (Conv1d(2, 4, 3, 8, 4, padding=1), ReLU(), MaxPool1d(2), Conv1d(4, 3, 3, 8, 4, 2)),
            {"input_shape": (2, 13)},
        ),
        (
            (Conv1d(2, 4, 3, 8, 4), AvgPool1d(2), Flatten(), Linear(12, 3, 8, 4)),
            {"input_shape": (2, 8), "parallelism": "full"},
        ),
        (
            (Conv1d(3, 6, 5, 8, 4, padding=2, dilation=2), Sigmoid(8, 4), MaxPool1d(3, 2, 1)),
            {"input_shape": (3, 11), "target_ii": 80},
        ),
        (
            (Conv2d(1, 4, 3, 8, 4, padding=1), MaxPool2d(2), Conv2d(4, 2, 3, 8, 4, padding=1)),
            {"input_shape": (1, 6, 6)},
        ),
        (
            (Conv2d(2, 4, 3, 8, 4, stride=2), AdaptiveAvgPool2d(1), Flatten(), Linear(4, 2, 8, 4)),
            {"input_shape": (2, 7, 7), "parallelism": "full"},
        ),
    ],
)
def test_predicted_cycles_equal_the_simulated_ones(layers, options):
    design = model(*layers).create_design("timing", **options)
    report = design.report(synthesis=False)
    predicted = predict_timing(design.graph)
    assert report["latency_cycles"] == predicted.latency_cycles
    assert report["initiation_interval"] == predicted.initiation_interval


def test_report_has_every_key_for_the_design_and_each_layer():
    design = model(Linear(6, 4, 8, 4), ReLU(), Linear(4, 2, 8, 4)).create_design("keys")
    report = design.report()
    expected = {
        "latency_cycles",
        "initiation_interval",
        "lut",
        "ff",
        "dsp",
        "bram",
        "carry",
        "logic_depth",
    }
    assert expected <= report.keys()
    assert report["dsp"] == 2 and report["lut"] > 0 and report["ff"] > 0
    assert list(report["layers"]) == [n.name for n in design.graph.nodes]
    for layer in report["layers"].values():
        assert expected <= layer.keys()


@pytest.mark.parametrize(
    ("layers", "options"),
    [
        ((Linear(16, 64, 8, 4), HardSigmoid(8, 4)), {}),
        ((Linear(12, 20, 12, 6), HardSigmoid(12, 6)), {"target_ii": 16}),
        ((Linear(8, 8, 8, 4), ReLU()), {"parallelism": "full"}),
        # five multipliers an output: a product alone in an adder tree register made
        # Yosys 0.23's DSP48 packing drop the whole datapath (0 DSPs)
        ((Linear(10, 2, 8, 4), ReLU()), {"target_ii": 2}),
    ],
    ids=["serial", "parallel", "unrolled", "five_lanes"],
)
def test_estimate_is_within_a_factor_of_two_of_yosys(layers, options):
    design = model(*layers).create_design("est", **options)
    synth = synthesize(design.synthesizable_files(), "est")
    _, per_node = estimate(design.graph)
    for name, guess in per_node.items():
        actual = synth.per_instance[name]
        assert guess["dsp"] == actual["dsp"], name
        assert guess["bram"] == actual["bram"], name
        for key in ("lut", "ff"):
            assert 0.5 <= guess[key] / actual[key] <= 2, (name, key, guess[key], actual[key])
    assert set(KEYS) <= set(synth.total)


@pytest.mark.parametrize(
    ("name", "options"), [("skip_mlp", {}), ("inception1d", {}), ("resnet1d", {"target_ii": 64})]
)
def test_estimate_of_joins_and_fifos_is_within_a_factor_of_two_of_yosys(name, options):
    from elasticai.creator import create_design
    from tests.graph_models import MODELS

    graph_model, shape = MODELS[name]()
    design = create_design(graph_model, "est", input_shape=shape, **options)
    synth = synthesize(design.synthesizable_files(), "est")
    _, per_node = estimate(design.graph)
    joins = [n.name for n in design.graph.nodes if n.op.name in ("add", "concat", "buffer")]
    assert joins
    for node in joins:
        guess, actual = per_node[node], synth.per_instance[node]
        assert guess["dsp"] == actual["dsp"] and guess["bram"] == actual["bram"], node
        for key in ("lut", "ff"):
            assert 0.5 <= guess[key] / actual[key] <= 2, (node, key, guess[key], actual[key])
