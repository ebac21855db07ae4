"""Simulation tier: the windows' line buffers (ec_window's ring, WindowOp.memory_words)
in whole designs: bit-exact, and cycle for cycle the same as with the double buffer."""

from __future__ import annotations

import re

import numpy as np
import pytest

from elasticai.creator.analysis.estimate import estimate
from elasticai.creator.analysis.timing import predict_timing
from elasticai.creator.nn import Sequential
from elasticai.creator.nn.fixed_point import (
    AvgPool2d,
    Conv1d,
    Conv2d,
    MaxPool1d,
    ReLU,
)
from elasticai.creator.ops import WindowOp
from tests.sim.test_cnn import maps, trained
from tests.sim.test_designs import assert_bit_exact

pytestmark = pytest.mark.sim

DESIGNS = [
    (  # a longer signal: every window a ring of a few positions
        lambda: Sequential(
            Conv1d(4, 8, 5, 8, 4, padding=2), ReLU(), MaxPool1d(2), Conv1d(8, 8, 3, 8, 4, 1, 1)
        ),
        (4, 96),
        {"target_ii": 1024},
    ),
    (
        lambda: Sequential(Conv1d(3, 4, 3, 8, 4, stride=2, dilation=2), MaxPool1d(3, 2, 1)),
        (3, 64),
        {"parallelism": "full"},
    ),
    (
        lambda: Sequential(Conv2d(2, 4, 3, 8, 4, padding=1), ReLU(), AvgPool2d(2)),
        (2, 12, 12),
        {},
    ),
]


def ring_sizes(design) -> list[int]:
    return [int(m) for m in re.findall(r"MEM_WORDS => (\d+)", design.files[f"{design.name}.vhd"])]


@pytest.mark.parametrize(("build", "shape", "options"), DESIGNS, ids=["1d_long", "1d_full", "2d"])
def test_rings_keep_every_cycle(build, shape, options, monkeypatch):
    """The lowering picks rings (at most a sample, at least half the double buffer saved),
    the design is bit-exact with stalls, and without stalls every output beat leaves in the
    same cycle as with double buffers (the prediction's cycles)."""
    model = trained(build(), shape)
    x = maps(3, shape)
    assert_bit_exact(model, x, input_shape=shape, **options)
    design = model.create_design("ring", input_shape=shape, **options)
    sizes = ring_sizes(design)
    assert sizes and all(sizes), sizes
    zeros = np.zeros((5, design.graph.input_type.size), dtype=np.int64)
    with_rings = design.run(zeros, stall_percent=0)
    bits = estimate(design.graph)[0]

    monkeypatch.setattr(WindowOp, "memory_words", lambda self, in_lanes: 0)
    buffered = model.create_design("ring", input_shape=shape, **options)
    assert not any(ring_sizes(buffered))
    with_buffers = buffered.run(zeros, stall_percent=0)
    np.testing.assert_array_equal(with_rings.output_cycles, with_buffers.output_cycles)
    predicted = predict_timing(design.graph)
    assert with_rings.latencies[0] == predicted.latency_cycles
    assert int(np.diff(with_rings.output_cycles)[1:].max()) == predicted.initiation_interval
    assert bits["bram"] <= estimate(buffered.graph)[0]["bram"]


def test_long_signal_ring_is_a_few_positions():
    """A 1-D convolution over 1000 positions of 64 channels: a ring of 512 words where the
    double buffer would hold 128,000."""
    model = Sequential(Conv1d(64, 8, 3, 8, 4, padding=1))
    design = model.create_design("long", input_shape=(64, 1000))
    assert ring_sizes(design) == [512]  # a window (3 * 64) and the next (+ 64), + 2 -> 2**9
