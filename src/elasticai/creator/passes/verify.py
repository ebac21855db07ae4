"""Check the invariants the backend relies on; raise ``ValueError`` naming the broken rule."""

from __future__ import annotations

from elasticai.creator.ir.graph import (
    INPUT,
    Graph,
    LinearParams,
    Op,
    PiecewiseParams,
    PointwiseParams,
    ReduceParams,
    WindowParams,
)


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
            given = defined[source]
            if given.dtype != node.input_type.dtype or given.size != node.input_type.size:
                # the same stream may be read in another shape (Flatten), not another size
                raise ValueError(
                    f"{where} expects {node.input_type}, but {source!r} is {defined[source]}"
                )
        p = node.params
        if node.op is Op.LINEAR:
            assert isinstance(p, LinearParams)
            out_features, in_features = p.weight.shape
            shape_in, shape_out = node.input_type.shape, node.output_type.shape
            if (
                shape_in[-1] != in_features
                or shape_out[-1] != out_features
                or shape_in[:-1] != shape_out[:-1]
            ):
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
        elif node.op is Op.WINDOW:
            assert isinstance(p, WindowParams)
            expected = (
                (*p.out_size, p.window)
                if len(node.output_type.shape) == 3
                else (
                    p.positions,
                    p.window,
                )
            )
            if (
                node.input_type.size != p.in_size[0] * p.in_size[1] * p.channels
                or node.output_type.shape != expected
                or node.input_type.dtype != node.output_type.dtype
            ):
                raise ValueError(f"{where}: window {p} does not fit its tensors")
            if settled and p.lanes < 1:
                raise ValueError(f"{where}: lanes must be at least 1, not {p.lanes}")
        elif node.op is Op.REDUCE:
            assert isinstance(p, ReduceParams)
            if node.input_type.size != node.output_type.size * p.taps or (
                node.output_type.shape[-1] != p.channels
            ):
                raise ValueError(f"{where}: reducing {p.taps} taps does not fit its tensors")
            if settled and (p.lanes < 1 or p.channels % p.lanes):
                raise ValueError(f"{where}: lanes must divide the channels, not {p.lanes}")
        elif node.op is Op.PIECEWISE:
            assert isinstance(p, PiecewiseParams)
            if node.input_type.shape != node.output_type.shape:
                raise ValueError(f"{where}: a piecewise function keeps its shape")
            if settled and p.lanes < 1:
                raise ValueError(f"{where}: lanes must be at least 1, not {p.lanes}")
        defined[node.name] = node.output_type
    return graph


def verify_settled(graph: Graph) -> Graph:
    """``verify`` plus: everything the backend needs is decided."""
    return verify(graph, settled=True)
