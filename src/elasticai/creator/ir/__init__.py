"""Intermediate representation: the graph, the op interface and the integer interpreter."""

from elasticai.creator.ir.graph import (
    INPUT,
    Graph,
    GraphInput,
    GraphOutput,
    Node,
    ParallelismTarget,
)
from elasticai.creator.ir.op import OpDef
from elasticai.creator.ir.types import TensorType, frozen_array

__all__ = [
    "INPUT",
    "Graph",
    "GraphInput",
    "GraphOutput",
    "Node",
    "OpDef",
    "ParallelismTarget",
    "TensorType",
    "frozen_array",
]
