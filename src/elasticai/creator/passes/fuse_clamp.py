"""Merge a ReLU or HardTanh into the Linear before it: one pipeline stage less.

A pointwise node that only clamps (``mul=1, add=0, shift=0``), keeps the format,
and reads a Linear's output becomes the Linear's ``low``/``high``:
``clamp(requantize(acc), low, high)`` is exactly what the two nodes computed.
"""

from __future__ import annotations

from dataclasses import replace

from elasticai.creator.ir.graph import Graph, LinearParams, Node, Op, PointwiseParams


def _is_plain_clamp(node: Node, producer: Node) -> bool:
    p = node.params
    return (
        isinstance(p, PointwiseParams)
        and (p.mul, p.add, p.shift) == (1, 0, 0)
        and node.input_type == node.output_type == producer.output_type
        and node.output_type.dtype.min_int <= p.low <= p.high <= node.output_type.dtype.max_int
    )


def fuse_clamp(graph: Graph) -> Graph:
    readers: dict[str, int] = {}
    for node in graph.nodes:
        for source in node.inputs:
            readers[source] = readers.get(source, 0) + 1
    nodes: list[Node] = []
    renamed: dict[str, str] = {}
    for node in graph.nodes:
        node = replace(node, inputs=tuple(renamed.get(s, s) for s in node.inputs))
        producer = nodes[-1] if nodes else None
        if (
            producer is not None
            and producer.op is Op.LINEAR
            and node.inputs == (producer.name,)
            and readers.get(producer.name) == 1
            and _is_plain_clamp(node, producer)
        ):
            p, q = producer.params, node.params
            assert isinstance(p, LinearParams) and isinstance(q, PointwiseParams)
            low = q.low if p.low is None else max(p.low, q.low)
            high = q.high if p.high is None else min(p.high, q.high)
            fused = producer.with_params(low=low, high=high)
            nodes[-1] = replace(fused, source=f"{producer.source} + {node.source}")
            renamed[node.name] = producer.name
            continue
        nodes.append(node)
    return graph.replace_nodes(nodes)
