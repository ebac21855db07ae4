"""Models that are not chains: PyTorch's forward equals the integer interpreter exactly."""

from __future__ import annotations

import pytest
import torch

from elasticai.creator import create_design
from tests.graph_models import MODELS

SETTINGS = [{}, {"target_ii": 64}, {"parallelism": "full"}]


def interpreted(design, x: torch.Tensor) -> torch.Tensor:
    """What the hardware computes for ``x``, from the interpreter, as the model returns it."""
    y = design.to_model_layout(design.interpret(design.quantize_input(x)))
    return torch.from_numpy(y * 2.0**-design.graph.output_type.dtype.frac_bits).to(x.dtype)


def inputs(shape, seed: int, batch: int = 24) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(batch, *shape, generator=g) - 0.5) * 12


@pytest.mark.parametrize("name", sorted(MODELS))
@pytest.mark.parametrize("options", SETTINGS, ids=["serial", "ii64", "full"])
def test_graph_model_equals_the_interpreter(name, options):
    model, shape = MODELS[name]()
    design = create_design(model, name, input_shape=shape, **options)
    x = inputs(shape, 11)
    assert torch.equal(interpreted(design, x), model(x))
