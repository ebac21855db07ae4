"""``Design.run(executor="ray")``: the shards of a simulation as Ray tasks, on a Ray
instance it starts and on a running cluster on this machine; the outputs and latencies of
a run in this process, in order."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from elasticai.creator.nn import Sequential
from elasticai.creator.nn.fixed_point import Linear, ReLU
from tests.unit.test_explore_ray import cluster  # noqa: F401  (the fixture)

ray = pytest.importorskip("ray")
pytestmark = [pytest.mark.sim, pytest.mark.ray]


def design_and_inputs():
    torch.manual_seed(4)
    model = Sequential(Linear(6, 5, 8, 4), ReLU(8), Linear(5, 3, 8, 4)).eval()
    design = model.create_design("ray_shards")
    x = torch.randn(9, 6) * 3
    return model, design, x


def test_shards_on_a_ray_instance_of_its_own_come_back_in_order():
    model, design, x = design_and_inputs()
    x_int = design.quantize_input(x)
    run = design.run(x_int, executor="ray", workers=2, simulator="ghdl", stall_percent=0)
    assert not ray.is_initialized()
    assert run.shard_starts == (0, 5)
    local = design.run(x_int, workers=1, simulator="ghdl", stall_percent=0)
    np.testing.assert_array_equal(run.outputs, local.outputs)
    np.testing.assert_array_equal(run.outputs, design.interpret(x_int))
    np.testing.assert_array_equal(run.latencies[[0, 5]], local.latencies[[0, 0]])
    assert np.all(np.diff(run.output_cycles) > 0)


def test_a_running_cluster_simulates_the_shards_with_stalls(cluster):  # noqa: F811
    process, address = cluster
    model, design, x = design_and_inputs()
    y = design.simulate(x, executor="ray", address=address, workers=3, stall_percent=30)
    assert torch.equal(y, model(x))
    assert process.poll() is None
    assert not ray.is_initialized()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"vcd": "w.vcd"}, "executor='ray' runs without vcd=, not 'w.vcd'"),
        ({"reset_cycle": 40}, "executor='ray' runs without reset_cycle=, not 40"),
        ({"executor": "dask"}, "executor must be 'local' or 'ray', not 'dask'"),
    ],
)
def test_what_ray_does_not_take_is_refused(options, message):
    _, design, x = design_and_inputs()
    options = {"executor": "ray", **options}
    with pytest.raises(ValueError, match=message):
        design.run(design.quantize_input(x), simulator="ghdl", **options)


def test_an_address_without_ray_is_refused():
    _, design, x = design_and_inputs()
    with pytest.raises(ValueError, match="address is a Ray cluster's: give it with executor='ray'"):
        design.run(design.quantize_input(x), address="127.0.0.1:1")
