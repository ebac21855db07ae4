"""Intermediate representation (graph), its verifier and its integer interpreter."""

from elasticai.creator.ir.graph import (
    INPUT,
    Graph,
    LinearParams,
    Node,
    Op,
    ParallelismTarget,
    PointwiseParams,
    TensorType,
    frozen_array,
)

__all__ = [
    "INPUT",
    "Graph",
    "LinearParams",
    "Node",
    "Op",
    "ParallelismTarget",
    "PointwiseParams",
    "TensorType",
    "frozen_array",
]
