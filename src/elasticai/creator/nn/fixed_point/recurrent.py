"""Recurrent layers: ``LSTM``, ``GRU`` and ``RNN`` on fixed-point numbers.

They take PyTorch's arguments, shapes and parameter names (``weight_ih_l0``, ...;
``load_state_dict`` of a float ``torch.nn.LSTM`` works) and add the formats:
``total_bits, frac_bits`` (``X``: the input and the hidden state ``h`` of every layer)
and, keyword-only, weights ``W``, biases ``B``, gate pre-activations ``G``, activation
outputs ``A`` and the LSTM cell ``C`` (each by default ``X``). The integer semantics,
one rounding per step of the recurrence, are those of ``ops.recurrent.RecurrentOp``
(one per layer), which the forward runs; its result is exact, its gradient that of the
same recurrence in float on fake-quantized weights (backpropagation through time).

Activations are the library's own: ``Sigmoid``/``Tanh`` (``piecewise_params``,
``segments`` pieces) or ``HardSigmoid``/``HardTanh``, and ``ReLU``, each taking its
input format to its output format in one rounding.
Not supported: ``bidirectional``, ``proj_size``, ``dropout``, packed sequences; no
hardware translation yet.

>>> lstm = LSTM(input_size=2, hidden_size=3, total_bits=8, frac_bits=4, num_layers=2)
>>> output, (h_n, c_n) = lstm(torch.ones(5, 1, 2))  # (L, N, H_in), as torch.nn.LSTM
>>> output.shape, h_n.shape, bool((output * 16 == (output * 16).round()).all())
(torch.Size([5, 1, 3]), torch.Size([2, 1, 3]), True)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F

from elasticai.creator.arithmetic import FixedType, Overflow, Rounding
from elasticai.creator.base_modules.quantization import as_real, fake_quantize, to_int
from elasticai.creator.ir.types import frozen_array
from elasticai.creator.nn.fixed_point._base import _FixedPointLayer, _straight
from elasticai.creator.nn.fixed_point._pointwise import (
    hard_sigmoid_params,
    hard_tanh_params,
    relu_params,
)
from elasticai.creator.nn.fixed_point._steps import exact_with_surrogate
from elasticai.creator.nn.fixed_point.activations import piecewise_params
from elasticai.creator.ops import LinearOp, PointwiseOp
from elasticai.creator.ops.recurrent import Activation, RecurrentOp, interpret_stack

__all__ = ["LSTM", "GRU", "RNN"]

Tensor = torch.Tensor
State = tuple[Tensor, Tensor | None]  # h, c


def _choice(value: Any, allowed: tuple[str, ...], name: str) -> str:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))}, not {value!r}")
    return str(value)


def _refuse(dropout: float, bidirectional: bool, proj_size: int = 0) -> None:
    """The torch arguments whose behaviour the fixed-point layers do not have."""
    if dropout != 0:
        raise ValueError(f"dropout must be 0 (no dropout between recurrent layers), not {dropout}")
    if bidirectional:
        raise ValueError(f"bidirectional must be False (one direction only), not {bidirectional}")
    if proj_size != 0:
        raise ValueError(f"proj_size must be 0 (no projection of h), not {proj_size}")


def _rescaled(p: PointwiseOp, t_in: FixedType, t_out: FixedType) -> PointwiseOp:
    """``p`` (constants for inputs with ``t_out``'s fraction) for inputs of ``t_in``: the
    same real function, exactly (the scale goes into ``add``/``shift`` or ``mul``), so
    format conversion and function share one rounding."""
    d = t_in.frac_bits - t_out.frac_bits
    if d >= 0:
        return replace(p, add=p.add << d, shift=p.shift + d)
    return replace(p, mul=p.mul << -d)


def gate_activation(
    kind: str, t_in: FixedType, t_out: FixedType, segments: int, r: Rounding, o: Overflow
) -> Activation:
    """``sigmoid`` (``Sigmoid``'s pieces) or ``hard_sigmoid`` (``HardSigmoid``'s constants
    for ``t_out``: slope ``round(2**k / 6) / 2**k``, ``k = t_out.frac_bits + 4``)."""
    if kind == "sigmoid":
        return piecewise_params("sigmoid", t_in, t_out, segments, r, o)
    return _rescaled(hard_sigmoid_params(t_out, r, o), t_in, t_out)


def tanh_activation(
    kind: str, t_in: FixedType, t_out: FixedType, segments: int, r: Rounding, o: Overflow
) -> Activation:
    """``tanh`` (``Tanh``'s pieces), ``hard_tanh`` (clamp to [-1, 1]) or ``relu``."""
    if kind == "tanh":
        return piecewise_params("tanh", t_in, t_out, segments, r, o)
    if kind == "relu":
        return _rescaled(relu_params(t_out, r, o), t_in, t_out)
    return _rescaled(hard_tanh_params(t_out, -1.0, 1.0, r, o), t_in, t_out)


_FLOAT: dict[str, Callable[[Tensor], Tensor]] = {
    "sigmoid": torch.sigmoid,
    "hard_sigmoid": F.hardsigmoid,
    "tanh": torch.tanh,
    "hard_tanh": F.hardtanh,
    "relu": torch.relu,
}


class _Recurrent(_FixedPointLayer):
    """What the three share: formats, the integer ops per layer, forward and surrogate."""

    cell: ClassVar[str]
    input_size: int
    hidden_size: int
    num_layers: int
    bias: bool
    batch_first: bool
    gate_activation: str  # LSTM, GRU: "sigmoid" or "hard_sigmoid"
    cell_activation: str  # LSTM, GRU: "tanh" or "hard_tanh"
    weight_fxp: FixedType
    bias_fxp: FixedType
    gate_fxp: FixedType
    act_fxp: FixedType  # LSTM, GRU
    cell_fxp: FixedType  # LSTM

    def _init_fixed(
        self,
        total_bits: int,
        frac_bits: int,
        formats: dict[str, tuple[int | None, int | None]],
        segments: int,
        rounding: Rounding | str,
        overflow: Overflow | str,
    ) -> None:
        self._init_format(total_bits, frac_bits, rounding, overflow)
        for name, (total, frac) in formats.items():
            setattr(
                self,
                f"{name}_fxp",
                FixedType(
                    self.fxp.total_bits if total is None else total,
                    self.fxp.frac_bits if frac is None else frac,
                ),
            )
        if not isinstance(segments, int) or isinstance(segments, bool) or not 1 <= segments <= 1024:
            raise ValueError(f"segments must be an int from 1 to 1024, not {segments!r}")
        self.segments = segments
        self.recurrent_ops()  # refuses formats too wide for the integer step

    # --- integers -----------------------------------------------------------------

    def recurrent_ops(self) -> list[RecurrentOp]:
        """One ``RecurrentOp`` per layer, with this module's integer weights."""
        return [self._layer_op(k) for k in range(self.num_layers)]

    def _activations(self) -> dict[str, Any]:
        raise NotImplementedError

    def _layer_op(self, k: int) -> RecurrentOp:
        w = [to_int(self._param("weight", part, k), self.weight_fxp).numpy() for part in "ih"]
        b = None
        if self.bias:
            b = [to_int(self._param("bias", part, k), self.bias_fxp).numpy() for part in "ih"]
        weight, bias = _joined(self.cell, self.hidden_size, w[0], w[1], b)
        x_type, w_type, b_type = self.fxp, self.weight_fxp, self.bias_fxp
        extra = b_type.frac_bits - (x_type.frac_bits + w_type.frac_bits)
        if bias is not None and extra > 0:  # as Linear: the products get the bias's fraction
            w_type = FixedType(w_type.total_bits + extra, w_type.frac_bits + extra)
            weight = weight.astype(object if w_type.total_bits > 62 else np.int64) * (1 << extra)
        linear = LinearOp(
            weight=frozen_array(weight),
            bias=None if bias is None else frozen_array(bias),
            w_type=w_type,
            b_type=None if bias is None else FixedType(b_type.total_bits + 1, b_type.frac_bits),
            rounding=self.rounding,
            overflow=self.overflow,
        )
        return RecurrentOp(
            self.cell,
            linear,
            x_type,
            self.gate_fxp,
            rounding=self.rounding,
            overflow=self.overflow,
            **self._activations(),
        )

    def _param(self, kind: str, part: str, k: int) -> Tensor:
        return getattr(self, f"{kind}_{part}h_l{k}")

    # --- forward ------------------------------------------------------------------

    def _forward(self, input: Any, hx: Any) -> tuple[Tensor, Tensor, Tensor | None]:
        """``(output, h_n, c_n)`` in PyTorch's layout (``c_n``: LSTM only)."""
        name = type(self).__name__
        if isinstance(input, torch.fx.Proxy):
            raise NotImplementedError(
                f"fixed_point.{name} is translated as one layer; it cannot be traced into"
            )
        if not isinstance(input, Tensor):
            raise TypeError(f"{name} takes a tensor (no packed sequences), not {type(input)}")
        x = as_real(input)
        if x.dim() not in (2, 3) or x.shape[-1] != self.input_size:
            raise ValueError(
                f"{name} takes (L, {self.input_size}) or a batch of them "
                f"({'(N, L, ' if self.batch_first else '(L, N, '}{self.input_size})), "
                f"not a tensor of shape {tuple(x.shape)}"
            )
        batched = x.dim() == 3
        x = x if batched and self.batch_first else (x.transpose(0, 1) if batched else x[None])
        h0, c0 = self._initial_state(hx, batched, x.shape[0])
        ops = self.recurrent_ops()
        q = to_int(x, self.fxp, self.rounding, self.overflow).numpy()
        h0_int = None if h0 is None else to_int(h0, self.fxp, self.rounding, self.overflow)
        c0_int = None if c0 is None else to_int(c0, self.cell_fxp, self.rounding, self.overflow)
        out, h_n, c_n = interpret_stack(
            ops,
            q,
            None if h0_int is None else h0_int.numpy(),
            None if c0_int is None else c0_int.numpy(),
        )
        cache: list[tuple[Tensor, Tensor, Tensor | None]] = []

        def surrogate(i: int) -> Callable[[], Tensor | None]:
            def value() -> Tensor | None:
                if not cache:
                    cache.append(self._surrogate(x, h0, c0))
                return cache[0][i]

            return value

        y = exact_with_surrogate(torch.from_numpy(out), self.fxp, x, surrogate(0))
        h = exact_with_surrogate(torch.from_numpy(h_n), self.fxp, x, surrogate(1))
        c = None
        if c_n is not None:
            c = exact_with_surrogate(torch.from_numpy(c_n), self.cell_fxp, x, surrogate(2))
        if not batched:
            return y[0], h[:, 0], None if c is None else c[:, 0]
        return (y if self.batch_first else y.transpose(0, 1)), h, c

    def _initial_state(
        self, hx: Any, batched: bool, batch: int
    ) -> tuple[Tensor | None, Tensor | None]:
        """``hx`` as ``(layers, batch, H)`` tensors ``(h0, c0)``; ``None`` where not given."""
        if hx is None:
            return None, None
        lstm = self.cell == "lstm"
        if lstm != isinstance(hx, tuple) or (lstm and len(hx) != 2):
            what = "a tuple (h_0, c_0)" if lstm else "one tensor h_0"
            raise ValueError(f"{type(self).__name__} takes hx as {what}, not {type(hx)}")
        states = list(hx) if lstm else [hx]
        expected: tuple[int, ...] = (self.num_layers, batch, self.hidden_size)
        if not batched:
            expected = (self.num_layers, self.hidden_size)
        for k, state in enumerate(states):
            if not isinstance(state, Tensor) or tuple(state.shape) != expected:
                shape = tuple(state.shape) if isinstance(state, Tensor) else type(state)
                raise ValueError(f"hx[{k}] must have shape {expected}, not {shape}")
        states = [as_real(s) if batched else as_real(s)[:, None] for s in states]
        return states[0], states[1] if lstm else None

    # --- the float surrogate (gradients only) ------------------------------------

    def _surrogate(
        self, x: Tensor, h0: Tensor | None, c0: Tensor | None
    ) -> tuple[Tensor, Tensor, Tensor | None]:
        """The same recurrence in float on fake-quantized weights, inputs and initial
        states: ``(outputs (N, L, H), h_n, c_n)``."""
        value, hs, cs = x, [], []
        zeros = x.new_zeros(x.shape[0], self.hidden_size)
        for k in range(self.num_layers):
            value = fake_quantize(value, self.fxp, self.rounding, self.overflow)
            h = (
                zeros
                if h0 is None
                else fake_quantize(h0[k], self.fxp, self.rounding, self.overflow)
            )
            c = None
            if self.cell == "lstm":
                c = (
                    zeros
                    if c0 is None
                    else fake_quantize(c0[k], self.cell_fxp, self.rounding, self.overflow)
                )
            w_ih, w_hh = (_straight(self._param("weight", p, k), self.weight_fxp) for p in "ih")
            b_ih = b_hh = None
            if self.bias:
                b_ih, b_hh = (_straight(self._param("bias", p, k), self.bias_fxp) for p in "ih")
            xw = F.linear(value, w_ih, b_ih)  # every step's input part at once
            outputs = []
            for t in range(x.shape[1]):
                h, c = self._float_step(xw[:, t], F.linear(h, w_hh, b_hh), h, c)
                outputs.append(h)
            value = torch.stack(outputs, dim=1)
            hs.append(h)
            cs.append(c)
        c_n = torch.stack(cs) if self.cell == "lstm" else None  # type: ignore[arg-type]
        return value, torch.stack(hs), c_n

    def _float_step(self, xw: Tensor, hw: Tensor, h: Tensor, c: Tensor | None) -> State:
        raise NotImplementedError

    def extra_repr(self) -> str:
        torch_repr = torch.nn.RNNBase.extra_repr(self)  # type: ignore[arg-type]
        parts = [f"{name}_fxp={getattr(self, f'{name}_fxp')}" for name in self._formats()]
        parts = [p for p in parts if not p.endswith(f"={self.fxp}")]
        return ", ".join([torch_repr, _FixedPointLayer.extra_repr(self), *parts])

    def _formats(self) -> tuple[str, ...]:
        return ("weight", "bias", "gate")


def _joined(
    cell: str, hidden: int, w_ih: np.ndarray, w_hh: np.ndarray, b: list[np.ndarray] | None
) -> tuple[np.ndarray, np.ndarray | None]:
    """The ``LinearOp``'s weight over ``[x, h]`` and bias from PyTorch's integer parameters:
    ``[W_ih | W_hh]`` and ``b_ih + b_hh``; for a GRU rows ``r, z`` so, then ``n_x = [W_in | 0]``
    (bias ``b_in``) and ``n_h = [0 | W_hn]`` (bias ``b_hn``)."""
    if cell != "gru":
        return np.hstack([w_ih, w_hh]), None if b is None else b[0] + b[1]
    n_in = w_ih.shape[1]
    weight = np.zeros((4 * hidden, n_in + hidden), dtype=np.int64)
    weight[: 2 * hidden, :n_in] = w_ih[: 2 * hidden]
    weight[: 2 * hidden, n_in:] = w_hh[: 2 * hidden]
    weight[2 * hidden : 3 * hidden, :n_in] = w_ih[2 * hidden :]
    weight[3 * hidden :, n_in:] = w_hh[2 * hidden :]
    if b is None:
        return weight, None
    b_ih, b_hh = b
    return weight, np.concatenate(
        [b_ih[: 2 * hidden] + b_hh[: 2 * hidden], b_ih[2 * hidden :], b_hh[2 * hidden :]]
    )


class _Gated(_Recurrent):
    """LSTM and GRU: gates through ``gate_activation``, candidates through ``cell_activation``."""

    def _activations(self) -> dict[str, Any]:
        g, a, r, o = self.gate_fxp, self.act_fxp, self.rounding, self.overflow
        acts: dict[str, Any] = {
            "a_type": a,
            "gate_act": gate_activation(self.gate_activation, g, a, self.segments, r, o),
            "cand_act": tanh_activation(self.cell_activation, g, a, self.segments, r, o),
        }
        if self.cell == "lstm":
            c = self.cell_fxp
            acts["c_type"] = c
            acts["cell_act"] = tanh_activation(self.cell_activation, c, a, self.segments, r, o)
        return acts

    def _formats(self) -> tuple[str, ...]:
        return (*super()._formats(), "act", *(("cell",) if self.cell == "lstm" else ()))


class LSTM(_Gated, torch.nn.LSTM):
    """``torch.nn.LSTM`` on fixed-point numbers (see the module docstring).

    Per step and layer (``ops.recurrent.RecurrentOp``): ``[i, f, g, o] = requantize(W_ih x
    + W_hh h + b_ih + b_hh -> G)`` (one ``LinearOp`` over ``[x, h]``), ``i, f, o =
    sigmoid(.)`` and ``g = tanh(.)`` (``G -> A``), ``c' = requantize(f c + i g -> C)``,
    ``h' = requantize(o tanh(c') -> X)`` (that tanh ``C -> A``).
    ``forward(input, hx=None)`` returns ``(output, (h_n, c_n))`` as PyTorch does.

    Keywords (defaults): ``weight_total_bits/weight_frac_bits``, ``bias_total_bits/
    bias_frac_bits``, ``gate_total_bits/gate_frac_bits`` (``G``), ``act_total_bits/
    act_frac_bits`` (``A``), ``cell_total_bits/cell_frac_bits`` (``C``): the layer's
    format; ``gate_activation="sigmoid"`` or ``"hard_sigmoid"``; ``cell_activation="tanh"``
    or ``"hard_tanh"``; ``segments=32`` (of the piecewise sigmoid and tanh);
    ``rounding="half_even"``, ``overflow="saturate"``.
    """

    cell = "lstm"

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        total_bits: int,
        frac_bits: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device: Any = None,
        dtype: Any = None,
        *,
        weight_total_bits: int | None = None,
        weight_frac_bits: int | None = None,
        bias_total_bits: int | None = None,
        bias_frac_bits: int | None = None,
        gate_total_bits: int | None = None,
        gate_frac_bits: int | None = None,
        act_total_bits: int | None = None,
        act_frac_bits: int | None = None,
        cell_total_bits: int | None = None,
        cell_frac_bits: int | None = None,
        gate_activation: str = "sigmoid",
        cell_activation: str = "tanh",
        segments: int = 32,
        rounding: Rounding | str = Rounding.HALF_EVEN,
        overflow: Overflow | str = Overflow.SATURATE,
    ) -> None:
        _refuse(dropout, bidirectional, proj_size)
        gate_activation = _choice(gate_activation, ("sigmoid", "hard_sigmoid"), "gate_activation")
        cell_activation = _choice(cell_activation, ("tanh", "hard_tanh"), "cell_activation")
        torch.nn.LSTM.__init__(
            self,
            input_size,
            hidden_size,
            num_layers=num_layers,
            bias=bias,
            batch_first=batch_first,
            device=device,
            dtype=dtype,
        )
        self.gate_activation, self.cell_activation = gate_activation, cell_activation
        self._init_fixed(
            total_bits,
            frac_bits,
            {
                "weight": (weight_total_bits, weight_frac_bits),
                "bias": (bias_total_bits, bias_frac_bits),
                "gate": (gate_total_bits, gate_frac_bits),
                "act": (act_total_bits, act_frac_bits),
                "cell": (cell_total_bits, cell_frac_bits),
            },
            segments,
            rounding,
            overflow,
        )

    def forward(  # type: ignore[override]
        self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None
    ) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        y, h, c = self._forward(input, hx)
        assert c is not None
        return y, (h, c)

    def _float_step(self, xw: Tensor, hw: Tensor, h: Tensor, c: Tensor | None) -> State:
        assert c is not None
        sigma, phi = _FLOAT[self.gate_activation], _FLOAT[self.cell_activation]
        i, f, g, o = (xw + hw).chunk(4, dim=1)
        c = sigma(f) * c + sigma(i) * phi(g)
        return sigma(o) * phi(c), c


class GRU(_Gated, torch.nn.GRU):
    """``torch.nn.GRU`` on fixed-point numbers (see the module docstring).

    Per step and layer (``ops.recurrent.RecurrentOp``): one ``LinearOp`` over ``[x, h]``
    gives ``r, z, n_x = W_in x + b_in, n_h = W_hn h + b_hn`` (each ``-> G``);
    ``r, z = sigmoid(.)`` (``G -> A``), ``n = tanh(requantize(n_x + r n_h -> G))``
    (``G -> A``), ``h' = requantize((1 - z) n + z h -> X)``.
    ``forward(input, hx=None)`` returns ``(output, h_n)`` as PyTorch does.

    Keywords as ``LSTM``'s (no cell format).
    """

    cell = "gru"

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        total_bits: int,
        frac_bits: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device: Any = None,
        dtype: Any = None,
        *,
        weight_total_bits: int | None = None,
        weight_frac_bits: int | None = None,
        bias_total_bits: int | None = None,
        bias_frac_bits: int | None = None,
        gate_total_bits: int | None = None,
        gate_frac_bits: int | None = None,
        act_total_bits: int | None = None,
        act_frac_bits: int | None = None,
        gate_activation: str = "sigmoid",
        cell_activation: str = "tanh",
        segments: int = 32,
        rounding: Rounding | str = Rounding.HALF_EVEN,
        overflow: Overflow | str = Overflow.SATURATE,
    ) -> None:
        _refuse(dropout, bidirectional)
        gate_activation = _choice(gate_activation, ("sigmoid", "hard_sigmoid"), "gate_activation")
        cell_activation = _choice(cell_activation, ("tanh", "hard_tanh"), "cell_activation")
        torch.nn.GRU.__init__(
            self,
            input_size,
            hidden_size,
            num_layers=num_layers,
            bias=bias,
            batch_first=batch_first,
            device=device,
            dtype=dtype,
        )
        self.gate_activation, self.cell_activation = gate_activation, cell_activation
        self._init_fixed(
            total_bits,
            frac_bits,
            {
                "weight": (weight_total_bits, weight_frac_bits),
                "bias": (bias_total_bits, bias_frac_bits),
                "gate": (gate_total_bits, gate_frac_bits),
                "act": (act_total_bits, act_frac_bits),
            },
            segments,
            rounding,
            overflow,
        )

    def forward(  # type: ignore[override]
        self, input: Tensor, hx: Tensor | None = None
    ) -> tuple[Tensor, Tensor]:
        y, h, _ = self._forward(input, hx)
        return y, h

    def _float_step(self, xw: Tensor, hw: Tensor, h: Tensor, c: Tensor | None) -> State:
        sigma, phi = _FLOAT[self.gate_activation], _FLOAT[self.cell_activation]
        x_r, x_z, x_n = xw.chunk(3, dim=1)
        h_r, h_z, h_n = hw.chunk(3, dim=1)
        r, z = sigma(x_r + h_r), sigma(x_z + h_z)
        n = phi(x_n + r * h_n)
        return (1 - z) * n + z * h, None


class RNN(_Recurrent, torch.nn.RNN):
    """``torch.nn.RNN`` (Elman) on fixed-point numbers (see the module docstring).

    Per step and layer: ``h' = nonlinearity(requantize(W_ih x + W_hh h + b_ih + b_hh -> G))``,
    the nonlinearity ``G -> X`` (``"tanh"``: ``Tanh``'s pieces; ``"relu"``: a clamp).
    ``forward(input, hx=None)`` returns ``(output, h_n)`` as PyTorch does.

    Keywords (defaults): ``weight_*``, ``bias_*``, ``gate_total_bits/gate_frac_bits``
    (``G``): the layer's format; ``segments=32``; ``rounding="half_even"``,
    ``overflow="saturate"``.
    """

    cell = "rnn"
    nonlinearity: str

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        total_bits: int,
        frac_bits: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device: Any = None,
        dtype: Any = None,
        *,
        weight_total_bits: int | None = None,
        weight_frac_bits: int | None = None,
        bias_total_bits: int | None = None,
        bias_frac_bits: int | None = None,
        gate_total_bits: int | None = None,
        gate_frac_bits: int | None = None,
        segments: int = 32,
        rounding: Rounding | str = Rounding.HALF_EVEN,
        overflow: Overflow | str = Overflow.SATURATE,
    ) -> None:
        _refuse(dropout, bidirectional)
        _choice(nonlinearity, ("tanh", "relu"), "nonlinearity")
        torch.nn.RNN.__init__(
            self,
            input_size,
            hidden_size,
            num_layers=num_layers,
            nonlinearity=nonlinearity,
            bias=bias,
            batch_first=batch_first,
            device=device,
            dtype=dtype,
        )
        self._init_fixed(
            total_bits,
            frac_bits,
            {
                "weight": (weight_total_bits, weight_frac_bits),
                "bias": (bias_total_bits, bias_frac_bits),
                "gate": (gate_total_bits, gate_frac_bits),
            },
            segments,
            rounding,
            overflow,
        )

    def _activations(self) -> dict[str, Any]:
        return {
            "cand_act": tanh_activation(
                self.nonlinearity,
                self.gate_fxp,
                self.fxp,
                self.segments,
                self.rounding,
                self.overflow,
            )
        }

    def forward(  # type: ignore[override]
        self, input: Tensor, hx: Tensor | None = None
    ) -> tuple[Tensor, Tensor]:
        y, h, _ = self._forward(input, hx)
        return y, h

    def _float_step(self, xw: Tensor, hw: Tensor, h: Tensor, c: Tensor | None) -> State:
        return _FLOAT[self.nonlinearity](xw + hw), None
