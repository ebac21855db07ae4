"""Cycle counts predicted from the graph alone (the simulator measures the same numbers).

The model follows one sample through the pipeline with no stalls, beat by beat:

- element-wise stage (``ec_pointwise``): each beat leaves one cycle after it arrived,
  two where the scale ``mul`` needs an adder (it is not 0 or +-2**k: the shift-add tree
  gets a register of its own, see :func:`pointwise_stages`);
- folded Linear (``ec_linear``): one step per non-zero block of weights, each issued
  no earlier than one cycle after its input beat arrived (early start), back to back
  otherwise; each output beat leaves ``FOLDED_PIPELINE`` cycles after its block's last
  multiply-accumulate was issued;
- unrolled Linear (``ec_linear_unrolled``): each beat leaves ``stages`` cycles later;
- a Linear over the positions of a map (``ROWS`` > 1) does the above row after row;
- window (``ec_window``): a beat leaves ``WINDOW_PIPELINE`` cycles after the input beat
  holding the last element it needs (the last beat after the whole sample), one per cycle;
- reducer (``ec_reduce``): the beats of a window's last tap leave one cycle later;
- piecewise function (``ec_piecewise``): every beat leaves ``PIECEWISE_PIPELINE`` later.

The initiation interval is the slowest stage's cycles per sample. For graphs with maps,
the model leaves out the backpressure a busy layer puts on the one before it, so the
latency is a lower bound there (``Timing.exact`` is false); the interval is exact.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from elasticai.creator.ir.graph import (
    Graph,
    LinearParams,
    Node,
    PiecewiseParams,
    PointwiseParams,
    ReduceParams,
    WindowParams,
)

__all__ = ["Timing", "predict_timing", "node_cycles", "pointwise_stages"]

#: Cycles from issuing a folded Linear's last step of an output block to its output
#: handshake: operand read, product register, accumulator, shift-and-round register,
#: output register (overflow and clamp).
FOLDED_PIPELINE = 5
#: ``ec_window``: input handshake of the last needed beat to the output handshake.
WINDOW_PIPELINE = 3
#: ``ec_piecewise``: compare, multiply-add, round (one register each).
PIECEWISE_PIPELINE = 3


@dataclass(frozen=True)
class Timing:
    latency_cycles: int
    initiation_interval: int
    per_node: dict[str, tuple[int, int]]  # name -> (own latency, cycles per sample)
    exact: bool = True  # False: the latency is a lower bound (maps, see the module)


def _beats(n: int, lanes: int) -> int:
    return math.ceil(n / lanes)


def node_cycles(node: Node, in_lanes: int = 1) -> int:
    """Cycles per sample a node needs (its contribution to the initiation interval)."""
    p = node.params
    if isinstance(p, LinearParams):
        out_features, in_features = p.weight.shape
        rows = node.input_type.size // in_features
        if p.stages:
            return rows
        return rows * p.steps(p.p_in, p.p_out)
    if isinstance(p, WindowParams):
        return max(_beats(node.input_type.size, in_lanes), p.positions * _beats(p.window, p.lanes))
    if isinstance(p, ReduceParams):
        return _beats(node.input_type.size, p.lanes)
    return _beats(node.output_type.size, p.lanes)


def pointwise_stages(p: PointwiseParams) -> int:
    """Latency of ``ec_pointwise``: 1, or 2 where ``mul`` has two or more canonical signed
    digits (not 0 or +-2**k), so that the shift-add tree has a register of its own."""
    m = abs(p.mul)
    return 1 if m & (m - 1) == 0 else 2


def _window_needs(p: WindowParams, in_lanes: int) -> list[int]:
    """For each output beat of a sample, the input beat holding the last element it needs."""
    index = p.indices()
    needs = []
    for row in index:
        for start in range(0, p.window, p.lanes):
            used = row[start : start + p.lanes]
            needs.append(max(0, int(used.max())) // in_lanes)
    needs[-1] = _beats(p.in_size[0] * p.in_size[1] * p.channels, in_lanes) - 1
    return needs


def _folded_linear(p: LinearParams, rows: int, arrivals: list[int]) -> list[int]:
    """One step per cycle over the visited blocks, each no earlier than the cycle after its
    input beat arrived (the vector's last step: after the whole vector, as it frees the
    input bank); an output beat leaves ``FOLDED_PIPELINE`` after its block's last step."""
    n_in = _beats(p.weight.shape[1], p.p_in)
    used = p.blocks(p.p_in, p.p_out)
    issue, out = -1, []
    last_step = (len(used) - 1, int(used[-1].nonzero()[0][-1]))
    for r in range(rows):
        vector_done = arrivals[(r + 1) * n_in - 1]
        for ob, row in enumerate(used):
            for ib in row.nonzero()[0]:
                issue = max(arrivals[r * n_in + int(ib)] + 1, issue + 1)
                if (ob, int(ib)) == last_step:  # releases the input bank: the whole vector
                    issue = max(issue, vector_done + 1)
            out.append(issue + FOLDED_PIPELINE)
    return out


def _pass_through(node: Node, arrivals: list[int], in_lanes: int) -> list[int]:
    p = node.params
    if isinstance(p, PointwiseParams):
        stages = pointwise_stages(p)
        return [a + stages for a in arrivals]
    if isinstance(p, PiecewiseParams):
        return [a + PIECEWISE_PIPELINE for a in arrivals]
    if isinstance(p, ReduceParams):
        per_tap = p.channels // p.lanes
        window = per_tap * p.taps
        return [a + 1 for k, a in enumerate(arrivals) if k % window >= window - per_tap]
    if isinstance(p, WindowParams):
        out: list[int] = []
        for need in _window_needs(p, in_lanes):
            out.append(max(arrivals[need] + WINDOW_PIPELINE, out[-1] + 1 if out else 0))
        return out
    assert isinstance(p, LinearParams)
    if p.stages:
        return [a + p.stages for a in arrivals]
    return _folded_linear(p, node.input_type.size // p.weight.shape[1], arrivals)


def predict_timing(graph: Graph) -> Timing:
    """Latency of one sample (first input beat to last output beat) and initiation interval."""
    lanes = max(1, graph.input_lanes)
    arrivals = list(range(_beats(graph.input_type.size, lanes)))
    per_node: dict[str, tuple[int, int]] = {}
    interval = 1
    for node in graph.nodes:
        first_in = arrivals[0]
        arrivals = _pass_through(node, arrivals, lanes)
        cycles = node_cycles(node, lanes)
        per_node[node.name] = (arrivals[-1] - first_in, cycles)
        interval = max(interval, cycles)
        p = node.params
        lanes = p.p_out if isinstance(p, LinearParams) else p.lanes
    exact = all(len(n.output_type.shape) == 1 for n in graph.nodes)
    return Timing(arrivals[-1] if graph.nodes else 0, interval, per_node, exact)
