"""Check the invariants the backend relies on; raise ``ValueError`` naming the broken rule.

The structure (names, order, arity, types along every edge) is checked here once for
every op; what only an op knows it checks itself (``OpDef.check``).
"""

from __future__ import annotations

from elasticai.creator.ir.graph import Graph


def verify(graph: Graph, *, settled: bool = False) -> Graph:
    """Every node reads values defined before it, with the types it expects; every op
    fits its tensors; with ``settled=True`` also every width and lane count is decided
    and every stream carries the lanes its reader takes."""
    if not graph.inputs:
        raise ValueError(f"{graph.name} has no input")
    defined = {}
    for i in graph.inputs:
        if i.name in defined:
            raise ValueError(f"input names must be unique, {i.name!r} is not")
        defined[i.name] = i.type
        if settled and i.lanes < 1:
            raise ValueError(f"input {i.name!r}: lanes must be at least 1, not {i.lanes}")
    for node in graph.nodes:
        where = node.where
        if node.name in defined:
            raise ValueError(f"node names must be unique, {node.name!r} is not")
        if len(node.inputs) != node.op.arity or len(node.input_types) != node.op.arity:
            raise ValueError(
                f"{where}: a {node.op.name} reads {node.op.arity} value(s), not "
                f"{len(node.inputs)} (with {len(node.input_types)} types)"
            )
        for source, expected in zip(node.inputs, node.input_types, strict=True):
            if source not in defined:
                raise ValueError(f"{where} reads {source!r}, which is not defined before it")
            given = defined[source]
            if given.dtype != expected.dtype or given.size != expected.size:
                # the same stream may be read in another shape (Flatten), not another size
                raise ValueError(f"{where} expects {expected}, but {source!r} is {given}")
        node.op.check(node, settled)
        defined[node.name] = node.output_type
    if not graph.outputs:
        raise ValueError(f"{graph.name} has no output")
    for out in graph.outputs:
        if out.value not in defined:
            raise ValueError(f"the output {out.value!r} is not a value of the graph")
    if settled:
        lanes = {i.name: i.lanes for i in graph.inputs}
        lanes.update((n.name, n.op.lanes) for n in graph.nodes)
        for node in graph.nodes:
            lanes_in = [lanes[v] for v in node.inputs]
            if not node.op.accepts(node, lanes_in):
                raise ValueError(
                    f"{node.where}: a {node.op.name} with {node.op.lanes} output lanes does not "
                    f"read streams of {lanes_in} lanes"
                )
    return graph


def verify_settled(graph: Graph) -> Graph:
    """``verify`` plus: everything the backend needs is decided."""
    return verify(graph, settled=True)
