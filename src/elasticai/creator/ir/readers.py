"""Readers of ``design.json`` values: each checks one kind of value and names the field.

A reader is ``read(value, where) -> value``; it raises ``ValueError`` saying which rule
``where`` broke and with which value. ``ir.serialize`` and every op's ``from_json``
build their schemas from these.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import Enum
from typing import Any, TypeVar

import numpy as np

from elasticai.creator.arithmetic import FixedType, Overflow, Rounding
from elasticai.creator.ir.types import TensorType, frozen_array
from elasticai.creator.vhdl.names import check_identifier

__all__ = [
    "Reader",
    "wrong",
    "integer",
    "boolean",
    "text",
    "identifier",
    "enum",
    "optional",
    "listing",
    "int_pair",
    "fields",
    "build",
    "fixed",
    "tensor",
    "int_array",
    "ROUNDING",
    "OVERFLOW",
]

Reader = Callable[[Any, str], Any]
E = TypeVar("E", bound=Enum)


def _show(value: Any) -> str:
    shown = repr(value)
    return shown if len(shown) <= 80 else shown[:77] + "..."


def wrong(where: str, rule: str, value: Any) -> ValueError:
    return ValueError(f"{where} must be {rule}, not {_show(value)}")


def integer(minimum: int | None = None) -> Reader:
    def read(value: Any, where: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise wrong(where, "an int", value)
        if minimum is not None and value < minimum:
            raise wrong(where, f"at least {minimum}", value)
        return value

    return read


def boolean(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise wrong(where, "true or false", value)
    return value


def text(value: Any, where: str) -> str:
    """A one-line string (data only: it ends up in messages and comments)."""
    if not isinstance(value, str) or any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise wrong(where, "a string on one line without control characters", value)
    return value


def identifier(value: Any, where: str) -> str:
    try:
        return check_identifier(text(value, where), where)
    except TypeError as error:
        raise ValueError(str(error)) from None


def enum(kind: type[E]) -> Reader:
    names = ", ".join(repr(e.value) for e in kind)

    def read(value: Any, where: str) -> E:
        for member in kind:
            if isinstance(value, str) and member.value == value:
                return member
        raise wrong(where, f"one of {names}", value)

    return read


def optional(read: Reader) -> Reader:
    return lambda value, where: None if value is None else read(value, where)


def listing(read: Reader, *, min_length: int = 0) -> Reader:
    def read_list(value: Any, where: str) -> list[Any]:
        if not isinstance(value, list):
            raise wrong(where, "a list", value)
        if len(value) < min_length:
            raise wrong(where, f"a list of at least {min_length} items", value)
        return [read(item, f"{where}[{i}]") for i, item in enumerate(value)]

    return read_list


def int_pair(minimum: int) -> Reader:
    def read(value: Any, where: str) -> tuple[int, int]:
        if not isinstance(value, list) or len(value) != 2:
            raise wrong(where, "a list of two ints", value)
        read_int = integer(minimum)
        return read_int(value[0], f"{where}[0]"), read_int(value[1], f"{where}[1]")

    return read


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def fields(value: Any, where: str, schema: Mapping[str, Reader]) -> dict[str, Any]:
    """The keys of a JSON object, each read by its reader; no key more, none less."""
    what = where or "the file"
    if not isinstance(value, dict):
        raise wrong(what, "an object", value)
    for key in value:
        if key not in schema:
            raise ValueError(f"{what} has an unknown key {key!r} (known: {', '.join(schema)})")
    for key in schema:
        if key not in value:
            raise ValueError(f"{what} lacks the key {key!r}")
    return {key: read(value[key], _join(where, key)) for key, read in schema.items()}


def build(cls: Callable[..., Any], where: str, values: dict[str, Any]) -> Any:
    """``cls(**values)``, its own checks' errors prefixed with ``where``."""
    try:
        return cls(**values)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{where}: {error}") from None


def fixed(value: Any, where: str) -> FixedType:
    schema = {"total_bits": integer(2), "frac_bits": integer(0)}
    return build(FixedType, where, fields(value, where, schema))


def tensor(value: Any, where: str) -> TensorType:
    read = fields(value, where, {"shape": listing(integer(1), min_length=1), "dtype": fixed})
    return TensorType(tuple(read["shape"]), read["dtype"])


def int_array(values: Any, where: str, shape: tuple[int, ...], t: FixedType) -> np.ndarray:
    """``values`` (nested lists of ints of ``shape``, each within ``t``) as a frozen array."""
    flat: list[int] = []

    def walk(value: Any, at: str, depth: int) -> None:
        if depth == len(shape):
            v = integer()(value, at)
            if not t.min_int <= v <= t.max_int:
                raise wrong(at, f"within {t} [{t.min_int}, {t.max_int}]", v)
            flat.append(v)
            return
        if not isinstance(value, list) or len(value) != shape[depth]:
            raise wrong(at, f"a list of {shape[depth]} items (shape {shape})", value)
        for i, item in enumerate(value):
            walk(item, f"{at}[{i}]", depth + 1)

    walk(values, where, 0)
    fits = all(-(1 << 63) <= v < (1 << 63) for v in flat)
    return frozen_array(np.array(flat, dtype=np.int64 if fits else object).reshape(shape))


def ints(array: np.ndarray) -> Any:
    """Nested lists of Python ints (``int64`` and ``object`` arrays alike)."""
    if array.dtype != object:
        return array.tolist()
    return np.vectorize(int, otypes=[object])(array).tolist() if array.size else array.tolist()


def fixed_json(t: FixedType) -> dict[str, int]:
    return {"total_bits": int(t.total_bits), "frac_bits": int(t.frac_bits)}


ROUNDING = enum(Rounding)
OVERFLOW = enum(Overflow)
