"""Shared Hypothesis strategies and model builders for the test tiers."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from hypothesis import strategies as st

from elasticai.creator.arithmetic import FixedType, Overflow, Rounding
from elasticai.creator.nn import Sequential
from elasticai.creator.nn.fixed_point import (
    AdaptiveAvgPool1d,
    AdaptiveAvgPool2d,
    Add,
    AvgPool1d,
    AvgPool2d,
    BatchNorm1d,
    BatchNorm2d,
    Concatenate,
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
from tests.dag_models import DagModel

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


# --- random DAGs ------------------------------------------------------------------------


def _common(a: FixedType, b: FixedType) -> FixedType:
    """The format that holds ``a`` and ``b`` exactly (a concatenation's, as the frontend's)."""
    frac = max(a.frac_bits, b.frac_bits)
    return FixedType(max(a.total_bits - a.frac_bits, b.total_bits - b.frac_bits) + frac, frac)


def _sum(a: FixedType, b: FixedType) -> FixedType:
    """The format of ``a + b`` and ``a - b`` (the common one, one integer bit more)."""
    c = _common(a, b)
    return FixedType(c.total_bits + 1, c.frac_bits)


@dataclass(frozen=True)
class _Value:
    """A value of the program as the generator tracks it: its shape in the model (without
    batch), its format (``None``: the real-valued model input) and, for a vector, its stream
    order (``None``: natural; a flattened map streams channels last)."""

    shape: tuple[int, ...]
    fxp: FixedType | None
    order: tuple[int, ...] | None = None

    @property
    def is_map(self) -> bool:
        return len(self.shape) > 1

    @property
    def channels(self) -> int:
        return self.shape[0]

    @property
    def raw(self) -> bool:
        return self.fxp is None


def _natural(order: np.ndarray) -> tuple[int, ...] | None:
    return None if np.array_equal(order, np.arange(order.size)) else tuple(int(i) for i in order)


class _DagBuilder:
    """Draws the steps of a ``DagModel``, keeping every value's shape, format and order so
    each step is one the frontend accepts."""

    def __init__(self, draw, max_bits: int, first: _Value) -> None:
        self.draw = draw
        self.max_bits = max_bits
        self.values = [first]
        self.program: list[tuple] = []
        self.layers: dict[str, torch.nn.Module] = {}
        self.producer: list[torch.nn.Module | None] = [None]  # the module that made a value
        self.computed = [False]  # whether a value depends on a layer (not the input alone)
        self.raw_format: tuple[FixedType, dict] | None = None  # how layers read a raw input

    # bookkeeping -------------------------------------------------------------------------

    def emit(self, op: str, inputs, value: _Value, layer=None, const=None) -> int:
        name = ""
        if layer is not None:
            name = f"l{len(self.layers)}"
            self.layers[name] = layer
        self.program.append((op, name, tuple(inputs), const))
        self.values.append(value)
        self.producer.append(layer)
        reshape = op in ("flatten", "view") or isinstance(layer, Flatten)
        self.computed.append(not reshape or self.computed[inputs[0]])
        return len(self.values) - 1

    def format(self) -> tuple[FixedType, dict]:
        t = self.draw(fixed_types(max_bits=self.max_bits))
        return t, {"rounding": self.draw(ROUNDINGS), "overflow": self.draw(OVERFLOWS)}

    def pick(self, allow_raw: bool = False, maps: bool | None = None) -> int | None:
        """Mostly the newest value, else any earlier one (the model input too)."""
        ok = [
            i
            for i, v in enumerate(self.values)
            if (allow_raw or not v.raw) and (maps is None or v.is_map == maps)
        ]
        if not ok:
            return None
        if self.draw(st.integers(0, 9)) < 6:
            return ok[-1]
        return self.draw(st.sampled_from(ok))

    # layers on one value -----------------------------------------------------------------

    def weighted(self, i: int, out: int | None = None, stride: int | None = None) -> int:
        """A ``Linear`` (vectors) or a convolution (maps) reading value ``i``; with ``stride``
        a "same" convolution (the output size depends on the stride alone)."""
        v = self.values[i]
        t, kw = self.format()
        if v.raw:  # every layer reading the real-valued input must round it alike
            if self.raw_format is None:
                self.raw_format = (t, kw)
            t, kw = self.raw_format
        bias = self.draw(st.booleans())
        if not v.is_map:
            out = out or self.draw(st.integers(1, 6))
            layer = Linear(v.shape[0], out, t.total_bits, t.frac_bits, bias=bias, **kw)
            return self.emit("layer", [i], _Value((out,), t), layer)
        channels, spatial = v.channels, list(v.shape[1:])
        dims = len(spatial)
        if stride is not None:
            k = self.draw(st.sampled_from([1, 3]))
            dil = self.draw(st.integers(1, 2))
            pad = dil * (k - 1) // 2
        else:
            k = self.draw(st.integers(1, 3))
            dil = self.draw(st.integers(1, 2))
            pad = self.draw(st.integers(0, (k - 1) // 2 * dil)) if k > 1 else 0
            stride = self.draw(st.integers(1, 2))
            if any(s + 2 * pad < dil * (k - 1) + 1 for s in spatial):
                k, dil, pad = 1, 1, 0
        if out is None:
            groups = self.draw(st.sampled_from([g for g in (1, 2, channels) if channels % g == 0]))
            out = groups * self.draw(st.integers(1, max(1, 4 // groups)))
        else:
            groups = self.draw(
                st.sampled_from([g for g in (1, 2, channels) if channels % g == 0 and out % g == 0])
            )
        conv = Conv1d if dims == 1 else Conv2d
        layer = conv(
            channels, out, k, t.total_bits, t.frac_bits, stride, pad, dil, groups, bias, **kw
        )
        reach = dil * (k - 1) + 1
        spatial = [(s + 2 * pad - reach) // stride + 1 for s in spatial]
        return self.emit("layer", [i], _Value((out, *spatial), t), layer)

    def batch_norm(self, i: int) -> int:
        v = self.values[i]
        t, kw = self.format()
        bn = BatchNorm2d if v.is_map and len(v.shape) == 3 else BatchNorm1d
        layer = bn(v.channels, t.total_bits, t.frac_bits, **kw)
        return self.emit("layer", [i], _Value(v.shape, t, v.order), layer)

    def activation(self, i: int) -> int:
        v = self.values[i]
        kind = self.draw(
            st.sampled_from(["module", "module", "relu", "relu6", "hardtanh", "clamp", "ReLU()"])
        )
        if kind == "module":
            t, kw = self.format()
            layer = _activation(self.draw, t, kw)
            fxp = v.fxp if layer.fxp is None else layer.fxp
            return self.emit("layer", [i], _Value(v.shape, fxp, v.order), layer)
        if kind == "ReLU()":
            return self.emit("layer", [i], v, ReLU())
        if kind in ("relu", "relu6"):
            return self.emit(kind, [i], v)
        # bounds on the grid of the input, some of them beyond its range (but the results
        # within it: a clamp to values the format cannot hold is refused)
        t = v.fxp
        lowest = self.draw(st.integers(t.min_int - 2, t.max_int))
        ends = (lowest, self.draw(st.integers(max(lowest, t.min_int), t.max_int + 2)))
        low, high = (e * t.resolution for e in ends)
        if kind == "clamp":
            which = self.draw(st.sampled_from(["both", "min", "max"]))
            low = None if which == "max" else low
            high = None if which == "min" else high
        return self.emit(kind, [i], v, const=(low, high))

    def pool(self, i: int, stride: int | None = None) -> int | None:
        """Pooling of map ``i``; with ``stride`` a "same" window (kernel ``2 * pad + 1``)."""
        v = self.values[i]
        spatial = list(v.shape[1:])
        dims = len(spatial)
        kinds = ["max", "avg", "F.max_pool"] + (["global"] if stride is None else [])
        kind = self.draw(st.sampled_from(kinds))
        fmt: dict = {}
        if kind != "F.max_pool" and self.draw(st.booleans()):
            t, kw = self.format()
            fmt = {"total_bits": t.total_bits, "frac_bits": t.frac_bits, **kw}
        fxp = FixedType(fmt["total_bits"], fmt["frac_bits"]) if fmt else v.fxp
        if kind == "global":
            layer = (AdaptiveAvgPool1d if dims == 1 else AdaptiveAvgPool2d)(1, **fmt)
            return self.emit("layer", [i], _Value((v.channels, *[1] * dims), fxp), layer)
        if stride is not None:
            pad = self.draw(st.integers(0, 1))
            k = 2 * pad + 1
        else:
            k = self.draw(st.integers(1, 3))
            if any(s < k for s in spatial):
                return None
            stride = self.draw(st.integers(1, k))
            pad = self.draw(st.integers(0, k // 2))
        out = _Value((v.channels, *[(s + 2 * pad - k) // stride + 1 for s in spatial]), fxp)
        if kind == "F.max_pool":
            return self.emit("max_pool", [i], out, const=(dims, k, stride, pad))
        if kind == "max":
            cls = MaxPool1d if dims == 1 else MaxPool2d
        else:
            cls = AvgPool1d if dims == 1 else AvgPool2d
        return self.emit("layer", [i], out, cls(k, stride, pad, **fmt))

    def flatten(self, i: int) -> int:
        v = self.values[i]
        kind = self.draw(st.sampled_from(["Flatten", "flatten", "view"]))
        size = int(np.prod(v.shape))
        index = np.arange(size).reshape(v.shape)
        out = _Value((size,), v.fxp, _natural(np.moveaxis(index, 0, -1).ravel()))
        if kind == "Flatten":
            return self.emit("layer", [i], out, Flatten())
        return self.emit(kind, [i], out)

    def unary(self, i: int) -> int:
        """One layer of any kind reading ``i``; a batch norm often right after a weighted one."""
        v = self.values[i]
        if v.raw:
            return self.weighted(i)
        kinds = ["weighted", "act", "act", "bn"] + (["pool", "pool"] if v.is_map else [])
        if isinstance(self.producer[i], Linear | Conv1d | Conv2d) and self.draw(st.booleans()):
            kinds = ["bn"]
        kind = self.draw(st.sampled_from(kinds))
        if kind == "weighted":
            return self.weighted(i)
        if kind == "bn":
            return self.batch_norm(i)
        if kind == "pool":
            j = self.pool(i)
            if j is not None:
                return j
        return self.activation(i)

    # branches and joins ------------------------------------------------------------------

    def branch(self, i: int, depth: int, stride: int, out: int | None) -> int:
        """``depth`` layers from ``i``; the first applies ``stride``, every weighted layer
        outputs ``out`` channels (features) where that is given; shapes only change there."""
        for d in range(depth):
            v = self.values[i]
            size = v.channels if v.is_map else v.shape[0]
            needs_weights = v.raw or (out is not None and out != size)
            kinds = ["weighted", "act", "bn"]
            if v.is_map:
                kinds.append("pool")
            if isinstance(self.producer[i], Linear | Conv1d | Conv2d) and self.draw(st.booleans()):
                kinds = ["bn"]
            if stride > 1 and d == 0:
                kinds = ["weighted", "pool"]
            kind = "weighted" if needs_weights else self.draw(st.sampled_from(kinds))
            s = stride if d == 0 else 1
            if kind == "weighted":
                i = self.weighted(i, out, stride=s if v.is_map else None)
            elif kind == "pool":
                i = self.pool(i, stride=s)  # type: ignore[assignment]
            elif kind == "bn":
                i = self.batch_norm(i)
            else:
                i = self.activation(i)
        return i

    def add(self, a: int, b: int) -> int:
        va, vb = self.values[a], self.values[b]
        kind = self.draw(st.sampled_from(["add", "torch_add", "sub", "Add", "Add(subtract)"]))
        if kind.startswith("Add"):
            t, kw = self.format()
            layer = Add(t.total_bits, t.frac_bits, subtract=kind != "Add", **kw)
            return self.emit("layer2", [a, b], _Value(va.shape, t, va.order), layer)
        return self.emit(kind, [a, b], _Value(va.shape, _sum(va.fxp, vb.fxp), va.order))

    def cat(self, parts: list[int]) -> int:
        vs = [self.values[i] for i in parts]
        fxp = vs[0].fxp
        for v in vs[1:]:
            fxp = _common(fxp, v.fxp)
        if vs[0].is_map:
            value = _Value((sum(v.channels for v in vs), *vs[0].shape[1:]), fxp)
        else:
            orders, offset = [], 0
            for v in vs:
                orders.append(np.array(v.order or range(v.shape[0])) + offset)
                offset += v.shape[0]
            value = _Value((offset,), fxp, _natural(np.concatenate(orders)))
        kind = self.draw(st.sampled_from(["cat", "cat", "Concatenate", "Concatenate(format)"]))
        if kind == "cat":
            return self.emit("cat", parts, value)
        if kind == "Concatenate":
            layer = Concatenate()
        else:
            t, kw = self.format()
            layer = Concatenate(t.total_bits, t.frac_bits, **kw)
            value = _Value(value.shape, t, value.order)
        op = self.draw(st.sampled_from(["concat_list", "concat_args"]))
        return self.emit(op, parts, value, layer)

    def residual(self) -> int:
        """Two branches of one value (of different depths, one maybe the value itself),
        added or subtracted; maybe strided or with a new channel count (both branches then
        start with a weighted layer, as a projection shortcut)."""
        base = self.pick(allow_raw=True)
        v = self.values[base]
        size = v.channels if v.is_map else v.shape[0]
        stride = self.draw(st.integers(1, 2)) if v.is_map else 1
        out = size if self.draw(st.booleans()) else self.draw(st.integers(1, 4))
        identity_ok = not v.raw and stride == 1 and out == size
        depths = [self.draw(st.integers(1, 3)), self.draw(st.integers(0 if identity_ok else 1, 2))]
        a, b = (self.branch(base, d, stride, out) for d in depths)
        if self.draw(st.booleans()):
            a, b = b, a
        if self.values[a].order != self.values[b].order:
            # a flattened map and a Linear's output: the frontend refuses to add those
            # ("flatten both or neither"); concatenate them instead
            return self.cat([a, b])
        return self.add(a, b)

    def inception(self) -> int:
        """Two or three branches of one value, concatenated."""
        base = self.pick(allow_raw=True)
        v = self.values[base]
        stride = self.draw(st.integers(1, 2)) if v.is_map else 1
        low = 0 if stride == 1 and not v.raw else 1
        n = self.draw(st.integers(2, 3))
        parts = [self.branch(base, self.draw(st.integers(low, 2)), stride, None) for _ in range(n)]
        return self.cat(parts)

    def readers(self) -> list[int]:
        """How many steps read each value."""
        count = [0] * len(self.values)
        for _, _, inputs, _ in self.program:
            for i in set(inputs):
                count[i] += 1
        return count

    def gather(self) -> None:
        """Up to two values nothing reads concatenated to the last one (so fewer branches
        are dead code, which the frontend leaves out)."""
        last = len(self.values) - 1
        v = self.values[last]
        read = self.readers()

        def fits(w: _Value) -> bool:
            if w.raw or w.is_map != v.is_map:
                return False
            return not v.is_map or w.shape[1:] == v.shape[1:]

        loose = [i for i in range(1, last) if read[i] == 0 and fits(self.values[i])]
        if loose and not v.raw:
            self.cat([last, *loose[-2:]])

    def join(self) -> int | None:
        """Values made anywhere before, added or concatenated (long skips); now and then a
        value joined with itself."""
        ok = [i for i, v in enumerate(self.values) if not v.raw]
        if not ok:
            return None
        a = self.pick()
        va = self.values[a]

        def other(candidates: list[int]) -> int:
            rest = [i for i in candidates if i != a]
            if rest and self.draw(st.integers(0, 3)) > 0:
                return self.draw(st.sampled_from(rest))
            return self.draw(st.sampled_from(candidates))

        if self.draw(st.booleans()):
            same = [
                i
                for i in ok
                if (self.values[i].shape, self.values[i].order) == (va.shape, va.order)
            ]
            return self.add(a, other(same))
        if va.is_map:
            ok = [
                i for i in ok if self.values[i].is_map and self.values[i].shape[1:] == va.shape[1:]
            ]
        else:
            ok = [i for i in ok if not self.values[i].is_map]
        return self.cat([a, *(other(ok) for _ in range(self.draw(st.integers(1, 2))))])


@st.composite
def dags(draw, max_steps: int = 4, max_bits: int = 16):
    """A random ``DagModel`` (eval mode) with its input shape and a seed.

    Vector models (``Linear``-based) and 1-D/2-D map models (convolution-based), built
    from steps: single layers (weighted layers, batch norms folded or not, activations as
    modules and functions, pooling), residual blocks (two branches of different depths,
    one maybe the identity, strided or projected, joined by ``+``, ``torch.add``, ``-``
    or ``Add`` with a format), inception blocks (two or three branches concatenated by
    ``torch.cat`` or ``Concatenate`` with or without a format), joins of any two earlier
    values of one shape (long skips, now and then a value with itself), and for maps
    maybe a flatten (``Flatten``, ``torch.flatten``, ``view``) and a dense head; at the
    end, maybe the values nothing reads concatenated to the output. The input is
    quantized first (3 in 4 models) and then read by any step, or read raw by weighted
    layers of one format. Formats of 2 to ``max_bits`` bits, every rounding and
    overflow; models with a value wider than 24 bits (a sum, a concatenation) compute in
    float64 (``model.float_dtype``); the sum inside an ``Add`` layer does not count, that
    layer must be exact on its own. ``model.input_type`` is the format of the design's
    input, ``model.tracked`` every value's shape, format and stream order.
    """
    dims = draw(st.sampled_from([0, 1, 2]))
    if dims == 0:
        shape: tuple[int, ...] = (draw(st.integers(1, 6)),)
    else:
        spatial = [draw(st.integers(3, 10 if dims == 1 else 6)) for _ in range(dims)]
        shape = (draw(st.integers(1, 3)), *spatial)
    quantized = draw(st.integers(0, 3)) > 0
    t0 = draw(fixed_types(max_bits=max_bits)) if quantized else None
    dag = _DagBuilder(draw, max_bits, _Value(shape, t0))
    if not quantized:
        dag.weighted(0)
    headed = dims == 0
    for _ in range(draw(st.integers(1, max_steps))):
        kind = draw(st.sampled_from(["unary", "residual", "residual", "inception", "join", "head"]))
        if kind == "head" and not headed:
            i = dag.pick(maps=True)
            if i is not None:
                dag.flatten(i)
                if draw(st.booleans()):
                    dag.weighted(len(dag.values) - 1)
                headed = True
                continue
        if kind == "residual":
            dag.residual()
        elif kind == "inception":
            dag.inception()
        elif kind != "join" or dag.join() is None:
            dag.unary(dag.pick(allow_raw=True))
    if draw(st.booleans()):
        dag.gather()
    if not dag.computed[-1]:  # a flattened input is no design
        dag.weighted(len(dag.values) - 1)
    fmt = None if t0 is None else (t0.total_bits, t0.frac_bits)
    model = DagModel(dag.program, dag.layers, fmt)
    model.tracked = dag.values  # each value's shape, format and order, as the generator saw them
    wide = max(v.fxp.total_bits for v in dag.values if v.fxp is not None) > 24
    model.float_dtype = torch.float64 if wide else torch.float32
    model.input_type = t0 or dag.raw_format[0]
    if wide:
        model = model.double()
    seed = draw(st.integers(0, 2**16))
    set_extreme_weights(model, seed)
    _random_batch_norms(model, seed)
    # a batch norm reading a weighted layer nothing else reads is folded into it
    readers = dag.readers()
    with torch.no_grad():
        for _, layer, inputs, _ in dag.program:
            module = model.layers[layer] if layer else None
            source = dag.producer[inputs[0]]
            if (
                isinstance(module, BatchNorm1d | BatchNorm2d)
                and readers[inputs[0]] == 1
                and isinstance(source, Linear | Conv1d | Conv2d)
            ):
                source.weight.mul_(0.25)  # folded weights stay mostly inside the format
    return model.eval(), shape, seed


def _random_batch_norms(model: torch.nn.Module, seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, BatchNorm1d | BatchNorm2d):
                dtype = m.running_mean.dtype
                m.running_mean.copy_(torch.randn(m.num_features, generator=g).to(dtype))
                m.running_var.copy_((torch.rand(m.num_features, generator=g) * 2 + 0.1).to(dtype))
                m.weight.copy_(torch.randn(m.num_features, generator=g).to(dtype))
                m.bias.copy_(torch.randn(m.num_features, generator=g).to(dtype))


class RecurrentModel(torch.nn.Module):
    """A drawn recurrent model: optionally a ``Conv1d`` in front (over ``(channels,
    length)``, then ``transpose(1, 2)``), a stack of recurrent layers, and a head that reads
    the last step, ``h_n[k]``, or every step."""

    def __init__(self, conv, rnn, head, use: str, layer: int) -> None:
        super().__init__()
        self.conv, self.rnn, self.head, self.use, self.layer = conv, rnn, head, use, layer

    def forward(self, x):
        if self.conv is not None:
            x = self.conv(x).transpose(1, 2)
        out, state = self.rnn(x)
        if self.use == "last":
            return self.head(out[:, -1])
        if self.use == "every":
            return self.head(out)
        from elasticai.creator.nn.fixed_point import LSTM

        h = state[0] if isinstance(self.rnn, LSTM) else state  # (h_n, c_n) or h_n
        return self.head(h[self.layer])


@st.composite
def recurrent_models(draw, max_bits: int = 12):
    """A random LSTM, GRU or RNN model (1-2 layers, hidden 1-5, 1-6 steps, random formats
    of the layer, its gates, activations and cell, both activation kinds, weights over the
    whole range) with the head and front above; ``(model, input_shape, seed)``."""
    from elasticai.creator.nn.fixed_point import GRU, LSTM, RNN, Conv1d, Linear

    seed = draw(st.integers(0, 2**31 - 1))
    cell = draw(st.sampled_from(["lstm", "gru", "rnn"]))
    t = draw(fixed_types(min_bits=4, max_bits=max_bits))
    steps, inputs, hidden = (draw(st.integers(1, n)) for n in (6, 3, 5))
    layers = draw(st.integers(1, 2))
    kw: dict = {"num_layers": layers, "batch_first": True}
    kw["rounding"] = draw(ROUNDINGS)
    kw["overflow"] = draw(OVERFLOWS)
    if cell == "rnn":
        kw["nonlinearity"] = draw(st.sampled_from(["tanh", "relu"]))
    else:
        a = draw(fixed_types(min_bits=3, max_bits=max_bits))
        kw.update(act_total_bits=a.total_bits, act_frac_bits=a.frac_bits)
        kw["gate_activation"] = draw(st.sampled_from(["sigmoid", "hard_sigmoid"]))
        kw["cell_activation"] = draw(st.sampled_from(["tanh", "hard_tanh"]))
        kw["segments"] = draw(st.sampled_from([4, 16, 32]))
        if cell == "lstm":
            c = draw(fixed_types(min_bits=3, max_bits=max_bits))
            kw.update(cell_total_bits=c.total_bits, cell_frac_bits=c.frac_bits)
    g = draw(fixed_types(min_bits=3, max_bits=max_bits))
    kw.update(gate_total_bits=g.total_bits, gate_frac_bits=g.frac_bits)
    torch.manual_seed(seed % 10_000)
    conv = None
    if draw(st.booleans()):
        conv = Conv1d(2, inputs, draw(st.integers(1, 2)), t.total_bits, t.frac_bits)
    rnn = {"lstm": LSTM, "gru": GRU, "rnn": RNN}[cell](
        inputs, hidden, t.total_bits, t.frac_bits, **kw
    )
    head = Linear(hidden, draw(st.integers(1, 3)), t.total_bits, t.frac_bits)
    use = draw(st.sampled_from(["last", "every", "state"]))
    layer = draw(st.integers(-1, layers - 1)) if use == "state" else 0
    model = RecurrentModel(conv, rnn, head, use, layer)
    set_extreme_weights(model, seed)
    shape = (2, steps + conv.kernel_size[0] - 1) if conv is not None else (steps, inputs)
    return model.eval(), shape, seed
