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
    "WindowParams",
    "ReduceParams",
    "PiecewiseParams",
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
    ``WINDOW``     ``y[p, e] = x[index[p, e]]`` or ``pad_value``: the sliding windows (im2col)
                   of a channels-last map; a ``LINEAR`` after it is a convolution
    ``REDUCE``     ``y[p, c] = max_t x[p, t, c]`` or ``sum_t x[p, t, c]`` (pooling)
    ``PIECEWISE``  ``y = overflow(shift_round((x - base[k]) * mul[k] + add[k], shift))`` with
                   ``k`` the segment of ``x`` (activation functions)

    A ``LINEAR`` whose input has more elements than its weight has columns applies to
    every row (position) of it: ``y[r, o] = ...x[r, i]...``.
    """

    LINEAR = "linear"
    POINTWISE = "pointwise"
    WINDOW = "window"
    REDUCE = "reduce"
    PIECEWISE = "piecewise"


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
            return -(-self.weight.shape[0] // p_out) * -(-self.weight.shape[1] // p_in)
        return int(self.blocks(p_in, p_out).sum())


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


@dataclass(frozen=True)
class WindowParams:
    """Sliding windows over a channels-last map ``x[h, w, c]`` (1-D maps have ``h = 1``).

    Position ``(oh, ow)`` (row-major) yields the window of ``taps * channels`` elements
    ``e = (kh * k_w + kw) * channels + c``: ``x[oh*s_h - pad_t + kh*d_h, ow*s_w - pad_l + kw*d_w, c]``,
    or ``pad_value`` outside the map. ``lanes``: elements per output beat.
    """

    channels: int
    in_size: tuple[int, int]
    out_size: tuple[int, int]
    kernel: tuple[int, int]
    stride: tuple[int, int] = (1, 1)
    dilation: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)  # top, left (bottom, right follow from out_size)
    pad_value: int = 0
    kind: str = "window"
    lanes: int = 0

    @property
    def taps(self) -> int:
        return self.kernel[0] * self.kernel[1]

    @property
    def window(self) -> int:
        return self.taps * self.channels

    @property
    def positions(self) -> int:
        return self.out_size[0] * self.out_size[1]

    def indices(self) -> np.ndarray:
        """``(positions, window)`` flat input indices (``h, w, c`` order), ``-1`` for padding."""
        (ih, iw), (oh, ow), (kh, kw) = self.in_size, self.out_size, self.kernel
        c = self.channels
        rows = np.arange(oh)[:, None, None, None, None] * self.stride[0] - self.padding[0]
        rows = rows + np.arange(kh)[None, None, :, None, None] * self.dilation[0]
        cols = np.arange(ow)[None, :, None, None, None] * self.stride[1] - self.padding[1]
        cols = cols + np.arange(kw)[None, None, None, :, None] * self.dilation[1]
        chan = np.arange(c)[None, None, None, None, :]
        inside = (rows >= 0) & (rows < ih) & (cols >= 0) & (cols < iw)
        index = np.where(inside, (rows * iw + cols) * c + chan, -1)
        return np.broadcast_to(index, (oh, ow, kh, kw, c)).reshape(oh * ow, kh * kw * c)

    def memory_words(self, in_lanes: int) -> int:
        """``ec_window``'s ``MEM_WORDS`` for input beats of ``in_lanes`` elements: the words
        of its ring (line buffer), or 0 for its double buffer of ``2 * NW`` words
        (``NW = ceil(h * w * channels / in_lanes)``, one sample) where a ring would not save
        at least half of that (more than ``NW`` words).

        For window ``p`` (row-major), ``LOW[p]`` is the lowest word it or a later window of
        the sample may read, as ``ec_window`` computes it (its header: the word of the
        window's top-left corner, negative in the padding), and ``HI[p]`` its highest word
        read (none where it is all padding). The ring holds a window and the next one,
        ``max over p of max(HI[p], HI[p + 1]) - LOW[p] + 1`` words, so that the writer
        fetches the next window's words while the current one is read (the window after
        the last is the next sample's first, at ``NW + HI[0]``; the sample's last beat waits
        for word ``NW - 1``), plus 2 words of slack, rounded up to a power of two (the
        ring's RAM has that many words anyway). In 1-D that is the window's span plus one
        stride of positions, in 2-D about the span plus a stride of rows.

        >>> conv = WindowParams(8, (1, 32), (1, 32), (1, 3), padding=(0, 1), lanes=1)
        >>> conv.memory_words(1), conv.memory_words(8)  # span 24 (3) + stride 8 (1) + 2
        (64, 8)
        >>> pool = WindowParams(8, (1, 64), (1, 32), (1, 2), stride=(1, 2), lanes=1)
        >>> pool.memory_words(1)  # span 16 + stride 16 + 2 (a sample is 512 words)
        64
        >>> conv2d = WindowParams(4, (8, 8), (8, 8), (3, 3), padding=(1, 1), lanes=1)
        >>> conv2d.memory_words(1)  # rows of 32 words; widest: a row's end to the next, 80
        128
        >>> conv2d.memory_words(64)  # 4 words a sample: the double buffer (8 words)
        0
        """
        (ih, iw), (oh, ow), (kh, kw) = self.in_size, self.out_size, self.kernel
        (s_h, s_w), (d_h, d_w), (p_t, p_l) = self.stride, self.dilation, self.padding
        c, lanes = self.channels, in_lanes
        nw = -(-ih * iw * c // lanes)
        top = np.arange(oh)[:, None] * s_h - p_t
        left = np.arange(ow)[None, :] * s_w - p_l
        low = ((top * iw + left) * c) // lanes
        if oh > 1 and (ow - 1) * s_w > s_h * iw:  # windows beyond a row's end
            next_row = ((top * iw - p_l) * c) // lanes + (s_h * iw * c) // lanes
            low = np.where(np.arange(oh)[:, None] < oh - 1, np.minimum(low, next_row), low)
        low = np.minimum(low, nw).reshape(-1)
        rows = top[:, :, None] + np.arange(kh) * d_h  # (oh, 1, kh)
        cols = left[:, :, None] + np.arange(kw) * d_w  # (1, ow, kw)
        last_row = np.where((rows >= 0) & (rows < ih), rows, -1).max(axis=2)  # (oh, 1)
        last_col = np.where((cols >= 0) & (cols < iw), cols, -1).max(axis=2)  # (1, ow)
        high = ((last_row * iw + last_col) * c + c - 1) // lanes
        high = np.where((last_row >= 0) & (last_col >= 0), high, 0).reshape(-1)
        following = np.append(high[1:], nw + high[0])
        need = np.maximum(high, following)
        need[-1] = max(int(need[-1]), nw - 1)
        words = 1 << (int((need - low).max()) + 1 + 2 - 1).bit_length()
        return words if words <= nw else 0


@dataclass(frozen=True)
class ReduceParams:
    """``kind`` ``"max"`` or ``"sum"`` over the ``taps`` of every window, per channel."""

    kind: str
    channels: int
    taps: int
    lanes: int = 0


@dataclass(frozen=True)
class PiecewiseParams:
    """A piecewise-linear function on integers: segment ``k`` (the number of
    ``breaks[1:]`` at or below ``x``) computes ``(x - bases[k]) * muls[k] + adds[k]``,
    shifted right by ``shift`` with ``rounding``, into the output format with ``overflow``.
    ``breaks[0]`` is unused. ``kind`` names the function (``sigmoid``, ``leaky_relu``, ...)."""

    kind: str
    breaks: tuple[int, ...]
    bases: tuple[int, ...]
    muls: tuple[int, ...]
    adds: tuple[int, ...]
    shift: int
    rounding: Rounding = Rounding.HALF_EVEN
    overflow: Overflow = Overflow.SATURATE
    lanes: int = 0

    def __post_init__(self) -> None:
        n = len(self.breaks)
        if n < 1 or not len(self.bases) == len(self.muls) == len(self.adds) == n:
            raise ValueError("a piecewise function needs as many bases, muls and adds as breaks")
        if list(self.breaks[1:]) != sorted(set(self.breaks[1:])):
            raise ValueError(f"breaks must ascend strictly, not {list(self.breaks[1:])}")


Params = LinearParams | PointwiseParams | WindowParams | ReduceParams | PiecewiseParams


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
    # How the model's tensors map onto the streams: stream element ``i`` is element
    # ``order[i]`` of the model's tensor of ``shape`` (without batch), flattened in
    # PyTorch's order. Empty: the same shape and order (vectors).
    torch_input_shape: tuple[int, ...] = ()
    input_order: tuple[int, ...] = ()
    torch_output_shape: tuple[int, ...] = ()
    output_order: tuple[int, ...] = ()

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
