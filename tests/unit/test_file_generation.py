"""OnDiskPath and InMemoryPath: the restricted API the designs are written through."""

import os
import stat

import pytest

from elasticai.creator.file_generation.in_memory_path import InMemoryFile, InMemoryPath
from elasticai.creator.file_generation.on_disk_path import OnDiskPath

BAD_COMPONENTS = ["..", ".", "", "a/b", "/abs", "a\\b", "a\0b", "a\nb", "a\x1fb"]


def refusal(name: str) -> str:
    return (
        "a path component must be a plain name without separators, '..' or control "
        f"characters (it must not escape its root), not {name!r}"
    )


# --- InMemoryPath -----------------------------------------------------------------


def test_in_memory_write_str_splits_into_lines():
    root = InMemoryPath("build", None)
    root.create_subpath("a").as_file(".vhd").write("entity a;\nend;\n")
    file = root["a.vhd"]
    assert isinstance(file, InMemoryFile)
    assert file.name == "a.vhd"
    assert file.text == ["entity a;", "end;"]


def test_in_memory_write_list_of_lines_keeps_lines():
    root = InMemoryPath("build", None)
    root.create_subpath("a").as_file(".txt").write(["x", "y\n", "z"])
    assert root["a.txt"].text == ["x", "y", "z"]


def test_in_memory_nested_folders_share_one_tree():
    root = InMemoryPath("build", None)
    root.create_subpath("sim").create_subpath("deep").as_file(".vhd").write("1")
    root.create_subpath("sim").create_subpath("tb").as_file(".vhd").write("2")
    sim = root["sim"]
    assert isinstance(sim, InMemoryPath)
    assert sorted(sim.children) == ["deep.vhd", "tb.vhd"]
    assert sim["deep.vhd"].text == ["1"]
    assert sim["tb.vhd"].text == ["2"]


def test_in_memory_two_handles_of_one_folder_share_children():
    root = InMemoryPath("build", None)
    first, second = root.create_subpath("f"), root.create_subpath("f")
    first.create_subpath("a").as_file(".t").write("a")
    second.create_subpath("b").as_file(".t").write("b")
    assert sorted(root["f"].children) == ["a.t", "b.t"]


def test_in_memory_folder_without_files_is_not_in_tree():
    root = InMemoryPath("build", None)
    root.create_subpath("empty").create_subpath("inner")
    assert root.children == {}


def test_in_memory_write_twice_overwrites():
    root = InMemoryPath("build", None)
    root.create_subpath("a").as_file(".vhd").write("old")
    root.create_subpath("a").as_file(".vhd").write(["new", "lines"])
    assert list(root.children) == ["a.vhd"]
    assert root["a.vhd"].text == ["new", "lines"]


def test_in_memory_failing_write_keeps_old_text():
    root = InMemoryPath("build", None)
    file = root.create_subpath("a").as_file(".vhd")
    file.write("old")

    def lines():
        yield "new"
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="^boom$"):
        file.write(lines())
    assert root["a.vhd"].text == ["old"]


def test_in_memory_root_as_file_is_refused():
    with pytest.raises(ValueError) as error:
        InMemoryPath("build", None).as_file(".vhd")
    assert str(error.value) == "the root of an InMemoryPath cannot be a file"


def test_in_memory_folder_below_a_file_is_refused():
    root = InMemoryPath("build", None)
    root.create_subpath("a").as_file("").write("file")
    with pytest.raises(FileExistsError) as error:
        root.create_subpath("a").create_subpath("b").as_file(".t").write("x")
    assert str(error.value) == "'a' is a file, it cannot hold other files"
    assert root["a"].text == ["file"]


def test_in_memory_file_over_a_folder_is_refused():
    root = InMemoryPath("build", None)
    root.create_subpath("a").create_subpath("b").as_file(".t").write("x")
    with pytest.raises(IsADirectoryError) as error:
        root.create_subpath("a").as_file("")
    assert str(error.value) == "'a' is a folder, it cannot be written as a file"
    assert root["a"]["b.t"].text == ["x"]


@pytest.mark.parametrize("name", BAD_COMPONENTS)
def test_in_memory_create_subpath_with_bad_component_is_refused(name):
    with pytest.raises(ValueError) as error:
        InMemoryPath("build", None).create_subpath(name)
    assert str(error.value) == refusal(name)


@pytest.mark.parametrize("suffix", ["/x", "\\x", "\0"])
def test_in_memory_as_file_with_bad_suffix_is_refused(suffix):
    with pytest.raises(ValueError) as error:
        InMemoryPath("build", None).create_subpath("a").as_file(suffix)
    assert str(error.value) == refusal("a" + suffix)


def test_in_memory_create_subpath_with_non_str_is_refused():
    with pytest.raises(TypeError) as error:
        InMemoryPath("build", None).create_subpath(3)  # type: ignore[arg-type]
    assert str(error.value) == "a path component must be a str, not 3"


# --- OnDiskPath ---------------------------------------------------------------------


def test_on_disk_write_str_creates_folders(tmp_path):
    root = OnDiskPath("build", parent=tmp_path)
    root.create_subpath("sim").create_subpath("tb").as_file(".vhd").write("x\ny\n")
    assert (tmp_path / "build" / "sim" / "tb.vhd").read_text() == "x\ny\n"


def test_on_disk_write_list_of_lines_ends_each_line(tmp_path):
    root = OnDiskPath("build", parent=tmp_path)
    root.create_subpath("a").as_file(".txt").write(["x", "y\n", "z"])
    assert (tmp_path / "build" / "a.txt").read_bytes() == b"x\ny\nz\n"


def test_on_disk_write_twice_overwrites(tmp_path):
    file = OnDiskPath("build", parent=tmp_path).create_subpath("a").as_file(".vhd")
    file.write("a much longer old content\n")
    file.write("new\n")
    assert (tmp_path / "build" / "a.vhd").read_text() == "new\n"
    assert os.listdir(tmp_path / "build") == ["a.vhd"]


def test_on_disk_write_gives_umask_permissions(tmp_path):
    OnDiskPath("build", parent=tmp_path).create_subpath("a").as_file(".vhd").write("x")
    umask = os.umask(0)
    os.umask(umask)
    mode = stat.S_IMODE((tmp_path / "build" / "a.vhd").stat().st_mode)
    assert mode == 0o666 & ~umask


def test_on_disk_failing_write_keeps_old_file_and_leaves_no_temp(tmp_path):
    file = OnDiskPath("build", parent=tmp_path).create_subpath("a").as_file(".vhd")
    file.write("old\n")

    def lines():
        yield "first new line"
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="^disk full$"):
        file.write(lines())
    assert (tmp_path / "build" / "a.vhd").read_text() == "old\n"
    assert os.listdir(tmp_path / "build") == ["a.vhd"]


def test_on_disk_failing_first_write_leaves_nothing(tmp_path):
    file = OnDiskPath("build", parent=tmp_path).create_subpath("a").as_file(".vhd")

    def lines():
        raise RuntimeError("boom")
        yield ""

    with pytest.raises(RuntimeError, match="^boom$"):
        file.write(lines())
    assert os.listdir(tmp_path / "build") == []


def test_on_disk_file_path_is_below_root():
    file = OnDiskPath("build_dir").create_subpath("sim").as_file(".vhd")
    assert file.path.as_posix() == "build_dir/sim.vhd"


@pytest.mark.parametrize("name", BAD_COMPONENTS)
def test_on_disk_create_subpath_with_bad_component_is_refused(name, tmp_path):
    with pytest.raises(ValueError) as error:
        OnDiskPath("build", parent=tmp_path).create_subpath(name)
    assert str(error.value) == refusal(name)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("suffix", ["/x", "\\x", "\0"])
def test_on_disk_as_file_with_bad_suffix_is_refused(suffix, tmp_path):
    with pytest.raises(ValueError) as error:
        OnDiskPath("build", parent=tmp_path).create_subpath("a").as_file(suffix)
    assert str(error.value) == refusal("a" + suffix)


def test_on_disk_empty_root_name_is_refused():
    with pytest.raises(ValueError) as error:
        OnDiskPath("")
    assert str(error.value) == "OnDiskPath needs a non-empty folder name, not ''"
