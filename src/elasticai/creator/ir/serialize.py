"""``Graph`` as JSON: a versioned, validated, data-only file format (``design.json``).

``graph_to_json`` writes every field of a graph, weights as lists of Python ints
so any width survives; ``graph_from_json`` reads it back exactly. Reading trusts
nothing: it refuses what it would not have written (unknown or missing keys,
unknown ops, wrong types, values out of range, weights that do not fit their
tensors) with a ``ValueError`` naming the field and the value. Nothing in the file
is executed or imported; its strings are data, and names must be VHDL identifiers.

>>> from elasticai.creator.arithmetic import FixedType
>>> from elasticai.creator.ir.graph import TensorType
>>> empty = Graph("net", TensorType((3,), FixedType(8, 4)), ())
>>> graph_from_json(graph_to_json(empty)) == empty
True
>>> graph_from_json(graph_to_json(empty).replace('"version":1', '"version":7'))
Traceback (most recent call last):
...
ValueError: version must be 1 (the only one this elasticai.creator reads), not 7
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from enum import Enum
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from elasticai.creator.arithmetic import FixedType, Overflow, Rounding
from elasticai.creator.ir.graph import (
    Graph,
    LinearParams,
    Node,
    Op,
    ParallelismTarget,
    PiecewiseParams,
    PointwiseParams,
    ReduceParams,
    TensorType,
    WindowParams,
    frozen_array,
)
from elasticai.creator.vhdl.names import check_identifier

__all__ = ["FORMAT", "VERSION", "graph_to_json", "graph_from_json", "load_graph"]

#: The ``"format"`` every file carries.
FORMAT = "elasticai.creator.graph"
#: The one version this code writes and reads.
VERSION = 1

_PICKLE_START = b"\x80"  # the PROTO opcode that starts every pickle of protocol 2 or newer

# --- writing ------------------------------------------------------------------------


def graph_to_json(graph: Graph) -> str:
    """``graph`` as one line of JSON (keys in a fixed order, so equal graphs give equal text)."""
    data = {
        "format": FORMAT,
        "version": VERSION,
        "name": graph.name,
        "input_type": _tensor_json(graph.input_type),
        "input_rounding": graph.input_rounding.value,
        "input_overflow": graph.input_overflow.value,
        "input_lanes": int(graph.input_lanes),
        "parallelism": {
            "ii": _opt_int(graph.parallelism.ii),
            "max_multipliers": _opt_int(graph.parallelism.max_multipliers),
            "full": bool(graph.parallelism.full),
        },
        "meta": [[key, value] for key, value in graph.meta],
        "torch_input_shape": [int(d) for d in graph.torch_input_shape],
        "input_order": [int(i) for i in graph.input_order],
        "torch_output_shape": [int(d) for d in graph.torch_output_shape],
        "output_order": [int(i) for i in graph.output_order],
        "nodes": [_node_json(node) for node in graph.nodes],
    }
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False) + "\n"


def _opt_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _fixed_json(t: FixedType) -> dict[str, int]:
    return {"total_bits": int(t.total_bits), "frac_bits": int(t.frac_bits)}


def _tensor_json(t: TensorType) -> dict[str, Any]:
    return {"shape": [int(d) for d in t.shape], "dtype": _fixed_json(t.dtype)}


def _ints(array: np.ndarray) -> Any:
    """Nested lists of Python ints (``int64`` and ``object`` arrays alike)."""
    if array.dtype != object:
        return array.tolist()
    return np.vectorize(int, otypes=[object])(array).tolist() if array.size else array.tolist()


def _linear_json(p: LinearParams) -> dict[str, Any]:
    return {
        "weight": _ints(p.weight),
        "bias": None if p.bias is None else _ints(p.bias),
        "w_type": _fixed_json(p.w_type),
        "b_type": None if p.b_type is None else _fixed_json(p.b_type),
        "rounding": p.rounding.value,
        "overflow": p.overflow.value,
        "acc_bits": int(p.acc_bits),
        "p_in": int(p.p_in),
        "p_out": int(p.p_out),
        "low": _opt_int(p.low),
        "high": _opt_int(p.high),
        "stages": int(p.stages),
    }


def _pointwise_json(p: PointwiseParams) -> dict[str, Any]:
    return {
        "kind": p.kind,
        **{key: int(getattr(p, key)) for key in ("mul", "add", "shift", "low", "high")},
        "rounding": p.rounding.value,
        "overflow": p.overflow.value,
        "lanes": int(p.lanes),
    }


def _window_json(p: WindowParams) -> dict[str, Any]:
    return {
        "channels": int(p.channels),
        **{key: [int(v) for v in getattr(p, key)] for key in _PAIRS},
        "pad_value": int(p.pad_value),
        "kind": p.kind,
        "lanes": int(p.lanes),
    }


def _reduce_json(p: ReduceParams) -> dict[str, Any]:
    return {"kind": p.kind, "channels": p.channels, "taps": p.taps, "lanes": p.lanes}


def _piecewise_json(p: PiecewiseParams) -> dict[str, Any]:
    return {
        "kind": p.kind,
        **{key: [int(v) for v in getattr(p, key)] for key in ("breaks", "bases", "muls", "adds")},
        "shift": int(p.shift),
        "rounding": p.rounding.value,
        "overflow": p.overflow.value,
        "lanes": int(p.lanes),
    }


_PAIRS = ("in_size", "out_size", "kernel", "stride", "dilation", "padding")


def _node_json(node: Node) -> dict[str, Any]:
    return {
        "name": node.name,
        "op": node.op.value,
        "inputs": list(node.inputs),
        "input_type": _tensor_json(node.input_type),
        "output_type": _tensor_json(node.output_type),
        "params": _PARAMS_JSON[node.op](node.params),
        "source": node.source,
    }


_PARAMS_JSON: dict[Op, Callable[..., dict[str, Any]]] = {
    Op.LINEAR: _linear_json,
    Op.POINTWISE: _pointwise_json,
    Op.WINDOW: _window_json,
    Op.REDUCE: _reduce_json,
    Op.PIECEWISE: _piecewise_json,
}

# --- reading: one reader per kind of value; each names the field it reads ----------------

Reader = Callable[[Any, str], Any]
E = TypeVar("E", bound=Enum)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _wrong(where: str, rule: str, value: Any) -> ValueError:
    return ValueError(f"{where} must be {rule}, not {_show(value)}")


def _int(minimum: int | None = None) -> Reader:
    def read(value: Any, where: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _wrong(where, "an int", value)
        if minimum is not None and value < minimum:
            raise _wrong(where, f"at least {minimum}", value)
        return value

    return read


def _bool(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise _wrong(where, "true or false", value)
    return value


def _text(value: Any, where: str) -> str:
    """A one-line string (data only: it ends up in messages and comments)."""
    if not isinstance(value, str) or any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise _wrong(where, "a string on one line without control characters", value)
    return value


def _identifier(value: Any, where: str) -> str:
    try:
        return check_identifier(_text(value, where), where)
    except TypeError as error:
        raise ValueError(str(error)) from None


def _enum(kind: type[E]) -> Reader:
    names = ", ".join(repr(e.value) for e in kind)

    def read(value: Any, where: str) -> E:
        for member in kind:
            if isinstance(value, str) and member.value == value:
                return member
        raise _wrong(where, f"one of {names}", value)

    return read


def _optional(read: Reader) -> Reader:
    return lambda value, where: None if value is None else read(value, where)


def _list(read: Reader, *, min_length: int = 0) -> Reader:
    def read_list(value: Any, where: str) -> list[Any]:
        if not isinstance(value, list):
            raise _wrong(where, "a list", value)
        if len(value) < min_length:
            raise _wrong(where, f"a list of at least {min_length} items", value)
        return [read(item, f"{where}[{i}]") for i, item in enumerate(value)]

    return read_list


def _fields(value: Any, where: str, schema: Mapping[str, Reader]) -> dict[str, Any]:
    """The keys of a JSON object, each read by its reader; no key more, none less."""
    what = where or "the file"
    if not isinstance(value, dict):
        raise _wrong(what, "an object", value)
    for key in value:
        if key not in schema:
            raise ValueError(f"{what} has an unknown key {key!r} (known: {', '.join(schema)})")
    for key in schema:
        if key not in value:
            raise ValueError(f"{what} lacks the key {key!r}")
    return {key: read(value[key], _join(where, key)) for key, read in schema.items()}


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _build(cls: Callable[..., Any], where: str, fields: dict[str, Any]) -> Any:
    """``cls(**fields)``, its own checks' errors prefixed with ``where``."""
    try:
        return cls(**fields)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{where}: {error}") from None


def _fixed(value: Any, where: str) -> FixedType:
    schema = {"total_bits": _int(2), "frac_bits": _int(0)}
    return _build(FixedType, where, _fields(value, where, schema))


def _tensor(value: Any, where: str) -> TensorType:
    fields = _fields(value, where, {"shape": _list(_int(1), min_length=1), "dtype": _fixed})
    return TensorType(tuple(fields["shape"]), fields["dtype"])


def _parallelism(value: Any, where: str) -> ParallelismTarget:
    schema = {"ii": _optional(_int(1)), "max_multipliers": _optional(_int(1)), "full": _bool}
    return _build(ParallelismTarget, where, _fields(value, where, schema))


def _pair(value: Any, where: str) -> tuple[str, str]:
    if not isinstance(value, list) or len(value) != 2:
        raise _wrong(where, "a list of two strings", value)
    return _text(value[0], f"{where}[0]"), _text(value[1], f"{where}[1]")


def _int_array(values: Any, where: str, shape: tuple[int, ...], t: FixedType) -> np.ndarray:
    """``values`` (nested lists of ints of ``shape``, each within ``t``) as a frozen array."""
    flat: list[int] = []

    def walk(value: Any, at: str, depth: int) -> None:
        if depth == len(shape):
            v = _int()(value, at)
            if not t.min_int <= v <= t.max_int:
                raise _wrong(at, f"within {t} [{t.min_int}, {t.max_int}]", v)
            flat.append(v)
            return
        if not isinstance(value, list) or len(value) != shape[depth]:
            raise _wrong(at, f"a list of {shape[depth]} items (shape {shape})", value)
        for i, item in enumerate(value):
            walk(item, f"{at}[{i}]", depth + 1)

    walk(values, where, 0)
    fits = all(-(1 << 63) <= v < (1 << 63) for v in flat)
    return frozen_array(np.array(flat, dtype=np.int64 if fits else object).reshape(shape))


_ROUNDING = _enum(Rounding)
_OVERFLOW = _enum(Overflow)
_LINEAR = {
    "weight": lambda value, where: value,  # checked against the node's types below
    "bias": lambda value, where: value,
    "w_type": _fixed,
    "b_type": _optional(_fixed),
    "rounding": _ROUNDING,
    "overflow": _OVERFLOW,
    "acc_bits": _int(0),
    "p_in": _int(0),
    "p_out": _int(0),
    "low": _optional(_int()),
    "high": _optional(_int()),
    "stages": _int(0),
}
_POINTWISE = {
    "kind": _identifier,
    **{key: _int() for key in ("mul", "add", "shift", "low", "high")},
    "rounding": _ROUNDING,
    "overflow": _OVERFLOW,
    "lanes": _int(0),
}


def _linear(value: Any, where: str, node: dict[str, Any]) -> LinearParams:
    fields = _fields(value, where, _LINEAR)
    shape = (node["output_type"].shape[-1], node["input_type"].shape[-1])
    fields["weight"] = _int_array(fields["weight"], f"{where}.weight", shape, fields["w_type"])
    if (fields["bias"] is None) != (fields["b_type"] is None):
        raise _wrong(f"{where}.b_type", "null exactly when bias is null", fields["b_type"])
    if fields["bias"] is not None:
        bias_shape = node["output_type"].shape[-1:]
        fields["bias"] = _int_array(fields["bias"], f"{where}.bias", bias_shape, fields["b_type"])
    return LinearParams(**fields)


def _pointwise(value: Any, where: str, node: dict[str, Any]) -> PointwiseParams:
    return PointwiseParams(**_fields(value, where, _POINTWISE))


def _int_pair(minimum: int) -> Reader:
    def read(value: Any, where: str) -> tuple[int, int]:
        if not isinstance(value, list) or len(value) != 2:
            raise _wrong(where, "a list of two ints", value)
        read_int = _int(minimum)
        return read_int(value[0], f"{where}[0]"), read_int(value[1], f"{where}[1]")

    return read


_WINDOW = {
    "channels": _int(1),
    "in_size": _int_pair(1),
    "out_size": _int_pair(1),
    "kernel": _int_pair(1),
    "stride": _int_pair(1),
    "dilation": _int_pair(1),
    "padding": _int_pair(0),
    "pad_value": _int(),
    "kind": _identifier,
    "lanes": _int(0),
}
_REDUCE = {"kind": _identifier, "channels": _int(1), "taps": _int(1), "lanes": _int(0)}
_PIECEWISE = {
    "kind": _identifier,
    **{key: _list(_int(), min_length=1) for key in ("breaks", "bases", "muls", "adds")},
    "shift": _int(0),
    "rounding": _ROUNDING,
    "overflow": _OVERFLOW,
    "lanes": _int(0),
}


def _window(value: Any, where: str, node: dict[str, Any]) -> WindowParams:
    return _build(WindowParams, where, _fields(value, where, _WINDOW))


def _reduce(value: Any, where: str, node: dict[str, Any]) -> ReduceParams:
    fields = _fields(value, where, _REDUCE)
    if fields["kind"] not in ("max", "sum"):
        raise _wrong(f"{where}.kind", "'max' or 'sum'", fields["kind"])
    return ReduceParams(**fields)


def _piecewise(value: Any, where: str, node: dict[str, Any]) -> PiecewiseParams:
    fields = _fields(value, where, _PIECEWISE)
    for key in ("breaks", "bases", "muls", "adds"):
        fields[key] = tuple(fields[key])
    return _build(PiecewiseParams, where, fields)


_PARAMS: dict[Op, Callable[[Any, str, dict[str, Any]], Any]] = {
    Op.LINEAR: _linear,
    Op.POINTWISE: _pointwise,
    Op.WINDOW: _window,
    Op.REDUCE: _reduce,
    Op.PIECEWISE: _piecewise,
}
_NODE = {
    "name": _identifier,
    "op": _enum(Op),
    "inputs": _list(_text),
    "input_type": _tensor,
    "output_type": _tensor,
    "params": lambda value, where: value,  # read by _PARAMS[op] once op is known
    "source": _text,
}


def _node(value: Any, where: str) -> Node:
    fields = _fields(value, where, _NODE)
    fields["inputs"] = tuple(fields["inputs"])
    fields["params"] = _PARAMS[fields["op"]](fields["params"], f"{where}.params", fields)
    return Node(**fields)


_GRAPH = {
    "format": lambda value, where: value,  # checked before anything else
    "version": lambda value, where: value,
    "name": _identifier,
    "input_type": _tensor,
    "input_rounding": _ROUNDING,
    "input_overflow": _OVERFLOW,
    "input_lanes": _int(0),
    "parallelism": _parallelism,
    "meta": _list(_pair),
    "torch_input_shape": _list(_int(1)),
    "input_order": _list(_int(0)),
    "torch_output_shape": _list(_int(1)),
    "output_order": _list(_int(0)),
    "nodes": _list(_node),
}


def graph_from_json(text: str) -> Graph:
    """The graph ``graph_to_json`` wrote as ``text``; ``ValueError`` for anything else.

    Besides each field, the graph's structure is checked (``passes.verify.verify``).
    """
    from elasticai.creator.passes.verify import verify

    if not isinstance(text, str):
        raise TypeError(f"graph_from_json reads a str, not {type(text).__name__}")
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except RecursionError:
        raise ValueError("not a design file: JSON nested too deeply") from None
    except ValueError as error:
        raise ValueError(f"not valid JSON: {error}") from None
    if not isinstance(data, dict):
        raise _wrong("the file", "a JSON object", data)
    if data.get("format") != FORMAT:
        raise _wrong("format", repr(FORMAT), data.get("format"))
    version = data.get("version")
    if isinstance(version, bool) or version != VERSION:
        raise _wrong("version", f"{VERSION} (the only one this elasticai.creator reads)", version)
    fields = _fields(data, "", _GRAPH)
    del fields["format"], fields["version"]
    fields["meta"] = tuple(fields["meta"])
    for key in ("torch_input_shape", "input_order", "torch_output_shape", "output_order"):
        fields[key] = tuple(fields[key])
    fields["nodes"] = tuple(fields["nodes"])
    return verify(Graph(**fields))


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"the key {key!r} appears twice in one object")
        result[key] = value
    return result


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def load_graph(path: str | os.PathLike[str]) -> Graph:
    """The graph of a saved design: ``path`` is its ``design.json`` or the folder holding it.

    The graph is checked as ``graph_from_json`` checks it and then verified as settled
    (``passes.verify.verify_settled``), so it can be lowered as it is. Errors are
    ``ValueError`` starting with the file's path.
    """
    from elasticai.creator.passes.verify import verify_settled

    file = Path(path)
    if file.is_dir():
        file = file / "design.json"
    data = file.read_bytes()
    if data.startswith(_PICKLE_START):
        raise ValueError(
            f"{file} is a pickle, not a JSON design file; elasticai.creator never loads pickles"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ValueError(f"{file} is not UTF-8 text (a design file is JSON): {error}") from None
    try:
        return verify_settled(graph_from_json(text))
    except ValueError as error:
        raise ValueError(f"{file}: {error}") from None
