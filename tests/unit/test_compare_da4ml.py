"""``bench/compare_da4ml.py``: the same integer network built in da4ml (a peer tool, not a
dependency: the tests that need it are skipped without it) equals our reference."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from elasticai.creator.arithmetic import FixedType, Rounding, shift_round

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "compare_da4ml.py"


@pytest.fixture(scope="module")
def compare() -> ModuleType:
    spec = importlib.util.spec_from_file_location("compare_da4ml", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks itself up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def da4ml() -> ModuleType:
    return pytest.importorskip("da4ml")


def test_without_da4ml_it_says_how_to_install_it(compare, monkeypatch, capsys) -> None:
    monkeypatch.setattr(compare, "da4ml_available", lambda: False)
    assert compare.main(["--no-synth", "--layers", "6,4,3"]) == 2
    assert "pip install da4ml" in capsys.readouterr().err


@pytest.mark.parametrize("rounding", list(Rounding))
def test_rounding_in_da4ml_is_ours_on_every_value(compare, da4ml, rounding) -> None:
    """Every 12-bit value with 8 fractional bits, rounded to 4, negative ties included."""
    from da4ml.trace import FixedVariableArray, HWConfig, comb_trace

    x = FixedVariableArray.from_kif(
        np.ones(1, dtype=bool), np.full(1, 3), np.full(1, 8), hwconf=HWConfig(1, -1, -1)
    )
    logic = comb_trace(x, compare._round(x, 8, 4, rounding))
    v = np.arange(-(1 << 11), 1 << 11)
    got = logic.predict(v.astype(np.float64) / 256).reshape(-1) * 16
    assert np.array_equal(got, shift_round(v, 4, rounding))


@pytest.mark.parametrize("rounding", list(Rounding))
def test_small_stack_is_exact(compare, da4ml, rounding) -> None:
    model = compare.build_model((6, 4, 3), 8, 4, rounding)
    design = model.create_design("mlp", parallelism="full", pipeline_levels=2)
    assert {n.op.rounding for n in design.graph.nodes} == {rounding}
    logic = compare.da4ml_logic(design.graph, hard_dc=2)
    x = compare.random_inputs(FixedType(8, 4), 6, 500, seed=1)
    theirs = compare.da4ml_outputs(logic, design.graph, x)
    assert compare.first_mismatch(design.interpret(x), theirs) is None
    assert np.ptp(theirs) > 0  # not a constant network


def test_a_different_network_is_caught(compare, da4ml) -> None:
    """The check can fail: da4ml built with ties up where ours rounds ties to even."""
    model = compare.build_model((6, 4, 3), 8, 4, Rounding.HALF_EVEN)
    design = model.create_design("mlp", parallelism="full")
    graph = design.graph
    other = type(graph)(
        name=graph.name,
        inputs=graph.inputs,
        nodes=tuple(n.with_op(rounding=Rounding.HALF_UP) for n in graph.nodes),
        outputs=graph.outputs,
    )
    x = compare.random_inputs(FixedType(8, 4), 6, 500, seed=1)
    theirs = compare.da4ml_outputs(compare.da4ml_logic(other, 2), graph, x)
    assert compare.first_mismatch(design.interpret(x), theirs) is not None


def test_main_checks_and_estimates(compare, da4ml, capsys) -> None:
    assert compare.main(["--no-synth", "--layers", "6,4,3", "--samples", "300"]) == 0
    out = capsys.readouterr().out
    assert "rounding half_up (da4ml: its own RND)" in out
    assert "exact: da4ml's interpreter equals our integer reference on 300 samples" in out
    assert "da4ml" in out.splitlines()[-2]  # the estimate row


def test_da4ml_pipeline_has_the_stages_asked_for(compare, da4ml) -> None:
    model = compare.build_model((6, 4, 3), 8, 4, Rounding.HALF_UP)
    logic = compare.da4ml_logic(model.create_design("mlp", parallelism="full").graph, 2)
    for stages in (1, 2, 3):
        pipe, _ = compare.da4ml_pipeline(logic, stages)
        assert len(pipe.solutions) == stages
