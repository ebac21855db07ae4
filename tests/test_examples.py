"""Every example runs (a short version of it) and shows hardware == model."""

import pytest
import torch

from elasticai.creator import cli
from elasticai.creator.examples import digits, timeseries

pytestmark = pytest.mark.sim


def test_digits_demo_is_bit_exact(tmp_path, capsys):
    result = digits.run(tmp_path / "digits", epochs=3, samples=24)
    assert result.mismatches == 0
    assert result.hardware_accuracy == result.quantized_accuracy
    assert result.quantized_accuracy > 0.5
    assert result.latency_cycles < 64 * 32 + 32 * 10  # early start beats the MAC count
    assert (tmp_path / "digits" / "digits_mlp.vhd").is_file()


def test_demo_command_prints_the_report(tmp_path, capsys):
    assert cli.main(["demo", "--epochs", "2", "--samples", "10", "--out", str(tmp_path / "d")]) == 0
    out = capsys.readouterr().out
    for line in [
        "float accuracy",
        "quantized accuracy",
        "hardware-simulation accuracy",
        "outputs differing model vs hardware: 0 of 100",
        "latency:",
        "VHDL written to:",
    ]:
        assert line in out


def test_report_command_prints_a_table_per_layer(tmp_path, monkeypatch, capsys):
    (tmp_path / "my_models.py").write_text(
        "from elasticai.creator.nn import Sequential\n"
        "from elasticai.creator.nn.fixed_point import Linear, ReLU\n"
        "def build():\n"
        "    return Sequential(Linear(6, 4, 8, 4), ReLU(), Linear(4, 2, 8, 4))\n"
    )
    monkeypatch.chdir(tmp_path)
    assert cli.main(["report", "my_models:build", "--target-ii", "4", "--estimate"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["layer", "latency_cycles", "initiation_interval"]
    assert [line.split()[0] for line in lines[1:4]] == ["linear_0", "linear_2", "total"]
    assert lines[3].split()[2] == "4"  # the initiation interval reached


def test_report_command_takes_the_input_shape_of_a_cnn(tmp_path, monkeypatch, capsys):
    (tmp_path / "cnn_models.py").write_text(
        "from elasticai.creator.nn import Sequential\n"
        "from elasticai.creator.nn.fixed_point import Conv1d, MaxPool1d, ReLU\n"
        "def build():\n"
        "    return Sequential(Conv1d(2, 3, 3, 8, 4), ReLU(), MaxPool1d(2))\n"
    )
    monkeypatch.chdir(tmp_path)
    assert cli.main(["report", "cnn_models:build", "--input-shape", "2,10", "--estimate"]) == 0
    lines = capsys.readouterr().out.splitlines()
    names = [line.split()[0] for line in lines[1:5]]
    # the pooling reads the conv's output as it streams (stride = kernel): no window
    assert names == ["window_0", "conv_1", "max_pool_3", "total"]
    assert lines[4].split()[2] == "144"  # 8 positions x 6 window elements x 3 channels, 1 MAC
    capsys.readouterr()
    assert cli.main(["report", "cnn_models:build", "--input-shape", "2x10"]) == 2
    error = capsys.readouterr().err
    assert error.strip().splitlines() == [
        "elasticai-creator report: error: --input-shape takes positive sizes separated by "
        "commas (e.g. 2,64), not '2x10'"
    ]


def test_timeseries_demo_is_bit_exact(tmp_path):
    result = timeseries.run(tmp_path / "ts", epochs=3, samples=12)
    assert result.simulated_samples == 12
    assert result.mismatches == 0
    assert result.outputs == 12 * len(timeseries.CLASSES)
    assert result.hardware_accuracy == result.model_accuracy_simulated
    assert result.quantized_accuracy > 0.6  # chance: 0.25
    assert result.float_accuracy > 0.6
    assert result.latency_cycles > 0 and result.initiation_interval > 0
    assert (tmp_path / "ts" / "timeseries_cnn.vhd").is_file()


def test_timeseries_data_is_reproducible_and_balanced():
    x, y = timeseries.make_signals(40, seed=3)
    assert x.shape == (40, 1, timeseries.LENGTH)
    assert y.bincount().tolist() == [10] * len(timeseries.CLASSES)
    again, _ = timeseries.make_signals(40, seed=3)
    assert torch.equal(x, again)
    assert not torch.equal(x, timeseries.make_signals(40, seed=4)[0])


def test_demo_command_runs_the_timeseries_example(tmp_path, capsys):
    out_dir = tmp_path / "t"
    argv = ["demo", "--example", "timeseries", "--epochs", "2", "--samples", "6"]
    assert cli.main([*argv, "--target-ii", "1024", "--cost", "--out", str(out_dir)]) == 0
    out = capsys.readouterr().out
    for line in [
        "float accuracy",
        "quantized accuracy (8/5 bits)",
        "hardware-simulation accuracy",
        "outputs differing model vs hardware: 0 of 24",
        "latency:",
        "(a new sample every 1024 cycles)",
        "cost (Yosys synth_xilinx, 7-series):",
        "VHDL written to:",
    ]:
        assert line in out
    assert (out_dir / "timeseries_cnn.vhd").is_file()


def test_readme_graph_example_runs_as_written():
    """The residual block of README.md, executed as it stands there (GHDL included)."""
    from pathlib import Path

    readme = (Path(__file__).parents[1] / "README.md").read_text()
    blocks = readme.split("```python\n")
    (code,) = [b.split("```")[0] for b in blocks[1:] if "class ResidualBlock" in b]
    exec(compile(code, "README.md", "exec"), {})


def test_readme_quantize_example_runs_as_written():
    """The ``quantize`` example of README.md, executed as it stands there (GHDL included)."""
    from pathlib import Path

    readme = (Path(__file__).parents[1] / "README.md").read_text()
    blocks = readme.split("```python\n")
    (code,) = [b.split("```")[0] for b in blocks[1:] if "model = quantize(float_model" in b]
    exec(compile(code, "README.md", "exec"), {})


def test_lstm_demo_is_bit_exact(tmp_path):
    from elasticai.creator.examples import lstm

    result = lstm.run(tmp_path / "lstm", epochs=2, samples=6)
    assert result.simulated_samples == 6
    assert result.mismatches == 0
    assert result.outputs == 6 * 4
    assert result.hardware_accuracy == result.model_accuracy_simulated
    assert result.initiation_interval <= lstm.DEFAULT_II and result.gate_rows_per_beat > 1
    assert (tmp_path / "lstm" / "lstm_classifier.vhd").is_file()
