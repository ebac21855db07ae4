"""The interface every op implements.

An op is a frozen dataclass holding its constants (weights, shifts, lanes ...); its
methods answer every question a phase asks about it, so the phases (interpret, verify,
the lane planner, timing, estimate, lower, serialize) walk the graph and ask the op,
and none of them switches on op types. Each op lives in one module of
``elasticai.creator.ops``; ``elasticai.creator.ops.OPS`` is the one registry.

Streams: every value travels as beats of ``lanes`` elements (channels last for maps).
The methods get the lanes of their input streams as ``lanes_in`` (one per input) and
know their own output lanes (``lanes``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

if TYPE_CHECKING:
    from elasticai.creator.ir.graph import Graph, Node
    from elasticai.creator.vhdl.streams import Stream
    from elasticai.creator.vhdl.syntax import Constant, Instance

__all__ = ["OpDef", "Flow", "candidates", "beats", "one_per_cycle", "latest_in_order", "NEVER"]


def beats(elements: int, lanes: int) -> int:
    """Beats of ``lanes`` elements that carry ``elements`` (the last one may be partial)."""
    return -(-elements // lanes)


def candidates(n: int) -> list[int]:
    """Lane counts worth trying for a stream of ``n`` elements: the fewest lanes for each
    possible number of beats (more lanes for the same beats only waste hardware).

    >>> candidates(6)
    [1, 2, 3, 6]
    """
    return sorted({math.ceil(n / b) for b in range(1, n + 1)})


def one_per_cycle(times: np.ndarray) -> np.ndarray:
    """Beats that leave in order, one per cycle at most, each no earlier than ``times``:
    ``t[j] = max(times[j], t[j - 1] + 1)``, i.e. ``j + max over i <= j of (times[i] - i)``.

    >>> one_per_cycle(np.array([3, 3, 9, 4])).tolist()
    [3, 4, 9, 10]
    """
    steps = np.arange(len(times))
    return steps + np.maximum.accumulate(np.asarray(times) - steps)


#: A time later than any other (a beat nothing waits for).
NEVER = np.iinfo(np.int64).max // 4


def latest_in_order(due: np.ndarray) -> np.ndarray:
    """The latest cycles beats that arrive in order, one per cycle at most, may arrive so
    that each is there by ``due``: ``t[j] = min(due[j], t[j + 1] - 1)``.

    >>> latest_in_order(np.array([5, 9, 9, 20])).tolist()
    [5, 8, 9, 20]
    """
    steps = np.arange(len(due))
    return steps + np.minimum.accumulate((np.asarray(due) - steps)[::-1])[::-1]


@dataclass(frozen=True)
class Flow:
    """Samples through an op, without stalls: the cycle each output beat leaves (``out``)
    and, per input, the cycle each input beat is taken (``taken``; ``None``: as soon as
    it arrives). Arrays of ``int64`` over all samples, one after the other."""

    out: np.ndarray
    taken: list[np.ndarray] | None = None


class OpDef:
    """Base of every op. Subclasses are frozen dataclasses; ``name`` is the op's name in
    ``design.json``, ``entities`` the library files its hardware may come from, ``arity``
    its number of inputs."""

    name: ClassVar[str]
    entities: ClassVar[tuple[str, ...]] = ()
    arity: ClassVar[int] = 1
    #: every input and the output carry the same lanes (element-wise ops)
    tied: ClassVar[bool] = True

    if TYPE_CHECKING:  # a field or a property of every op

        @property
        def lanes(self) -> int:
            """Elements per beat of its output stream (0: not settled yet)."""

        @property
        def kind(self) -> str:
            """What it implements, for reports (``relu``, ``conv``, ``add`` ...)."""

    # --- structure -----------------------------------------------------------------

    def check(self, node: Node, settled: bool) -> None:
        """Raise ``ValueError`` naming the broken rule where the op does not fit its
        tensors; with ``settled`` also where a width or lane count is not decided."""
        if settled and self.lanes < 1:
            raise ValueError(f"{node.where}: lanes must be at least 1, not {self.lanes}")

    # --- semantics -----------------------------------------------------------------

    def interpret(self, node: Node, xs: Sequence[np.ndarray]) -> np.ndarray:
        """The integer outputs ``(batch, size)`` for integer inputs ``(batch, size)``."""
        raise NotImplementedError

    # --- parallelism ---------------------------------------------------------------

    def lane_domain(self, node: Node, stream: int, graph: Graph) -> list[int] | None:
        """Lane counts its stream ``stream`` (input index, ``-1`` the output) may carry, or
        ``None`` for any."""
        return None

    def inner_domain(self, node: Node) -> list[int] | None:
        """The values of a choice the op makes besides its streams' lanes (``None``: it has
        none); the planner then asks ``inner_cost`` and ``settle_inner`` with one of them
        (a recurrent layer: the rows a beat of its gate matrix)."""
        return None

    def inner_cost(
        self, node: Node, lanes_in: Sequence[int], lanes_out: int, inner: int
    ) -> tuple[int, int] | None:
        """``lane_cost`` with the op's own choice ``inner`` (see ``inner_domain``)."""
        return self.lane_cost(node, lanes_in, lanes_out)

    def settle_inner(
        self, node: Node, lanes_in: Sequence[int], lanes_out: int, inner: int
    ) -> OpDef:
        """``settle`` with the op's own choice ``inner`` (see ``inner_domain``)."""
        return self.settle(node, lanes_in, lanes_out)

    def lane_cost(
        self, node: Node, lanes_in: Sequence[int], lanes_out: int
    ) -> tuple[int, int] | None:
        """``(multipliers, cycles per sample)`` with these lanes, ``None`` where the op
        cannot take them."""
        return 0, beats(node.output_type.size, lanes_out)

    def settle(self, node: Node, lanes_in: Sequence[int], lanes_out: int) -> OpDef:
        """The op with its lanes decided."""
        return replace(self, lanes=lanes_out)  # type: ignore[type-var]

    def pipeline(self, node: Node, levels: int) -> OpDef:
        """The settled op with at most ``levels`` levels of logic between two of its
        registers, where that is a choice (fully unrolled layers); else itself."""
        return self

    def accepts(self, node: Node, lanes_in: Sequence[int]) -> bool:
        """Whether its settled op reads streams of ``lanes_in`` (``passes.verify``)."""
        return self.lane_cost(node, lanes_in, self.lanes) is not None

    def cycles(self, node: Node, lanes_in: Sequence[int]) -> int:
        """Cycles per sample (its share of the initiation interval)."""
        cost = self.lane_cost(node, lanes_in, self.lanes)
        assert cost is not None, f"{node.where}: lanes {list(lanes_in)} -> {self.lanes}"
        return cost[1]

    # --- timing and cost -----------------------------------------------------------

    def timing(self, node: Node, arrivals: Sequence[np.ndarray], lanes_in: Sequence[int]) -> Flow:
        """When each output beat leaves, given when each input beat arrives (the beats of
        one or more samples after each other: what one sample does affects the next)."""
        raise NotImplementedError

    def latest(self, node: Node, due: np.ndarray, lanes_in: Sequence[int]) -> list[np.ndarray]:
        """The reverse of ``timing``: per input, the latest cycle each beat may arrive so that
        every output beat still leaves by ``due`` (``NEVER`` where nothing waits for it)."""
        raise NotImplementedError

    def estimate(self, node: Node, lanes_in: Sequence[int]) -> dict[str, int]:
        """Analytic resources: ``lut``, ``ff``, ``dsp``, ``bram``, ``carry`` (and
        ``fifo_bits`` for buffers)."""
        raise NotImplementedError

    def lockstep(self, node: Node) -> bool:
        """Whether its hardware is a pipeline that passes beats on one for one with all
        stages on one clock enable: under stalls it may then hold only its output beat
        (a bubble inside stays while the output waits; ``passes.insert_buffers``)."""
        return False

    def freezes(self, node: Node) -> bool:
        """Whether all of it stops while its output beat waits (one clock enable over
        several steps a beat): a beat that waits at a join then delays the work behind it,
        beyond what the timing model has (``passes.insert_buffers``)."""
        return False

    def in_turn(self, node: Node, lanes_in: Sequence[int]) -> bool:
        """Whether, as a join, it takes its inputs' beats in turn (a run of one input's, then
        of another's) rather than together: then whatever enters one input while it takes
        another must wait in front of it, however early or late it comes."""
        return False

    def turn_beats(self, node: Node, lanes_in: Sequence[int]) -> list[int]:
        """A join that takes its inputs in turn (``in_turn``): the beats of each input in
        one run."""
        raise NotImplementedError

    # --- hardware ------------------------------------------------------------------

    def lower(
        self, node: Node, sources: Sequence[Stream], sink: Stream
    ) -> tuple[list[Constant], list[Instance]]:
        """Its constants (for the design's package) and instances, reading ``sources`` and
        writing ``sink``."""
        raise NotImplementedError

    # --- serialization -------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        raise NotImplementedError

    @classmethod
    def from_json(cls, value: Any, where: str, node: dict[str, Any]) -> OpDef:
        """The op ``to_json`` wrote; ``node`` holds the node's other fields, already read
        (``input_types``, ``output_type``). ``ValueError`` naming the field otherwise."""
        raise NotImplementedError
