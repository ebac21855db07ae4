"""The timing model's folded Linear: its closed forms against the step-by-step rules."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from elasticai.creator.arithmetic import FixedType
from elasticai.creator.ir.graph import Node
from elasticai.creator.ir.op import NEVER, latest_in_order, one_per_cycle
from elasticai.creator.ir.types import TensorType, frozen_array
from elasticai.creator.ops import LinearOp
from elasticai.creator.ops.linear import folded_pipeline


def steps_of(op: LinearOp) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ob, ib = np.nonzero(op.blocks(op.p_in, op.p_out))
    return ob, ib, np.flatnonzero(np.append(ob[1:] != ob[:-1], True))


def issue_step_by_step(op: LinearOp, times: np.ndarray) -> np.ndarray:
    """``ec_linear``'s rule, one step at a time: a step issues the cycle after its beat
    came and after the step before; a row's last step after the whole row."""
    ob, ib, last = steps_of(op)
    n_in = -(-op.weight.shape[1] // op.p_in)
    rows = len(times) // n_in
    ready = times.reshape(rows, n_in)[:, ib].copy()
    ready[:, -1] = np.maximum(ready[:, -1], times.reshape(rows, n_in)[:, -1])
    issue = one_per_cycle((ready + 1).ravel()).reshape(rows, -1)
    return (issue[:, last] + folded_pipeline(op.p_in)).ravel()


def latest_step_by_step(op: LinearOp, due: np.ndarray) -> np.ndarray:
    ob, ib, last = steps_of(op)
    n_in = -(-op.weight.shape[1] // op.p_in)
    rows = len(due) // len(last)
    issue = np.full((rows, len(ob)), NEVER, dtype=np.int64)
    issue[:, last] = due.reshape(rows, len(last)) - folded_pipeline(op.p_in)
    issue = latest_in_order(issue.ravel()).reshape(rows, len(ob))
    latest = np.full((rows, n_in), NEVER, dtype=np.int64)
    read, first = np.unique(ib, return_index=True)
    latest[:, read] = issue[:, first] - 1
    latest[:, -1] = np.minimum(latest[:, -1], issue[:, -1] - 1)
    return latest_in_order(latest.ravel())


@st.composite
def layers(draw):
    n_out, n_in = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    density = draw(st.sampled_from([1.0, 0.5, 0.2]))
    rng = np.random.default_rng(draw(st.integers(0, 10**6)))
    weight = rng.integers(-3, 4, (n_out, n_in)) * (rng.random((n_out, n_in)) < density)
    t = FixedType(8, 4)
    op = LinearOp(
        frozen_array(weight),
        None,
        t,
        None,
        p_in=draw(st.integers(1, n_in)),
        p_out=draw(st.integers(1, n_out)),
    )
    rows = draw(st.integers(1, 5))
    node = Node("l", op, ("x",), (TensorType((rows, n_in), t),), TensorType((rows, n_out), t))
    return node, rows, rng


@settings(max_examples=200, deadline=None)
@given(layers())
def test_closed_form_timing_is_the_step_by_step_rule(case):
    node, rows, rng = case
    op = node.op
    beats_in = rows * -(-op.weight.shape[1] // op.p_in)
    times = np.cumsum(rng.integers(1, 12, beats_in))
    assert np.array_equal(op.timing(node, [times], [op.p_in]).out, issue_step_by_step(op, times))


@settings(max_examples=200, deadline=None)
@given(layers())
def test_closed_form_latest_times_are_the_step_by_step_rule(case):
    node, rows, rng = case
    op = node.op
    beats_out = rows * -(-op.weight.shape[0] // op.p_out)
    due = 1000 + np.cumsum(rng.integers(1, 40, beats_out))
    (latest,) = op.latest(node, due, [op.p_in])
    assert np.array_equal(latest, latest_step_by_step(op, due))
