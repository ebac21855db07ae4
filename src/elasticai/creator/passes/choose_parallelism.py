"""Decide how many elements travel per beat on every stream, i.e. each layer's parallelism.

A ``Linear`` with ``n_in`` inputs and ``n_out`` outputs reading ``l_in`` elements per
beat and writing ``l_out`` per beat has ``l_in * l_out`` multipliers and needs
``rows * ceil(n_in / l_in) * ceil(n_out / l_out)`` cycles per sample (``rows``: the
positions of a convolution), less one per block of ``l_out x l_in`` weights that are all
zero (grouped and depthwise convolutions, pruned weights: ``LinearParams.steps``). A ``Window`` writes each window in ``ceil(window / l_out)``
beats. Streams join layers, so one layer's ``l_out`` is the next one's ``l_in``;
element-wise layers and pooling reducers pass lanes on (and need a beat per ``l``
elements). Streams of a map (more than one position) carry whole positions: their
lanes divide the channels.

The lanes ``l_0`` (model input), ``l_1``, ... are chosen by dynamic programming:
fewest multipliers such that every layer finishes a sample within the target
initiation interval, honouring lanes fixed per layer (``Linear(parallelism=...)``).
With a multiplier budget instead, the smallest interval that fits is searched;
``parallelism="full"`` is the smallest interval there is (one sample per clock for
MLPs; one position per clock for convolutions).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import lru_cache

from elasticai.creator.ir.graph import (
    Graph,
    LinearParams,
    Node,
    Op,
    ParallelismTarget,
    ReduceParams,
    WindowParams,
)

__all__ = ["choose_parallelism", "layer_cycles", "lane_plan"]


def layer_cycles(n_in: int, n_out: int, l_in: int, l_out: int) -> int:
    """Cycles a Linear needs per sample (and row): input beats times output beats."""
    return math.ceil(n_in / l_in) * math.ceil(n_out / l_out)


def _candidates(n: int, fixed: int) -> list[int]:
    """Lane counts worth trying for a stream of ``n`` elements: the fewest lanes for each
    possible number of beats (more lanes for the same beats only waste multipliers)."""
    if fixed:
        return [fixed]
    return sorted({math.ceil(n / beats) for beats in range(1, n + 1)})


@dataclass(frozen=True)
class _Check:
    """An element-wise stage on a stream: ``elements`` per sample, lanes must divide
    ``divides`` (0: any)."""

    elements: int
    divides: int = 0

    def allows(self, lanes: int) -> bool:
        return self.divides == 0 or self.divides % lanes == 0

    def cycles(self, lanes: int) -> int:
        return math.ceil(self.elements / lanes)


@dataclass(frozen=True)
class _Layer:
    """A node that sets the lanes of the stream it writes (a Linear or a Window)."""

    n_in: int
    n_out: int
    fixed_in: int
    fixed_out: int
    rows: int = 1
    window: bool = False  # a Window: n_in is its whole input sample, n_out one window
    positions: int = 1
    divides_out: int = 0  # the output stream's lanes must divide this (0: any)
    divides_in: int = 0  # the input stream's lanes must divide this (0: any)
    checks: tuple[_Check, ...] = ()  # element-wise stages on the output stream
    # cycles per vector where some weight blocks are zero (skipped); None: dense
    steps: Callable[[int, int], int] | None = field(default=None, compare=False)

    def cycles(self, l_in: int, l_out: int) -> int:
        if self.window:
            return max(math.ceil(self.n_in / l_in), self.positions * math.ceil(self.n_out / l_out))
        if self.steps is not None:
            return self.rows * self.steps(l_in, l_out)
        return self.rows * layer_cycles(self.n_in, self.n_out, l_in, l_out)

    def cost(self, l_in: int, l_out: int) -> int:
        return 0 if self.window else l_in * l_out

    def outputs(self, fixed: int) -> list[int]:
        return [
            lanes
            for lanes in _candidates(self.n_out, fixed)
            if (self.divides_out == 0 or self.divides_out % lanes == 0)
            and all(check.allows(lanes) for check in self.checks)
        ]


_Option = tuple[int, int, int, list[int]]  # multipliers, slowest stage, lanes in all, plan


def lane_plan(
    layers: list[_Layer],
    ii: float,
    input_lanes: int = 0,
    input_checks: tuple[_Check, ...] = (),
) -> tuple[int, list[int]] | None:
    """``(multipliers, [l_0, l_1, ...])`` with every stage within ``ii`` cycles, or ``None``.

    Among plans with equally few multipliers the one with the shortest slowest stage
    wins, then the one with the fewest lanes.
    """
    first = layers[0]
    best: dict[int, _Option] = {}
    for lanes in _candidates(first.n_in, input_lanes or first.fixed_in):
        if all(c.allows(lanes) for c in input_checks):
            slowest = max((c.cycles(lanes) for c in input_checks), default=0)
            if slowest <= ii:
                best[lanes] = (0, slowest, lanes, [lanes])
    for k, layer in enumerate(layers):
        following = layers[k + 1] if k + 1 < len(layers) else None
        fixed_out = layer.fixed_out or (following.fixed_in if following else 0)
        if (
            following is not None
            and layer.fixed_out
            and following.fixed_in
            not in (
                0,
                layer.fixed_out,
            )
        ):
            return None
        nxt: dict[int, _Option] = {}
        for l_out in layer.outputs(fixed_out):
            stream = max((c.cycles(l_out) for c in layer.checks), default=0)
            for l_in, (cost, slowest, total, plan) in best.items():
                if layer.divides_in and layer.divides_in % l_in:
                    continue
                cycles = max(layer.cycles(l_in, l_out), stream)
                if cycles > ii:
                    continue
                option = (
                    cost + layer.cost(l_in, l_out),
                    max(slowest, cycles),
                    total + l_out,
                    [*plan, l_out],
                )
                if l_out not in nxt or option[:3] < nxt[l_out][:3]:
                    nxt[l_out] = option
        if not nxt:
            return None
        best = nxt
    cost, _, _, plan = min(best.values(), key=lambda option: option[:3])
    return cost, plan


def _intervals(layers: list[_Layer], input_checks: tuple[_Check, ...]) -> list[int]:
    """Every interval some stage can take: where the cheapest plan can change."""
    values = {c.cycles(lanes) for c in input_checks for lanes in range(1, c.elements + 1)}
    for layer in layers:
        outs = layer.outputs(layer.fixed_out)
        for a in _candidates(layer.n_in, layer.fixed_in):
            values.update(layer.cycles(a, b) for b in outs)
        values.update(c.cycles(b) for c in layer.checks for b in outs)
    return sorted(values)


def _smallest_interval(
    layers: list[_Layer],
    input_lanes: int,
    input_checks: tuple[_Check, ...],
    fits: object = None,
) -> tuple[int, list[int]] | None:
    """The plan of the smallest interval whose cheapest plan exists (and fits the
    multiplier budget ``fits``, if given)."""
    intervals = _intervals(layers, input_checks)
    found = None
    low, high = 0, len(intervals) - 1
    while low <= high:
        mid = (low + high) // 2
        plan = lane_plan(layers, intervals[mid], input_lanes, input_checks)
        if plan is not None and (fits is None or plan[0] <= fits):  # type: ignore[operator]
            found, high = plan, mid - 1
        else:
            low = mid + 1
    return found


def _plan_for(
    layers: list[_Layer],
    target: ParallelismTarget,
    input_lanes: int,
    input_checks: tuple[_Check, ...],
) -> list[int]:
    if target.full:
        plan = _smallest_interval(layers, input_lanes, input_checks)
    elif target.max_multipliers is not None:
        plan = _smallest_interval(layers, input_lanes, input_checks, target.max_multipliers)
        if plan is None:
            cheapest = lane_plan(layers, math.inf, input_lanes, input_checks)
            needed = cheapest[0] if cheapest else "more"
            raise ValueError(
                f"max_multipliers must be at least {needed} for this model, "
                f"not {target.max_multipliers}"
            )
    else:
        plan = lane_plan(layers, target.ii or math.inf, input_lanes, input_checks)
        if plan is None and target.ii is not None:
            fastest = _smallest_interval(layers, input_lanes, input_checks)
            if fastest is not None:
                lanes = fastest[1]
                interval = max(
                    [c.cycles(lanes[0]) for c in input_checks]
                    + [layer.cycles(lanes[k], lanes[k + 1]) for k, layer in enumerate(layers)]
                    + [
                        c.cycles(lanes[k + 1])
                        for k, layer in enumerate(layers)
                        for c in layer.checks
                    ]
                )
                raise ValueError(
                    f"target_ii must be at least {interval} for this model (its fastest "
                    f"design), not {target.ii}"
                )
            raise ValueError(
                f"no parallelism reaches an initiation interval of {target.ii} cycles "
                "with the lanes fixed per layer"
            )
    if plan is None:
        raise ValueError(
            "the parallelism fixed per layer is inconsistent: a layer's p_out "
            "must equal the next layer's p_in"
        )
    return plan[1]


def unrolled_stages(node: Node) -> int:
    """Register levels of a fully unrolled layer: one per four levels of its adder tree.

    Each weight becomes about ``(w_bits + 1) / 3`` shifted terms (canonical signed
    digits), so a row of ``n_in`` weights is summed by a tree of depth
    ``log2(n_in * terms)``.
    """
    p = node.params
    assert isinstance(p, LinearParams)
    terms = max(1, p.weight.shape[1] * max(1, (p.w_type.total_bits + 1) // 3))
    return max(1, math.ceil(math.ceil(math.log2(terms)) / 4)) if terms > 1 else 1


#: Weights up to which the planner counts the zero blocks a layer skips for every lane
#: option; larger layers are planned as dense (their hardware is then faster than planned).
SPARSE_PLANNING_LIMIT = 1 << 16


def _sparse_steps(p: LinearParams) -> Callable[[int, int], int] | None:
    if p.weight.size > SPARSE_PLANNING_LIMIT or (p.weight != 0).all():
        return None
    return lru_cache(maxsize=None)(p.steps)


def _check(node: Node) -> _Check:
    """Reducers take whole positions (lanes divide the channels); element-wise nodes any."""
    p = node.params
    if isinstance(p, ReduceParams):
        return _Check(node.input_type.size, p.channels)
    return _Check(node.output_type.size)


def _layers(graph: Graph) -> tuple[list[_Layer], tuple[_Check, ...]]:
    layers: list[_Layer] = []
    checks: list[_Check] = []
    input_checks: tuple[_Check, ...] = ()

    def close() -> None:
        nonlocal input_checks
        if layers:
            layers[-1] = replace(layers[-1], checks=tuple(checks))
        else:
            input_checks = tuple(checks)
        checks.clear()

    previous: Node | None = None
    for node in graph.nodes:
        p = node.params
        if isinstance(p, LinearParams):
            close()
            out_features, in_features = p.weight.shape
            rows = node.input_type.size // in_features
            # rows of a map stream whole: a row's last beat is not padded, except after a
            # Window (which pads every window's last beat, as the Linear reads it)
            divides_out = out_features if rows > 1 else 0
            after_window = previous is not None and previous.op is Op.WINDOW
            divides_in = in_features if rows > 1 and not after_window else 0
            layers.append(
                _Layer(
                    in_features,
                    out_features,
                    p.p_in,
                    p.p_out,
                    rows,
                    divides_out=divides_out,
                    divides_in=divides_in,
                    steps=_sparse_steps(p),
                )
            )
        elif isinstance(p, WindowParams):
            close()
            size = node.input_type.size
            layers.append(_Layer(size, p.window, 0, p.lanes, 1, True, p.positions))
        else:
            checks.append(_check(node))
        previous = node
    close()
    return layers, input_checks


def choose_parallelism(graph: Graph) -> Graph:
    """Settle ``p_in``/``p_out`` (and, where fully unrolled, ``stages``) of every Linear,
    ``lanes`` of every other node, and the design's input lanes."""
    layers, input_checks = _layers(graph)
    target = graph.parallelism
    if not layers:
        size = graph.input_type.size
        fits = [lanes for lanes in range(1, size + 1) if all(c.allows(lanes) for c in input_checks)]
        lanes = max(fits) if target.full else max(1, graph.input_lanes)
        if not all(c.allows(lanes) for c in input_checks):
            lanes = 1
        nodes = [n.with_params(lanes=lanes) for n in graph.nodes]
        return replace(graph, nodes=tuple(nodes), input_lanes=lanes)
    plan = _plan_for(layers, target, graph.input_lanes, input_checks)
    lanes, k, nodes = plan[0], 0, []
    for node in graph.nodes:
        p = node.params
        if isinstance(p, LinearParams):
            unrolled = (plan[k], plan[k + 1]) == (layers[k].n_in, layers[k].n_out)
            stages = unrolled_stages(node) if unrolled else 0
            node = node.with_params(p_in=plan[k], p_out=plan[k + 1], stages=stages)
            k += 1
            lanes = plan[k]
        elif isinstance(p, WindowParams):
            k += 1
            lanes = plan[k]
            node = node.with_params(lanes=lanes)
        else:
            node = node.with_params(lanes=lanes)
        nodes.append(node)
    return replace(graph, nodes=tuple(nodes), input_lanes=plan[0])
