"""``Graph`` as JSON: a versioned, validated, data-only file format (``design.json``).

``graph_to_json`` writes every field of a graph, each op's constants through the op's
own ``to_json`` (weights as lists of Python ints, so any width survives);
``graph_from_json`` reads it back exactly. Reading trusts nothing: it refuses what it
would not have written (unknown or missing keys, unknown ops, wrong types, values out
of range, weights that do not fit their tensors) with a ``ValueError`` naming the
field and the value. Nothing in the file is executed or imported; its strings are
data, and names must be VHDL identifiers. Files of version 1 (chains, before graphs
had explicit inputs and outputs) are read as well.

>>> from elasticai.creator.arithmetic import FixedType
>>> from elasticai.creator.ir.graph import TensorType
>>> empty = Graph.chain("net", TensorType((3,), FixedType(8, 4)), ())
>>> graph_from_json(graph_to_json(empty)) == empty
True
>>> graph_from_json(graph_to_json(empty).replace('"version":2', '"version":7'))
Traceback (most recent call last):
...
ValueError: version must be 1 or 2 (the ones this elasticai.creator reads), not 7
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from elasticai.creator.ir import readers as r
from elasticai.creator.ir.graph import (
    INPUT,
    Graph,
    GraphInput,
    GraphOutput,
    Node,
    ParallelismTarget,
)
from elasticai.creator.ir.types import TensorType
from elasticai.creator.ops import OPS

__all__ = ["FORMAT", "VERSION", "graph_to_json", "graph_from_json", "load_graph"]

#: The ``"format"`` every file carries.
FORMAT = "elasticai.creator.graph"
#: The version this code writes (it reads 1 too).
VERSION = 2

_PICKLE_START = b"\x80"  # the PROTO opcode that starts every pickle of protocol 2 or newer

# --- writing ------------------------------------------------------------------------


def graph_to_json(graph: Graph) -> str:
    """``graph`` as one line of JSON (keys in a fixed order, so equal graphs give equal text)."""
    data = {
        "format": FORMAT,
        "version": VERSION,
        "name": graph.name,
        "inputs": [
            {
                "name": i.name,
                "type": _tensor_json(i.type),
                "rounding": i.rounding.value,
                "overflow": i.overflow.value,
                "lanes": int(i.lanes),
                "torch_shape": [int(d) for d in i.torch_shape],
                "order": [int(k) for k in i.order],
            }
            for i in graph.inputs
        ],
        "outputs": [
            {
                "value": o.value,
                "torch_shape": [int(d) for d in o.torch_shape],
                "order": [int(k) for k in o.order],
            }
            for o in graph.outputs
        ],
        "parallelism": {
            "ii": _opt_int(graph.parallelism.ii),
            "max_multipliers": _opt_int(graph.parallelism.max_multipliers),
            "full": bool(graph.parallelism.full),
            "pipeline_levels": _opt_int(graph.parallelism.pipeline_levels),
        },
        "meta": [[key, value] for key, value in graph.meta],
        "nodes": [_node_json(node) for node in graph.nodes],
    }
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False) + "\n"


def _opt_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _tensor_json(t: TensorType) -> dict[str, Any]:
    return {"shape": [int(d) for d in t.shape], "dtype": r.fixed_json(t.dtype)}


def _node_json(node: Node) -> dict[str, Any]:
    return {
        "name": node.name,
        "op": node.op.name,
        "inputs": list(node.inputs),
        "input_types": [_tensor_json(t) for t in node.input_types],
        "output_type": _tensor_json(node.output_type),
        "params": node.op.to_json(),
        "source": node.source,
    }


# --- reading ------------------------------------------------------------------------


def _op(value: Any, where: str) -> str:
    if isinstance(value, str) and value in OPS:
        return value
    names = ", ".join(repr(name) for name in OPS)
    raise r.wrong(where, f"one of {names}", value)


def _parallelism(value: Any, where: str) -> ParallelismTarget:
    schema = {
        "ii": r.optional(r.integer(1)),
        "max_multipliers": r.optional(r.integer(1)),
        "full": r.boolean,
        "pipeline_levels": r.optional(r.integer(1)),
    }
    value = {"pipeline_levels": None, **value} if isinstance(value, dict) else value
    return r.build(ParallelismTarget, where, r.fields(value, where, schema))


def _pair(value: Any, where: str) -> tuple[str, str]:
    if not isinstance(value, list) or len(value) != 2:
        raise r.wrong(where, "a list of two strings", value)
    return r.text(value[0], f"{where}[0]"), r.text(value[1], f"{where}[1]")


def _node(value: Any, where: str, schema: dict[str, r.Reader]) -> Node:
    read = r.fields(value, where, schema)
    if "input_type" in read:  # version 1: one input
        read["input_types"] = [read.pop("input_type")]
    read["inputs"] = tuple(read["inputs"])
    read["input_types"] = tuple(read["input_types"])
    read["op"] = OPS[read["op"]].from_json(read.pop("params"), f"{where}.params", read)
    return Node(**read)


_NODE = {
    "name": r.identifier,
    "op": _op,
    "inputs": r.listing(r.text),
    "input_types": r.listing(r.tensor, min_length=1),
    "output_type": r.tensor,
    "params": lambda value, where: value,  # read by the op once it is known
    "source": r.text,
}
_NODE_V1 = {
    "name": r.identifier,
    "op": _op,
    "inputs": r.listing(r.text),
    "input_type": r.tensor,
    "output_type": r.tensor,
    "params": lambda value, where: value,
    "source": r.text,
}
_INPUT = {
    "name": r.identifier,
    "type": r.tensor,
    "rounding": r.ROUNDING,
    "overflow": r.OVERFLOW,
    "lanes": r.integer(0),
    "torch_shape": r.listing(r.integer(1)),
    "order": r.listing(r.integer(0)),
}
_OUTPUT = {
    "value": r.identifier,
    "torch_shape": r.listing(r.integer(1)),
    "order": r.listing(r.integer(0)),
}


def _tuples(read: dict[str, Any], *keys: str) -> dict[str, Any]:
    for key in keys:
        read[key] = tuple(read[key])
    return read


def _graph_input(value: Any, where: str) -> GraphInput:
    return GraphInput(**_tuples(r.fields(value, where, _INPUT), "torch_shape", "order"))


def _graph_output(value: Any, where: str) -> GraphOutput:
    return GraphOutput(**_tuples(r.fields(value, where, _OUTPUT), "torch_shape", "order"))


_GRAPH = {
    "format": lambda value, where: value,  # checked before anything else
    "version": lambda value, where: value,
    "name": r.identifier,
    "inputs": r.listing(_graph_input, min_length=1),
    "outputs": r.listing(_graph_output, min_length=1),
    "parallelism": _parallelism,
    "meta": r.listing(_pair),
    "nodes": r.listing(lambda value, where: _node(value, where, _NODE)),
}
_GRAPH_V1 = {
    "format": lambda value, where: value,
    "version": lambda value, where: value,
    "name": r.identifier,
    "input_type": r.tensor,
    "input_rounding": r.ROUNDING,
    "input_overflow": r.OVERFLOW,
    "input_lanes": r.integer(0),
    "parallelism": _parallelism,
    "meta": r.listing(_pair),
    "torch_input_shape": r.listing(r.integer(1)),
    "input_order": r.listing(r.integer(0)),
    "torch_output_shape": r.listing(r.integer(1)),
    "output_order": r.listing(r.integer(0)),
    "nodes": r.listing(lambda value, where: _node(value, where, _NODE_V1)),
}


def _from_v1(read: dict[str, Any]) -> Graph:
    """A version 1 file: a chain from the input ``x`` to its last node."""
    nodes = tuple(read["nodes"])
    graph_input = GraphInput(
        INPUT,
        read["input_type"],
        read["input_rounding"],
        read["input_overflow"],
        read["input_lanes"],
        tuple(read["torch_input_shape"]),
        tuple(read["input_order"]),
    )
    output = GraphOutput(
        nodes[-1].name if nodes else INPUT,
        tuple(read["torch_output_shape"]),
        tuple(read["output_order"]),
    )
    return Graph(
        read["name"], (graph_input,), nodes, (output,), read["parallelism"], tuple(read["meta"])
    )


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
        raise r.wrong("the file", "a JSON object", data)
    if data.get("format") != FORMAT:
        raise r.wrong("format", repr(FORMAT), data.get("format"))
    version = data.get("version")
    if isinstance(version, bool) or version not in (1, VERSION):
        raise r.wrong("version", "1 or 2 (the ones this elasticai.creator reads)", version)
    if version == 1:
        return verify(_from_v1(r.fields(data, "", _GRAPH_V1)))
    read = r.fields(data, "", _GRAPH)
    del read["format"], read["version"]
    return verify(Graph(**_tuples(read, "inputs", "outputs", "meta", "nodes")))


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
