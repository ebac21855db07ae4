"""Generated designs under third-party AXI4-Stream components: cocotb 2 + cocotbext-axi
(``cocotb_axis.py``) on GHDL, and the Verilog of the same designs on Icarus Verilog.

A spread of models (MLPs and CNNs, odd sizes, formats from 3 to 12 bits, every lane
setting the planner gives one MLP) gets random samples with random pauses on both
sides; every output is exact against the integer reference and the protocol holds. The
Verilog (``save_to(..., verilog=True)``) under the same pauses gives the same outputs in
the same cycles as the VHDL.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from cocotb_tools.runner import get_results, get_runner

from elasticai.creator.nn import Sequential
from elasticai.creator.nn.fixed_point import (
    Conv1d,
    HardTanh,
    Linear,
    MaxPool1d,
    ReLU,
)
from elasticai.creator.vhdl.top import top_streams

pytestmark = pytest.mark.sim


def mlp(total_bits: int, frac_bits: int, sizes: tuple[int, ...]) -> Sequential:
    torch.manual_seed(sum(sizes) + total_bits)
    layers: list[torch.nn.Module] = []
    for n_in, n_out in zip(sizes, sizes[1:], strict=False):
        layers += [Linear(n_in, n_out, total_bits=total_bits, frac_bits=frac_bits)]
        layers += [ReLU(total_bits=total_bits, frac_bits=frac_bits)]
    layers[-1] = HardTanh(total_bits=total_bits, frac_bits=frac_bits)
    return Sequential(*layers).eval()


def cnn(total_bits: int, frac_bits: int) -> Sequential:
    torch.manual_seed(7)
    fmt = {"total_bits": total_bits, "frac_bits": frac_bits}
    return Sequential(
        Conv1d(2, 3, kernel_size=3, **fmt),
        ReLU(**fmt),
        MaxPool1d(2, **fmt),
        Conv1d(3, 2, kernel_size=2, **fmt),
    ).eval()


def to_bytes(values: np.ndarray, lanes: int, width: int) -> list[int]:
    """A sample's elements as AXI4-Stream bytes: each element ``width`` bits
    little-endian (two's complement), the last beat padded with zero elements."""
    padded = list(values) + [0] * (-len(values) % lanes)
    out: list[int] = []
    for v in padded:
        out += list((int(v) & ((1 << width) - 1)).to_bytes(width // 8, "little"))
    return out


def run_cocotb(
    design,
    x_int: np.ndarray,
    work: Path,
    *,
    verilog: bool,
    stall: int,
    seed: int = 3,
    frames: list[np.ndarray] | None = None,
) -> dict:
    """Run ``cocotb_axis.axis_exact`` on ``design`` (its VHDL on GHDL, or its Verilog on
    Icarus); returns what the bench recorded. ``frames``: what to send instead of the
    samples ``x_int`` (which the design should then compute): misframed samples on
    purpose, where the design must flag ``tlast_error``."""
    source, sink = top_streams(design.graph)
    expected = design.interpret(x_int)
    sent = list(x_int) if frames is None else frames
    config = {
        "misframed": frames is not None,
        "inputs": [to_bytes(s, source.lanes, source.width) for s in sent],
        "expected": [to_bytes(s, sink.lanes, sink.width) for s in expected],
        "beats_in": -(-design.graph.input_type.size // source.lanes),
        "beats_out": -(-design.graph.output_type.size // sink.lanes),
        "seed": seed,
        "stall_in": stall,
        "stall_out": stall,
        "results": str(work / "results.json"),
    }
    work.mkdir(parents=True, exist_ok=True)
    (work / "config.json").write_text(json.dumps(config))
    # the runner gives the simulator this process's sys.path, where the repository is
    env = {"EC_AXIS_CONFIG": str(work / "config.json")}
    if verilog:
        runner = get_runner("icarus")
        source_file = work / f"{design.name}.v"
        source_file.write_text(design.to_verilog())
        runner.build(
            sources=[source_file],
            hdl_toplevel=design.name,
            build_dir=work,
            always=True,
            timescale=("1ns", "1ps"),
        )
        test_args: list[str] = []
    else:
        runner = get_runner("ghdl")
        sources = []
        for name, text in design.synthesizable_files().items():
            path = work / "src" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            sources.append(path)
        runner.build(
            sources=sources,
            hdl_toplevel=design.name,
            build_args=["--std=08"],
            build_dir=work,
            always=True,
        )
        test_args = ["--std=08"]
    log = work / "sim.log"
    try:
        xml = runner.test(
            hdl_toplevel=design.name,
            test_module="tests.sim.cocotb_axis",
            test_dir=work,
            build_dir=work,
            test_args=test_args,
            extra_env=env,
            log_file=log,
        )
    except SystemExit:  # the runner's way of saying a test failed
        xml = None
    failures = [line for line in log.read_text().splitlines() if "Error" in line or "FAIL" in line]
    assert xml is not None and get_results(xml) == (1, 0), "\n".join(failures[-20:])
    return json.loads((work / "results.json").read_text())


def samples(design, n: int, seed: int) -> np.ndarray:
    """``n`` random integer samples over the whole input range, extremes included."""
    dtype = design.graph.input_type.dtype
    rng = np.random.default_rng(seed)
    x = rng.integers(dtype.min_int, dtype.max_int + 1, (n, design.graph.input_type.size))
    x[0, :] = dtype.min_int
    x[1, :] = dtype.max_int
    return x


MODELS = {
    "mlp8": lambda: mlp(8, 4, (6, 10, 4)),
    "mlp6_odd": lambda: mlp(6, 3, (5, 7, 3)),
    "mlp3": lambda: mlp(3, 1, (4, 3, 2)),
    "mlp12": lambda: mlp(12, 6, (3, 5, 2)),
    "cnn8": lambda: cnn(8, 4),
    "cnn10": lambda: cnn(10, 5),
}
SETTINGS = {"serial": {}, "full": {"parallelism": "full"}}


@pytest.fixture
def work(tmp_path: Path) -> Path:
    return tmp_path / "cocotb"


@pytest.mark.parametrize("setting", sorted(SETTINGS))
@pytest.mark.parametrize("model", sorted(MODELS))
def test_third_party_axis_components_get_exact_outputs(
    work: Path, model: str, setting: str
) -> None:
    net = MODELS[model]()
    options = dict(SETTINGS[setting])
    if model.startswith("cnn"):
        options["input_shape"] = (2, 12)
    from elasticai.creator import create_design

    design = create_design(net, model, **options)
    x = samples(design, 8, 1)
    run_cocotb(design, x, work, verilog=False, stall=30)


def lane_settings() -> list[tuple[int, int, int]]:
    """(target_ii, input lanes, output lanes): one target for each distinct lane setting
    the planner gives the odd-sized MLP, from serial to fully parallel."""
    from elasticai.creator import create_design

    seen: dict[tuple[int, ...], int] = {}
    net = mlp(6, 3, (5, 7, 3))
    for ii in (1, 2, 3, 4, 5, 7, 9, 12, 16, 24, 35, 64):
        g = create_design(net, "lanes", target_ii=ii).graph
        key = (g.input_lanes, g.output_lanes, *(g.lanes(n.name) for n in g.nodes))
        seen.setdefault(key, ii)
    return sorted(seen.values())


@pytest.mark.parametrize("target_ii", lane_settings())
def test_every_lane_setting_under_third_party_components(work: Path, target_ii: int) -> None:
    from elasticai.creator import create_design

    design = create_design(mlp(6, 3, (5, 7, 3)), "lanes", target_ii=target_ii)
    run_cocotb(design, samples(design, 6, target_ii), work, verilog=False, stall=25)


@pytest.mark.parametrize(
    ("model", "options"),
    [("mlp6_odd", {}), ("mlp8", {"target_ii": 3}), ("cnn8", {"input_shape": (2, 12)})],
)
def test_verilog_in_icarus_equals_vhdl_in_ghdl(work: Path, model: str, options: dict) -> None:
    """The same stimulus and pauses: the same outputs in the same cycles."""
    from elasticai.creator import create_design

    design = create_design(MODELS[model](), model, **options)
    x = samples(design, 6, 5)
    vhdl = run_cocotb(design, x, work / "vhdl", verilog=False, stall=30)
    verilog = run_cocotb(design, x, work / "verilog", verilog=True, stall=30)
    assert verilog == vhdl


@pytest.mark.parametrize(
    ("model", "options"),
    [("mlp6_odd", {"target_ii": 3}), ("cnn8", {"input_shape": (2, 12), "target_ii": 16})],
)
def test_a_sample_that_ends_early_or_runs_long_is_flagged_and_the_rest_stay_exact(
    work: Path, model: str, options: dict
) -> None:
    """Sample 1 ends a beat early (its rest is taken as zeros), sample 3 runs two beats
    long (cut at its length): tlast_error rises, and every sample is what the design
    should make of it; those after the bad ones are exact, not shifted."""
    from elasticai.creator import create_design

    design = create_design(MODELS[model](), model, **options)
    source, _ = top_streams(design.graph)
    assert source.lanes > 1 or model == "cnn8"
    x = samples(design, 6, 9)
    size = design.graph.input_type.size
    beats = -(-size // source.lanes)
    short_len = (beats - 1) * source.lanes  # one beat fewer
    frames = list(x)
    frames[1] = x[1][:short_len]
    frames[3] = np.concatenate([x[3], x[4][: 2 * source.lanes]])  # two extra beats
    computed = x.copy()
    computed[1, short_len:] = 0
    run_cocotb(design, computed, work, verilog=False, stall=25, frames=frames)
