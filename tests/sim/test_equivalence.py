"""Randomised equivalence: PyTorch forward == integer interpreter == GHDL, for random models.

Models: chains of 1-4 layers, sizes 1-6, formats of 2-32 bits with any legal fraction,
every rounding and overflow mode, weights over the whole range (ends included), a random
parallelism setting, inputs that saturate; random CNNs; random DAGs (forks, residual adds
and subtractions, concatenations, branches of different depths; ``strategies.dags``).
``./dev equivalence`` runs the deep profile.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings

from elasticai.creator import create_design
from elasticai.creator.analysis.timing import predict_timing
from elasticai.creator.ops import RecurrentLayerOp
from tests.conftest import TALLY
from tests.strategies import (
    chains,
    cnns,
    dags,
    parallelism_options,
    recurrent_models,
    saturating_inputs,
)

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


def _cnn_parallelism(draw_options: dict) -> dict:
    """Multiplier budgets below what a CNN needs are refused; keep those large enough."""
    if "max_multipliers" in draw_options:
        return {"max_multipliers": draw_options["max_multipliers"] + 32}
    return draw_options


@settings(max_examples=int(os.environ.get("EC_EQUIVALENCE_EXAMPLES", "12")))
@given(cnns(max_layers=5, max_bits=16), parallelism_options())
def test_random_cnns_agree_in_all_three_executions(case, options):
    model, input_shape, seed = case
    try:
        design = model.create_design("cnn", input_shape=input_shape, **_cnn_parallelism(options))
    except ValueError as error:  # a convolution takes a cycle per position at least
        assert str(error).startswith("target_ii must be at least")
        assume(False)
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(4, *input_shape, generator=g) * 3
    x[0] = 100.0  # saturates
    with torch.no_grad():
        expected = model(x)
    x_int = design.quantize_input(x)
    reference = design.to_model_layout(design.interpret(x_int))
    scale = 2.0**design.graph.output_type.dtype.frac_bits
    np.testing.assert_array_equal(reference, (expected.double() * scale).numpy().astype(np.int64))
    simulated = design.run(x_int, stall_percent=20, seed=seed % 1000 + 1).outputs
    np.testing.assert_array_equal(design.to_model_layout(simulated), reference)
    TALLY["models"] += 1
    TALLY["samples"] += len(x)
    TALLY["outputs"] += expected.numel()


@settings(max_examples=int(os.environ.get("EC_EQUIVALENCE_EXAMPLES", "12")))
@given(dags(max_steps=4, max_bits=16), parallelism_options())
def test_random_dags_agree_in_all_three_executions(case, options):
    model, input_shape, seed = case
    try:
        design = create_design(model, "dag", input_shape=input_shape, **_cnn_parallelism(options))
    except ValueError as error:  # budgets below what the model needs
        assert str(error).startswith(("target_ii must be at least", "max_multipliers must be"))
        assume(False)
    x = saturating_inputs(5, int(np.prod(input_shape)), model.input_type, seed)
    x = x.to(model.float_dtype).reshape(5, *input_shape)
    with torch.no_grad():
        expected = model(x)  # after create_design: batch norms folded as in the design
    x_int = design.quantize_input(x)
    reference = design.to_model_layout(design.interpret(x_int))
    scale = 2.0**design.graph.output_type.dtype.frac_bits
    np.testing.assert_array_equal(reference, (expected.double() * scale).numpy().astype(np.int64))
    simulated = design.run(x_int, stall_percent=20, seed=seed % 1000 + 1).outputs
    np.testing.assert_array_equal(design.to_model_layout(simulated), reference)
    assert torch.equal(design.simulate(x, stall_percent=0), expected)
    TALLY["models"] += 1
    TALLY["samples"] += len(x)
    TALLY["outputs"] += expected.numel()


@settings(max_examples=int(os.environ.get("EC_EQUIVALENCE_EXAMPLES", "10")))
@given(recurrent_models(), parallelism_options())
def test_random_recurrent_models_agree_in_all_three_executions(case, options):
    model, input_shape, seed = case
    try:
        design = create_design(model, "rec", input_shape=input_shape, **_cnn_parallelism(options))
    except ValueError as error:  # budgets below what the model needs
        assert str(error).startswith(("target_ii must be at least", "max_multipliers must be"))
        assume(False)
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(4, *input_shape, generator=g) * 3
    x[0] = 100.0  # saturates
    with torch.no_grad():
        expected = model(x)
    x_int = design.quantize_input(x)
    reference = design.to_model_layout(design.interpret(x_int))
    scale = 2.0**design.graph.output_type.dtype.frac_bits
    want = (expected.double() * scale).numpy().astype(np.int64).reshape(len(x), -1)
    np.testing.assert_array_equal(reference.reshape(len(x), -1), want)
    simulated = design.run(x_int, stall_percent=20, seed=seed % 1000 + 1).outputs
    np.testing.assert_array_equal(design.to_model_layout(simulated), reference)
    # the timing model: the first sample's latency without stalls, as GHDL measures it
    run = design.run(x_int[:1], stall_percent=0)
    measured = int(run.output_cycles[0] - run.input_cycles[0])
    predicted = predict_timing(design.graph).latency_cycles
    layers = sum(isinstance(n.op, RecurrentLayerOp) for n in design.graph.nodes)
    if layers > 1:  # the second layer's backpressure on the first is not modelled
        assert measured >= predicted
    else:
        assert measured == predicted
    TALLY["models"] += 1
    TALLY["samples"] += len(x)
    TALLY["outputs"] += expected.numel()
