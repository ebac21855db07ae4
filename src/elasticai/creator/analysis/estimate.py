"""Analytic resource estimate: LUT, FF, DSP, BRAM, CARRY per node, from the graph alone.

No synthesis: milliseconds for any model. Each op counts the registers and adders its
library entity instantiates (``OpDef.estimate``, coefficients fitted to Yosys
``synth_xilinx`` results on 13 layers); a value read by several nodes adds an
``ec_fork``. ``tests/sim/test_report.py`` keeps the estimate within a factor of two.
"""

from __future__ import annotations

from elasticai.creator.analysis.resources import KEYS, csd_digits, nothing
from elasticai.creator.ir.graph import Graph

__all__ = ["estimate", "fork_cost", "csd_digits", "KEYS"]


def fork_cost(outputs: int) -> dict[str, int]:
    """``ec_fork``: a flag and a gate per consumer."""
    return {**nothing(), "lut": 2 * outputs + 1, "ff": outputs}


def estimate(graph: Graph) -> tuple[dict[str, int], dict[str, dict[str, int]]]:
    """``(total, per node)`` with the keys ``lut``, ``ff``, ``dsp``, ``bram``, ``carry`` and
    ``fifo_bits`` (the storage of skip-path buffers). Forks count towards the total."""
    per_node: dict[str, dict[str, int]] = {}
    for node in graph.nodes:
        lanes_in = [max(1, graph.lanes(v)) for v in node.inputs]
        per_node[node.name] = {"fifo_bits": 0, **node.op.estimate(node, lanes_in)}
    total = {key: sum(v[key] for v in per_node.values()) for key in (*KEYS, "fifo_bits")}
    for readers in graph.consumers().values():
        if len(readers) > 1:
            for key, value in fork_cost(len(readers)).items():
                total[key] += value
    return total, per_node
