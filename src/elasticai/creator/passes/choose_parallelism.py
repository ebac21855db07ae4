"""Decide how many elements travel per beat on every stream: each layer's parallelism.

Every value of the graph is one stream; its ``lanes`` are the variables. Each op says
which lanes its streams may carry (``OpDef.lane_domain``) and what a choice costs
(``OpDef.lane_cost``: multipliers and cycles per sample); element-wise ops and joins
carry the same lanes on all their streams (``OpDef.tied``), so those streams are one
variable. A ``Linear`` with ``n_in`` inputs and ``n_out`` outputs reading ``l_in``
elements per beat and writing ``l_out`` has ``l_in * l_out`` multipliers and needs
``rows * ceil(n_in / l_in) * ceil(n_out / l_out)`` cycles per sample (fewer where
blocks of weights are zero).

The plan is the fewest multipliers such that every op finishes a sample within the
target initiation interval; among those the shortest slowest stage, then the fewest
lanes (at the serial end: the fewest lanes, then the shortest stage). It is found
exactly by variable elimination (``_eliminate``): on a chain that is dynamic
programming from the input to the output; a residual block or a concatenation only
adds a variable to a few tables. With a multiplier budget instead, the smallest
interval that fits is searched; ``parallelism="full"`` is the smallest interval there
is (one sample per clock for MLPs; one position per clock for convolutions).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field, replace

from elasticai.creator.ir.graph import Graph, Node, ParallelismTarget
from elasticai.creator.ir.op import candidates

__all__ = ["choose_parallelism", "lane_plan", "layer_cycles", "Plan"]

#: Entries a table of the elimination may hold before the graph is refused as too
#: entangled for the planner.
MAX_TABLE = 1 << 21

Cost = tuple[int, int, int]  # multipliers, slowest stage, lanes


def layer_cycles(n_in: int, n_out: int, l_in: int, l_out: int) -> int:
    """Cycles a dense Linear needs per sample (and row): input beats times output beats."""
    return math.ceil(n_in / l_in) * math.ceil(n_out / l_out)


@dataclass(frozen=True)
class Plan:
    """Lanes of every value, with the multipliers and the slowest stage they give."""

    multipliers: int
    interval: int
    lanes: dict[str, int]
    #: node -> its own choice (``OpDef.inner_domain``), for the nodes that have one
    inner: dict[str, int] = field(default_factory=dict)


class _Problem:
    """The variables (one per class of values that carry the same lanes), their
    domains, and one table per node: lanes of its streams -> (multipliers, cycles)."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        values = [i.name for i in graph.inputs] + [n.name for n in graph.nodes]
        parent = {v: v for v in values}

        def find(v: str) -> str:
            while parent[v] != v:
                parent[v] = parent[parent[v]]
                v = parent[v]
            return v

        for node in graph.nodes:
            if node.op.tied:
                for v in node.inputs:
                    parent[find(v)] = find(node.name)
        roots = list(dict.fromkeys(find(v) for v in values))
        self.index = {root: k for k, root in enumerate(roots)}
        self.var = {v: self.index[find(v)] for v in values}
        self.members: list[list[str]] = [[] for _ in roots]
        for v in values:
            self.members[self.var[v]].append(v)
        self.producers = graph.producers()
        self.readers = graph.consumers()
        self.types = graph.value_types()
        self.domains = [self._domain(k) for k in range(len(roots))]
        # a node's own choice besides its streams' lanes (OpDef.inner_domain, e.g. the
        # rows a beat of a recurrent layer's gate matrix): a variable only it reads
        self.inner: dict[str, int] = {}
        for node in graph.nodes:
            domain = node.op.inner_domain(node)
            if domain is not None:
                self.inner[node.name] = len(self.domains)
                self.domains.append(sorted(domain))

    def _domain(self, k: int) -> list[int]:
        graph, producers, readers = self.graph, self.producers, self.readers
        found: set[int] | None = None
        for v in self.members[k]:
            options: list[list[int] | None] = []
            node = producers.get(v)
            if node is not None:
                options.append(node.op.lane_domain(node, -1, graph))
            else:
                lanes = next(i.lanes for i in graph.inputs if i.name == v)
                options.append([lanes] if lanes else None)
            for name, index in readers[v]:
                if name:
                    reader = producers[name]
                    options.append(reader.op.lane_domain(reader, index, graph))
            for option in options:
                if option is not None:
                    found = set(option) if found is None else found & set(option)
        if found is None:
            found = set(candidates(self.types[self.members[k][0]].size))
        return sorted(found)

    def node_vars(self, node: Node) -> tuple[int, ...]:
        own = (self.inner[node.name],) if node.name in self.inner else ()
        return (*dict.fromkeys(self.var[v] for v in (*node.inputs, node.name)), *own)

    def options(self, node: Node) -> dict[tuple[int, ...], tuple[int, int]]:
        """Every lane choice of ``node``'s variables it can take, with its cost."""
        names = self.node_vars(node)
        table = {}
        for values in itertools.product(*(self.domains[k] for k in names)):
            chosen = dict(zip(names, values, strict=True))
            lanes_in = [chosen[self.var[v]] for v in node.inputs]
            lanes_out = chosen[self.var[node.name]]
            if node.name in self.inner:
                cost = node.op.inner_cost(node, lanes_in, lanes_out, chosen[self.inner[node.name]])
            else:
                cost = node.op.lane_cost(node, lanes_in, lanes_out)
            if cost is not None:
                table[values] = cost
        return table

    def intervals(self) -> list[int]:
        """Every interval some stage can take: where the cheapest plan can change."""
        found = {1}
        for node in self.graph.nodes:
            found.update(cycles for _, cycles in self.options(node).values())
        return sorted(found)


@dataclass
class _Factor:
    vars: tuple[int, ...]
    table: dict[tuple[int, ...], Cost]


def _combine(a: Cost, b: Cost) -> Cost:
    return a[0] + b[0], max(a[1], b[1]), a[2] + b[2]


def _table_size(problem: _Problem, factors: list[_Factor], var: int) -> int:
    """Entries of the table that eliminating ``var`` leaves."""
    joined = {v for f in factors if var in f.vars for v in f.vars} - {var}
    return math.prod(len(problem.domains[v]) for v in joined)


def _eliminate(problem: _Problem, ii: float, serial: bool) -> tuple[Cost, dict[int, int]] | None:
    """The cheapest lanes per variable with every stage within ``ii`` cycles, or ``None``."""

    def key(cost: Cost) -> tuple[int, int, int]:
        return (cost[0], cost[2], cost[1]) if serial else cost

    factors: list[_Factor] = []
    for node in problem.graph.nodes:
        names = problem.node_vars(node)
        table = {
            values: (mult, cycles, 0)
            for values, (mult, cycles) in problem.options(node).items()
            if cycles <= ii
        }
        if not table:
            return None
        factors.append(_Factor(names, table))
    for k, domain in enumerate(problem.domains):
        factors.append(_Factor((k,), {(lanes,): (0, 0, lanes) for lanes in domain}))
    remaining = list(range(len(problem.domains)))
    trail: list[tuple[int, tuple[int, ...], dict[tuple[int, ...], int]]] = []
    while remaining:
        var = min(remaining, key=lambda k: (_table_size(problem, factors, k), k))
        remaining.remove(var)
        touching = [f for f in factors if var in f.vars]
        factors = [f for f in factors if var not in f.vars]
        rest = tuple(sorted({v for f in touching for v in f.vars} - {var}))
        if math.prod(len(problem.domains[v]) for v in (*rest, var)) > MAX_TABLE:
            raise ValueError(
                "the graph is too entangled for the lane planner; fix the parallelism of "
                "some layers (parallelism=(p_in, p_out))"
            )
        joined: dict[tuple[int, ...], Cost] = {}
        choice: dict[tuple[int, ...], int] = {}
        for values in itertools.product(*(problem.domains[v] for v in rest)):
            at = dict(zip(rest, values, strict=True))
            for lanes in problem.domains[var]:
                at[var] = lanes
                total: Cost | None = (0, 0, 0)
                for f in touching:
                    entry = f.table.get(tuple(at[v] for v in f.vars))
                    if entry is None:
                        total = None
                        break
                    total = _combine(total, entry)  # type: ignore[arg-type]
                if total is not None and (values not in joined or key(total) < key(joined[values])):
                    joined[values], choice[values] = total, lanes
        if not joined:
            return None
        factors.append(_Factor(rest, joined))
        trail.append((var, rest, choice))
    total = (0, 0, 0)
    for f in factors:  # all over no variables now
        total = _combine(total, f.table[()])
    assignment: dict[int, int] = {}
    for var, rest, choice in reversed(trail):
        assignment[var] = choice[tuple(assignment[v] for v in rest)]
    return total, assignment


def lane_plan(graph: Graph, ii: float = math.inf, *, serial: bool = False) -> Plan | None:
    """The cheapest lanes of every value of ``graph`` with every stage within ``ii`` cycles
    per sample, or ``None`` where there are none."""
    problem = _Problem(graph)
    found = _eliminate(problem, ii, serial)
    if found is None:
        return None
    (multipliers, interval, _), assignment = found
    lanes = {v: assignment[k] for v, k in problem.var.items()}
    inner = {name: assignment[k] for name, k in problem.inner.items()}
    return Plan(multipliers, interval, lanes, inner)


def _smallest_interval(graph: Graph, budget: int | None = None) -> Plan | None:
    """The plan of the smallest interval whose cheapest plan exists (and fits the
    multiplier budget, if given)."""
    intervals = _Problem(graph).intervals()
    found = None
    low, high = 0, len(intervals) - 1
    while low <= high:
        mid = (low + high) // 2
        plan = lane_plan(graph, intervals[mid])
        if plan is not None and (budget is None or plan.multipliers <= budget):
            found, high = plan, mid - 1
        else:
            low = mid + 1
    return found


def _plan_for(graph: Graph, target: ParallelismTarget) -> Plan:
    plan: Plan | None
    if target.full:
        plan = _smallest_interval(graph)
    elif target.max_multipliers is not None:
        plan = _smallest_interval(graph, target.max_multipliers)
        if plan is None:
            cheapest = lane_plan(graph)
            needed = cheapest.multipliers if cheapest else "more"
            raise ValueError(
                f"max_multipliers must be at least {needed} for this model, "
                f"not {target.max_multipliers}"
            )
    elif target.ii is not None:
        plan = lane_plan(graph, target.ii)
        if plan is None:
            fastest = _smallest_interval(graph)
            if fastest is not None:
                raise ValueError(
                    f"target_ii must be at least {fastest.interval} for this model (its "
                    f"fastest design), not {target.ii}"
                )
            raise ValueError(
                f"no parallelism reaches an initiation interval of {target.ii} cycles "
                "with the lanes fixed per layer"
            )
    else:
        plan = lane_plan(graph, serial=True)
    if plan is None:
        raise ValueError(
            "the parallelism fixed per layer is inconsistent: a layer's p_out "
            "must equal the next layer's p_in"
        )
    return plan


def choose_parallelism(graph: Graph) -> Graph:
    """Settle the lanes of every stream: ``p_in``/``p_out`` (and, where fully unrolled,
    ``stages``, from ``pipeline_levels``) of every Linear, ``lanes`` of every other node
    and of the input."""
    plan = _plan_for(graph, graph.parallelism)
    lanes = plan.lanes
    nodes = []
    for node in graph.nodes:
        lanes_in = [lanes[v] for v in node.inputs]
        if node.name in plan.inner:
            op = node.op.settle_inner(node, lanes_in, lanes[node.name], plan.inner[node.name])
        else:
            op = node.op.settle(node, lanes_in, lanes[node.name])
        if graph.parallelism.pipeline_levels is not None:
            op = op.pipeline(node, graph.parallelism.pipeline_levels)
        nodes.append(replace(node, op=op))
    inputs = tuple(replace(i, lanes=lanes[i.name]) for i in graph.inputs)
    return replace(graph, inputs=inputs, nodes=tuple(nodes))
