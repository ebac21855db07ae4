"""The ranges a float model's tensors take on calibration data, and the format rule.

``frac_bits_for(magnitude, total_bits)`` is the rule: the integer part is the smallest
``I`` with ``magnitude < 2**I`` (the sign bit apart), so ``frac_bits = total_bits - 1 -
I``, kept within ``0 .. total_bits`` (what ``FixedType`` allows). Activations take
``magnitude`` from the data, the largest ``|value|`` seen (or its ``percentile``);
weights and biases from their own largest ``|value|``.

``calibrate`` runs the traced float model on the data (``torch.fx.Interpreter``) and
records every node's values; recurrent layers also record what they compute inside
(``recurrent_ranges``: gate pre-activations, activations, the LSTM cell).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
import torch.fx

__all__ = ["Range", "frac_bits_for", "calibrate", "recurrent_ranges", "RECURRENT"]

#: Samples run through the float model at once.
CHUNK = 512

#: The recurrent layers whose inside ``recurrent_ranges`` records.
RECURRENT = (torch.nn.LSTM, torch.nn.GRU, torch.nn.RNN)


def frac_bits_for(magnitude: float, total_bits: int) -> int:
    """``frac_bits`` of ``total_bits`` for values up to ``magnitude`` in size:
    ``total_bits - 1 - I`` with ``I`` the smallest integer such that ``magnitude <
    2**I``, within ``0 .. total_bits``.

    >>> frac_bits_for(0.9, 8), frac_bits_for(1.0, 8), frac_bits_for(5.3, 8)
    (7, 6, 4)
    >>> frac_bits_for(0.01, 8), frac_bits_for(1000.0, 8), frac_bits_for(0.0, 8)
    (8, 0, 8)
    """
    if not magnitude > 0:
        return total_bits
    integer_bits = math.frexp(magnitude)[1]  # magnitude = m * 2**e, 0.5 <= m < 1
    return min(total_bits, max(0, total_bits - 1 - integer_bits))


class Range:
    """The size of the values of one tensor: the largest ``|value|``, or with
    ``percentile`` that percentile of all ``|value|`` seen."""

    def __init__(self, percentile: float | None = None) -> None:
        self.percentile = percentile
        self.largest = 0.0
        self._values: list[np.ndarray] = []

    def add(self, value: torch.Tensor) -> None:
        magnitude = value.detach().abs().to(torch.float32)
        if magnitude.numel() == 0:
            return
        self.largest = max(self.largest, float(magnitude.max()))
        if self.percentile is not None:
            self._values.append(magnitude.reshape(-1).numpy())

    def merge(self, other: Range) -> Range:
        merged = Range(self.percentile)
        merged.largest = max(self.largest, other.largest)
        merged._values = self._values + other._values
        return merged

    @property
    def magnitude(self) -> float:
        if self.percentile is None or not self._values:
            return self.largest
        return float(np.percentile(np.concatenate(self._values), self.percentile))


def _tensors(value: Any) -> Iterator[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        yield value
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _tensors(v)


class _Recorder(torch.fx.Interpreter):
    def __init__(self, module: torch.fx.GraphModule, percentile: float | None) -> None:
        super().__init__(module)
        self.percentile = percentile
        self.ranges: dict[str, Range] = {}

    def record(self, name: str, value: Any) -> None:
        r = self.ranges.setdefault(name, Range(self.percentile))
        for tensor in _tensors(value):
            if tensor.is_floating_point():
                r.add(tensor)

    def run_node(self, n: torch.fx.Node) -> Any:
        result = super().run_node(n)
        if n.op == "call_module":
            module = self.module.get_submodule(str(n.target))
            if isinstance(module, RECURRENT):
                x = self.env[n.args[0]]  # type: ignore[index]
                for role, values in recurrent_ranges(module, x).items():
                    for v in values:
                        self.record(f"{n.name}:{role}", v)
        if n.op != "output":
            self.record(n.name, result)
        return result


def calibrate(
    module: torch.fx.GraphModule, data: torch.Tensor, percentile: float | None, batch_dim: int = 0
) -> dict[str, Range]:
    """The range of every node's value (by node name; a recurrent layer's inside as
    ``"<node>:gate"``, ``":act"``, ``":cell"``, ``":state"``) over ``data``, run in
    chunks of ``CHUNK`` samples (along ``batch_dim``) without gradients."""
    ranges: dict[str, Range] = {}
    with torch.no_grad():
        for chunk in torch.split(data, CHUNK, dim=batch_dim):
            recorder = _Recorder(module, percentile)
            recorder.run(chunk)
            for name, r in recorder.ranges.items():
                ranges[name] = ranges[name].merge(r) if name in ranges else r
    return ranges


def recurrent_ranges(m: torch.nn.RNNBase, x: torch.Tensor) -> dict[str, list[torch.Tensor]]:
    """What the float recurrent layer ``m`` computes inside on ``x``, step by step, by role:
    ``gate`` (every pre-activation: of LSTM gates; GRU ``r``, ``z``, ``n_x``, ``n_h`` and
    ``n_x + r n_h``; RNN), ``act`` (sigmoid and tanh outputs, LSTM ``tanh(c)``), ``cell``
    (LSTM ``c``) and ``state`` (``h`` of every layer)."""
    if x.dim() == 2:  # one unbatched sequence (L, H_in)
        x = x[None]
    elif not m.batch_first:
        x = x.transpose(0, 1)
    roles: dict[str, list[torch.Tensor]] = {"gate": [], "act": [], "cell": [], "state": []}
    for k in range(m.num_layers):
        w_ih, w_hh = getattr(m, f"weight_ih_l{k}"), getattr(m, f"weight_hh_l{k}")
        b_ih = getattr(m, f"bias_ih_l{k}") if m.bias else None
        b_hh = getattr(m, f"bias_hh_l{k}") if m.bias else None
        xw = torch.nn.functional.linear(x, w_ih, b_ih)
        h = x.new_zeros(x.shape[0], m.hidden_size)
        c = torch.zeros_like(h)
        outputs = []
        for t in range(x.shape[1]):
            hw = torch.nn.functional.linear(h, w_hh, b_hh)
            if isinstance(m, torch.nn.LSTM):
                pre = xw[:, t] + hw
                i, f, g, o = pre.chunk(4, dim=1)
                i, f, o, g = torch.sigmoid(i), torch.sigmoid(f), torch.sigmoid(o), torch.tanh(g)
                c = f * c + i * g
                tc = torch.tanh(c)
                h = o * tc
                roles["gate"].append(pre)
                roles["act"] += [i, f, o, g, tc]
                roles["cell"].append(c)
            elif isinstance(m, torch.nn.GRU):
                x_r, x_z, x_n = xw[:, t].chunk(3, dim=1)
                h_r, h_z, h_n = hw.chunk(3, dim=1)
                r, z = torch.sigmoid(x_r + h_r), torch.sigmoid(x_z + h_z)
                n_pre = x_n + r * h_n
                n = torch.tanh(n_pre)
                h = (1 - z) * n + z * h
                roles["gate"] += [x_r + h_r, x_z + h_z, x_n, h_n, n_pre]
                roles["act"] += [r, z, n]
            else:
                pre = xw[:, t] + hw
                h = torch.tanh(pre) if m.nonlinearity == "tanh" else torch.relu(pre)
                roles["gate"].append(pre)
            roles["state"].append(h)
            outputs.append(h)
        x = torch.stack(outputs, dim=1)
    return roles
