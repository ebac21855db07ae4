"""``slice``: its semantics, checks, lanes, timing, lowering and ``design.json`` round trip."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from elasticai.creator.arithmetic import FixedType
from elasticai.creator.design import Design
from elasticai.creator.ir import interpret
from elasticai.creator.ir.graph import Graph, Node
from elasticai.creator.ir.op import NEVER, latest_in_order
from elasticai.creator.ir.serialize import graph_from_json, graph_to_json
from elasticai.creator.ir.types import TensorType
from elasticai.creator.ops import OPS, SliceOp
from elasticai.creator.ops.slice import SLICE_PIPELINE
from elasticai.creator.passes import run_pipeline
from elasticai.creator.vhdl.lower import LIBRARY_FILES
from elasticai.creator.vhdl.streams import Stream
from elasticai.creator.vhdl.syntax import Writer

T = FixedType(8, 4)


def node(
    start: int,
    stop: int,
    shape: tuple[int, ...] = (4, 3),
    out: TensorType | None = None,
    lanes: int = 0,
) -> Node:
    """A slice of a ``shape`` input; by default its output is ``stop - start`` elements."""
    out = out or TensorType((stop - start,), T)
    return Node("s", SliceOp(start, stop, lanes), ("x",), (TensorType(shape, T),), out)


def test_it_is_registered_with_its_entity():
    assert OPS["slice"] is SliceOp
    assert "ec_slice.vhd" in LIBRARY_FILES
    assert SliceOp(0, 1).kind == "slice"


# ---------------------------------------------------------------- semantics


def test_interpret_keeps_start_to_stop_of_every_sample():
    x = np.arange(24).reshape(2, 12)
    y = node(9, 12).op.interpret(node(9, 12), [x])
    assert y.tolist() == [[9, 10, 11], [21, 22, 23]]


@pytest.mark.parametrize(("start", "stop"), [(0, 12), (0, 1), (11, 12), (4, 7)])
def test_interpret_is_numpy_slicing(start, stop):
    x = np.random.default_rng(start).integers(-128, 128, (5, 12))
    n = node(start, stop)
    assert np.array_equal(n.op.interpret(n, [x]), x[:, start:stop])


# ---------------------------------------------------------------- checks


def test_a_valid_slice_passes_its_check():
    node(0, 12).op.check(node(0, 12), settled=False)
    node(11, 12, lanes=1).op.check(node(11, 12, lanes=1), settled=True)


@pytest.mark.parametrize(
    ("start", "stop"),
    [(-1, 2), (3, 3), (5, 2), (0, 13), (12, 13)],
)
def test_check_refuses_bounds_outside_the_sample(start, stop):
    n = node(start, stop, out=TensorType((1,), T))
    with pytest.raises(ValueError) as error:
        n.op.check(n, settled=False)
    assert str(error.value) == (
        f"s: a slice of 12 elements needs 0 <= start < stop <= 12, not start = {start}, "
        f"stop = {stop}"
    )


def test_check_refuses_an_output_of_another_size():
    n = node(9, 12, out=TensorType((2, 2), T))
    with pytest.raises(ValueError, match=r"^s: elements 9 \.\. 11 are 3, not the output's 4 "):
        n.op.check(n, settled=False)


def test_check_refuses_another_format():
    n = node(9, 12, out=TensorType((3,), FixedType(8, 3)))
    with pytest.raises(ValueError, match=r"^s: a slice keeps its format, Q8\.4, not Q8\.3$"):
        n.op.check(n, settled=False)


def test_check_names_the_model_layer():
    n = Node("s", SliceOp(2, 1), ("x",), (TensorType((4,), T),), TensorType((1,), T), "m[3]")
    with pytest.raises(ValueError, match=r"^m\[3\]: a slice of 4 elements"):
        n.op.check(n, settled=False)


def test_settled_check_wants_lanes():
    with pytest.raises(ValueError, match="^s: lanes must be at least 1, not 0$"):
        node(0, 3).op.check(node(0, 3), settled=True)


# ---------------------------------------------------------------- lanes


def test_one_element_a_beat_on_both_sides():
    n = node(9, 12)
    graph = Graph.chain("g", n.input_type, [n])
    assert n.op.lane_domain(n, 0, graph) == [1]
    assert n.op.lane_domain(n, -1, graph) == [1]
    assert n.op.lane_cost(n, [1], 1) == (0, 12)
    assert n.op.lane_cost(n, [2], 1) is None
    assert n.op.lane_cost(n, [1], 3) is None
    assert n.op.settle(n, [1], 1) == SliceOp(9, 12, 1)


# ---------------------------------------------------------------- timing


def test_timing_passes_kept_beats_in_the_cycle_they_arrive():
    n = node(1, 3, shape=(4,), lanes=1)
    arrivals = np.array([0, 1, 2, 3, 10, 12, 15, 16])  # two samples
    flow = n.op.timing(n, [arrivals], [1])
    assert SLICE_PIPELINE == 0
    assert flow.out.tolist() == [1, 2, 12, 15]
    assert flow.taken is None  # every beat, dropped or kept, is taken as it arrives


def test_latest_dates_kept_beats_by_their_output_and_the_others_by_order():
    n = node(1, 3, shape=(4,), lanes=1)
    latest = n.op.latest(n, np.array([5, 9, 20, 30]), [1])
    assert len(latest) == 1
    assert latest[0].tolist() == [4, 5, 9, 18, 19, 20, 30, NEVER]
    assert (
        latest[0].tolist()
        == latest_in_order(np.array([NEVER, 5, 9, NEVER, NEVER, 20, 30, NEVER])).tolist()
    )


@settings(max_examples=100, deadline=None)
@given(
    st.integers(1, 9).flatmap(
        lambda n: st.tuples(
            st.just(n),
            st.integers(0, n - 1).flatmap(lambda a: st.tuples(st.just(a), st.integers(a + 1, n))),
            st.integers(1, 4),
            st.integers(0, 10**6),
        )
    )
)
def test_beats_arriving_at_their_latest_leave_by_their_due_time(case):
    """``latest`` and ``timing`` agree: in time where every beat comes at its latest, and
    each kept beat is not allowed a cycle more."""
    n, (start, stop), samples, seed = case
    s = node(start, stop, shape=(n,), lanes=1)
    due = np.cumsum(np.random.default_rng(seed).integers(1, 5, samples * (stop - start))) + 50
    (latest,) = s.op.latest(s, due, [1])
    assert len(latest) == samples * n
    assert np.all(np.diff(latest) >= 1)  # in order, one a cycle
    out = s.op.timing(s, [latest], [1]).out
    assert np.all(out <= due)
    assert np.array_equal(latest[s.op.kept(s, samples * n)], out - SLICE_PIPELINE)


# ---------------------------------------------------------------- cost and lowering


def test_estimate_is_a_small_counter():
    cost = node(0, 3, shape=(1000,), lanes=1).op.estimate(node(0, 3, shape=(1000,)), [1])
    assert cost == {"lut": 22, "ff": 10, "dsp": 0, "bram": 0, "carry": 3}


LOWERED = """s : entity work.ec_slice
  generic map (
    N => 12,
    START => 9,
    STOP => 12,
    WIDTH => 8
  )
  port map (
    clk => clk,
    rst => rst,
    s_axis_tdata => x_in_tdata,
    s_axis_tvalid => x_in_tvalid,
    s_axis_tready => x_in_tready,
    s_axis_tlast => x_in_tlast,
    m_axis_tdata => y_out_tdata,
    m_axis_tvalid => y_out_tvalid,
    m_axis_tready => y_out_tready,
    m_axis_tlast => y_out_tlast
  );
"""


def test_lower_instantiates_ec_slice():
    graph = run_pipeline(Graph.chain("g", TensorType((4, 3), T), [node(9, 12)]))
    (s,) = graph.nodes
    assert s.op == SliceOp(9, 12, 1)
    constants, instances = s.op.lower(s, [Stream.named("x_in", 1, 8)], Stream.named("y_out", 1, 8))
    assert constants == []
    w = Writer()
    for inst in instances:
        inst.emit(w)
    assert w.text() == LOWERED
    files = Design(graph).files
    assert "ec_slice.vhd" in files
    assert textwrap.indent(LOWERED, "  ") in files["g.vhd"]


def test_a_graph_with_a_slice_interprets_as_numpy():
    graph = run_pipeline(Graph.chain("g", TensorType((4, 3), T), [node(9, 12)]))
    x = np.random.default_rng(0).integers(-128, 128, (6, 12))
    assert np.array_equal(interpret.run(graph, x), x[:, 9:12])


# ---------------------------------------------------------------- design.json


def test_json_round_trip():
    op = SliceOp(9, 12, 1)
    assert op.to_json() == {"start": 9, "stop": 12, "lanes": 1}
    assert SliceOp.from_json(op.to_json(), "nodes[0].params", {}) == op


def test_graph_round_trip():
    graph = run_pipeline(Graph.chain("g", TensorType((4, 3), T), [node(9, 12)]))
    assert graph_from_json(graph_to_json(graph)) == graph


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"start": -1, "stop": 2, "lanes": 1}, "p.start must be at least 0, not -1"),
        ({"start": 0, "stop": 0, "lanes": 1}, "p.stop must be at least 1, not 0"),
        ({"start": 0, "stop": "2", "lanes": 1}, "p.stop must be an int, not '2'"),
        ({"start": 0, "lanes": 1}, "p lacks the key 'stop'"),
        (
            {"start": 0, "stop": 2, "lanes": 1, "step": 2},
            "p has an unknown key 'step' (known: start, stop, lanes)",
        ),
    ],
)
def test_from_json_names_the_broken_field(params, message):
    with pytest.raises(ValueError) as error:
        SliceOp.from_json(params, "p", {})
    assert str(error.value) == message
