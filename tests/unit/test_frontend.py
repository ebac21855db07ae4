"""PyTorch model -> IR graph: what is translated, what is refused, and how."""

import pytest
import torch

from elasticai.creator.arithmetic import FixedType
from elasticai.creator.frontend import UnsupportedModuleError, to_graph, translate
from elasticai.creator.ir.graph import TensorType
from elasticai.creator.nn import Sequential
from elasticai.creator.nn.fixed_point import HardSigmoid, HardTanh, Linear, ReLU, quantize

Q16 = FixedType(16, 8)
Q8 = FixedType(8, 4)


class Residual(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.layer = Linear(2, 2, total_bits=16, frac_bits=8)

    def forward(self, x):
        return x + self.layer(x)


class Parallel(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a = Linear(2, 2, total_bits=16, frac_bits=8)
        self.b = Linear(2, 2, total_bits=16, frac_bits=8)

    def forward(self, x):
        return self.b(self.a(x)) + self.b(x)


class Sigmoid(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.layer = Linear(2, 2, total_bits=16, frac_bits=8)

    def forward(self, x):
        return torch.sigmoid(self.layer(x))


class Skip(torch.nn.Module):
    """Calls its second layer on the input, not on the first layer's output."""

    def __init__(self) -> None:
        super().__init__()
        self.a = HardSigmoid(16, 8)
        self.b = HardTanh(16, 8)

    def forward(self, x):
        self.a(x)
        return self.b(x)


def test_readme_example_creates_design():
    model = Sequential(
        Linear(in_features=10, out_features=2, bias=True, total_bits=16, frac_bits=8),
        HardSigmoid(total_bits=16, frac_bits=8),
    )
    design = model.create_design("my_model")
    assert design.name == "my_model"
    assert design.graph.input_type == TensorType((10,), Q16)
    assert design.graph.output_type == TensorType((2,), Q16)
    assert [n.name for n in design.graph.nodes] == ["linear_0", "hard_sigmoid_1"]


@pytest.mark.parametrize(
    ("layer", "kind", "shape"),
    [
        (HardSigmoid(16, 8), "hard_sigmoid", (1,)),
        (HardTanh(16, 8), "hard_tanh", (1,)),
        (ReLU(16, 8), "relu", (1,)),
        (Linear(3, 2, total_bits=16, frac_bits=8), "linear", (3,)),
    ],
)
def test_single_layer_create_design_translates_alone(layer, kind, shape):
    design = layer.create_design("single")
    assert design.name == "single"
    assert [n.name for n in design.graph.nodes] == [f"{kind}_0"]
    assert design.graph.input_type == TensorType(shape, Q16)
    assert design.graph.nodes[0].source == f"model ({type(layer).__name__})"


SUPPORTED = (
    "supported layers: AdaptiveAvgPool1d, AdaptiveAvgPool2d, Add, AvgPool1d, AvgPool2d, "
    "BatchNorm1d, BatchNorm2d, Concatenate, Conv1d, Conv2d, Dropout, Flatten, GRU, HardSigmoid, "
    "HardSwish, HardTanh, Identity, LSTM, LeakyReLU, Linear, MaxPool1d, MaxPool2d, PReLU, RNN, "
    "ReLU, ReLU6, SiLU, Sigmoid, Tanh; functions: a + b, a - b, torch.cat(dim=1), F.relu, "
    "F.relu6, F.hardtanh, torch.clamp, F.max_pool1d/2d, torch.flatten(x, 1), "
    "x.view(x.size(0), -1), fixed_point.quantize, x[:, k] and x[:, a:b] of sequences, "
    "x.transpose(1, 2) of 1-D maps"
)


def test_unsupported_module_in_sequential_names_position_and_class():
    model = Sequential(Linear(3, 2, total_bits=16, frac_bits=8), torch.nn.Conv1d(1, 1, 1))
    with pytest.raises(UnsupportedModuleError) as error:
        to_graph(model, "m")
    assert str(error.value) == (
        f"model[1] (torch.nn.modules.conv.Conv1d) is not supported; {SUPPORTED}"
    )


def test_unsupported_module_error_is_a_type_error():
    assert issubclass(UnsupportedModuleError, TypeError)


class QuantizedResidual(Residual):
    def forward(self, x):
        x = quantize(x, 16, 8)
        return x + self.layer(x)


def test_residual_add_reads_the_input_and_the_layer():
    graph = to_graph(QuantizedResidual(), "m")
    add = graph.nodes[-1]
    assert (add.name, add.op.name, add.inputs) == ("add_1", "add", ("x", "linear_0"))
    assert add.output_type == TensorType((2,), FixedType(17, 8))
    assert add.source.startswith("model.forward line ")
    assert graph.output.value == "add_1"


def test_adding_the_real_valued_input_is_refused():
    """PyTorch adds ``x`` before any layer rounded it; the design has only integers."""
    with pytest.raises(ValueError) as error:
        to_graph(Residual(), "m")
    line = Residual.forward.__code__.co_firstlineno + 1
    assert str(error.value) == (
        f"model.forward line {line} (a + b) reads the real-valued model input, which PyTorch "
        "does not round there; quantize it first: x = fixed_point.quantize(x, total_bits, "
        "frac_bits)"
    )


def test_a_layer_called_twice_is_two_nodes_with_its_weights():
    graph = to_graph(Parallel(), "m")
    names = [(n.name, n.inputs) for n in graph.nodes]
    assert names == [
        ("linear_0", ("x",)),
        ("linear_1", ("linear_0",)),
        ("linear_2", ("x",)),
        ("add_3", ("linear_1", "linear_2")),
    ]
    assert graph.nodes[1].op.weight.tolist() == graph.nodes[2].op.weight.tolist()


def test_a_layer_whose_result_nothing_reads_is_left_out():
    graph = to_graph(Skip(), "m")
    assert [(n.name, n.inputs) for n in graph.nodes] == [("hard_tanh_1", ("x",))]


def test_call_function_in_forward_is_refused_with_its_line():
    with pytest.raises(UnsupportedModuleError) as error:
        to_graph(Sigmoid(), "m")
    line = Sigmoid.forward.__code__.co_firstlineno + 1
    assert str(error.value) == (
        f"model.forward line {line}: torch.sigmoid is not supported "
        f"[return torch.sigmoid(self.layer(x))]; {SUPPORTED}"
    )


@pytest.mark.parametrize(("value", "shown"), [(float("nan"), "nan"), (float("inf"), "inf")])
def test_non_finite_weight_is_refused_with_position_and_value(value, shown):
    model = Sequential(ReLU(16, 8), Linear(3, 2, total_bits=16, frac_bits=8))
    with torch.no_grad():
        model[1].weight[1, 2] = value
    with pytest.raises(ValueError) as error:
        to_graph(model, "m")
    assert str(error.value) == f"model[1] (Linear) has a non-finite weight ({shown} at [1, 2])"


def test_non_finite_bias_is_refused_with_position_and_value():
    model = Sequential(HardSigmoid(16, 8), Linear(1, 2, total_bits=16, frac_bits=8))
    with torch.no_grad():
        model[1].bias[1] = float("-inf")
    with pytest.raises(ValueError) as error:
        to_graph(model, "m")
    assert str(error.value) == "model[1] (Linear) has a non-finite bias (-inf at [1])"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("signal", "design name must not be a VHDL reserved word, not 'signal'"),
        ("Entity", "design name must not be a VHDL reserved word, not 'Entity'"),
        (
            "my model",
            "design name must be a VHDL identifier (a letter, then letters, digits and single "
            "underscores, not ending in one), not 'my model'",
        ),
        (
            "ec_top",
            "design name must not start with 'ec_' (reserved for the library), not 'ec_top'",
        ),
    ],
)
def test_bad_design_name_is_refused_before_translation(name, message):
    # The model itself is untranslatable: the name must be checked first.
    model = Sequential(torch.nn.Conv1d(1, 1, 1))
    with pytest.raises(ValueError) as error:
        translate(model, name)
    assert str(error.value) == message


def test_create_design_with_bad_name_is_refused():
    with pytest.raises(ValueError) as error:
        HardSigmoid(16, 8).create_design("1hs")
    assert "not '1hs'" in str(error.value)


def test_different_formats_get_explicit_convert_node():
    model = Sequential(Linear(3, 2, total_bits=16, frac_bits=8), HardSigmoid(8, 4))
    graph = to_graph(model, "m")
    summary = [
        (n.name, n.op.name, n.op.kind, n.inputs, n.input_type, n.output_type) for n in graph.nodes
    ]
    assert summary == [
        ("linear_0", "linear", "linear", ("x",), TensorType((3,), Q16), TensorType((2,), Q16)),
        (
            "convert_1",
            "pointwise",
            "convert",
            ("linear_0",),
            TensorType((2,), Q16),
            TensorType((2,), Q8),
        ),
        (
            "hard_sigmoid_2",
            "pointwise",
            "hard_sigmoid",
            ("convert_1",),
            TensorType((2,), Q8),
            TensorType((2,), Q8),
        ),
    ]
    assert graph.nodes[1].source == "model[1] (HardSigmoid)"


def test_same_formats_get_no_convert_node():
    model = Sequential(Linear(3, 2, total_bits=8, frac_bits=4), HardTanh(8, 4), ReLU(8, 4))
    assert [n.name for n in to_graph(model, "m").nodes] == ["linear_0", "hard_tanh_1", "relu_2"]


def test_relu_without_format_inherits_previous_format():
    model = Sequential(Linear(3, 2, total_bits=8, frac_bits=4), ReLU())
    graph = to_graph(model, "m")
    assert [n.name for n in graph.nodes] == ["linear_0", "relu_1"]
    relu = graph.nodes[1]
    assert relu.input_type == relu.output_type == TensorType((2,), Q8)
    assert (relu.op.low, relu.op.high) == (0, Q8.max_int)


def test_relu_with_matching_total_bits_inherits_previous_format():
    model = Sequential(Linear(3, 2, total_bits=16, frac_bits=8), ReLU(total_bits=16))
    assert to_graph(model, "m").output_type == TensorType((2,), Q16)


def test_relu_with_other_total_bits_is_refused():
    model = Sequential(Linear(3, 2, total_bits=16, frac_bits=8), ReLU(total_bits=8))
    with pytest.raises(ValueError) as error:
        to_graph(model, "m")
    assert str(error.value) == (
        "model[1] (ReLU) has total_bits=8 but its input has 16; give frac_bits too to convert"
    )


def test_relu_without_format_as_first_layer_is_refused():
    with pytest.raises(ValueError) as error:
        to_graph(Sequential(ReLU(), HardSigmoid(8, 4)), "m")
    assert str(error.value) == "model[0] (ReLU) needs frac_bits when it is the first layer"


def test_elementwise_only_model_defaults_to_one_input():
    graph = to_graph(Sequential(HardSigmoid(8, 4), ReLU()), "m")
    assert graph.input_type == TensorType((1,), Q8)
    assert graph.output_type == TensorType((1,), Q8)


def test_elementwise_only_model_takes_input_shape():
    design = translate(Sequential(HardSigmoid(8, 4), ReLU()), "m", input_shape=(5,))
    assert [n.input_type for n in design.graph.nodes] == [TensorType((5,), Q8)] * 2
    assert design.graph.input_type == TensorType((5,), Q8)
    assert design.graph.output_type == TensorType((5,), Q8)


def test_create_design_passes_input_shape():
    design = HardTanh(16, 8).create_design("ht", input_shape=(4,))
    assert design.graph.input_type == TensorType((4,), Q16)


def test_input_shape_matching_first_linear_is_accepted():
    graph = to_graph(Sequential(Linear(3, 2, total_bits=16, frac_bits=8)), "m", input_shape=(3,))
    assert graph.input_type == TensorType((3,), Q16)


def test_input_shape_contradicting_first_linear_is_refused():
    model = Sequential(Linear(3, 2, total_bits=16, frac_bits=8), ReLU())
    with pytest.raises(ValueError) as error:
        translate(model, "m", input_shape=(4,))
    assert str(error.value) == "input_shape (4,) does not fit model[0] (Linear), which takes (3,)"


def test_mismatched_linear_features_are_refused():
    model = Sequential(
        Linear(3, 2, total_bits=16, frac_bits=8), Linear(3, 1, total_bits=16, frac_bits=8)
    )
    with pytest.raises(ValueError) as error:
        to_graph(model, "m")
    assert str(error.value) == "model[1] (Linear) expects shape (3,), not (2,)"


@pytest.mark.parametrize("model", [Sequential(), Sequential(torch.nn.Identity())])
def test_model_without_layers_is_refused(model):
    with pytest.raises(ValueError) as error:
        to_graph(model, "m")
    assert str(error.value) == "the model has no layer to translate"


def test_identity_and_dropout_are_skipped():
    model = Sequential(
        torch.nn.Identity(),
        Linear(3, 2, total_bits=16, frac_bits=8),
        torch.nn.Dropout(0.5),
        ReLU(),
    ).eval()
    graph = to_graph(model, "m")
    assert [(n.name, n.source) for n in graph.nodes] == [
        ("linear_0", "model[1] (Linear)"),
        ("relu_1", "model[3] (ReLU)"),
    ]
    assert graph.nodes[1].inputs == ("linear_0",)


def test_nested_sequential_positions_are_named():
    model = Sequential(Sequential(Linear(3, 2, total_bits=16, frac_bits=8), torch.nn.Tanh()))
    with pytest.raises(UnsupportedModuleError) as error:
        to_graph(model, "m")
    assert str(error.value).startswith(
        "model[0][1] (torch.nn.modules.activation.Tanh) is not supported"
    )


def test_graph_carries_first_layer_rounding_and_overflow():
    model = Sequential(
        Linear(3, 2, total_bits=16, frac_bits=8, rounding="floor", overflow="wrap"), ReLU()
    )
    graph = to_graph(model, "m")
    assert (graph.input.rounding.value, graph.input.overflow.value) == ("floor", "wrap")


def test_a_plain_torch_layer_as_the_whole_model_is_named():
    with pytest.raises(UnsupportedModuleError) as error:
        translate(torch.nn.Linear(3, 2), "x")
    assert str(error.value).startswith("model (torch.nn.modules.linear.Linear) is not supported;")
