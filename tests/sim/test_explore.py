"""``explore`` with the tools: the GHDL check of every point and Yosys' resources."""

from __future__ import annotations

import pytest

from elasticai.creator.explore import explore
from tests import explore_models

pytestmark = pytest.mark.sim


def test_every_point_is_checked_exact_in_ghdl():
    rows = explore(
        {"total_bits": [4, 8], "target_ii": [None, 1]},
        build=explore_models.build,
        train=explore_models.train,
        evaluate=explore_models.evaluate,
        check_samples=5,
        progress=False,
    )
    assert [r["exact"] for r in rows] == [True] * 4
    assert all(r["error"] is None for r in rows)


def test_synthesis_gives_yosys_resources():
    (row,) = explore(
        {"total_bits": [6]},
        build=explore_models.build,
        evaluate=explore_models.evaluate,
        synthesis=True,
        progress=False,
    )
    assert row["error"] is None and row["resources_from"] == "yosys"
    assert row["lut"] > 0 and row["ff"] > 0
