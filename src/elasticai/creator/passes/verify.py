"""Check the invariants the backend relies on; raise ``ValueError`` naming the broken rule."""

from __future__ import annotations

from elasticai.creator.ir.graph import INPUT, Graph, LinearParams, Op, PointwiseParams


def verify(graph: Graph, *, settled: bool = False) -> Graph:
    """Every node reads a value defined before it and shapes chain; with
    ``settled=True`` also every width and parallelism is decided."""
    defined = {INPUT: graph.input_type}
    names = set()
    for node in graph.nodes:
        where = node.source or node.name
        if node.name in names or node.name == INPUT:
            raise ValueError(f"node names must be unique, {node.name!r} is not")
        names.add(node.name)
        for source in node.inputs:
            if source not in defined:
                raise ValueError(f"{where} reads {source!r}, which is not defined before it")
            if defined[source] != node.input_type:
                raise ValueError(
                    f"{where} expects {node.input_type}, but {source!r} is {defined[source]}"
                )
        p = node.params
        if node.op is Op.LINEAR:
            assert isinstance(p, LinearParams)
            out_features, in_features = p.weight.shape
            if node.input_type.shape != (in_features,) or node.output_type.shape != (out_features,):
                raise ValueError(f"{where}: weight shape {p.weight.shape} does not fit its tensors")
            if settled and p.acc_bits < 1:
                raise ValueError(f"{where}: accumulator width not settled ({p.acc_bits})")
            if p.b_type is not None and p.bias_shift(node.input_type.dtype) < 0:
                raise ValueError(f"{where}: bias has more fractional bits than the accumulator")
            if settled and min(p.p_in, p.p_out) < 1:
                raise ValueError(f"{where}: parallelism must be at least 1, not {p.p_in}x{p.p_out}")
        elif node.op is Op.POINTWISE:
            assert isinstance(p, PointwiseParams)
            if node.input_type.shape != node.output_type.shape:
                raise ValueError(f"{where}: a pointwise operation keeps its shape")
            if settled and p.lanes < 1:
                raise ValueError(f"{where}: lanes must be at least 1, not {p.lanes}")
            if p.low > p.high:
                raise ValueError(f"{where}: clamp range [{p.low}, {p.high}] is empty")
        defined[node.name] = node.output_type
    return graph


def verify_settled(graph: Graph) -> Graph:
    """``verify`` plus: everything the backend needs is decided."""
    return verify(graph, settled=True)
