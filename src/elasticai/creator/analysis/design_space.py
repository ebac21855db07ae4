"""The parallelism knob's design space: initiation interval against cost, analytically.

A settled graph keeps everything the planner needs except the freedom it used: its
weights, formats and shapes stay, the lanes it chose are written into the ops. So
``unsettled`` takes the chosen lanes out again (and the skip-path FIFOs sized for them),
and ``design_space`` plans that graph once per target interval, from the fastest design
(``parallelism="full"``) to the smallest (serial), as ``create_design(...,
target_ii=N)`` would: ``passes.choose_parallelism``, ``passes.insert_buffers``, then
``timing`` and ``estimate`` (milliseconds a point; no torch, no synthesis). Lanes fixed
per layer in the model (``Linear(parallelism=...)``) are planned freely here too.

The points come out in increasing interval, none with more multipliers than the one
before (a larger target only relaxes the planner's constraint; a point that would break
this, where the planner's cycle count and the timing model's differ, is left out).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

import numpy as np

from elasticai.creator.analysis.estimate import estimate
from elasticai.creator.analysis.timing import predict_timing
from elasticai.creator.ir.graph import Graph, ParallelismTarget
from elasticai.creator.passes import choose_parallelism, insert_buffers, verify_settled

__all__ = ["Point", "unsettled", "plan", "design_space"]

#: Op fields that ``passes.choose_parallelism`` settles (0: not settled).
_PLANNED = ("lanes", "p_in", "p_out", "stages")


@dataclass(frozen=True)
class Point:
    """One design of the knob: what it was planned for and what it costs (estimate)."""

    target: str  # "full", "serial" or the target interval, e.g. "64"
    initiation_interval: int
    latency_cycles: int
    multipliers: int
    resources: dict[str, int]  # lut, ff, dsp, bram, carry, fifo_bits (analytic)


def unsettled(graph: Graph) -> Graph:
    """``graph`` as before ``choose_parallelism``: no lanes chosen, no skip-path FIFOs."""
    rename: dict[str, str] = {}
    nodes = []
    for node in graph.nodes:
        inputs = tuple(rename.get(v, v) for v in node.inputs)
        if node.op.name == "buffer":  # the identity, sized for the old lanes
            rename[node.name] = inputs[0]
            continue
        declared = getattr(node.op, "__dataclass_fields__", {})
        planned = {name: 0 for name in _PLANNED if name in declared}
        nodes.append(replace(node.with_op(**planned), inputs=inputs))
    outputs = tuple(replace(o, value=rename.get(o.value, o.value)) for o in graph.outputs)
    free = tuple(replace(i, lanes=0) for i in graph.inputs)
    return replace(graph, inputs=free, nodes=tuple(nodes), outputs=outputs)


def plan(graph: Graph, target: ParallelismTarget) -> Graph:
    """An unsettled graph planned for ``target``, as translation plans it."""
    planned = replace(graph, parallelism=target)
    return verify_settled(insert_buffers(choose_parallelism(planned)))


def _multipliers(graph: Graph) -> int:
    total = 0
    for node in graph.nodes:
        lanes_in = [max(1, graph.lanes(v)) for v in node.inputs]
        cost = node.op.lane_cost(node, lanes_in, node.op.lanes)
        total += cost[0] if cost is not None else 0
    return total


def _point(graph: Graph, target: str) -> Point:
    timing = predict_timing(graph)
    total, _ = estimate(graph)
    return Point(
        target, timing.initiation_interval, timing.latency_cycles, _multipliers(graph), total
    )


def design_space(graph: Graph, steps: int = 12, include: Iterable[int] = ()) -> list[Point]:
    """The designs of the knob for ``graph`` (settled or not): the fastest, the serial
    one, ``steps`` target intervals spaced evenly on a log scale between them, and the
    targets ``include``; one point per interval reached, in increasing interval."""
    base = unsettled(graph)
    fastest = _point(plan(base, ParallelismTarget(full=True)), "full")
    serial = _point(plan(base, ParallelismTarget()), "serial")
    low, high = fastest.initiation_interval, serial.initiation_interval
    grid = np.geomspace(low, max(low, high), max(2, steps))
    targets = sorted({*(int(round(t)) for t in grid), *include} - {low})
    found = {low: fastest}
    for target in targets:
        if not low < target < high:
            continue
        try:
            point = _point(plan(base, ParallelismTarget(ii=target)), str(target))
        except ValueError:  # a graph too entangled for the planner at this target
            continue
        if point.initiation_interval not in found:
            found[point.initiation_interval] = point
    if high not in found or found[high].multipliers > serial.multipliers:
        found[high] = serial
    points: list[Point] = []
    for ii in sorted(found):  # a slower design is only worth listing if it is smaller
        if not points or found[ii].multipliers <= points[-1].multipliers:
            points.append(found[ii])
    return points
