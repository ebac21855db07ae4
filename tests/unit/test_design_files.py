"""The files a Design writes, and what simulate refuses before GHDL runs (no simulation)."""

import re

import numpy as np
import pytest
import torch

from elasticai.creator.file_generation.in_memory_path import InMemoryFile, InMemoryPath
from elasticai.creator.file_generation.on_disk_path import OnDiskPath
from elasticai.creator.ir.serialize import graph_to_json
from elasticai.creator.nn import Sequential
from elasticai.creator.nn.fixed_point import HardSigmoid, Linear
from elasticai.creator.sim.ghdl import GhdlNotFoundError

EXPECTED_FILES = {
    "ec_pkg.vhd",
    "ec_framer.vhd",
    "ec_linear.vhd",
    "ec_linear_unrolled.vhd",
    "ec_pointwise.vhd",
    "ec_skid.vhd",
    "my_model_pkg.vhd",
    "my_model.vhd",
    "sim/ec_stream_source.vhd",
    "sim/ec_stream_sink.vhd",
    "sim/my_model_tb.vhd",
    "compile_order.txt",
}
#: What ``save_to`` writes besides ``design.files``: the graph and the ownership marker.
SAVED_EXTRA = {"design.json", ".elasticai-creator"}


def readme_model(seed: int = 0) -> Sequential:
    torch.manual_seed(seed)
    return Sequential(
        Linear(in_features=10, out_features=2, bias=True, total_bits=16, frac_bits=8),
        HardSigmoid(total_bits=16, frac_bits=8),
    )


def in_memory_files(root: InMemoryPath, prefix: str = "") -> dict[str, list[str]]:
    files: dict[str, list[str]] = {}
    for name, child in root.children.items():
        if isinstance(child, InMemoryFile):
            files[prefix + name] = child.text
        else:
            files.update(in_memory_files(child, f"{prefix}{name}/"))
    return files


@pytest.fixture(scope="module")
def design():
    return readme_model().create_design("my_model")


def test_save_to_in_memory_writes_every_file(design):
    root = InMemoryPath("build", None)
    design.save_to(root)
    files = in_memory_files(root)
    assert set(files) == EXPECTED_FILES | SAVED_EXTRA
    assert all(files[name] for name in files), "no file may be empty"
    assert files["my_model.vhd"] == design.files["my_model.vhd"].splitlines()


def test_compile_order_lists_every_vhd_once_with_ec_pkg_first(design):
    order = design.files["compile_order.txt"].splitlines()
    vhd = {name for name in EXPECTED_FILES if name.endswith(".vhd")}
    assert order[0] == "ec_pkg.vhd"
    assert len(order) == len(set(order))
    assert set(order) == vhd
    assert order.index("my_model_pkg.vhd") < order.index("my_model.vhd")
    assert order.index("my_model.vhd") < order.index("sim/my_model_tb.vhd")
    assert all(name.startswith("sim/") for name in order[order.index("my_model.vhd") + 1 :])


def test_save_to_disk_gives_same_files_and_contents(design, tmp_path):
    design.save_to(OnDiskPath("build_dir", parent=tmp_path))
    root = tmp_path / "build_dir"
    written = {
        p.relative_to(root).as_posix(): p.read_text() for p in root.rglob("*") if p.is_file()
    }
    assert {k: v for k, v in written.items() if k not in SAVED_EXTRA} == design.files
    assert written["design.json"] == graph_to_json(design.graph)


def test_save_to_disk_twice_overwrites_with_same_files(design, tmp_path):
    destination = OnDiskPath("build_dir", parent=tmp_path)
    design.save_to(destination)
    design.save_to(destination)
    root = tmp_path / "build_dir"
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()) == (
        sorted(EXPECTED_FILES | SAVED_EXTRA)
    )


def test_translating_same_model_twice_gives_identical_files():
    model = readme_model(seed=3)
    first = model.create_design("my_model").files
    second = model.create_design("my_model").files
    assert first == second
    assert readme_model(seed=3).create_design("my_model").files == first


def test_files_depend_on_weights():
    assert (
        readme_model(seed=1).create_design("my_model").files["my_model_pkg.vhd"]
        != (readme_model(seed=2).create_design("my_model").files["my_model_pkg.vhd"])
    )


def test_design_name_is_top_entity_and_package(design):
    top = design.files["my_model.vhd"]
    assert "entity my_model is" in top
    assert "use work.my_model_pkg.all;" in top
    assert "package my_model_pkg is" in design.files["my_model_pkg.vhd"]
    assert "entity my_model_tb is" in design.files["sim/my_model_tb.vhd"]


def constant_bits(package_text: str, name: str) -> str:
    match = re.search(
        rf"constant {name} : std_logic_vector\((\d+) downto 0\) := (.*?);", package_text, re.S
    )
    assert match is not None, f"no constant {name}"
    bits = "".join(re.findall(r'"([01]*)"', match.group(2)))
    assert len(bits) == int(match.group(1)) + 1
    return bits


def decode(bits: str, count: int, width: int) -> list[int]:
    """Element ``k`` in bits ``k*width ..`` (element 0 lowest), two's complement."""
    value = int(bits, 2)
    out = []
    for k in range(count):
        v = (value >> (k * width)) & ((1 << width) - 1)
        out.append(v - (1 << width) if v >> (width - 1) else v)
    return out


def test_weight_constant_encodes_integer_weights():
    layer = Linear(3, 2, total_bits=8, frac_bits=4, bias=True)
    weights = [[1.0, -1.0, 0.5], [-8.0, 7.9375, 0.0625]]
    with torch.no_grad():
        layer.weight.copy_(torch.tensor(weights))
        layer.bias.copy_(torch.tensor([-0.25, 2.0]))
    package = layer.create_design("tiny").files["tiny_pkg.vhd"]
    bits = constant_bits(package, "LINEAR_0_WEIGHTS")
    assert len(bits) == 2 * 3 * 8
    expected = [[16, -16, 8], [-128, 127, 1]]
    assert decode(bits, 6, 8) == [w for row in expected for w in row]
    assert decode(constant_bits(package, "LINEAR_0_BIASES"), 2, 8) == [-4, 32]


def test_long_weight_constant_is_split_into_chunks_that_decode(design):
    package = design.files["my_model_pkg.vhd"]
    assert '" &\n' in package
    bits = constant_bits(package, "LINEAR_0_WEIGHTS")
    expected = design.graph.nodes[0].op.weight.ravel().tolist()
    assert decode(bits, 20, 16) == expected


@pytest.mark.parametrize(
    ("x", "shape"),
    [
        (np.zeros((4, 3)), "(4, 3)"),
        (np.zeros(10), "(10,)"),
        (torch.zeros(2, 10, 1), "(2, 10, 1)"),
        (torch.zeros(4, 3), "(4, 3)"),
    ],
)
def test_simulate_wrong_input_shape_is_refused_before_ghdl(design, x, shape, monkeypatch):
    monkeypatch.setenv("ELASTICAI_GHDL", "/nonexistent/ghdl")
    with pytest.raises(ValueError) as error:
        design.simulate(x)
    assert str(error.value) == f"my_model takes inputs of shape (batch, 10), not {shape}"


def test_run_wrong_integer_shape_is_refused_before_ghdl(design, monkeypatch):
    monkeypatch.setenv("ELASTICAI_GHDL", "/nonexistent/ghdl")
    with pytest.raises(ValueError) as error:
        design.run(np.zeros((2, 3), dtype=np.int64))
    assert str(error.value) == "integer inputs must have shape (batch, 10)"


def test_simulate_without_ghdl_says_how_to_install(design, monkeypatch):
    monkeypatch.setenv("ELASTICAI_GHDL", "/nonexistent/ghdl")
    with pytest.raises(GhdlNotFoundError) as error:
        design.simulate(torch.zeros(2, 10))
    assert str(error.value) == (
        "GHDL was not found. Install it (Debian/Ubuntu: `apt-get install ghdl`) or set the "
        "ELASTICAI_GHDL environment variable to the ghdl binary. "
        "(ELASTICAI_GHDL='/nonexistent/ghdl' is not an executable)"
    )
