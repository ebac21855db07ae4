"""Decide how many elements travel per beat on every stream, i.e. each Linear's parallelism.

A ``Linear`` with ``n_in`` inputs and ``n_out`` outputs reading ``l_in`` elements per
beat and writing ``l_out`` per beat has ``l_in * l_out`` multipliers and needs
``ceil(n_in / l_in) * ceil(n_out / l_out)`` cycles per sample. Streams join layers,
so one layer's ``l_out`` is the next one's ``l_in``; element-wise layers pass lanes on.

The lanes ``l_0`` (model input), ``l_1``, ... are chosen by dynamic programming:
fewest multipliers such that every layer finishes a sample within the target
initiation interval, honouring lanes fixed per layer (``Linear(parallelism=...)``).
With a multiplier budget instead, the smallest interval that fits is searched.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from elasticai.creator.ir.graph import Graph, LinearParams, Node, Op, ParallelismTarget

__all__ = ["choose_parallelism", "layer_cycles", "lane_plan"]


def layer_cycles(n_in: int, n_out: int, l_in: int, l_out: int) -> int:
    """Cycles a Linear needs per sample: input beats times output beats."""
    return math.ceil(n_in / l_in) * math.ceil(n_out / l_out)


def _candidates(n: int, fixed: int) -> list[int]:
    """Lane counts worth trying for a stream of ``n`` elements: the fewest lanes for each
    possible number of beats (more lanes for the same beats only waste multipliers)."""
    if fixed:
        return [fixed]
    return sorted({math.ceil(n / beats) for beats in range(1, n + 1)})


@dataclass(frozen=True)
class _Layer:
    n_in: int
    n_out: int
    fixed_in: int
    fixed_out: int


def lane_plan(
    layers: list[_Layer], ii: float, input_lanes: int = 0
) -> tuple[int, list[int]] | None:
    """``(multipliers, [l_0, l_1, ...])`` with every layer within ``ii`` cycles, or ``None``.

    Among plans with equally few multipliers the one with the shortest slowest layer wins.
    """
    first = layers[0]
    fixed0 = input_lanes or first.fixed_in
    # best[l] = (multipliers, slowest layer, lanes so far) for plans ending in l lanes
    best: dict[int, tuple[int, int, list[int]]] = {
        lanes: (0, 0, [lanes]) for lanes in _candidates(first.n_in, fixed0)
    }
    for k, layer in enumerate(layers):
        following = layers[k + 1] if k + 1 < len(layers) else None
        fixed_out = layer.fixed_out or (following.fixed_in if following else 0)
        clash = following is not None and following.fixed_in not in (0, fixed_out)
        if layer.fixed_out and clash:
            return None
        nxt: dict[int, tuple[int, int, list[int]]] = {}
        for l_out in _candidates(layer.n_out, fixed_out):
            for l_in, (cost, slowest, plan) in best.items():
                cycles = layer_cycles(layer.n_in, layer.n_out, l_in, l_out)
                if cycles > ii:
                    continue
                option = (cost + l_in * l_out, max(slowest, cycles), [*plan, l_out])
                if l_out not in nxt or option[:2] < nxt[l_out][:2]:
                    nxt[l_out] = option
        if not nxt:
            return None
        best = nxt
    cost, _, plan = min(best.values(), key=lambda option: option[:2])
    return cost, plan


def _plan_for(layers: list[_Layer], target: ParallelismTarget, input_lanes: int) -> list[int]:
    if target.full:
        plan = lane_plan(layers, 1, input_lanes)
    elif target.max_multipliers is not None:
        intervals = sorted(
            {
                layer_cycles(layer.n_in, layer.n_out, a, b)
                for layer in layers
                for a in _candidates(layer.n_in, 0)
                for b in _candidates(layer.n_out, 0)
            }
        )
        plan = None
        low, high = 0, len(intervals) - 1
        while low <= high:  # the smallest interval whose cheapest plan fits the budget
            mid = (low + high) // 2
            found = lane_plan(layers, intervals[mid], input_lanes)
            if found is not None and found[0] <= target.max_multipliers:
                plan, high = found, mid - 1
            else:
                low = mid + 1
        if plan is None:
            cheapest = lane_plan(layers, math.inf, input_lanes)
            needed = cheapest[0] if cheapest else "more"
            raise ValueError(
                f"max_multipliers must be at least {needed} for this model, "
                f"not {target.max_multipliers}"
            )
    else:
        plan = lane_plan(layers, target.ii or math.inf, input_lanes)
        if plan is None and target.ii is not None:
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


def choose_parallelism(graph: Graph) -> Graph:
    """Settle ``p_in``/``p_out`` (and, where fully unrolled, ``stages``) of every Linear,
    ``lanes`` of every element-wise node, and the design's input lanes."""
    linears = [n for n in graph.nodes if n.op is Op.LINEAR]
    target = graph.parallelism
    if not linears:
        lanes = graph.input_type.size if target.full else max(1, graph.input_lanes)
        nodes = [n.with_params(lanes=lanes) for n in graph.nodes]
        return replace(graph, nodes=tuple(nodes), input_lanes=lanes)
    layers = []
    for node in linears:
        p = node.params
        assert isinstance(p, LinearParams)
        out_features, in_features = p.weight.shape
        layers.append(_Layer(in_features, out_features, p.p_in, p.p_out))
    plan = _plan_for(layers, target, graph.input_lanes)
    lanes, k, nodes = plan[0], 0, []
    for node in graph.nodes:
        if node.op is Op.LINEAR:
            unrolled = (plan[k], plan[k + 1]) == (layers[k].n_in, layers[k].n_out)
            stages = unrolled_stages(node) if unrolled else 0
            node = node.with_params(p_in=plan[k], p_out=plan[k + 1], stages=stages)
            k += 1
            lanes = plan[k]
        else:
            node = node.with_params(lanes=lanes)
        nodes.append(node)
    return replace(graph, nodes=tuple(nodes), input_lanes=plan[0])
