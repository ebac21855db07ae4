"""Settle every Linear accumulator's width from its actual weights and input format."""

from __future__ import annotations

from elasticai.creator.arithmetic import signed_width
from elasticai.creator.ir.graph import Graph
from elasticai.creator.ops import LinearOp


def infer_accumulator(graph: Graph) -> Graph:
    """``acc_bits`` = fewest bits that hold every partial sum (``LinearOp.accumulator_range``)."""
    nodes = []
    for node in graph.nodes:
        if isinstance(node.op, LinearOp):
            node = node.with_op(acc_bits=signed_width(*node.op.accumulator_range(node)))
        nodes.append(node)
    return graph.replace_nodes(nodes)
