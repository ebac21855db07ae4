"""Models that are not chains: residual blocks, branches, concatenations, fan-out.

Each builder returns ``(model in eval(), input shape without batch)``; the unit tier
compares them with the interpreter, the simulation tier with GHDL.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from elasticai.creator.nn.fixed_point import (
    AdaptiveAvgPool1d,
    AvgPool1d,
    BatchNorm1d,
    BatchNorm2d,
    Concatenate,
    Conv1d,
    Conv2d,
    HardTanh,
    Linear,
    MaxPool1d,
    ReLU,
    ReLU6,
    quantize,
)

B, F_ = 8, 4  # total and fractional bits of most layers


def randomize(model: torch.nn.Module, seed: int) -> torch.nn.Module:
    """Weights and batch-norm statistics drawn at random (so folding has something to do)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, Linear | Conv1d | Conv2d):
                m.weight.copy_((torch.rand(m.weight.shape, generator=g) - 0.5) * 1.5)
                if m.bias is not None:
                    m.bias.copy_((torch.rand(m.bias.shape, generator=g) - 0.5) * 1.0)
            if isinstance(m, BatchNorm1d | BatchNorm2d):
                n = m.num_features
                m.running_mean.copy_((torch.rand(n, generator=g) - 0.5) * 0.5)
                m.running_var.copy_(torch.rand(n, generator=g) + 0.5)
                m.weight.copy_(torch.rand(n, generator=g) + 0.5)
                m.bias.copy_((torch.rand(n, generator=g) - 0.5) * 0.5)
    return model.eval()


class ResBlock1d(torch.nn.Module):
    """conv-bn-relu-conv-bn plus the identity (or a 1x1 projection), relu after the add."""

    def __init__(self, channels: int = 4, out_channels: int | None = None, stride: int = 1):
        super().__init__()
        out = out_channels or channels
        self.conv1 = Conv1d(channels, out, 3, B, F_, stride=stride, padding=1)
        self.bn1 = BatchNorm1d(out, B, F_)
        self.relu = ReLU()
        self.conv2 = Conv1d(out, out, 3, B, F_, padding=1)
        self.bn2 = BatchNorm1d(out, B, F_)
        self.project = None
        if out != channels or stride != 1:
            self.project = Conv1d(channels, out, 1, B, F_, stride=stride)

    def forward(self, x):
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        skip = x if self.project is None else self.project(x)
        return self.relu(y + skip)


class ResNet1d(torch.nn.Module):
    def __init__(self, project: bool = False):
        super().__init__()
        self.stem = Conv1d(2, 4, 3, B, F_, padding=1)
        self.block = ResBlock1d(4, 6 if project else None)
        self.pool = AdaptiveAvgPool1d(1)
        self.fc = Linear(6 if project else 4, 3, B, F_)

    def forward(self, x):
        x = self.block(self.stem(x))
        return self.fc(torch.flatten(self.pool(x), 1))


class ResBlock2d(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = Conv2d(1, 3, 3, B, F_, padding=1)
        self.conv1 = Conv2d(3, 3, 3, B, F_, padding=1)
        self.bn1 = BatchNorm2d(3, B, F_)
        self.conv2 = Conv2d(3, 3, 3, B, F_, padding=1)
        self.bn2 = BatchNorm2d(3, B, F_)

    def forward(self, x):
        x = self.stem(x)
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(x + y)


class Inception1d(torch.nn.Module):
    """Two convolution branches of the same input, concatenated along the channels."""

    def __init__(self):
        super().__init__()
        self.a = Conv1d(2, 3, 1, B, F_)
        self.b = Conv1d(2, 2, 3, B, F_, padding=1)
        self.c = Conv1d(5, 2, 3, B, F_)

    def forward(self, x):
        y = torch.cat([F.relu(self.a(x)), self.b(x)], dim=1)
        return self.c(F.max_pool1d(y, 2))


class SkipMLP(torch.nn.Module):
    """``x + fc2(relu(fc1(x)))``, then a head: the model input fans out."""

    def __init__(self):
        super().__init__()
        self.fc1 = Linear(6, 5, B, F_)
        self.fc2 = Linear(5, 6, B, F_)
        self.head = Linear(6, 3, B, F_)

    def forward(self, x):
        x = quantize(x, B, F_)  # the skip adds the input: PyTorch must see it rounded
        return self.head(x + self.fc2(F.relu(self.fc1(x))))


class FanOut3(torch.nn.Module):
    """One value read by three layers of different formats; a difference and a sum join."""

    def __init__(self):
        super().__init__()
        self.fc = Linear(4, 6, B, F_)
        self.a = Linear(6, 3, B, F_)
        self.b = Linear(6, 3, 8, 3)
        self.c = HardTanh(8, 4, -2.0, 2.0)
        self.out = Linear(3, 2, B, F_)
        self.out2 = Linear(6, 2, B, F_)

    def forward(self, x):
        h = self.fc(x)
        return self.out(self.a(h) - self.b(h)) + self.out2(self.c(h))


class VectorConcat(torch.nn.Module):
    """A quantized input read by a convolution branch and a dense branch, whose features
    are concatenated (one flattened by ``view``, one by ``flatten``)."""

    def __init__(self):
        super().__init__()
        self.conv = Conv1d(1, 2, 3, B, F_)
        self.pool = MaxPool1d(2)
        self.fc = Linear(8, 3, B, F_)
        self.head = Linear(9, 2, B, F_)

    def forward(self, x):
        x = quantize(x, 8, 4)
        y = self.pool(self.conv(x))
        y = y.view(y.size(0), -1)
        z = F.relu(self.fc(x.flatten(1)))
        return self.head(torch.cat([y, z], dim=1))


class AvgAfterAdd(torch.nn.Module):
    """Layers without a format of their own after a join: ReLU, average pooling."""

    def __init__(self):
        super().__init__()
        self.a = Conv1d(2, 2, 3, B, F_, padding=1)
        self.b = Conv1d(2, 2, 1, 6, 3)
        self.relu = ReLU()
        self.pool = AvgPool1d(2)
        self.concat = Concatenate()

    def forward(self, x):
        x = quantize(x, 8, 4)  # read by layers of two formats: rounded once
        y = self.pool(self.relu(self.a(x) + self.b(x)))
        return self.concat(y, y)


class MixedFormats(torch.nn.Module):
    """Weights, biases and activations of different formats, with a residual add."""

    def __init__(self):
        super().__init__()
        w4 = {"weight_total_bits": 4, "weight_frac_bits": 3}
        self.conv = Conv1d(2, 4, 3, 8, 4, padding=1, bias_total_bits=12, bias_frac_bits=8, **w4)
        self.bn = BatchNorm1d(4, 8, 5)
        self.conv2 = Conv1d(4, 4, 3, 6, 3, padding=1, weight_total_bits=5, weight_frac_bits=4)
        self.fc = Linear(16, 3, 10, 6, weight_total_bits=3, weight_frac_bits=1, bias=False)

    def forward(self, x):
        y = F.relu(self.bn(self.conv(x)))
        y = y + self.conv2(y)
        return self.fc(F.max_pool1d(y, 2).flatten(1))


class ConcatActivation(torch.nn.Module):
    """A vector and its activation concatenated: the join takes all of the vector before
    any of the activation, whose beats wait in two lockstep pipelines and a FIFO (found by
    ``./dev equivalence``: the FIFO, sized for a run without stalls, stopped the design
    under stalls)."""

    def __init__(self):
        super().__init__()
        self.clamp = HardTanh(B, F_)
        self.act = ReLU6(B, F_)

    def forward(self, x):
        v = self.clamp(quantize(x, B, F_))
        return torch.cat([v, self.act(v)], dim=1)


class ConcatActivationTwice(ConcatActivation):
    """The same, with the vector once more behind it: where the layers before run ahead of
    the slowest, the next sample's beats enter the activation while the first concat still
    takes this sample's (found by ``./dev equivalence``: that stopped even without
    stalls)."""

    def forward(self, x):
        v = self.clamp(quantize(x, B, F_))
        return torch.cat([torch.cat([v, self.act(v)], dim=1), v], dim=1)


class ConcatForkedActivation(torch.nn.Module):
    """A vector and its activation (two lockstep pipelines) concatenated, the activation
    read by a batch norm too (found by ``./dev equivalence``: the chain behind the join
    stopped at the activation because others read it, so its beats got no FIFO, and the
    design stopped under stalls). And its interval was slower than predicted: the fork
    passes the activation a sample's first beat while the concat still waits for the one
    before, and the batch norm's pipeline stopped while that beat's result waited for the
    second concat."""

    def __init__(self):
        super().__init__()
        self.act = ReLU(B)
        self.act2 = ReLU(B)
        self.norm = BatchNorm1d(6, B, F_)

    def forward(self, x):
        v = quantize(x, B, F_)
        a = self.act2(self.act(v))
        return torch.cat([torch.cat([v, a], dim=1), self.norm(a)], dim=1)


def resnet1d():
    return randomize(ResNet1d(), 1), (2, 8)


def resnet1d_projection():
    return randomize(ResNet1d(project=True), 2), (2, 8)


def resnet2d():
    return randomize(ResBlock2d(), 3), (1, 5, 5)


def inception1d():
    return randomize(Inception1d(), 4), (2, 8)


def skip_mlp():
    return randomize(SkipMLP(), 5), (6,)


def fan_out3():
    return randomize(FanOut3(), 6), (4,)


def vector_concat():
    return randomize(VectorConcat(), 7), (1, 8)


def avg_after_add():
    return randomize(AvgAfterAdd(), 8), (2, 6)


def mixed_formats():
    return randomize(MixedFormats(), 9), (2, 8)


def concat_activation():
    return randomize(ConcatActivation(), 10), (9,)


def concat_activation_twice():
    return randomize(ConcatActivationTwice(), 11), (4,)


def concat_forked_activation():
    return randomize(ConcatForkedActivation(), 12), (6,)


MODELS = {
    "resnet1d": resnet1d,
    "resnet1d_projection": resnet1d_projection,
    "resnet2d": resnet2d,
    "inception1d": inception1d,
    "skip_mlp": skip_mlp,
    "fan_out3": fan_out3,
    "vector_concat": vector_concat,
    "avg_after_add": avg_after_add,
    "mixed_formats": mixed_formats,
    "concat_activation": concat_activation,
    "concat_activation_twice": concat_activation_twice,
    "concat_forked_activation": concat_forked_activation,
}


def map_concat_activation():
    """A map, its activation and a 1x1 convolution of it concatenated channel by channel,
    position by position (a random DAG: the sum's output register held a position's beat for
    the concat, so the fork passed the activation the next one late; 3.5 cycles a position,
    predicted 3). Serial."""
    from tests.dag_models import DagModel

    program = [
        ("add", "", (0, 0), None),
        ("layer", "act", (1,), None),
        ("layer", "conv", (1,), None),
        ("layer", "norm", (3,), None),
        ("concat_list", "cat", (1, 2, 4), None),
    ]
    layers = {
        "act": ReLU(),
        "conv": Conv2d(1, 1, 1, 2, 0, bias=False, rounding="floor", overflow="wrap"),
        "norm": BatchNorm2d(1, 2, 2, rounding="floor", overflow="wrap"),
        "cat": Concatenate(),
    }
    return randomize(DagModel(program, layers, (11, 5)), 13), (1, 4, 5)


def conv_concat_twice():
    """A convolution's output concatenated with itself (a random DAG: the concat takes the
    second copy a cycle after the first, and the folded convolution stopped that cycle for
    every beat; 45 cycles a sample, predicted 30). At ``target_ii=32``."""
    from tests.dag_models import DagModel

    program = [
        ("layer", "conv", (0,), None),
        ("cat", "", (1, 1), None),
        ("layer", "group", (2,), None),
        ("layer", "norm", (3,), None),
        ("relu6", "", (2,), None),
        ("torch_add", "", (5, 4), None),
    ]
    layers = {
        "conv": Conv2d(1, 2, 2, 3, 2, rounding="half_up", overflow="wrap"),
        "group": Conv2d(4, 4, 1, 2, 2, groups=2, rounding="half_even"),
        "norm": BatchNorm2d(4, 3, 2, rounding="half_up"),
    }
    return randomize(DagModel(program, layers, (3, 2)), 14), (1, 4, 6)


def pooled_branches():
    """A pruned 1x1 convolution (two of its three weights non-zero: two steps a position, but
    three input beats), pooled, and the pooled map concatenated with a pooling of itself and
    with itself again (a random DAG: 12 cycles a sample, predicted 8, as the layer's cycles
    counted its steps only). At ``target_ii=28``."""
    from tests.dag_models import DagModel

    program = [
        ("layer", "conv", (0,), None),
        ("layer", "pool", (1,), None),
        ("max_pool", "", (1,), (1, 1, 2, 0)),
        ("concat_list", "cat", (2, 3), None),
        ("layer", "pool3", (2,), None),
        ("concat_args", "cat2", (2, 5, 2), None),
    ]
    layers = {
        "conv": Conv1d(3, 1, 1, 5, 3, bias=False, rounding="half_up"),
        "pool": AvgPool1d(1, 2),
        "cat": Concatenate(),
        "pool3": AvgPool1d(3, 1, 1),
        "cat2": Concatenate(),
    }
    model = DagModel(program, layers, None)
    with torch.no_grad():
        model.layers["conv"].weight.copy_(torch.tensor([[[-2.0], [1.875], [0.0]]]))
    return model.eval(), (3, 4)


#: Random DAGs that ran slower than predicted, with the setting they did: ``(builder, options)``.
INTERVAL_REGRESSIONS = {
    "map_concat_activation": (map_concat_activation, {}),
    "conv_concat_twice": (conv_concat_twice, {"target_ii": 32}),
    "pooled_branches": (pooled_branches, {"target_ii": 28}),
}
