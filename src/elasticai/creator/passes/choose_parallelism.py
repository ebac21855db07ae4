"""Decide how many elements travel per beat between layers.

For now every layer computes with one multiply-accumulate unit and every
stream carries one element per beat; the knob lives in
``LinearParams.p_in``/``p_out`` and ``PointwiseParams.lanes`` and this pass is
where a model-wide setting will be turned into per-layer values.
"""

from __future__ import annotations

from elasticai.creator.ir.graph import Graph, Op


def choose_parallelism(graph: Graph) -> Graph:
    """Give each node the lane count of the stream it reads (one MAC per Linear)."""
    lanes = graph.input_lanes
    nodes = []
    for node in graph.nodes:
        if node.op is Op.LINEAR:
            node = node.with_params(p_in=lanes, p_out=node.params.p_out)  # type: ignore[union-attr]
            lanes = node.params.p_out  # type: ignore[union-attr]
        else:
            node = node.with_params(lanes=lanes)
        nodes.append(node)
    return graph.replace_nodes(nodes)
