"""Design-space exploration: bits x parallelism -> accuracy, cost and speed, and the
Pareto front.

The points of a space (``space``) and the front of accuracy against cost (``pareto``).
"""

from elasticai.creator.explore.pareto import pareto_flags
from elasticai.creator.explore.space import DESIGN_OPTIONS

__all__ = ["pareto_flags", "DESIGN_OPTIONS"]
