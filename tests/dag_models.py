"""A model whose ``forward`` interprets a small program: the random DAGs of
``tests.strategies.dags``.

Each step of the program appends one value computed from earlier ones (value 0 is the
model input, quantized first where the model has an input format); the model returns the
last value. torch.fx traces through the interpretation (the control flow depends on
constants only), so the traced graph is the DAG itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F

from elasticai.creator.nn.fixed_point import quantize

__all__ = ["DagModel", "Step"]

#: ``(op, layer, inputs, constants)``: ``layer`` names a module of ``DagModel.layers`` ("" for
#: functions), ``inputs`` are value indices.
Step = tuple[str, str, tuple[int, ...], Any]


class DagModel(torch.nn.Module):
    """``forward`` runs ``program`` (see ``Step``) on the model input.

    ops: ``layer`` (a module on one value), ``layer2`` (a module on two: ``Add``),
    ``concat_list``/``concat_args`` (``Concatenate`` given a list or the values),
    ``add`` (``a + b``), ``torch_add``, ``sub`` (``a - b``), ``cat`` (``torch.cat(.., dim=1)``),
    ``relu`` (``F.relu``), ``relu6``, ``hardtanh`` and ``clamp`` (constants: the bounds),
    ``max_pool`` (constants: dims, kernel, stride, padding), ``flatten``
    (``torch.flatten(x, 1)``), ``view`` (``x.view(x.size(0), -1)``).
    """

    def __init__(
        self,
        program: Sequence[Step],
        layers: dict[str, torch.nn.Module],
        input_format: tuple[int, int] | None,
    ) -> None:
        super().__init__()
        self.program = [tuple(step) for step in program]
        self.layers = torch.nn.ModuleDict(layers)
        self.input_format = input_format

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.input_format is not None:
            x = quantize(x, self.input_format[0], self.input_format[1])
        values = [x]
        for op, layer, inputs, const in self.program:
            values.append(self._step(op, layer, [values[i] for i in inputs], const))
        return values[-1]

    def _step(self, op: str, layer: str, args: list[Any], const: Any) -> Any:
        if op == "layer":
            return self.layers[layer](args[0])
        if op == "layer2":
            return self.layers[layer](args[0], args[1])
        if op == "concat_list":
            return self.layers[layer](args)
        if op == "concat_args":
            return self.layers[layer](*args)
        if op == "add":
            return args[0] + args[1]
        if op == "torch_add":
            return torch.add(args[0], args[1])
        if op == "sub":
            return args[0] - args[1]
        if op == "cat":
            return torch.cat(args, dim=1)
        if op == "relu":
            return F.relu(args[0])
        if op == "relu6":
            return F.relu6(args[0])
        if op == "hardtanh":
            return F.hardtanh(args[0], const[0], const[1])
        if op == "clamp":
            return torch.clamp(args[0], const[0], const[1])
        if op == "max_pool":
            dims, kernel, stride, padding = const
            pool = F.max_pool1d if dims == 1 else F.max_pool2d
            return pool(args[0], kernel, stride, padding)
        if op == "flatten":
            return torch.flatten(args[0], 1)
        if op == "view":
            return args[0].view(args[0].size(0), -1)
        raise ValueError(f"unknown op {op!r}")

    def code(self) -> str:
        """The forward as straight-line code (to turn a failing example into a test)."""
        lines = []
        if self.input_format is not None:
            lines.append(f"x = quantize(x, {self.input_format[0]}, {self.input_format[1]})")

        def name(i: int) -> str:
            return "x" if i == 0 else f"v{i}"

        for k, (op, layer, inputs, const) in enumerate(self.program, 1):
            a = [name(i) for i in inputs]
            module = f"self.{layer}" if layer else ""
            text = {
                "layer": f"{module}({a[0]})",
                "layer2": f"{module}({', '.join(a)})",
                "concat_list": f"{module}([{', '.join(a)}])",
                "concat_args": f"{module}({', '.join(a)})",
                "add": " + ".join(a),
                "torch_add": f"torch.add({', '.join(a)})",
                "sub": " - ".join(a),
                "cat": f"torch.cat([{', '.join(a)}], dim=1)",
                "relu": f"F.relu({a[0]})",
                "relu6": f"F.relu6({a[0]})",
                "hardtanh": f"F.hardtanh({a[0]}, {const and const[0]}, {const and const[1]})",
                "clamp": f"torch.clamp({a[0]}, {const and const[0]}, {const and const[1]})",
                "max_pool": f"F.max_pool{const and const[0]}d({a[0]}, "
                + ", ".join(str(c) for c in (const or ())[1:])
                + ")",
                "flatten": f"torch.flatten({a[0]}, 1)",
                "view": f"{a[0]}.view({a[0]}.size(0), -1)",
            }[op]
            lines.append(f"{name(k)} = {text}")
        lines.append(f"return {name(len(self.program))}")
        return "\n".join(lines)

    def extra_repr(self) -> str:
        return "forward:\n  " + self.code().replace("\n", "\n  ")
