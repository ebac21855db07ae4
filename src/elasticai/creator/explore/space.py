"""The points of a sweep: the product of the values of each parameter, checked first.

A space maps parameter names to lists of values, e.g. ``{"total_bits": [4, 6, 8],
"target_ii": [None, 64, 1]}``; its points are every combination, in the order of
``itertools.product`` over the names as the space lists them (the last name varies
fastest). Values are JSON values (``None``, numbers, strings, and lists of them; a tuple
counts as a list), so that a point is written to the cache, the CSV and the JSON file as
it is, and reads back equal.

The parameters ``create_design`` takes (``DESIGN_OPTIONS``) go to it; the others are
the model's and go to the builder (``split``).
"""

from __future__ import annotations

import itertools
import math
import numbers
from collections.abc import Mapping
from typing import Any

__all__ = ["DESIGN_OPTIONS", "points", "split"]

#: The parameters that ``create_design`` takes, not the builder.
DESIGN_OPTIONS = ("input_shape", "parallelism", "target_ii", "max_multipliers", "pipeline_levels")


def points(space: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every point of ``space`` (see the module), or ``ValueError`` naming the rule broken.

    >>> points({"total_bits": [4, 8], "target_ii": [None, 1]})
    [{'total_bits': 4, 'target_ii': None}, {'total_bits': 4, 'target_ii': 1}, {'total_bits': 8, 'target_ii': None}, {'total_bits': 8, 'target_ii': 1}]
    >>> points({"total_bits": 8})
    Traceback (most recent call last):
    ...
    ValueError: space['total_bits'] must be a list of values, not 8 (int)
    """
    if not isinstance(space, Mapping):
        raise ValueError(
            "space must map parameter names to lists of values (a dict), "
            f"not {type(space).__name__}"
        )
    if not space:
        raise ValueError("space must have at least one parameter, not none ({})")
    values: list[list[Any]] = []
    for name, options in space.items():
        if not isinstance(name, str) or not name:
            raise ValueError(f"space's parameter names must be non-empty strings, not {name!r}")
        if not isinstance(options, list | tuple):
            raise ValueError(
                f"space[{name!r}] must be a list of values, not {options!r} "
                f"({type(options).__name__})"
            )
        if not options:
            raise ValueError(f"space[{name!r}] must hold at least one value, not none ([])")
        values.append([_json_value(name, v) for v in options])
    names = list(space)
    return [
        dict(zip(names, combination, strict=True)) for combination in itertools.product(*values)
    ]


def split(point: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(model parameters, create_design options)`` of ``point``; ``input_shape`` as a
    tuple.

    >>> split({"total_bits": 6, "target_ii": 64, "input_shape": [1, 8]})
    ({'total_bits': 6}, {'target_ii': 64, 'input_shape': (1, 8)})
    """
    model = {k: v for k, v in point.items() if k not in DESIGN_OPTIONS}
    design = {k: v for k, v in point.items() if k in DESIGN_OPTIONS}
    if isinstance(design.get("input_shape"), list):
        design["input_shape"] = tuple(design["input_shape"])
    return model, design


def _json_value(name: str, value: Any) -> Any:
    """``value`` as JSON holds it (tuples as lists), or ``ValueError``."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)  # NumPy's integers too
    if isinstance(value, numbers.Real) and math.isfinite(value):
        return float(value)
    if isinstance(value, list | tuple):
        return [_json_value(name, v) for v in value]
    raise ValueError(
        f"space[{name!r}] may hold JSON values only (None, bool, int, finite float, str, "
        f"or lists of them), not {value!r} ({type(value).__name__})"
    )
