"""GHDL tests of ec_framer, the shell's guard against input samples of the wrong length.

Each run sends beats whose tlast marks samples of random lengths (right, short and long
ones) through the framer, with and without stalls on both sides, and compares every output
beat, its tlast and the sticky ``tlast_error`` seen with it against ``frame`` below.
"""

from __future__ import annotations

import pathlib

import numpy as np
import pytest

from elasticai.creator.sim import ghdl
from tests.sim.test_library import pack, unpack
from tests.sim.test_library_join import JOIN_SINK, PKG, SIM_FILES, Snk, Src, run_tb

pytestmark = pytest.mark.sim

FRAMER = ghdl.library_dir() / "ec_framer.vhd"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    path = tmp_path_factory.mktemp("ghdl_framer")
    sink = path / "join_sink.vhd"
    sink.write_text(JOIN_SINK)
    ghdl.analyse([PKG, FRAMER, *SIM_FILES, sink], path)
    return path


Beat = tuple[int, int]  # (value, tlast)


def frame(beats: list[Beat], n: int) -> list[tuple[int, int, int]]:
    """What the framer emits for ``beats`` with samples of ``n`` beats: (value, tlast,
    tlast_error) per output beat. A short sample is padded with zeros, a long one cut
    at ``n`` beats and its rest dropped up to its tlast; either sets the error, which the
    beats after it show."""
    out: list[tuple[int, int, int]] = []
    beat, err, state, i = 0, 0, "pass", 0
    while i < len(beats) or state == "pad":
        last = int(beat == n - 1)
        if state == "pad":
            out.append((0, last, err))
            beat, state = (0, "pass") if last else (beat + 1, "pad")
            continue
        value, tlast = beats[i]
        i += 1
        if state == "drop":
            state = "pass" if tlast else "drop"
            continue
        out.append((value, last, err))
        if last:
            beat = 0
            if not tlast:
                state, err = "drop", 1
        else:
            beat += 1
            if tlast:
                state, err = "pad", 1
    return out


def framer_dut(width: int, beats: int) -> str:
    return f"""dut : block
    signal data : std_logic_vector({width - 1} downto 0);
    signal err : std_logic;
  begin
    framer : entity work.ec_framer
      generic map (WIDTH => {width}, BEATS => {beats})
      port map (clk => clk, rst => rst,
                s_axis_tdata => a_tdata, s_axis_tvalid => a_tvalid,
                s_axis_tready => a_tready, s_axis_tlast => a_tlast,
                m_axis_tdata => data, m_axis_tvalid => y_tvalid,
                m_axis_tready => y_tready, m_axis_tlast => y_tlast,
                tlast_error => err);
    y_tdata <= err & data;
  end block;"""


def run_framer(
    workdir: pathlib.Path, beats: list[Beat], n: int, width: int, stall: int
) -> tuple[list[tuple[int, int, int]], list[int], list[int]]:
    """(value, tlast, error) per output beat, the cycles the source's beats were taken
    and the cycles the sink took the output beats."""
    expected = frame(beats, n)
    src = Src("a", width, [(pack([v], width), last) for v, last in beats], stall, 3)
    snk = Snk("y", width + 1, len(expected), stall and stall + 10, 4)
    run = run_tb(workdir, framer_dut(width, n), [src], [snk])
    got = []
    for bits, last, _ in run.out["y"]:
        got.append((unpack(bits[1:], width)[0], last, int(bits[0])))
    return got, run.src["a"], [c for _, _, c in run.out["y"]]


def random_samples(rng: np.random.Generator, n: int, count: int, width: int) -> list[Beat]:
    """``count`` samples, about a third of them short or long, the last one right."""
    beats: list[Beat] = []
    lo, hi = -(1 << (width - 1)), (1 << (width - 1)) - 1
    for k in range(count):
        kind = rng.integers(0, 3) if k < count - 1 else 0
        length = n if kind == 0 else int(rng.integers(1, n)) if kind == 1 and n > 1 else n + 1
        if kind == 2:
            length = n + int(rng.integers(1, 2 * n + 1))
        for b in range(length):
            beats.append((int(rng.integers(lo, hi + 1)), int(b == length - 1)))
    return beats


@pytest.mark.parametrize("n", [1, 2, 5])
@pytest.mark.parametrize("stall", [0, 30])
def test_framer_agrees_with_reference(workdir: pathlib.Path, n: int, stall: int) -> None:
    width = 9
    rng = np.random.default_rng(100 * n + stall)
    beats = random_samples(rng, n, 24, width)
    got, _, _ = run_framer(workdir, beats, n, width, stall)
    expected = frame(beats, n)
    assert got == expected
    assert any(err for _, _, err in expected)  # the run did meet bad samples
    assert len(expected) % n == 0  # every sample the design sees is whole


@pytest.mark.parametrize("stall", [0, 25])
def test_framer_passes_right_samples_unchanged(workdir: pathlib.Path, stall: int) -> None:
    """Right samples: every beat as it came, tlast where the input had it, no error, and
    without stalls in the cycle it came (no latency, one beat per cycle)."""
    n, width = 4, 8
    rng = np.random.default_rng(stall)
    beats = [(int(v), int(k % n == n - 1)) for k, v in enumerate(rng.integers(-128, 128, 40))]
    got, taken, given = run_framer(workdir, beats, n, width, stall)
    assert got == [(v, last, 0) for v, last in beats]
    assert taken == given
    if stall == 0:
        assert taken == list(range(taken[0], taken[0] + len(beats)))


def test_framer_pads_a_short_sample_with_zeros(workdir: pathlib.Path) -> None:
    beats = [(7, 0), (-3, 1), (1, 0), (2, 0), (3, 1)]  # 2 beats, then a right one
    got, _, _ = run_framer(workdir, beats, 3, 6, 0)
    assert got == [(7, 0, 0), (-3, 0, 0), (0, 1, 1), (1, 0, 1), (2, 0, 1), (3, 1, 1)]


def test_framer_cuts_a_long_sample(workdir: pathlib.Path) -> None:
    beats = [(1, 0), (2, 0), (3, 0), (4, 0), (5, 1), (6, 0), (7, 0), (8, 1)]
    got, _, _ = run_framer(workdir, beats, 3, 6, 0)
    assert got == [(1, 0, 0), (2, 0, 0), (3, 1, 0), (6, 0, 1), (7, 0, 1), (8, 1, 1)]
