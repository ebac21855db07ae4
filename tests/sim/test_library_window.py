"""GHDL tests of ec_window (sliding windows / im2col, 1-D and 2-D) against a Python reference."""

from __future__ import annotations

import pathlib
from dataclasses import dataclass

import numpy as np
import pytest

from elasticai.creator.sim import ghdl
from elasticai.creator.sim.stream_files import after_last_reset
from tests.sim.test_library import PORTS, pack, run_stream, slv, unpack

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

    def __post_init__(self) -> None:
        self.out_h = self.out_h or out_size(self.in_h, self.k_h, self.s_h, self.d_h, self.p_t)
        self.out_w = self.out_w or out_size(self.in_w, self.k_w, self.s_w, self.d_w, self.p_l)

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


@pytest.mark.parametrize(
    ("w", "stall_in", "stall_out"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_window(workdir: pathlib.Path, w: Win, stall_in: int, stall_out: int) -> None:
    seed = sum(map(ord, w.generics())) % 1000 + 1
    rng = np.random.default_rng(seed)
    count = 4
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
    name = "tb_window_reset"
    iw, ow = w.x_width * w.in_lanes, w.x_width * w.out_lanes
    (workdir / f"{name}_in.txt").write_text(
        "".join(f"{pack(v, w.x_width)} {last}\n" for v, last in beats)
    )
    tb = f"""
library ieee;
use ieee.std_logic_1164.all;
entity {name} is
end entity;
architecture sim of {name} is
  signal clk : std_logic := '0';
  signal rst : std_logic := '1';
  signal a_tdata : std_logic_vector({iw - 1} downto 0);
  signal a_tvalid, a_tready, a_tlast : std_logic;
  signal b_tdata : std_logic_vector({ow - 1} downto 0);
  signal b_tvalid, b_tready, b_tlast : std_logic;
  signal done : std_logic;
begin
  clk <= not clk after 5 ns;
  rst <= '1', '0' after 32 ns, '1' after {reset_ns} ns, '0' after {reset_ns + 20} ns;
  src : entity work.ec_stream_source
    generic map (WIDTH => {iw}, FILE_NAME => "{name}_in.txt", SEED => 3, STALL_PERCENT => 20,
                 LOG_NAME => "{name}_src.txt")
    port map (clk => clk, rst => rst, m_axis_tdata => a_tdata, m_axis_tvalid => a_tvalid,
              m_axis_tlast => a_tlast, m_axis_tready => a_tready, done => done);
  {w.dut()}
  snk : entity work.ec_stream_sink
    generic map (WIDTH => {ow}, FILE_NAME => "{name}_out.txt", SEED => 4, STALL_PERCENT => 20,
                 EXPECTED_SAMPLES => {samples})
    port map (clk => clk, rst => rst, s_axis_tdata => b_tdata, s_axis_tvalid => b_tvalid,
              s_axis_tready => b_tready, s_axis_tlast => b_tlast);
end architecture;
"""
    src = workdir / f"{name}.vhd"
    src.write_text(tb)
    ghdl.simulate([src], name, workdir)
    text = (workdir / f"{name}_out.txt").read_text()
    assert text.count("reset") == 1
    out = []
    for line in after_last_reset(text).split("\n"):
        if line.strip():
            bits, last, _ = line.split()
            out.append((unpack(bits, w.x_width), int(last)))
    return out


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
    ],
    ids=["2d", "1d"],
)
def test_window_synth(tmp_path: pathlib.Path, w: Win) -> None:
    src = tmp_path / "wrapper.vhd"
    src.write_text(_wrapper(w))
    netlist = ghdl.synth_check([*ghdl.library_files(), src], "wrapper", tmp_path)
    assert "wrapper" in netlist
    assert "latch" not in netlist.lower()
