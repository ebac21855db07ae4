"""``simulator="icarus"``: the design's Verilog in Icarus Verilog under the testbench of
``sim.icarus``, against GHDL on the VHDL and against the model.

A spread of designs (an odd-sized MLP at three parallelisms, a CNN, a residual graph)
gives the model's outputs exactly in both simulators, with and without stalls, and the
same cycles without stalls; a mid-run reset and held output stalls keep them exact. The
post-synthesis circuit (Yosys ``synth -flatten``, written back as gate-level Verilog)
runs under the same testbench and equals GHDL: it catches rewrites of GHDL's Verilog
(``synth.netlist_fixes``) that go wrong in synthesis.
"""

from __future__ import annotations

import functools
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from elasticai.creator import create_design
from elasticai.creator.design import Design
from elasticai.creator.nn import Sequential
from elasticai.creator.nn.fixed_point import (
    GRU,
    LSTM,
    RNN,
    Conv1d,
    Conv2d,
    HardTanh,
    Linear,
    MaxPool1d,
    ReLU,
)
from elasticai.creator.sim import icarus
from elasticai.creator.sim.stream_files import pack, unpack
from elasticai.creator.synth.yosys import yosys_path
from elasticai.creator.vhdl.top import top_streams
from tests.strategies import set_extreme_weights

pytestmark = pytest.mark.sim

FMT: dict[str, Any] = {"total_bits": 8, "frac_bits": 3}
MISSING = (
    "Icarus Verilog was not found. Install it (Debian/Ubuntu: `apt-get install iverilog`) "
    "or set the ELASTICAI_IVERILOG environment variable to the iverilog binary."
)


def mlp() -> Sequential:
    """Linear-ReLU-Linear-HardTanh at 8/3 bits, odd sizes."""
    torch.manual_seed(3)
    return Sequential(Linear(5, 7, **FMT), ReLU(**FMT), Linear(7, 3, **FMT), HardTanh(**FMT)).eval()


def cnn() -> Sequential:
    torch.manual_seed(7)
    fmt: dict[str, Any] = {"total_bits": 8, "frac_bits": 4}
    model = Sequential(
        Conv1d(2, 3, kernel_size=3, **fmt),
        ReLU(**fmt),
        MaxPool1d(2, **fmt),
        Conv1d(3, 2, kernel_size=2, **fmt),
    ).eval()
    set_extreme_weights(model, 5)
    return model


def cnn2d_one_column() -> Sequential:
    """Conv2d with stride and dilation 2 to a single output column, fully parallel (the
    window reads half the image a beat): GHDL 2.0's synthesis stopped on a word address
    folded one past its range in a branch that is never taken."""
    torch.manual_seed(17)
    return Sequential(Conv2d(4, 3, kernel_size=2, stride=2, dilation=2, **FMT)).eval()


def conv_padded_dilated() -> Sequential:
    """Conv1d with padding and dilation 2, fully parallel: the window's first beat reads
    word 2 with its last lanes and pads its first ones. GHDL 2.0's synthesis evaluated the
    reset value of ``ec_window``'s prefetch stage (a function whose variables were
    initialised from its parameter in their declarations) with the highest word read as 0:
    the first beat issued before its words were written, unknown values in the Verilog."""
    torch.manual_seed(19)
    return Sequential(Conv1d(3, 4, kernel_size=3, padding=2, dilation=2, **FMT)).eval()


def pruned_linear() -> Sequential:
    """Linear(48, 2) with 31 and 33 non-zero weights: a sparse schedule of 64 steps whose
    FIRST_OF ROM has no set bit in its last 32 words, which GHDL 2.0's synthesis wrote as
    zeros (the accumulators never restarted in the Verilog)."""
    layer = Linear(48, 2, **FMT)
    with torch.no_grad():
        weight = torch.full((2, 48), 0.5)
        weight[0, 31:] = 0
        weight[1, 33:] = 0
        layer.weight.copy_(weight)
        layer.bias.fill_(0.25)
    return Sequential(layer).eval()


class RecurrentRelu(torch.nn.Module):
    """An RNN with relu and 4-bit gates: its segment table (64 one-bit entries, the last
    32 zero) was written as zeros by GHDL 2.0's synthesis (every output 0 in the Verilog)."""

    def __init__(self) -> None:
        super().__init__()
        self.rnn = RNN(1, 1, 9, 5, batch_first=True, nonlinearity="relu", gate_total_bits=4,
                       gate_frac_bits=0)  # fmt: skip
        with torch.no_grad():
            self.rnn.weight_ih_l0.fill_(1.0)
            self.rnn.weight_hh_l0.fill_(0.0)
            self.rnn.bias_ih_l0.fill_(0.0)
            self.rnn.bias_hh_l0.fill_(0.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.rnn(x)[0]


class Residual(torch.nn.Module):
    """``out(fc2(h) + h)`` with ``h = relu(fc1(x))``: a fork, a FIFO and an add."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(11)
        self.fc1 = Linear(6, 6, **FMT)
        self.relu = ReLU(**FMT)
        self.fc2 = Linear(6, 6, **FMT)
        self.out = Linear(6, 3, **FMT)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.relu(self.fc1(x))
        return self.out(torch.add(self.fc2(h), h))


class Recurrent(torch.nn.Module):
    """``fc(rnn(x)[:, -1])``: a recurrent layer over 3 steps, many to one."""

    def __init__(self, cell: type, hidden: int = 4, **options: Any) -> None:
        super().__init__()
        torch.manual_seed(13)
        self.rnn = cell(2, hidden, **FMT, batch_first=True, **options)
        self.fc = Linear(hidden, 2, **FMT)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(x)
        return self.fc(out[:, -1])


# name: (model, create_design options)
DESIGNS: dict[str, tuple[Any, dict[str, Any]]] = {
    "mlp": (mlp, {}),
    "mlp_ii3": (mlp, {"target_ii": 3}),
    "mlp_ii12": (mlp, {"target_ii": 12}),
    "mlp_full": (mlp, {"parallelism": "full"}),
    "cnn": (cnn, {"input_shape": (2, 12)}),
    "cnn2d_one_column": (cnn2d_one_column, {"input_shape": (4, 6, 3), "parallelism": "full"}),
    "conv_padded_dilated": (
        conv_padded_dilated,
        {"input_shape": (3, 6), "parallelism": "full"},
    ),
    "pruned_linear": (pruned_linear, {}),
    "rnn_relu": (lambda: RecurrentRelu().eval(), {"input_shape": (1, 1)}),
    "residual": (lambda: Residual().eval(), {}),
    # GHDL 2.0's synthesis lost registers written or read at a variable index (ec_rnn_cell's
    # activations, ec_recurrent's ring of gate beats read a lane at a time): unknown values
    "lstm": (lambda: Recurrent(LSTM).eval(), {"input_shape": (3, 2)}),
    "gru_full": (lambda: Recurrent(GRU).eval(), {"input_shape": (3, 2), "parallelism": "full"}),
    # two banks of 5 h values: flags and buffer of 10 words, not a power of two
    "lstm_hidden5": (lambda: Recurrent(LSTM, hidden=5).eval(), {"input_shape": (3, 2)}),
    # gates that wrap instead of saturating
    "gru_wrap": (lambda: Recurrent(GRU, overflow="wrap").eval(), {"input_shape": (3, 2)}),
}


@functools.cache
def design(name: str) -> tuple[torch.nn.Module, Design]:
    build, options = DESIGNS[name]
    model = build()
    return model, create_design(model, name, **options)


def inputs(d: Design, n: int, seed: int) -> torch.Tensor:
    """``n`` samples in the model's layout on the input format's grid, both ends included."""
    dtype = d.graph.input_type.dtype
    shape = d.graph.input.torch_shape or d.graph.input_type.shape
    rng = np.random.default_rng(seed)
    x = rng.integers(dtype.min_int, dtype.max_int + 1, (n, *shape))
    x[0] = dtype.min_int
    x[1:2] = dtype.max_int
    return torch.from_numpy(x * 2.0**-dtype.frac_bits).float()


@pytest.mark.parametrize("name", sorted(DESIGNS))
def test_icarus_equals_ghdl_and_the_model(name: str) -> None:
    model, d = design(name)
    x = inputs(d, 8, 1)
    with torch.no_grad():
        expected = model(x)
    stalled = d.simulate(x, simulator="icarus")
    assert torch.equal(stalled, expected)
    assert torch.equal(d.simulate(x), expected)
    x_int = d.quantize_input(x)
    vhdl = d.run(x_int, stall_percent=0)
    verilog = d.run(x_int, stall_percent=0, simulator="icarus")
    np.testing.assert_array_equal(verilog.outputs, vhdl.outputs)
    np.testing.assert_array_equal(verilog.input_cycles, vhdl.input_cycles)
    np.testing.assert_array_equal(verilog.output_cycles, vhdl.output_cycles)


@pytest.mark.parametrize("name", ["mlp", "lstm_hidden5"])
def test_roms_are_read_at_their_address_not_at_a_subtraction(name: str) -> None:
    """GHDL 2.0 stores a VHDL ROM ``array (0 to D)`` reversed and reads it at ``D - i``, a
    carry chain before the ROM unless ``D`` is all ones; the Verilog reads every ROM at
    its address (the MLP's weight ROMs of 35 and 21 words and bias ROMs of 7 and 3; the
    LSTM's gate matrix of 140 words and its biases of 20), and the test above simulates
    these designs exactly in Icarus."""
    _, d = design(name)
    verilog = d.to_verilog()
    subtractions = dict(re.findall(r"assign (\w+) = \d+'b([01]+) - \w+;", verilog))
    roms = re.findall(r"reg \[\d+:0\] (\w+)\[(\d+):0\] ; // memory", verilog)
    uneven = [rom for rom, top in roms if set(f"{int(top):b}") != {"1"}]
    assert uneven, "no ROM whose depth is not a power of two: nothing tested"
    for rom in uneven:
        for address in re.findall(rf"\b{rom}\[(\w+)\](?! = )", verilog):
            assert address not in subtractions, (rom, address, subtractions[address])
    # the recurrent layer's flags of written h values, indexed (N - 1 downto 0): no
    # N - 1 - slot before their decoder either
    slots = re.findall(r"= \d+'b([01]+) - [rw]_slot;", verilog)
    assert all(set(bits) == {"1"} for bits in slots), slots


@pytest.mark.parametrize("seed", [2, 9])
def test_stalls_keep_outputs_exact(seed: int) -> None:
    model, d = design("mlp_ii3")
    x = inputs(d, 12, seed)
    with torch.no_grad():
        expected = model(x)
    assert torch.equal(d.simulate(x, simulator="icarus", stall_percent=25, seed=seed), expected)
    x_int = d.quantize_input(x)
    plain = d.run(x_int, stall_percent=0, simulator="icarus")
    stalled = d.run(x_int, stall_percent=25, seed=seed, simulator="icarus")
    assert stalled.output_cycles[-1] > plain.output_cycles[-1]


def test_reset_in_the_middle_starts_over(tmp_path: Path) -> None:
    _, d = design("mlp")
    x_int = d.quantize_input(inputs(d, 5, 3))
    vhdl = d.run(x_int, stall_percent=0, reset_cycle=40)
    verilog = d.run(x_int, stall_percent=0, reset_cycle=40, simulator="icarus", workdir=tmp_path)
    assert "reset" in (tmp_path / "output.txt").read_text().split("\n")
    assert "reset" in (tmp_path / "input_log.txt").read_text().split("\n")
    np.testing.assert_array_equal(verilog.outputs, d.interpret(x_int))
    np.testing.assert_array_equal(verilog.input_cycles, vhdl.input_cycles)
    np.testing.assert_array_equal(verilog.output_cycles, vhdl.output_cycles)


def test_held_output_stalls_keep_outputs_exact() -> None:
    _, d = design("mlp_full")  # one output beat per sample
    x_int = d.quantize_input(inputs(d, 6, 4))
    held = d.run(x_int, stall_percent=0, hold_cycles=30, simulator="icarus")
    np.testing.assert_array_equal(held.outputs, d.interpret(x_int))
    assert held.output_cycles[1] - held.output_cycles[0] > 30
    stalled = d.run(x_int, stall_percent=25, hold_cycles=5, simulator="icarus")
    np.testing.assert_array_equal(stalled.outputs, d.interpret(x_int))


def test_progress_counts_samples() -> None:
    _, d = design("mlp")
    calls: list[tuple[int, int]] = []
    d.simulate(inputs(d, 3, 5), simulator="icarus", progress=lambda a, b: calls.append((a, b)))
    assert calls[-1] == (3, 3)


def test_time_out_is_an_error(tmp_path: Path) -> None:
    _, d = design("mlp")
    source, sink = top_streams(d.graph)
    tb = icarus.testbench_name(d.name)
    (tmp_path / "tb.v").write_text(icarus.testbench(d.name, source.bits, sink.bits))
    (tmp_path / "design.v").write_text(d.to_verilog())
    (tmp_path / "input.txt").write_text(
        pack(np.zeros((2, d.graph.input_type.size), np.int64), source.lanes, source.width)
    )
    sources = [tmp_path / "tb.v", tmp_path / "design.v"]
    with pytest.raises(icarus.IcarusError, match="FAIL: .*timeout after 20 cycles, 0 of 2"):
        icarus.simulate(sources, tb, tmp_path, {"SAMPLES": 2, "MAX_CYCLES": 20})
    with pytest.raises(ValueError, match=r"unknown testbench parameters \['SAMPLE'\]"):
        icarus.simulate(sources, tb, tmp_path, {"SAMPLE": 2})


def test_missing_icarus_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _, d = design("mlp")
    x = inputs(d, 2, 6)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ELASTICAI_IVERILOG", str(tmp_path / "no_iverilog"))
    with pytest.raises(icarus.IcarusNotFoundError) as error:
        d.run(d.quantize_input(x), simulator="icarus", workdir=tmp_path / "work")
    assert str(error.value).startswith(MISSING)
    assert "ELASTICAI_IVERILOG=" in str(error.value)
    with pytest.raises(icarus.IcarusNotFoundError):
        d.simulate(x, simulator="icarus")
    # an iverilog without vvp beside it
    lone = tmp_path / "bin" / "iverilog"
    lone.parent.mkdir()
    lone.write_text("#!/bin/sh\nexit 0\n")
    lone.chmod(0o755)
    monkeypatch.setenv("ELASTICAI_IVERILOG", str(lone))
    with pytest.raises(icarus.IcarusNotFoundError, match="no vvp next to"):
        d.simulate(x, simulator="icarus")
    assert os.listdir(tmp_path) == ["bin"]


def test_bad_simulator_names_the_choices() -> None:
    _, d = design("mlp")
    x = inputs(d, 1, 7)
    with pytest.raises(
        ValueError,
        match=r"simulator must be 'ghdl', 'icarus', 'verilator' or None \(the fastest\), not 'vcs'",
    ):
        d.simulate(x, simulator="vcs")
    with pytest.raises(ValueError, match="vcd= needs simulator='ghdl'"):
        d.run(d.quantize_input(x), simulator="icarus", vcd=Path("wave.vcd"))


def gate_level(d: Design, work: Path) -> Path:
    """The design after Yosys's generic synthesis, flattened, as gate-level Verilog."""
    work.mkdir(parents=True, exist_ok=True)
    (work / "design.v").write_text(d.to_verilog())
    script = f"read_verilog design.v; synth -flatten -top {d.name}; write_verilog -noattr netlist.v"
    run = subprocess.run(
        [yosys_path(), "-q", "-p", script], cwd=work, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return work / "netlist.v"


@pytest.mark.parametrize("name", ["mlp", "cnn", "lstm"])
def test_synthesized_circuit_equals_ghdl(tmp_path: Path, name: str) -> None:
    """Regression: the gate-level netlist Yosys makes of the design's Verilog computes what
    GHDL computes from the VHDL (a wrong rewrite of GHDL's Verilog shows up here; for the
    LSTM: its gate ring marked free of read-write collisions, ``no_rw_check``)."""
    _, d = design(name)
    x_int = d.quantize_input(inputs(d, 8, 8))
    source, sink = top_streams(d.graph)
    netlist = gate_level(d, tmp_path)
    (tmp_path / "tb.v").write_text(icarus.testbench(d.name, source.bits, sink.bits))
    (tmp_path / "input.txt").write_text(pack(x_int, source.lanes, source.width))
    parameters = {"SAMPLES": len(x_int), "STALL_IN": 20, "STALL_OUT": 20, "SEED": 4}
    icarus.simulate(
        [tmp_path / "tb.v", netlist], icarus.testbench_name(d.name), tmp_path, parameters
    )
    text = (tmp_path / "output.txt").read_text()
    circuit = unpack(text, d.graph.output_type.size, sink.lanes, sink.width).samples
    np.testing.assert_array_equal(circuit, d.run(x_int).outputs)
