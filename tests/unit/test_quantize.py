"""``quantize``: float PyTorch models -> the library's layers, formats from calibration data.

Float models trained briefly on generated data (``tests.float_models``) keep their
accuracy at 8 bits (measured on 1000 test samples; float -> 8 bits: MLP 87.7 -> 87.4 %,
CNN with batch norms 88.9 -> 87.6 %, residual block 97.2 -> 97.0 %, LSTM 85.5 -> 85.9 %),
fine-tune with an ordinary loop and translate exactly (the integer interpreter here, GHDL
in ``tests/sim/test_quantize.py``).
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from elasticai.creator import create_design, quantize
from elasticai.creator.arithmetic import FixedType
from elasticai.creator.from_float import QuantizedModel, frac_bits_for
from elasticai.creator.frontend import UnsupportedModuleError
from elasticai.creator.nn import fixed_point as fp
from tests.float_models import MODELS, accuracy, fit, trained
from tests.unit.test_graphs import interpreted

#: The largest accuracy loss at 8 bits the tests accept, in percentage points (measured:
#: 1.3 for the CNN, at most 0.3 for the others).
MAX_LOSS = 2.0


def calibrated(name: str, **options) -> tuple[QuantizedModel, object]:
    t = trained(name)
    return quantize(t.model, t.x_train[:256], **options), t


@given(st.floats(1e-6, 1e6), st.integers(2, 32))
def test_frac_bits_hold_the_magnitude_in_the_smallest_integer_part(magnitude, total_bits):
    frac = frac_bits_for(magnitude, total_bits)
    t = FixedType(total_bits, frac)
    integer_bits = total_bits - 1 - frac
    if frac > 0:  # else the magnitude is too large for the bits: saturated
        assert magnitude < 2.0**integer_bits
    if frac < total_bits:  # else the magnitude is smaller than the finest format holds
        assert magnitude >= 2.0 ** (integer_bits - 1)
    assert t.min_value <= -min(magnitude, 2.0 ** (total_bits - 1))


@pytest.mark.parametrize("name", sorted(MODELS))
def test_accuracy_loss_at_8_bits_is_small_and_the_translation_exact(name):
    q, t = calibrated(name)
    float_accuracy = accuracy(t.model, t.x_test, t.y_test)
    assert float_accuracy > 0.8  # trained
    loss = 100 * (float_accuracy - accuracy(q, t.x_test, t.y_test))
    assert loss <= MAX_LOSS, f"{name}: {loss:.1f} percentage points lost at 8 bits"
    design = create_design(q, name, input_shape=t.input_shape)
    x = t.x_test[:40]
    assert torch.equal(interpreted(design, x), q(x))


def test_the_result_is_made_of_the_library_layers_with_the_float_weights():
    q, t = calibrated("cnn")
    float_layers = dict(t.model.named_modules())
    expected = {
        "features.0": fp.Conv1d,
        "features.1": fp.BatchNorm1d,
        "features.2": fp.ReLU,
        "features.3": fp.MaxPool1d,
        "features.7": fp.AdaptiveAvgPool1d,
        "head.0": fp.Flatten,
        "head.1": fp.Linear,
    }
    for name, cls in expected.items():
        layer = q.get_submodule(name)
        assert type(layer) is cls
        for key, value in float_layers[name].state_dict().items():
            assert torch.equal(layer.state_dict()[key], value)
    assert q.get_submodule("features.0").batch_norm is q.get_submodule("features.1")  # folded
    assert not q.training


def test_formats_follow_the_rule_on_the_calibration_data():
    model = trained("mlp").model
    x = trained("mlp").x_train[:256]
    seen: dict[str, float] = {}

    def record(name):
        def hook(module, inputs, output):
            seen[name] = max(inputs[0].abs().max().item(), output.abs().max().item())

        return hook

    handles = [getattr(model, n).register_forward_hook(record(n)) for n in ("fc1", "fc2", "fc3")]
    with torch.no_grad():
        model(x)
    for h in handles:
        h.remove()
    q = quantize(model, x)
    for name, magnitude in seen.items():
        weight, bias = getattr(model, name).weight, getattr(model, name).bias
        f = q.formats[name]
        assert f["frac_bits"] == frac_bits_for(magnitude, 8)
        assert f["weight_frac_bits"] == frac_bits_for(weight.abs().max().item(), 8)
        assert f["bias_frac_bits"] == min(
            frac_bits_for(bias.abs().max().item(), 8), f["frac_bits"] + f["weight_frac_bits"]
        )
        layer = getattr(q, name)
        assert layer.fxp == FixedType(8, f["frac_bits"])
        assert layer.weight_fxp == FixedType(8, f["weight_frac_bits"])
    assert q.formats["relu"] == {}  # keeps the format of what it reads
    assert q.input_format is None  # fc1 rounds the input


def test_the_percentile_leaves_outliers_out():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 4)).eval()
    x = torch.randn(2000, 4)
    x[0, 0] = 1000.0  # one outlier
    assert quantize(model, x).formats["0"]["frac_bits"] == 0  # holds the outlier
    assert quantize(model, x, percentile=99.9).formats["0"]["frac_bits"] == 5  # |x| < 4


def test_overrides_and_weight_formats():
    t = trained("mlp")
    q = quantize(
        t.model,
        t.x_train,
        weight_total_bits=6,
        overrides={
            "fc1": {"total_bits": 4},
            "fc2": {"weight_total_bits": 4, "weight_frac_bits": 3, "parallelism": "full"},
            "relu": {"total_bits": 8, "frac_bits": 2},
        },
    )
    assert q.fc1.fxp.total_bits == 4 and q.fc1.weight_fxp.total_bits == 6
    assert q.fc1.fxp.frac_bits == q.formats["fc1"]["frac_bits"] == 4 - 1 - 3  # |fc1| < 8
    assert q.fc2.weight_fxp == FixedType(4, 3) and q.fc2.parallelism == (32, 16)
    assert q.fc3.weight_fxp.total_bits == 6 and q.fc3.fxp.total_bits == 8
    assert q.relu.fxp == FixedType(8, 2)
    x = t.x_test[:20]
    design = create_design(q, "mixed")
    assert torch.equal(interpreted(design, x), q(x))


def test_fine_tuning_with_an_ordinary_loop_keeps_the_translation_exact():
    q, t = calibrated("cnn")
    before = {k: v.clone() for k, v in q.state_dict().items()}
    losses = fit(q, t.x_train, t.y_train, steps=10, lr=0.002)
    assert all(math.isfinite(v) for v in losses)
    changed = {k for k, v in q.state_dict().items() if not torch.equal(before[k], v)}
    assert {"features.0.weight", "features.1.running_mean", "head.1.bias"} <= changed
    assert not q.training
    x = t.x_test[:20]
    assert torch.equal(interpreted(create_design(q, "tuned", input_shape=(1, 32)), x), q(x))


class Calls(torch.nn.Module):
    """Calls that need a layer of their own, a shared layer, a join of the model input."""

    def __init__(self) -> None:
        super().__init__()
        self.a = torch.nn.Linear(6, 6)
        self.b = torch.nn.Linear(6, 6)
        self.c = torch.nn.Linear(12, 6)

    def forward(self, x):
        y = torch.cat([F.silu(self.a(x)), torch.tanh(self.b(x))], dim=1)
        y = self.c(y).sigmoid() + F.leaky_relu(self.c(y), 0.1)
        return torch.clamp(y, -1.5, 1.5) + F.hardswish(x)


def test_calls_become_layers_and_a_shared_input_is_rounded_once():
    torch.manual_seed(0)
    x = torch.randn(300, 6)
    q = quantize(Calls().eval(), x)
    kinds = {name: type(m) for name, m in q.named_children()}
    assert kinds == {
        "a": fp.Linear,
        "silu": fp.SiLU,
        "b": fp.Linear,
        "tanh": fp.Tanh,
        "c": fp.Linear,
        "sigmoid": fp.Sigmoid,
        "leaky_relu": fp.LeakyReLU,
        "clamp": fp.HardTanh,
        "hardswish": fp.HardSwish,
    }
    assert q.input_format == FixedType(8, frac_bits_for(x.abs().max().item(), 8))
    assert "quantize" in q.code
    assert torch.equal(interpreted(create_design(q, "calls"), x[:30]), q(x[:30]))


def test_its_create_design_takes_the_sample_shape_of_the_calibration_data():
    float_model = torch.nn.Sequential(
        torch.nn.Conv1d(2, 4, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.Flatten(),
        torch.nn.Linear(4 * 12, 3),
    ).eval()
    x = torch.randn(64, 2, 12, generator=torch.Generator().manual_seed(3))
    q = quantize(float_model, x)
    assert q.input_shape == (2, 12)
    with pytest.raises(ValueError, match="input_shape"):
        create_design(q, "conv")  # the function needs it, as for any model
    design = q.create_design("conv")
    assert torch.equal(interpreted(design, x[:20]), q(x[:20]))
    with pytest.raises(ValueError, match=r"expects shape \(48,\), not \(52,\)"):
        q.create_design("conv", input_shape=(2, 13))  # a shape given wins


@pytest.mark.parametrize("cell", [torch.nn.GRU, torch.nn.RNN])
def test_gru_and_rnn_translate_exactly(cell):
    class Net(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.rnn = cell(3, 5, num_layers=2, batch_first=True)
            self.fc = torch.nn.Linear(5, 2)

        def forward(self, x):
            _, h = self.rnn(x)
            return self.fc(h[-1])

    torch.manual_seed(0)
    x = torch.randn(50, 7, 3)
    q = quantize(Net().eval(), x)
    assert type(q.rnn) is getattr(fp, cell.__name__)
    assert q.formats["rnn"]["gate_frac_bits"] >= 0
    assert torch.equal(interpreted(create_design(q, "r", input_shape=(7, 3)), x[:10]), q(x[:10]))


class Unsupported(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = torch.nn.Linear(4, 4)
        self.act = torch.nn.GELU()
        self.lstm = torch.nn.LSTM(4, 4, bidirectional=True, batch_first=True)

    def forward(self, x):
        y = self.act(self.fc(x)) * 2
        out, _ = self.lstm(y[:, None])
        return torch.matmul(out[:, 0], y.T)


def test_everything_unsupported_is_listed_at_once_before_anything_is_converted():
    model = Unsupported()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(UnsupportedModuleError) as error:
        quantize(model, torch.randn(8, 4))
    lines = str(error.value).splitlines()
    assert lines[0] == "5 parts of the model cannot be quantized:"
    assert lines[1] == "  model.act (torch.nn.modules.activation.GELU)"
    assert lines[2].startswith("  model.forward line ")
    assert lines[2].endswith(": a * b (node mul) [y = self.act(self.fc(x)) * 2]")
    assert lines[3] == (
        "  model.lstm (torch.nn.modules.rnn.LSTM): bidirectional=True (one direction only)"
    )
    assert "Tensor.T (node getattr_1)" in lines[4]
    assert "torch.matmul (node matmul)" in lines[5]
    assert lines[6].startswith("quantize converts these torch.nn layers: AdaptiveAvgPool1d")
    assert all(torch.equal(v, state[k]) for k, v in model.state_dict().items())


@pytest.mark.parametrize(
    ("name", "shape", "message"),
    [
        (
            "mlp",
            (5, 7),
            "calibration_data has shape (5, 7), but model.fc1 (Linear), the first "
            "layer, takes (batch, 10)",
        ),
        (
            "cnn",
            (5, 32),
            "calibration_data has shape (5, 32), but model.features[0] (Conv1d), "
            "the first layer, takes (batch, 1, length)",
        ),
        (
            "lstm",
            (5, 2, 16),
            "calibration_data has shape (5, 2, 16), but model.lstm (LSTM), "
            "the first layer, takes (batch, sequence_length, 1)",
        ),
    ],
)
def test_calibration_data_of_the_wrong_shape(name, shape, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    model = trained(name).model
    state = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(ValueError) as error:
        quantize(model, torch.zeros(shape))
    assert str(error.value) == message
    assert all(torch.equal(v, state[k]) for k, v in model.state_dict().items())
    assert not model.training
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_a_model_that_fails_on_the_data_names_the_shape():
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(6, 2))
    with pytest.raises(ValueError, match=r"cannot run on calibration_data of shape \(3, 2, 2\)"):
        quantize(model, torch.zeros(3, 2, 2))


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"fc9": {"total_bits": 4}},
            "overrides names 'fc9', which is not a layer of the model "
            "with a format; those are: fc1, fc2, fc3, relu",
        ),
        (
            {"fc1": {"totalbits": 4}},
            "overrides['fc1'] gives 'totalbits', which Linear does not "
            "take; it takes: bias_frac_bits, bias_total_bits, frac_bits, overflow, parallelism, "
            "rounding, total_bits, weight_frac_bits, weight_total_bits",
        ),
    ],
)
def test_unknown_overrides(overrides, message):
    t = trained("mlp")
    with pytest.raises(ValueError) as error:
        quantize(t.model, t.x_train[:10], overrides=overrides)
    assert str(error.value) == message


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"total_bits": 1}, "total_bits must be an int of at least 2, not 1"),
        ({"weight_total_bits": 8.0}, "weight_total_bits must be an int of at least 2, not 8.0"),
        ({"percentile": 0}, "percentile must be a number in (0, 100], not 0"),
    ],
)
def test_bad_options(options, message):
    t = trained("mlp")
    with pytest.raises(ValueError) as error:
        quantize(t.model, t.x_train[:10], **options)
    assert str(error.value) == message
