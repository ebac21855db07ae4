"""``Design.save_to`` replaces its destination as a whole, or not at all."""

import os
from pathlib import Path

import pytest
import torch

from elasticai.creator.file_generation import on_disk_path
from elasticai.creator.file_generation.in_memory_path import InMemoryFile, InMemoryPath
from elasticai.creator.file_generation.on_disk_path import OnDiskFile, OnDiskPath
from elasticai.creator.ir.serialize import graph_to_json
from elasticai.creator.nn import Sequential
from elasticai.creator.nn.fixed_point import HardSigmoid, Linear

MARKER = ".elasticai-creator"
REFUSAL = "; refusing to replace it (choose an empty or new folder)"


def model(seed: int) -> Sequential:
    torch.manual_seed(seed)
    return Sequential(
        Linear(in_features=4, out_features=3, total_bits=12, frac_bits=6),
        HardSigmoid(total_bits=12, frac_bits=6),
    )


@pytest.fixture(scope="module")
def design():
    return model(0).create_design("net")


@pytest.fixture(scope="module")
def other_design():
    """Same name, other weights: a second save changes file contents."""
    return model(1).create_design("net")


def expected_files(design) -> dict[str, bytes]:
    files = {name: text.encode() for name, text in design.files.items()}
    files["design.json"] = graph_to_json(design.graph).encode()
    return files


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def without_marker(files: dict[str, bytes]) -> dict[str, bytes]:
    return {name: data for name, data in files.items() if name != MARKER}


def fail_on_write(monkeypatch, cls, n: int) -> None:
    """Make the ``n``-th ``cls.write`` call (counting from 1) raise ``OSError``."""
    original, calls = cls.write, []

    def write(self, content):
        calls.append(1)
        if len(calls) == n:
            raise OSError(28, "No space left on device")
        original(self, content)

    monkeypatch.setattr(cls, "write", write)


# --- on disk --------------------------------------------------------------------------


def test_save_writes_every_file_design_json_and_marker(design, tmp_path):
    design.save_to(OnDiskPath("build_dir", parent=tmp_path))
    written = snapshot(tmp_path / "build_dir")
    assert without_marker(written) == expected_files(design)
    assert written[MARKER].decode().splitlines()[0] == "net"
    assert os.listdir(tmp_path) == ["build_dir"]


def test_save_twice_replaces_contents(design, other_design, tmp_path):
    destination = OnDiskPath("build_dir", parent=tmp_path)
    design.save_to(destination)
    other_design.save_to(destination)
    assert without_marker(snapshot(tmp_path / "build_dir")) == expected_files(other_design)
    design.save_to(destination)
    assert without_marker(snapshot(tmp_path / "build_dir")) == expected_files(design)
    assert os.listdir(tmp_path) == ["build_dir"]


def test_save_to_relative_seed_path_twice(design, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    design.save_to(OnDiskPath("build_dir"))
    design.save_to(OnDiskPath("build_dir"))
    assert without_marker(snapshot(tmp_path / "build_dir")) == expected_files(design)
    assert os.listdir(tmp_path) == ["build_dir"]


def test_save_removes_stale_files_of_a_marked_folder(design, tmp_path):
    root = tmp_path / "build_dir"
    (root / "old_sub").mkdir(parents=True)
    (root / "old_sub" / "stale.vhd").write_text("stale")
    (root / MARKER).write_text("old_design\nfiles:\nold_sub/stale.vhd\n")
    design.save_to(OnDiskPath("build_dir", parent=tmp_path))
    assert without_marker(snapshot(root)) == expected_files(design)


def test_save_into_an_empty_folder_keeps_its_permissions(design, tmp_path):
    root = tmp_path / "build_dir"
    root.mkdir()
    root.chmod(0o750)
    design.save_to(OnDiskPath("build_dir", parent=tmp_path))
    assert without_marker(snapshot(root)) == expected_files(design)
    assert root.stat().st_mode & 0o777 == 0o750


def test_save_creates_missing_parent_folders(design, tmp_path):
    design.save_to(OnDiskPath("build_dir", parent=tmp_path / "a" / "b"))
    assert without_marker(snapshot(tmp_path / "a" / "b" / "build_dir")) == expected_files(design)


@pytest.mark.parametrize("n", [1, 3, 7, 14])  # 14: the last file, the marker
def test_failed_write_leaves_previous_tree_byte_for_byte(
    design, other_design, tmp_path, monkeypatch, n
):
    destination = OnDiskPath("build_dir", parent=tmp_path)
    design.save_to(destination)
    before = snapshot(tmp_path / "build_dir")
    assert len(before) == 14
    fail_on_write(monkeypatch, OnDiskFile, n)
    with pytest.raises(OSError, match="No space left on device"):
        other_design.save_to(destination)
    assert snapshot(tmp_path / "build_dir") == before
    assert os.listdir(tmp_path) == ["build_dir"]


@pytest.mark.parametrize("n", [1, 3, 14])  # 14: the last file, the marker
def test_failed_write_leaves_nothing_where_nothing_was(design, tmp_path, monkeypatch, n):
    fail_on_write(monkeypatch, OnDiskFile, n)
    with pytest.raises(OSError, match="No space left on device"):
        design.save_to(OnDiskPath("build_dir", parent=tmp_path))
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("n", [1, 2])  # 1: moving the old tree aside, 2: moving the new one in
def test_failed_swap_restores_previous_tree(design, other_design, tmp_path, monkeypatch, n):
    destination = OnDiskPath("build_dir", parent=tmp_path)
    design.save_to(destination)
    before = snapshot(tmp_path / "build_dir")
    original, calls = os.rename, []

    def rename(src, dst):
        calls.append(1)
        if len(calls) == n:
            raise OSError(5, "Input/output error")
        original(src, dst)

    monkeypatch.setattr(on_disk_path.os, "rename", rename)
    with pytest.raises(OSError, match="Input/output error"):
        other_design.save_to(destination)
    assert snapshot(tmp_path / "build_dir") == before
    assert os.listdir(tmp_path) == ["build_dir"]


def test_interrupt_leaves_previous_tree(design, other_design, tmp_path, monkeypatch):
    destination = OnDiskPath("build_dir", parent=tmp_path)
    design.save_to(destination)
    before = snapshot(tmp_path / "build_dir")

    def interrupted(self, content):
        raise KeyboardInterrupt

    monkeypatch.setattr(OnDiskFile, "write", interrupted)
    with pytest.raises(KeyboardInterrupt):
        other_design.save_to(destination)
    assert snapshot(tmp_path / "build_dir") == before
    assert os.listdir(tmp_path) == ["build_dir"]


def test_foreign_folder_is_refused_and_untouched(design, tmp_path):
    root = tmp_path / "build_dir"
    (root / "thesis").mkdir(parents=True)
    (root / "thesis" / "chapter1.tex").write_text("precious")
    (root / "notes.txt").write_text("also precious")
    with pytest.raises(FileExistsError) as error:
        design.save_to(OnDiskPath("build_dir", parent=tmp_path))
    assert str(error.value) == (
        f"{root} is not empty and was not written by elasticai.creator" + REFUSAL
    )
    assert snapshot(root) == {
        "thesis/chapter1.tex": b"precious",
        "notes.txt": b"also precious",
    }
    assert os.listdir(tmp_path) == ["build_dir"]


def test_folder_with_a_marker_folder_is_refused(design, tmp_path):
    root = tmp_path / "build_dir"
    (root / MARKER).mkdir(parents=True)
    with pytest.raises(FileExistsError) as error:
        design.save_to(OnDiskPath("build_dir", parent=tmp_path))
    assert str(error.value) == (
        f"{root} is not empty and was not written by elasticai.creator" + REFUSAL
    )


def test_destination_that_is_a_file_is_refused_and_untouched(design, tmp_path):
    (tmp_path / "build_dir").write_text("not a folder")
    with pytest.raises(FileExistsError) as error:
        design.save_to(OnDiskPath("build_dir", parent=tmp_path))
    assert str(error.value) == f"{tmp_path / 'build_dir'} is a file, not a folder" + REFUSAL
    assert (tmp_path / "build_dir").read_text() == "not a folder"
    assert os.listdir(tmp_path) == ["build_dir"]


def test_destination_that_is_a_symlink_is_refused(design, tmp_path):
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "build_dir").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(FileExistsError) as error:
        design.save_to(OnDiskPath("build_dir", parent=tmp_path))
    assert str(error.value) == f"{tmp_path / 'build_dir'} is a symbolic link" + REFUSAL
    assert os.listdir(tmp_path / "elsewhere") == []


def test_parent_folder_as_destination_is_refused(design, tmp_path):
    (tmp_path / "inner").mkdir()
    with pytest.raises(FileExistsError):
        design.save_to(OnDiskPath("..", parent=tmp_path / "inner"))
    assert os.listdir(tmp_path) == ["inner"]


# --- in memory ------------------------------------------------------------------------


def tree(root: InMemoryPath, prefix: str = "") -> dict[str, list[str]]:
    files: dict[str, list[str]] = {}
    for name, child in root.children.items():
        if isinstance(child, InMemoryFile):
            files[prefix + name] = child.text
        else:
            files.update(tree(child, f"{prefix}{name}/"))
    return files


def test_in_memory_save_twice_replaces_contents(design, other_design):
    root = InMemoryPath("build", None)
    design.save_to(root)
    other_design.save_to(root)
    files = tree(root)
    assert files.pop(MARKER)[0] == "net"
    assert files == {
        n: data.decode().splitlines() for n, data in expected_files(other_design).items()
    }


def test_in_memory_save_below_a_subpath(design):
    root = InMemoryPath("build", None)
    design.save_to(root.create_subpath("out"))
    assert set(tree(root)) == {f"out/{name}" for name in [*expected_files(design), MARKER]}
    sim = root["out"]["sim"]
    assert isinstance(sim, InMemoryPath) and sim.parent is not None
    assert sim.parent.name == "out"


@pytest.mark.parametrize("n", [1, 5, 12])
def test_in_memory_failed_write_leaves_previous_tree(design, other_design, monkeypatch, n):
    root = InMemoryPath("build", None)
    design.save_to(root)
    before = tree(root)
    fail_on_write(monkeypatch, InMemoryFile, n)
    with pytest.raises(OSError, match="No space left on device"):
        other_design.save_to(root)
    assert tree(root) == before


def test_in_memory_failed_write_leaves_nothing_where_nothing_was(design, monkeypatch):
    root = InMemoryPath("build", None)
    fail_on_write(monkeypatch, InMemoryFile, 4)
    with pytest.raises(OSError, match="No space left on device"):
        design.save_to(root.create_subpath("out"))
    assert root.children == {}


def test_in_memory_foreign_folder_is_refused_and_untouched(design):
    root = InMemoryPath("build", None)
    root.create_subpath("out").create_subpath("notes").as_file(".txt").write("precious")
    with pytest.raises(FileExistsError) as error:
        design.save_to(root.create_subpath("out"))
    assert str(error.value) == (
        "build/out is not empty and was not written by elasticai.creator" + REFUSAL
    )
    assert tree(root) == {"out/notes.txt": ["precious"]}


def test_in_memory_marked_folder_is_replaced(design):
    root = InMemoryPath("build", None)
    root.create_subpath("stale").as_file(".vhd").write("stale")
    root.create_subpath(MARKER).as_file("").write("old\nfiles:\nstale.vhd\n")
    design.save_to(root)
    assert "stale.vhd" not in root.children
    assert root[MARKER].text[0] == "net"


def test_in_memory_destination_that_is_a_file_is_refused(design):
    root = InMemoryPath("build", None)
    root.create_subpath("out").as_file("").write("a file")
    with pytest.raises(FileExistsError) as error:
        design.save_to(root.create_subpath("out"))
    assert str(error.value) == "build/out is a file, not a folder" + REFUSAL
    assert tree(root) == {"out": ["a file"]}
