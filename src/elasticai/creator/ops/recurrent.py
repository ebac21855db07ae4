"""``recurrent``: one layer of an LSTM, a GRU or an Elman RNN over a whole sequence.

The integer semantics of ``nn.fixed_point.LSTM``, ``GRU`` and ``RNN`` (their forward
runs ``interpret_stack``), written once for the hardware to implement. Not an IR op yet:
not in ``ops.OPS``, no lowering, timing or cost (issue 11 brings them, from this spec).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from elasticai.creator.analysis.resources import dsps_per_multiplier
from elasticai.creator.arithmetic import (
    INT64_SAFE_BITS,
    FixedType,
    Overflow,
    Rounding,
    requantize,
    shift_round,
)
from elasticai.creator.ir import readers as r
from elasticai.creator.ir.graph import INPUT, Node
from elasticai.creator.ir.op import NEVER, Flow, OpDef, beats, candidates, latest_in_order
from elasticai.creator.ir.types import TensorType
from elasticai.creator.ops.linear import FOLDED_PIPELINE, LinearOp
from elasticai.creator.ops.piecewise import PiecewiseOp
from elasticai.creator.ops.pointwise import PointwiseOp

if TYPE_CHECKING:
    from elasticai.creator.vhdl.streams import Stream
    from elasticai.creator.vhdl.syntax import Constant, Instance

__all__ = ["RecurrentOp", "RecurrentLayerOp", "Activation", "CELLS", "interpret_stack"]

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


def as_piecewise(p: PointwiseOp, t_in: FixedType, slope_bits: int = 16) -> PiecewiseOp:
    """A monotone ``PointwiseOp`` (hard sigmoid, hard tanh, ReLU: ``mul >= 0``, ``shift <=
    slope_bits``) as the ``PiecewiseOp`` of the same integers: the constant ``low`` below
    the first input whose rounded value passes it, the line, the constant ``high`` from
    the first input whose rounded value reaches it. ``ValueError`` where it cannot be."""
    if p.mul < 0 or p.shift > slope_bits or p.shift < 0:
        raise ValueError(
            f"a {p.kind} with mul {p.mul} and shift {p.shift} has no piecewise form here"
        )
    scale = 1 << (slope_bits - p.shift)

    def line(x: int) -> int:
        return int(shift_round(np.array([x * p.mul + p.add], dtype=object), p.shift, p.rounding)[0])

    def first_at_least(level: int) -> int:
        """The smallest input whose line value is at least ``level`` (monotone)."""
        lo, hi = t_in.min_int, t_in.max_int + 1
        while lo < hi:
            mid = (lo + hi) // 2
            if line(mid) >= level:
                hi = mid
            else:
                lo = mid + 1
        return lo

    start = first_at_least(p.low + 1)  # below it the clamp gives low
    end = first_at_least(p.high)  # from it the clamp gives high
    breaks, bases, muls, adds = [t_in.min_int], [0], [0], [p.low << slope_bits]
    if start <= t_in.max_int and start < end:
        breaks.append(start)
        bases.append(0)
        muls.append(p.mul * scale)
        adds.append(p.add * scale)
    if end <= t_in.max_int:
        breaks.append(max(end, t_in.min_int))
        bases.append(0)
        muls.append(0)
        adds.append(p.high << slope_bits)
    if len(breaks) > 1 and breaks[1] == t_in.min_int:  # the first segment is empty
        breaks, bases, muls, adds = breaks[1:], bases[1:], muls[1:], adds[1:]
        breaks[0] = t_in.min_int
    return PiecewiseOp(
        p.kind,
        tuple(breaks),
        tuple(bases),
        tuple(muls),
        tuple(adds),
        slope_bits,
        p.rounding,
        p.overflow,
    )


def evaluated_functions(op: RecurrentOp) -> list[tuple[str, PiecewiseOp, FixedType]]:
    """The functions ``ec_rnn_cell``'s evaluation unit computes, as ``(generic prefix,
    piecewise constants, input format)``: ``F0`` the gates' (LSTM, GRU), ``F1`` the
    candidate's (every cell), ``F2`` the cell state's (LSTM); hard forms as their exact
    piecewise equivalent. ``ValueError`` where they do not round and overflow as the layer
    or do not share one slope shift."""
    functions: list[tuple[str, Activation | None, FixedType]] = [
        ("F0", op.gate_act, op.g_type),
        ("F1", op.cand_act, op.g_type),
        ("F2", op.cell_act, op.c_type or op.g_type),
    ]
    shifts = {f.shift for _, f, _ in functions if isinstance(f, PiecewiseOp)}
    slope_bits = max(shifts, default=16)
    pieces: list[tuple[str, PiecewiseOp, FixedType]] = []
    for name, f, t in functions:
        if f is None:
            continue
        if not isinstance(f, PiecewiseOp):  # hard sigmoid, hard tanh, ReLU
            f = as_piecewise(f, t, slope_bits)
        pieces.append((name, f, t))
    shift = pieces[0][1].shift
    for _, f, _ in pieces:
        if (f.rounding, f.overflow, f.shift) != (op.rounding, op.overflow, shift):
            raise ValueError(
                f"{op.cell}: the activations must round and overflow as the layer and share "
                "one slope shift"
            )
    return pieces


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
    linear, _ = inner_linear(op, p_out)
    weight, bias = np.asarray(linear.weight), linear.bias
    w_bits = linear.w_type.total_bits
    b_bits = linear.b_type.total_bits if linear.b_type is not None else 1
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
        "L_ACC_WIDTH": linear.acc_bits,
        "L_P_OUT": p_out,
        "L_HAS_BIAS": "true" if bias is not None else "false",
        "L_BIAS_SHIFT": op.linear.bias_shift(x),
        "L_OUT_SHIFT": op.linear.acc_frac_bits(x) - g.frac_bits,
        "L_WEIGHTS": vector_literal(weight, w_bits),
        "L_BIASES": vector_literal(
            np.asarray(bias) if bias is not None else np.zeros(1, np.int64), b_bits
        ),
        "ROUNDING": op.rounding.code,
        "OVERFLOW": op.overflow.code,
    }
    pieces = evaluated_functions(op)
    shift = pieces[0][1].shift
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


def inner_linear(op: RecurrentOp, p_out: int) -> tuple[LinearOp, Node]:
    """The gate unit as ``ec_recurrent`` builds it: rows grouped by hidden unit, one
    input element a beat, ``p_out`` rows a beat, the accumulator settled."""
    from dataclasses import replace

    from elasticai.creator.arithmetic import signed_width

    rows = unit_rows(op.cell, op.hidden_size)
    node = op._nodes["linear"]
    bias = None if op.linear.bias is None else np.asarray(op.linear.bias)[rows]
    linear = replace(op.linear, weight=np.asarray(op.linear.weight)[rows], bias=bias)
    acc = signed_width(*linear.accumulator_range(node))
    return replace(linear, p_in=1, p_out=p_out, acc_bits=acc), node


#: Cycles from the issue of a vector's last step in ``ec_linear`` to the first edge its
#: input bank takes a beat of another vector.
BANK_DELAY = 1

#: ``ec_rnn_cell``: cycles from issuing a job to its evaluation unit (segment and its copy,
#: table read and its copy, multiply, add, round, overflow) to its result, and from choosing
#: a product's operands to the product (operand and product registers).
CELL_EVALUATION, CELL_PRODUCT = 8, 2

#: Cycles of ``ec_rnn_cell`` from taking a unit's last gate to its output handshake. A
#: gate's job is issued two cycles after its beat is taken (two input registers). LSTM and
#: GRU alike: the last tick of the schedule is 2 evaluations + 2 products + 5 (those two
#: cycles, sum, round, overflow) after the last gate, and the handshake one later; an RNN:
#: one evaluation and those two cycles.
CELL_INPUT = 2
CELL_TAIL = {
    "lstm": 2 * CELL_EVALUATION + 2 * CELL_PRODUCT + CELL_INPUT + 4,
    "gru": 2 * CELL_EVALUATION + 2 * CELL_PRODUCT + CELL_INPUT + 4,
    "rnn": CELL_EVALUATION + CELL_INPUT,
}


def recurrent_flow(
    op: RecurrentOp, steps: int, p_out: int, last_only: bool, arrivals: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """When ``ec_recurrent`` takes each input beat and when each output beat leaves, for
    input beats (one element each, sequence after sequence) arriving at ``arrivals``, the
    output always ready: a cycle-by-cycle account of the merge, ``ec_linear``
    (``LinearOp.timing``), the gate buffer and the cell, step by step through the
    feedback. Returns ``(taken, out)``."""
    linear, node = inner_linear(op, p_out)
    n_in, hidden, gates = op.input_size, op.hidden_size, CELLS[op.cell]
    per_step = beats(gates * hidden, p_out)
    arrivals = np.asarray(arrivals, dtype=np.int64)
    sequences = len(arrivals) // (steps * n_in)
    taken = np.zeros(len(arrivals), dtype=np.int64)
    out: list[int] = []
    z: list[int] = []  # handshakes into ec_linear, vector after vector
    last_z = -(1 << 40)
    cell_free = -(1 << 40)  # the first edge the cell may take a gate at
    fresh = np.zeros(hidden, dtype=np.int64)  # h of the step before: first edge to send it
    x_index = 0
    bank_free: list[int] = []  # per vector: the first edge its input bank takes another
    for _ in range(sequences):
        for t in range(steps):
            if len(bank_free) >= 2:  # ec_linear has two banks
                last_z = max(last_z, bank_free[-2] - 1)
            for _k in range(n_in):
                last_z = max(int(arrivals[x_index]), last_z + 1)
                taken[x_index] = last_z
                z.append(last_z)
                x_index += 1
            for j in range(hidden):
                last_z = last_z + 1 if t == 0 else max(int(fresh[j]), last_z + 1)
                z.append(last_z)
            gate_beats = linear.timing(node, [np.array(z, dtype=np.int64)], [1]).out
            step_beats = gate_beats[-per_step:]
            bank_free.append(int(step_beats[-1]) - FOLDED_PIPELINE + BANK_DELAY)
            for j in range(hidden):
                for g in range(gates):
                    row = j * gates + g
                    cell_free = max(int(step_beats[row // p_out]) + 1, cell_free) + 1
                sent = cell_free - 1 + CELL_TAIL[op.cell]
                cell_free = sent + 1
                fresh[j] = sent + 1
                if not last_only or t == steps - 1:
                    out.append(sent)
    return taken, np.array(out, dtype=np.int64)


# --- the IR op ------------------------------------------------------------------------

#: Multipliers of ``ec_rnn_cell`` besides the gate unit's (products and activations).
CELL_MULTIPLIERS = {"lstm": 6, "gru": 6, "rnn": 1}


@dataclass(frozen=True, eq=False)
class RecurrentLayerOp(OpDef):
    """One recurrent layer in a graph: sequences of ``steps`` steps (a value of shape
    ``(steps, input_size)``, one step after the other) -> the hidden state of every step
    (``(steps, hidden_size)``), or with ``last_only`` of the last step (``(hidden_size,)``).
    The integer semantics are ``layer`` (``RecurrentOp``), with the state starting from
    zero in every sequence. Hardware: ``ec_recurrent`` with the gate matrix ``p_out`` rows
    a beat (the planner's knob for it); one element a beat in and out."""

    name: ClassVar[str] = "recurrent"
    entities: ClassVar[tuple[str, ...]] = ("ec_linear.vhd", "ec_rnn_cell.vhd", "ec_recurrent.vhd")
    tied: ClassVar[bool] = False

    layer: RecurrentOp
    steps: int
    last_only: bool = False
    p_out: int = 0
    lanes: int = 0

    @property
    def kind(self) -> str:
        return self.layer.cell

    def check(self, node: Node, settled: bool) -> None:
        super().check(node, settled)
        layer = self.layer
        x = layer.x_type
        wanted_in = TensorType((self.steps, layer.input_size), x)
        out_shape = (layer.hidden_size,) if self.last_only else (self.steps, layer.hidden_size)
        if node.input_type != wanted_in:
            raise ValueError(f"{node.where}: takes {wanted_in}, not {node.input_type}")
        if node.output_type != TensorType(out_shape, x):
            raise ValueError(f"{node.where}: gives {out_shape} of {x}, not {node.output_type}")
        if settled and not 1 <= self.p_out <= layer.linear.weight.shape[0]:
            raise ValueError(f"{node.where}: p_out must be 1 to the gate rows, not {self.p_out}")

    def interpret(self, node: Node, xs: Sequence[np.ndarray]) -> np.ndarray:
        (x,) = xs
        x = np.asarray(x).reshape(len(x), self.steps, self.layer.input_size)
        outputs, h_n, _ = self.layer.interpret_sequence(x)
        return h_n if self.last_only else outputs.reshape(len(x), -1)

    # --- parallelism ------------------------------------------------------------------

    def lane_domain(self, node: Node, stream: int, graph: Any) -> list[int] | None:
        return [1]

    def inner_domain(self, node: Node) -> list[int] | None:
        """The rows of the gate matrix a beat may carry (``p_out``)."""
        return candidates(int(self.layer.linear.weight.shape[0]))

    def lane_cost(
        self, node: Node, lanes_in: Sequence[int], lanes_out: int
    ) -> tuple[int, int] | None:
        return self.inner_cost(node, lanes_in, lanes_out, self.p_out or 1)

    def inner_cost(
        self, node: Node, lanes_in: Sequence[int], lanes_out: int, inner: int
    ) -> tuple[int, int] | None:
        if list(lanes_in) != [1] or lanes_out != 1:
            return None
        return inner + CELL_MULTIPLIERS[self.layer.cell], _interval(self, inner)

    def settle(self, node: Node, lanes_in: Sequence[int], lanes_out: int) -> RecurrentLayerOp:
        return self.settle_inner(node, lanes_in, lanes_out, self.p_out or 1)

    def settle_inner(
        self, node: Node, lanes_in: Sequence[int], lanes_out: int, inner: int
    ) -> RecurrentLayerOp:
        from dataclasses import replace

        return replace(self, lanes=lanes_out, p_out=inner)

    def cycles(self, node: Node, lanes_in: Sequence[int]) -> int:
        return _interval(self, self.p_out or 1)

    # --- timing and cost --------------------------------------------------------------

    def timing(self, node: Node, arrivals: Sequence[np.ndarray], lanes_in: Sequence[int]) -> Flow:
        """``recurrent_flow``: the merge, the gate unit, its buffer and the cell, step by
        step through the feedback."""
        taken, out = recurrent_flow(self.layer, self.steps, self.p_out, self.last_only, arrivals[0])
        return Flow(out, [taken])

    def latest(self, node: Node, due: np.ndarray, lanes_in: Sequence[int]) -> list[np.ndarray]:
        """A bound, not the tightest: with inputs that arrive at once the outputs leave at
        ``out``; an input beat arriving ``s`` cycles later delays no output by more than
        ``s`` (the flow is a max-plus system), so every beat may come ``min(due - out)``
        cycles after it is taken then."""
        sequences = len(due) // (
            self.steps * self.layer.hidden_size if not self.last_only else self.layer.hidden_size
        )
        eager = np.zeros(sequences * self.steps * self.layer.input_size, dtype=np.int64)
        taken, out = recurrent_flow(self.layer, self.steps, self.p_out, self.last_only, eager)
        slack = int(np.min(np.asarray(due) - out)) if len(out) else 0
        return [latest_in_order(np.minimum(taken + slack, NEVER))]

    def estimate(self, node: Node, lanes_in: Sequence[int]) -> dict[str, int]:
        """The gate unit (``ec_linear``'s estimate), the cell (its multipliers, the
        activation tables, the state) and the buffers (two steps of gate beats, one step
        of h)."""
        linear, inner = inner_linear(self.layer, self.p_out or 1)
        cost = dict(linear.estimate(inner, [1]))
        layer = self.layer
        hidden, gates = layer.hidden_size, CELLS[layer.cell]
        x_bits, g_bits = layer.x_type.total_bits, layer.g_type.total_bits
        a_bits = layer.a_type.total_bits if layer.a_type else x_bits
        s_bits = layer.c_type.total_bits if layer.c_type else x_bits
        ring = 3 * beats(gates * hidden, self.p_out or 1) * (self.p_out or 1) * g_bits
        tables = _table_luts(self)
        products = _cell_products(self)
        # the gate ring and the h buffer sit in distributed RAM (64 bits a LUT)
        gated = layer.cell != "rnn"  # gate registers, a state per unit, the two-step cell
        cost["lut"] += tables + ring // 16 + hidden * x_bits // 2
        cost["lut"] += 120 + 16 * a_bits if gated else 40
        cost["lut"] += sum(a * b // 2 for a, b in products if not dsps_per_multiplier(a, b))
        cost["ff"] += 40 + hidden * x_bits + (4 * a_bits + hidden * s_bits if gated else 0)
        cost["dsp"] += sum(dsps_per_multiplier(a, b) for a, b in products)
        cost["carry"] = cost.get("carry", 0) + len(products) * 4
        return cost

    # --- hardware ---------------------------------------------------------------------

    def lower(
        self, node: Node, sources: Sequence[Stream], sink: Stream
    ) -> tuple[list[Constant], list[Instance]]:
        from elasticai.creator.vhdl.streams import instance, slv
        from elasticai.creator.vhdl.syntax import Constant

        generics = hardware_generics(self.layer, self.steps, self.p_out, self.last_only)
        prefix = node.name.upper()
        constants = []
        for key, value in list(generics.items()):
            if isinstance(value, str) and value.startswith('"'):
                bits = sum(len(chunk.strip().strip('"')) for chunk in value.split("&"))
                constants.append(Constant(f"{prefix}_{key}", slv(bits), value))
                generics[key] = f"{prefix}_{key}"
        return constants, [
            instance(node.name, "ec_recurrent", generics, [("s_axis", sources[0])], sink)
        ]

    # --- serialization ----------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        layer = self.layer
        acts = {
            key: None if f is None else {"op": f.name, **f.to_json()}
            for key, f in (
                ("gate_act", layer.gate_act),
                ("cand_act", layer.cand_act),
                ("cell_act", layer.cell_act),
            )
        }
        formats = {
            key: None if t is None else r.fixed_json(t)
            for key, t in (
                ("x_type", layer.x_type),
                ("g_type", layer.g_type),
                ("a_type", layer.a_type),
                ("c_type", layer.c_type),
            )
        }
        return {
            "cell": layer.cell,
            "linear": layer.linear.to_json(),
            **formats,
            **acts,
            "rounding": layer.rounding.value,
            "overflow": layer.overflow.value,
            "steps": int(self.steps),
            "last_only": bool(self.last_only),
            "p_out": int(self.p_out),
            "lanes": int(self.lanes),
        }

    @classmethod
    def from_json(cls, value: Any, where: str, node: dict[str, Any]) -> RecurrentLayerOp:
        from elasticai.creator.ops.piecewise import PiecewiseOp
        from elasticai.creator.ops.pointwise import PointwiseOp

        read = r.fields(value, where, _SCHEMA)
        x = read["x_type"]
        g = read["g_type"]
        steps = read["steps"]
        cell = read["cell"]
        if cell not in CELLS:
            raise r.wrong(f"{where}.cell", f"one of {', '.join(CELLS)}", cell)
        if not isinstance(read["linear"], dict) or "weight" not in read["linear"]:
            raise r.wrong(f"{where}.linear", "a linear op", read["linear"])
        rows = len(read["linear"]["weight"])
        columns = len(read["linear"]["weight"][0]) if rows else 0
        linear = LinearOp.from_json(
            read["linear"],
            f"{where}.linear",
            {"input_types": [TensorType((columns,), x)], "output_type": TensorType((rows,), g)},
        )
        acts: dict[str, Activation | None] = {}
        for key in ("gate_act", "cand_act", "cell_act"):
            spec = read[key]
            if spec is None:
                acts[key] = None
                continue
            if not isinstance(spec, dict) or spec.get("op") not in ("piecewise", "pointwise"):
                raise r.wrong(f"{where}.{key}", "a piecewise or pointwise op", spec)
            rest = {k: v for k, v in spec.items() if k != "op"}
            kind = PiecewiseOp if spec["op"] == "piecewise" else PointwiseOp
            acts[key] = kind.from_json(rest, f"{where}.{key}", {})
        if acts["cand_act"] is None:
            raise r.wrong(f"{where}.cand_act", "an activation", None)
        try:
            layer = RecurrentOp(
                cell,
                linear,
                x,
                g,
                acts["cand_act"],
                acts["gate_act"],
                read["a_type"],
                acts["cell_act"],
                read["c_type"],
                read["rounding"],
                read["overflow"],
            )
        except ValueError as error:
            raise r.wrong(where, str(error), cell) from None
        return cls(layer, steps, read["last_only"], read["p_out"], read["lanes"])


_SCHEMA: dict[str, r.Reader] = {
    "cell": r.identifier,
    "linear": lambda value, where: value,
    "x_type": r.fixed,
    "g_type": r.fixed,
    "a_type": r.optional(r.fixed),
    "c_type": r.optional(r.fixed),
    "gate_act": lambda value, where: value,
    "cand_act": lambda value, where: value,
    "cell_act": lambda value, where: value,
    "rounding": r.ROUNDING,
    "overflow": r.OVERFLOW,
    "steps": r.integer(1),
    "last_only": r.boolean,
    "p_out": r.integer(0),
    "lanes": r.integer(0),
}


def _table_luts(op: RecurrentLayerOp) -> int:
    """LUTs of ``ec_rnn_cell``'s evaluation unit's tables: the constants of every segment
    (a ROM, about 48 bits a LUT) and the segment of an input (a ROM of every input value up
    to 9 bits, else a comparator per break)."""
    from elasticai.creator.arithmetic import signed_width

    functions = evaluated_functions(op.layer)
    pieces = [f for _, f, _ in functions]
    segments = max(len(p.breaks) for p in pieces)
    width = sum(
        signed_width(
            min(min(getattr(p, k)) for p in pieces), max(max(getattr(p, k)) for p in pieces)
        )
        for k in ("bases", "muls", "adds")
    )
    constants = 3 * segments * width // 48
    ew = max(t.total_bits for _, _, t in functions)
    if ew <= 9:
        return constants + 3 * 2**ew * max(1, (segments - 1).bit_length()) // 48
    return constants + sum(len(p.breaks) * ew // 2 for p in pieces)


def _cell_products(op: RecurrentLayerOp) -> list[tuple[int, int]]:
    """The operand widths of ``ec_rnn_cell``'s multipliers: the one of its evaluation unit
    (``(x - base) * mul``, shared by every function) and, but for the RNN, the one all
    products of the state update share."""
    from elasticai.creator.arithmetic import signed_width

    layer = op.layer
    g, x = layer.g_type.total_bits, layer.x_type.total_bits
    a = layer.a_type.total_bits if layer.a_type else x
    c = layer.c_type.total_bits if layer.c_type else 2
    pieces = [f for _, f, _ in evaluated_functions(layer)]
    bases = signed_width(min(min(p.bases) for p in pieces), max(max(p.bases) for p in pieces))
    muls = signed_width(min(min(p.muls) for p in pieces), max(max(p.muls) for p in pieces))
    products = [(max(g, c, bases) + 1, muls)]
    if layer.cell != "rnn":
        products.append((a + 2, max(a, c, g, x)))
    return products


@lru_cache(maxsize=1 << 12)
def _interval(op: RecurrentLayerOp, p: int) -> int:
    """Cycles between sequences that follow each other at once (the op's share of the
    initiation interval) with the gate matrix ``p`` rows a beat (cached: the planner asks
    for every ``p`` at every interval it tries)."""
    eager = np.zeros(2 * op.steps * op.layer.input_size, dtype=np.int64)
    _, out = recurrent_flow(op.layer, op.steps, p, op.last_only, eager)
    per_sequence = len(out) // 2
    return int(out[-1] - out[per_sequence - 1])
