"""Models that are not chains: PyTorch's forward equals the integer interpreter exactly."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from elasticai.creator import create_design
from elasticai.creator.nn.fixed_point import Add, BatchNorm1d, LeakyReLU, Linear, quantize
from tests.graph_models import MODELS

SETTINGS = [{}, {"target_ii": 64}, {"parallelism": "full"}]


def interpreted(design, x: torch.Tensor) -> torch.Tensor:
    """What the hardware computes for ``x``, from the interpreter, as the model returns it."""
    y = design.to_model_layout(design.interpret(design.quantize_input(x)))
    return torch.from_numpy(y * 2.0**-design.graph.output_type.dtype.frac_bits).to(x.dtype)


def inputs(shape, seed: int, batch: int = 24) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(batch, *shape, generator=g) - 0.5) * 12


@pytest.mark.parametrize("name", sorted(MODELS))
@pytest.mark.parametrize("options", SETTINGS, ids=["serial", "ii64", "full"])
def test_graph_model_equals_the_interpreter(name, options):
    model, shape = MODELS[name]()
    design = create_design(model, name, input_shape=shape, **options)
    x = inputs(shape, 11)
    assert torch.equal(interpreted(design, x), model(x))


class _FlatMap(torch.nn.Module):
    """Layers reading a flattened (2, 2) map, whose stream runs channels last."""

    def __init__(self, layer: torch.nn.Module, skip: bool = False) -> None:
        super().__init__()
        self.layer, self.skip = layer, skip

    def forward(self, x):
        y = torch.flatten(quantize(x, 8, 4), 1)
        return self.layer(y) + y if self.skip else self.layer(y)


def _batch_norm() -> BatchNorm1d:
    bn = BatchNorm1d(4, 8, 4)
    with torch.no_grad():
        bn.running_mean.copy_(torch.tensor([0.0, 1.0, 2.0, 3.0]))
    return bn


@pytest.mark.parametrize(
    "model",
    [_FlatMap(_batch_norm()), _FlatMap(_batch_norm(), skip=True), _FlatMap(LeakyReLU(8, 4, 0.5))],
    ids=["batch_norm", "batch_norm_skip", "leaky_relu"],
)
def test_layers_on_a_flattened_map_keep_its_order(model):
    """Regression: their constants went in stream order, the model's were in its own."""
    model.eval()
    design = create_design(model, "flat", input_shape=(2, 2))
    x = torch.arange(8.0).reshape(2, 2, 2) - 3
    assert torch.equal(interpreted(design, x), model(x))


def test_add_layer_sums_exactly_in_float32():
    """Regression: a sum wider than float32's 24 bits was rounded before the layer's own
    rounding."""

    class Wide(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = Linear(1, 1, 16, 0), Linear(1, 1, 16, 13)
            self.add = Add(20, 4, rounding="half_up")
            with torch.no_grad():
                for layer, bias in ((self.a, 4096.0), (self.b, 1 / 32 - 2**-13)):
                    layer.weight.zero_()
                    layer.bias.fill_(bias)

        def forward(self, x):
            x = quantize(x, 8, 4)
            return self.add(self.a(x), self.b(x))

    model = Wide().eval()
    design = create_design(model, "wide", input_shape=(1,))
    x = torch.zeros(1, 1)
    with torch.no_grad():
        assert float(model(x)) == 4096.0
    assert torch.equal(interpreted(design, x), model(x))


def test_a_model_of_functions_only_translates():
    class FunctionsOnly(torch.nn.Module):
        def forward(self, x):
            return F.relu(quantize(x, 8, 4))

    design = create_design(FunctionsOnly(), "functions", input_shape=(3,))
    x = torch.tensor([[-1.0, 0.5, 9.0]])
    assert torch.equal(interpreted(design, x), FunctionsOnly()(x))


class _ClampedTwice(torch.nn.Module):
    """A Linear, a HardTanh only it reads, then a ReLU and an add both reading the HardTanh:
    the HardTanh may merge into the Linear, the ReLU then may not (the add reads the value
    before it)."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = Linear(3, 2, 4, 0, rounding="floor")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        v = F.hardtanh(self.fc(x), -3.0, 2.0)
        return F.relu(v) + v


def test_a_clamp_merges_into_a_linear_only_while_the_linear_has_one_reader():
    torch.manual_seed(2)
    model = _ClampedTwice().eval()
    with torch.no_grad():
        model.fc.weight.copy_(torch.tensor([[1.0, -2.0, 1.0], [-1.0, 1.0, 2.0]]))
    design = create_design(model, "clamped")
    (linear,) = [n for n in design.graph.nodes if n.op.kind == "linear"]
    assert (linear.op.low, linear.op.high) == (-3, 2)  # the HardTanh, not the ReLU
    x = inputs((3,), 5)
    assert torch.equal(interpreted(design, x), model(x))


class _DisjointClamps(torch.nn.Module):
    """A Linear and two clamps whose ranges do not overlap: the second sets every output."""

    def __init__(self, first: tuple[float, float], second: tuple[float, float]) -> None:
        super().__init__()
        self.fc = Linear(3, 2, 4, 0, rounding="floor")
        self.first, self.second = first, second

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.clamp(torch.clamp(self.fc(x), *self.first), *self.second)


@pytest.mark.parametrize(
    ("first", "second", "merged"),
    [
        ((0.0, 0.0), (1.0, 1.0), (1, 1)),
        ((2.0, 5.0), (-3.0, 1.0), (1, 1)),
        ((-4, 2), (0, 6), (0, 2)),
    ],
)
def test_clamps_merged_into_a_linear_compose_as_clamps_do(first, second, merged):
    """Regression (found by ``./dev equivalence``): the merged bounds were the intersection
    of the ranges, empty for disjoint ones, and gave the first clamp's bound."""
    model = _DisjointClamps(first, second).eval()
    design = create_design(model, "clamps")
    (linear,) = design.graph.nodes
    assert (linear.op.low, linear.op.high) == merged
    x = inputs((3,), 6)
    assert torch.equal(interpreted(design, x), model(x))


class _MapAndFlat(torch.nn.Module):
    """A map read by a convolution and, flattened, by a batch norm: both need the map in
    another format, each in its own view (one stream, two IR types)."""

    def __init__(self) -> None:
        super().__init__()
        from elasticai.creator.nn.fixed_point import Conv1d, Flatten

        self.flat = Flatten()
        self.norm = BatchNorm1d(6, 8, 2)
        self.conv = Conv1d(2, 1, 1, 8, 2)
        self.fc = Linear(6 + 3, 2, 8, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = quantize(x, 4, 0)
        a = self.norm(self.flat(x))
        b = torch.flatten(self.conv(x), 1)
        return self.fc(torch.cat([a, b], dim=1))


def test_a_map_and_its_flattened_view_are_converted_each_in_its_view():
    torch.manual_seed(4)
    model = _MapAndFlat()
    model.train()
    with torch.no_grad():
        model(torch.randn(32, 2, 3) * 4)  # batch norm statistics
    model.eval()
    design = create_design(model, "views", input_shape=(2, 3))
    x = inputs((2, 3), 6)
    assert torch.equal(interpreted(design, x), model(x))
