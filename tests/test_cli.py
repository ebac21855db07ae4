"""``elasticai-creator compile``, ``simulate`` and the command line's errors: one line
naming the option, exit 2, nothing written."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

from elasticai.creator import cli
from elasticai.creator.design import Design

MLP = (
    "import torch\n"
    "from elasticai.creator.nn import Sequential\n"
    "from elasticai.creator.nn.fixed_point import Linear, ReLU, Conv1d\n"
    "def build():\n"
    "    torch.manual_seed(0)\n"
    "    return Sequential(Linear(6, 4, 8, 4), ReLU(), Linear(4, 3, 8, 4)).eval()\n"
    "def cnn():\n"
    "    torch.manual_seed(0)\n"
    "    return Sequential(Conv1d(2, 3, 3, 8, 4), ReLU()).eval()\n"
)


@pytest.fixture
def models(tmp_path, monkeypatch):
    (tmp_path / "my_models.py").write_text(MLP)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def error_of(capsys, argv: list[str]) -> str:
    """The one line ``argv`` prints on stderr, checking the exit code 2."""
    capsys.readouterr()
    assert cli.main(argv) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def inputs(n: int = 5, features: int = 6, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-3, 3, (n, features)).round(2)


# --- compile ---------------------------------------------------------------------------


def test_compile_writes_the_design_and_the_vivado_project(models, capsys):
    out = models / "build"
    argv = ["compile", "my_models:build", "--out", str(out), "--name", "mlp", "--target-ii", "4"]
    assert cli.main([*argv, "--vivado-part", "xc7a35ticsg324-1L", "--clock-mhz", "150"]) == 0
    assert (out / "mlp.vhd").is_file() and (out / "design.json").is_file()
    build = (out / "vivado" / "build.tcl").read_text()
    assert "set part xc7a35ticsg324-1l" in build  # Vivado's spelling
    assert "create_clock -period 6.667" in (out / "vivado" / "mlp.xdc").read_text()
    assert "vivado -mode batch -source" in capsys.readouterr().out
    assert not (out / "verilog").exists() and not (out / "sim" / "input.txt").exists()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            ["--vivado-part", "artix7"],
            "--vivado-part must be a Xilinx part name",
        ),
        (["--vivado", "--clock-mhz", "0"], "--clock-mhz must be a positive number of MHz, not 0"),
        (["--clock-mhz", "200"], "--clock-mhz sets the Vivado clock: give --vivado"),
        (["--target-ii", "0"], "--target-ii must be a positive int, not 0"),
        (["--input-shape", "7"], "--input-shape 7 does not fit model[0] (Linear), which takes"),
        (["--testbench-inputs", "x.txt"], "--testbench-inputs x.txt: no such file"),
    ],
)
def test_compile_refuses_bad_options_naming_them_and_writes_nothing(models, capsys, extra, message):
    out = models / "build"
    line = error_of(capsys, ["compile", "my_models:build", "--out", str(out), *extra])
    assert line.startswith("elasticai-creator compile: error: ")
    assert message in line, line
    assert not out.exists()


def test_a_convolution_without_input_shape_names_the_flag(models, capsys):
    line = error_of(capsys, ["compile", "my_models:cnn", "--out", "build"])
    assert line.endswith("is the first layer: give --input-shape CHANNELS,LENGTH"), line
    assert not (models / "build").exists()


@pytest.mark.parametrize(
    ("model", "message"),
    [
        ("my_models", "MODEL must be MODULE:FUNCTION (e.g. my_models:build), not 'my_models'"),
        ("their_models:build", "MODEL their_models:build: no module 'their_models' in"),
        ("my_models:nothing", "MODEL my_models:nothing: module 'my_models' has no function"),
    ],
)
def test_a_bad_model_is_one_line(models, capsys, model, message):
    for command in (["compile", model, "--out", "b"], ["simulate", model, "--input", "x.npy"]):
        assert message in error_of(capsys, command)
    assert not (models / "b").exists()


def test_a_folder_with_files_of_the_user_is_refused_and_kept(models, capsys):
    out = models / "build"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    line = error_of(capsys, ["compile", "my_models:build", "--out", str(out)])
    assert "was not written by elasticai.creator" in line
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
    (out / "notes.txt").unlink()
    assert cli.main(["compile", "my_models:build", "--out", str(out)]) == 0
    (out / "notes.txt").write_text("mine")
    assert "notes.txt" in error_of(capsys, ["compile", "my_models:build", "--out", str(out)])
    assert (out / "notes.txt").read_text() == "mine"


def test_compile_with_testbench_inputs_from_csv(models, capsys):
    np.savetxt(models / "x.csv", inputs(), delimiter=",")
    out = models / "build"
    assert (
        cli.main(["compile", "my_models:build", "--out", str(out), "--testbench-inputs", "x.csv"])
        == 0
    )
    assert len((out / "sim" / "input.txt").read_text().split("\n")) > 5
    assert "sim/run_ghdl.sh" in capsys.readouterr().out


# --- simulate: files ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (np.zeros((4, 5)), "holds an array of shape (4, 5); model takes (samples, 6)"),
        (np.zeros((4, 2, 3)), "holds an array of shape (4, 2, 3); model takes (samples, 6)"),
        (np.array(["a", "b"]), "holds <U1 values, not numbers"),
    ],
)
def test_simulate_refuses_inputs_of_another_shape(models, capsys, array, message):
    np.save(models / "x.npy", array)
    line = error_of(
        capsys, ["simulate", "my_models:build", "--input", "x.npy", "--output", "y.npy"]
    )
    assert line.startswith("elasticai-creator simulate: error: --input x.npy: "), line
    assert message in line, line
    assert not (models / "y.npy").exists()


def test_simulate_refuses_a_csv_with_text_and_other_suffixes(models, capsys):
    (models / "x.csv").write_text("1,2,3,4,5,six\n")
    assert "--input x.csv: cannot be read" in error_of(
        capsys, ["simulate", "my_models:build", "--input", "x.csv"]
    )
    (models / "x.json").write_text("[]")
    assert "give a .npy or .csv file, not '.json'" in error_of(
        capsys, ["simulate", "my_models:build", "--input", "x.json"]
    )
    np.save(models / "x.npy", inputs())
    assert "--output y.txt: give a .npy or .csv file" in error_of(
        capsys, ["simulate", "my_models:build", "--input", "x.npy", "--output", "y.txt"]
    )


def test_simulate_says_where_model_and_hardware_differ(models, capsys, monkeypatch):
    np.save(models / "x.npy", inputs(3))
    real = Design.simulate

    def off_by_one_step(self, x, **kwargs):
        y = real(self, x, **kwargs)
        y[1, 2] += 0.0625
        return y

    monkeypatch.setattr(Design, "simulate", off_by_one_step)
    assert cli.main(["simulate", "my_models:build", "--input", "x.npy"]) == 1
    out = capsys.readouterr().out
    assert "model and hardware differ on 1 of 9 outputs; the first at [1, 2]" in out


def test_a_missing_ghdl_is_one_line(models, capsys, monkeypatch):
    monkeypatch.setenv("ELASTICAI_GHDL", str(models / "no-ghdl"))
    np.save(models / "x.npy", inputs())
    line = error_of(capsys, ["simulate", "my_models:build", "--input", "x.npy"])
    assert "GHDL was not found" in line and "ELASTICAI_GHDL" in line
    line = error_of(capsys, ["compile", "my_models:build", "--out", "b", "--verilog"])
    assert "GHDL was not found" in line
    assert not (models / "b").exists()


# --- help and progress -------------------------------------------------------------------


@pytest.mark.parametrize("command", ["compile", "simulate", "report", "explore"])
def test_help_names_every_option_with_an_example(command, capsys):
    with pytest.raises(SystemExit):
        cli.main([command, "--help"])
    text = capsys.readouterr().out
    parser = cli._parser()
    sub = parser._subparsers._group_actions[0].choices[command]  # type: ignore[union-attr]
    for action in sub._actions:
        for flag in action.option_strings:
            assert flag in text
    assert "examples:" in text
    assert text.count(f"elasticai-creator {command} my_models:") >= 2


def test_progress_is_drawn_only_on_a_terminal(monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    for stream, drawn in ((Terminal(), True), (io.StringIO(), False)):
        monkeypatch.setattr("sys.stderr", stream)
        progress = cli._Progress("simulating")
        progress.samples(3, 10)
        progress.samples(10, 10)
        progress.done()
        text = stream.getvalue()
        assert ("[#########" in text and "10/10" in text and "done in" in text) == drawn
        assert drawn or text == ""


# --- simulate in GHDL --------------------------------------------------------------------


@pytest.mark.sim
@pytest.mark.parametrize("suffix", [".npy", ".csv"])
def test_simulate_agrees_and_writes_the_hardware_outputs(models, capsys, suffix):
    x = inputs(7)
    if suffix == ".npy":
        np.save(models / "x.npy", x)
    else:
        np.savetxt(models / "x.csv", x, delimiter=",")
    argv = ["simulate", "my_models:build", "--input", f"x{suffix}", "--output", f"y{suffix}"]
    assert cli.main(argv) == 0
    assert "model and hardware agree on all 21 outputs of 7 samples" in capsys.readouterr().out
    import my_models  # noqa: F401  (written by the fixture)

    with torch.no_grad():
        expected = my_models.build()(torch.from_numpy(x.astype(np.float32))).numpy()
    y = (
        np.load(models / "y.npy")
        if suffix == ".npy"
        else np.loadtxt(models / "y.csv", delimiter=",")
    )
    assert np.array_equal(y, expected)


@pytest.mark.sim
def test_simulate_takes_maps_flattened_or_not(models, capsys):
    x = np.random.default_rng(1).uniform(-2, 2, (3, 2, 8))
    np.save(models / "x.npy", x)
    np.savetxt(models / "x.csv", x.reshape(3, -1), delimiter=",")
    for name in ("x.npy", "x.csv"):
        argv = ["simulate", "my_models:cnn", "--input-shape", "2,8", "--input", name]
        assert cli.main(argv) == 0
        assert "agree on all 54 outputs of 3 samples" in capsys.readouterr().out


@pytest.mark.sim
def test_simulate_reports_progress(models):
    design = pytest.importorskip("my_models").build().create_design("p")
    calls: list[tuple[int, int]] = []
    design.simulate(
        torch.from_numpy(inputs(4).astype(np.float32)), progress=lambda d, t: calls.append((d, t))
    )
    assert calls[-1] == (4, 4)
    assert all(0 <= d <= t == 4 for d, t in calls)


@pytest.mark.sim
def test_the_installed_command_runs(models):
    np.save(models / "x.npy", inputs(2))
    exe = Path(__import__("sys").executable).parent / "elasticai-creator"
    result = subprocess.run(
        [str(exe), "simulate", "my_models:build", "--input", "x.npy"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "agree on all 6 outputs of 2 samples" in result.stdout
    assert result.stderr == ""  # no progress bar without a terminal


@pytest.mark.sim
def test_simulate_in_icarus_and_a_missing_iverilog(models, capsys, monkeypatch):
    np.save(models / "x.npy", inputs(3))
    argv = ["simulate", "my_models:build", "--input", "x.npy", "--simulator", "icarus"]
    assert cli.main(argv) == 0
    assert "agree on all 9 outputs of 3 samples" in capsys.readouterr().out
    monkeypatch.setenv("ELASTICAI_IVERILOG", str(models / "no-iverilog"))
    line = error_of(capsys, [*argv, "--output", "y.npy"])
    assert "Icarus Verilog was not found" in line and "apt-get install iverilog" in line
    assert not (models / "y.npy").exists()


@pytest.mark.sim
def test_simulate_in_verilator_with_workers(models, capsys, monkeypatch):
    np.save(models / "x.npy", inputs(3))
    argv = ["simulate", "my_models:build", "--input", "x.npy", "--simulator", "verilator"]
    if shutil.which("verilator") is None:
        monkeypatch.setenv("ELASTICAI_VERILATOR", str(models / "no-verilator"))
        line = error_of(capsys, argv)
        assert "Verilator was not found" in line and "apt-get install verilator" in line
        return
    assert cli.main([*argv, "--workers", "2"]) == 0
    assert "agree on all 9 outputs of 3 samples" in capsys.readouterr().out
    line = error_of(capsys, [*argv, "--workers", "0"])
    assert line == "elasticai-creator simulate: error: --workers must be at least 1, not 0"


def test_the_demo_says_what_is_wrong_with_a_target_in_one_line(capsys, tmp_path):
    argv = ["demo", "--example", "lstm", "--epochs", "0", "--target-ii", "5", "--samples", "1"]
    capsys.readouterr()
    assert cli.main([*argv, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()  # (training's progress bars before it)
    assert err[-1].startswith("elasticai-creator demo: error: --target-ii must be at least"), err
    assert "Traceback" not in "\n".join(err)


# --- explore -----------------------------------------------------------------------------

SWEEP = (
    "import torch\n"
    "from elasticai.creator.nn import Sequential\n"
    "from elasticai.creator.nn.fixed_point import Linear\n"
    "X = torch.linspace(-1, 1, 24).reshape(6, 4)\n"
    "Y = torch.tensor([0, 1, 2, 0, 1, 2])\n"
    "def build(point):\n"
    "    return Sequential(Linear(4, 3, point['total_bits'], point['total_bits'] - 2))\n"
    "def evaluate(model):\n"
    "    return float((model(X).argmax(1) == Y).float().mean())\n"
    "def sweep():\n"
    "    return dict(build=build, evaluate=evaluate)\n"
    "def sweep_with_space():\n"
    "    return dict(build=build, evaluate=evaluate, space={'total_bits': [4]})\n"
    "def nothing():\n"
    "    return 42\n"
)


@pytest.fixture
def sweeps(tmp_path, monkeypatch):
    (tmp_path / "my_sweep.py").write_text(SWEEP)
    (tmp_path / "space.json").write_text('{"total_bits": [1, 4], "target_ii": [null, 1]}')
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_explore_prints_the_rows_writes_them_and_caches_them(sweeps, capsys):
    argv = ["explore", "my_sweep:sweep", "--space", "space.json", "--out", "out"]
    assert cli.main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    assert " ".join(lines[0].split()) == (
        "total_bits target_ii accuracy latency_cycles initiation_interval lut ff dsp bram "
        "fmax_mhz exact front"
    )
    assert lines[1].split()[:3] == ["1", "-", "failed:"]
    assert "build: ValueError: total_bits must be at least 2, not 1" in lines[1]
    assert lines[4].split()[:2] == ["4", "1"] and lines[4].endswith("*")
    assert lines[5].startswith("1 of 4 points on the front (*), 2 failed; results in out/")
    rows = json.loads((sweeps / "out" / "results.json").read_text())
    assert [r["cached"] for r in rows] == [False] * 4
    assert len(list((sweeps / "out" / "cache").iterdir())) == 2  # the two that succeeded
    assert cli.main(argv) == 0
    rows = json.loads((sweeps / "out" / "results.json").read_text())
    assert [r["cached"] for r in rows] == [False, False, True, True]


def test_explore_takes_the_space_of_the_sweep_without_space(sweeps, capsys):
    assert cli.main(["explore", "my_sweep:sweep_with_space", "--no-cache"]) == 0
    assert "1 of 1 points on the front" in capsys.readouterr().out
    assert sorted(p.name for p in (sweeps / "explore").iterdir()) == [
        "front.png",
        "results.csv",
        "results.html",
        "results.json",
    ]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["my_sweep:sweep"], "give --space FILE: SWEEP my_sweep:sweep returns no space"),
        (["my_sweep:sweep", "--space", "none.json"], "--space none.json: no such file"),
        (
            ["my_sweep:build", "--space", "space.json"],
            "SWEEP my_sweep:build must be a function without arguments that returns the "
            "sweep's functions, not one that takes (point)",
        ),
        (
            ["my_sweep:nothing", "--space", "space.json"],
            "SWEEP my_sweep:nothing must return the sweep's functions: a dict (or an object) "
            "with build and evaluate, optionally train, space and inputs; not int",
        ),
        (
            ["my_sweep:sweep", "--space", "space.json", "--workers", "0"],
            "workers must be a positive integer, not 0",
        ),
        (
            ["my_sweep:sweep", "--space", "empty.json"],
            "space must have at least one parameter, not none ({})",
        ),
    ],
)
def test_explore_refuses_mistakes_in_one_line(sweeps, capsys, argv, message):
    (sweeps / "empty.json").write_text("{}")
    assert error_of(capsys, ["explore", *argv]) == f"elasticai-creator explore: error: {message}"
    assert not (sweeps / "explore").exists()
