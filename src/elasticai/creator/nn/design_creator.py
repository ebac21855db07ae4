"""The mixin that gives every translatable module ``create_design(name)``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch

if TYPE_CHECKING:
    from elasticai.creator.design import Design


class DesignCreatorModule(torch.nn.Module):
    """A module that can be translated into hardware on its own or inside a model."""

    def create_design(self, name: str, **options: Any) -> Design:
        """Translate this module into a ``Design`` whose top-level VHDL entity is ``name``.

        ``options`` go to ``elasticai.creator.frontend.translate`` (e.g. ``input_shape``).
        """
        from elasticai.creator.frontend import translate

        return translate(self, name, **options)
