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

Where a branch is slow (the serial end), it holds the fork back: the model input (and
with it the skip path) then arrives only as the slow branch needs it. So the schedule
counted is the one where the input arrives as late as it may without delaying any output
(``analysis.timing.latest_times``, the reverse of the timing model), not all at once.

Under stalls a pipelined op may hold as little as one beat: its stages advance together
(``ce``), so a bubble that enters it stays, and while its output waits the beats behind
it cannot close up. Where the beats of a join input come through a chain of such ops
(``OpDef.lockstep``, e.g. an activation), the beats the stall-free schedule has in flight
inside the chain may not fit there. So the depth also covers the beats that entered the
chain (``E[k]``, the cycle its first op took beat ``k``) and are not taken yet, less one
beat per op of the chain that only the next reads (its output register; an op that others
read too is in the chain all the same, but its register may hold a beat the next took
already, waiting for another reader):

    ``D >= max over k of #{j <= k : C[j] >= E[k], W[j]} - ops in the chain``

A beat that waits in its producer's output register holds up more than the join where
the producer stops as a whole while its output waits (``OpDef.freezes``: a folded
``linear``, whose next steps wait with it), or where others read the value too (the fork
passes them the next beat only once the join took this one, which can make a loop through
the join). The timing model has neither: a join that takes the same value twice after a
folded linear, one input a cycle after the other, ran at two thirds of the predicted rate;
a channel concat of a map and its activation at 3.5 cycles a position, not 3. So where
such a beat waits for the join at all, the input gets a FIFO of at least two beats (one
beat a cycle through it); for a forked value at a join that takes its inputs in turn, one
more than the other inputs' beats in a run, so the fork's other readers go on while the
join takes those (a shorter one let a vector run ahead by part of a sample, and the design
fell behind the prediction). This is checked on a second schedule too, where each input
beat is offered a cycle after the one before it was taken: a fork passes a beat to the
readers that are free while another reader still waits, so a branch may start on the
next sample early.

``W[j]`` says which beats count. A join that takes its inputs in turn (``OpDef.in_turn``:
a sequential ``concat``) takes none of them while it takes the other input, whenever they
come, so all count (the samples after the first may enter earlier than one interval
apart: the layers before the slowest run ahead). A join that takes its inputs together
waits for the beats it takes as they arrive, so only those that wait count
(``C[j] > P[j]``).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from elasticai.creator.analysis.timing import Timing, latest_times, predict_timing
from elasticai.creator.ir.graph import Graph, Node
from elasticai.creator.ops import BufferOp

__all__ = ["insert_buffers", "buffer_depth"]

#: Rounds of re-timing after inserting buffers (their latency moves later beats).
_ROUNDS = 6

#: Who reads each value (``Graph.consumers``), built once a round.
Readers = dict[str, list[tuple[str, int]]]


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


def _ancestors(graph: Graph, values: list[str]) -> set[str]:
    """The nodes that (transitively) make ``values``."""
    producers, seen = graph.producers(), set()
    stack = [producers[v] for v in values if v in producers]
    while stack:
        node = stack.pop()
        if node.name not in seen:
            seen.add(node.name)
            stack += [producers[v] for v in node.inputs if v in producers]
    return seen


def _chain(
    graph: Graph, readers: Readers, join: Node, k: int, timing: Timing
) -> tuple[np.ndarray, int]:
    """The cycles beats of the join's input ``k`` entered the chain of lockstep pipelines
    that makes it (``OpDef.lockstep``, one input each) after it parted from the join's
    other inputs, and how many beats the chain surely holds: one per op only the next
    reads (an op others read too may hold a beat the next took already, waiting for
    another reader)."""
    producers = graph.producers()
    shared = _ancestors(graph, [v for i, v in enumerate(join.inputs) if i != k])
    value = join.inputs[k]
    entered, ops = timing.arrivals[value], 0
    node = producers.get(value)
    while (
        node is not None
        and node.name not in shared
        and node.op.lockstep(node)
        and len(node.inputs) == 1
    ):
        entered = timing.taken[(node.name, 0)]
        ops += len(readers[node.name]) == 1
        node = producers.get(node.inputs[0])
    return entered, ops


def held_in_chain(entered: np.ndarray, taken: np.ndarray, counted: np.ndarray) -> int:
    """The most beats that entered a chain (at ``entered``), are not taken yet (at
    ``taken``) and are ``counted``, when a beat enters.

    >>> never = np.array([False, False, False])
    >>> held_in_chain(np.array([0, 1, 2]), np.array([20, 21, 22]), ~never)
    3
    >>> held_in_chain(np.array([0, 1, 2]), np.array([20, 21, 22]), never)
    0
    """
    waits = np.concatenate([[0], np.cumsum(counted)])
    first = np.searchsorted(taken, entered, side="left")  # the first beat not taken yet
    held = waits[np.arange(1, len(entered) + 1)] - waits[np.minimum(first, len(entered))]
    return int(held.max()) if len(entered) else 0


def _depth(graph: Graph, readers: Readers, join: Node, k: int, timing: Timing) -> int:
    """The FIFO depth the join's input ``k`` needs, with and without stalls (through the
    FIFO already before it, if any)."""
    value = join.inputs[k]
    source = graph.producers().get(value)
    if source is not None and isinstance(source.op, BufferOp):
        value = source.inputs[0]
        join = replace(join, inputs=(*join.inputs[:k], value, *join.inputs[k + 1 :]))
    produced, taken = timing.arrivals[value], timing.taken[(join.name, k)]
    depth = buffer_depth(produced, taken)
    entered, ops = _chain(graph, readers, join, k, timing)
    if entered is produced:
        return depth
    lanes_in = [graph.lanes(v) for v in join.inputs]
    counted = np.full(len(taken), True) if join.op.in_turn(join, lanes_in) else taken > produced
    return max(depth, held_in_chain(entered, taken, counted) - ops)


def _waits(graph: Graph, join: Node, k: int, timing: Timing, forked: bool) -> bool:
    """Whether a beat of the join's input ``k`` waits for the join while it holds up more
    than the join: its producer stops as a whole (``OpDef.freezes``), or others read the
    value too (``forked``: the fork passes them the next beat only once the join took this
    one). ``timing`` has neither, so a FIFO must take the beat."""
    value = join.inputs[k]
    producer = graph.producers().get(value)
    if producer is not None and isinstance(producer.op, BufferOp):
        return False  # the FIFO takes the beats already
    if not forked and (producer is None or not producer.op.freezes(producer)):
        return False
    return bool(np.any(timing.taken[(join.name, k)] > timing.arrivals[value]))


def _least_depth(graph: Graph, join: Node, k: int, forked: bool) -> int:
    """The depth of a FIFO that takes the beats of the join's input ``k`` that would wait
    holding up more than the join (``_waits``): two (a beat a cycle through it), and where
    others read the value (``forked``) and the join takes its inputs in turn, one more than
    the other inputs' beats in a run (the fork's other readers go on while the join takes
    those)."""
    lanes_in = [graph.lanes(v) for v in join.inputs]
    if not forked or not join.op.in_turn(join, lanes_in):
        return 2
    runs = join.op.turn_beats(join, lanes_in)
    return max(2, 1 + max(n for i, n in enumerate(runs) if i != k))


def _schedules(graph: Graph) -> list[Timing]:
    """Enough samples, one interval apart, that each op meets the next sample as it does in
    the steady state; the input arriving as late as it may without delaying any output
    (a slow branch holds the fork back). And the same with each input beat offered a cycle
    after the beat before it was taken: a fork passes it to the readers that are free
    while another still waits."""
    one = predict_timing(graph)
    period = one.initiation_interval
    samples = 3 + -(-one.latency_cycles // period)
    early = predict_timing(graph, samples=samples, period=period)
    latest = latest_times(graph, early)
    inputs = {i.name: latest[i.name] for i in graph.inputs if i.name in latest}
    lead = {name: np.minimum(t, np.append(t[:1], t[:-1] + 1)) for name, t in inputs.items()}
    return [
        predict_timing(graph, samples=samples, period=period, inputs=times)
        for times in (inputs, lead)
    ]


def insert_buffers(graph: Graph) -> Graph:
    """A ``buffer`` before every join input that would otherwise wait (settled lanes)."""
    for _ in range(_ROUNDS):
        timings = _schedules(graph)
        producers, readers = graph.producers(), graph.consumers()
        nodes: list[Node] = []
        changed = False
        for node in graph.nodes:
            if node.op.arity < 2:
                nodes.append(node)
                continue
            inputs = list(node.inputs)
            for k, value in enumerate(node.inputs):
                depth = _depth(graph, readers, node, k, timings[0])
                forked = len(readers[value]) > 1
                if any(_waits(graph, node, k, timing, forked) for timing in timings):
                    depth = max(depth, _least_depth(graph, node, k, forked))
                source = producers.get(value)
                if source is not None and isinstance(source.op, BufferOp):
                    if depth > source.op.depth:
                        index = next(i for i, n in enumerate(nodes) if n.name == source.name)
                        nodes[index] = source.with_op(depth=depth)
                        changed = True
                    continue
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
