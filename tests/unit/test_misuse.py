"""Every row of docs/errors.md: the misuse raises exactly the documented exception and message."""

from __future__ import annotations

import pickle
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from elasticai.creator.file_generation.on_disk_path import OnDiskPath
from elasticai.creator.frontend import translate
from elasticai.creator.ir.serialize import load_graph
from elasticai.creator.nn import Sequential
from elasticai.creator.nn.fixed_point import (
    AdaptiveAvgPool1d,
    AvgPool1d,
    BatchNorm1d,
    Conv1d,
    Flatten,
    Linear,
    MaxPool1d,
    PReLU,
    ReLU,
    Sigmoid,
    quantize,
)

TABLE = Path(__file__).parents[2] / "docs" / "errors.md"


def documented() -> dict[str, tuple[str, str]]:
    rows = {}
    for line in TABLE.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        if len(cells) == 4 and cells[2].startswith("`") and not cells[0].startswith("-"):
            message = re.fullmatch(r"(`+) ?(.*?) ?\1", cells[3]).group(2)
            rows[cells[0]] = (cells[2].strip("`"), message)
    return rows


class Residual(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.layer = Linear(3, 3, 8, 4)

    def forward(self, x):
        return x + self.layer(x)


class Graph(torch.nn.Module):
    """What ``forward`` does is the misuse; one layer of each width is at hand."""

    def __init__(self, forward) -> None:
        super().__init__()
        self.a = Linear(3, 3, 8, 4)
        self.b = Linear(3, 2, 8, 3)
        self.step = forward

    def forward(self, x):
        return self.step(self, x)


def graph(forward):
    return translate(Graph(forward), "m")


def sigmoid_of(m, x):
    return torch.sigmoid(m.a(x))


def two_formats(m, x):
    return torch.cat([m.a(x), m.b(x)], dim=1)


def different_shapes(m, x):
    x = quantize(x, 8, 4)
    return m.a(x) + m.b(x)


def cat_batches(m, x):
    return torch.cat([m.a(x), m.a(x)], dim=0)


def unflatten(m, x):
    y = m.a(x)
    return y.view(y.size(0), 3, 1)


def off_grid_clamp(m, x):
    return F.hardtanh(m.a(x), -0.3, 0.3)


def out_of_range_clamp(m, x):
    return torch.clamp(m.a(x), min=9.0)


def dropout_of(m, x):
    return F.dropout(m.a(x), 0.3, training=m.training)


def small_design():
    return Sequential(Linear(3, 2, 8, 4)).create_design("m")


def with_weight(name: str, index: tuple[int, ...], value: float):
    model = Sequential(Linear(3, 2, 8, 4))
    with torch.no_grad():
        getattr(model[0], name)[index] = value
    return model.create_design("m")


def jet():
    return Sequential(
        Linear(16, 8, 8, 4), ReLU(), Linear(8, 8, 8, 4), Linear(8, 4, 8, 4), Linear(4, 2, 8, 4)
    )


def foreign_folder(tmp_path: Path) -> None:
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "todo.txt").write_text("mine")
    small_design().save_to(OnDiskPath("notes"))


def user_files(tmp_path: Path) -> None:
    small_design().save_to(OnDiskPath("build"))
    (tmp_path / "build" / "notes.txt").write_text("mine")
    small_design().save_to(OnDiskPath("build"))


def pickled(tmp_path: Path) -> None:
    (tmp_path / "design.json").write_bytes(pickle.dumps({"weights": [1, 2]}))
    load_graph("design.json")


def without(tool: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(f"ELASTICAI_{tool.upper()}", raising=False)
    real = shutil.which
    monkeypatch.setattr(
        shutil, "which", lambda name, *a, **k: None if name == tool else real(name, *a, **k)
    )
    if tool == "ghdl":
        small_design().simulate(torch.zeros(1, 3))
    elif tool == "verilator":
        small_design().simulate(torch.zeros(1, 3), simulator="verilator")
    else:
        small_design().report()


TRIGGERS = {
    "unsupported layer": lambda tmp, mp: Sequential(
        Linear(3, 2, 8, 4), torch.nn.Conv1d(1, 1, 1)
    ).create_design("m"),
    "adding the real-valued input": lambda tmp, mp: translate(Residual(), "m"),
    "a function without hardware": lambda tmp, mp: graph(sigmoid_of),
    "the input read in two formats": lambda tmp, mp: graph(two_formats),
    "a join of different shapes": lambda tmp, mp: graph(different_shapes),
    "concatenation of other dimensions": lambda tmp, mp: graph(cat_batches),
    "a reshape that is not a flatten": lambda tmp, mp: graph(unflatten),
    "clamp bounds off the grid": lambda tmp, mp: graph(off_grid_clamp),
    "a clamp to values outside the format": lambda tmp, mp: graph(out_of_range_clamp),
    "too few bits": lambda tmp, mp: Linear(3, 2, total_bits=1, frac_bits=0),
    "more fraction than bits": lambda tmp, mp: Linear(3, 2, total_bits=8, frac_bits=9),
    "negative fraction": lambda tmp, mp: Linear(3, 2, total_bits=8, frac_bits=-1),
    "unknown rounding": lambda tmp, mp: ReLU(8, 4, rounding="up"),
    "layers that do not fit": lambda tmp, mp: Sequential(
        Linear(3, 2, 8, 4), Linear(3, 1, 8, 4)
    ).create_design("m"),
    "input of the wrong shape": lambda tmp, mp: small_design().simulate(torch.zeros(4, 5)),
    "design name not an identifier": lambda tmp, mp: Sequential(Linear(3, 2, 8, 4)).create_design(
        "2fast"
    ),
    "design name a reserved word": lambda tmp, mp: Sequential(Linear(3, 2, 8, 4)).create_design(
        "signal"
    ),
    "design name of the library": lambda tmp, mp: Sequential(Linear(3, 2, 8, 4)).create_design(
        "ec_top"
    ),
    "design name of a VHDL library": lambda tmp, mp: Sequential(Linear(3, 2, 8, 4)).create_design(
        "work"
    ),
    "design name too long": lambda tmp, mp: Sequential(Linear(3, 2, 8, 4)).create_design("a" * 300),
    "batch norm in training mode": lambda tmp, mp: Sequential(
        Linear(3, 4, 8, 4), BatchNorm1d(4, 8, 4)
    ).create_design("m"),
    "dropout in training mode": lambda tmp, mp: Sequential(
        Linear(3, 4, 8, 4), torch.nn.Dropout(0.2)
    ).create_design("m"),
    "functional dropout in training mode": lambda tmp, mp: graph(dropout_of),
    "NaN weight (untrained or diverged)": lambda tmp, mp: with_weight(
        "weight", (1, 2), float("nan")
    ),
    "infinite bias": lambda tmp, mp: with_weight("bias", (0,), float("inf")),
    "NaN input": lambda tmp, mp: small_design().simulate(torch.tensor([[0.0, float("nan"), 1.0]])),
    "integer input outside the format": lambda tmp, mp: small_design().run(np.array([[1, 2, 200]])),
    "impossible multiplier budget": lambda tmp, mp: jet().create_design("m", max_multipliers=3),
    "bad interval": lambda tmp, mp: jet().create_design("m", target_ii=0),
    "bad per-layer parallelism": lambda tmp, mp: Linear(4, 6, 8, 4, parallelism=(5, 1)),
    "path escaping its root": lambda tmp, mp: OnDiskPath("b").create_subpath(".."),
    "saving over a foreign folder": lambda tmp, mp: foreign_folder(tmp),
    "saving over files of the user": lambda tmp, mp: user_files(tmp),
    "loading a pickle": lambda tmp, mp: pickled(tmp),
    "GHDL missing": lambda tmp, mp: without("ghdl", mp),
    "Yosys missing": lambda tmp, mp: without("yosys", mp),
    "Verilator missing": lambda tmp, mp: without("verilator", mp),
    "unknown simulator": lambda tmp, mp: small_design().simulate(
        torch.zeros(1, 3), simulator="vcs"
    ),
    "no simulator processes": lambda tmp, mp: small_design().run(np.zeros((1, 3)), workers=0),
    "convolution first without input_shape": lambda tmp, mp: Sequential(
        Conv1d(2, 4, 3, 8, 4)
    ).create_design("m"),
    "kernel larger than the input": lambda tmp, mp: Sequential(Conv1d(2, 4, 5, 8, 4)).create_design(
        "m", input_shape=(2, 3)
    ),
    "wrong number of channels": lambda tmp, mp: Sequential(Conv1d(2, 4, 3, 8, 4)).create_design(
        "m", input_shape=(3, 10)
    ),
    "interval faster than a convolution allows": lambda tmp, mp: Sequential(
        Conv1d(1, 2, 3, 8, 4)
    ).create_design("m", input_shape=(1, 10), target_ii=2),
    "padding mode other than zeros": lambda tmp, mp: Conv1d(
        2, 4, 3, 8, 4, padding=1, padding_mode="reflect"
    ),
    "pooling with ceil_mode": lambda tmp, mp: MaxPool1d(2, ceil_mode=True),
    "average pooling not counting the padding": lambda tmp, mp: AvgPool1d(
        3, padding=1, count_include_pad=False
    ),
    "adaptive pooling to more than one": lambda tmp, mp: AdaptiveAvgPool1d(2),
    "PReLU with a slope per channel": lambda tmp, mp: PReLU(8, 4, num_parameters=3),
    "too many segments": lambda tmp, mp: Sigmoid(8, 4, segments=5000),
    "Flatten of some dimensions": lambda tmp, mp: Flatten(2),
    "batch norm first": lambda tmp, mp: Sequential(BatchNorm1d(3, 8, 4)).eval().create_design("m"),
    "map input in the wrong layout": lambda tmp, mp: (
        Sequential(Conv1d(2, 4, 3, 8, 4))
        .create_design("m", input_shape=(2, 10))
        .simulate(torch.zeros(1, 10, 2))
    ),
    "a bidirectional recurrent layer": lambda tmp, mp: _lstm(2, 3, 8, 4, bidirectional=True),
    "a projection of h": lambda tmp, mp: _lstm(2, 3, 8, 4, proj_size=2),
    "dropout between recurrent layers": lambda tmp, mp: _lstm(
        2, 3, 8, 4, num_layers=2, dropout=0.5
    ),
    "a recurrent layer first without input_shape": lambda tmp, mp: translate(
        Recurrent(_lstm(2, 3, 8, 4, batch_first=True)).eval(), "m"
    ),
    "batch_first=False in a design": lambda tmp, mp: translate(
        Recurrent(_lstm(2, 3, 8, 4)).eval(), "m", input_shape=(5, 2)
    ),
    "Verilog of a design named after a Verilog keyword": lambda tmp, mp: (
        Sequential(Linear(3, 2, 8, 4)).eval().create_design("wire").save_to("notes", verilog=True)
    ),
    "not a Xilinx part": lambda tmp, mp: mlp_design().save_to(
        "notes", vivado=True, vivado_part="artix7"
    ),
    "a clock of 0 MHz": lambda tmp, mp: mlp_design().save_to("notes", vivado=True, clock_mhz=0),
    "a Vivado part without the project": lambda tmp, mp: mlp_design().save_to(
        "notes", vivado_part="xc7a35ticsg324-1L"
    ),
    "a float layer quantize cannot convert": lambda tmp, mp: quantize_model(
        torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.GELU()), torch.zeros(4, 3)
    ),
    "calibration data of the wrong shape": lambda tmp, mp: quantize_model(
        torch.nn.Sequential(torch.nn.Linear(3, 2)), torch.zeros(4, 5)
    ),
    "an override of no layer": lambda tmp, mp: quantize_model(
        torch.nn.Sequential(torch.nn.Linear(3, 2)),
        torch.zeros(4, 3),
        overrides={"fc": {"total_bits": 4}},
    ),
    "an override the layer does not take": lambda tmp, mp: quantize_model(
        torch.nn.Sequential(torch.nn.Linear(3, 2)), torch.zeros(4, 3), overrides={"0": {"bits": 4}}
    ),
    "an empty design space": lambda tmp, mp: explore({}, build=dict, evaluate=len),
    "a parameter without a list of values": lambda tmp, mp: explore(
        {"total_bits": 8}, build=dict, evaluate=len
    ),
    "a sweep on Ray without Ray": lambda tmp, mp: without_ray(mp),
}


def explore(space, **functions):
    from elasticai.creator.explore import explore as sweep

    return sweep(space, progress=False, **functions)


def without_ray(mp):
    import sys  # here: the messages above name lines of this file

    mp.setitem(sys.modules, "ray", None)
    explore({"total_bits": [8]}, build=dict, evaluate=len, executor="ray")


def _lstm(*args, **kwargs):
    from elasticai.creator.nn.fixed_point import LSTM

    return LSTM(*args, **kwargs)


class Recurrent(torch.nn.Module):
    def __init__(self, rnn: torch.nn.Module) -> None:
        super().__init__()
        self.rnn = rnn
        self.fc = Linear(3, 1, 8, 4)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.fc(out[:, -1])


def mlp_design():
    return Sequential(Linear(3, 2, 8, 4)).eval().create_design("m")


def test_every_documented_misuse_has_a_trigger():
    assert set(documented()) == set(TRIGGERS)


@pytest.mark.parametrize("misuse", sorted(TRIGGERS))
def test_misuse_raises_the_documented_error(misuse, tmp_path, monkeypatch):
    exception, message = documented()[misuse]
    monkeypatch.chdir(tmp_path)
    with pytest.raises(Exception) as error:
        TRIGGERS[misuse](tmp_path, monkeypatch)
    assert type(error.value).__name__ == exception
    assert str(error.value) == message
    assert not (tmp_path / "notes" / "m.vhd").exists()  # nothing half-written


def quantize_model(*args, **kwargs):
    from elasticai.creator import quantize

    return quantize(*args, **kwargs)
