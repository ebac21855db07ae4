"""The lane plan: fewest multipliers within the target interval (checked by brute force)."""

import itertools
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from elasticai.creator.frontend import to_graph
from elasticai.creator.nn import Sequential
from elasticai.creator.nn.fixed_point import Linear, ReLU
from elasticai.creator.ops import LinearOp
from elasticai.creator.passes.choose_parallelism import lane_plan, layer_cycles


def brute_force(sizes, ii):
    best = None
    for plan in itertools.product(*(range(1, n + 1) for n in sizes)):
        cycles = [
            layer_cycles(sizes[k], sizes[k + 1], plan[k], plan[k + 1])
            for k in range(len(sizes) - 1)
        ]
        if max(cycles) > ii:
            continue
        cost = sum(plan[k] * plan[k + 1] for k in range(len(sizes) - 1))
        best = cost if best is None else min(best, cost)
    return best


def mlp_graph(sizes):
    torch.manual_seed(0)
    layers = [Linear(a, b, 8, 4) for a, b in itertools.pairwise(sizes)]
    return to_graph(Sequential(*layers), "m")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(1, 7), min_size=2, max_size=4), st.integers(1, 50))
def test_plan_has_the_fewest_multipliers_that_reach_the_interval(sizes, ii):
    graph = mlp_graph(sizes)
    found = lane_plan(graph, ii)
    expected = brute_force(sizes, ii)
    if expected is None:
        assert found is None
        return
    assert found is not None
    assert found.multipliers == expected
    lanes = [found.lanes["x"]] + [found.lanes[n.name] for n in graph.nodes]
    assert all(
        layer_cycles(a, b, la, lb) <= ii
        for (a, b), (la, lb) in zip(
            itertools.pairwise(sizes), itertools.pairwise(lanes), strict=True
        )
    )


def jet():
    return Sequential(
        Linear(16, 64, 8, 4),
        ReLU(),
        Linear(64, 32, 8, 4),
        ReLU(),
        Linear(32, 32, 8, 4),
        ReLU(),
        Linear(32, 5, 8, 4),
    )


def plan_of(design):
    return [(n.op.p_in, n.op.p_out) for n in design.graph.nodes if isinstance(n.op, LinearOp)]


def test_default_is_one_multiplier_per_layer():
    assert plan_of(jet().create_design("j")) == [(1, 1)] * 4


def test_full_unrolls_every_layer():
    assert plan_of(jet().create_design("j", parallelism="full")) == [
        (16, 64),
        (64, 32),
        (32, 32),
        (32, 5),
    ]


def test_budget_gives_the_fastest_design_that_fits():
    design = jet().create_design("j", max_multipliers=20)
    plan = plan_of(design)
    assert sum(a * b for a, b in plan) <= 20
    interval = max(
        math.ceil(i / a) * math.ceil(o / b)
        for (a, b), (i, o) in zip(plan, [(16, 64), (64, 32), (32, 32), (32, 5)], strict=True)
    )
    assert lane_plan(to_graph(jet(), "j"), interval - 1).multipliers > 20


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"max_multipliers": 3}, "max_multipliers must be at least 4 for this model, not 3"),
        ({"target_ii": 0}, "target_ii must be a positive int, not 0"),
        (
            {"target_ii": 8, "parallelism": "full"},
            "choose one of target_ii, max_multipliers and parallelism='full'",
        ),
        ({"parallelism": "fast"}, "parallelism must be 'serial' or 'full', not 'fast'"),
        (
            {"parallelism": "full", "pipeline_levels": 0},
            "pipeline_levels must be a positive int, not 0",
        ),
    ],
)
def test_bad_targets_are_refused(options, message):
    with pytest.raises(ValueError) as error:
        jet().create_design("j", **options)
    assert str(error.value) == message


def test_inconsistent_layer_settings_are_refused():
    model = Sequential(
        Linear(4, 6, 8, 4, parallelism=(1, 2)), Linear(6, 2, 8, 4, parallelism=(3, 1))
    )
    with pytest.raises(ValueError, match="a layer's p_out must equal the next layer's p_in"):
        model.create_design("j")


def test_bad_layer_parallelism_is_refused():
    with pytest.raises(ValueError) as error:
        Linear(4, 6, 8, 4, parallelism=(5, 1))
    assert str(error.value) == (
        "parallelism must be None, 'full' or (p_in, p_out) with 1 <= p_in <= 4 and "
        "1 <= p_out <= 6, not (5, 1)"
    )
