"""GHDL tests of ec_reduce (the reducer of max and average pooling) against a Python reference."""

from __future__ import annotations

import pathlib
from dataclasses import dataclass

import numpy as np
import pytest

from elasticai.creator.sim import ghdl
from tests.sim.test_library import PORTS, run_stream

pytestmark = pytest.mark.sim

MAX, SUM = 0, 1

#: the files ec_reduce needs (independent of the rest of the library)
FILES = [ghdl.library_dir() / name for name in ("ec_pkg.vhd", "ec_reduce.vhd")]
SIM_FILES = [f for f in ghdl.library_files(simulation=True) if f.parent.name == "sim"]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    path = tmp_path_factory.mktemp("ghdl_reduce")
    ghdl.analyse([*FILES, *SIM_FILES], path)
    return path


@dataclass
class Red:
    kind: int
    taps: int
    channels: int
    lanes: int
    x_width: int
    y_width: int

    @property
    def blocks(self) -> int:
        return self.channels // self.lanes

    def dut(self) -> str:
        return f"""dut : entity work.ec_reduce
    generic map (X_WIDTH => {self.x_width}, Y_WIDTH => {self.y_width},
      CHANNELS => {self.channels}, TAPS => {self.taps}, LANES => {self.lanes},
      KIND => {self.kind})
    {PORTS}"""

    def ref(self, window: np.ndarray) -> list[int]:
        """``window`` of shape (taps, channels) -> the CHANNELS outputs."""
        if self.kind == MAX:
            return [int(v) for v in window.max(axis=0)]
        return [int(v) for v in window.sum(axis=0)]


def random_windows(rng: np.random.Generator, r: Red, n: int, fit: bool) -> np.ndarray:
    """``n`` windows (n, taps, channels) over the full input range, a fifth of the elements
    at the extremes; ``fit``: sums are redrawn until they fit Y_WIDTH bits."""
    lo, hi = -(1 << (r.x_width - 1)), (1 << (r.x_width - 1)) - 1
    shape = (n, r.taps, r.channels)
    xs = rng.integers(lo, hi + 1, shape)
    edge = rng.random(shape) < 0.2
    xs[edge] = rng.choice([lo, hi], int(edge.sum()))
    if fit:
        ylo, yhi = -(1 << (r.y_width - 1)), (1 << (r.y_width - 1)) - 1
        for w in range(n):
            for c in range(r.channels):
                while not ylo <= xs[w, :, c].sum() <= yhi:
                    xs[w, :, c] = rng.integers(lo, hi + 1, r.taps)
    return xs


Beats = list[tuple[list[int], int]]


def stream_of(r: Red, xs: np.ndarray, windows: int) -> tuple[Beats, Beats, list[int]]:
    """The input beats of windows ``xs`` (``windows`` a sample, tlast on each sample's
    last beat), the output beats expected, and for each output beat the index of the
    input beat that completes it."""
    per_window = r.taps * r.blocks
    beats: Beats = []
    expected: Beats = []
    completing: list[int] = []
    for w, window in enumerate(xs):
        last_window = w % windows == windows - 1
        flat = window.reshape(-1)  # (tap, channel), channel fastest
        for b in range(per_window):
            last = int(last_window and b == per_window - 1)
            beats.append(([int(v) for v in flat[b * r.lanes : (b + 1) * r.lanes]], last))
        ys = r.ref(window)
        for cb in range(r.blocks):
            beat = w * per_window + (r.taps - 1) * r.blocks + cb
            completing.append(beat)
            expected.append((ys[cb * r.lanes : (cb + 1) * r.lanes], beats[beat][1]))
    return beats, expected, completing


def check_reduce(
    workdir: pathlib.Path,
    r: Red,
    windows: int,
    samples: int,
    stall_in: int,
    stall_out: int,
    seed: int,
    fit: bool = False,
) -> None:
    rng = np.random.default_rng(seed)
    xs = random_windows(rng, r, windows * samples, fit)
    beats, expected, completing = stream_of(r, xs, windows)
    res = run_stream(
        workdir, r.dut(), r.x_width, r.lanes, r.y_width, r.lanes, beats, samples,
        stall_in, stall_out, seed,
    )  # fmt: skip
    assert [(b[0], b[1]) for b in res.beats] == expected
    assert "warning" not in res.output.lower(), res.output  # no metavalues etc.
    if stall_in == 0 and stall_out == 0:
        # one input beat per cycle; each output beat is valid 2 cycles (max: the compare
        # stage) or 1 (sum) after the handshake of the input beat that completes it
        assert np.diff(res.source_cycles).tolist() == [1] * (len(beats) - 1)
        out_cycles = [c for _, _, c in res.beats]
        latencies = {o - res.source_cycles[i] for o, i in zip(out_cycles, completing, strict=True)}
        assert latencies == {2 if r.kind == MAX else 1}, latencies


# Every KIND x TAPS x (CHANNELS, LANES) combination (each simulation takes ~0.1 s); input
# width, extra output bits, stream shape and stalls rotate over the cases.
SHAPES = [(1, 1), (4, 1), (4, 2), (4, 4), (6, 1), (6, 2), (6, 3), (6, 6)]
STALLS = [(0, 0), (40, 40), (0, 40), (40, 0)]
CASES = [
    (kind, taps, channels, lanes)
    for kind in (MAX, SUM)
    for taps in (1, 2, 3, 9)
    for channels, lanes in SHAPES
]


def case_id(case: tuple[int, int, int, int]) -> str:
    kind, taps, channels, lanes = case
    return f"{'max' if kind == MAX else 'sum'}-t{taps}-c{channels}-l{lanes}"


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_reduce(workdir: pathlib.Path, case: tuple[int, int, int, int]) -> None:
    kind, taps, channels, lanes = case
    i = CASES.index(case)
    x_width = [4, 8][i % 2]
    growth = (taps - 1).bit_length() if kind == SUM else 0  # exact sum width
    extra = [0, 0, 1, 3][(i // 2) % 4]
    r = Red(kind, taps, channels, lanes, x_width, x_width + growth + extra)
    windows, samples = 2 + i % 4, 2 + (i // 4) % 3
    stall_in, stall_out = STALLS[(i // 3) % 4]
    check_reduce(workdir, r, windows, samples, stall_in, stall_out, seed=i + 1)


@pytest.mark.parametrize("stalls", [(0, 0), (40, 40)])
def test_reduce_sum_partials_wrap(workdir: pathlib.Path, stalls: tuple[int, int]) -> None:
    """Y_WIDTH = X_WIDTH: partial sums leave the Y_WIDTH range, the final sums fit."""
    r = Red(SUM, 3, 4, 2, 8, 8)
    windows = random_windows(np.random.default_rng(77), r, 9, fit=True)
    partial = windows[:, :2, :].sum(axis=1)
    assert ((partial < -128) | (partial > 127)).any()  # some partial sums do leave the range
    check_reduce(workdir, r, 3, 3, stalls[0], stalls[1], seed=77, fit=True)


@pytest.mark.parametrize("kind", [MAX, SUM])
def test_reduce_reset_mid_window(workdir: pathlib.Path, kind: int) -> None:
    """A reset while windows are half combined: the partial results go with it (the next
    window's first beat starts it afresh, not from what was left), every window of the
    stream sent again after the reset comes out exactly."""
    r = Red(kind, 3, 4, 2, 8, 10)
    rng = np.random.default_rng(5)
    xs = random_windows(rng, r, 4, fit=False)
    # window 1, cut by the reset, is all highest values, window 0 (sent first after it)
    # none above 0: a partial result left behind shows in window 0's max and sum
    xs[1] = (1 << (r.x_width - 1)) - 1
    xs[0] = -np.abs(xs[0])
    beats, expected, _ = stream_of(r, xs, len(xs))  # one sample of 4 windows
    # 6 beats a window, one a cycle: 9 cycles after the source starts, window 1 is
    # between its taps (the source starts its file over after the second reset)
    res = run_stream(workdir, r.dut(), 8, 2, 10, 2, beats, 1, reset_ns=32 + 10 * 9)
    assert [(b[0], b[1]) for b in res.beats] == expected


def test_reduce_lanes_must_divide_channels(workdir: pathlib.Path) -> None:
    r = Red(MAX, 2, 6, 4, 8, 8)
    with pytest.raises(ghdl.GhdlError, match=r"LANES must divide CHANNELS \(6\), not 4"):
        run_stream(workdir, r.dut(), 8, 4, 8, 4, [([0] * 4, 1)], 1)


@pytest.mark.parametrize("kind", [MAX, SUM])
def test_reduce_synth(tmp_path: pathlib.Path, kind: int) -> None:
    r = Red(kind, 9, 6, 3, 8, 12)
    wrapper = f"""
library ieee;
use ieee.std_logic_1164.all;
entity wrapper is
  port (clk, rst : in std_logic;
    a_tdata : in std_logic_vector({r.lanes * r.x_width - 1} downto 0);
    a_tvalid, a_tlast : in std_logic;
    a_tready : out std_logic;
    b_tdata : out std_logic_vector({r.lanes * r.y_width - 1} downto 0);
    b_tvalid, b_tlast : out std_logic;
    b_tready : in std_logic);
end entity;
architecture rtl of wrapper is
begin
  {r.dut()}
end architecture;
"""
    src = tmp_path / "wrapper.vhd"
    src.write_text(wrapper)
    netlist = ghdl.synth_check([*FILES, src], "wrapper", tmp_path)
    assert "wrapper" in netlist
