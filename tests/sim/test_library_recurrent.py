"""GHDL tests of ec_recurrent (and the ec_rnn_cell in it): one LSTM, GRU or RNN layer over
sequences, against the integer semantics the nn layers compute (``RecurrentOp``).

Random weights over the whole range, random inputs (the extremes included), several
sequences in a row (the state must start from zero in each), stalls on both sides, the
gate matrix one row a beat up to every row at once.
"""

from __future__ import annotations

import pathlib

import numpy as np
import pytest
import torch

from elasticai.creator.nn.fixed_point import GRU, LSTM, RNN
from elasticai.creator.ops.recurrent import hardware_generics
from elasticai.creator.sim import ghdl
from tests.sim.test_library import pack, unpack
from tests.sim.test_library_join import JOIN_SINK, PKG, SIM_FILES, Snk, Src, run_tb

pytestmark = pytest.mark.sim

LIBRARY = [ghdl.library_dir() / f for f in ("ec_linear.vhd", "ec_rnn_cell.vhd", "ec_recurrent.vhd")]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    path = tmp_path_factory.mktemp("ghdl_recurrent")
    sink = path / "join_sink.vhd"
    sink.write_text(JOIN_SINK)
    ghdl.analyse([PKG, *LIBRARY, *SIM_FILES, sink], path)
    return path


def layer(cell: str, inputs: int, hidden: int, bits: tuple[int, int], seed: int, **kw):
    torch.manual_seed(seed)
    make = {"lstm": LSTM, "gru": GRU, "rnn": RNN}[cell]
    m = make(inputs, hidden, *bits, batch_first=True, **kw)
    with torch.no_grad():  # weights over the whole range, both ends included
        for p in m.parameters():
            p.uniform_(-(2.0 ** (bits[0] - bits[1] - 1)), 2.0 ** (bits[0] - bits[1] - 1))
            p.view(-1)[0] = -(2.0 ** (bits[0] - bits[1] - 1))
    return m.eval()


def run_layer(workdir, op, x: np.ndarray, p_out: int, stall: int, last_only: bool = False):
    """Sequences ``x`` (batch, T, I) of integers through ec_recurrent; the output integers
    as (batch, T or 1, H)."""
    batch, steps, _ = x.shape
    generics = hardware_generics(op, steps, p_out, last_only)
    width = op.x_type.total_bits
    mapping = ",\n      ".join(f"{k} => {v}" for k, v in generics.items())
    dut = f"""dut : entity work.ec_recurrent
    generic map (
      {mapping})
    port map (clk => clk, rst => rst,
              s_axis_tdata => a_tdata, s_axis_tvalid => a_tvalid,
              s_axis_tready => a_tready, s_axis_tlast => a_tlast,
              m_axis_tdata => y_tdata, m_axis_tvalid => y_tvalid,
              m_axis_tready => y_tready, m_axis_tlast => y_tlast);"""
    flat = x.reshape(batch, -1)
    beats = [
        (pack([int(v)], width), int(k == flat.shape[1] - 1))
        for sample in flat
        for k, v in enumerate(sample)
    ]
    out_steps = 1 if last_only else steps
    n_out = batch * out_steps * op.hidden_size
    src = Src("a", width, beats, stall, 3)
    snk = Snk("y", width, n_out, stall, 4)
    run = run_tb(workdir, dut, [src], [snk], max_cycles=2_000_000)
    values = [unpack(bits, width)[0] for bits, _, _ in run.out["y"]]
    lasts = [last for _, last, _ in run.out["y"]]
    per_sample = out_steps * op.hidden_size
    assert lasts == [int((k + 1) % per_sample == 0) for k in range(n_out)]
    return np.array(values, dtype=np.int64).reshape(batch, out_steps, op.hidden_size)


def inputs(op, batch: int, steps: int, seed: int) -> np.ndarray:
    t = op.x_type
    rng = np.random.default_rng(seed)
    x = rng.integers(t.min_int, t.max_int + 1, (batch, steps, op.input_size))
    x[0, 0] = t.max_int
    x[-1, -1] = t.min_int
    return x


CASES = [
    # cell, inputs, hidden, bits, steps, p_out, stall
    ("lstm", 1, 5, (8, 4), 4, 1, 0),
    ("lstm", 3, 2, (8, 4), 3, 3, 20),
    ("lstm", 2, 3, (16, 8), 2, 12, 0),
    ("gru", 2, 3, (8, 4), 3, 1, 20),
    ("gru", 1, 4, (10, 5), 2, 5, 0),
    ("rnn", 3, 4, (8, 4), 3, 1, 20),
    ("rnn", 2, 1, (6, 3), 5, 1, 0),
    ("rnn", 1, 1, (8, 4), 1, 1, 0),
    ("lstm", 1, 1, (8, 4), 17, 1, 20),
    ("lstm", 1, 20, (8, 4), 16, 1, 10),  # the original elasticai.creator's benchmark LSTM
    ("gru", 1, 20, (8, 4), 16, 8, 0),
    ("lstm", 2, 5, (16, 8), 100, 20, 10),
    ("gru", 3, 5, (16, 8), 17, 20, 20),
]


@pytest.mark.parametrize(("cell", "inputs_", "hidden", "bits", "steps", "p_out", "stall"), CASES)
def test_the_layer_equals_its_integer_semantics(
    workdir, cell, inputs_, hidden, bits, steps, p_out, stall
):
    m = layer(cell, inputs_, hidden, bits, seed=hidden + steps)
    (op,) = m.recurrent_ops()
    x = inputs(op, 3, steps, seed=steps)
    expected, _, _ = op.interpret_sequence(x)
    got = run_layer(workdir, op, x, p_out, stall)
    assert np.array_equal(got, expected), (got, expected)


def test_many_to_one_emits_the_last_step_only(workdir):
    m = layer("lstm", 2, 3, (8, 4), seed=5)
    (op,) = m.recurrent_ops()
    x = inputs(op, 3, 4, seed=1)
    expected, h_n, _ = op.interpret_sequence(x)
    got = run_layer(workdir, op, x, 2, 20, last_only=True)
    assert np.array_equal(got[:, 0], h_n)
    assert np.array_equal(got[:, 0], expected[:, -1])


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_hard_activations_in_hardware(workdir, cell):
    m = layer(
        cell, 2, 3, (8, 4), seed=1, gate_activation="hard_sigmoid", cell_activation="hard_tanh"
    )
    (op,) = m.recurrent_ops()
    x = inputs(op, 2, 4, seed=2)
    expected, _, _ = op.interpret_sequence(x)
    assert np.array_equal(run_layer(workdir, op, x, 2, 20), expected)


@pytest.mark.parametrize(
    ("cell", "inputs_", "hidden", "steps", "p_out", "last_only"),
    [
        ("lstm", 1, 5, 3, 1, False),
        ("gru", 2, 3, 4, 4, False),
        ("rnn", 3, 4, 3, 2, True),
        ("lstm", 1, 20, 16, 20, True),
        ("lstm", 2, 3, 2, 12, False),
    ],
)
def test_the_timing_model_predicts_every_beat(
    workdir, cell, inputs_, hidden, steps, p_out, last_only
):
    """Without stalls: the cycle the layer takes every input beat and the cycle every h
    leaves (each step's, so the latency and interval per step and per sequence) are what
    ``recurrent_flow`` predicts from when the source offers the beats."""
    from elasticai.creator.ops.recurrent import recurrent_flow

    m = layer(cell, inputs_, hidden, (8, 4), seed=3)
    (op,) = m.recurrent_ops()
    x = inputs(op, 3, steps, seed=1)
    generics = hardware_generics(op, steps, p_out, last_only)
    mapping = ",\n      ".join(f"{k} => {v}" for k, v in generics.items())
    dut = f"""dut : entity work.ec_recurrent generic map ({mapping})
    port map (clk => clk, rst => rst, s_axis_tdata => a_tdata, s_axis_tvalid => a_tvalid,
              s_axis_tready => a_tready, s_axis_tlast => a_tlast, m_axis_tdata => y_tdata,
              m_axis_tvalid => y_tvalid, m_axis_tready => y_tready, m_axis_tlast => y_tlast);"""
    flat = x.reshape(3, -1)
    beats = [
        (pack([int(v)], 8), int(k == flat.shape[1] - 1)) for s in flat for k, v in enumerate(s)
    ]
    n_out = 3 * (1 if last_only else steps) * hidden
    run = run_tb(workdir, dut, [Src("a", 8, beats, 0, 3)], [Snk("y", 8, n_out, 0, 4)])
    measured_out = np.array([c for _, _, c in run.out["y"]])
    measured_taken = np.array(run.src["a"])
    # the source offers every beat at once: arrivals are "as early as taken allows"
    taken, out = recurrent_flow(op, steps, p_out, last_only, np.zeros(len(beats), np.int64))
    offset = measured_taken[0] - taken[0]
    assert np.array_equal(measured_taken - offset, taken)
    assert np.array_equal(measured_out - offset, out)
