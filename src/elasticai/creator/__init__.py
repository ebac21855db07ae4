"""elasticai.creator: design, train and translate quantized networks into bit-exact VHDL.

``create_design(model, name, **options)`` translates any traceable ``nn.Module``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from elasticai.creator.design import Design

__all__ = ["create_design"]


def create_design(model: Any, name: str, **options: Any) -> Design:
    """Translate ``model`` (any ``torch.nn.Module`` whose ``forward`` torch.fx traces, in
    ``eval()``) into a ``Design`` whose top-level VHDL entity is ``name``. ``options``:
    ``input_shape`` (without batch), and one of ``parallelism="full"``, ``target_ii``,
    ``max_multipliers``."""
    from elasticai.creator.frontend import create_design as translate

    return translate(model, name, **options)
