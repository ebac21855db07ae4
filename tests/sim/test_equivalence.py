"""Randomised equivalence: PyTorch forward == integer interpreter == GHDL, for random models.

Models: chains of 1-4 layers, sizes 1-6, formats of 2-32 bits with any legal fraction,
every rounding and overflow mode, weights over the whole range (ends included), a random
parallelism setting, inputs that saturate; random CNNs; random DAGs (forks, residual adds
and subtractions, concatenations, branches of different depths; ``strategies.dags``).
``./dev equivalence`` runs the deep profile.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import Phase, assume, given, settings
from hypothesis import strategies as st

from elasticai.creator import create_design
from elasticai.creator.analysis.timing import predict_timing
from elasticai.creator.ops import RecurrentLayerOp
from tests.conftest import REQUIRES_VERILATOR, TALLY
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


def _random_case(kind: str, data) -> tuple:
    """A random model of family ``kind`` as ``(model, design, inputs)``."""
    options = data.draw(parallelism_options())
    if kind == "chain":
        model, features, seed = data.draw(chains(max_layers=3, max_bits=24))
        design = model.create_design("rnd", **options)
        dtype = next(model.parameters()).dtype
        return model, design, saturating_inputs(5, features, model[0].fxp, seed).to(dtype)
    build = {"cnn": cnns(max_layers=4, max_bits=12), "dag": dags(max_steps=3, max_bits=12)}
    model, shape, seed = data.draw(build.get(kind, recurrent_models(max_bits=10)))
    try:
        design = create_design(model, kind, input_shape=shape, **_cnn_parallelism(options))
    except ValueError as error:  # budgets below what the model needs
        assert str(error).startswith(("target_ii must be at least", "max_multipliers must be"))
        assume(False)
    if kind == "dag":
        x = saturating_inputs(5, int(np.prod(shape)), model.input_type, seed)
        return model, design, x.to(model.float_dtype).reshape(5, *shape)
    x = torch.randn(5, *shape, generator=torch.Generator().manual_seed(seed)) * 3
    x[0] = 100.0  # saturates
    return model, design, x


@pytest.mark.parametrize(
    "kind",
    [
        "chain",
        "cnn",
        "dag",
        "recurrent",
    ],
)
@REQUIRES_VERILATOR
@settings(
    max_examples=int(os.environ.get("EC_SIMULATORS_EXAMPLES", "3")),
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # a failure is not shrunk: compiles
)
@given(data=st.data())
def test_random_models_agree_in_every_simulator(kind, data):
    """GHDL on the VHDL, Verilator and Icarus Verilog on its Verilog, the interpreter and
    PyTorch give the same integers; Icarus and Verilator (the same testbench, the same
    stalls) the same cycles too."""
    model, design, x = _random_case(kind, data)
    with torch.no_grad():
        expected = model(x)
    x_int = design.quantize_input(x)
    reference = design.interpret(x_int)
    scale = 2.0**design.graph.output_type.dtype.frac_bits
    want = (expected.double() * scale).numpy().astype(np.int64).reshape(len(x), -1)
    np.testing.assert_array_equal(design.to_model_layout(reference).reshape(len(x), -1), want)
    runs = {
        name: design.run(x_int, stall_percent=20, seed=7, simulator=name, progress=False)
        for name in ("ghdl", "verilator", "icarus")
    }
    for name, run in runs.items():
        np.testing.assert_array_equal(run.outputs, reference, err_msg=name)
    np.testing.assert_array_equal(runs["verilator"].input_cycles, runs["icarus"].input_cycles)
    np.testing.assert_array_equal(runs["verilator"].output_cycles, runs["icarus"].output_cycles)
    TALLY["models"] += 1
    TALLY["samples"] += len(x)
    TALLY["outputs"] += expected.numel()


@pytest.mark.parametrize(
    "case",
    [
        "lstm_x_in_verilog",
        "lstm_zero_weights_ring",
    ],
)
@REQUIRES_VERILATOR
def test_recurrent_models_found_by_the_simulators(case):
    """Random LSTMs the test above found (graph and integer inputs as found): every
    simulator gives the interpreter's outputs. ``lstm_x_in_verilog``: GHDL 2.0's synthesis
    lost the registers of ``ec_rnn_cell``'s activations (written at a variable index), so
    the Verilog held them in a combinational loop: unknown values in Icarus Verilog, wrong
    ones in Verilator. ``lstm_zero_weights_ring``: zero weights, one step a sequence: the
    gates need no state, so ec_linear ran ahead of the cell and overflowed ``ec_recurrent``'s
    ring of gate beats (a bound check in GHDL, a time-out in the Verilog)."""
    from elasticai.creator.design import Design
    from elasticai.creator.ir.serialize import graph_from_json

    found = json.loads((Path(__file__).parent / "data" / f"{case}.json").read_text())
    design = Design(graph_from_json(json.dumps(found["graph"])))
    x_int = np.array(found["inputs"], dtype=np.int64)
    reference = design.interpret(x_int)
    for name in ("ghdl", "icarus", "verilator"):
        run = design.run(x_int, stall_percent=0, simulator=name, progress=False)
        np.testing.assert_array_equal(run.outputs, reference, err_msg=name)
