"""Traps a new user fell into: each now works as expected or fails at once, saying why.

Training mode at translation, integer inputs, design names that fail later in GHDL or
on the file system, and saving into a folder that holds the user's own files.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from elasticai.creator import frontend
from elasticai.creator.file_generation.in_memory_path import InMemoryFile, InMemoryPath
from elasticai.creator.file_generation.on_disk_path import OnDiskPath
from elasticai.creator.nn import Sequential
from elasticai.creator.nn.fixed_point import (
    Add,
    AvgPool1d,
    BatchNorm1d,
    Concatenate,
    Conv1d,
    Dropout,
    Flatten,
    HardSigmoid,
    HardSwish,
    HardTanh,
    LeakyReLU,
    Linear,
    MaxPool1d,
    PReLU,
    ReLU,
    ReLU6,
    Sigmoid,
    SiLU,
    Tanh,
    quantize,
)

MARKER = ".elasticai-creator"
EVAL = "unlike the hardware; call model.eval() before create_design"

# --- 1. training mode -----------------------------------------------------------------


def with_batch_norm() -> Sequential:
    torch.manual_seed(0)
    model = Sequential(Linear(3, 4, 8, 4), BatchNorm1d(4, 8, 4), ReLU(), Linear(4, 2, 8, 4))
    model(torch.randn(32, 3))  # training moves the running statistics
    return model


CREATE = {
    "Sequential.create_design": lambda model: model.create_design("m"),
    "frontend.create_design": lambda model: frontend.create_design(model, "m"),
    "frontend.translate": lambda model: frontend.translate(model, "m"),
}


@pytest.mark.parametrize("create", sorted(CREATE))
def test_batch_norm_in_training_mode_is_refused(create):
    model = with_batch_norm()
    with pytest.raises(ValueError) as error:
        CREATE[create](model)
    assert str(error.value) == (
        "model[1] (BatchNorm1d) is in training mode, where it normalises with each batch's "
        f"own statistics, {EVAL}"
    )


def test_batch_norm_after_eval_translates_to_what_the_model_computes():
    model = with_batch_norm().eval()
    x = torch.randn(16, 3)
    design = model.create_design("m")
    out = (
        design.interpret(design.quantize_input(x)) * 2.0**-design.graph.output_type.dtype.frac_bits
    )
    assert torch.equal(torch.from_numpy(out).to(torch.float32), model(x).detach())


@pytest.mark.parametrize("dropout", [Dropout(0.2), torch.nn.Dropout(0.2)])
def test_dropout_in_training_mode_is_refused(dropout):
    model = Sequential(Linear(3, 4, 8, 4), dropout, Linear(4, 2, 8, 4))
    with pytest.raises(ValueError) as error:
        model.create_design("m")
    assert str(error.value) == (
        f"model[1] ({type(dropout).__name__}) is in training mode, where it zeroes values at "
        f"random, {EVAL}"
    )
    assert len(model.eval().create_design("m").graph.nodes) == 2  # dropout: no hardware


def test_a_model_without_mode_dependent_layers_translates_in_training_mode():
    """The README's model, right after training (still in train()), as it always did."""
    model = Sequential(Linear(10, 2, 16, 8), HardSigmoid(16, 8))
    assert model.training
    assert model.create_design("my_model").name == "my_model"


class WithBatchNorm(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = Linear(3, 4, 8, 4)
        self.bn = BatchNorm1d(4, 8, 4)

    def forward(self, x):
        return self.bn(self.fc(x))


def test_a_batch_norm_in_a_graph_model_is_named_by_its_attribute():
    with pytest.raises(ValueError) as error:
        frontend.create_design(WithBatchNorm(), "m")
    assert str(error.value).startswith("model.bn (BatchNorm1d) is in training mode")


def test_a_layer_in_training_mode_with_its_batch_norm_in_eval_is_refused():
    model = with_batch_norm().eval()
    model[0].train()  # in train() it computes without the folded batch norm
    with pytest.raises(ValueError) as error:
        model.create_design("m")
    assert str(error.value) == (
        f"model[0] (Linear) is in training mode, where it leaves out the batch norm folded "
        f"into it, {EVAL}"
    )


class FunctionalDropout(torch.nn.Module):
    def __init__(self, **dropout) -> None:
        super().__init__()
        self.fc = Linear(3, 2, 8, 4)
        self.dropout = dropout

    def forward(self, x):
        return F.dropout(self.fc(x), **self.dropout, training=self.training)


def test_functional_dropout_in_training_mode_is_refused():
    with pytest.raises(ValueError, match=r"\(F\.dropout\) zeroes values at random") as error:
        frontend.create_design(FunctionalDropout(p=0.3), "m")
    assert str(error.value).endswith(
        "(training=True, p=0.3), unlike the hardware; pass training=self.training and call "
        "model.eval() before create_design"
    )
    design = frontend.create_design(FunctionalDropout(p=0.3).eval(), "m")
    assert [n.name for n in design.graph.nodes] == ["linear_0"]


# --- 2. integer inputs ----------------------------------------------------------------


def same_for_ints_and_floats(model: torch.nn.Module, ints: torch.Tensor) -> None:
    floats = ints.to(torch.get_default_dtype())
    y_int, y_float = model(ints), model(floats)
    assert y_int.dtype == y_float.dtype == torch.get_default_dtype()
    assert torch.equal(y_int, y_float)


def test_linear_takes_an_integer_tensor_as_the_floats_it_holds():
    torch.manual_seed(0)
    model = Sequential(Linear(2, 3, 8, 4), ReLU(8, 4), Linear(3, 2, 8, 4)).eval()
    same_for_ints_and_floats(model, torch.tensor([[1, 2]]))
    same_for_ints_and_floats(model[0], torch.tensor([[1, 2], [-3, 0]]))
    assert model(torch.tensor([[1, 2]])).abs().sum() > 0  # not the zeros it once gave


@pytest.mark.parametrize("dtype", [torch.int8, torch.int32, torch.int64, torch.uint8])
def test_a_convolution_model_takes_integer_tensors(dtype):
    torch.manual_seed(1)
    model = Sequential(
        Conv1d(1, 2, 3, 8, 4), ReLU(), MaxPool1d(2), AvgPool1d(1), Flatten(), Linear(8, 2, 8, 4)
    ).eval()
    same_for_ints_and_floats(model, torch.tensor([[[1, 3, 0, 2, 1, 2, 3, 0, 1, 2]]], dtype=dtype))


@pytest.mark.parametrize(
    "layer",
    [
        ReLU(),
        ReLU(8, 4),
        ReLU6(8, 4),
        HardTanh(8, 4),
        HardSigmoid(8, 4),
        HardSwish(8, 4),
        Sigmoid(8, 4),
        Tanh(8, 4),
        SiLU(8, 4),
        LeakyReLU(8, 4),
        PReLU(8, 4),
        Dropout(0.5).eval(),
        BatchNorm1d(4, 8, 4).eval(),
    ],
    ids=lambda layer: type(layer).__name__,
)
def test_activations_take_integer_tensors(layer):
    same_for_ints_and_floats(layer, torch.tensor([[-9, -1, 0, 2], [1, 3, 7, 100]]))


def test_bool_tensors_are_zeros_and_ones():
    layer = HardSigmoid(8, 4)
    assert torch.equal(layer(torch.tensor([True, False])), layer(torch.tensor([1.0, 0.0])))


def test_joins_and_quantize_take_integer_tensors():
    a, b = torch.tensor([[1, -2]]), torch.tensor([[3, 9]])
    assert torch.equal(Add(8, 4)(a, b), Add(8, 4)(a.float(), b.float()))
    assert torch.equal(Add(8, 4)(a, b), torch.tensor([[4.0, 7.0]]))
    assert torch.equal(Concatenate(8, 4)(a, b), torch.tensor([[1.0, -2.0, 3.0, 7.9375]]))
    assert torch.equal(quantize(torch.tensor([9]), 8, 4), torch.tensor([7.9375]))


def test_batch_norm_trains_on_integer_tensors():
    torch.manual_seed(0)
    bn = BatchNorm1d(2, 8, 4)
    same_for_ints_and_floats(bn, torch.tensor([[1, 2], [3, -4], [0, 1]]))


# --- 3. design names ------------------------------------------------------------------


def small() -> Sequential:
    torch.manual_seed(0)
    return Sequential(Linear(3, 2, 8, 4), HardSigmoid(8, 4)).eval()


@pytest.mark.parametrize(
    "name", ["work", "std", "ieee", "WORK", "Ieee", "unisim", "unimacro", "xpm", "secureip"]
)
def test_a_vhdl_library_name_is_refused(name):
    with pytest.raises(ValueError) as error:
        small().create_design(name)
    assert str(error.value) == (
        "design name must not be the name of a VHDL library (std, ieee, work, or a vendor's "
        f"such as unisim), not {name!r}"
    )


@pytest.mark.parametrize("length", [65, 300])
def test_a_long_design_name_is_refused_before_anything_is_written(length, tmp_path):
    name = "a" * length
    with pytest.raises(ValueError) as error:
        small().create_design(name)
    assert str(error.value) == (
        "design name must be at most 64 characters long (it names files such as "
        f"sim/<name>_tb.vhd), not {length} characters ('aaaaaaaaaaaaaaaaaaaaaaaa...')"
    )


def test_the_longest_design_name_saves(tmp_path):
    name = "a" + "b" * 63
    small().create_design(name).save_to(OnDiskPath("out", parent=tmp_path))
    assert (tmp_path / "out" / "sim" / f"{name}_tb.vhd").is_file()
    assert max(len(p.name.encode()) for p in (tmp_path / "out").rglob("*")) < 100


# --- 4. saving into a folder the user added files to -----------------------------------


@pytest.fixture(scope="module")
def design():
    return small().create_design("net")


@pytest.fixture(scope="module")
def cnn_design():
    """Another design with other files (a window entity, other names)."""
    torch.manual_seed(0)
    model = Sequential(Conv1d(1, 2, 3, 8, 4), ReLU(), Flatten(), Linear(8, 2, 8, 4)).eval()
    return model.create_design("cnn", input_shape=(1, 6))


def saved_files(design) -> set[str]:
    return {*design.files, "design.json"}


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_the_marker_lists_every_file_the_save_wrote(design, tmp_path):
    design.save_to(OnDiskPath("build", parent=tmp_path))
    lines = (tmp_path / "build" / MARKER).read_text().splitlines()
    assert lines[0] == "net"
    assert set(lines[lines.index("files:") + 1 :]) == saved_files(design)
    assert set(snapshot(tmp_path / "build")) == {*saved_files(design), MARKER}


def test_user_files_block_the_next_save_which_touches_nothing(design, tmp_path):
    root = tmp_path / "build"
    design.save_to(OnDiskPath("build", parent=tmp_path))
    (root / "notes.txt").write_text("mine")
    (root / "sim" / "my_tb.vhd").write_text("mine too")
    (root / "thesis").mkdir()
    (root / "thesis" / "chapter1.tex").write_text("precious")
    before = snapshot(root)
    with pytest.raises(FileExistsError) as error:
        design.save_to(OnDiskPath("build", parent=tmp_path))
    assert str(error.value) == (
        f"{root} holds 3 files (notes.txt, sim/my_tb.vhd, thesis/) that its last save did not "
        "write; refusing to replace it (move them away, or choose an empty or new folder)"
    )
    assert snapshot(root) == before
    assert os.listdir(tmp_path) == ["build"]


def test_the_error_names_the_first_five_files_and_counts_the_rest(design, tmp_path):
    root = tmp_path / "build"
    design.save_to(OnDiskPath("build", parent=tmp_path))
    for k in range(8):
        (root / f"user_{k}.txt").write_text("mine")
    with pytest.raises(FileExistsError) as error:
        design.save_to(OnDiskPath("build", parent=tmp_path))
    assert str(error.value).startswith(
        f"{root} holds 8 files (user_0.txt, user_1.txt, user_2.txt, user_3.txt, user_4.txt "
        "and 3 more) that its last save did not write;"
    )


def test_an_empty_folder_and_a_symlink_of_the_user_block_the_save(design, tmp_path):
    root = tmp_path / "build"
    design.save_to(OnDiskPath("build", parent=tmp_path))
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "data.txt").write_text("precious")
    (root / "link").symlink_to(tmp_path / "elsewhere")
    (root / "sim" / "empty").mkdir()
    with pytest.raises(FileExistsError, match=r"holds 2 files \(link, sim/empty/\)"):
        design.save_to(OnDiskPath("build", parent=tmp_path))
    assert (tmp_path / "elsewhere" / "data.txt").read_text() == "precious"


def test_files_of_the_last_save_are_replaced_even_if_edited_or_deleted(design, tmp_path):
    root = tmp_path / "build"
    design.save_to(OnDiskPath("build", parent=tmp_path))
    expected = snapshot(root)
    (root / "net.vhd").write_text("edited by hand")
    (root / "sim" / "net_tb.vhd").unlink()
    design.save_to(OnDiskPath("build", parent=tmp_path))
    assert snapshot(root) == expected


def test_saving_another_design_removes_the_files_only_the_last_one_wrote(
    design, cnn_design, tmp_path
):
    root = tmp_path / "build"
    design.save_to(OnDiskPath("build", parent=tmp_path))
    cnn_design.save_to(OnDiskPath("build", parent=tmp_path))
    assert set(snapshot(root)) == {*saved_files(cnn_design), MARKER}
    design.save_to(OnDiskPath("build", parent=tmp_path))
    assert set(snapshot(root)) == {*saved_files(design), MARKER}
    assert not (root / "cnn.vhd").exists()


def test_a_marker_of_an_older_version_lists_nothing(design, tmp_path):
    root = tmp_path / "build"
    root.mkdir()
    (root / MARKER).write_text(
        "old\nThis folder was written by elasticai.creator; saving a design to it again\n"
        "replaces the whole folder.\n"
    )
    (root / "old.vhd").write_text("old design")
    with pytest.raises(FileExistsError) as error:
        design.save_to(OnDiskPath("build", parent=tmp_path))
    assert str(error.value) == (
        f"{root} holds 1 file (old.vhd) that its .elasticai-creator file does not list (an "
        "older version listed none); refusing to replace it (move them away, or choose an "
        "empty or new folder)"
    )
    (root / "old.vhd").unlink()  # only the marker left: replaced as before
    design.save_to(OnDiskPath("build", parent=tmp_path))
    assert set(snapshot(root)) == {*saved_files(design), MARKER}


def in_memory_tree(root: InMemoryPath, prefix: str = "") -> dict[str, list[str]]:
    files: dict[str, list[str]] = {}
    for name, child in root.children.items():
        if isinstance(child, InMemoryFile):
            files[prefix + name] = child.text
        else:
            files.update(in_memory_tree(child, f"{prefix}{name}/"))
    return files


def test_in_memory_user_files_block_the_next_save(design):
    root = InMemoryPath("build", None)
    design.save_to(root.create_subpath("out"))
    root.create_subpath("out").create_subpath("notes").as_file(".txt").write("mine")
    sim = root["out"]["sim"]
    assert isinstance(sim, InMemoryPath)
    sim.create_subpath("my_tb").as_file(".vhd").write("mine too")
    before = in_memory_tree(root)
    with pytest.raises(FileExistsError) as error:
        design.save_to(root.create_subpath("out"))
    assert str(error.value) == (
        "build/out holds 2 files (notes.txt, sim/my_tb.vhd) that its last save did not "
        "write; refusing to replace it (move them away, or choose an empty or new folder)"
    )
    assert in_memory_tree(root) == before


def test_in_memory_files_of_the_last_save_are_replaced(design, cnn_design):
    root = InMemoryPath("build", None)
    design.save_to(root)
    root.create_subpath("net").as_file(".vhd").write("edited by hand")
    cnn_design.save_to(root)
    files = in_memory_tree(root)
    assert set(files) == {*saved_files(cnn_design), MARKER}
    lines = files[MARKER]
    assert set(lines[lines.index("files:") + 1 :]) == saved_files(cnn_design)
