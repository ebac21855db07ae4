"""``linear``: ``W x + b`` with an exact accumulator and one rounding at the output.

Linear layers, convolutions (after a ``window``) and batch norms computed on their
own all lower to this op. A ``linear`` whose input has more elements than its weight
has columns applies to every row (position of a map): ``y[r, o] = ...x[r, i]...``.
Hardware: ``ec_linear`` (weights in a ROM, ``p_in x p_out`` multiply-accumulate units)
or, fully parallel, ``ec_linear_unrolled`` (constant shift-adds, no multipliers).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from elasticai.creator.analysis.resources import dsps_per_multiplier, rom
from elasticai.creator.arithmetic import Overflow, Rounding, clamp, int_array, requantize
from elasticai.creator.ir import readers as r
from elasticai.creator.ir.op import (
    NEVER,
    Flow,
    OpDef,
    beats,
    candidates,
    latest_in_order,
)
from elasticai.creator.ir.types import FixedType
from elasticai.creator.ops import adder_graph
from elasticai.creator.vhdl.streams import (
    instance,
    integer_vector_literal,
    signed_generic,
    slv,
    vector_literal,
)
from elasticai.creator.vhdl.syntax import Constant, Instance

if TYPE_CHECKING:
    from elasticai.creator.ir.graph import Graph, Node
    from elasticai.creator.vhdl.streams import Stream

__all__ = [
    "LinearOp",
    "FOLDED_PIPELINE",
    "folded_pipeline",
    "SPARSE_PLANNING_LIMIT",
    "UNROLLED_LEVELS",
    "unrolled_stages",
]

#: Cycles from issuing a folded Linear's last step of an output block to its output
#: handshake with up to two inputs a beat: memory read, two operand registers, product
#: register, accumulator, shift-and-round register, overflow register (the comparisons
#: with the clamp bounds beside it), output register (clamp). Wider beats add their adder
#: tree's register stages: :func:`folded_pipeline`.
FOLDED_PIPELINE = 8


def folded_pipeline(p_in: int) -> int:
    """Cycles from issuing the last step of an output block of ``ec_linear`` with ``p_in``
    inputs a beat to its output handshake: ``FOLDED_PIPELINE`` plus its adder tree's
    register stages (:func:`tree_terms`)."""
    return FOLDED_PIPELINE + len(tree_terms(p_in))


def tree_terms(p_in: int) -> list[int]:
    """Terms per output after each register stage of ``ec_linear``'s adder tree with
    ``p_in`` inputs a beat, until at most two are left for its accumulator: the first stage
    adds pairs of products (one adder level behind the multipliers; with an odd count the
    last group is three), the others four terms into one."""
    terms, after = max(1, p_in), list[int]()
    while terms > 2:
        terms = -(-terms // 4) if after else terms // 2
        after.append(terms)
    return after


#: Weights up to which the planner counts the zero blocks a layer skips for every lane
#: option; larger layers are planned as dense (their hardware is then faster than planned).
SPARSE_PLANNING_LIMIT = 1 << 16

#: Adder levels between two registers of a fully unrolled layer (the output logic counts
#: as two: its comparisons with the rounding, then its selection).
UNROLLED_LEVELS = 2

_GRAPHS: dict[tuple[Any, ...], adder_graph.AdderGraph] = {}


@dataclass(frozen=True, eq=False)
class LinearOp(OpDef):
    """Integer weights ``(out, in)`` of format ``w_type``, bias of ``b_type``.

    ``y[o] = clamp(requantize(sum_i w[o,i] * x[i] + b[o] * 2**bias_shift, acc_frac -> out),
    low, high)``; the clamp only where a ReLU or HardTanh was fused in (``low``/``high``).
    ``acc_bits`` is settled by ``passes.infer_accumulator``; ``p_in``/``p_out``
    (elements per input/output beat, i.e. multipliers per output and outputs in
    parallel) and ``stages`` (0: folded; >= 1: unrolled, register levels) by
    ``passes.choose_parallelism``.
    """

    name: ClassVar[str] = "linear"
    entities: ClassVar[tuple[str, ...]] = ("ec_linear.vhd", "ec_skid.vhd", "ec_linear_unrolled.vhd")
    tied: ClassVar[bool] = False

    weight: np.ndarray
    bias: np.ndarray | None
    w_type: FixedType
    b_type: FixedType | None
    rounding: Rounding = Rounding.HALF_EVEN
    overflow: Overflow = Overflow.SATURATE
    acc_bits: int = 0
    p_in: int = 0  # 0: not fixed yet
    p_out: int = 0
    low: int | None = None  # a clamp fused into the output (ReLU, HardTanh); None: none
    high: int | None = None
    stages: int = 0

    @property
    def lanes(self) -> int:
        return self.p_out

    # --- arithmetic ---------------------------------------------------------------

    def acc_frac_bits(self, x: FixedType) -> int:
        """Fractional bits of the products and the accumulator."""
        return x.frac_bits + self.w_type.frac_bits

    def bias_shift(self, x: FixedType) -> int:
        """Left shift that aligns the bias to the accumulator's fraction."""
        return 0 if self.b_type is None else self.acc_frac_bits(x) - self.b_type.frac_bits

    def macs(self) -> int:
        return int(self.weight.size)

    def rows(self, node: Node) -> int:
        """Vectors per sample: the positions of a map (1 for a vector)."""
        return node.input_type.size // self.weight.shape[1]

    def interpret(self, node: Node, xs: Sequence[np.ndarray]) -> np.ndarray:
        """``y[o] = clamp(requantize(sum_i w[o,i] * x[i] + b[o] * 2**bias_shift,
        acc_frac -> out), low, high)`` (the clamp only where a ReLU or HardTanh was fused in).

        The sum is exact: in ``float64`` (BLAS) where no partial sum can reach 2**52,
        else in ``int64`` or Python ints; the accumulator has ``x.frac_bits +
        w.frac_bits`` fractional bits.
        """
        (x,) = xs
        x_type = node.input_type.dtype
        out_features, in_features = self.weight.shape
        batch = x.shape[0]
        rows = np.asarray(x).reshape(-1, in_features)  # every position of a map is one row
        wide = x_type.total_bits + self.w_type.total_bits + max(1, in_features).bit_length() + 1
        if wide <= 52 and self.weight.dtype != object and rows.dtype != object:
            acc = (rows.astype(np.float64) @ self.weight.T.astype(np.float64)).astype(np.int64)
        else:
            acc = int_array(rows, wide) @ int_array(self.weight, wide).T
        if self.bias is not None:
            bias_wide = wide + max(0, self.bias_shift(x_type)) + 1
            acc = int_array(acc, bias_wide) + (
                int_array(self.bias, bias_wide) << self.bias_shift(x_type)
            )
        out = node.output_type.dtype
        y = requantize(acc, self.acc_frac_bits(x_type), out, self.rounding, self.overflow)
        if self.low is not None and self.high is not None:
            y = clamp(y, self.low, self.high)
        return y.reshape(batch, -1)

    def accumulator_range(self, node: Node) -> tuple[int, int]:
        """Smallest and largest value the accumulator (or any partial sum) can take.

        Every product ``w * x`` lies in ``[min(w*x_min, w*x_max), max(...)]`` and every
        such interval contains 0, so any partial sum, with or without the bias, lies
        within ``[min(0, b) + sum(lows), max(0, b) + sum(highs)]`` for the worst output.
        """
        x_type = node.input_type.dtype
        w = self.weight.astype(object)
        a, b = w * x_type.min_int, w * x_type.max_int
        lows = np.minimum(a, b).sum(axis=1)
        highs = np.maximum(a, b).sum(axis=1)
        if self.bias is not None:
            bias = self.bias.astype(object) * (1 << self.bias_shift(x_type))
            lows = lows + np.minimum(bias, 0)
            highs = highs + np.maximum(bias, 0)
        return int(lows.min()), int(highs.max())

    # --- structure ----------------------------------------------------------------

    def check(self, node: Node, settled: bool) -> None:
        where = node.where
        out_features, in_features = self.weight.shape
        shape_in, shape_out = node.input_type.shape, node.output_type.shape
        if (
            shape_in[-1] != in_features
            or shape_out[-1] != out_features
            or shape_in[:-1] != shape_out[:-1]
        ):
            raise ValueError(f"{where}: weight shape {self.weight.shape} does not fit its tensors")
        if self.b_type is not None and self.bias_shift(node.input_type.dtype) < 0:
            raise ValueError(f"{where}: bias has more fractional bits than the accumulator")
        if settled and self.acc_bits < 1:
            raise ValueError(f"{where}: accumulator width not settled ({self.acc_bits})")
        if settled and min(self.p_in, self.p_out) < 1:
            raise ValueError(
                f"{where}: parallelism must be at least 1, not {self.p_in}x{self.p_out}"
            )

    # --- parallelism --------------------------------------------------------------

    def blocks(self, p_in: int, p_out: int) -> np.ndarray:
        """``(ceil(out/p_out), ceil(in/p_in))``: which blocks of ``p_out x p_in`` weights
        a folded layer visits: those with a non-zero weight, and the first block of a
        block row that has none (the bias still goes out). Zero blocks cost no cycle,
        where skipping saves at least a quarter of the blocks (``ec_linear``'s rule; else
        every block is visited)."""
        out_features, in_features = self.weight.shape
        no, ni = -(-out_features // p_out), -(-in_features // p_in)
        padded = np.zeros((no * p_out, ni * p_in), dtype=bool)
        padded[:out_features, :in_features] = self.weight != 0
        used: np.ndarray = np.asarray(padded.reshape(no, p_out, ni, p_in).any(axis=(1, 3)))
        used[~used.any(axis=1), 0] = True
        if 4 * used.sum() > 3 * used.size:
            used[:] = True
        return used

    def steps(self, p_in: int, p_out: int) -> int:
        """Cycles a folded layer spends on one vector (one position of a map)."""
        if np.all(self.weight != 0):
            return beats(self.weight.shape[0], p_out) * beats(self.weight.shape[1], p_in)
        return int(self.blocks(p_in, p_out).sum())

    def lane_domain(self, node: Node, stream: int, graph: Graph) -> list[int] | None:
        out_features, in_features = self.weight.shape
        rows = self.rows(node) > 1
        if stream == -1:
            # rows of a map stream whole: every row starts a beat
            fixed, n, whole = self.p_out, out_features, rows
        else:
            # a Window pads the last beat of every window, as the Linear reads it
            producer = graph.producers().get(node.inputs[0])
            pads_rows = producer is not None and producer.op.name == "window"
            fixed, n, whole = self.p_in, in_features, rows and not pads_rows
        options = [fixed] if fixed else candidates(n)
        return [lanes for lanes in options if not whole or n % lanes == 0]

    def lane_cost(
        self, node: Node, lanes_in: Sequence[int], lanes_out: int
    ) -> tuple[int, int] | None:
        (p_in,) = lanes_in
        if self.weight.size <= SPARSE_PLANNING_LIMIT:
            steps = _row_cycles(self, p_in, lanes_out)
        else:
            out_features, in_features = self.weight.shape
            steps = beats(in_features, p_in) * beats(out_features, lanes_out)
        return p_in * lanes_out, self.rows(node) * steps

    def accepts(self, node: Node, lanes_in: Sequence[int]) -> bool:
        return tuple(lanes_in) == (self.p_in,)

    def cycles(self, node: Node, lanes_in: Sequence[int]) -> int:
        if self.stages:
            return self.rows(node)
        return self.rows(node) * _row_cycles(self, self.p_in, self.p_out)

    def settle(self, node: Node, lanes_in: Sequence[int], lanes_out: int) -> LinearOp:
        (p_in,) = lanes_in
        unrolled = (p_in, lanes_out) == (self.weight.shape[1], self.weight.shape[0])
        settled = replace(self, p_in=p_in, p_out=lanes_out)
        return replace(settled, stages=unrolled_stages(settled, node) if unrolled else 0)

    def pipeline(self, node: Node, levels: int) -> LinearOp:
        if not self.stages:
            return self
        return replace(self, stages=self.adder_graph(node).stages_for(levels))

    # --- timing and cost ----------------------------------------------------------

    def timing(self, node: Node, arrivals: Sequence[np.ndarray], lanes_in: Sequence[int]) -> Flow:
        """Folded (``ec_linear``): one step per cycle over the visited blocks of every row,
        each no earlier than the cycle after its input beat arrived (a row's last step:
        after the whole row, as it frees the input bank); an output beat leaves
        ``folded_pipeline(p_in)`` cycles after its block's last step. Unrolled: each beat
        leaves ``stages`` cycles after it arrived."""
        (times,) = arrivals
        if self.stages:
            return Flow(times + self.stages)
        ob, ib, last = self._schedule()
        n_in, steps = beats(self.weight.shape[1], self.p_in), len(ob)
        rows = len(times) // n_in
        beat = times.reshape(rows, n_in)
        # step j issues at j + max over the steps i <= j of (their beat's arrival + 1 - i)
        # (only a beat's first reader counts; later readers of it come later), and no
        # earlier than the previous row allows
        read, first = np.unique(ib, return_index=True)
        order = np.argsort(first)
        early = np.maximum.accumulate(beat[:, read[order]] + 1 - first[order][None, :], axis=1)
        early = early[:, np.searchsorted(first[order], last, side="right") - 1]
        # the row's last step also waits for the whole row; rows follow each other
        row = np.arange(rows) * steps
        end = np.maximum(early[:, -1] + steps - 1, beat[:, -1] + 1)
        end = row + np.maximum.accumulate(end - row)
        issue = last[None, :] + np.maximum(early, np.append(-steps, end[:-1])[:, None] + 1)
        issue[:, -1] = end
        return Flow((issue + folded_pipeline(self.p_in)).ravel())

    def _schedule(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The steps of a row in order, as ``(output block, input block)``, and the index of
        each output block's last step."""
        ob, ib = np.nonzero(self.blocks(self.p_in, self.p_out))
        last = np.flatnonzero(np.append(ob[1:] != ob[:-1], True))
        return ob, ib, last

    def latest(self, node: Node, due: np.ndarray, lanes_in: Sequence[int]) -> list[np.ndarray]:
        """Unrolled: ``stages`` before. Folded: each step as late as its block's output
        beat allows (``folded_pipeline(p_in)`` before it), one per cycle; an input beat a cycle
        before the first step that reads it, and every beat of a row before its last step
        (which frees the bank)."""
        if self.stages:
            return [latest_in_order(due - self.stages)]
        ob, ib, last = self._schedule()
        n_in, steps = beats(self.weight.shape[1], self.p_in), len(ob)
        rows = len(due) // len(last)
        # step j of block b issues by j + room[b] (its block's output beat is due); the
        # blocks after it bound it too (one step per cycle)
        room = due.reshape(rows, len(last)) - folded_pipeline(self.p_in) - last[None, :]
        room = np.minimum.accumulate(room[:, ::-1], axis=1)[:, ::-1]
        # and the next row's first step, steps - j cycles after it
        row = np.arange(rows) * steps
        first = row + np.minimum.accumulate((room[:, 0] - row)[::-1])[::-1]
        room = np.minimum(room, (np.append(first[1:], NEVER) - steps)[:, None])
        read, step = np.unique(ib, return_index=True)
        latest = np.full((rows, n_in), NEVER, dtype=np.int64)
        latest[:, read] = step[None, :] + room[:, ob[step]] - 1
        latest[:, -1] = np.minimum(latest[:, -1], steps - 1 + room[:, -1] - 1)
        return [latest_in_order(latest.ravel())]

    def lockstep(self, node: Node) -> bool:
        return self.stages > 0  # ec_linear_unrolled: a beat per row, one clock enable

    def freezes(self, node: Node) -> bool:
        return self.stages == 0  # ec_linear: issue and pipeline on one clock enable

    def estimate(self, node: Node, lanes_in: Sequence[int]) -> dict[str, int]:
        return _unrolled_cost(node, self) if self.stages else _folded_cost(node, self)

    # --- hardware -----------------------------------------------------------------

    def lower(
        self, node: Node, sources: Sequence[Stream], sink: Stream
    ) -> tuple[list[Constant], list[Instance]]:
        out_features, in_features = self.weight.shape
        x_type, y_type = node.input_type.dtype, node.output_type.dtype
        prefix = node.name.upper()
        low = y_type.min_int if self.low is None else self.low
        high = y_type.max_int if self.high is None else self.high
        generics: dict[str, object] = {
            "IN_FEATURES": in_features,
            "OUT_FEATURES": out_features,
            "X_WIDTH": x_type.total_bits,
            "Y_WIDTH": y_type.total_bits,
            "OUT_SHIFT": self.acc_frac_bits(x_type) - y_type.frac_bits,
            "ROUNDING": self.rounding.code,
            "OVERFLOW": self.overflow.code,
            "OUT_LO": signed_generic(low),
            "OUT_HI": signed_generic(high),
        }
        if self.stages:  # every beat is a row; tlast passes through
            graph = self.adder_graph(node).pipelined(self.stages)
            values = np.array(self.constants(node), dtype=object) >> graph.const_shift
            constants = [
                Constant(
                    f"{prefix}_GRAPH", "integer_vector", integer_vector_literal(graph.program())
                ),
                Constant(
                    f"{prefix}_ROOTS",
                    "integer_vector",
                    integer_vector_literal(graph.roots.tolist()),
                ),
                Constant(
                    f"{prefix}_CONSTANTS",
                    slv(values.size * graph.const_bits),
                    vector_literal(values, graph.const_bits),
                ),
            ]
            entity = "ec_linear_unrolled"
            generics.update(
                C_WIDTH=graph.const_bits,
                CONSTANTS=f"{prefix}_CONSTANTS",
                GRAPH=f"{prefix}_GRAPH",
                ROOTS=f"{prefix}_ROOTS",
                STAGES=self.stages,
                SPLIT="true" if graph.split else "false",
            )
        else:
            b_width = self.b_type.total_bits if self.b_type is not None else 1
            biases = self.bias if self.bias is not None else np.zeros(1, dtype=np.int64)
            w_bits = self.w_type.total_bits
            constants = [
                Constant(
                    f"{prefix}_WEIGHTS",
                    slv(self.weight.size * w_bits),
                    vector_literal(self.weight, w_bits),
                ),
                Constant(
                    f"{prefix}_BIASES",
                    slv(biases.size * b_width),
                    vector_literal(biases, b_width),
                ),
            ]
            entity = "ec_linear"
            generics.update(
                W_WIDTH=w_bits,
                B_WIDTH=b_width,
                ACC_WIDTH=self.acc_bits,
                P_IN=self.p_in,
                P_OUT=self.p_out,
                HAS_BIAS="true" if self.bias is not None else "false",
                BIAS_SHIFT=self.bias_shift(x_type),
                WEIGHTS=f"{prefix}_WEIGHTS",
                BIASES=f"{prefix}_BIASES",
            )
            if self.rows(node) > 1:
                generics["ROWS"] = self.rows(node)
        return constants, [instance(node.name, entity, generics, [("s_axis", sources[0])], sink)]

    def constants(self, node: Node) -> list[int]:
        """What an unrolled layer adds to each output's sum besides the products: the
        bias at the accumulator's scale and the rounding offset ``2**(shift - 1)`` of
        ``half_up``/``half_even`` (so that rounding needs no adder)."""
        x = node.input_type.dtype
        shift = self.acc_frac_bits(x) - node.output_type.dtype.frac_bits
        offset = 1 << (shift - 1) if shift > 0 and self.rounding != Rounding.FLOOR else 0
        if self.bias is None:
            return [offset] * self.weight.shape[0]
        return [(int(b) << self.bias_shift(x)) + offset for b in self.bias]

    def adder_graph(self, node: Node) -> adder_graph.AdderGraph:
        """The shared adder graph of the unrolled layer (not yet pipelined), cached by
        content: the planner, the estimate and the lowering all ask for it."""
        x_bits, constants = node.input_type.dtype.total_bits, self.constants(node)
        key = (self.weight.shape, self.weight.tobytes(), x_bits, tuple(constants))
        graph = _GRAPHS.get(key)
        if graph is None:
            if len(_GRAPHS) >= 64:
                _GRAPHS.pop(next(iter(_GRAPHS)))
            graph = adder_graph.build(self.weight, x_bits, np.array(constants, dtype=object))
            _GRAPHS[key] = graph
        return graph

    # --- serialization ------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return {
            "weight": r.ints(self.weight),
            "bias": None if self.bias is None else r.ints(self.bias),
            "w_type": r.fixed_json(self.w_type),
            "b_type": None if self.b_type is None else r.fixed_json(self.b_type),
            "rounding": self.rounding.value,
            "overflow": self.overflow.value,
            "acc_bits": int(self.acc_bits),
            "p_in": int(self.p_in),
            "p_out": int(self.p_out),
            "low": None if self.low is None else int(self.low),
            "high": None if self.high is None else int(self.high),
            "stages": int(self.stages),
        }

    @classmethod
    def from_json(cls, value: Any, where: str, node: dict[str, Any]) -> LinearOp:
        read = r.fields(value, where, _SCHEMA)
        shape = (node["output_type"].shape[-1], node["input_types"][0].shape[-1])
        read["weight"] = r.int_array(read["weight"], f"{where}.weight", shape, read["w_type"])
        if (read["bias"] is None) != (read["b_type"] is None):
            raise r.wrong(f"{where}.b_type", "null exactly when bias is null", read["b_type"])
        if read["bias"] is not None:
            bias_shape = node["output_type"].shape[-1:]
            read["bias"] = r.int_array(read["bias"], f"{where}.bias", bias_shape, read["b_type"])
        return cls(**read)

    @property
    def kind(self) -> str:
        return "linear"


_SCHEMA: dict[str, r.Reader] = {
    "weight": lambda value, where: value,  # checked against the node's types
    "bias": lambda value, where: value,
    "w_type": r.fixed,
    "b_type": r.optional(r.fixed),
    "rounding": r.ROUNDING,
    "overflow": r.OVERFLOW,
    "acc_bits": r.integer(0),
    "p_in": r.integer(0),
    "p_out": r.integer(0),
    "low": r.optional(r.integer()),
    "high": r.optional(r.integer()),
    "stages": r.integer(0),
}


@lru_cache(maxsize=1 << 14)
def _row_cycles(op: LinearOp, p_in: int, p_out: int) -> int:
    """Cycles a folded layer spends on a row: its steps, and at least a cycle for each of
    the row's input beats (a pruned layer may skip most of its steps)."""
    return max(op.steps(p_in, p_out), beats(op.weight.shape[1], p_in))


def unrolled_stages(op: LinearOp, node: Node) -> int:
    """Register levels of a fully unrolled layer: one per ``UNROLLED_LEVELS`` levels of
    its adder graph and output logic (``AdderGraph.stages_for``)."""
    return op.adder_graph(node).stages_for(UNROLLED_LEVELS)


def _folded_cost(node: Node, p: LinearOp) -> dict[str, int]:
    """``ec_linear``: accumulators, products and operand registers sit in the DSP slices;
    LUTs go to control, requantization and output per lane, adder trees, small ROMs."""
    out_features, in_features = p.weight.shape
    x_bits, w_bits = node.input_type.dtype.total_bits, p.w_type.total_bits
    y_bits, acc = node.output_type.dtype.total_bits, p.acc_bits
    ni, no = math.ceil(in_features / p.p_in), math.ceil(out_features / p.p_out)
    mults = p.p_in * p.p_out
    per_mult = dsps_per_multiplier(x_bits, w_bits)
    rom_luts, bram = rom(p.steps(p.p_in, p.p_out) * mults * w_bits, mults * w_bits)
    counter_bits = (ni * no).bit_length() + 2 * (2 * ni).bit_length()
    tree = (p.p_in - 1) * p.p_out * (x_bits + w_bits)
    lut_mults = 0 if per_mult else mults * x_bits * w_bits // 2
    # registers of the adder tree stages
    tree_width = min(acc, x_bits + w_bits + (p.p_in - 1).bit_length())
    tree_ff = sum(p.p_out * terms * tree_width for terms in tree_terms(p.p_in))
    # operand and product registers: in the DSP slices, else in the fabric
    operands = 0 if per_mult else 2 * (p.p_in * x_bits + mults * w_bits) + mults * (x_bits + w_bits)
    return {
        "lut": 70 + p.p_out * (y_bits + acc // 2) + tree + rom_luts + lut_mults,
        # per output lane: the accumulator, its shifted and rounded copy, the overflowed
        # value with its two comparisons, then the output
        "ff": p.p_out * (2 * acc + 2 * y_bits + 2)
        + p.p_in * x_bits
        + 2 * counter_bits
        + tree_ff
        + operands
        + 24,
        "dsp": mults * per_mult,
        "bram": bram,
        "carry": math.ceil((p.p_out * acc + y_bits + 2 * counter_bits) / 4),
    }


def _unrolled_cost(node: Node, p: LinearOp) -> dict[str, int]:
    """``ec_linear_unrolled``: its adder graph counted bit by bit (a LUT and a carry bit
    per adder bit; carry chains in blocks of four), the delayed values, and per output the
    selection of the result (a LUT a bit), the output and skid registers, and where the
    output logic is split, the rounded value and two flags."""
    graph = p.adder_graph(node).pipelined(p.stages)
    out_features = p.weight.shape[0]
    y_bits = node.output_type.dtype.total_bits
    add = graph.kind == adder_graph.ADD
    split = out_features * (y_bits + 2) if graph.split else 0
    return {
        "lut": graph.adder_bits + out_features * (y_bits + 2),
        "ff": graph.register_bits + 2 * out_features * y_bits + split + 2 * p.stages + 4,
        "dsp": 0,
        "bram": 0,
        "carry": int(np.sum(-(-(graph.width[add] - graph.k[add]) // 4))),
    }
