"""Cycle counts predicted from the graph alone (the simulator measures the same numbers).

The model follows samples through the design with no stalls, beat by beat: each op says
when each of its output beats leaves given when its input beats arrived
(``OpDef.timing``, the rules in each op's docstring). A fork passes beats on in the
cycle they arrive; a join (``add``, ``concat``) takes matching beats of its inputs
together, so the input that arrives first waits (``Flow.taken``) -- on a skip path
``passes.insert_buffers`` gives it a FIFO that deep.

One sample alone gives the latency (first input beat to last output beat). The
initiation interval is the slowest op's cycles per sample. Several samples entering one
interval apart (``samples``, ``period``) show how they follow each other: what an op
still does for one sample when the next arrives.

For graphs with maps, the model leaves out the backpressure a busy layer puts on the one
before it, so the latency is a lower bound there (``Timing.exact`` is false).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from elasticai.creator.ir.graph import Graph
from elasticai.creator.ir.op import beats

__all__ = ["Timing", "predict_timing", "latest_times", "busy_spans"]


@dataclass(frozen=True)
class Timing:
    latency_cycles: int
    initiation_interval: int
    per_node: dict[str, tuple[int, int]]  # name -> (own latency, cycles per sample)
    exact: bool = True  # False: the latency is a lower bound (maps, see the module)
    #: value -> the cycle each beat leaves its producer, all samples after each other
    arrivals: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    #: (node, input index) -> the cycle the node takes each beat of that input
    taken: dict[tuple[str, int], np.ndarray] = field(default_factory=dict, repr=False)


def predict_timing(
    graph: Graph,
    *,
    samples: int = 1,
    period: int = 0,
    inputs: dict[str, np.ndarray] | None = None,
) -> Timing:
    """Latency of one sample (first input beat to last output beat) and initiation
    interval; with ``samples > 1`` the beats of that many samples, the first beat of each
    ``period`` cycles after the one before (and after the previous sample's last), or, by
    input name, when ``inputs`` says."""
    arrivals: dict[str, np.ndarray] = {}
    lanes: dict[str, int] = {}
    for i in graph.inputs:
        lanes[i.name] = max(1, i.lanes)
        count = beats(i.type.size, lanes[i.name])
        starts = np.arange(samples) * max(period, count)
        arrivals[i.name] = (starts[:, None] + np.arange(count)[None, :]).ravel()
        if inputs is not None and i.name in inputs:
            arrivals[i.name] = inputs[i.name]
    per_node: dict[str, tuple[int, int]] = {}
    taken: dict[tuple[str, int], np.ndarray] = {}
    interval = 1
    for node in graph.nodes:
        ins = [arrivals[v] for v in node.inputs]
        lanes_in = [lanes[v] for v in node.inputs]
        flow = node.op.timing(node, ins, lanes_in)
        for k, times in enumerate(flow.taken or ins):
            taken[(node.name, k)] = times
        arrivals[node.name], lanes[node.name] = flow.out, node.op.lanes
        cycles = node.op.cycles(node, lanes_in)
        first_out = flow.out[len(flow.out) // samples - 1]
        per_node[node.name] = (int(first_out - min(t[0] for t in ins)), cycles)
        interval = max(interval, cycles)
    exact = all(len(n.output_type.shape) == 1 for n in graph.nodes)
    out = arrivals[graph.output.value]
    latency = int(out[len(out) // samples - 1]) if graph.nodes else 0
    return Timing(latency, interval, per_node, exact, arrivals, taken)


def latest_times(graph: Graph, timing: Timing) -> dict[str, np.ndarray]:
    """For every value, the latest cycle each of its beats may leave its producer so that
    the design's outputs still leave when ``timing`` has them (its samples): the reverse of
    ``predict_timing`` (``OpDef.latest``), a value read by several nodes by the earliest
    of them."""
    lanes = {i.name: max(1, i.lanes) for i in graph.inputs}
    lanes.update((n.name, n.op.lanes) for n in graph.nodes)
    latest: dict[str, np.ndarray] = {o.value: timing.arrivals[o.value] for o in graph.outputs}
    for node in reversed(graph.nodes):
        if node.name not in latest:
            continue  # nothing reads it
        lanes_in = [lanes[v] for v in node.inputs]
        for value, due in zip(
            node.inputs, node.op.latest(node, latest[node.name], lanes_in), strict=True
        ):
            latest[value] = due if value not in latest else np.minimum(latest[value], due)
    return latest


def busy_spans(graph: Graph) -> dict[str, tuple[int, int]]:
    """For every node, when it works on one sample alone, no stalls: the cycle it takes
    its first input beat and the cycle its last output beat is taken (by the last of its
    readers; by the design's output as it leaves), counted from the design's first input
    beat (cycle 0). The end of the node the output reads is the latency."""
    timing = predict_timing(graph)
    readers = graph.consumers()
    spans = {}
    for node in graph.nodes:
        start = min(int(timing.taken[(node.name, k)][0]) for k in range(len(node.inputs)))
        ends = [
            timing.taken[reader][-1] if reader[0] else timing.arrivals[node.name][-1]
            for reader in readers[node.name]
        ]
        spans[node.name] = (start, int(max(ends, default=timing.arrivals[node.name][-1])))
    return spans
