"""``recurrent``: one layer of an LSTM, a GRU or an Elman RNN over a whole sequence.

The integer semantics of ``nn.fixed_point.LSTM``, ``GRU`` and ``RNN`` (their forward
runs ``interpret_stack``), written once for the hardware to implement. Not an IR op yet:
not in ``ops.OPS``, no lowering, timing or cost (issue 11 brings them, from this spec).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from elasticai.creator.arithmetic import (
    INT64_SAFE_BITS,
    FixedType,
    Overflow,
    Rounding,
    requantize,
)
from elasticai.creator.ir.graph import INPUT, Node
from elasticai.creator.ir.types import TensorType
from elasticai.creator.ops.linear import LinearOp
from elasticai.creator.ops.piecewise import PiecewiseOp
from elasticai.creator.ops.pointwise import PointwiseOp

__all__ = ["RecurrentOp", "Activation", "CELLS", "interpret_stack"]

#: An element-wise function of one format into another (sigmoid, tanh, their hard forms, ReLU).
Activation = PiecewiseOp | PointwiseOp

#: The cell kinds, and the rows of their ``LinearOp`` in units of ``hidden_size``.
CELLS: dict[str, int] = {"lstm": 4, "gru": 4, "rnn": 1}


@dataclass(frozen=True, eq=False)
class RecurrentOp:
    """One recurrent layer: input ``x_t`` and state ``h`` of format ``X`` (``x_type``),
    gate pre-activations ``G``, activation outputs ``A``, the LSTM cell ``C``. Every
    product and sum is exact (integers); each arrow ``-> F`` is one
    ``requantize(..., F, rounding, overflow)``, whose input fraction is the exact one of
    the value (products: the sum of their factors' fractions; sums: the larger one,
    the other term shifted left to it). The state starts at ``h0``/``c0`` (zero if not
    given) for each sequence; ``h`` is the output at every step.

    ``linear`` is one ``LinearOp`` over ``z = [x_t, h]`` (``I + H`` columns, output ``G``):
    ``pre = requantize(W [x_t, h] + b -> G)``; the sum of the two quantized biases
    ``b_ih + b_hh`` is its bias (one more integer bit).

    ``lstm``: rows ``i, f, g, o`` (``H`` each, PyTorch's order).
    ``i, f, o = gate_act(pre_i, pre_f, pre_o)`` (sigmoid, ``G -> A``),
    ``g = cand_act(pre_g)`` (tanh, ``G -> A``),
    ``c' = requantize(f * c + i * g -> C)``,
    ``h' = requantize(o * cell_act(c') -> X)`` (``cell_act``: tanh, ``C -> A``).

    ``gru``: rows ``r, z, n_x, n_h``; ``n_x`` has zero weights in the ``h`` columns and
    bias ``b_in``, ``n_h`` zero weights in the ``x`` columns and bias ``b_hn``.
    ``r, z = gate_act(pre_r, pre_z)`` (``G -> A``),
    ``n = cand_act(requantize(n_x + r * n_h -> G))`` (``G -> A``),
    ``h' = requantize((2**a - z) * n + z * h -> X)`` (``2**a`` is 1 in ``A``, exactly).

    ``rnn``: rows ``h``; ``h' = cand_act(pre)`` (tanh or ReLU, ``G -> X``).

    Activations are ``PiecewiseOp`` (sigmoid, tanh) or ``PointwiseOp`` (hard sigmoid,
    hard tanh, ReLU) with their own constants; they round and overflow as they say.
    Every intermediate value fits ``int64``; formats whose products would not (more than
    62 bits) are refused.
    """

    cell: str
    linear: LinearOp
    x_type: FixedType
    g_type: FixedType
    cand_act: Activation
    gate_act: Activation | None = None  # lstm, gru
    a_type: FixedType | None = None  # lstm, gru
    cell_act: Activation | None = None  # lstm
    c_type: FixedType | None = None  # lstm
    rounding: Rounding = Rounding.HALF_EVEN
    overflow: Overflow = Overflow.SATURATE

    def __post_init__(self) -> None:
        if self.cell not in CELLS:
            raise ValueError(
                f"cell must be one of {', '.join(map(repr, CELLS))}, not {self.cell!r}"
            )
        rows, columns = self.linear.weight.shape
        if rows % CELLS[self.cell] or columns <= rows // CELLS[self.cell]:
            raise ValueError(
                f"a {self.cell} layer needs {CELLS[self.cell]} * hidden rows and "
                f"input + hidden columns, not a weight of shape {self.linear.weight.shape}"
            )
        gated = self.cell != "rnn"
        needs = {
            "gate_act": gated,
            "a_type": gated,
            "cell_act": self.cell == "lstm",
            "c_type": self.cell == "lstm",
        }
        for name, needed in needs.items():
            if (getattr(self, name) is not None) != needed:
                state = "needs" if needed else "has no"
                raise ValueError(f"a {self.cell} layer {state} {name}")
        for what, bits in self.widths().items():
            if bits > INT64_SAFE_BITS:
                raise ValueError(
                    f"{what} needs {bits} bits, more than {INT64_SAFE_BITS}; "
                    "choose narrower formats"
                )

    @property
    def hidden_size(self) -> int:
        return int(self.linear.weight.shape[0]) // CELLS[self.cell]

    @property
    def input_size(self) -> int:
        return int(self.linear.weight.shape[1]) - self.hidden_size

    def widths(self) -> dict[str, int]:
        """Two's complement bits of the formats and of each exact intermediate sum of the
        step (besides the ``LinearOp`` and the activations, which size their own)."""
        x, g, a, c = self.x_type, self.g_type, self.a_type, self.c_type
        formats = {f"format {t}": t.total_bits for t in (x, g, a, c) if t is not None}
        if a is None:
            return formats
        if c is not None:
            frac = max(a.frac_bits + c.frac_bits, 2 * a.frac_bits)
            fc = a.total_bits + c.total_bits + frac - a.frac_bits - c.frac_bits
            ig = 2 * a.total_bits + frac - 2 * a.frac_bits
            return {**formats, "f * c + i * g": max(fc, ig) + 1, "o * tanh(c)": 2 * a.total_bits}
        frac = max(2 * a.frac_bits, a.frac_bits + x.frac_bits)
        zn = 2 * a.total_bits + 1 + frac - 2 * a.frac_bits
        zh = a.total_bits + x.total_bits + frac - a.frac_bits - x.frac_bits
        n = max(g.total_bits + a.frac_bits, a.total_bits + g.total_bits) + 1
        return {**formats, "n_x + r * n_h": n, "(1 - z) * n + z * h": max(zn, zh) + 1}

    # --- the spec ---------------------------------------------------------------

    def interpret_sequence(
        self, x: np.ndarray, h0: np.ndarray | None = None, c0: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Integers ``x`` of ``X``, shape ``(batch, T, I)`` -> the outputs ``(batch, T, H)``
        (``X``), the final ``h`` (``X``) and the final ``c`` (``C``; ``None`` but for LSTM).
        ``h0`` (``X``) and ``c0`` (``C``) are ``(batch, H)``, zero where not given."""
        x = np.asarray(x)
        if x.ndim != 3 or x.shape[2] != self.input_size:
            raise ValueError(
                f"a {self.cell} layer takes (batch, T, {self.input_size}), not {x.shape}"
            )
        batch, steps = x.shape[:2]
        state = (batch, self.hidden_size)
        h = np.zeros(state, dtype=np.int64) if h0 is None else _int64(h0, state, "h0")
        c: np.ndarray | None = None
        if self.cell == "lstm":
            c = np.zeros(state, dtype=np.int64) if c0 is None else _int64(c0, state, "c0")
        outputs = np.zeros((batch, steps, self.hidden_size), dtype=np.int64)
        for t in range(steps):
            h, c = self.step(x[:, t].astype(np.int64), h, c)
            outputs[:, t] = h
        return outputs, h, c

    def step(
        self, x: np.ndarray, h: np.ndarray, c: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """One time step: ``(x_t, h, c) -> (h', c')`` as the class docstring says."""
        pre = _run(self.linear, self._nodes["linear"], np.concatenate([x, h], axis=1))
        n = self.hidden_size
        if self.cell == "rnn":
            return _run(self.cand_act, self._nodes["cand_act"], pre), None
        assert self.gate_act is not None and self.a_type is not None
        a, g, xf = self.a_type.frac_bits, self.g_type.frac_bits, self.x_type.frac_bits
        if self.cell == "lstm":
            assert self.cell_act is not None and self.c_type is not None and c is not None
            gates = np.concatenate([pre[:, : 2 * n], pre[:, 3 * n :]], axis=1)
            i, f, o = np.split(_run(self.gate_act, self._nodes["gate_act"], gates), 3, axis=1)
            cand = _run(self.cand_act, self._nodes["cand_act"], pre[:, 2 * n : 3 * n])
            c = self._sum([(f * c, a + self.c_type.frac_bits), (i * cand, 2 * a)], self.c_type)
            tanh_c = _run(self.cell_act, self._nodes["cell_act"], c)
            return self._sum([(o * tanh_c, 2 * a)], self.x_type), c
        r, z = np.split(_run(self.gate_act, self._nodes["gate_act"], pre[:, : 2 * n]), 2, axis=1)
        n_x, n_h = pre[:, 2 * n : 3 * n], pre[:, 3 * n :]
        n_pre = self._sum([(n_x, g), (r * n_h, a + g)], self.g_type)
        cand = _run(self.cand_act, self._nodes["cand_act"], n_pre)
        return self._sum([(((1 << a) - z) * cand, 2 * a), (z * h, a + xf)], self.x_type), None

    def _sum(self, terms: Sequence[tuple[np.ndarray, int]], to: FixedType) -> np.ndarray:
        """``requantize(sum(terms) -> to)``: each exact term (a product) with its fraction,
        shifted left to the largest fraction, summed exactly, rounded once."""
        frac = max(f for _, f in terms)
        total = np.zeros_like(terms[0][0])
        for value, f in terms:
            total = total + (value << (frac - f))
        return np.asarray(requantize(total, frac, to, self.rounding, self.overflow), np.int64)

    @cached_property
    def _nodes(self) -> dict[str, Node]:
        """The IR nodes the parts are interpreted as (their input and output types)."""
        n, rows = self.hidden_size, int(self.linear.weight.shape[0])
        x, g, a, c = self.x_type, self.g_type, self.a_type, self.c_type
        types = {"linear": ((self.input_size + n, x), (rows, g))}
        if self.cell == "rnn":
            types["cand_act"] = ((n, g), (n, x))
        else:
            assert a is not None
            gates = 3 if self.cell == "lstm" else 2
            types["gate_act"] = ((gates * n, g), (gates * n, a))
            types["cand_act"] = ((n, g), (n, a))
            if c is not None:
                types["cell_act"] = ((n, c), (n, a))
        return {
            name: Node(
                f"{self.cell}_{name}",
                getattr(self, name),
                (INPUT,),
                (TensorType((size_in,), t_in),),
                TensorType((size_out,), t_out),
            )
            for name, ((size_in, t_in), (size_out, t_out)) in types.items()
        }


def interpret_stack(
    layers: Sequence[RecurrentOp],
    x: np.ndarray,
    h0: np.ndarray | None = None,
    c0: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Stacked layers: ``x`` ``(batch, T, I)`` of the first layer's ``X``; layer ``k > 0``
    takes layer ``k-1``'s outputs, requantized from its ``X`` to its own (the identity for
    equal formats). ``h0``/``c0``: ``(layers, batch, H)`` or ``None``. Returns the last
    layer's outputs and the final ``h`` and ``c`` of every layer, ``(layers, batch, H)``
    (``c``: ``None`` but for LSTM).

    One op per layer, not one for the stack: each layer has its own weights, shape
    (``I + H`` or ``H + H`` columns), formats and state, and in hardware the layers run
    concurrently (layer ``k`` works on step ``t`` while layer ``k-1`` works on ``t + 1``),
    one graph node each, as every other layer of the library."""
    hs, cs = [], []
    value, t_in = np.asarray(x), layers[0].x_type
    for k, layer in enumerate(layers):
        if t_in != layer.x_type:
            if layer.x_type.frac_bits - t_in.frac_bits + t_in.total_bits > INT64_SAFE_BITS:
                raise ValueError(f"converting {t_in} to {layer.x_type} exceeds int64")
            value = requantize(
                value, t_in.frac_bits, layer.x_type, layer.rounding, layer.overflow
            ).astype(np.int64)
        value, h, c = layer.interpret_sequence(
            value, None if h0 is None else h0[k], None if c0 is None else c0[k]
        )
        t_in = layer.x_type
        hs.append(h)
        cs.append(c)
    c_n = None if cs[0] is None else np.stack([c for c in cs if c is not None])
    return value, np.stack(hs), c_n


def _run(op: LinearOp | Activation, node: Node, x: np.ndarray) -> np.ndarray:
    return np.asarray(op.interpret(node, [x])).astype(np.int64)


def _int64(values: np.ndarray, shape: tuple[int, ...], name: str) -> np.ndarray:
    array = np.asarray(values)
    if array.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, not {array.shape}")
    return array.astype(np.int64)


def unit_rows(cell: str, hidden: int) -> np.ndarray:
    """The rows of the gate matrix grouped by hidden unit, as the hardware computes them:
    the ``G`` gate rows of unit 0, then of unit 1, ... (PyTorch's order is gate-major)."""
    g = CELLS[cell]
    return np.array([k * hidden + j for j in range(hidden) for k in range(g)], dtype=np.int64)


def hardware_generics(
    op: RecurrentOp, steps: int, p_out: int = 1, last_only: bool = False
) -> dict[str, object]:
    """The generics of ``ec_recurrent`` for ``op`` over sequences of ``steps`` steps, the
    gate matrix ``p_out`` rows a beat (VHDL literals for the tables)."""
    from elasticai.creator.arithmetic import signed_width
    from elasticai.creator.vhdl.streams import vector_literal

    if steps < 1 or not 1 <= p_out <= op.linear.weight.shape[0]:
        raise ValueError(
            f"steps and p_out must be positive (p_out up to the rows), not {steps}, {p_out}"
        )
    x, g = op.x_type, op.g_type
    rows = unit_rows(op.cell, op.hidden_size)
    weight = np.asarray(op.linear.weight)[rows]
    bias = None if op.linear.bias is None else np.asarray(op.linear.bias)[rows]
    node = op._nodes["linear"]
    acc = signed_width(*op.linear.accumulator_range(node))
    w_bits = op.linear.w_type.total_bits
    b_bits = op.linear.b_type.total_bits if op.linear.b_type is not None else 1
    generics: dict[str, object] = {
        "CELL": {"lstm": 0, "gru": 1, "rnn": 2}[op.cell],
        "INPUTS": op.input_size,
        "HIDDEN": op.hidden_size,
        "STEPS": steps,
        "LAST_ONLY": "true" if last_only else "false",
        "X_WIDTH": x.total_bits,
        "G_WIDTH": g.total_bits,
        "L_W_WIDTH": w_bits,
        "L_B_WIDTH": b_bits,
        "L_ACC_WIDTH": acc,
        "L_P_OUT": p_out,
        "L_HAS_BIAS": "true" if bias is not None else "false",
        "L_BIAS_SHIFT": op.linear.bias_shift(x),
        "L_OUT_SHIFT": op.linear.acc_frac_bits(x) - g.frac_bits,
        "L_WEIGHTS": vector_literal(weight, w_bits),
        "L_BIASES": vector_literal(bias if bias is not None else np.zeros(1, np.int64), b_bits),
        "ROUNDING": op.rounding.code,
        "OVERFLOW": op.overflow.code,
    }
    functions: list[tuple[str, Activation | None, FixedType]] = [
        ("F0", op.gate_act, g),
        ("F1", op.cand_act, g),
        ("F2", op.cell_act, op.c_type or g),
    ]
    pieces: list[tuple[str, PiecewiseOp, FixedType]] = []
    for name, f, t in functions:
        if f is None:
            continue
        if not isinstance(f, PiecewiseOp):
            raise ValueError(
                f"{op.cell}: the hard activations have no hardware yet ({name}: {f.kind}); "
                "use the piecewise sigmoid and tanh"
            )
        pieces.append((name, f, t))
    shift = pieces[0][1].shift
    for _, f, _ in pieces:
        if (f.rounding, f.overflow, f.shift) != (op.rounding, op.overflow, shift):
            raise ValueError(
                f"{op.cell}: the activations must round and overflow as the layer and share "
                "one slope shift"
            )
    values = {
        key: [v for _, f, _ in pieces for v in getattr(f, key)] for key in ("bases", "muls", "adds")
    }
    widths = {key: signed_width(min(v), max(v)) for key, v in values.items()}
    generics.update(
        PW_B=widths["bases"],
        PW_M=widths["muls"],
        PW_A=widths["adds"],
        PW_SHIFT=shift,
    )
    for name, f, t in pieces:
        generics[f"{name}_SEGMENTS"] = len(f.breaks)
        generics[f"{name}_BREAKS"] = vector_literal(np.array(f.breaks, dtype=object), t.total_bits)
        for key, generic in (("bases", "BASES"), ("muls", "MULS"), ("adds", "ADDS")):
            generics[f"{name}_{generic}"] = vector_literal(
                np.array(getattr(f, key), dtype=object), widths[key]
            )
    if op.cell == "rnn":
        return generics
    assert op.a_type is not None
    a = op.a_type.frac_bits
    generics.update(A_WIDTH=op.a_type.total_bits, A_FRAC=a)
    if op.cell == "lstm":
        assert op.c_type is not None
        c = op.c_type.frac_bits
        frac = max(a + c, 2 * a)
        generics.update(
            C_WIDTH=op.c_type.total_bits,
            SH_FC=frac - (a + c),
            SH_IG=frac - 2 * a,
            SH_C=frac - c,
            SH_H=2 * a - x.frac_bits,
        )
    else:
        frac = max(2 * a, a + x.frac_bits)
        generics.update(SH_ZN=frac - 2 * a, SH_ZH=frac - (a + x.frac_bits), SH_H=frac - x.frac_bits)
    return generics
