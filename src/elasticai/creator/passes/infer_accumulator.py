"""Settle every Linear accumulator's width from its actual weights and input format."""

from __future__ import annotations

from elasticai.creator.arithmetic import signed_width
from elasticai.creator.ir.graph import Graph, Op
from elasticai.creator.ir.interpret import linear_accumulator_range


def infer_accumulator(graph: Graph) -> Graph:
    """``acc_bits`` = fewest bits that hold every partial sum (see ``linear_accumulator_range``)."""
    nodes = []
    for node in graph.nodes:
        if node.op is Op.LINEAR:
            node = node.with_params(acc_bits=signed_width(*linear_accumulator_range(node)))
        nodes.append(node)
    return graph.replace_nodes(nodes)
