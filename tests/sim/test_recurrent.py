"""Recurrent models through ``create_design``: the design simulates in GHDL exactly to
what the model computes (``torch.equal``, random stalls on both sides), and the timing
model predicts GHDL's latency and interval.

The common ways to use a recurrent layer: many-to-one through ``out[:, -1]`` or
``h_n[-1]``, many-to-many (a ``Linear`` at every step), stacked layers, a convolution
in front (``x.transpose(1, 2)``), at the serial end, at a ``target_ii`` and with the gate
matrix fully parallel.
"""

from __future__ import annotations

import pytest
import torch

from elasticai.creator import create_design
from elasticai.creator.nn.fixed_point import GRU, LSTM, RNN, Conv1d, Linear, ReLU

pytestmark = pytest.mark.sim

CELLS = {"lstm": LSTM, "gru": GRU, "rnn": RNN}


class ManyToOne(torch.nn.Module):
    """``out, _ = rnn(x); fc(out[:, -1])``."""

    def __init__(self, cell: str, inputs: int, hidden: int, bits=(8, 4), layers=1, **kw):
        super().__init__()
        self.rnn = CELLS[cell](inputs, hidden, *bits, num_layers=layers, batch_first=True, **kw)
        self.fc = Linear(hidden, 2, *bits)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.fc(out[:, -1])


class FinalState(torch.nn.Module):
    """``_, h = gru(x)`` / ``_, (h, _) = lstm(x)``; ``fc(h[-1])`` (and ``h[0]``)."""

    def __init__(self, cell: str, layers: int = 1, both: bool = False):
        super().__init__()
        self.cell, self.both = cell, both
        self.rnn = CELLS[cell](2, 4, 8, 4, num_layers=layers, batch_first=True)
        self.fc = Linear(4, 3, 8, 4)

    def forward(self, x):
        if self.cell == "lstm":
            _, (h, _) = self.rnn(x)
        else:
            _, h = self.rnn(x)
        y = self.fc(h[-1])
        return torch.cat([y, self.fc(h[0])], dim=1) if self.both else y


class ManyToMany(torch.nn.Module):
    def __init__(self, cell: str):
        super().__init__()
        self.rnn = CELLS[cell](3, 5, 8, 4, batch_first=True)
        self.fc = Linear(5, 2, 8, 4)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.fc(out)


class ConvFront(torch.nn.Module):
    """A 1-D convolution over ``(channels, length)`` in front of an LSTM over the length."""

    def __init__(self):
        super().__init__()
        self.conv = Conv1d(2, 4, 3, 8, 4)
        self.relu = ReLU(8, 4)
        self.lstm = LSTM(4, 3, 8, 4, batch_first=True)
        self.fc = Linear(3, 1, 8, 4)

    def forward(self, x):
        seq = self.relu(self.conv(x)).transpose(1, 2)
        out, _ = self.lstm(seq)
        return self.fc(out[:, -1])


def check(model: torch.nn.Module, shape: tuple[int, ...], n: int = 6, seed: int = 0, **options):
    torch.manual_seed(seed)
    model = model.eval()
    design = create_design(model, "rec", input_shape=shape, **options)
    x = torch.randn(n, *shape) * 3
    x[0] = 7.9  # saturating
    expected = model(x)
    got = design.simulate(x)
    assert torch.equal(got, expected), (got, expected)
    report = design.report(synthesis=False)
    assert report["latency_cycles"] == report["predicted_latency_cycles"]
    assert report["initiation_interval"] == report["predicted_initiation_interval"]
    return design, report


@pytest.mark.parametrize("cell", sorted(CELLS))
@pytest.mark.parametrize(
    ("steps", "hidden", "bits"), [(1, 1, (8, 4)), (2, 5, (16, 8)), (17, 5, (8, 4))]
)
def test_many_to_one(cell, steps, hidden, bits):
    torch.manual_seed(steps + hidden)
    check(ManyToOne(cell, 2, hidden, bits), (steps, 2))


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("options", [{}, {"target_ii": 12000}, {"parallelism": "full"}])
def test_the_knob_from_one_row_a_beat_to_all_gates_at_once(cell, options):
    model = ManyToOne(cell, 1, 20)
    design, report = check(model, (16, 1), n=3, **options)
    (node,) = [n for n in design.graph.nodes if n.op.name == "recurrent"]
    rows = 4 * 20
    if options.get("parallelism") == "full":  # as fast as all gate rows at once, no dearer
        fastest = node.op.inner_cost(node, [1], 1, rows)[1]
        assert report["initiation_interval"] == fastest
        assert node.op.inner_cost(node, [1], 1, node.op.p_out - 1)[1] > fastest
    elif options:
        assert report["initiation_interval"] <= 12000 and 1 < node.op.p_out < rows
    else:
        assert node.op.p_out == 1


@pytest.mark.parametrize("cell", sorted(CELLS))
@pytest.mark.parametrize(("steps", "zeroed"), [(1, "weight"), (3, "weight_hh"), (3, "weight")])
def test_gates_that_need_no_state_wait_for_the_cell(cell, steps, zeroed):
    """Regression: where a step's gates do not need h of the step before (one step a
    sequence; the weights of h zero, whose steps ec_linear skips), ec_linear ran ahead of
    the cell and overflowed the ring of gate beats (a bound check in GHDL; found by the
    simulators' random LSTMs). It now waits while the ring is full."""
    torch.manual_seed(steps)
    model = ManyToOne(cell, 2, 5, (4, 1))
    with torch.no_grad():
        for name, parameter in model.rnn.named_parameters():
            if name.startswith(zeroed):
                parameter.zero_()
    check(model, (steps, 2))


@pytest.mark.parametrize("cell", sorted(CELLS))
def test_final_state_and_stacked_layers(cell):
    check(FinalState(cell, layers=2, both=True), (5, 2), seed=3)


def test_final_state_of_one_layer():
    check(FinalState("lstm"), (4, 2))


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_many_to_many(cell):
    check(ManyToMany(cell), (6, 3))


def test_a_convolution_in_front():
    check(ConvFront(), (2, 10))


def test_a_long_sequence_of_hidden_size_20():
    check(ManyToOne("lstm", 1, 20), (100, 1), n=2)


@pytest.mark.parametrize(
    "kw",
    [
        {"gate_activation": "hard_sigmoid", "cell_activation": "hard_tanh"},
        {"segments": 8},
    ],
)
def test_activation_variants(kw):
    check(ManyToOne("lstm", 2, 3, **kw), (5, 2))
    check(ManyToOne("gru", 2, 3, **kw), (5, 2))


def test_relu_rnn_and_odd_formats():
    check(ManyToOne("rnn", 3, 4, (6, 3), nonlinearity="relu"), (7, 3))
    model = ManyToOne("lstm", 2, 3, (10, 5), cell_total_bits=12, cell_frac_bits=7)
    check(model, (4, 2))


@pytest.mark.parametrize(
    ("cell", "options"),
    [("lstm", {}), ("gru", {"target_ii": 3000}), ("rnn", {"parallelism": "full"})],
)
def test_estimate_is_within_a_factor_of_two_of_yosys(cell, options):
    from elasticai.creator.analysis.estimate import estimate
    from elasticai.creator.synth.yosys import synthesize

    torch.manual_seed(4)
    design = create_design(ManyToOne(cell, 1, 12).eval(), "est", input_shape=(8, 1), **options)
    synth = synthesize(design.synthesizable_files(), "est")
    _, per_node = estimate(design.graph)
    (name,) = [n.name for n in design.graph.nodes if n.op.name == "recurrent"]
    guess, actual = per_node[name], synth.per_instance[name]
    assert guess["dsp"] == actual["dsp"] and guess["bram"] == actual["bram"], (guess, actual)
    for key in ("lut", "ff"):
        assert 0.5 <= guess[key] / actual[key] <= 2, (key, guess[key], actual[key])


@pytest.mark.parametrize("cell", sorted(CELLS))
@pytest.mark.parametrize("when", [0.3, 0.6, 0.9])
def test_a_reset_mid_sequence_clears_the_state(cell, when):
    """A reset in the middle of a run (inside a sequence, with state in the cell): the
    inputs are sent again and every output after the reset is exact."""
    torch.manual_seed(9)
    model = ManyToOne(cell, 2, 4).eval()
    design = create_design(model, "rec", input_shape=(5, 2), target_ii=800)
    x_int = design.quantize_input(torch.randn(4, 5, 2) * 3)
    expected = design.interpret(x_int)
    base = design.run(x_int, stall_percent=0)
    cycle = int(base.output_cycles[-1] * when) + 1
    result = design.run(x_int, reset_cycle=cycle, hold_cycles=30)
    assert (result.outputs == expected).all()
