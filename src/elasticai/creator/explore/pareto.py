"""The Pareto front of a sweep: accuracy against LUTs, and accuracy against latency.

The rule: a successful row (``error`` is ``None``) is on the front if no other
successful row *dominates* it for LUTs, or none dominates it for latency. Row ``b``
dominates row ``a`` for a cost (``lut`` or ``latency_cycles``) if ``b``'s accuracy is at
least ``a``'s and ``b``'s cost at most ``a``'s, and one of the two strictly. Rows with
equal accuracy and equal cost do not dominate each other: both are on the front. A
failed row is never on the front and dominates nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["COSTS", "pareto_flags", "front", "dominates"]

#: The costs the front weighs accuracy against (smaller is better).
COSTS = ("lut", "latency_cycles")


def dominates(b: Mapping[str, Any], a: Mapping[str, Any], cost: str) -> bool:
    """Whether ``b`` is at least as accurate and as cheap in ``cost`` as ``a``, and
    better in one of the two.

    >>> dominates({"accuracy": 0.9, "lut": 100}, {"accuracy": 0.9, "lut": 120}, "lut")
    True
    >>> dominates({"accuracy": 0.9, "lut": 100}, {"accuracy": 0.9, "lut": 100}, "lut")
    False
    """
    at_least = b["accuracy"] >= a["accuracy"] and b[cost] <= a[cost]
    return at_least and (b["accuracy"] > a["accuracy"] or b[cost] < a[cost])


def front(rows: Sequence[Mapping[str, Any]], cost: str) -> list[bool]:
    """For each row, whether it is successful and no successful row dominates it for
    ``cost``."""
    ok = [r for r in rows if r.get("error") is None]
    return [r.get("error") is None and not any(dominates(o, r, cost) for o in ok) for r in rows]


def pareto_flags(rows: Sequence[Mapping[str, Any]]) -> list[bool]:
    """For each row, whether it is on the front (the rule in the module's docstring):
    on the front of one of the ``COSTS``."""
    fronts = [front(rows, cost) for cost in COSTS]
    return [any(flags) for flags in zip(*fronts, strict=True)]
