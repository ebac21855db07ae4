"""The integer interpreter: the executable specification of a graph.

Each op's ``interpret`` (one per module in ``elasticai.creator.ops``, its formula in the
docstring) works on integer arrays of shape ``(batch, size)`` (maps flattened channels
last, as they stream); ``run`` applies them in graph order. The PyTorch forward and
the generated VHDL are both tested against this.
"""

from __future__ import annotations

import numpy as np

from elasticai.creator.ir.graph import Graph

__all__ = ["run"]


def run(graph: Graph, x: np.ndarray, *, keep: bool = False) -> np.ndarray | dict[str, np.ndarray]:
    """Integer outputs of ``graph`` (one input, one output) for integer inputs ``x`` of shape
    ``(batch, features)``. With ``keep=True`` returns every value by name."""
    values: dict[str, np.ndarray] = {graph.input.name: np.asarray(x)}
    for node in graph.nodes:
        values[node.name] = node.op.interpret(node, [values[v] for v in node.inputs])
    if keep:
        return values
    return values[graph.output.value]
