"""Shared Hypothesis strategies and model builders for the test tiers."""

from __future__ import annotations

import torch
from hypothesis import strategies as st

from elasticai.creator.arithmetic import FixedType, Overflow, Rounding
from elasticai.creator.nn import Sequential
from elasticai.creator.nn.fixed_point import (
    AdaptiveAvgPool1d,
    AdaptiveAvgPool2d,
    AvgPool1d,
    AvgPool2d,
    BatchNorm1d,
    BatchNorm2d,
    Conv1d,
    Conv2d,
    Flatten,
    HardSigmoid,
    HardSwish,
    HardTanh,
    LeakyReLU,
    Linear,
    MaxPool1d,
    MaxPool2d,
    PReLU,
    ReLU,
    ReLU6,
    Sigmoid,
    SiLU,
    Tanh,
)

ROUNDINGS = st.sampled_from(list(Rounding))
OVERFLOWS = st.sampled_from(list(Overflow))


@st.composite
def fixed_types(draw, min_bits: int = 2, max_bits: int = 16) -> FixedType:
    total = draw(st.integers(min_bits, max_bits))
    return FixedType(total, draw(st.integers(0, total)))


def set_extreme_weights(model: torch.nn.Module, seed: int) -> None:
    """Weights drawn from the whole range of each layer's format, ends included."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, Linear | Conv1d | Conv2d):
                for p in (m.weight, m.bias):
                    if p is None:
                        continue
                    u = torch.randint(m.fxp.min_int, m.fxp.max_int + 1, p.shape, generator=g)
                    ends = torch.randint(0, 4, p.shape, generator=g)
                    u = torch.where(ends == 0, torch.full_like(u, m.fxp.min_int), u)
                    u = torch.where(ends == 1, torch.full_like(u, m.fxp.max_int), u)
                    p.copy_(u.to(torch.float64) * m.fxp.resolution)


def saturating_inputs(batch: int, features: int, t: FixedType, seed: int) -> torch.Tensor:
    """Inputs spread over twice the format's range, with both ends and zero included."""
    g = torch.Generator().manual_seed(seed)
    dtype = torch.float64 if t.total_bits > 24 else torch.float32
    x = (torch.rand(batch, features, generator=g, dtype=dtype) * 4 - 2) * max(
        abs(t.min_value), t.max_value
    )
    x[0] = t.min_value * 2
    if batch > 1:
        x[1] = t.max_value * 2
    if batch > 2:
        x[2] = 0.0
    return x


@st.composite
def chains(draw, max_layers: int = 4, max_bits: int = 16, max_features: int = 6):
    """A random ``Sequential`` of supported layers (Linear first), eval mode, with a seed.

    Models with a format wider than 24 bits compute in float64 (float32 would round).
    """
    layers: list[torch.nn.Module] = []
    features = draw(st.integers(1, max_features))
    first_features = features
    for i in range(draw(st.integers(1, max_layers))):
        t = draw(fixed_types(max_bits=max_bits))
        kw = {"rounding": draw(ROUNDINGS), "overflow": draw(OVERFLOWS)}
        kind = (
            "linear"
            if i == 0
            else draw(st.sampled_from(["linear", "relu", "hardtanh", "hardsigmoid"]))
        )
        if kind == "linear":
            out = draw(st.integers(1, max_features))
            bias = draw(st.booleans())
            layers.append(Linear(features, out, t.total_bits, t.frac_bits, bias=bias, **kw))
            features = out
        elif kind == "relu":
            layers.append(ReLU(t.total_bits, t.frac_bits, **kw) if draw(st.booleans()) else ReLU())
        elif kind == "hardtanh":
            low = draw(st.floats(-4, 0))
            layers.append(HardTanh(t.total_bits, t.frac_bits, low, draw(st.floats(low, 4)), **kw))
        else:
            layers.append(HardSigmoid(t.total_bits, t.frac_bits, **kw))
    model = Sequential(*layers).eval()
    if any(getattr(m, "fxp", None) and m.fxp.total_bits > 24 for m in model):
        model = model.double()
    seed = draw(st.integers(0, 2**16))
    set_extreme_weights(model, seed)
    return model, first_features, seed


@st.composite
def parallelism_options(draw) -> dict:
    """A model-wide parallelism setting for ``create_design``."""
    kind = draw(st.sampled_from(["serial", "target_ii", "max_multipliers", "full"]))
    if kind == "target_ii":
        return {"target_ii": draw(st.integers(1, 40))}
    if kind == "max_multipliers":
        return {"max_multipliers": draw(st.integers(8, 40))}
    return {} if kind == "serial" else {"parallelism": "full"}


def _activation(draw, t: FixedType, kw: dict) -> torch.nn.Module:
    kind = draw(
        st.sampled_from(
            [
                "relu",
                "relu6",
                "hardtanh",
                "hardsigmoid",
                "sigmoid",
                "tanh",
                "silu",
                "hardswish",
                "leaky",
                "prelu",
            ]
        )
    )
    bits = (t.total_bits, t.frac_bits)
    if kind == "relu":
        return ReLU(*bits, **kw) if draw(st.booleans()) else ReLU()
    if kind == "relu6":
        return ReLU6(*bits, **kw)
    if kind == "hardtanh":
        low = draw(st.floats(-4, 0))
        return HardTanh(*bits, low, draw(st.floats(low, 4)), **kw)
    if kind == "hardsigmoid":
        return HardSigmoid(*bits, **kw)
    if kind == "leaky":
        return LeakyReLU(*bits, draw(st.floats(-1, 1)), **kw)
    if kind == "prelu":
        return PReLU(*bits, init=draw(st.floats(-1, 1)), **kw)
    segments = draw(st.integers(1, 40))
    cls = {"sigmoid": Sigmoid, "tanh": Tanh, "silu": SiLU, "hardswish": HardSwish}[kind]
    return cls(*bits, segments=segments, **kw)


@st.composite
def cnns(draw, max_layers: int = 5, max_bits: int = 16):
    """A random CNN ``Sequential`` (eval mode): 1-D or 2-D convolutions with random stride,
    padding, dilation and groups, batch norms (folded or not), pooling, activations, and
    maybe ``Flatten`` and ``Linear`` at the end; with its input shape and a seed."""
    dims = draw(st.sampled_from([1, 1, 2]))
    conv, bn = (Conv1d, BatchNorm1d) if dims == 1 else (Conv2d, BatchNorm2d)
    channels = draw(st.integers(1, 4))
    spatial = [draw(st.integers(3, 12 if dims == 1 else 6)) for _ in range(dims)]
    input_shape = (channels, *spatial)
    layers: list[torch.nn.Module] = []
    for i in range(draw(st.integers(1, max_layers))):
        t = draw(fixed_types(min_bits=3, max_bits=max_bits))
        kw = {"rounding": draw(ROUNDINGS), "overflow": draw(OVERFLOWS)}
        kind = (
            "conv"
            if i == 0
            else draw(st.sampled_from(["conv", "conv", "bn", "act", "act", "pool", "pool"]))
        )
        if kind == "conv":
            k = draw(st.integers(1, 3))
            dil = draw(st.integers(1, 2))
            reach = dil * (k - 1) + 1
            pad = draw(st.integers(0, (k - 1) // 2 * dil)) if k > 1 else 0
            if any(s + 2 * pad < reach for s in spatial):
                if layers:
                    continue
                k, dil, pad, reach = 1, 1, 0, 1  # the first layer is always a convolution
            stride = draw(st.integers(1, 2))
            groups = draw(st.sampled_from([g for g in (1, 2, channels) if channels % g == 0]))
            out = groups * draw(st.integers(1, max(1, 4 // groups)))
            layers.append(
                conv(
                    channels,
                    out,
                    k,
                    t.total_bits,
                    t.frac_bits,
                    stride,
                    pad,
                    dil,
                    groups,
                    draw(st.booleans()),
                    **kw,
                )
            )
            spatial = [(s + 2 * pad - reach) // stride + 1 for s in spatial]
            channels = out
        elif kind == "bn":
            layers.append(bn(channels, t.total_bits, t.frac_bits, **kw))
        elif kind == "act":
            layers.append(_activation(draw, t, kw))
        else:
            pool = draw(st.sampled_from(["max", "avg", "global"]))
            fmt = (
                {"total_bits": t.total_bits, "frac_bits": t.frac_bits}
                if draw(st.booleans())
                else {}
            )
            if pool == "global":
                layers.append(
                    (AdaptiveAvgPool1d if dims == 1 else AdaptiveAvgPool2d)(1, **fmt, **kw)
                )
                spatial = [1] * dims
                continue
            k = draw(st.integers(1, 3))
            if any(s < k for s in spatial):
                continue
            stride = draw(st.integers(1, k))
            pad = draw(st.integers(0, k // 2))
            if pool == "max":
                cls = MaxPool1d if dims == 1 else MaxPool2d
            else:
                cls = AvgPool1d if dims == 1 else AvgPool2d
            layers.append(cls(k, stride, pad, **fmt, **kw))
            spatial = [(s + 2 * pad - k) // stride + 1 for s in spatial]
    if draw(st.booleans()):
        t = draw(fixed_types(min_bits=3, max_bits=max_bits))
        features = channels * int(torch.tensor(spatial).prod())
        layers += [Flatten(), Linear(features, draw(st.integers(1, 4)), t.total_bits, t.frac_bits)]
    model = Sequential(*layers)
    seed = draw(st.integers(0, 2**16))
    set_extreme_weights(model, seed)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, BatchNorm1d | BatchNorm2d):
                m.running_mean.copy_(torch.randn(m.num_features, generator=g))
                m.running_var.copy_(torch.rand(m.num_features, generator=g) * 2 + 0.1)
                m.weight.copy_(torch.randn(m.num_features, generator=g))
                m.bias.copy_(torch.randn(m.num_features, generator=g))
            if isinstance(m, Conv1d | Conv2d | Linear) and m.batch_norm is not None:
                m.weight.mul_(0.25)  # folded weights stay mostly inside the format
    return model.eval(), input_shape, seed
