"""The integer interpreter: the executable specification of every ``Op``.

Each operation is one small function on integer arrays of shape
``(batch, features)`` (maps flattened channels last, as they stream); ``run`` applies them in graph order. The PyTorch
forward and the generated VHDL are both tested against this module.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from elasticai.creator.arithmetic import (
    affine_clamp,
    clamp,
    int_array,
    overflow,
    requantize,
    shift_round,
)
from elasticai.creator.ir.graph import (
    INPUT,
    Graph,
    LinearParams,
    Node,
    Op,
    PiecewiseParams,
    PointwiseParams,
    ReduceParams,
    WindowParams,
)

__all__ = [
    "run",
    "linear",
    "pointwise",
    "window",
    "reduce",
    "piecewise",
    "linear_accumulator_range",
]


def linear(x: np.ndarray, node: Node) -> np.ndarray:
    """``y[o] = clamp(requantize(sum_i w[o,i] * x[i] + b[o] * 2**bias_shift, acc_frac -> out),
    low, high)`` (the clamp only where a ReLU or HardTanh was fused in).

    The sum is exact (Python ints where 62 bits would not hold it); the
    accumulator has ``x.frac_bits + w.frac_bits`` fractional bits.
    """
    p = node.params
    assert isinstance(p, LinearParams)
    x_type = node.input_type.dtype
    out_features, in_features = p.weight.shape
    batch = x.shape[0]
    rows = x.reshape(-1, in_features)  # every position of a map is one row
    wide = x_type.total_bits + p.w_type.total_bits + max(1, in_features).bit_length() + 1
    acc = int_array(rows, wide) @ int_array(p.weight, wide).T
    if p.bias is not None:
        acc = acc + (int_array(p.bias, wide) << p.bias_shift(x_type))
    out = node.output_type.dtype
    y = requantize(acc, p.acc_frac_bits(x_type), out, p.rounding, p.overflow)
    if p.low is not None and p.high is not None:
        y = clamp(y, p.low, p.high)
    return y.reshape(batch, -1)


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


def window(x: np.ndarray, node: Node) -> np.ndarray:
    """``y[p, e] = x[index[p, e]]``, ``pad_value`` where ``index`` is -1 (``WindowParams.indices``)."""
    p = node.params
    assert isinstance(p, WindowParams)
    padded = np.concatenate([x, np.full((x.shape[0], 1), p.pad_value, dtype=x.dtype)], axis=1)
    return padded[:, p.indices().ravel()]  # index -1 is the appended pad column


def reduce(x: np.ndarray, node: Node) -> np.ndarray:
    """``y[p, c] = max_t x[p, t, c]`` (``kind="max"``) or the exact ``sum_t x[p, t, c]``."""
    p = node.params
    assert isinstance(p, ReduceParams)
    windows = x.reshape(x.shape[0], -1, p.taps, p.channels)
    y = windows.max(axis=2) if p.kind == "max" else windows.sum(axis=2)
    return y.reshape(x.shape[0], -1)


def piecewise(x: np.ndarray, node: Node) -> np.ndarray:
    """``k = #{j >= 1 : breaks[j] <= x}``,
    ``y = overflow(shift_round((x - bases[k]) * muls[k] + adds[k], shift, rounding))``."""
    p = node.params
    assert isinstance(p, PiecewiseParams)
    bits = max(abs(v).bit_length() for v in (*p.bases, *p.muls, *p.adds, 1))
    wide = 2 * max(bits, node.input_type.dtype.total_bits) + 4
    xs = int_array(x, wide)
    k = np.searchsorted(np.array(p.breaks[1:], dtype=np.int64), np.asarray(x), side="right")
    base, mul, add = (
        int_array(np.array(v, dtype=object)[k], wide) for v in (p.bases, p.muls, p.adds)
    )
    t = (xs - base) * mul + add
    return overflow(shift_round(t, p.shift, p.rounding), node.output_type.dtype, p.overflow)


OPS: dict[Op, Callable[[np.ndarray, Node], np.ndarray]] = {
    Op.LINEAR: linear,
    Op.POINTWISE: pointwise,
    Op.WINDOW: window,
    Op.REDUCE: reduce,
    Op.PIECEWISE: piecewise,
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
