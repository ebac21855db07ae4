"""The integer interpreter: the executable specification of every ``Op``.

Each operation is one small function on integer arrays of shape
``(batch, features)``; ``run`` applies them in graph order. The PyTorch
forward and the generated VHDL are both tested against this module.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from elasticai.creator.arithmetic import affine_clamp, clamp, int_array, requantize
from elasticai.creator.ir.graph import INPUT, Graph, LinearParams, Node, Op, PointwiseParams

__all__ = ["run", "linear", "pointwise", "linear_accumulator_range"]


def linear(x: np.ndarray, node: Node) -> np.ndarray:
    """``y[o] = clamp(requantize(sum_i w[o,i] * x[i] + b[o] * 2**bias_shift, acc_frac -> out),
    low, high)`` (the clamp only where a ReLU or HardTanh was fused in).

    The sum is exact (Python ints where 62 bits would not hold it); the
    accumulator has ``x.frac_bits + w.frac_bits`` fractional bits.
    """
    p = node.params
    assert isinstance(p, LinearParams)
    x_type = node.input_type.dtype
    wide = x_type.total_bits + p.w_type.total_bits + max(1, p.weight.shape[1]).bit_length() + 1
    acc = int_array(x, wide) @ int_array(p.weight, wide).T
    if p.bias is not None:
        acc = acc + (int_array(p.bias, wide) << p.bias_shift(x_type))
    out = node.output_type.dtype
    y = requantize(acc, p.acc_frac_bits(x_type), out, p.rounding, p.overflow)
    if p.low is None or p.high is None:
        return y
    return clamp(y, p.low, p.high)


def pointwise(x: np.ndarray, node: Node) -> np.ndarray:
    """``affine_clamp(x, mul, add, shift, rounding, low, high, out, overflow)`` per element."""
    p = node.params
    assert isinstance(p, PointwiseParams)
    wide = node.input_type.dtype.total_bits + abs(p.mul).bit_length() + abs(p.add).bit_length() + 2
    return affine_clamp(
        int_array(x, wide),
        p.mul,
        p.add,
        p.shift,
        p.rounding,
        p.low,
        p.high,
        node.output_type.dtype,
        p.overflow,
    )


OPS: dict[Op, Callable[[np.ndarray, Node], np.ndarray]] = {
    Op.LINEAR: linear,
    Op.POINTWISE: pointwise,
}


def run(graph: Graph, x: np.ndarray, *, keep: bool = False) -> np.ndarray | dict[str, np.ndarray]:
    """Integer outputs of ``graph`` for integer inputs ``x`` of shape ``(batch, features)``.

    With ``keep=True`` returns every intermediate value by node name.
    """
    values: dict[str, np.ndarray] = {INPUT: np.asarray(x)}
    for node in graph.nodes:
        (source,) = node.inputs
        values[node.name] = OPS[node.op](values[source], node)
    if keep:
        return values
    return values[graph.nodes[-1].name] if graph.nodes else values[INPUT]


def linear_accumulator_range(node: Node) -> tuple[int, int]:
    """Smallest and largest value the accumulator (or any partial sum) can take.

    Every product ``w * x`` lies in ``[min(w*x_min, w*x_max), max(...)]`` and every
    such interval contains 0, so any partial sum, with or without the bias, lies
    within ``[min(0, b) + sum(lows), max(0, b) + sum(highs)]`` for the worst output.
    """
    p = node.params
    assert isinstance(p, LinearParams)
    x_type = node.input_type.dtype
    w = p.weight.astype(object)
    a, b = w * x_type.min_int, w * x_type.max_int
    lows = np.minimum(a, b).sum(axis=1)
    highs = np.maximum(a, b).sum(axis=1)
    if p.bias is not None:
        bias = p.bias.astype(object) * (1 << p.bias_shift(x_type))
        lows = lows + np.minimum(bias, 0)
        highs = highs + np.maximum(bias, 0)
    return int(lows.min()), int(highs.max())
