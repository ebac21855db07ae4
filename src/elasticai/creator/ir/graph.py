"""The intermediate representation: a small, typed, immutable graph.

A ``Graph`` is a list of ``Node`` in topological order. Every node consumes
the value named in ``inputs`` (the graph input is called ``"x"``) and produces
one value named after itself. Values are integer tensors of one
``FixedType`` each; the batch dimension is implicit.

Passes never mutate: they return new graphs (``dataclasses.replace``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import Enum

import numpy as np

from elasticai.creator.arithmetic import FixedType, Overflow, Rounding

__all__ = [
    "Op",
    "TensorType",
    "LinearParams",
    "PointwiseParams",
    "Node",
    "Graph",
    "INPUT",
    "ParallelismTarget",
    "frozen_array",
]

#: Name of the graph's input value.
INPUT = "x"


class Op(str, Enum):
    """The closed set of operations; their integer semantics live in ``ir.interpret``.

    ``LINEAR``     ``y[o] = clamp(requantize(sum_i w[o,i] * x[i] + b[o] * 2**bias_shift), low, high)``
    ``POINTWISE``  ``y = affine_clamp(x, mul, add, shift, rounding, low, high, out, overflow)``
    """

    LINEAR = "linear"
    POINTWISE = "pointwise"


def frozen_array(values: object) -> np.ndarray:
    """An ``int64`` (or Python-int ``object``) array that cannot be written to."""
    array = np.array(values)
    if array.dtype != object:
        array = array.astype(np.int64)
    array.flags.writeable = False
    return array


@dataclass(frozen=True)
class TensorType:
    """Shape (without batch) and number format of a value."""

    shape: tuple[int, ...]
    dtype: FixedType

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))


@dataclass(frozen=True, eq=False)
class LinearParams:
    """Integer weights ``(out, in)`` of format ``w_type``, bias of ``b_type``.

    ``acc_bits`` is settled by ``passes.infer_accumulator``; ``p_in``/``p_out``
    (elements per input/output beat, i.e. multipliers per output and outputs
    in parallel) by ``passes.choose_parallelism``.
    """

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
    stages: int = 0  # 0: folded (weight ROM, MAC units); >= 1: unrolled, register levels

    def acc_frac_bits(self, x: FixedType) -> int:
        """Fractional bits of the products and the accumulator."""
        return x.frac_bits + self.w_type.frac_bits

    def bias_shift(self, x: FixedType) -> int:
        """Left shift that aligns the bias to the accumulator's fraction."""
        return 0 if self.b_type is None else self.acc_frac_bits(x) - self.b_type.frac_bits

    def macs(self) -> int:
        return int(self.weight.size)


@dataclass(frozen=True)
class PointwiseParams:
    """``affine_clamp`` constants; ``kind`` names what they implement (``relu``, ...)."""

    kind: str
    mul: int
    add: int
    shift: int
    low: int
    high: int
    rounding: Rounding = Rounding.HALF_EVEN
    overflow: Overflow = Overflow.SATURATE
    lanes: int = 1


Params = LinearParams | PointwiseParams


@dataclass(frozen=True)
class Node:
    """One operation: ``name`` is also the name of the value it produces."""

    name: str
    op: Op
    inputs: tuple[str, ...]
    input_type: TensorType
    output_type: TensorType
    params: Params
    source: str = ""  # where it came from, for messages (e.g. "model[2] (ReLU)")

    def with_params(self, **changes: object) -> Node:
        return replace(self, params=replace(self.params, **changes))  # type: ignore[arg-type]


@dataclass(frozen=True)
class ParallelismTarget:
    """What the whole design should reach; ``passes.choose_parallelism`` derives the lanes.

    ``ii``: at most this many cycles between samples (fewest multipliers that reach it).
    ``max_multipliers``: the fastest design with at most this many multipliers.
    ``full``: one sample per clock (every layer fully unrolled).
    Nothing set: the smallest design (one multiply-accumulate unit per layer).
    """

    ii: int | None = None
    max_multipliers: int | None = None
    full: bool = False

    def __post_init__(self) -> None:
        chosen = sum([self.ii is not None, self.max_multipliers is not None, self.full])
        if chosen > 1:
            raise ValueError("choose one of target_ii, max_multipliers and parallelism='full'")
        for name, option in (("ii", "target_ii"), ("max_multipliers", "max_multipliers")):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ValueError(f"{option} must be a positive int, not {value!r}")


@dataclass(frozen=True)
class Graph:
    """A translated model: its input, its nodes in order, and the input quantization."""

    name: str
    input_type: TensorType
    nodes: tuple[Node, ...]
    input_rounding: Rounding = Rounding.HALF_EVEN
    input_overflow: Overflow = Overflow.SATURATE
    input_lanes: int = 0  # 0: not fixed yet
    parallelism: ParallelismTarget = field(default_factory=ParallelismTarget)
    meta: tuple[tuple[str, str], ...] = field(default=())

    @property
    def output(self) -> Node:
        return self.nodes[-1]

    @property
    def output_type(self) -> TensorType:
        return self.nodes[-1].output_type if self.nodes else self.input_type

    def node(self, name: str) -> Node:
        for n in self.nodes:
            if n.name == name:
                return n
        raise KeyError(name)

    def replace_nodes(self, nodes: tuple[Node, ...] | list[Node]) -> Graph:
        return replace(self, nodes=tuple(nodes))
