"""Graph -> Graph passes, applied in the order of ``PIPELINE``."""

from __future__ import annotations

from collections.abc import Callable

from elasticai.creator.ir.graph import Graph
from elasticai.creator.passes.choose_parallelism import choose_parallelism
from elasticai.creator.passes.fuse_clamp import fuse_clamp
from elasticai.creator.passes.infer_accumulator import infer_accumulator
from elasticai.creator.passes.insert_buffers import insert_buffers
from elasticai.creator.passes.verify import verify, verify_settled

Pass = Callable[[Graph], Graph]

#: Every pass, in the order it runs. The backend sees only the result.
PIPELINE: tuple[Pass, ...] = (
    verify,
    fuse_clamp,
    infer_accumulator,
    choose_parallelism,
    insert_buffers,
    verify_settled,
)


def run_pipeline(graph: Graph, passes: tuple[Pass, ...] = PIPELINE) -> Graph:
    for p in passes:
        graph = p(graph)
    return graph


__all__ = [
    "PIPELINE",
    "run_pipeline",
    "verify",
    "verify_settled",
    "fuse_clamp",
    "infer_accumulator",
    "choose_parallelism",
    "insert_buffers",
]
