"""``Sequential``: a chain of layers that translates into one streaming design."""

from __future__ import annotations

import torch

from elasticai.creator.nn.design_creator import DesignCreatorModule


class Sequential(DesignCreatorModule, torch.nn.Sequential):
    """``torch.nn.Sequential`` with ``create_design(name)``.

    >>> from elasticai.creator.nn.fixed_point import Linear, HardSigmoid
    >>> model = Sequential(Linear(10, 2, total_bits=16, frac_bits=8), HardSigmoid(16, 8))
    >>> model.create_design("my_model").name
    'my_model'
    """
