"""``Sequential``: a chain of layers that translates into one streaming design."""

from __future__ import annotations

from typing import Any

import torch

from elasticai.creator.nn.design_creator import DesignCreatorModule


class Sequential(DesignCreatorModule, torch.nn.Sequential):
    """``torch.nn.Sequential`` with ``create_design(name)``.

    On construction it folds every ``BatchNorm1d``/``BatchNorm2d`` that directly follows a
    ``Conv1d``/``Conv2d``/``Linear`` into it (in ``eval()``), and tells layers without a
    format of their own (pooling) the format of the layer before them.

    >>> from elasticai.creator.nn.fixed_point import Linear, HardSigmoid
    >>> model = Sequential(Linear(10, 2, total_bits=16, frac_bits=8), HardSigmoid(16, 8))
    >>> model.create_design("my_model").name
    'my_model'
    """

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        from elasticai.creator.nn.fixed_point.batchnorm import link_batch_norm

        layers = list(self.children())
        fxp = None
        for k, layer in enumerate(layers):
            if k > 0:
                link_batch_norm(layers[k - 1], layer)
            own = getattr(layer, "fxp", None)
            if own is not None:
                fxp = own
            elif fxp is not None and hasattr(layer, "rounding"):
                layer.__dict__["_inherited_format"] = fxp
