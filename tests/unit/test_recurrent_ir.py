"""Recurrent layers in the IR (no simulator): the graph ``create_design`` builds, the
interpreter against the model, serialization, the hard activations' piecewise form, the
timing model's shape, and the errors for what the hardware does not take."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from elasticai.creator import create_design
from elasticai.creator.ir.serialize import graph_from_json, graph_to_json
from elasticai.creator.nn.fixed_point import GRU, LSTM, RNN, Linear
from elasticai.creator.ops.pointwise import PointwiseOp
from elasticai.creator.ops.recurrent import as_piecewise


class Net(torch.nn.Module):
    def __init__(self, rnn: torch.nn.Module, hidden: int, use: str = "out"):
        super().__init__()
        self.rnn, self.use = rnn, use
        self.fc = Linear(hidden, 2, 8, 4)

    def forward(self, x):
        out, state = self.rnn(x)
        if self.use == "out":
            return self.fc(out[:, -1])
        if self.use == "many":
            return self.fc(out)
        if self.use == "c":
            return self.fc(state[1][-1])
        return self.fc(state[-1] if isinstance(self.rnn, GRU | RNN) else state[0][-1])


def lstm(**kw):
    return LSTM(2, 3, 8, 4, batch_first=True, **kw)


@pytest.mark.parametrize("make", [lstm, lambda: GRU(2, 3, 8, 4, batch_first=True, num_layers=2)])
@pytest.mark.parametrize("use", ["out", "many", "h"])
def test_the_interpreter_is_the_model(make, use):
    torch.manual_seed(1)
    model = Net(make(), 3, use).eval()
    design = create_design(model, "r", input_shape=(5, 2))
    x = torch.randn(7, 5, 2) * 3
    y = design.interpret(design.quantize_input(x))
    expected = model(x).detach().numpy() * 16
    assert np.array_equal(design.to_model_layout(y).reshape(expected.shape), expected)


def test_design_json_round_trips():
    torch.manual_seed(2)
    design = create_design(
        Net(lstm(gate_activation="hard_sigmoid"), 3).eval(), "r", input_shape=(4, 2)
    )
    text = graph_to_json(design.graph)
    assert graph_to_json(graph_from_json(text)) == text


@pytest.mark.parametrize("bits", [(8, 4), (6, 3), (12, 6), (16, 8)])
def test_hard_activations_have_an_exact_piecewise_form(bits):
    ops = [
        *LSTM(
            2, 3, *bits, gate_activation="hard_sigmoid", cell_activation="hard_tanh"
        ).recurrent_ops(),
        *GRU(
            2, 3, *bits, gate_activation="hard_sigmoid", cell_activation="hard_tanh"
        ).recurrent_ops(),
        *RNN(2, 3, *bits, nonlinearity="relu").recurrent_ops(),
    ]
    checked = 0
    for op in ops:
        for name in ("gate_act", "cand_act", "cell_act"):
            f = getattr(op, name)
            if not isinstance(f, PointwiseOp):
                continue
            node = op._nodes[name]
            t = node.input_type.dtype
            xs = np.arange(t.min_int, t.max_int + 1).reshape(-1, 1)
            piecewise = as_piecewise(f, t)
            assert np.array_equal(
                np.asarray(f.interpret(node, [xs])), np.asarray(piecewise.interpret(node, [xs]))
            ), name
            checked += 1
    assert checked == 6


def test_the_planner_trades_gate_rows_for_cycles():
    from elasticai.creator.analysis.timing import predict_timing

    torch.manual_seed(3)
    model = Net(LSTM(1, 20, 8, 4, batch_first=True), 20).eval()
    found = []
    for options in ({}, {"target_ii": 14000}, {"target_ii": 12000}, {"parallelism": "full"}):
        design = create_design(model, "r", input_shape=(16, 1), **options)
        (node,) = [n for n in design.graph.nodes if n.op.name == "recurrent"]
        found.append((node.op.p_out, predict_timing(design.graph).initiation_interval))
    p_outs, intervals = zip(*found, strict=True)
    assert p_outs[0] == 1 and list(p_outs) == sorted(p_outs) and p_outs[1] < p_outs[2]
    assert intervals[0] > intervals[1] > intervals[2] >= intervals[3]
    assert intervals[1] <= 14000 and intervals[2] <= 12000


@pytest.mark.parametrize(
    ("model", "shape", "message"),
    [
        (
            Net(lstm(), 3),
            None,
            r"model.rnn \(LSTM\) is the first layer: give create_design\(\.\.\., input_shape=\(sequence_length, input_size\)\)",
        ),
        (
            Net(lstm(), 3),
            (5, 3),
            r"input_shape \(5, 3\) does not fit model.rnn \(LSTM\), which takes 2 features a step",
        ),
        (
            Net(LSTM(2, 3, 8, 4), 3),
            (5, 2),
            r"model.rnn \(LSTM\) has batch_first=False; give it batch_first=True",
        ),
        (Net(lstm(), 3, "c"), (5, 2), r"the cell state c_n stays inside the hardware"),
    ],
)
def test_what_the_hardware_does_not_take_is_refused(model, shape, message):
    with pytest.raises(ValueError, match=message):
        create_design(model.eval(), "r", input_shape=shape)


def test_an_initial_state_is_refused():
    class WithState(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.first = GRU(2, 3, 8, 4, batch_first=True)
            self.second = GRU(3, 3, 8, 4, batch_first=True)

        def forward(self, x):
            out, h = self.first(x)
            out, _ = self.second(out, h)
            return out

    with pytest.raises(ValueError, match=r"model.second \(GRU\) is given an initial state"):
        create_design(WithState().eval(), "r", input_shape=(4, 2))


def test_a_sequence_of_another_length_is_refused():
    design = create_design(Net(lstm(), 3).eval(), "r", input_shape=(5, 2))
    with pytest.raises(
        ValueError, match=r"r takes inputs of shape \(batch, 5, 2\), not \(3, 6, 2\)"
    ):
        design.quantize_input(torch.zeros(3, 6, 2))
