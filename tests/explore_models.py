"""Tiny models for the sweeps of ``tests/unit/test_explore.py``: functions at the top of a
module, so worker processes and Ray tasks import them by reference.

``build`` makes ``Linear(4, 3)`` at ``total_bits`` (``frac_bits = total_bits - 2``),
``train`` takes three Adam steps on 16 fixed samples, ``evaluate`` is the accuracy on
them. ``STOP_AFTER``: ``train`` raises ``KeyboardInterrupt`` when it starts its
``STOP_AFTER``-th point (an interrupted sweep, in this process).
"""

from __future__ import annotations

import torch

from elasticai.creator.nn import Sequential
from elasticai.creator.nn.fixed_point import Linear, ReLU

_DATA = torch.Generator().manual_seed(0)
X = torch.rand(16, 4, generator=_DATA) * 2 - 1
Y = (X[:, 0] > X[:, 1]).long() + (X[:, 2] > 0.5).long()

STOP_AFTER: int | None = None
TRAINED: list[int] = []


def build(params: dict) -> Sequential:
    bits = params["total_bits"]
    return Sequential(Linear(4, 3, total_bits=bits, frac_bits=bits - 2), ReLU())


def train(model: torch.nn.Module) -> None:
    TRAINED.append(1)
    if STOP_AFTER is not None and len(TRAINED) >= STOP_AFTER:
        raise KeyboardInterrupt
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    model.train()
    for _ in range(3):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(X), Y).backward()
        optimizer.step()


def evaluate(model: torch.nn.Module) -> float:
    with torch.no_grad():
        return float((model(X).argmax(dim=1) == Y).float().mean())


def evaluate_text(model: torch.nn.Module) -> str:
    return "high"


def evaluate_nan(model: torch.nn.Module) -> float:
    return float("nan")


def sweep() -> dict:
    """What ``elasticai-creator explore tests.explore_models:sweep`` runs."""
    return {"build": build, "train": train, "evaluate": evaluate, "space": {"total_bits": [4, 6]}}
