"""Simulation tier: the cost report's figures against the tools that measure them."""

from __future__ import annotations

import pytest
import torch

from elasticai.creator.nn import Sequential
from elasticai.creator.nn.fixed_point import HardSigmoid, HardTanh, Linear, ReLU
from elasticai.creator.synth import KEYS, synthesize
from elasticai.creator.synth.estimate import estimate
from elasticai.creator.timing import predict_timing
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
    ],
    ids=["serial", "parallel", "unrolled"],
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
