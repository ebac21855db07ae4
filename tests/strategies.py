"""Shared Hypothesis strategies and model builders for the test tiers."""

from __future__ import annotations

import torch
from hypothesis import strategies as st

from elasticai.creator.arithmetic import FixedType, Overflow, Rounding
from elasticai.creator.nn import Sequential
from elasticai.creator.nn.fixed_point import HardSigmoid, HardTanh, Linear, ReLU

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
            if isinstance(m, Linear):
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
