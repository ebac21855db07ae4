"""Constant matrix-vector products as shared, pipelined adder graphs.

A fully unrolled layer computes ``y[o] = c[o] + sum_i W[o, i] * x[i]`` with constant
integers ``W`` and ``c`` (the bias at the accumulator's scale plus the rounding offset of
the output, so that rounding needs no adder: see ``ec_linear_unrolled``). Each weight is
recoded into canonical signed digits (``w = sum d_k 2**k``, ``d_k`` in ``{-1, 0, 1}``, no
two adjacent non-zero), so every output is a signed sum of shifted inputs (terms
``+-x[i] << k``, wiring only). Three steps turn those sums into hardware:

1. **Sharing** (:func:`share`): a pair ``x[a] << s + r * x[b] << (s + d)`` with the same
   ``(a, b, d, r)`` at any shift ``s`` and either overall sign becomes one new adder node
   ``t = x[a] + r * (x[b] << d)``, and every occurrence one term ``+-t << s``. The pair
   chosen first is the one that saves the most adder bits: its occurrences across the
   outputs times the bits of its adder (da4ml's "weighted most common", arXiv 2507.04535);
   repeated while some pair occurs twice. Shared nodes pair on (``t`` with ``x[c]`` or
   with another ``t'``) up to ``max_shared_level`` adders deep. This is the greedy
   common-subexpression elimination of constant matrix multiplication (Hartley, 1996).
2. **Summation** (:func:`build`): the remaining terms of every output and its constant
   are added by a tree that always adds terms that are ready first (lowest adder level),
   neighbours in magnitude among them, so the tree is balanced and each adder narrow.
3. **Pipelining** (:meth:`AdderGraph.pipelined`): ``stages`` register levels where the
   fewest bits cross them, no more than ``ceil((D + 2) / stages)`` levels of logic apart
   (``D`` adder levels, then the output logic's comparisons and its selection); values
   that cross a register level are delayed as often as needed.

Every node's bit width comes from its exact value range (interval arithmetic from the
input range), so nothing overflows and no bit is wasted. A node stores bits ``v``; its
value is ``(-1)**neg * v * 2**shift``: an adder node is ``v = v[a] +- (v[b] << k)`` with
``k = shift[b] - shift[a] >= 0``, so negative digits become subtractions and known zero
low bits never enter an adder. Roots are never negative (the output logic has no
negation). ``ec_linear_unrolled.vhd`` builds exactly this graph from
:meth:`AdderGraph.program`; :meth:`AdderGraph.evaluate` is its integer model.
"""

from __future__ import annotations

import heapq
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from elasticai.creator.arithmetic import csd, signed_width

__all__ = [
    "INPUT",
    "CONST",
    "ZERO",
    "ADD",
    "AdderGraph",
    "build",
    "share",
]

#: Node kinds (the numbers ``ec_linear_unrolled`` reads).
INPUT, CONST, ZERO, ADD = 0, 1, 2, 3

#: Fields per node in :meth:`AdderGraph.program`.
FIELDS = ("kind", "a", "b", "k", "flags", "shift", "width", "stage", "delay")

#: How many adders deep a shared subexpression may be (1: pairs of inputs only).
MAX_SHARED_LEVEL = 3

#: Pairs of terms within the outputs up to which :func:`build` shares subexpressions
#: (about 20 s of pure Python at the limit); wider layers get plain CSD sums.
PAIR_BUDGET = 2_000_000

Term = tuple[int, int, int]  # (node, shift, sign)


@dataclass
class _Nodes:
    """The growing node table while a graph is built."""

    kind: list[int]
    a: list[int]
    b: list[int]
    k: list[int]
    sub: list[bool]
    neg: list[bool]
    shift: list[int]
    lo: list[int]
    hi: list[int]
    level: list[int]

    def add(self, kind: int, a: int, lo: int, hi: int, shift: int = 0) -> int:
        self.kind.append(kind)
        self.a.append(a)
        self.b.append(-1)
        self.k.append(0)
        self.sub.append(False)
        self.neg.append(False)
        self.shift.append(shift)
        self.lo.append(lo)
        self.hi.append(hi)
        self.level.append(0)
        return len(self.kind) - 1

    def magnitude(self, t: Term) -> int:
        """The largest absolute value of a term."""
        n = t[0]
        return max(abs(self.lo[n]), abs(self.hi[n])) << (t[1] + self.shift[n])

    def combine(self, p: Term, q: Term) -> Term:
        """A new adder node for ``p + q`` (terms ``(node, shift, sign)``); its term."""
        (na, sa, ga), (nb, sb, gb) = p, q
        ea, eb = ga * (-1 if self.neg[na] else 1), gb * (-1 if self.neg[nb] else 1)
        la, lb = sa + self.shift[na], sb + self.shift[nb]
        if la > lb or (la == lb and ea < eb):  # equal shifts: the positive one first
            (na, ea, la), (nb, eb, lb) = (nb, eb, lb), (na, ea, la)
        k, sub = lb - la, ea != eb
        blo, bhi = self.lo[nb] << k, self.hi[nb] << k
        lo = self.lo[na] + (-bhi if sub else blo)
        hi = self.hi[na] + (-blo if sub else bhi)
        n = self.add(ADD, na, lo, hi, la)
        self.b[n], self.k[n], self.sub[n], self.neg[n] = nb, k, sub, ea < 0
        self.level[n] = max(self.level[na], self.level[nb]) + 1
        return (n, 0, 1)


def _key(p: Term, q: Term) -> int:
    """The pattern of a pair of terms, packed into one int: ``p + q`` is
    ``+-(x[a] << max(0, -d) + r * x[b] << max(0, d)) << shift`` with ``(a, shift) <=
    (b, shift + d)``. See :func:`_unpack`."""
    if p[0] > q[0] or (p[0] == q[0] and p[1] > q[1]):
        p, q = q, p
    return ((((p[0] << 24) | q[0]) << 10 | (q[1] - p[1] + 512)) << 1) | (p[2] == q[2])


def _unpack(key: int) -> tuple[int, int, int, int]:
    """``(a, b, d, r)`` of a packed pattern."""
    r = 1 if key & 1 else -1
    key >>= 1
    d = (key & 1023) - 512
    key >>= 10
    return key >> 24, key & ((1 << 24) - 1), d, r


def _adder_bits(nodes: _Nodes, a: int, b: int, d: int, r: int) -> int:
    """Bits of the adder ``x[a] << max(0, -d) + r * x[b] << max(0, d)`` (its low ``|d|``
    bits are wiring)."""
    sa, sb = max(0, -d), max(0, d)
    alo, ahi = nodes.lo[a] << sa, nodes.hi[a] << sa
    blo, bhi = nodes.lo[b] << sb, nodes.hi[b] << sb
    lo = alo + (blo if r > 0 else -bhi)
    hi = ahi + (bhi if r > 0 else -blo)
    return signed_width(lo, hi) - abs(d)


def share(
    terms: list[list[Term]], nodes: _Nodes, max_level: int = MAX_SHARED_LEVEL
) -> list[list[Term]]:
    """Greedy common-subexpression elimination over the outputs' term lists (see the
    module docstring); new nodes are appended to ``nodes``; returns the new term lists."""
    # per output: (node, shift) -> sign; a (node, shift) occurs at most once per output
    rows: list[dict[tuple[int, int], int]] = [{(n, s): g for n, s, g in row} for row in terms]
    where: dict[int, set[int]] = defaultdict(set)  # outputs that may hold the pattern
    total: dict[int, int] = defaultdict(int)  # occurrences (overlapping ones too)
    made: dict[int, int] = {}
    level = nodes.level

    def pairs(o: int, p: Term, others: list[Term], step: int, touched: set[int]) -> None:
        if level[p[0]] >= max_level:
            return
        for q in others:
            if level[q[0]] < max_level:
                key = _key(p, q)
                total[key] += step
                if step > 0:
                    where[key].add(o)
                touched.add(key)

    for o, row in enumerate(rows):
        items = [(n, s, g) for (n, s), g in row.items()]
        for i, p in enumerate(items):
            pairs(o, p, items[i + 1 :], 1, set())
    weights: dict[int, int] = {}

    def weight(key: int) -> int:
        """Bits of the adder a pattern would make: what each further occurrence saves."""
        w = weights.get(key)
        if w is None:
            a, b, d, r = _unpack(key)
            w = weights[key] = _adder_bits(nodes, a, b, d, r)
        return w

    heap = [(-n * weight(key), key) for key, n in total.items() if n > 1]
    heapq.heapify(heap)
    while heap:
        n, key = heapq.heappop(heap)
        if -n != total.get(key, 0) * weight(key):
            continue  # stale: the current count was pushed when it changed
        a, b, d, r = _unpack(key)
        if key not in made:
            made[key] = nodes.combine((a, max(0, -d), 1), (b, max(0, d), r))[0]
        t = made[key]
        touched: set[int] = set()
        for o in where.pop(key):
            row = rows[o]
            # occurrences: x[a] << s with x[b] << (s + d) of sign r relative to it, no overlaps
            for s in sorted(s for (m, s) in row if m == a):
                g = row.get((a, s))
                h = row.get((b, s + d))
                if g is None or h is None or h != g * r:
                    continue
                p, q = (a, s, g), (b, s + d, h)
                del row[(a, s)], row[(b, s + d)]
                rest = [(m, u, f) for (m, u), f in row.items()]
                pairs(o, p, [q, *rest], -1, touched)
                pairs(o, q, rest, -1, touched)
                new = (t, min(s, s + d), g)
                pairs(o, new, rest, 1, touched)
                row[new[:2]] = g
        total.pop(key, None)
        for k2 in touched:
            m = total.get(k2, 0)
            if m > 1:
                heapq.heappush(heap, (-m * weight(k2), k2))
            elif m <= 0:
                total.pop(k2, None)
                where.pop(k2, None)
    return [[(n, s, g) for (n, s), g in row.items()] for row in rows]


@dataclass(frozen=True)
class AdderGraph:
    """Nodes (inputs first, then bias leaves, zero leaves and adders in topological
    order) as arrays of equal length, the root node of every output and, once
    :meth:`pipelined`, each node's stage and delay."""

    kind: np.ndarray
    a: np.ndarray
    b: np.ndarray
    k: np.ndarray
    sub: np.ndarray
    neg: np.ndarray
    shift: np.ndarray
    width: np.ndarray
    level: np.ndarray
    roots: np.ndarray
    const_bits: int = 1
    const_shift: int = 0
    stages: int = 1
    stage: np.ndarray | None = None
    delay: np.ndarray | None = None
    split: bool = False

    @property
    def depth(self) -> int:
        """Adder levels from the inputs to the deepest root."""
        return int(self.level[self.roots].max()) if len(self.roots) else 0

    @property
    def adders(self) -> int:
        return int(np.sum(self.kind == ADD))

    @property
    def adder_bits(self) -> int:
        """Bits of all adders (each ``width - k`` wide: the low ``k`` bits are wiring)."""
        add = self.kind == ADD
        return int(np.sum(self.width[add] - self.k[add]))

    @property
    def register_bits(self) -> int:
        """Flip-flops of the delayed node values (not the output register)."""
        assert self.delay is not None
        return int(np.sum(self.width * self.delay))

    def stages_for(self, levels: int) -> int:
        """Register levels so that at most ``levels`` levels of logic lie between two
        registers: the adder levels, then the output logic as two (the comparisons with
        the bounds and the rounding; then the selection of the result)."""
        return max(1, math.ceil((self.depth + 2) / levels))

    def crossing_bits(self) -> np.ndarray:
        """``c[p]``: bits of the values a register level after position ``p`` holds
        (``p = 0 .. D + 1``; position 0 is the input, ``1 .. D`` the adder levels,
        ``D + 1`` the comparisons of the output logic, ``D + 2`` its selection): every
        node of level ``<= p`` read at a level ``> p``; after ``D + 1``, the rounded
        results (as wide as the roots, an upper bound) and two flags an output."""
        last = np.full(len(self.kind), -1, dtype=np.int64)  # latest reader's level
        add = np.flatnonzero(self.kind == ADD)
        np.maximum.at(last, self.a[add], self.level[add])
        np.maximum.at(last, self.b[add], self.level[add])
        last[self.roots] = self.depth + 1
        positions = np.arange(self.depth + 1)[:, None]
        live = (self.level[None, :] <= positions) & (last[None, :] > positions)
        split = int(np.sum(self.width[self.roots] + 2))
        return np.append(np.asarray(live @ self.width, dtype=np.int64), split)

    def pipelined(self, stages: int) -> AdderGraph:
        """``stages - 1`` register levels, then the output register. They sit after the
        positions (see :meth:`crossing_bits`) that hold the fewest bits, with at most
        ``ceil((D + 2) / stages)`` levels of logic between two registers. A node is
        computed in stage ``s`` = the register levels before its level; a reader in a
        later stage reads it delayed by the difference. :attr:`split`: a register level
        sits between the output logic's comparisons and its selection."""
        if stages < 1:
            raise ValueError(f"an unrolled layer needs at least 1 stage, not {stages}")
        cuts = _cuts(self.crossing_bits(), stages - 1, -(-(self.depth + 2) // stages))
        stage = np.searchsorted(np.array(cuts, dtype=np.int64), self.level, side="left")
        stage = stage.astype(np.int64)
        split = bool(cuts) and cuts[-1] == self.depth + 1
        compare = stages - 1 - int(split)  # the stage of the output's comparisons
        delay = np.zeros(len(self.kind), dtype=np.int64)
        for n in np.flatnonzero(self.kind == ADD):
            for op in (self.a[n], self.b[n]):
                delay[op] = max(delay[op], stage[n] - stage[op])
        for root in self.roots:
            delay[root] = max(delay[root], compare - stage[root])
        return replace(self, stages=stages, stage=stage, delay=delay, split=split)

    def program(self) -> list[int]:
        """The graph as ``ec_linear_unrolled``'s ``GRAPH`` generic: per node the
        :data:`FIELDS` ``kind, a, b, k, flags (1: subtract, 2: negative), shift, width,
        stage, delay``."""
        assert self.stage is not None and self.delay is not None, "pipelined() first"
        flags = self.sub.astype(np.int64) + 2 * self.neg.astype(np.int64)
        table = np.stack(
            [
                self.kind,
                self.a,
                self.b,
                self.k,
                flags,
                self.shift,
                self.width,
                self.stage,
                self.delay,
            ],
            axis=1,
        )
        return [int(v) for v in table.reshape(-1)]

    def evaluate(self, x: np.ndarray, constants: Sequence[int] | None = None) -> list[int]:
        """The outputs for one input vector, node by node as the hardware computes them
        (with each node's bits wrapped to its width: a wrong width shows as a wrong sum);
        ``constants`` as :func:`build` took them."""
        values: list[int] = []
        for n in range(len(self.kind)):
            kind = int(self.kind[n])
            if kind == INPUT:
                v = int(x[int(self.a[n])])
            elif kind == CONST:
                assert constants is not None
                v = int(constants[int(self.a[n])]) >> int(self.shift[n])
            elif kind == ZERO:
                v = 0
            else:
                q = values[int(self.b[n])] << int(self.k[n])
                v = values[int(self.a[n])] + (-q if self.sub[n] else q)
            width = int(self.width[n])
            v &= (1 << width) - 1
            values.append(v - (1 << width) if v >> (width - 1) else v)
        out = []
        for root in self.roots:
            v = values[int(root)] << int(self.shift[root])
            out.append(-v if self.neg[root] else v)
        return out


def build(
    weight: np.ndarray,
    x_bits: int,
    constants: np.ndarray | None = None,
    max_shared_level: int = MAX_SHARED_LEVEL,
) -> AdderGraph:
    """The adder graph of ``y = weight @ x + constants`` for signed ``x_bits``-bit inputs
    (``constants``: one integer per output, or ``None``); see the module docstring.

    The constants enter as leaves of :attr:`AdderGraph.const_bits` bits at the common
    shift :attr:`AdderGraph.const_shift` (their trailing zeros): leaf ``o`` holds
    ``constants[o] >> const_shift``. Layers with more than :data:`PAIR_BUDGET` pairs of
    terms within their outputs are summed without sharing (the search would take too
    long)."""
    out_features, in_features = weight.shape
    xlo, xhi = -(1 << (x_bits - 1)), (1 << (x_bits - 1)) - 1
    nodes = _Nodes([], [], [], [], [], [], [], [], [], [])
    for i in range(in_features):
        nodes.add(INPUT, i, xlo, xhi)
    terms = [
        [(i, s, g) for i in range(in_features) for s, g in csd(int(weight[o, i]))]
        for o in range(out_features)
    ]
    if sum(len(row) * (len(row) - 1) // 2 for row in terms) <= PAIR_BUDGET:
        terms = share(terms, nodes, max_shared_level)
    values = [0] * out_features if constants is None else [int(c) for c in constants]
    const_shift = min((_trailing_zeros(c) for c in values if c), default=0)
    scaled = [c >> const_shift for c in values]
    const_bits = signed_width(min(scaled, default=0), max(scaled, default=0))
    roots = []
    for o, row in enumerate(terms):
        row = list(row)
        if scaled[o]:
            row.append((nodes.add(CONST, o, scaled[o], scaled[o], const_shift), 0, 1))
        if not row:
            row.append((nodes.add(ZERO, o, 0, 0), 0, 1))
        roots.append(_sum(row, nodes))
    width = [
        max(signed_width(lo, hi), k + 1)
        for lo, hi, k in zip(nodes.lo, nodes.hi, nodes.k, strict=True)
    ]
    for n, kind in enumerate(nodes.kind):
        if kind == INPUT:
            width[n] = x_bits
        elif kind == CONST:
            width[n] = const_bits
    return AdderGraph(
        kind=np.array(nodes.kind, dtype=np.int64),
        a=np.array(nodes.a, dtype=np.int64),
        b=np.array(nodes.b, dtype=np.int64),
        k=np.array(nodes.k, dtype=np.int64),
        sub=np.array(nodes.sub, dtype=bool),
        neg=np.array(nodes.neg, dtype=bool),
        shift=np.array(nodes.shift, dtype=np.int64),
        width=np.array(width, dtype=np.int64),
        level=np.array(nodes.level, dtype=np.int64),
        roots=np.array(roots, dtype=np.int64),
        const_bits=const_bits,
        const_shift=const_shift,
    )


def _trailing_zeros(v: int) -> int:
    return (v & -v).bit_length() - 1


def _cuts(bits: np.ndarray, n: int, span: int) -> list[int]:
    """``n`` register positions out of ``0 .. len(bits) - 1`` (repeats allowed) with the
    fewest ``sum(bits[p])``, no more than ``span`` levels apart, the first at most
    ``span`` levels after the input and the last at least ``len(bits) - span`` (the output
    logic is level ``len(bits)``, so no stage holds more than ``span`` levels)."""
    top = len(bits)  # positions 0 .. top - 1; the output logic is level top
    if n == 0:
        return []
    inf = 1 << 62
    # best[j][p]: fewest bits of j + 1 cuts, the last at p
    best = np.full((n, top), inf, dtype=np.int64)
    back = np.zeros((n, top), dtype=np.int64)
    best[0, : span + 1] = bits[: span + 1]
    for j in range(1, n):
        for p in range(top):
            lo = max(0, p - span)
            prev = best[j - 1, lo : p + 1]
            q = int(np.argmin(prev))
            if prev[q] < inf:
                best[j, p] = prev[q] + bits[p]
                back[j, p] = lo + q
    first = max(0, top - span)
    p = first + int(np.argmin(best[n - 1, first:]))
    cuts = [p]
    for j in range(n - 1, 0, -1):
        p = int(back[j, p])
        cuts.append(p)
    return cuts[::-1]


def _sum(row: list[Term], nodes: _Nodes) -> int:
    """Add the terms of one output: always the ready-first ones (at least two of them),
    neighbours in magnitude (so each adder is as narrow as it can be); the root node. A root must be positive with no shift of its own
    beyond its node's (the output logic has no negation): a lone term with a shift or a
    sign, or a negative sum, becomes ``0 +- term``."""
    while len(row) > 1:
        levels = sorted(nodes.level[n] for n, _, _ in row)
        ready_level = levels[1]  # a lone term of the lowest level waits for the next
        ready = [t for t in row if nodes.level[t[0]] <= ready_level]
        rest = [t for t in row if nodes.level[t[0]] > ready_level]
        ready.sort(key=lambda t: nodes.magnitude(t))
        pairs = len(ready) // 2
        row = rest + ready[2 * pairs :]
        row += [nodes.combine(ready[2 * j], ready[2 * j + 1]) for j in range(pairs)]
    ((n, s, g),) = row
    if s == 0 and g == 1 and not nodes.neg[n]:
        return n
    zero = nodes.add(ZERO, -1, 0, 0)
    return nodes.combine((zero, 0, 1), (n, s, g))[0]
