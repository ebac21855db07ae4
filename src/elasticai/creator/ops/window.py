"""``window``: the sliding windows (im2col) of a channels-last map.

A ``linear`` after it is a convolution, a ``reduce`` after it pooling. Hardware:
``ec_window`` (a line buffer the stream flows through; each window leaves as soon as
the elements it needs have arrived).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from elasticai.creator.analysis.resources import rom
from elasticai.creator.ir import readers as r
from elasticai.creator.ir.op import (
    NEVER,
    Flow,
    OpDef,
    beats,
    candidates,
    latest_in_order,
    one_per_cycle,
)
from elasticai.creator.vhdl.streams import instance
from elasticai.creator.vhdl.syntax import Constant, Instance, slv_literal

if TYPE_CHECKING:
    from elasticai.creator.ir.graph import Graph, Node
    from elasticai.creator.vhdl.streams import Stream

__all__ = ["WindowOp", "WINDOW_PIPELINE"]

#: ``ec_window``: input handshake of the last needed beat to the output handshake.
WINDOW_PIPELINE = 3


@dataclass(frozen=True)
class WindowOp(OpDef):
    """Sliding windows over a channels-last map ``x[h, w, c]`` (1-D maps have ``h = 1``).

    Position ``(oh, ow)`` (row-major) yields the window of ``taps * channels`` elements
    ``e = (kh * k_w + kw) * channels + c``: ``x[oh*s_h - pad_t + kh*d_h, ow*s_w - pad_l + kw*d_w, c]``,
    or ``pad_value`` outside the map. ``lanes``: elements per output beat; the last beat of
    every window is padded (a ``linear`` after it reads window by window).
    """

    name: ClassVar[str] = "window"
    entities: ClassVar[tuple[str, ...]] = ("ec_window.vhd",)
    tied: ClassVar[bool] = False

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

        >>> conv = WindowOp(8, (1, 32), (1, 32), (1, 3), padding=(0, 1), lanes=1)
        >>> conv.memory_words(1), conv.memory_words(8)  # span 24 (3) + stride 8 (1) + 2
        (64, 8)
        >>> pool = WindowOp(8, (1, 64), (1, 32), (1, 2), stride=(1, 2), lanes=1)
        >>> pool.memory_words(1)  # span 16 + stride 16 + 2 (a sample is 512 words)
        64
        >>> conv2d = WindowOp(4, (8, 8), (8, 8), (3, 3), padding=(1, 1), lanes=1)
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

    def interpret(self, node: Node, xs: Sequence[np.ndarray]) -> np.ndarray:
        """``y[p, e] = x[index[p, e]]``, ``pad_value`` where ``index`` is -1 (``indices``)."""
        (x,) = xs
        pad = np.full((x.shape[0], 1), self.pad_value, dtype=x.dtype)
        padded = np.concatenate([x, pad], axis=1)
        return padded[:, self.indices().ravel()]  # index -1 is the appended pad column

    def check(self, node: Node, settled: bool) -> None:
        super().check(node, settled)
        out_shape = node.output_type.shape
        expected = (
            (*self.out_size, self.window) if len(out_shape) == 3 else (self.positions, self.window)
        )
        if (
            node.input_type.size != self.in_size[0] * self.in_size[1] * self.channels
            or out_shape != expected
            or node.input_type.dtype != node.output_type.dtype
        ):
            raise ValueError(f"{node.where}: window {self} does not fit its tensors")

    def lane_domain(self, node: Node, stream: int, graph: Graph) -> list[int] | None:
        if stream == -1:
            return [self.lanes] if self.lanes else candidates(self.window)
        return None

    def lane_cost(
        self, node: Node, lanes_in: Sequence[int], lanes_out: int
    ) -> tuple[int, int] | None:
        (l_in,) = lanes_in
        return 0, max(
            beats(node.input_type.size, l_in), self.positions * beats(self.window, lanes_out)
        )

    def timing(self, node: Node, arrivals: Sequence[np.ndarray], lanes_in: Sequence[int]) -> Flow:
        """A beat leaves ``WINDOW_PIPELINE`` cycles after the input beat holding the last
        element it needs (a sample's last beat after the whole sample), one per cycle."""
        (times,), (in_lanes,) = arrivals, lanes_in
        per_sample = beats(self.in_size[0] * self.in_size[1] * self.channels, in_lanes)
        samples = len(times) // per_sample
        needs = self._needs(in_lanes)
        index = (np.arange(samples)[:, None] * per_sample + needs[None, :]).ravel()
        return Flow(one_per_cycle(times[index] + WINDOW_PIPELINE))

    def latest(self, node: Node, due: np.ndarray, lanes_in: Sequence[int]) -> list[np.ndarray]:
        """An input beat by the due time, less ``WINDOW_PIPELINE``, of the first output beat
        that needs it (one that needs a later input beat needs it as well)."""
        (in_lanes,) = lanes_in
        per_sample = beats(self.in_size[0] * self.in_size[1] * self.channels, in_lanes)
        samples = len(due) // (self.positions * beats(self.window, self.lanes))
        needs = self._needs(in_lanes)
        index = (np.arange(samples)[:, None] * per_sample + needs[None, :]).ravel()
        latest = np.full(samples * per_sample, NEVER, dtype=np.int64)
        np.minimum.at(latest, index, due - WINDOW_PIPELINE)
        return [latest_in_order(np.minimum.accumulate(latest[::-1])[::-1])]

    def _needs(self, in_lanes: int) -> np.ndarray:
        """For each output beat of a sample, the input beat holding the last element it needs."""
        index = self.indices()
        per_window = beats(self.window, self.lanes)
        padded = np.full((self.positions, per_window * self.lanes), -1)
        padded[:, : self.window] = index
        needs = np.maximum(padded.reshape(self.positions, per_window, self.lanes).max(axis=2), 0)
        needs = (needs // in_lanes).ravel()
        needs[-1] = beats(self.in_size[0] * self.in_size[1] * self.channels, in_lanes) - 1
        return needs

    def estimate(self, node: Node, lanes_in: Sequence[int]) -> dict[str, int]:
        """Per output lane a copy of the sample memory (the double buffer of two samples, or
        the ring of ``memory_words`` words, with the writer's counters), an address adder,
        three stages of address registers (lanes, prefetch and address), and an element
        multiplexer; per stage the highest word its lanes read, and the four to six
        comparisons of the registered issue flag."""
        (in_lanes,) = lanes_in
        x_bits = node.input_type.dtype.total_bits
        copies = min(self.lanes, self.window)
        ring = self.memory_words(in_lanes)
        words = ring or 2 * math.ceil(node.input_type.size / in_lanes)
        ram_luts, bram = rom(words * in_lanes * x_bits, in_lanes * x_bits)
        address = max(1, words.bit_length())
        return {
            "lut": 60
            + 6 * address
            + copies * (ram_luts + 3 * address + x_bits * max(1, in_lanes // 2)),
            "ff": 40
            + (5 * address if ring else 0)
            + 2 * address
            + copies * (x_bits + 3 * (address + 3))
            + self.lanes * x_bits,
            "dsp": 0,
            "bram": copies * bram,
            "carry": 4 + copies * math.ceil(3 * address / 4),
        }

    def lower(
        self, node: Node, sources: Sequence[Stream], sink: Stream
    ) -> tuple[list[Constant], list[Instance]]:
        (source,) = sources
        width = node.input_type.dtype.total_bits
        generics = {
            "X_WIDTH": width,
            "CHANNELS": self.channels,
            "IN_H": self.in_size[0],
            "IN_W": self.in_size[1],
            "OUT_H": self.out_size[0],
            "OUT_W": self.out_size[1],
            "K_H": self.kernel[0],
            "K_W": self.kernel[1],
            "STRIDE_H": self.stride[0],
            "STRIDE_W": self.stride[1],
            "DIL_H": self.dilation[0],
            "DIL_W": self.dilation[1],
            "PAD_T": self.padding[0],
            "PAD_L": self.padding[1],
            "PAD_VALUE": slv_literal(self.pad_value, width),
            "IN_LANES": source.lanes,
            "OUT_LANES": self.lanes,
            "MEM_WORDS": self.memory_words(source.lanes),  # 0: double buffer, else a ring
        }
        return [], [instance(node.name, "ec_window", generics, [("s_axis", source)], sink)]

    def to_json(self) -> dict[str, Any]:
        return {
            "channels": int(self.channels),
            **{key: [int(v) for v in getattr(self, key)] for key in _PAIRS},
            "pad_value": int(self.pad_value),
            "kind": self.kind,
            "lanes": int(self.lanes),
        }

    @classmethod
    def from_json(cls, value: Any, where: str, node: dict[str, Any]) -> WindowOp:
        return r.build(cls, where, r.fields(value, where, _SCHEMA))


_PAIRS = ("in_size", "out_size", "kernel", "stride", "dilation", "padding")
_SCHEMA: dict[str, r.Reader] = {
    "channels": r.integer(1),
    "in_size": r.int_pair(1),
    "out_size": r.int_pair(1),
    "kernel": r.int_pair(1),
    "stride": r.int_pair(1),
    "dilation": r.int_pair(1),
    "padding": r.int_pair(0),
    "pad_value": r.integer(),
    "kind": r.identifier,
    "lanes": r.integer(0),
}
