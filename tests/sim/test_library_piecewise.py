"""GHDL tests of ec_piecewise (piecewise-linear activations) against a Python reference."""

from __future__ import annotations

import math
import pathlib
from dataclasses import dataclass

import numpy as np
import pytest

from elasticai.creator.arithmetic import (
    FixedType,
    Overflow,
    Rounding,
    overflow,
    shift_round,
    signed_width,
)
from elasticai.creator.sim import ghdl
from tests.sim.test_library import PORTS, run_stream, slv

pytestmark = pytest.mark.sim

R_FLOOR, R_UP, R_EVEN = Rounding.FLOOR, Rounding.HALF_UP, Rounding.HALF_EVEN
SAT, WRAP = Overflow.SATURATE, Overflow.WRAP

#: the files ec_piecewise needs (independent of the rest of the library)
FILES = [ghdl.library_dir() / name for name in ("ec_pkg.vhd", "ec_piecewise.vhd")]
SIM_FILES = [f for f in ghdl.library_files(simulation=True) if f.parent.name == "sim"]

LATENCY = 3


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    path = tmp_path_factory.mktemp("ghdl_piecewise")
    ghdl.analyse([*FILES, *SIM_FILES], path)
    return path


def width_of(values: list[int]) -> int:
    """Fewest two's complement bits holding all of ``values``."""
    return signed_width(min(values), max(values))


@dataclass
class PWL:
    lanes: int
    x_width: int
    y_width: int
    breaks: list[int]  # entry 0 unused
    bases: list[int]
    muls: list[int]
    adds: list[int]
    shift: int
    rounding: Rounding
    overflow: Overflow
    pad_lanes: int = 0
    extra: int = 0  # extra (sign) bits in the constant generics

    @property
    def segments(self) -> int:
        return len(self.bases)

    def widths(self) -> tuple[int, int, int]:
        e = self.extra
        return width_of(self.bases) + e, width_of(self.muls) + e, width_of(self.adds) + e

    def ref(self, x: int) -> int:
        k = sum(1 for j in range(1, self.segments) if x >= self.breaks[j])
        t = (x - self.bases[k]) * self.muls[k] + self.adds[k]
        r = int(shift_round(t, self.shift, self.rounding))
        return int(overflow(r, FixedType(self.y_width, 0), self.overflow))

    def dut(self) -> str:
        bw, mw, aw = self.widths()
        return f"""dut : entity work.ec_piecewise
    generic map (LANES => {self.lanes}, X_WIDTH => {self.x_width}, Y_WIDTH => {self.y_width},
      SEGMENTS => {self.segments}, B_WIDTH => {bw}, M_WIDTH => {mw}, A_WIDTH => {aw},
      BREAKS => {slv(self.breaks, self.x_width)}, BASES => {slv(self.bases, bw)},
      MULS => {slv(self.muls, mw)}, ADDS => {slv(self.adds, aw)},
      SHIFT => {self.shift}, ROUNDING => {self.rounding.code},
      OVERFLOW => {self.overflow.code}, PAD_LANES => {self.pad_lanes})
    {PORTS}"""


def x_range(width: int) -> tuple[int, int]:
    return -(1 << (width - 1)), (1 << (width - 1)) - 1


def inputs_for(width: int, rng: np.random.Generator) -> list[int]:
    """All inputs up to 8 bits; for wider ones the extremes, small values and 1000 random."""
    lo, hi = x_range(width)
    if width <= 8:
        return list(range(lo, hi + 1))
    edge = [lo, lo + 1, hi - 1, hi, -1, 0, 1, 2, -2, 3, -3]
    return edge + [int(v) for v in rng.integers(lo, hi + 1, 1000)]


def check_piecewise(
    workdir: pathlib.Path, p: PWL, stall: int, seed: int, beats_per_sample: int = 3
) -> None:
    rng = np.random.default_rng(seed)
    values = inputs_for(p.x_width, rng)
    rng.shuffle(values)
    lo, hi = x_range(p.x_width)
    beats: list[tuple[list[int], int]] = []
    pos = 0
    while pos < len(values) or len(beats) % beats_per_sample:
        last = int(len(beats) % beats_per_sample == beats_per_sample - 1)
        used = p.lanes - p.pad_lanes if last else p.lanes
        lanes = values[pos : pos + used]
        pos += len(lanes)
        # past the end of the values and in padding lanes: random data
        lanes += [int(v) for v in rng.integers(lo, hi + 1, p.lanes - len(lanes))]
        beats.append((lanes, last))
    expected = []
    for xs, last in beats:
        ys = [p.ref(x) for x in xs]
        if last and p.pad_lanes:
            ys[p.lanes - p.pad_lanes :] = [0] * p.pad_lanes
        expected.append((ys, last))
    samples = len(beats) // beats_per_sample
    res = run_stream(
        workdir, p.dut(), p.x_width, p.lanes, p.y_width, p.lanes, beats, samples,
        stall, stall, seed,
    )  # fmt: skip
    assert [(b[0], b[1]) for b in res.beats] == expected
    assert "warning" not in res.output.lower(), res.output  # no metavalues etc.
    if stall == 0:
        assert np.diff(res.source_cycles).tolist() == [1] * (len(beats) - 1)
        latencies = {o[2] - i for o, i in zip(res.beats, res.source_cycles, strict=True)}
        assert latencies == {LATENCY}, latencies


# ---------------------------------------------------------------- constant sets


def affine(
    rng: np.random.Generator, x_width: int, y_width: int, shift: int, negative: bool
) -> dict:
    """One segment, y = ((x - base) * mul + add) / 2**shift, scaled so that the output
    spans about twice the Y_WIDTH range (part of the inputs overflow); mul is odd (so that
    ties occur), negative or positive."""
    scale = 2.0 ** (y_width + shift - x_width)
    mul = (round(float(rng.uniform(0.5, 2.5)) * scale) | 1) * (-1 if negative else 1)
    return dict(
        breaks=[0],
        bases=[int(rng.integers(-(1 << (x_width - 3)), 1 << (x_width - 3)))],
        muls=[mul],
        adds=[int(rng.integers(-(1 << (y_width + shift - 2)), 1 << (y_width + shift - 2)))],
    )


def leaky_relu(slope_num: int, shift: int) -> dict:
    """x for x >= 0, x * slope_num / 2**shift below."""
    return dict(breaks=[0, 0], bases=[0, 0], muls=[slope_num, 1 << shift], adds=[0, 0])


def curve_fit(
    rng: np.random.Generator, segments: int, x_width: int, y_width: int, shift: int, tanh: bool
) -> dict:
    """Chords of a sigmoid (output [0, 1]) or tanh (output [-1, 1]) curve between random
    ascending breaks (duplicates where the input is narrow), input [-8, 8), output in
    y_width - 1 fraction bits, so that values near +1 overflow (saturate or wrap). Each
    segment's constants are perturbed at random, and some slopes made negative."""
    lo, hi = x_range(x_width)
    cut = np.sort(rng.integers(lo + 1, hi + 1, segments - 1)).tolist()
    breaks = [lo, *cut]
    frac_x = x_width - 4
    one = 2 ** (y_width - 1 + shift)  # 1.0 before the shift

    def f(x: int) -> float:
        v = 1 / (1 + math.exp(-x / 2**frac_x))
        return 2 * v - 1 if tanh else v

    bases, muls, adds = [], [], []
    for k in range(segments):
        left = breaks[k]
        right = breaks[k + 1] if k + 1 < segments else hi + 1
        slope = (f(right) - f(left)) / max(right - left, 1) * one
        mul = round(slope) + int(rng.integers(-3, 4))
        if rng.random() < 0.2:  # some falling segments
            mul = -abs(mul) - 1
        bases.append(left + int(rng.integers(-2, 3)))
        muls.append(mul)
        adds.append(round(f(left) * one) + int(rng.integers(-(1 << shift), 1 << shift)))
    return dict(breaks=breaks, bases=bases, muls=muls, adds=adds)


def random_segments(rng: np.random.Generator, segments: int, x_width: int, y_width: int) -> dict:
    """Random bases, muls (both signs) and adds of modest width; breaks ascending."""
    lo, hi = x_range(x_width)
    cut = np.sort(rng.integers(lo, hi + 1, segments - 1)).tolist()
    return dict(
        breaks=[0, *cut],
        bases=rng.integers(lo, hi + 1, segments).tolist(),
        muls=rng.integers(-40, 41, segments).tolist(),
        adds=rng.integers(-(1 << (y_width + 4)), 1 << (y_width + 4), segments).tolist(),
    )


# kind, segments, x_width, y_width, shift, rounding, overflow, lanes, pad, stall, extra
CASES = [
    ("affine", 1, 8, 6, 3, R_EVEN, SAT, 1, 0, 0, 0),
    ("affine", 1, 4, 10, 0, R_FLOOR, WRAP, 3, 2, 40, 1),
    ("affine", 1, 16, 12, 5, R_UP, WRAP, 3, 0, 40, 0),
    ("leaky", 2, 8, 8, 4, R_UP, SAT, 3, 0, 0, 0),
    ("leaky", 2, 16, 16, 7, R_EVEN, SAT, 1, 0, 40, 1),
    ("leaky", 2, 4, 3, 2, R_FLOOR, WRAP, 3, 2, 0, 0),
    ("leaky", 2, 8, 10, 3, R_EVEN, WRAP, 1, 0, 40, 0),
    ("sigmoid", 16, 8, 8, 6, R_EVEN, SAT, 3, 2, 0, 0),
    ("tanh", 16, 8, 6, 4, R_FLOOR, WRAP, 1, 0, 40, 1),
    ("sigmoid", 16, 16, 12, 10, R_UP, SAT, 3, 0, 40, 0),
    ("sigmoid", 16, 4, 8, 3, R_UP, WRAP, 3, 0, 0, 0),
    ("tanh", 16, 16, 20, 8, R_EVEN, WRAP, 1, 0, 0, 2),
    ("sigmoid", 33, 8, 10, 8, R_UP, SAT, 1, 0, 40, 0),
    ("tanh", 33, 16, 10, 12, R_FLOOR, SAT, 3, 2, 0, 0),
    ("tanh", 33, 8, 5, 5, R_EVEN, WRAP, 3, 2, 40, 0),
    ("sigmoid", 33, 16, 16, 9, R_FLOOR, WRAP, 3, 0, 40, 1),
    ("random", 16, 4, 6, 2, R_EVEN, SAT, 1, 0, 40, 0),
    ("random", 16, 8, 12, 4, R_FLOOR, SAT, 3, 2, 40, 0),
    ("random", 33, 16, 8, 6, R_UP, WRAP, 1, 0, 0, 0),
    ("random", 33, 8, 4, 0, R_EVEN, WRAP, 3, 0, 0, 1),
]


def case_id(case: tuple) -> str:
    kind, segments, xw, yw, shift, rounding, mode, lanes, pad, stall, _ = case
    return (
        f"{kind}{segments}-x{xw}-y{yw}-s{shift}-{rounding.value}-{mode.value}"
        f"-l{lanes}p{pad}-st{stall}"
    )


def build(case: tuple) -> PWL:
    kind, segments, xw, yw, shift, rounding, mode, lanes, pad, _, extra = case
    rng = np.random.default_rng(CASES.index(case) + 11)
    if kind == "affine":
        consts = affine(rng, xw, yw, shift, negative=CASES.index(case) % 2 == 0)
    elif kind == "leaky":
        consts = leaky_relu(int(rng.integers(1, 1 << (shift - 1))), shift)
    elif kind in ("sigmoid", "tanh"):
        consts = curve_fit(rng, segments, xw, yw, shift, tanh=kind == "tanh")
    else:
        consts = random_segments(rng, segments, xw, yw)
    assert len(consts["bases"]) == segments
    return PWL(lanes, xw, yw, **consts, shift=shift, rounding=rounding, overflow=mode,
               pad_lanes=pad, extra=extra)  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_piecewise(workdir: pathlib.Path, case: tuple) -> None:
    check_piecewise(workdir, build(case), stall=case[9], seed=CASES.index(case) + 11)


def test_piecewise_extreme_constants(workdir: pathlib.Path) -> None:
    """The most negative base, mul and add of their widths at the extreme inputs."""
    lo, hi = x_range(8)
    p = PWL(
        2, 8, 9, breaks=[0, -1, 64], bases=[-128, 127, -128], muls=[-128, 127, -128],
        adds=[-(1 << 15), (1 << 15) - 1, 0], shift=7, rounding=R_EVEN, overflow=WRAP,
    )  # fmt: skip
    assert p.widths() == (8, 8, 16)
    assert p.ref(hi) != p.ref(lo)
    check_piecewise(workdir, p, stall=0, seed=5)
    p.overflow = SAT
    check_piecewise(workdir, p, stall=40, seed=6)


def test_piecewise_breaks_must_ascend(workdir: pathlib.Path) -> None:
    p = PWL(1, 8, 8, breaks=[0, 5, -3], bases=[0, 0, 0], muls=[1, 2, 3], adds=[0, 0, 0],
            shift=0, rounding=R_FLOOR, overflow=SAT)  # fmt: skip
    with pytest.raises(
        ghdl.GhdlError, match="BREAKS must be non-decreasing, not entry 2 < entry 1"
    ):
        run_stream(workdir, p.dut(), 8, 1, 8, 1, [([1], 1)], 1)


def test_piecewise_synth(tmp_path: pathlib.Path) -> None:
    rng = np.random.default_rng(3)
    p = PWL(2, 8, 8, **curve_fit(rng, 16, 8, 8, 6, tanh=False), shift=6, rounding=R_EVEN,
            overflow=SAT, pad_lanes=1)  # fmt: skip
    wrapper = f"""
library ieee;
use ieee.std_logic_1164.all;
entity wrapper is
  port (clk, rst : in std_logic;
    a_tdata : in std_logic_vector({p.lanes * p.x_width - 1} downto 0);
    a_tvalid, a_tlast : in std_logic;
    a_tready : out std_logic;
    b_tdata : out std_logic_vector({p.lanes * p.y_width - 1} downto 0);
    b_tvalid, b_tlast : out std_logic;
    b_tready : in std_logic);
end entity;
architecture rtl of wrapper is
begin
  {p.dut()}
end architecture;
"""
    src = tmp_path / "wrapper.vhd"
    src.write_text(wrapper)
    netlist = ghdl.synth_check([*FILES, src], "wrapper", tmp_path)
    assert "wrapper" in netlist
