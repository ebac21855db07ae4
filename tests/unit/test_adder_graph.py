"""The shared, pipelined adder graphs of fully unrolled layers (``ops.adder_graph``):
exact for every input, narrow, shared, and pipelined as the hardware reads them."""

from __future__ import annotations

import numpy as np
import pytest

from elasticai.creator.arithmetic import csd
from elasticai.creator.ops import adder_graph as ag


def exact_on(graph: ag.AdderGraph, w: np.ndarray, c: np.ndarray, x_bits: int, n: int) -> None:
    rng = np.random.default_rng(n)
    lo, hi = -(1 << (x_bits - 1)), (1 << (x_bits - 1)) - 1
    xs = [np.full(w.shape[1], lo), np.full(w.shape[1], hi)]
    xs += [rng.integers(lo, hi + 1, size=w.shape[1]) for _ in range(n)]
    for x in xs:
        expected = [int(v) for v in w.astype(object) @ x.astype(object) + c]
        assert graph.evaluate(x, c) == expected


@pytest.mark.parametrize("shape", [(1, 1), (3, 2), (5, 7), (16, 8), (32, 16)])
@pytest.mark.parametrize("w_bits", [2, 4, 8, 12])
def test_exact_and_nodes_wide_enough(shape: tuple[int, int], w_bits: int) -> None:
    """``evaluate`` wraps every node to its width, so a node too narrow shows as a wrong sum;
    extreme inputs and weights, zero rows, constants of both signs."""
    rng = np.random.default_rng(shape[0] * 100 + w_bits)
    lo, hi = -(1 << (w_bits - 1)), (1 << (w_bits - 1)) - 1
    w = rng.integers(lo, hi + 1, size=shape)
    w.reshape(-1)[: min(w.size, 3)] = [lo, hi, 0][: min(w.size, 3)]
    if shape[0] > 2:
        w[1, :] = 0  # an output without terms
        w[2, :] = 0
        w[2, 0] = -4  # an output of one shifted, negative term
    c = rng.integers(-1000, 1000, size=shape[0]).astype(object) * 4
    graph = ag.build(w, 8, c)
    exact_on(graph, w, c, 8, 20)
    assert not graph.neg[graph.roots].any()  # the output logic has no negation


def test_sharing_halves_the_adders_of_a_dense_layer() -> None:
    rng = np.random.default_rng(3)
    w = rng.integers(-128, 128, size=(32, 32))
    plain = ag.build(w, 8, max_shared_level=0)
    shared = ag.build(w, 8)
    assert shared.adders < 0.6 * plain.adders
    assert shared.adder_bits < 0.7 * plain.adder_bits
    assert shared.depth <= plain.depth + 1
    exact_on(shared, w, np.zeros(32, dtype=object), 8, 10)


def test_repeated_pairs_become_one_node() -> None:
    """Every output holds x0 + 2 x1 (at several shifts and signs): one shared adder."""
    w = np.array([[1, 2, 0], [-2, -4, 1], [4, 8, 3], [1, 2, 0]])
    graph = ag.build(w, 6)
    plain = ag.build(w, 6, max_shared_level=0)
    assert graph.adders < plain.adders
    exact_on(graph, w, np.zeros(4, dtype=object), 6, 10)


@pytest.mark.parametrize("stages", [1, 2, 3, 5, 9])
def test_pipelined_reads_match_the_stages(stages: int) -> None:
    """Every adder reads its operands no more registers back than they are kept; every
    stage holds at most ceil((D + 2) / stages) levels of logic."""
    rng = np.random.default_rng(stages)
    w = rng.integers(-128, 128, size=(6, 20))
    graph = ag.build(w, 8, np.arange(6, dtype=object) * 16).pipelined(stages)
    assert graph.stage is not None and graph.delay is not None
    add = np.flatnonzero(graph.kind == ag.ADD)
    for n in add:
        for op in (graph.a[n], graph.b[n]):
            back = graph.stage[n] - graph.stage[op]
            assert 0 <= back <= graph.delay[op]
    compare = stages - 1 - int(graph.split)
    assert np.all(graph.stage[graph.roots] <= compare)
    assert np.all(compare - graph.stage[graph.roots] <= graph.delay[graph.roots])
    span = -(-(graph.depth + 2) // stages)
    for s in range(stages):
        levels = graph.level[add][graph.stage[add] == s]
        if levels.size:
            assert levels.max() - levels.min() + 1 <= span
    program = graph.program()
    assert len(program) == len(ag.FIELDS) * len(graph.kind)


def test_stages_for_levels() -> None:
    rng = np.random.default_rng(1)
    graph = ag.build(rng.integers(-128, 128, size=(8, 64)), 8)
    assert graph.stages_for(1) == graph.depth + 2
    assert graph.stages_for(graph.depth + 2) == 1
    one = graph.pipelined(graph.stages_for(1))
    assert one.split  # one level a stage: the output's comparisons and selection apart
    assert not graph.pipelined(1).split


def test_registers_sit_where_fewest_bits_cross() -> None:
    rng = np.random.default_rng(2)
    graph = ag.build(rng.integers(-128, 128, size=(16, 32)), 8)
    crossing = graph.crossing_bits()
    two = graph.pipelined(2)
    span = -(-(graph.depth + 2) // 2)
    allowed = crossing[max(0, len(crossing) - span) : span + 1]
    assert two.register_bits <= allowed.min()  # the cheapest allowed position
    assert crossing[0] == 32 * 8  # a register after the input holds the inputs


def test_csd() -> None:
    for w in range(-300, 300):
        digits = csd(w)
        assert sum(g << s for s, g in digits) == w
        shifts = [s for s, _ in digits]
        assert all(b - a >= 2 for a, b in zip(shifts, shifts[1:], strict=False))


def test_bad_stages() -> None:
    with pytest.raises(ValueError, match="at least 1 stage, not 0"):
        ag.build(np.ones((2, 2), dtype=np.int64), 4).pipelined(0)


def test_layers_beyond_the_pair_budget_are_summed_without_sharing(monkeypatch):
    rng = np.random.default_rng(4)
    w = rng.integers(-128, 128, size=(8, 24))
    monkeypatch.setattr(ag, "PAIR_BUDGET", 10)
    plain = ag.build(w, 8)
    assert plain.adders == ag.build(w, 8, max_shared_level=0).adders
    exact_on(plain, w, np.zeros(8, dtype=object), 8, 5)
    monkeypatch.undo()
    assert ag.build(w, 8).adders < plain.adders
