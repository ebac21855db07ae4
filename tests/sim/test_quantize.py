"""Simulation tier: float models converted by ``quantize`` (and one of them fine-tuned)
simulate in GHDL exactly to what the quantized model computes (``torch.equal``)."""

from __future__ import annotations

import pytest
import torch

from elasticai.creator import create_design, quantize
from tests.float_models import MODELS, fit, trained

pytestmark = pytest.mark.sim

#: Test samples simulated per model (the LSTM takes longest: 16 steps each).
SAMPLES = {"mlp": 10, "cnn": 4, "residual": 4, "lstm": 3}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_quantized_float_model_is_exact_in_ghdl(name):
    t = trained(name)
    q = quantize(t.model, t.x_train[:256])
    design = create_design(q, name, input_shape=t.input_shape)
    x = t.x_test[: SAMPLES[name]]
    assert torch.equal(design.simulate(x), q(x))


def test_fine_tuned_cnn_is_exact_in_ghdl():
    t = trained("cnn")
    q = quantize(t.model, t.x_train[:256])
    fit(q, t.x_train, t.y_train, steps=10, lr=0.002)
    design = q.create_design("tuned", input_shape=t.input_shape)
    x = t.x_test[:4]
    assert torch.equal(design.simulate(x), q(x))
