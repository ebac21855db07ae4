"""Randomised equivalence: PyTorch forward == integer interpreter == GHDL, for random models.

Models: 1-4 layers, sizes 1-6, formats of 2-32 bits with any legal fraction, every
rounding and overflow mode, weights over the whole range (ends included), a random
parallelism setting, inputs that saturate. ``./dev equivalence`` runs the deep profile.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from hypothesis import given, settings

from tests.conftest import TALLY
from tests.strategies import chains, parallelism_options, saturating_inputs

pytestmark = pytest.mark.sim


@settings(max_examples=int(os.environ.get("EC_EQUIVALENCE_EXAMPLES", "16")))
@given(chains(max_layers=4, max_bits=32), parallelism_options())
def test_random_models_agree_in_all_three_executions(case, options):
    model, features, seed = case
    design = model.create_design("rnd", **options)
    dtype = next(model.parameters()).dtype
    x = saturating_inputs(6, features, model[0].fxp, seed).to(dtype)
    with torch.no_grad():
        expected = model(x)
    x_int = design.quantize_input(x)
    reference = design.interpret(x_int)
    scale = 2.0**design.graph.output_type.dtype.frac_bits
    np.testing.assert_array_equal(reference, (expected.double() * scale).numpy().astype(np.int64))
    simulated = design.run(x_int, stall_percent=20, seed=seed % 1000 + 1).outputs
    np.testing.assert_array_equal(simulated, reference)
    assert torch.equal(design.simulate(x, stall_percent=0), expected)
    TALLY["models"] += 1
    TALLY["samples"] += len(x)
    TALLY["outputs"] += expected.numel()
