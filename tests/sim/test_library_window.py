"""GHDL tests of ec_window (sliding windows / im2col, 1-D and 2-D) against a Python reference."""

from __future__ import annotations

import pathlib
from dataclasses import dataclass, replace

import numpy as np
import pytest

from elasticai.creator.ops import WindowOp
from elasticai.creator.sim import ghdl
from tests.sim.test_library import PORTS, StreamResult, run_stream, slv

pytestmark = pytest.mark.sim


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    path = tmp_path_factory.mktemp("ghdl_window")
    ghdl.analyse(ghdl.library_files(simulation=True), path)
    return path


def out_size(size: int, k: int, stride: int, dil: int, pad: int) -> int:
    """PyTorch's output size for symmetric padding ``pad``."""
    return (size + 2 * pad - dil * (k - 1) - 1) // stride + 1


@dataclass
class Win:
    c: int
    in_h: int
    in_w: int
    k_h: int
    k_w: int
    s_h: int = 1
    s_w: int = 1
    d_h: int = 1
    d_w: int = 1
    p_t: int = 0
    p_l: int = 0
    in_lanes: int = 1
    out_lanes: int = 1
    x_width: int = 8
    pad_min: bool = False  # PAD_VALUE: the minimum (max pooling) instead of 0
    out_h: int = 0  # 0: PyTorch's size for symmetric padding
    out_w: int = 0
    # MEM_WORDS: 0 the double buffer, else the ring's words; "min" (+k): the smallest ring
    # (ring_min) plus k, "auto": WindowOp.memory_words
    mem: int | str = 0

    def __post_init__(self) -> None:
        self.out_h = self.out_h or out_size(self.in_h, self.k_h, self.s_h, self.d_h, self.p_t)
        self.out_w = self.out_w or out_size(self.in_w, self.k_w, self.s_w, self.d_w, self.p_l)
        if self.mem == "auto":
            self.mem = self.params().memory_words(self.in_lanes)
        elif isinstance(self.mem, str):
            assert self.mem.startswith("min")
            self.mem = self.ring_min() + int(self.mem[3:] or 0)

    def params(self) -> WindowOp:
        return WindowOp(
            self.c, (self.in_h, self.in_w), (self.out_h, self.out_w), (self.k_h, self.k_w),
            (self.s_h, self.s_w), (self.d_h, self.d_w), (self.p_t, self.p_l),
            self.pad_value, lanes=self.out_lanes,
        )  # fmt: skip

    def ring_low(self) -> list[int]:
        """Per window: the ring's LOW, the lowest word it or a later window of the sample may
        read, by the formula in ec_window's header (negative in the padding)."""
        lanes, lows = self.in_lanes, []
        row_min = self.out_h > 1 and (self.out_w - 1) * self.s_w > self.s_h * self.in_w
        for oh in range(self.out_h):
            top = oh * self.s_h - self.p_t
            for ow in range(self.out_w):
                low = ((top * self.in_w + ow * self.s_w - self.p_l) * self.c) // lanes
                if row_min and oh < self.out_h - 1:
                    row = ((top * self.in_w - self.p_l) * self.c) // lanes
                    low = min(low, row + self.s_h * self.in_w * self.c // lanes)
                lows.append(min(low, self.in_beats))
        return lows

    def ring_high(self) -> list[int]:
        """Per window: the highest word it reads, -1 for none (all padding)."""
        return [
            max([i // self.in_lanes for i in win if i is not None], default=-1)
            for win in self.sources()
        ]

    def ring_writes(self, res: StreamResult, count: int) -> list[int]:
        """Ring mode, neither side stalling: the cycle of each input handshake. Window q
        (over all samples) enters the address stage at the issue edge of window q-1's last
        beat (2 cycles before it leaves), which sets LOW to its own; after it the writer
        may write word g (over all samples) once LOW > g - MEM_WORDS, one word a cycle."""
        assert isinstance(self.mem, int)
        per, windows, nw = self.out_beats, self.out_h * self.out_w, self.in_beats
        lows = self.ring_low()
        issue = [cycle - 2 for _, _, cycle in res.beats]
        loads = [(-(10**9), lows[0])]  # (edge, LOW over all samples) from the reset on
        for q in range(1, count * windows):
            n, p = divmod(q, windows)
            loads.append((issue[q * per - 1], n * nw + lows[p]))
        writes = [res.source_cycles[0]]
        q = 0
        for g in range(1, count * nw):
            # the first cycle after the previous write whose preceding edge left a LOW
            # that lets word g in (LOW may drop at a sample's start: windows in padding)
            cycle = writes[-1] + 1
            while True:
                while q + 1 < len(loads) and loads[q + 1][0] <= cycle - 1:
                    q += 1
                if loads[q][1] > g - self.mem:
                    break
                cycle = loads[q + 1][0] + 1
            writes.append(cycle)
        return writes

    def ring_min(self) -> int:
        """The smallest ring that cannot deadlock (ec_window's header)."""
        lows, highs = self.ring_low(), self.ring_high()
        spans = [max(h, 0) - lo + 1 for h, lo in zip(highs, lows, strict=True)]
        return max([1, self.in_beats - lows[-1], *spans])

    @property
    def n(self) -> int:
        return self.in_h * self.in_w * self.c

    @property
    def kc(self) -> int:
        return self.k_h * self.k_w * self.c

    @property
    def in_beats(self) -> int:
        return -(-self.n // self.in_lanes)

    @property
    def out_beats(self) -> int:
        """Beats per window."""
        return -(-self.kc // self.out_lanes)

    @property
    def pad_value(self) -> int:
        return -(1 << (self.x_width - 1)) if self.pad_min else 0

    def sources(self) -> list[list[int | None]]:
        """im2col: per window (row-major over (oh, ow)) the flat input index of each of its
        KC elements, None where the element is padding."""
        windows = []
        for oh in range(self.out_h):
            for ow in range(self.out_w):
                win: list[int | None] = []
                for kh in range(self.k_h):
                    for kw in range(self.k_w):
                        ih = oh * self.s_h - self.p_t + kh * self.d_h
                        iw = ow * self.s_w - self.p_l + kw * self.d_w
                        inside = 0 <= ih < self.in_h and 0 <= iw < self.in_w
                        for ch in range(self.c):
                            win.append((ih * self.in_w + iw) * self.c + ch if inside else None)
                windows.append(win)
        return windows

    def ref(self, x: list[int]) -> list[tuple[list[int], int]]:
        """Output beats (lanes, tlast) of one sample ``x`` (flat, channels last)."""
        beats = []
        windows = self.sources()
        for w, win in enumerate(windows):
            vals = [self.pad_value if i is None else x[i] for i in win]
            vals += [0] * (self.out_beats * self.out_lanes - self.kc)
            for b in range(self.out_beats):
                last = int(w == len(windows) - 1 and b == self.out_beats - 1)
                beats.append((vals[b * self.out_lanes : (b + 1) * self.out_lanes], last))
        return beats

    def needed_beats(self) -> list[int]:
        """Per output beat of a sample: the input beat after whose handshake it may issue
        (its largest needed word, at least 0; the whole sample for the sample's last beat)."""
        need = []
        for win in self.sources():
            vals = win + [None] * (self.out_beats * self.out_lanes - self.kc)
            for b in range(self.out_beats):
                idx = [
                    i for i in vals[b * self.out_lanes : (b + 1) * self.out_lanes] if i is not None
                ]
                need.append(max([i // self.in_lanes for i in idx], default=0))
        need[-1] = self.in_beats - 1
        return need

    def input_beats(
        self, xs: list[list[int]], rng: np.random.Generator
    ) -> list[tuple[list[int], int]]:
        lo, hi = -(1 << (self.x_width - 1)), 1 << (self.x_width - 1)
        beats = []
        for x in xs:
            # lanes beyond N in the last beat carry junk: the entity must ignore them
            junk = [int(v) for v in rng.integers(lo, hi, self.in_beats * self.in_lanes - self.n)]
            flat = list(x) + junk
            for b in range(self.in_beats):
                chunk = flat[b * self.in_lanes : (b + 1) * self.in_lanes]
                beats.append((chunk, int(b == self.in_beats - 1)))
        return beats

    def generics(self) -> str:
        return (
            f"X_WIDTH => {self.x_width}, CHANNELS => {self.c}, IN_H => {self.in_h}, "
            f"IN_W => {self.in_w}, OUT_H => {self.out_h}, OUT_W => {self.out_w}, "
            f"K_H => {self.k_h}, K_W => {self.k_w}, STRIDE_H => {self.s_h}, "
            f"STRIDE_W => {self.s_w}, DIL_H => {self.d_h}, DIL_W => {self.d_w}, "
            f"PAD_T => {self.p_t}, PAD_L => {self.p_l}, "
            f"PAD_VALUE => {slv([self.pad_value], self.x_width)}, "
            f"IN_LANES => {self.in_lanes}, OUT_LANES => {self.out_lanes}"
            + (f", MEM_WORDS => {self.mem}" if self.mem else "")
        )

    def dut(self) -> str:
        return f"dut : entity work.ec_window\n    generic map ({self.generics()})\n    {PORTS}"


def samples_for(w: Win, count: int, rng: np.random.Generator) -> list[list[int]]:
    lo, hi = -(1 << (w.x_width - 1)), 1 << (w.x_width - 1)
    xs = [[int(v) for v in rng.integers(lo, hi, w.n)] for _ in range(count)]
    xs[0][0], xs[0][-1] = lo, hi - 1  # the extremes
    return xs


# 1-D: IN_H = K_H = 1. (name, config, stall_in, stall_out)
CASES = [
    ("1d_plain", Win(1, 1, 8, 1, 3), 0, 0),
    ("1d_s2_p1_c3", Win(3, 1, 10, 1, 3, s_w=2, p_l=1, in_lanes=3, out_lanes=2, pad_min=True), 40, 40),
    ("1d_s3_d2_p2_c5", Win(5, 1, 9, 1, 2, s_w=3, d_w=2, p_l=2, in_lanes=4, out_lanes=10, x_width=4), 40, 0),
    ("1d_d2_p2_lanes", Win(1, 1, 12, 1, 5, d_w=2, p_l=2, in_lanes=5, out_lanes=3, x_width=4, pad_min=True), 0, 40),
    ("1d_p1_whole", Win(3, 1, 7, 1, 3, p_l=1, out_lanes=9), 40, 40),
    ("1d_s2_c5", Win(5, 1, 6, 1, 3, s_w=2, in_lanes=5), 0, 0),
    ("1d_all_pad_windows", Win(1, 1, 5, 1, 1, s_w=3, p_l=2, in_lanes=2), 40, 40),
    ("1d_kernel_wider", Win(3, 1, 3, 1, 5, p_l=2, in_lanes=2, out_lanes=4), 0, 40),
    ("1d_lanes_beyond_kc", Win(3, 1, 4, 1, 1, in_lanes=3, out_lanes=4, x_width=4), 40, 0),
    ("1d_one_input_beat", Win(1, 1, 3, 1, 2, p_l=1, in_lanes=4, out_lanes=2, x_width=4), 0, 0),
    # 2-D
    ("2d_plain", Win(1, 5, 5, 3, 3), 0, 0),
    ("2d_p1_whole", Win(3, 6, 5, 3, 3, p_t=1, p_l=1, in_lanes=3, out_lanes=27), 40, 40),
    ("2d_s2_p1", Win(3, 7, 7, 3, 3, 2, 2, p_t=1, p_l=1, in_lanes=4, out_lanes=2, x_width=4, pad_min=True), 40, 40),
    ("2d_pool", Win(5, 6, 6, 2, 2, 2, 2, in_lanes=5, out_lanes=3, pad_min=True), 0, 0),
    ("2d_d2_p2", Win(1, 8, 7, 3, 3, d_h=2, d_w=2, p_t=2, p_l=2, in_lanes=3, out_lanes=3), 40, 0),
    ("2d_mixed", Win(3, 9, 8, 3, 2, 3, 2, 1, 2, 1, 2, in_lanes=1, out_lanes=2, x_width=4), 0, 40),
    ("2d_s3_d2_p2_c5", Win(5, 5, 6, 3, 3, 3, 3, 2, 2, 2, 2, out_lanes=2, x_width=4), 40, 40),
    ("2d_pool_whole", Win(1, 4, 4, 2, 2, 2, 2, in_lanes=4, out_lanes=4, pad_min=True), 40, 40),
    ("2d_pointwise", Win(3, 5, 5, 1, 1, in_lanes=3, out_lanes=3), 0, 0),
    ("2d_ceil_mode", Win(1, 5, 5, 2, 2, 2, 2, out_h=3, out_w=3, in_lanes=2, pad_min=True), 40, 40),
    ("2d_row_lanes", Win(1, 4, 6, 3, 3, p_t=1, p_l=1, in_lanes=6, out_lanes=3, x_width=4), 0, 40),
    ("2d_pool_p1_c3", Win(3, 5, 5, 3, 3, 2, 2, p_t=1, p_l=1, in_lanes=3, out_lanes=9, pad_min=True), 40, 0),
    ("2d_c5_p1_lanes7", Win(5, 4, 3, 2, 3, p_t=1, p_l=1, in_lanes=7, out_lanes=1, x_width=4), 0, 40),
]  # fmt: skip


def check_window(
    workdir: pathlib.Path, w: Win, stall_in: int, stall_out: int, count: int
) -> StreamResult:
    """``count`` samples through ec_window: every beat and tlast exact; with the consumer
    always ready also the timing."""
    seed = sum(map(ord, w.generics())) % 1000 + 1
    rng = np.random.default_rng(seed)
    xs = samples_for(w, count, rng)
    in_beats = w.input_beats(xs, rng)
    res = run_stream(
        workdir, w.dut(), w.x_width, w.in_lanes, w.x_width, w.out_lanes,
        in_beats, count, stall_in, stall_out, seed=seed,
    )  # fmt: skip
    expected = [beat for x in xs for beat in w.ref(x)]
    got = [(lanes, last) for lanes, last, _ in res.beats]
    assert len(got) == len(expected)
    for k, (g, e) in enumerate(zip(got, expected, strict=True)):
        assert g == e, f"output beat {k} (window {k // w.out_beats}): {g} != {e}"
    if stall_out == 0:
        # with the consumer always ready the timing is exact: a beat leaves 3 cycles after
        # the handshake of the last input beat it needs, at most one beat per cycle
        need = w.needed_beats()
        per = len(need)
        prev = -1
        for k, (_, _, cycle) in enumerate(res.beats):
            ready = res.source_cycles[(k // per) * w.in_beats + need[k % per]] + 3
            assert cycle == max(ready, prev + 1), f"beat {k}"
            prev = cycle
    return res


@pytest.mark.parametrize(
    ("w", "stall_in", "stall_out"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_window(workdir: pathlib.Path, w: Win, stall_in: int, stall_out: int) -> None:
    check_window(workdir, w, stall_in, stall_out, 4)


# ring mode (MEM_WORDS > 0): "min" the smallest ring, "min+k" k words more, "auto" the
# size the lowering uses (WindowOp.memory_words). (name, config, stall_in, stall_out)
RING_CASES = [
    ("1d_plain_min", Win(1, 1, 8, 1, 3, mem="min"), 0, 0),
    ("1d_s2_p1_c3_min", Win(3, 1, 10, 1, 3, s_w=2, p_l=1, in_lanes=3, out_lanes=2, pad_min=True, mem="min"), 40, 40),
    ("1d_s3_d2_p2_c5_min+2", Win(5, 1, 9, 1, 2, s_w=3, d_w=2, p_l=2, in_lanes=4, out_lanes=10, x_width=4, mem="min+2"), 40, 0),
    ("1d_d2_p2_lanes_min", Win(1, 1, 12, 1, 5, d_w=2, p_l=2, in_lanes=5, out_lanes=3, x_width=4, pad_min=True, mem="min"), 0, 40),
    ("1d_long_auto", Win(4, 1, 40, 1, 5, p_l=2, in_lanes=2, out_lanes=4, mem="auto"), 0, 0),
    ("1d_long_min", Win(4, 1, 40, 1, 5, p_l=2, in_lanes=3, out_lanes=7, mem="min"), 40, 40),
    ("1d_long_min+3", Win(4, 1, 40, 1, 5, p_l=2, in_lanes=3, out_lanes=7, mem="min+3"), 0, 0),
    ("1d_all_pad_windows_min", Win(1, 1, 5, 1, 1, s_w=3, p_l=2, in_lanes=2, mem="min"), 40, 40),
    ("1d_kernel_wider_min", Win(3, 1, 3, 1, 5, p_l=2, in_lanes=2, out_lanes=4, mem="min"), 0, 40),
    ("1d_trailing_min", Win(2, 1, 12, 1, 3, s_w=4, mem="min"), 40, 0),
    ("1d_pool_auto", Win(8, 1, 16, 1, 2, s_w=2, out_lanes=2, pad_min=True, mem="auto"), 40, 40),
    ("1d_pointwise_one_word", Win(3, 1, 6, 1, 1, in_lanes=3, out_lanes=3, mem="min"), 40, 40),
    # 2-D
    ("2d_plain_min", Win(1, 5, 5, 3, 3, mem="min"), 0, 0),
    ("2d_p1_whole_min+1", Win(3, 6, 5, 3, 3, p_t=1, p_l=1, in_lanes=3, out_lanes=27, mem="min+1"), 40, 40),
    ("2d_s2_p1_auto", Win(3, 7, 7, 3, 3, 2, 2, p_t=1, p_l=1, in_lanes=4, out_lanes=2, x_width=4, pad_min=True, mem="auto"), 40, 40),
    ("2d_pool_min", Win(5, 6, 6, 2, 2, 2, 2, in_lanes=5, out_lanes=3, pad_min=True, mem="min"), 0, 0),
    ("2d_d2_p2_auto", Win(1, 8, 7, 3, 3, d_h=2, d_w=2, p_t=2, p_l=2, in_lanes=3, out_lanes=3, mem="auto"), 40, 0),
    ("2d_mixed_min+5", Win(3, 9, 8, 3, 2, 3, 2, 1, 2, 1, 2, in_lanes=1, out_lanes=2, x_width=4, mem="min+5"), 0, 40),
    ("2d_s3_d2_p2_c5_min", Win(5, 5, 6, 3, 3, 3, 3, 2, 2, 2, 2, out_lanes=2, x_width=4, mem="min"), 40, 40),
    ("2d_ceil_mode_min", Win(1, 5, 5, 2, 2, 2, 2, out_h=3, out_w=3, in_lanes=2, pad_min=True, mem="min"), 40, 40),
    ("2d_c5_p1_lanes7_min", Win(5, 4, 3, 2, 3, p_t=1, p_l=1, in_lanes=7, out_lanes=1, x_width=4, mem="min"), 0, 40),
    ("2d_wide_pad_min", Win(1, 4, 5, 1, 1, p_l=2, out_w=9, mem="min"), 40, 40),
    ("2d_wide_pad_k3_min", Win(2, 4, 5, 2, 3, p_t=1, p_l=3, out_w=9, in_lanes=3, out_lanes=2, mem="min"), 0, 0),
    ("2d_skip_rows_min", Win(2, 7, 4, 1, 2, 3, 1, in_lanes=2, mem="min"), 40, 40),
    ("2d_conv_auto", Win(4, 8, 8, 3, 3, p_t=1, p_l=1, out_lanes=4, mem="auto"), 0, 0),
]  # fmt: skip


@pytest.mark.parametrize(
    ("w", "stall_in", "stall_out"),
    [c[1:] for c in RING_CASES],
    ids=[c[0] for c in RING_CASES],
)
def test_window_ring(workdir: pathlib.Path, w: Win, stall_in: int, stall_out: int) -> None:
    """Five samples back to back through the ring: exact beats, tlast and (consumer always
    ready) timing; with both sides never stalling, the writer waits exactly for room."""
    assert isinstance(w.mem, int) and w.mem > 0
    res = check_window(workdir, w, stall_in, stall_out, 5)
    if stall_in == stall_out == 0:
        assert res.source_cycles == w.ring_writes(res, 5)


@pytest.mark.parametrize(
    "w",
    [c[1] for c in RING_CASES if c[1].ring_min() > 1 and c[0].endswith("_min")],
    ids=[c[0] for c in RING_CASES if c[1].ring_min() > 1 and c[0].endswith("_min")],
)
def test_ring_below_the_minimum_is_refused(workdir: pathlib.Path, w: Win) -> None:
    """One word less than ring_min: the elaboration assert names the same minimum."""
    small = replace(w, mem=w.ring_min() - 1)
    with pytest.raises(ghdl.GhdlError, match=f"can deadlock, needs >= {w.ring_min()}"):
        rng = np.random.default_rng(1)
        beats = w.input_beats(samples_for(w, 1, rng), rng)
        run_stream(workdir, small.dut(), w.x_width, w.in_lanes, w.x_width, w.out_lanes, beats, 1)


def random_windows(count: int, seed: int) -> list[Win]:
    """Window configurations over the whole grid (sizes, kernel, stride, dilation,
    padding up to beyond the kernel, ceil-mode output sizes, lanes)."""
    rng = np.random.default_rng(seed)
    out: list[Win] = []
    while len(out) < count:
        two_d = bool(rng.integers(2))
        k_h, k_w = (int(rng.integers(1, 4)) if two_d else 1), int(rng.integers(1, 6))
        s_h, s_w = (int(rng.integers(1, 4)) if two_d else 1), int(rng.integers(1, 4))
        d_h, d_w = (int(rng.integers(1, 3)) if two_d else 1), int(rng.integers(1, 3))
        p_t, p_l = (int(rng.integers(0, 4)) if two_d else 0), int(rng.integers(0, 4))
        in_h, in_w = (int(rng.integers(1, 9)) if two_d else 1), int(rng.integers(1, 17))
        oh = out_size(in_h, k_h, s_h, d_h, p_t) + int(rng.integers(0, 2))
        ow = out_size(in_w, k_w, s_w, d_w, p_l) + int(rng.integers(0, 2))
        if oh < 1 or ow < 1:
            continue
        c = int(rng.integers(1, 6))
        lanes = int(rng.integers(1, 2 * c + 2))
        out.append(Win(c, in_h, in_w, k_h, k_w, s_h, s_w, d_h, d_w, p_t, p_l, lanes,
                       out_h=oh, out_w=ow))  # fmt: skip
    return out


def pow2(n: int) -> int:
    return 1 << (n - 1).bit_length()


def test_ring_low_bounds_every_later_read() -> None:
    """LOW (ec_window's header) never decreases within a sample, never exceeds a word a
    window at or after it reads, and memory_words is 0 or the power of two at or above the
    words a window and the next one span (+2), at least ring_min and at most a sample."""
    for w in random_windows(400, seed=11):
        lows, highs = w.ring_low(), w.ring_high()
        reads = [[i // w.in_lanes for i in win if i is not None] for win in w.sources()]
        later = [
            min((r for rs in reads[p:] for r in rs), default=w.in_beats) for p in range(len(reads))
        ]
        assert lows == sorted(lows), w
        assert all(lo <= first for lo, first in zip(lows, later, strict=True)), w
        words = w.params().memory_words(w.in_lanes)
        highs = [max(h, 0) for h in highs]
        following = [*highs[1:], w.in_beats + highs[0]]
        spans = [max(h, f) - lo + 1 for h, f, lo in zip(highs, following, lows, strict=True)]
        fast = pow2(max(*spans, w.in_beats - lows[-1]) + 2)
        assert words == (fast if fast <= w.in_beats else 0), w
        assert words == 0 or words >= w.ring_min(), w


def test_memory_words() -> None:
    """The sizes the lowering uses (a window and the next + 2, rounded up to a power of two):
    the time-series convolution and pooling, a long signal, a 2-D convolution."""
    conv = WindowOp(8, (1, 32), (1, 32), (1, 3), padding=(0, 1), lanes=1)
    assert conv.memory_words(1) == pow2(3 * 8 + 8 + 2)  # span + stride + 2; a sample: 256
    assert conv.memory_words(8) == pow2(3 + 1 + 2)
    long = WindowOp(64, (1, 1000), (1, 1000), (1, 3), padding=(0, 1), lanes=64)
    assert long.memory_words(1) == 256 + 256  # instead of 2 * 64000
    assert long.memory_words(64) == 8
    pool = WindowOp(8, (1, 64), (1, 32), (1, 2), stride=(1, 2), lanes=1)
    assert pool.memory_words(1) == pow2(2 * 16 + 2)
    conv2d = WindowOp(1, (28, 28), (28, 28), (3, 3), padding=(1, 1), lanes=1)
    # the widest pair: a row's last window (from column 26 of the row above) and the next
    # row's first (to column 1 three rows down), 2 rows + 6 words; instead of 2 * 784
    assert conv2d.memory_words(1) == pow2((3 * 28 + 1) - 26 + 1 + 2) == 64
    # a word a row (8 a sample): a window and the next read 4 words (from the end of the
    # row above theirs), + 2: a ring of 8 words; with 2 rows a word the double buffer
    assert WindowOp(4, (8, 8), (8, 8), (3, 3), padding=(1, 1)).memory_words(32) == 8
    assert WindowOp(4, (8, 8), (8, 8), (3, 3), padding=(1, 1)).memory_words(64) == 0
    assert WindowOp(1, (1, 4), (1, 2), (1, 3), lanes=1).memory_words(1) == 0


def test_throughput_one_beat_per_cycle(workdir: pathlib.Path) -> None:
    """Input faster than the windows need it: after the first, samples follow each other
    without a gap, one output beat every cycle (the next sample is written meanwhile)."""
    w = Win(3, 4, 4, 3, 3, p_t=1, p_l=1, in_lanes=12, out_lanes=9)
    rng = np.random.default_rng(5)
    xs = samples_for(w, 4, rng)
    res = run_stream(workdir, w.dut(), 8, w.in_lanes, 8, w.out_lanes, w.input_beats(xs, rng), 4)
    assert [(b[0], b[1]) for b in res.beats] == [beat for x in xs for beat in w.ref(x)]
    cycles = [c for _, _, c in res.beats]
    first = w.out_h * w.out_w * w.out_beats
    assert cycles[first:] == list(range(cycles[first], cycles[first] + len(cycles) - first))


def run_with_reset(
    workdir: pathlib.Path, w: Win, beats: list[tuple[list[int], int]], samples: int, reset_ns: int
) -> list[tuple[list[int], int]]:
    """Source -> ec_window -> sink with a second reset pulse at ``reset_ns``: the source
    starts its file over after it; returns the beats the sink took after the reset."""
    result = run_stream(
        workdir,
        w.dut(),
        w.x_width,
        w.in_lanes,
        w.x_width,
        w.out_lanes,
        beats,
        samples,
        stall_in=20,
        stall_out=20,
        seed=3,
        reset_ns=reset_ns,
    )
    return [(data, last) for data, last, _ in result.beats]


def test_reset_mid_sample(workdir: pathlib.Path) -> None:
    """A reset while sample 1 is being written and sample 0's windows leave: partial state
    is dropped, the samples that follow come out exactly."""
    w = Win(3, 5, 5, 3, 3, p_t=1, p_l=1, in_lanes=2, out_lanes=4)
    rng = np.random.default_rng(9)
    xs = samples_for(w, 2, rng)
    # sample 0 is 38 input beats; about 80 cycles in, its windows are being read out and
    # sample 1 is being written
    got = run_with_reset(workdir, w, w.input_beats(xs, rng), 2, reset_ns=32 + 10 * 80)
    assert got == [beat for x in xs for beat in w.ref(x)]


@pytest.mark.parametrize("reset_cycle", [60, 150])
def test_reset_mid_sample_ring(workdir: pathlib.Path, reset_cycle: int) -> None:
    """Ring mode: a reset while the ring holds the writer back (sample 0's windows leave,
    at 150 cycles those of sample 1) drops all state; the samples come out exactly."""
    w = Win(3, 5, 5, 3, 3, p_t=1, p_l=1, in_lanes=2, out_lanes=4, mem="min")
    rng = np.random.default_rng(9)
    xs = samples_for(w, 3, rng)
    got = run_with_reset(workdir, w, w.input_beats(xs, rng), 3, reset_ns=32 + 10 * reset_cycle)
    assert got == [beat for x in xs for beat in w.ref(x)]


RANDOM_RING = random_windows(24, seed=5)


@pytest.mark.parametrize("k", range(len(RANDOM_RING)))
def test_window_ring_random(workdir: pathlib.Path, k: int) -> None:
    """Random geometries (random_windows) at the smallest ring, stalls on both sides or
    none (then also the writer's timing), three samples."""
    w = replace(RANDOM_RING[k], mem=RANDOM_RING[k].ring_min(), out_lanes=1 + k % 5)
    stall = 40 * (k % 2)
    res = check_window(workdir, w, stall, stall, 3)
    if not stall:
        assert res.source_cycles == w.ring_writes(res, 3)


def _wrapper(w: Win) -> str:
    return f"""
library ieee;
use ieee.std_logic_1164.all;
entity wrapper is
  port (clk, rst : in std_logic;
    a_tdata : in std_logic_vector({w.x_width * w.in_lanes - 1} downto 0);
    a_tvalid, a_tlast : in std_logic;
    a_tready : out std_logic;
    b_tdata : out std_logic_vector({w.x_width * w.out_lanes - 1} downto 0);
    b_tvalid, b_tlast : out std_logic;
    b_tready : in std_logic);
end entity;
architecture rtl of wrapper is
begin
  {w.dut()}
end architecture;
"""


@pytest.mark.parametrize(
    "w",
    [
        Win(3, 6, 6, 3, 3, 2, 2, p_t=1, p_l=1, in_lanes=3, out_lanes=3, pad_min=True),
        Win(4, 1, 12, 1, 3, d_w=2, p_l=2, in_lanes=5, out_lanes=2, x_width=4),
        Win(3, 6, 6, 3, 3, 2, 2, p_t=1, p_l=1, in_lanes=3, out_lanes=3, pad_min=True, mem="min"),
        Win(4, 1, 40, 1, 3, d_w=2, p_l=2, in_lanes=5, out_lanes=2, x_width=4, mem="auto"),
    ],
    ids=["2d", "1d", "2d_ring", "1d_ring"],
)
def test_window_synth(tmp_path: pathlib.Path, w: Win) -> None:
    src = tmp_path / "wrapper.vhd"
    src.write_text(_wrapper(w))
    netlist = ghdl.synth_check([*ghdl.library_files(), src], "wrapper", tmp_path)
    assert "wrapper" in netlist
    assert "latch" not in netlist.lower()
    # one inferred RAM (synchronous read) per lane copy: the double buffer or the ring
    assert netlist.count('found RAM "') == min(w.out_lanes, w.kc)
    assert isinstance(w.mem, int)
    depth = 1 << max(1, (w.mem - 1).bit_length()) if w.mem else 2 * w.in_beats  # ring: 2**k
    assert f"width: {w.in_lanes * w.x_width} bits, depth: {depth}" in netlist
