"""``explore.space`` (the points of a sweep, checked) and ``explore.pareto`` (the front)."""

from __future__ import annotations

import numpy as np
import pytest

from elasticai.creator.explore import pareto_flags
from elasticai.creator.explore.space import points, split

# --- the space ---------------------------------------------------------------------------


def test_points_are_the_product_in_the_order_of_the_space():
    assert points({"a": [1, 2], "b": ["x", None]}) == [
        {"a": 1, "b": "x"},
        {"a": 1, "b": None},
        {"a": 2, "b": "x"},
        {"a": 2, "b": None},
    ]
    assert points({"input_shape": [(1, 8)]}) == [{"input_shape": [1, 8]}]  # as JSON has it
    assert points({"bits": [np.int64(4)]}) == [{"bits": 4}]
    assert split({"total_bits": 4, "target_ii": 1, "input_shape": [1, 8]}) == (
        {"total_bits": 4},
        {"target_ii": 1, "input_shape": (1, 8)},
    )


@pytest.mark.parametrize(
    ("space", "message"),
    [
        ({}, "space must have at least one parameter, not none ({})"),
        ({"total_bits": []}, "space['total_bits'] must hold at least one value, not none ([])"),
        ({"total_bits": 8}, "space['total_bits'] must be a list of values, not 8 (int)"),
        ({"total_bits": "48"}, "space['total_bits'] must be a list of values, not '48' (str)"),
        (
            {"bits": [float("nan")]},
            "space['bits'] may hold JSON values only (None, bool, int, finite float, str, "
            "or lists of them), not nan (float)",
        ),
        ([4, 8], "space must map parameter names to lists of values (a dict), not list"),
    ],
)
def test_a_bad_space_is_refused_naming_the_rule_and_the_value(space, message):
    with pytest.raises(ValueError) as error:
        points(space)
    assert str(error.value) == message


# --- the front ---------------------------------------------------------------------------


def row(accuracy, lut, latency, error=None):
    return {"accuracy": accuracy, "lut": lut, "latency_cycles": latency, "error": error}


def test_the_front_weighs_accuracy_against_luts_or_latency():
    rows = [
        row(0.90, 100, 50),  # cheapest in LUTs at its accuracy
        row(0.90, 100, 50),  # its tie: neither dominates the other
        row(0.95, 300, 80),  # the most accurate
        row(0.85, 200, 10),  # the fastest
        row(0.85, 200, 60),  # dominated on both by the first
        row(0.90, 120, 55),  # as accurate as the first, more LUTs, slower
        row(0.90, 120, 50),  # more LUTs, but as fast as the first: a tie there
        row(0.99, 10, 1, error="train: RuntimeError: boom"),  # failed: never on the front
    ]
    assert pareto_flags(rows) == [True, True, True, True, False, False, True, False]
    assert pareto_flags([]) == []


def test_a_failed_row_dominates_nothing():
    rows = [row(0.5, 10, 10), row(1.0, 1, 1, error="evaluate: ValueError: ...")]
    assert pareto_flags(rows) == [True, False]
