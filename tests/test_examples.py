"""Every example runs (a short version of it) and shows hardware == model."""

import pytest

from elasticai.creator import cli
from elasticai.creator.examples import digits

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
