"""Which float layers and calls become which of the library's layers: one row each.

``MODULES`` maps a ``torch.nn`` layer type to its ``Kind``; ``FUNCTIONS`` and
``METHODS`` the calls in a ``forward`` that need a layer with a format of its own
(``torch.sigmoid``, ``F.silu``, ``x.tanh()``, ...). A ``Kind`` says which formats the
layer gets (``roles``), builds the layer from the float one (or from the call's
arguments) with the chosen keyword arguments, and says what of the float layer it
cannot reproduce (``check``). Calls the frontend translates as they are (``a + b``,
``torch.cat``, ``F.relu``, ``torch.flatten``, ...) stay in the model unchanged.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F

from elasticai.creator.nn import fixed_point as fp

__all__ = ["Kind", "Call", "MODULES", "FUNCTIONS", "METHODS", "kind_of", "is_library_layer"]


@dataclass(frozen=True)
class Call:
    """A call in ``forward`` that becomes a layer: its arguments after the tensor."""

    args: tuple[Any, ...]
    kwargs: dict[str, Any]

    def get(self, index: int, name: str, default: Any) -> Any:
        """The argument at ``index`` (counting the tensor as 0) or named ``name``."""
        if len(self.args) >= index:
            return self.args[index - 1]
        return self.kwargs.get(name, default)


@dataclass(frozen=True)
class Kind:
    """How one float layer (or call) becomes a library layer.

    ``roles``: the formats chosen for it, ``""`` the layer's own (``total_bits``,
    ``frac_bits``: its input and output), then ``"weight"``, ``"bias"``, ``"gate"``,
    ``"act"``, ``"cell"`` (``weight_total_bits``, ...). ``formatless``: the layer keeps
    the format of what it reads unless an override gives it one. ``build(source,
    kwargs)``: the library layer, ``source`` the float module or the ``Call``.
    ``check(source)``: why it cannot be converted, or ``None``.
    """

    library: type
    build: Callable[[Any, dict[str, Any]], torch.nn.Module]
    roles: tuple[str, ...] = ("",)
    formatless: bool = False
    check: Callable[[Any], str | None] = field(default=lambda source: None)

    def keys(self) -> frozenset[str]:
        """The keyword arguments an override may give."""
        if not self.roles:
            return frozenset()
        params = inspect.signature(self.library).parameters.values()
        kw_only = {p.name for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY}
        return frozenset({"total_bits", "frac_bits"} | kw_only)


def _loaded(layer: torch.nn.Module, source: torch.nn.Module) -> torch.nn.Module:
    """``layer`` with the float layer's parameters and buffers."""
    layer.load_state_dict(source.state_dict())
    return layer


def _not(condition: bool, reason: str) -> str | None:
    return reason if condition else None


# --- modules ----------------------------------------------------------------------------


def _linear(m: torch.nn.Linear, kw: dict[str, Any]) -> torch.nn.Module:
    return _loaded(fp.Linear(m.in_features, m.out_features, bias=m.bias is not None, **kw), m)


def _conv(cls: type) -> Callable[[Any, dict[str, Any]], torch.nn.Module]:
    def build(m: Any, kw: dict[str, Any]) -> torch.nn.Module:
        layer = cls(
            m.in_channels,
            m.out_channels,
            m.kernel_size,
            stride=m.stride,
            padding=m.padding,
            dilation=m.dilation,
            groups=m.groups,
            bias=m.bias is not None,
            **kw,
        )
        return _loaded(layer, m)

    return build


def _conv_check(m: Any) -> str | None:
    return _not(m.padding_mode != "zeros", f"padding_mode={m.padding_mode!r} (only zero padding)")


def _batch_norm(cls: type) -> Callable[[Any, dict[str, Any]], torch.nn.Module]:
    def build(m: Any, kw: dict[str, Any]) -> torch.nn.Module:
        return _loaded(
            cls(m.num_features, eps=m.eps, momentum=m.momentum, affine=m.affine, **kw), m
        )

    return build


def _batch_norm_check(m: Any) -> str | None:
    return _not(
        not m.track_running_stats or m.running_mean is None,
        "track_running_stats=False (the hardware needs the running statistics)",
    )


def _window_pool_check(m: Any) -> str | None:
    if getattr(m, "ceil_mode", False):
        return "ceil_mode=True"
    if getattr(m, "return_indices", False):
        return "return_indices=True"
    if not getattr(m, "count_include_pad", True):
        return "count_include_pad=False (the average divides by the kernel size)"
    if getattr(m, "divisor_override", None) is not None:
        return f"divisor_override={m.divisor_override}"
    return None


def _global_pool_check(m: Any) -> str | None:
    size = m.output_size
    sizes = size if isinstance(size, tuple | list) else (size,)
    return _not(any(s != 1 for s in sizes), f"output_size={size!r} (only global pooling, 1)")


def _max_pool(cls: type) -> Callable[[Any, dict[str, Any]], torch.nn.Module]:
    def build(m: Any, kw: dict[str, Any]) -> torch.nn.Module:
        return cls(m.kernel_size, m.stride, m.padding, m.dilation, **kw)

    return build


def _avg_pool1d(m: Any, kw: dict[str, Any]) -> torch.nn.Module:
    return fp.AvgPool1d(m.kernel_size, m.stride, m.padding, **kw)


def _avg_pool2d(m: Any, kw: dict[str, Any]) -> torch.nn.Module:
    return fp.AvgPool2d(m.kernel_size, m.stride, m.padding, **kw)


def _recurrent(cls: type) -> Callable[[Any, dict[str, Any]], torch.nn.Module]:
    def build(m: Any, kw: dict[str, Any]) -> torch.nn.Module:
        extra = {"nonlinearity": m.nonlinearity} if isinstance(m, torch.nn.RNN) else {}
        layer = cls(
            m.input_size,
            m.hidden_size,
            num_layers=m.num_layers,
            bias=m.bias,
            batch_first=m.batch_first,
            **extra,
            **kw,
        )
        return _loaded(layer, m)

    return build


def _recurrent_check(m: Any) -> str | None:
    if m.bidirectional:
        return "bidirectional=True (one direction only)"
    return _not(getattr(m, "proj_size", 0) != 0, f"proj_size={getattr(m, 'proj_size', 0)}")


def _prelu_check(m: Any) -> str | None:
    return _not(m.num_parameters != 1, f"num_parameters={m.num_parameters} (one slope only)")


def _flatten_check(m: Any) -> str | None:
    return _not(
        (m.start_dim, m.end_dim) != (1, -1),
        f"Flatten({m.start_dim}, {m.end_dim}) (only the dimensions after the batch)",
    )


def _plain(cls: type) -> Callable[[Any, dict[str, Any]], torch.nn.Module]:
    """A layer with nothing to take from the float one but the format."""

    def build(source: Any, kw: dict[str, Any]) -> torch.nn.Module:
        return cls(**kw)

    return build


_RECURRENT_ROLES = ("", "weight", "bias", "gate", "act")
_PARAMETER_ROLES = ("", "weight", "bias")

MODULES: dict[type, Kind] = {
    torch.nn.Linear: Kind(fp.Linear, _linear, _PARAMETER_ROLES),
    torch.nn.Conv1d: Kind(fp.Conv1d, _conv(fp.Conv1d), _PARAMETER_ROLES, check=_conv_check),
    torch.nn.Conv2d: Kind(fp.Conv2d, _conv(fp.Conv2d), _PARAMETER_ROLES, check=_conv_check),
    torch.nn.BatchNorm1d: Kind(
        fp.BatchNorm1d, _batch_norm(fp.BatchNorm1d), check=_batch_norm_check
    ),
    torch.nn.BatchNorm2d: Kind(
        fp.BatchNorm2d, _batch_norm(fp.BatchNorm2d), check=_batch_norm_check
    ),
    torch.nn.ReLU: Kind(fp.ReLU, _plain(fp.ReLU), formatless=True),
    torch.nn.ReLU6: Kind(fp.ReLU6, _plain(fp.ReLU6)),
    torch.nn.Hardtanh: Kind(
        fp.HardTanh, lambda m, kw: fp.HardTanh(min_val=m.min_val, max_val=m.max_val, **kw)
    ),
    torch.nn.Hardsigmoid: Kind(fp.HardSigmoid, _plain(fp.HardSigmoid)),
    torch.nn.Hardswish: Kind(fp.HardSwish, _plain(fp.HardSwish)),
    torch.nn.Sigmoid: Kind(fp.Sigmoid, _plain(fp.Sigmoid)),
    torch.nn.Tanh: Kind(fp.Tanh, _plain(fp.Tanh)),
    torch.nn.SiLU: Kind(fp.SiLU, _plain(fp.SiLU)),
    torch.nn.LeakyReLU: Kind(
        fp.LeakyReLU, lambda m, kw: fp.LeakyReLU(negative_slope=m.negative_slope, **kw)
    ),
    torch.nn.PReLU: Kind(fp.PReLU, lambda m, kw: _loaded(fp.PReLU(**kw), m), check=_prelu_check),
    torch.nn.MaxPool1d: Kind(
        fp.MaxPool1d, _max_pool(fp.MaxPool1d), formatless=True, check=_window_pool_check
    ),
    torch.nn.MaxPool2d: Kind(
        fp.MaxPool2d, _max_pool(fp.MaxPool2d), formatless=True, check=_window_pool_check
    ),
    torch.nn.AvgPool1d: Kind(fp.AvgPool1d, _avg_pool1d, check=_window_pool_check),
    torch.nn.AvgPool2d: Kind(fp.AvgPool2d, _avg_pool2d, check=_window_pool_check),
    torch.nn.AdaptiveAvgPool1d: Kind(
        fp.AdaptiveAvgPool1d, _plain(fp.AdaptiveAvgPool1d), check=_global_pool_check
    ),
    torch.nn.AdaptiveAvgPool2d: Kind(
        fp.AdaptiveAvgPool2d, _plain(fp.AdaptiveAvgPool2d), check=_global_pool_check
    ),
    torch.nn.Flatten: Kind(fp.Flatten, lambda m, kw: fp.Flatten(), (), check=_flatten_check),
    torch.nn.Dropout: Kind(fp.Dropout, lambda m, kw: fp.Dropout(m.p), ()),
    torch.nn.Identity: Kind(torch.nn.Identity, lambda m, kw: torch.nn.Identity(), ()),
    torch.nn.LSTM: Kind(
        fp.LSTM, _recurrent(fp.LSTM), (*_RECURRENT_ROLES, "cell"), check=_recurrent_check
    ),
    torch.nn.GRU: Kind(fp.GRU, _recurrent(fp.GRU), _RECURRENT_ROLES, check=_recurrent_check),
    torch.nn.RNN: Kind(
        fp.RNN, _recurrent(fp.RNN), ("", "weight", "bias", "gate"), check=_recurrent_check
    ),
}


def is_library_layer(module: torch.nn.Module) -> bool:
    """Whether ``module`` is one of the library's layers already."""
    return type(module).__module__.startswith("elasticai.creator.nn.")


def kind_of(module: torch.nn.Module) -> Kind | None:
    """The row of ``module``'s type (exact: a subclass may compute something else); the
    library's own layers are kept as they are."""
    if is_library_layer(module):
        return Kind(type(module), lambda m, kw: copy.deepcopy(m), ())
    return MODULES.get(type(module))


# --- calls ------------------------------------------------------------------------------


def _constants(call: Call) -> str | None:
    values = [*call.args, *call.kwargs.values()]
    return _not(
        any(isinstance(v, torch.fx.Node) for v in values),
        "with tensors as arguments besides its input",
    )


def _call_check(extra: Callable[[Call], str | None] | None = None) -> Callable[[Any], str | None]:
    def check(call: Any) -> str | None:
        return _constants(call) or (extra(call) if extra else None)

    return check


def _hardtanh(call: Call, kw: dict[str, Any]) -> torch.nn.Module:
    return fp.HardTanh(
        min_val=float(call.get(1, "min_val", -1.0)),
        max_val=float(call.get(2, "max_val", 1.0)),
        **kw,
    )


def _clamp(call: Call, kw: dict[str, Any]) -> torch.nn.Module:
    return fp.HardTanh(
        min_val=float(call.get(1, "min", 0)), max_val=float(call.get(2, "max", 0)), **kw
    )


def _adaptive_check(call: Call) -> str | None:
    size = call.get(1, "output_size", None)
    sizes = size if isinstance(size, tuple | list) else (size,)
    return _not(any(s != 1 for s in sizes), f"with output_size={size!r} (only global pooling, 1)")


def _avg_pool_check(call: Call) -> str | None:
    if call.get(4, "ceil_mode", False):
        return "with ceil_mode=True"
    if not call.get(5, "count_include_pad", True):
        return "with count_include_pad=False (the average divides by the kernel size)"
    return _not(call.get(6, "divisor_override", None) is not None, "with divisor_override")


def _avg_pool(cls: type) -> Callable[[Call, dict[str, Any]], torch.nn.Module]:
    def build(call: Call, kw: dict[str, Any]) -> torch.nn.Module:
        return cls(
            call.get(1, "kernel_size", None),
            call.get(2, "stride", None),
            call.get(3, "padding", 0),
            **kw,
        )

    return build


_SIGMOID = Kind(fp.Sigmoid, _plain(fp.Sigmoid), check=_call_check())
_TANH = Kind(fp.Tanh, _plain(fp.Tanh), check=_call_check())
_HARDTANH = Kind(fp.HardTanh, _hardtanh, check=_call_check())
_RELU6 = Kind(fp.ReLU6, _plain(fp.ReLU6), check=_call_check())
_CLAMP = Kind(fp.HardTanh, _clamp, check=_call_check())

FUNCTIONS: dict[Any, Kind] = {
    torch.sigmoid: _SIGMOID,
    F.sigmoid: _SIGMOID,
    torch.tanh: _TANH,
    F.tanh: _TANH,
    F.silu: Kind(fp.SiLU, _plain(fp.SiLU), check=_call_check()),
    F.hardsigmoid: Kind(fp.HardSigmoid, _plain(fp.HardSigmoid), check=_call_check()),
    F.hardswish: Kind(fp.HardSwish, _plain(fp.HardSwish), check=_call_check()),
    F.leaky_relu: Kind(
        fp.LeakyReLU,
        lambda call, kw: fp.LeakyReLU(negative_slope=call.get(1, "negative_slope", 0.01), **kw),
        check=_call_check(),
    ),
    F.relu6: _RELU6,
    F.hardtanh: _HARDTANH,
    torch.clamp: _CLAMP,
    torch.clip: _CLAMP,
    F.adaptive_avg_pool1d: Kind(
        fp.AdaptiveAvgPool1d, _plain(fp.AdaptiveAvgPool1d), check=_call_check(_adaptive_check)
    ),
    F.adaptive_avg_pool2d: Kind(
        fp.AdaptiveAvgPool2d, _plain(fp.AdaptiveAvgPool2d), check=_call_check(_adaptive_check)
    ),
    F.avg_pool1d: Kind(fp.AvgPool1d, _avg_pool(fp.AvgPool1d), check=_call_check(_avg_pool_check)),
    F.avg_pool2d: Kind(fp.AvgPool2d, _avg_pool(fp.AvgPool2d), check=_call_check(_avg_pool_check)),
}

METHODS: dict[str, Kind] = {
    "sigmoid": _SIGMOID,
    "tanh": _TANH,
    "clamp": _CLAMP,
    "clip": _CLAMP,
}
