"""Give every join input that arrives before its partner a FIFO deep enough to wait.

A join (``add``, ``concat``) takes matching beats of its inputs together. Where one
input (say a skip path) delivers its beats earlier than the other, they must wait
somewhere: without a buffer the producer holds them in its output register and stops,
which stops the fork feeding both branches, which starves the other branch -- the
pipeline slows down or deadlocks. So each join input gets a ``buffer`` (``ec_fifo``)
whose depth the timing model computes: following samples entering every initiation
interval ``II`` (enough of them that each op meets the next sample as in the steady
state), beat ``k`` (over all samples, in order) is produced at ``P[k]`` and taken by the
join at ``C[k]``; a FIFO of depth ``D`` takes beat ``k`` only while it
holds fewer than ``D`` beats, ``k - #{j : C[j] < P[k]}`` of them, so

    ``D = max over k of (k + 1 - #{j : C[j] < P[k]})``

keeps every beat flowing as the model has it (no stall, no deadlock, the interval of
the slowest op). Where ``D <= 1`` the producer's own output register suffices.

The model lets every op take its input beats as soon as they come; an op whose buffers
are full holds its producer back instead. So where a branch is slow (the serial end:
the input of a residual block would arrive long before the block's convolutions are
ready for it), the branch holds back the fork, and a FIFO never holds more than the
other branch can: what its ops store between the value both branches read and the join
(``OpDef.storage``, counted in beats of that value), plus the join's register. The depth
is the smaller of the two.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from elasticai.creator.analysis.timing import Timing, latest_times, predict_timing
from elasticai.creator.ir.graph import Graph, Node
from elasticai.creator.ir.op import beats
from elasticai.creator.ops import BufferOp

__all__ = ["insert_buffers", "buffer_depth"]

#: Rounds of re-timing after inserting buffers (their latency moves later beats).
_ROUNDS = 6


def buffer_depth(produced: np.ndarray, taken: np.ndarray) -> int:
    """Beats a FIFO must hold so that beats produced at ``produced`` and taken at ``taken``
    (in order, over several samples) never wait to enter it.

    >>> buffer_depth(np.array([0, 1, 2, 3]), np.array([10, 11, 12, 13]))  # all four wait
    4
    >>> buffer_depth(np.array([0, 1, 2, 3]), np.array([0, 1, 2, 3]))  # taken as they come
    1
    >>> buffer_depth(np.array([0, 1, 2, 3]), np.array([1, 2, 3, 4]))  # beat 1 waits
    2
    """
    waiting = np.arange(1, len(produced) + 1) - np.searchsorted(taken, produced, side="left")
    return int(waiting.max()) if len(produced) else 0


def _schedule(graph: Graph) -> Timing:
    """Enough samples, one interval apart, that each op meets the next sample as it does in
    the steady state; the input arriving as late as it may without delaying any output
    (a slow branch holds the fork back)."""
    one = predict_timing(graph)
    period = one.initiation_interval
    samples = 3 + -(-one.latency_cycles // period)
    early = predict_timing(graph, samples=samples, period=period)
    latest = latest_times(graph, early)
    inputs = {i.name: latest[i.name] for i in graph.inputs if i.name in latest}
    return predict_timing(graph, samples=samples, period=period, inputs=inputs)


def _ancestors(graph: Graph) -> dict[str, set[str]]:
    """Every value with the values it is computed from (itself included)."""
    found: dict[str, set[str]] = {i.name: {i.name} for i in graph.inputs}
    for node in graph.nodes:
        found[node.name] = {node.name}.union(*(found[v] for v in node.inputs))
    return found


def storage_bound(graph: Graph, join: Node, k: int) -> int | None:
    """The most beats a FIFO before input ``k`` of ``join`` can hold: the other input's
    branch holds back the value both branches read, so the FIFO holds at most what that
    branch stores (``OpDef.storage``) since they parted, in beats of input ``k``; ``None``
    where the branches part at more than one value."""
    ancestors = _ancestors(graph)
    value = join.inputs[k]
    other = set().union(*(ancestors[u] for i, u in enumerate(join.inputs) if i != k))
    common = ancestors[value] & other
    latest = [f for f in common if not any(f in ancestors[g] and f != g for g in common)]
    if len(latest) != 1:
        return None
    (fork,) = latest
    types = graph.value_types()
    per_sample = {v: beats(types[v].size, max(1, graph.lanes(v))) for v in types}
    held = 0
    for node in graph.nodes:
        if node.name in other and fork in ancestors[node.name] and node.name != fork:
            lanes_in = [max(1, graph.lanes(v)) for v in node.inputs]
            stored = node.op.storage(node, lanes_in) * per_sample[fork]
            held += -(-stored // per_sample[node.inputs[0]]) + 1  # in beats of the fork
    return -(-held * per_sample[value] // per_sample[fork]) + 2


def insert_buffers(graph: Graph) -> Graph:
    """A ``buffer`` before every join input that would otherwise wait (settled lanes)."""
    for _ in range(_ROUNDS):
        timing = _schedule(graph)
        producers = graph.producers()
        nodes: list[Node] = []
        changed = False
        for node in graph.nodes:
            if node.op.arity < 2:
                nodes.append(node)
                continue
            inputs = list(node.inputs)
            for k, value in enumerate(node.inputs):
                taken = timing.taken[(node.name, k)]
                source = producers.get(value)
                bound = storage_bound(graph, node, k)
                if source is not None and isinstance(source.op, BufferOp):
                    depth = buffer_depth(timing.arrivals[source.inputs[0]], taken)
                    depth = depth if bound is None else min(depth, bound)
                    if depth > source.op.depth:
                        index = next(i for i, n in enumerate(nodes) if n.name == source.name)
                        nodes[index] = source.with_op(depth=depth)
                        changed = True
                    continue
                depth = buffer_depth(timing.arrivals[value], taken)
                depth = depth if bound is None else min(depth, bound)
                if depth > 1:
                    fifo = Node(
                        f"{node.name}_fifo{k}",
                        BufferOp(depth, graph.lanes(value)),
                        (value,),
                        (node.input_types[k],),
                        node.input_types[k],
                        f"FIFO before input {k} of {node.where}",
                    )
                    nodes.append(fifo)
                    inputs[k] = fifo.name
                    changed = True
            nodes.append(replace(node, inputs=tuple(inputs)))
        graph = graph.replace_nodes(nodes)
        if not changed:
            return graph
    return graph
