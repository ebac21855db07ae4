"""GHDL tests of ec_slice, which keeps elements START .. STOP-1 of every sample of N.

Each run sends several samples (with a random, unread tlast) through the slice, with and
without stalls on both sides, and compares every output beat and its tlast against
``SliceOp.interpret``, and the cycles against ``SliceOp.timing``; then a design with a
slice between two layers runs whole against the interpreter and the timing model.
"""

from __future__ import annotations

import pathlib
import shutil
import subprocess

import numpy as np
import pytest

from elasticai.creator.analysis.timing import predict_timing
from elasticai.creator.arithmetic import FixedType
from elasticai.creator.design import Design
from elasticai.creator.ir import interpret
from elasticai.creator.ir.graph import Graph, Node
from elasticai.creator.ir.types import TensorType, frozen_array
from elasticai.creator.ops import LinearOp, PointwiseOp, SliceOp
from elasticai.creator.passes import run_pipeline
from elasticai.creator.sim import ghdl
from tests.sim.test_library import pack
from tests.sim.test_library_join import (
    JOIN_SINK,
    PKG,
    SIM_FILES,
    Run,
    Snk,
    Src,
    cycles,
    rand_values,
    run_tb,
    stream_ports,
    values,
)

pytestmark = pytest.mark.sim

SLICE = ghdl.library_dir() / "ec_slice.vhd"
WIDTH = 9
T = FixedType(WIDTH, 4)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    path = tmp_path_factory.mktemp("ghdl_slice")
    sink = path / "join_sink.vhd"
    sink.write_text(JOIN_SINK)
    ghdl.analyse([PKG, SLICE, *SIM_FILES, sink], path)
    return path


def slice_dut(n: int, start: int, stop: int) -> str:
    return f"""dut : entity work.ec_slice
    generic map (N => {n}, START => {start}, STOP => {stop}, WIDTH => {WIDTH})
    port map (clk => clk, rst => rst, {stream_ports("s_axis", "a")},
              {stream_ports("m_axis", "y")});"""


def slice_node(n: int, start: int, stop: int) -> Node:
    x, y = TensorType((n,), T), TensorType((stop - start,), T)
    return Node("s", SliceOp(start, stop, lanes=1), ("x",), (x,), y)


def run_slice(
    workdir: pathlib.Path,
    n: int,
    start: int,
    stop: int,
    x: np.ndarray,
    stalls: tuple[int, int],
    block: int = 0,
) -> Run:
    """``x`` (samples, n) through ec_slice; ``stalls``: percent at the source and the sink.
    The input's tlast is random (ec_slice counts the elements itself)."""
    rng = np.random.default_rng(x.size)
    lasts = rng.integers(0, 2, x.size)
    beats = [(pack([int(v)], WIDTH), int(t)) for v, t in zip(x.ravel(), lasts, strict=True)]
    kept = len(x) * (stop - start)
    src = Src("a", WIDTH, beats, stalls[0], 3)
    snk = Snk("y", WIDTH, kept, stalls[1] and stalls[1] + 10, 4, block)
    return run_tb(workdir, slice_dut(n, start, stop), [src], [snk])


CASES = [  # (N, START, STOP)
    (1, 0, 1),  # a sample of one element, kept
    (5, 0, 5),  # everything: a wire
    (5, 0, 2),  # the first ones
    (5, 4, 5),  # the last element only
    (7, 2, 5),  # the middle
    (12, 9, 12),  # the last time step of 4 steps of 3
]
STALLS = [(0, 0), (30, 0), (0, 30), (30, 30)]


@pytest.mark.parametrize("stalls", STALLS, ids=lambda s: f"stall{s[0]}-{s[1]}")
@pytest.mark.parametrize(("n", "start", "stop"), CASES)
def test_slice_agrees_with_interpret(
    workdir: pathlib.Path, n: int, start: int, stop: int, stalls: tuple[int, int]
) -> None:
    """Exact values, tlast on the last kept element of every sample; a kept beat leaves in
    the cycle it is taken (no register), and without stalls at the sink in the cycle
    ``SliceOp.timing`` says."""
    rng = np.random.default_rng(1000 * n + 10 * start + stop)
    samples = 6
    x = np.array(rand_values(rng, samples * n, WIDTH)).reshape(samples, n)
    node = slice_node(n, start, stop)
    run = run_slice(workdir, n, start, stop, x, stalls)
    expected = node.op.interpret(node, [x]).ravel().tolist()
    got = values(run, "y", WIDTH)
    assert [v for (v,), _ in got] == expected
    assert [last for _, last in got] == [
        int(k == stop - start - 1) for _ in x for k in range(stop - start)
    ]
    taken = np.array(run.src["a"])  # the run ends with the last kept element
    assert x.size - (n - stop) <= len(taken) <= x.size
    assert cycles(run, "y") == taken[node.op.kept(node, len(taken))].tolist()
    if stalls[1] == 0:
        assert cycles(run, "y") == node.op.timing(node, [taken], [1]).out.tolist()


def test_dropped_elements_pass_while_the_output_is_blocked(workdir: pathlib.Path) -> None:
    """The elements before the first kept one are taken one a cycle while the sink holds
    tready low; the first kept one waits for it."""
    n, start, stop, block = 12, 9, 12, 40
    x = np.arange(2 * n).reshape(2, n) - n
    run = run_slice(workdir, n, start, stop, x, (0, 0), block)
    taken = run.src["a"]
    assert taken[:start] == list(range(taken[0], taken[0] + start))
    assert taken[start - 1] < block - 2 < taken[start]
    assert [v for (v,), _ in values(run, "y", WIDTH)] == x[:, start:stop].ravel().tolist()


# ---------------------------------------------------------------- in a design


def sequence_graph() -> Graph:
    """A ReLU over 4 steps of 3 elements, the last step, a Linear of it: ``out[:, -1]``."""
    rng = np.random.default_rng(5)
    steps = TensorType((4, 3), T)
    relu = PointwiseOp("relu", 1, 0, 0, 0, T.max_int)
    weight = frozen_array(rng.integers(-20, 20, (2, 3)))
    nodes = [
        Node("relu_0", relu, ("x",), (steps,), steps),
        Node("slice_1", SliceOp(9, 12), ("relu_0",), (steps,), TensorType((3,), T)),
        Node(
            "linear_2",
            LinearOp(weight, None, T, None),
            ("slice_1",),
            (TensorType((3,), T),),
            TensorType((2,), T),
        ),
    ]
    return run_pipeline(Graph.chain("last_step", steps, nodes))


def test_a_design_with_a_slice_is_exact_and_on_time() -> None:
    design = Design(sequence_graph())
    x = np.random.default_rng(2).integers(-256, 256, (12, 12))
    assert np.array_equal(design.run(x, stall_percent=30).outputs, interpret.run(design.graph, x))
    report = design.report(synthesis=False)
    predicted = predict_timing(design.graph)
    assert report["latency_cycles"] == predicted.latency_cycles
    assert report["initiation_interval"] == predicted.initiation_interval


@pytest.mark.skipif(shutil.which("yosys") is None, reason="Yosys not installed")
def test_the_design_as_verilog_has_no_latches_or_loops(tmp_path: pathlib.Path) -> None:
    """The combinational handshake through ec_slice closes no loop with its neighbours."""
    (tmp_path / "last_step.v").write_text(Design(sequence_graph()).to_verilog())
    script = (
        "read_verilog last_step.v; hierarchy -check -top last_step; proc; "
        "select -assert-none t:$dlatch t:$adlatch t:$dlatchsr t:$_DLATCH_*; check -assert"
    )
    run = subprocess.run(
        ["yosys", "-q", "-p", script], cwd=tmp_path, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]


# ---------------------------------------------------------------- synthesis


@pytest.mark.parametrize(("n", "start", "stop"), [*CASES, (1000, 900, 1000)])
def test_synth(tmp_path: pathlib.Path, n: int, start: int, stop: int) -> None:
    """ghdl --synth: synthesizable, no latches."""
    generics = {"N": n, "START": start, "STOP": stop, "WIDTH": WIDTH}
    netlist = ghdl.synth_check([SLICE], "ec_slice", tmp_path, generics)
    assert "ec_slice" in netlist
    assert "latch" not in netlist.lower()


def test_synth_refuses_a_slice_outside_the_sample(tmp_path: pathlib.Path) -> None:
    generics = {"N": 3, "START": 2, "STOP": 5, "WIDTH": WIDTH}
    with pytest.raises(ghdl.GhdlError, match="needs 0 <= START < STOP <= N, not START = 2"):
        ghdl.synth_check([SLICE], "ec_slice", tmp_path, generics)
