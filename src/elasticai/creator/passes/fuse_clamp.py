"""Merge a ReLU or HardTanh into the Linear before it: one pipeline stage less.

A pointwise node that only clamps (``mul=1, add=0, shift=0``), keeps the format, and
is the only reader of a Linear's output becomes the Linear's ``low``/``high``:
``clamp(requantize(acc), low, high)`` is exactly what the two nodes computed. A second
clamp after it merges the same way.
"""

from __future__ import annotations

from dataclasses import replace

from elasticai.creator.arithmetic import clamp
from elasticai.creator.ir.graph import Graph, Node
from elasticai.creator.ops import LinearOp, PointwiseOp


def _is_plain_clamp(node: Node, producer: Node) -> bool:
    p = node.op
    return (
        isinstance(p, PointwiseOp)
        and p.is_clamp()
        and node.input_type == node.output_type == producer.output_type
        and node.output_type.dtype.min_int <= p.low <= p.high <= node.output_type.dtype.max_int
    )


def fuse_clamp(graph: Graph) -> Graph:
    readers = graph.consumers()
    nodes: dict[str, Node] = {}
    renamed: dict[str, str] = {}
    for node in graph.nodes:
        node = replace(node, inputs=tuple(renamed.get(s, s) for s in node.inputs))
        producer = nodes.get(node.inputs[0])
        if (
            producer is not None
            and isinstance(producer.op, LinearOp)
            and len(node.inputs) == 1
            and len(readers[producer.name]) == 1
            and _is_plain_clamp(node, producer)
        ):
            p, q = producer.op, node.op
            assert isinstance(q, PointwiseOp)
            # clamp(clamp(y, a, b), c, d) is clamp(y, clamp(a, c, d), clamp(b, c, d)),
            # also where [a, b] and [c, d] do not overlap (a constant then)
            low = q.low if p.low is None else clamp(p.low, q.low, q.high)
            high = q.high if p.high is None else clamp(p.high, q.low, q.high)
            fused = producer.with_op(low=low, high=high)
            nodes[producer.name] = replace(fused, source=f"{producer.source} + {node.source}")
            renamed[node.name] = producer.name
            # the fused node's value is now the clamp's, read by the clamp's readers
            readers[producer.name] = readers[node.name]
            continue
        nodes[node.name] = node
    for old, new in renamed.items():
        graph = graph.rename_output(old, new)
    return graph.replace_nodes(nodes.values())
