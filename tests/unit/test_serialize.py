"""``design.json``: an exact, versioned, data-only round trip of the IR graph."""

import json
import os
import pickle
from dataclasses import fields

import numpy as np
import pytest
import torch

from elasticai.creator.arithmetic import FixedType
from elasticai.creator.design import Design
from elasticai.creator.file_generation.on_disk_path import OnDiskPath
from elasticai.creator.ir.graph import Graph, Node, TensorType, frozen_array
from elasticai.creator.ir.serialize import graph_from_json, graph_to_json, load_graph
from elasticai.creator.nn import Sequential
from elasticai.creator.nn.fixed_point import HardSigmoid, Linear, ReLU
from elasticai.creator.ops import LinearOp
from elasticai.creator.vhdl.lower import lower

OPTIONS = [
    {},
    {"target_ii": 4},
    {"max_multipliers": 3},
    {"parallelism": "full"},
    {"parallelism": "full", "pipeline_levels": 1},
]


def model(total_bits: int, frac_bits: int, seed: int = 0) -> Sequential:
    torch.manual_seed(seed)
    return Sequential(
        Linear(6, 5, total_bits=total_bits, frac_bits=frac_bits),
        ReLU(),
        Linear(5, 3, total_bits=total_bits, frac_bits=frac_bits),
        HardSigmoid(total_bits=total_bits, frac_bits=frac_bits),
    )


def assert_same_graph(a: Graph, b: Graph) -> None:
    """Field by field; ``LinearOp`` compares its arrays by value and dtype kind."""
    assert [getattr(a, f.name) for f in fields(a) if f.name != "nodes"] == [
        getattr(b, f.name) for f in fields(b) if f.name != "nodes"
    ]
    assert len(a.nodes) == len(b.nodes)
    for x, y in zip(a.nodes, b.nodes, strict=True):
        assert (x.name, x.inputs, x.input_types, x.output_type, x.source) == (
            y.name,
            y.inputs,
            y.input_types,
            y.output_type,
            y.source,
        )
        assert type(x.op) is type(y.op)
        for f in fields(x.op):
            u, v = getattr(x.op, f.name), getattr(y.op, f.name)
            if isinstance(u, np.ndarray):
                assert isinstance(v, np.ndarray) and not v.flags.writeable
                assert u.shape == v.shape and u.tolist() == v.tolist()
            else:
                assert u == v, f.name


@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: str(o) or "serial")
@pytest.mark.parametrize(("total_bits", "frac_bits"), [(8, 4), (16, 8), (32, 16)])
def test_round_trip_is_exact_and_lowers_to_identical_vhdl(options, total_bits, frac_bits):
    design = model(total_bits, frac_bits).create_design("net", **options)
    text = graph_to_json(design.graph)
    loaded = graph_from_json(text)
    assert_same_graph(loaded, design.graph)
    assert graph_to_json(loaded) == text
    assert lower(loaded) == lower(design.graph)
    assert Design(loaded).files == design.files


def test_json_is_versioned_and_plain_data():
    data = json.loads(graph_to_json(model(8, 4).create_design("net").graph))
    assert (data["format"], data["version"]) == ("elasticai.creator.graph", 2)
    assert isinstance(data["nodes"][0]["params"]["weight"][0][0], int)


def test_32_bit_extreme_weights_survive():
    layer = Linear(3, 2, total_bits=32, frac_bits=0)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[-(2.0**31), 2.0**31, 12345.0], [-1.0, 0.0, 1.0]]))
    design = layer.create_design("wide")
    weight = design.graph.nodes[0].op.weight
    assert weight.tolist()[0][:2] == [-(2**31), 2**31 - 1]
    loaded = graph_from_json(graph_to_json(design.graph))
    assert loaded.nodes[0].op.weight.tolist() == weight.tolist()
    assert loaded.nodes[0].op.acc_bits > 32
    assert lower(loaded) == lower(design.graph)


@pytest.mark.parametrize("bits", [48, 64, 100])
def test_weights_wider_than_int64_survive(bits):
    t = FixedType(bits, 0)
    values = [[t.min_int, t.max_int], [-1, 1 << (bits - 2)]]
    weight = frozen_array(np.array(values, dtype=object))
    params = LinearOp(weight, frozen_array(np.array([t.max_int, t.min_int], dtype=object)), t, t)
    node = Node("linear_0", params, ("x",), (TensorType((2,), t),), TensorType((2,), t))
    graph = Graph.chain("wide", TensorType((2,), t), (node,))
    text = graph_to_json(graph)
    assert str(t.max_int) in text
    loaded = graph_from_json(text)
    assert_same_graph(loaded, graph)
    assert loaded.nodes[0].op.weight.tolist() == values
    assert graph_to_json(loaded) == text


def test_save_to_writes_design_json_that_load_graph_reads(tmp_path):
    design = model(16, 8).create_design("net", target_ii=4)
    design.save_to(OnDiskPath("build_dir", parent=tmp_path))
    root = tmp_path / "build_dir"
    assert (root / "design.json").read_text() == graph_to_json(design.graph)
    for path in (root, root / "design.json", str(root / "design.json")):
        loaded = load_graph(path)
        assert_same_graph(loaded, design.graph)
    for name, text in lower(load_graph(root)).items():
        assert (root / name).read_bytes() == text.encode()


# --- what is refused, and how it is said -------------------------------------------------


@pytest.fixture(scope="module")
def valid() -> dict:
    """A small settled graph as JSON data: Linear(3, 2) Q8.4 with bias, then HardSigmoid."""
    layer = Linear(3, 2, total_bits=8, frac_bits=4)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[1.0, -1.0, 0.5], [-8.0, 7.9375, 0.0625]]))
        layer.bias.copy_(torch.tensor([-0.25, 2.0]))
    graph = Sequential(layer, HardSigmoid(total_bits=8, frac_bits=4)).create_design("net").graph
    return json.loads(graph_to_json(graph))


def edited(data: dict, path: str, value: object) -> str:
    """``data`` with the value at ``path`` (``"nodes.0.op"``) set, or removed for ``DELETE``."""
    data = json.loads(json.dumps(data))
    *parents, last = path.split(".")
    target = data
    for key in parents:
        target = target[int(key)] if isinstance(target, list) else target[key]
    if value is DELETE:
        del target[last]
    elif isinstance(target, list):
        target[int(last)] = value
    else:
        target[last] = value
    return json.dumps(data)


DELETE = object()
IDENTIFIER_RULE = (
    "must be a VHDL identifier (a letter, then letters, digits and single underscores, "
    "not ending in one)"
)
GRAPH_KEYS = "format, version, name, inputs, outputs, parallelism, meta, nodes"
OPS_LIST = (
    "'linear', 'pointwise', 'window', 'reduce', 'piecewise', 'add', 'concat', 'buffer', 'slice', "
    "'recurrent'"
)
EVIL = "__import__('os').system('touch pwned')"

MALFORMED = [
    (
        "nodes.0.op",
        "conv",
        f"nodes[0].op must be one of {OPS_LIST}, not 'conv'",
    ),
    (
        "nodes.0.op",
        EVIL,
        f'nodes[0].op must be one of {OPS_LIST}, not "{EVIL}"',
    ),
    ("nodes.0.params.acc_bits", "12", "nodes[0].params.acc_bits must be an int, not '12'"),
    ("nodes.0.params.acc_bits", -1, "nodes[0].params.acc_bits must be at least 0, not -1"),
    ("nodes.0.params.p_in", 1.0, "nodes[0].params.p_in must be an int, not 1.0"),
    ("inputs.0.lanes", True, "inputs[0].lanes must be an int, not True"),
    (
        "inputs.0.type.dtype.total_bits",
        -3,
        "inputs[0].type.dtype.total_bits must be at least 2, not -3",
    ),
    (
        "nodes.1.output_type.dtype.frac_bits",
        9,
        "nodes[1].output_type.dtype: frac_bits must not exceed total_bits (8), not 9",
    ),
    ("inputs.0.type.shape", [0], "inputs[0].type.shape[0] must be at least 1, not 0"),
    ("inputs.0.type.shape", [], "inputs[0].type.shape must be a list of at least 1 items, not []"),
    ("outputs.0.value", "nowhere", "the output 'nowhere' is not a value of the graph"),
    ("inputs", [], "inputs must be a list of at least 1 items, not []"),
    (
        "nodes.0.params.weight",
        [[16, -16, 8]],
        "nodes[0].params.weight must be a list of 2 items (shape (2, 3)), not [[16, -16, 8]]",
    ),
    (
        "nodes.0.params.weight.1",
        [1, 2],
        "nodes[0].params.weight[1] must be a list of 3 items (shape (2, 3)), not [1, 2]",
    ),
    (
        "nodes.0.params.weight.0.1",
        300,
        "nodes[0].params.weight[0][1] must be within Q8.4 [-128, 127], not 300",
    ),
    ("nodes.0.params.weight.0.0", 1.5, "nodes[0].params.weight[0][0] must be an int, not 1.5"),
    (
        "nodes.0.params.weight.0.0",
        EVIL,
        f'nodes[0].params.weight[0][0] must be an int, not "{EVIL}"',
    ),
    (
        "nodes.0.params.bias",
        [1],
        "nodes[0].params.bias must be a list of 2 items (shape (2,)), not [1]",
    ),
    (
        "nodes.0.params.b_type",
        None,
        "nodes[0].params.b_type must be null exactly when bias is null, not None",
    ),
    (
        "nodes.0.params.rounding",
        "nearest",
        "nodes[0].params.rounding must be one of 'floor', 'half_up', 'half_even', not 'nearest'",
    ),
    ("parallelism.full", "yes", "parallelism.full must be true or false, not 'yes'"),
    (
        "parallelism",
        {"ii": 2, "max_multipliers": 3, "full": False},
        "parallelism: choose one of target_ii, max_multipliers and parallelism='full'",
    ),
    ("name", EVIL, f'name {IDENTIFIER_RULE}, not "{EVIL}"'),
    ("name", "signal", "name must not be a VHDL reserved word, not 'signal'"),
    ("nodes.1.name", "a/../b", f"nodes[1].name {IDENTIFIER_RULE}, not 'a/../b'"),
    (
        "nodes.1.params.kind",
        3,
        "nodes[1].params.kind must be a string on one line without control characters, not 3",
    ),
    (
        "nodes.0.source",
        "x\nend; -- injected",
        "nodes[0].source must be a string on one line without control characters, "
        "not 'x\\nend; -- injected'",
    ),
    ("meta", [["a"]], "meta[0] must be a list of two strings, not ['a']"),
    ("nodes.1.inputs", ["y"], "model[1] (HardSigmoid) reads 'y', which is not defined before it"),
    (
        "nodes.1.evil",
        1,
        "nodes[1] has an unknown key 'evil' (known: name, op, inputs, "
        "input_types, output_type, params, source)",
    ),
    ("nodes.0.params.stages", DELETE, "nodes[0].params lacks the key 'stages'"),
    ("__class__", "os.system", f"the file has an unknown key '__class__' (known: {GRAPH_KEYS})"),
    ("nodes", {"0": 1}, "nodes must be a list, not {'0': 1}"),
    ("format", "pickle", "format must be 'elasticai.creator.graph', not 'pickle'"),
    ("format", DELETE, "format must be 'elasticai.creator.graph', not None"),
    ("version", 3, "version must be 1 or 2 (the ones this elasticai.creator reads), not 3"),
    ("version", True, "version must be 1 or 2 (the ones this elasticai.creator reads), not True"),
]


@pytest.mark.parametrize(
    ("path", "value", "message"), MALFORMED, ids=[m[2][:40] for m in MALFORMED]
)
def test_malformed_field_is_refused_naming_it(valid, path, value, message):
    graph_from_json(json.dumps(valid))  # the unedited data is fine
    with pytest.raises(ValueError) as error:
        graph_from_json(edited(valid, path, value))
    assert str(error.value) == message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "{",
            "not valid JSON: Expecting property name enclosed in double quotes: "
            "line 1 column 2 (char 1)",
        ),
        ("[1, 2]", "the file must be a JSON object, not [1, 2]"),
        ('{"name": 1, "name": 2}', "not valid JSON: the key 'name' appears twice in one object"),
        ('{"version": NaN}', "not valid JSON: NaN is not a number JSON allows"),
        ("[" * 100_000, "not a design file: JSON nested too deeply"),
    ],
)
def test_malformed_json_is_refused(text, message):
    with pytest.raises(ValueError) as error:
        graph_from_json(text)
    assert str(error.value) == message


def test_long_values_are_shortened_in_messages(valid):
    with pytest.raises(ValueError) as error:
        graph_from_json(edited(valid, "nodes.0.source", "x\n" + "y" * 200))
    assert str(error.value) == (
        "nodes[0].source must be a string on one line without control characters, not "
        "'x\\n" + "y" * 73 + "..."
    )


def test_code_in_free_text_fields_is_inert_data(valid, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    text = edited(json.loads(edited(valid, "nodes.0.source", EVIL)), "meta", [[EVIL, EVIL]])
    graph = graph_from_json(text)
    assert graph.nodes[0].source == EVIL
    assert graph.meta == ((EVIL, EVIL),)
    assert os.listdir(tmp_path) == []


def test_load_graph_refuses_a_pickle(tmp_path):
    path = tmp_path / "design.json"
    path.write_bytes(pickle.dumps({"format": "elasticai.creator.graph"}))
    with pytest.raises(ValueError) as error:
        load_graph(path)
    assert str(error.value) == (
        f"{path} is a pickle, not a JSON design file; elasticai.creator never loads pickles"
    )


def test_load_graph_refuses_bytes_that_are_not_utf8(tmp_path):
    path = tmp_path / "design.json"
    path.write_bytes(b'{"format": "\xff"}')
    with pytest.raises(ValueError) as error:
        load_graph(path)
    assert str(error.value).startswith(f"{path} is not UTF-8 text (a design file is JSON): ")


def test_load_graph_names_the_file_and_verifies_settled(valid, tmp_path):
    path = tmp_path / "design.json"
    path.write_text(edited(valid, "nodes.0.params.acc_bits", 0))
    with pytest.raises(ValueError) as error:
        load_graph(path)
    assert str(error.value) == f"{path}: model[0] (Linear): accumulator width not settled (0)"
    path.write_text(edited(valid, "name", 7))
    with pytest.raises(ValueError) as error:
        load_graph(path)
    assert str(error.value) == (
        f"{path}: name must be a string on one line without control characters, not 7"
    )


def test_graph_from_json_reads_only_text():
    with pytest.raises(TypeError) as error:
        graph_from_json(b"{}")  # type: ignore[arg-type]
    assert str(error.value) == "graph_from_json reads a str, not bytes"


def test_a_version_1_file_still_loads_and_computes_what_it_did():
    """``design_v1.json`` was written by the chain-only elasticai.creator (Conv1d, ReLU,
    MaxPool1d, Flatten, Linear, HardSigmoid at target_ii=16); its interpreter gave
    [[3, 0], [6, 6]] for these inputs."""
    from pathlib import Path

    from elasticai.creator.ir import interpret

    graph = load_graph(Path(__file__).parent / "data" / "design_v1.json")
    assert graph.output.value == graph.nodes[-1].name
    assert graph.input.torch_shape == (2, 8)
    x = np.linspace(-3, 3, 32).reshape(2, 2, 8)
    x_int = Design(graph).quantize_input(x)
    assert interpret.run(graph, x_int).tolist() == [[3, 0], [6, 6]]
    assert graph_from_json(graph_to_json(graph)) is not None
