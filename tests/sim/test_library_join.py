"""GHDL tests of the stream plumbing of the library: ec_fork, ec_fifo, ec_add, ec_concat.

Each test is exact against a Python reference, with and without random stalls on every
side; a testbench here drives several sources and sinks at once (``run_tb``).
"""

from __future__ import annotations

import pathlib
import shutil
from dataclasses import dataclass, field

import numpy as np
import pytest

from elasticai.creator.sim import ghdl
from tests.sim.test_library import pack, unpack

pytestmark = pytest.mark.sim

#: the files these entities need, the entities themselves, then the stream source
NEW_FILES = [ghdl.library_dir() / n for n in ("ec_fork.vhd", "ec_fifo.vhd", "ec_add.vhd")]
NEW_FILES.append(ghdl.library_dir() / "ec_concat.vhd")
PKG = ghdl.library_dir() / "ec_pkg.vhd"
SIM_FILES = [f for f in ghdl.library_files(simulation=True) if f.parent.name == "sim"]

# A sink that does not end the simulation (several of them in one testbench): it takes
# BEATS beats, deasserting tready with probability STALL_PERCENT per cycle and for the
# first BLOCK_CYCLES cycles, writes "<bits> <tlast> <cycle>" per beat, checks the
# protocol (tvalid kept and tdata/tlast held until the handshake, no metavalues, no beat
# after the last), then raises done.
JOIN_SINK = """
library ieee;
use ieee.std_logic_1164.all;
use ieee.math_real.all;
use std.textio.all;
entity join_sink is
  generic (WIDTH : positive; FILE_NAME : string; SEED : positive := 2;
           STALL_PERCENT : natural := 0; BEATS : natural; BLOCK_CYCLES : natural := 0);
  port (clk, rst : in std_logic; cycle : in natural;
        s_axis_tdata : in std_logic_vector(WIDTH - 1 downto 0);
        s_axis_tvalid : in std_logic; s_axis_tready : out std_logic;
        s_axis_tlast : in std_logic; done : out std_logic);
end entity;
architecture sim of join_sink is
begin
  process
    file f : text;
    variable l : line;
    variable s1 : positive := SEED;
    variable s2 : positive := 104729;
    variable r : real;
    variable ready : std_logic;
    variable n : natural := 0;
    variable k : natural := 1;  -- cycle number of the next rising edge
    variable pending : boolean := false;
    variable pdata : std_logic_vector(WIDTH - 1 downto 0);
    variable plast : std_logic;
  begin
    s_axis_tready <= '0';
    done <= '0';
    file_open(f, FILE_NAME, write_mode);
    wait until rising_edge(clk) and rst = '0';
    while n < BEATS loop
      uniform(s1, s2, r);
      if k < BLOCK_CYCLES or r * 100.0 < real(STALL_PERCENT) then
        ready := '0';
      else
        ready := '1';
      end if;
      s_axis_tready <= ready;
      wait until rising_edge(clk);
      k := k + 1;
      assert s_axis_tvalid = '0' or s_axis_tvalid = '1'
        report FILE_NAME & ": tvalid is " & std_logic'image(s_axis_tvalid) severity failure;
      if pending then
        assert s_axis_tvalid = '1'
          report FILE_NAME & ": tvalid dropped before the handshake" severity failure;
        assert s_axis_tdata = pdata and s_axis_tlast = plast
          report FILE_NAME & ": tdata/tlast changed while not accepted" severity failure;
      end if;
      pending := false;
      if s_axis_tvalid = '1' then
        assert not is_x(s_axis_tdata) and not is_x(s_axis_tlast)
          report FILE_NAME & ": metavalue on tdata/tlast" severity failure;
        if ready = '1' then
          write(l, s_axis_tdata);
          if s_axis_tlast = '1' then
            write(l, string'(" 1 "));
          else
            write(l, string'(" 0 "));
          end if;
          write(l, cycle);
          writeline(f, l);
          n := n + 1;
        else
          pending := true;
          pdata := s_axis_tdata;
          plast := s_axis_tlast;
        end if;
      end if;
    end loop;
    file_close(f);
    s_axis_tready <= '0';
    done <= '1';
    loop
      wait until rising_edge(clk);
      assert s_axis_tvalid /= '1' report FILE_NAME & ": a beat after the last" severity failure;
    end loop;
  end process;
end architecture;
"""


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    path = tmp_path_factory.mktemp("ghdl_join")
    sink = path / "join_sink.vhd"
    sink.write_text(JOIN_SINK)
    ghdl.analyse([PKG, *NEW_FILES, *SIM_FILES, sink], path)
    return path


# ---------------------------------------------------------------- testbench


@dataclass
class Src:
    """A stream source driving signals ``<name>_tdata/_tvalid/_tready/_tlast``."""

    name: str
    width: int  # bits of tdata
    beats: list[tuple[str, int]]  # (bits MSB first, tlast)
    stall: int = 0
    seed: int = 1


@dataclass
class Snk:
    """A sink reading signals ``<name>_tdata/_tvalid/_tready/_tlast``."""

    name: str
    width: int
    beats: int
    stall: int = 0
    seed: int = 2
    block: int = 0  # tready low for the first ``block`` cycles


@dataclass
class Run:
    out: dict[str, list[tuple[str, int, int]]]  # sink -> (bits, tlast, cycle) per beat
    src: dict[str, list[int]]  # source -> cycle of each accepted beat
    output: str = field(repr=False, default="")


_counter = [0]


def run_tb(
    workdir: pathlib.Path,
    dut: str,
    sources: list[Src],
    sinks: list[Snk],
    max_cycles: int = 50000,
) -> Run:
    """Sources -> ``dut`` (a concurrent statement, e.g. an instance or a block) -> sinks;
    runs until every sink has taken its beats."""
    _counter[0] += 1
    name = f"jtb{_counter[0]}"
    decls, insts = [], []
    for s in sources:
        (workdir / f"{name}_{s.name}.txt").write_text(
            "".join(f"{bits} {last}\n" for bits, last in s.beats)
        )
        decls.append(
            f"signal {s.name}_tdata : std_logic_vector({s.width - 1} downto 0);\n"
            f"  signal {s.name}_tvalid, {s.name}_tready, {s.name}_tlast : std_logic;"
        )
        insts.append(f"""src_{s.name} : entity work.ec_stream_source
    generic map (WIDTH => {s.width}, FILE_NAME => "{name}_{s.name}.txt", SEED => {s.seed},
                 STALL_PERCENT => {s.stall}, LOG_NAME => "{name}_{s.name}_log.txt")
    port map (clk => clk, rst => rst, m_axis_tdata => {s.name}_tdata,
              m_axis_tvalid => {s.name}_tvalid, m_axis_tlast => {s.name}_tlast,
              m_axis_tready => {s.name}_tready, done => open);""")
    for k in sinks:
        decls.append(
            f"signal {k.name}_tdata : std_logic_vector({k.width - 1} downto 0);\n"
            f"  signal {k.name}_tvalid, {k.name}_tready, {k.name}_tlast, "
            f"{k.name}_done : std_logic;"
        )
        insts.append(f"""snk_{k.name} : entity work.join_sink
    generic map (WIDTH => {k.width}, FILE_NAME => "{name}_{k.name}_out.txt", SEED => {k.seed},
                 STALL_PERCENT => {k.stall}, BEATS => {k.beats}, BLOCK_CYCLES => {k.block})
    port map (clk => clk, rst => rst, cycle => cycle, s_axis_tdata => {k.name}_tdata,
              s_axis_tvalid => {k.name}_tvalid, s_axis_tready => {k.name}_tready,
              s_axis_tlast => {k.name}_tlast, done => {k.name}_done);""")
    all_done = " and ".join(f"{k.name}_done" for k in sinks)
    nl = "\n  "
    tb = f"""
library ieee;
use ieee.std_logic_1164.all;
use ieee.numeric_std.all;
entity {name} is
end entity;
architecture sim of {name} is
  signal clk : std_logic := '0';
  signal rst : std_logic := '1';
  signal cycle : natural := 0;
  {nl.join(decls)}
begin
  clk <= not clk after 5 ns;
  rst <= '1', '0' after 32 ns;
  count : process (clk)
  begin
    if rising_edge(clk) then
      if rst = '1' then
        cycle <= 0;
      else
        cycle <= cycle + 1;
        assert cycle < {max_cycles} report "timeout" severity failure;
      end if;
    end if;
  end process;
  finish : process
  begin
    wait until rising_edge(clk) and ({all_done}) = '1';
    std.env.finish;
  end process;
  {nl.join(insts)}
  {dut}
end architecture;
"""
    src = workdir / f"{name}.vhd"
    src.write_text(tb)
    text = ghdl.simulate([src], name, workdir)
    out = {}
    for k in sinks:
        rows = []
        for line in (workdir / f"{name}_{k.name}_out.txt").read_text().splitlines():
            if line.strip():
                bits, last, cyc = line.split()
                rows.append((bits, int(last), int(cyc)))
        out[k.name] = rows
    logs = {}
    for s in sources:
        log = (workdir / f"{name}_{s.name}_log.txt").read_text()
        logs[s.name] = [int(x) for x in log.split()]
    return Run(out, logs, text)


def rand_values(rng: np.random.Generator, n: int, width: int) -> list[int]:
    """``n`` values over the whole ``width``-bit range, a fifth of them at the extremes."""
    lo, hi = -(1 << (width - 1)), (1 << (width - 1)) - 1
    vs = [int(v) for v in rng.integers(lo, hi + 1, n)]
    for i in range(n):
        if rng.random() < 0.2:
            vs[i] = lo if rng.random() < 0.5 else hi
    return vs


def sample_lasts(lengths: list[int]) -> list[int]:
    """tlast of every beat for samples of the given lengths (in beats)."""
    return [int(k == n - 1) for n in lengths for k in range(n)]


def values(run: Run, sink: str, width: int) -> list[tuple[list[int], int]]:
    return [(unpack(bits, width), last) for bits, last, _ in run.out[sink]]


def cycles(run: Run, sink: str) -> list[int]:
    return [c for _, _, c in run.out[sink]]


def stream_ports(prefix: str, name: str) -> str:
    return ", ".join(
        f"{prefix}_{sig} => {name}_{sig}" for sig in ("tdata", "tvalid", "tready", "tlast")
    )


STALLS = [0, 30]


# ---------------------------------------------------------------- ec_fork


def fork_dut(width: int, outputs: int) -> str:
    valid = ", ".join(f"m_axis_tvalid({i}) => o{i}_tvalid" for i in range(outputs))
    ready = ", ".join(f"m_axis_tready({i}) => o{i}_tready" for i in range(outputs))
    copies = "\n    ".join(f"o{i}_tdata <= y_tdata; o{i}_tlast <= y_tlast;" for i in range(outputs))
    return f"""fork : block
    signal y_tdata : std_logic_vector({width - 1} downto 0);
    signal y_tlast : std_logic;
  begin
    dut : entity work.ec_fork
      generic map (WIDTH => {width}, OUTPUTS => {outputs})
      port map (clk => clk, rst => rst, {stream_ports("s_axis", "a")},
        m_axis_tdata => y_tdata, m_axis_tlast => y_tlast, {valid}, {ready});
    {copies}
  end block;"""


@pytest.mark.parametrize("stall", STALLS)
@pytest.mark.parametrize("outputs", [1, 2, 3])
def test_fork(workdir: pathlib.Path, outputs: int, stall: int) -> None:
    """Every consumer gets every beat in order with tlast; the input beat leaves in the
    cycle the last consumer takes it (eager fork); zero latency."""
    rng = np.random.default_rng(10 * outputs + stall)
    width = 12
    lasts = sample_lasts([5, 1, 7, 3, 9, 2] * 4)
    vals = rand_values(rng, len(lasts), width)
    beats = [(pack([v], width), last) for v, last in zip(vals, lasts, strict=True)]
    # consumers stall independently, the later ones more often
    sinks = [
        Snk(f"o{i}", width, len(beats), stall and stall + 10 * i, seed=3 + 7 * i)
        for i in range(outputs)
    ]
    run = run_tb(workdir, fork_dut(width, outputs), [Src("a", width, beats, stall, 5)], sinks)
    expected = [([v], last) for v, last in zip(vals, lasts, strict=True)]
    for i in range(outputs):
        assert values(run, f"o{i}", width) == expected
    src = run.src["a"]
    assert len(src) == len(beats)
    for n in range(len(beats)):
        taken = [cycles(run, f"o{i}")[n] for i in range(outputs)]
        assert src[n] == max(taken), (n, src[n], taken)
    if stall == 0:
        for i in range(outputs):
            assert cycles(run, f"o{i}") == src  # latency 0, one beat per cycle
        assert src == list(range(src[0], src[0] + len(beats)))


# ---------------------------------------------------------------- ec_fifo


def fifo_dut(width: int, depth: int, monitor: bool = False) -> str:
    """The FIFO on streams a -> y; ``monitor`` adds a checker of the exact spec, every
    cycle: m_axis_tvalid = (beats held > 0), so a beat is offered from the cycle after it
    came and there are no bubbles, and s_axis_tready = (beats held < DEPTH)."""
    inst = f"""dut : entity work.ec_fifo
    generic map (WIDTH => {width}, DEPTH => {depth})
    port map (clk => clk, rst => rst, {stream_ports("s_axis", "a")},
      {stream_ports("m_axis", "y")});"""
    if not monitor:
        return inst
    return f"""fifo : block
  begin
    {inst}
    mon : process (clk)
      variable held : integer := 0;  -- beats in minus beats out at the edges before this
    begin
      if rising_edge(clk) and rst = '0' then
        assert (held > 0) = (y_tvalid = '1')
          report "ec_fifo: tvalid = " & std_logic'image(y_tvalid) & " with "
                 & integer'image(held) & " beats held" severity failure;
        assert (held < {depth}) = (a_tready = '1')
          report "ec_fifo: tready = " & std_logic'image(a_tready) & " with "
                 & integer'image(held) & " beats held" severity failure;
        if a_tvalid = '1' and a_tready = '1' then
          held := held + 1;
        end if;
        if y_tvalid = '1' and y_tready = '1' then
          held := held - 1;
        end if;
      end if;
    end process;
  end block;"""


def fifo_beats(rng: np.random.Generator, n: int, width: int) -> list[tuple[str, int]]:
    lasts = [int(rng.random() < 0.2) for _ in range(n)]
    lasts[-1] = 1
    return [
        (pack([v], width), last) for v, last in zip(rand_values(rng, n, width), lasts, strict=True)
    ]


FIFO_DEPTHS = [1, 2, 3, 4, 5, 16, 100, 600]


#: (source, sink) stall percentages: none, both, a slow sink (the FIFO runs near full), a
#: slow source (near empty)
FIFO_STALLS = [(0, 0), (30, 30), (10, 50), (50, 10)]


@pytest.mark.parametrize("stalls", FIFO_STALLS, ids=[f"{a}-{b}" for a, b in FIFO_STALLS])
@pytest.mark.parametrize("depth", FIFO_DEPTHS)
def test_fifo_order(workdir: pathlib.Path, depth: int, stalls: tuple[int, int]) -> None:
    """Beats leave in order, unchanged; the monitor checks tvalid/tready every cycle against
    the number of beats held; latency 1 and full throughput without stalls (every second
    cycle for DEPTH = 1)."""
    stall_in, stall_out = stalls
    rng = np.random.default_rng(depth + stall_in + 7 * stall_out)
    width = 9
    n = 300
    beats = fifo_beats(rng, n, width)
    run = run_tb(
        workdir,
        fifo_dut(width, depth, monitor=True),
        [Src("a", width, beats, stall_in, seed=depth)],
        [Snk("y", width, n, stall_out, seed=depth + 11)],
    )
    assert [(bits, last) for bits, last, _ in run.out["y"]] == beats
    src, out = run.src["a"], cycles(run, "y")
    assert all(o >= s + 1 for s, o in zip(src, out, strict=True))
    if stalls == (0, 0):
        assert out[0] == src[0] + 1  # latency 1 (the FIFO is empty at the start)
        assert out == [s + 1 for s in src]
        step = 2 if depth == 1 else 1
        assert src == list(range(src[0], src[0] + step * n, step))
        assert out[-1] - src[0] + 1 == step * (n - 1) + 2  # n beats in n + 1 cycles (step 1)


@pytest.mark.parametrize("depth", FIFO_DEPTHS)
def test_fifo_capacity(workdir: pathlib.Path, depth: int) -> None:
    """With the output blocked the FIFO takes exactly DEPTH beats; once released a beat
    leaves every cycle and, from the cycle after, one enters every cycle as well."""
    rng = np.random.default_rng(100 + depth)
    width = 7
    n = depth + 40
    block = depth + 30
    beats = fifo_beats(rng, n, width)
    run = run_tb(
        workdir,
        fifo_dut(width, depth, monitor=True),
        [Src("a", width, beats, 0, seed=1)],
        [Snk("y", width, n, 0, seed=2, block=block)],
    )
    assert [(bits, last) for bits, last, _ in run.out["y"]] == beats
    src, out = run.src["a"], cycles(run, "y")
    assert sum(c < block for c in src) == depth  # filled while blocked, no more
    assert src[:depth] == list(range(src[0], src[0] + depth))
    assert src[depth] == block + 1  # ready is a register: one cycle after the first pop
    assert out[0] == block
    if depth > 1:
        assert out == list(range(block, block + n))
        assert src[depth:] == list(range(block + 1, block + 1 + n - depth))
    # with random stalls on both sides (a longer block: the stalling source fills slower)
    block = 3 * depth + 30
    run = run_tb(
        workdir,
        fifo_dut(width, depth, monitor=True),
        [Src("a", width, beats, 30, seed=3)],
        [Snk("y", width, n, 30, seed=4, block=block)],
    )
    assert [(bits, last) for bits, last, _ in run.out["y"]] == beats
    assert sum(c < block for c in run.src["a"]) == depth


# ---------------------------------------------------------------- ec_add


@dataclass
class Add:
    lanes: int
    a_width: int
    b_width: int
    y_width: int
    a_shift: int
    b_shift: int
    subtract: bool = False

    def ref(self, a: int, b: int) -> int:
        sa, sb = a << self.a_shift, b << self.b_shift
        return sa - sb if self.subtract else sa + sb

    def dut(self) -> str:
        return f"""dut : entity work.ec_add
    generic map (LANES => {self.lanes}, A_WIDTH => {self.a_width}, B_WIDTH => {self.b_width},
      Y_WIDTH => {self.y_width}, A_SHIFT => {self.a_shift}, B_SHIFT => {self.b_shift},
      SUBTRACT => {str(self.subtract).lower()})
    port map (clk => clk, rst => rst, {stream_ports("s_axis_a", "a")},
      {stream_ports("s_axis_b", "b")}, {stream_ports("m_axis", "y")});"""


ADDS = [
    Add(1, 8, 8, 9, 0, 0),
    Add(1, 8, 8, 9, 0, 0, subtract=True),
    Add(3, 8, 6, 12, 2, 0, subtract=True),
    Add(4, 5, 9, 14, 4, 1),
    Add(4, 16, 16, 17, 0, 0, subtract=True),
    Add(3, 4, 12, 20, 9, 2),
]


@pytest.mark.parametrize("stall", STALLS)
@pytest.mark.parametrize("cfg", ADDS, ids=[f"add{i}" for i in range(len(ADDS))])
def test_add(workdir: pathlib.Path, cfg: Add, stall: int) -> None:
    """Exact sum/difference per lane incl. every pairing of the input extremes; a's tlast;
    both inputs transfer in the same cycle; latency 1."""
    rng = np.random.default_rng(cfg.lanes * 100 + cfg.a_width + stall)
    alo, ahi = -(1 << (cfg.a_width - 1)), (1 << (cfg.a_width - 1)) - 1
    blo, bhi = -(1 << (cfg.b_width - 1)), (1 << (cfg.b_width - 1)) - 1
    pairs = [(x, y) for x in (alo, ahi, 0, -1) for y in (blo, bhi, 0, -1)]
    nbeats = 40
    total = nbeats * cfg.lanes
    av = [p[0] for p in pairs] + rand_values(rng, total - len(pairs), cfg.a_width)
    bv = [p[1] for p in pairs] + rand_values(rng, total - len(pairs), cfg.b_width)
    lasts = sample_lasts([3, 7, 1, 9, 20])
    assert len(lasts) == nbeats
    blasts = [int(rng.random() < 0.5) for _ in range(nbeats)]  # b's tlast is ignored
    L = cfg.lanes
    a_beats = [(pack(av[k * L : (k + 1) * L], cfg.a_width), lasts[k]) for k in range(nbeats)]
    b_beats = [(pack(bv[k * L : (k + 1) * L], cfg.b_width), blasts[k]) for k in range(nbeats)]
    run = run_tb(
        workdir,
        cfg.dut(),
        [
            Src("a", L * cfg.a_width, a_beats, stall, 7),
            Src("b", L * cfg.b_width, b_beats, stall, 9),
        ],
        [Snk("y", L * cfg.y_width, nbeats, stall, 13)],
    )
    ys = [cfg.ref(x, y) for x, y in zip(av, bv, strict=True)]
    expected = [(ys[k * L : (k + 1) * L], lasts[k]) for k in range(nbeats)]
    assert values(run, "y", cfg.y_width) == expected
    sa, sb, out = run.src["a"], run.src["b"], cycles(run, "y")
    assert sa == sb  # beat n of a and of b transfer together
    assert all(o >= s + 1 for s, o in zip(sa, out, strict=True))
    if stall == 0:
        assert out == [s + 1 for s in sa]  # latency 1
        assert out == list(range(out[0], out[0] + nbeats))


def test_add_too_narrow(workdir: pathlib.Path) -> None:
    """Y_WIDTH below the exact width fails at elaboration with a message."""
    cfg = Add(1, 8, 8, 8, 0, 0)
    with pytest.raises(ghdl.GhdlError, match="Y_WIDTH = 8 is too narrow"):
        run_tb(
            workdir,
            cfg.dut(),
            [Src("a", 8, [("0" * 8, 1)]), Src("b", 8, [("0" * 8, 1)])],
            [Snk("y", 8, 1)],
        )


# ---------------------------------------------------------------- ec_concat


@dataclass
class Cat:
    a_width: int
    b_width: int
    y_width: int
    a_shift: int
    b_shift: int
    a_channels: int
    b_channels: int
    positions: int
    a_lanes: int
    b_lanes: int
    y_lanes: int

    @property
    def sequential(self) -> bool:
        return self.a_lanes == self.b_lanes == self.y_lanes

    def dut(self) -> str:
        return f"""dut : entity work.ec_concat
    generic map (A_WIDTH => {self.a_width}, B_WIDTH => {self.b_width},
      Y_WIDTH => {self.y_width}, A_SHIFT => {self.a_shift}, B_SHIFT => {self.b_shift},
      A_CHANNELS => {self.a_channels}, B_CHANNELS => {self.b_channels},
      POSITIONS => {self.positions}, A_LANES => {self.a_lanes}, B_LANES => {self.b_lanes},
      Y_LANES => {self.y_lanes})
    port map (clk => clk, rst => rst, {stream_ports("s_axis_a", "a")},
      {stream_ports("s_axis_b", "b")}, {stream_ports("m_axis", "y")});"""


def seq(
    widths: tuple[int, int, int], shifts: tuple[int, int], ac: int, bc: int, pos: int, lanes: int
) -> Cat:
    return Cat(*widths, *shifts, ac, bc, pos, lanes, lanes, lanes)


def side(widths: tuple[int, int, int], shifts: tuple[int, int], ac: int, bc: int, pos: int) -> Cat:
    return Cat(*widths, *shifts, ac, bc, pos, ac, bc, ac + bc)


CATS = [
    # (A_WIDTH, B_WIDTH, Y_WIDTH), (A_SHIFT, B_SHIFT), A_CHANNELS, B_CHANNELS, POSITIONS[, L]
    seq((8, 8, 8), (0, 0), 4, 6, 3, 2),
    seq((6, 8, 10), (2, 1), 3, 5, 4, 1),
    seq((8, 4, 12), (0, 8), 8, 4, 2, 4),
    seq((5, 5, 5), (0, 0), 2, 2, 1, 2),
    side((8, 8, 8), (0, 0), 3, 2, 4),
    side((4, 8, 11), (7, 3), 1, 1, 5),
    side((8, 6, 12), (1, 4), 4, 3, 1),
]


@pytest.mark.parametrize("stall", STALLS)
@pytest.mark.parametrize("cfg", CATS, ids=[f"cat{i}" for i in range(len(CATS))])
def test_concat(workdir: pathlib.Path, cfg: Cat, stall: int) -> None:
    """torch.cat(dim=1) with channels last, exact conversion, tlast counted inside (the
    inputs' tlast is random); latency 1, one beat per cycle without stalls."""
    rng = np.random.default_rng(cfg.a_channels * 31 + cfg.positions + stall)
    samples = 3
    npos = samples * cfg.positions
    a = [rand_values(rng, cfg.a_channels, cfg.a_width) for _ in range(npos)]
    b = [rand_values(rng, cfg.b_channels, cfg.b_width) for _ in range(npos)]
    a_flat = [v for p in a for v in p]
    b_flat = [v for p in b for v in p]
    al, bl = cfg.a_lanes, cfg.b_lanes
    a_vals = [a_flat[k : k + al] for k in range(0, len(a_flat), al)]
    b_vals = [b_flat[k : k + bl] for k in range(0, len(b_flat), bl)]
    a_beats = [(pack(v, cfg.a_width), int(rng.random() < 0.5)) for v in a_vals]
    b_beats = [(pack(v, cfg.b_width), int(rng.random() < 0.5)) for v in b_vals]
    # reference: per position a's channels, then b's
    y = [
        [v << cfg.a_shift for v in pa] + [v << cfg.b_shift for v in pb]
        for pa, pb in zip(a, b, strict=True)
    ]
    y_flat = [v for p in y for v in p]
    yl = cfg.y_lanes
    y_vals = [y_flat[k : k + yl] for k in range(0, len(y_flat), yl)]
    per_sample = len(y_vals) // samples
    expected = [(v, int(k % per_sample == per_sample - 1)) for k, v in enumerate(y_vals)]
    run = run_tb(
        workdir,
        cfg.dut(),
        [
            Src("a", al * cfg.a_width, a_beats, stall, 17),
            Src("b", bl * cfg.b_width, b_beats, stall, 19),
        ],
        [Snk("y", yl * cfg.y_width, len(y_vals), stall, 23)],
    )
    assert values(run, "y", cfg.y_width) == expected
    sa, sb, out = run.src["a"], run.src["b"], cycles(run, "y")
    if cfg.sequential:
        na, nb = cfg.a_channels // al, cfg.b_channels // bl
        ins = []
        for p in range(npos):
            ins += sa[p * na : (p + 1) * na] + sb[p * nb : (p + 1) * nb]
    else:
        assert sa == sb  # a and b of a position transfer together
        ins = sa
    assert len(ins) == len(out)
    assert all(o >= i + 1 for i, o in zip(ins, out, strict=True))
    if stall == 0:
        assert out == [i + 1 for i in ins]  # latency 1
        assert out == list(range(out[0], out[0] + len(out)))  # one beat per cycle


def test_concat_bad_lanes(workdir: pathlib.Path) -> None:
    """Lanes fitting neither mode fail at elaboration with a message."""
    cfg = Cat(8, 8, 8, 0, 0, 4, 6, 1, 2, 3, 5)
    with pytest.raises(ghdl.GhdlError, match="ec_concat: unsupported lanes"):
        run_tb(
            workdir,
            cfg.dut(),
            [Src("a", 16, [("0" * 16, 1)]), Src("b", 24, [("0" * 24, 1)])],
            [Snk("y", 40, 1)],
        )


# ---------------------------------------------------------------- synthesis


def _wrapper(name: str, ports: list[tuple[str, str, int]], inst: str) -> str:
    """Top entity ``name`` with the given ports (name, in/out, width; 0: std_logic)."""
    decl = ";\n    ".join(
        f"{p} : {d} std_logic" if w == 0 else f"{p} : {d} std_logic_vector({w - 1} downto 0)"
        for p, d, w in ports
    )
    return f"""
library ieee;
use ieee.std_logic_1164.all;
entity {name} is
  port (
    {decl});
end entity;
architecture rtl of {name} is
begin
  {inst}
end architecture;
"""


def _stream(name: str, width: int, slave: bool) -> list[tuple[str, str, int]]:
    i, o = ("in", "out") if slave else ("out", "in")
    return [(f"{name}_tdata", i, width), (f"{name}_tvalid", i, 0), (f"{name}_tready", o, 0)] + [
        (f"{name}_tlast", i, 0)
    ]


def _synth_tops() -> list[tuple[str, str]]:
    clk = [("clk", "in", 0), ("rst", "in", 0)]
    tops = []
    for w, n in [(8, 1), (16, 3)]:
        ports = clk + _stream("a", w, True)
        ports += [("y_tdata", "out", w), ("y_tlast", "out", 0)]
        ports += [("y_tvalid", "out", n), ("y_tready", "in", n)]
        inst = f"""dut : entity work.ec_fork generic map (WIDTH => {w}, OUTPUTS => {n})
    port map (clk => clk, rst => rst, {stream_ports("s_axis", "a")},
      m_axis_tdata => y_tdata, m_axis_tvalid => y_tvalid, m_axis_tready => y_tready,
      m_axis_tlast => y_tlast);"""
        tops.append((f"fork_{n}", _wrapper(f"fork_{n}", ports, inst)))
    for d in [1, 2, 4, 5, 600]:
        ports = clk + _stream("a", 9, True) + _stream("y", 9, False)
        tops.append((f"fifo_{d}", _wrapper(f"fifo_{d}", ports, fifo_dut(9, d))))
    for i, cfg in enumerate([ADDS[2], ADDS[3]]):
        ports = clk + _stream("a", cfg.lanes * cfg.a_width, True)
        ports += _stream("b", cfg.lanes * cfg.b_width, True)
        ports += _stream("y", cfg.lanes * cfg.y_width, False)
        tops.append((f"add_{i}", _wrapper(f"add_{i}", ports, cfg.dut())))
    for i, cfg in enumerate([CATS[0], CATS[4]]):
        ports = clk + _stream("a", cfg.a_lanes * cfg.a_width, True)
        ports += _stream("b", cfg.b_lanes * cfg.b_width, True)
        ports += _stream("y", cfg.y_lanes * cfg.y_width, False)
        tops.append((f"cat_{i}", _wrapper(f"cat_{i}", ports, cfg.dut())))
    return tops


def test_synth(tmp_path: pathlib.Path) -> None:
    """ghdl --synth of every entity in a couple of settings (no latches, synthesizable)."""
    for top, text in _synth_tops():
        src = tmp_path / f"{top}.vhd"
        src.write_text(text)
        netlist = ghdl.synth_check([PKG, *NEW_FILES, src], top, tmp_path)
        assert top in netlist
        assert "latch" not in netlist.lower()


@pytest.mark.skipif(shutil.which("yosys") is None, reason="Yosys not installed")
@pytest.mark.parametrize(("depth", "kind"), [(600, "bram"), (32, "lutram")])
def test_fifo_memory(depth: int, kind: str) -> None:
    """The FIFO's storage maps to block RAM or LUT-RAM, not to flip-flops."""
    from elasticai.creator.synth import synthesize

    width = 16
    ports = [("clk", "in", 0), ("rst", "in", 0)]
    ports += _stream("a", width, True) + _stream("y", width, False)
    files = {"ec_pkg.vhd": PKG.read_text(), "ec_fifo.vhd": NEW_FILES[1].read_text()}
    files["fifo_top.vhd"] = _wrapper("fifo_top", ports, fifo_dut(width, depth))
    total = synthesize(files, "fifo_top").total
    print(f"ec_fifo WIDTH={width} DEPTH={depth}: {total}")
    assert total[kind] > 0, total
    assert total["ff"] < 4 * (width + 1) + 40, total
