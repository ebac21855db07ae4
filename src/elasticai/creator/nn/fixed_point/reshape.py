"""Layers that only reshape or compute nothing at inference."""

from __future__ import annotations

import torch

from elasticai.creator.base_modules.quantization import as_real

__all__ = ["Flatten", "Dropout"]


class Flatten(torch.nn.Flatten):
    """``torch.nn.Flatten`` (``start_dim=1``): in hardware only the order of the stream
    changes, which the next ``Linear``'s weights absorb."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        if start_dim != 1 or end_dim != -1:
            raise ValueError(
                f"only Flatten(start_dim=1, end_dim=-1) is supported, not ({start_dim}, {end_dim})"
            )
        super().__init__(start_dim, end_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(as_real(x))


class Dropout(torch.nn.Dropout):
    """``torch.nn.Dropout``: active in training, the identity in hardware."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(as_real(x))
