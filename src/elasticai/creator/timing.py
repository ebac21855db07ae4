"""Cycle counts predicted from the graph alone (the simulator measures the same numbers).

The model follows one sample through the pipeline with no stalls, beat by beat:

- element-wise stage (``ec_pointwise``): each beat leaves one cycle after it arrived,
  two where the scale ``mul`` needs an adder (it is not 0 or +-2**k: the shift-add tree
  gets a register of its own, see :func:`pointwise_stages`);
- folded Linear (``ec_linear``): the first pass over the input issues input beat
  ``ib`` one cycle after it arrived (early start), the other output blocks follow
  back to back, and each output beat leaves ``FOLDED_PIPELINE`` cycles after its
  last multiply-accumulate was issued;
- unrolled Linear (``ec_linear_unrolled``): each beat leaves ``stages`` cycles later.

The initiation interval is the slowest stage's cycles per sample.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from elasticai.creator.ir.graph import Graph, LinearParams, Node, PointwiseParams

__all__ = ["Timing", "predict_timing", "node_cycles", "pointwise_stages"]

#: Cycles from issuing a folded Linear's last step of an output block to its output
#: handshake: operand read, product register, accumulator, shift-and-round register,
#: output register (overflow and clamp).
FOLDED_PIPELINE = 5


@dataclass(frozen=True)
class Timing:
    latency_cycles: int
    initiation_interval: int
    per_node: dict[str, tuple[int, int]]  # name -> (own latency, cycles per sample)


def _beats(n: int, lanes: int) -> int:
    return math.ceil(n / lanes)


def node_cycles(node: Node) -> int:
    """Cycles per sample a node needs (its contribution to the initiation interval)."""
    p = node.params
    if isinstance(p, LinearParams) and not p.stages:
        out_features, in_features = p.weight.shape
        return _beats(in_features, p.p_in) * _beats(out_features, p.p_out)
    return 1 if isinstance(p, LinearParams) else _beats(node.output_type.size, p.lanes)


def pointwise_stages(p: PointwiseParams) -> int:
    """Latency of ``ec_pointwise``: 1, or 2 where ``mul`` has two or more canonical signed
    digits (not 0 or +-2**k), so that the shift-add tree has a register of its own."""
    m = abs(p.mul)
    return 1 if m & (m - 1) == 0 else 2


def _pass_through(node: Node, arrivals: list[int]) -> list[int]:
    p = node.params
    if isinstance(p, PointwiseParams):
        stages = pointwise_stages(p)
        return [a + stages for a in arrivals]
    assert isinstance(p, LinearParams)
    if p.stages:
        return [a + p.stages for a in arrivals]
    n_out = _beats(p.weight.shape[0], p.p_out)
    issue = -1
    for arrival in arrivals:  # first pass: follows the arriving input
        issue = max(arrival + 1, issue + 1)
    first_block_done = issue
    steps = len(arrivals)
    return [first_block_done + ob * steps + FOLDED_PIPELINE for ob in range(n_out)]


def predict_timing(graph: Graph) -> Timing:
    """Latency of one sample (first input beat to last output beat) and initiation interval."""
    arrivals = list(range(_beats(graph.input_type.size, max(1, graph.input_lanes))))
    per_node: dict[str, tuple[int, int]] = {}
    interval = 1
    for node in graph.nodes:
        first_in = arrivals[0]
        arrivals = _pass_through(node, arrivals)
        cycles = node_cycles(node)
        per_node[node.name] = (arrivals[-1] - first_in, cycles)
        interval = max(interval, cycles)
    return Timing(arrivals[-1] if graph.nodes else 0, interval, per_node)
