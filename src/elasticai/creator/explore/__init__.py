"""Design-space exploration: bits x parallelism -> accuracy, cost and speed, and the
Pareto front, on one machine or a Ray cluster.

``explore(space=..., build=..., train=..., evaluate=...)`` runs every point of a space
(``space``), each built, trained, evaluated, translated and costed (``point``), on a
process pool or Ray (``executors``), kept on disk per point (``cache``), with the front
(``pareto``) and the files of the sweep (``output``).
"""

from elasticai.creator.explore.pareto import pareto_flags
from elasticai.creator.explore.space import DESIGN_OPTIONS
from elasticai.creator.explore.sweep import explore

__all__ = ["explore", "pareto_flags", "DESIGN_OPTIONS"]
