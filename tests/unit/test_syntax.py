"""The VHDL object model, against golden text."""

import pytest

from elasticai.creator.vhdl.syntax import (
    Architecture,
    Assign,
    Constant,
    DesignFile,
    Entity,
    Generic,
    Instance,
    Package,
    Port,
    Raw,
    Signal,
    Writer,
    slv_literal,
)


def emitted(unit) -> str:
    w = Writer()
    unit.emit(w)
    return w.text()


def test_entity_with_generics_and_ports_emits_both_lists():
    entity = Entity(
        "adder",
        generics=[Generic("WIDTH", "natural", "8"), Generic("N", "positive")],
        ports=[
            Port("clk", "in", "std_logic"),
            Port("y", "out", "std_logic_vector(WIDTH - 1 downto 0)"),
        ],
    )
    assert emitted(entity) == (
        "entity adder is\n"
        "  generic (\n"
        "    WIDTH : natural := 8;\n"
        "    N : positive\n"
        "  );\n"
        "  port (\n"
        "    clk : in std_logic;\n"
        "    y : out std_logic_vector(WIDTH - 1 downto 0)\n"
        "  );\n"
        "end entity adder;\n"
    )


def test_entity_without_generics_or_ports_is_empty():
    assert emitted(Entity("tb")) == "entity tb is\nend entity tb;\n"


def test_instance_with_generic_map_ends_port_map_only():
    instance = Instance(
        "u0",
        "ec_linear",
        generic_map=[("A", "1"), ("B", '"01"')],
        port_map=[("clk", "clk"), ("x", "x_s")],
    )
    assert emitted(instance) == (
        "u0 : entity work.ec_linear\n"
        "  generic map (\n"
        "    A => 1,\n"
        '    B => "01"\n'
        "  )\n"
        "  port map (\n"
        "    clk => clk,\n"
        "    x => x_s\n"
        "  );\n"
    )


def test_instance_without_generic_map_has_port_map_only():
    instance = Instance("dut", "my_model", port_map=[("clk", "clk")])
    assert emitted(instance) == ("dut : entity work.my_model\n  port map (\n    clk => clk\n  );\n")


def test_instance_without_port_map_ends_generic_map():
    instance = Instance("g", "thing", generic_map=[("N", "2")])
    assert emitted(instance) == "g : entity work.thing\n  generic map (\n    N => 2\n  );\n"


def test_architecture_emits_declarations_then_statements():
    architecture = Architecture(
        "top",
        declarations=[
            Signal("a", "std_logic"),
            Signal("b", "std_logic_vector(1 downto 0)", '"00"'),
        ],
        statements=[Assign("a", "'1'"), Raw(['b <= "11";', "-- done"])],
    )
    assert emitted(architecture) == (
        "architecture rtl of top is\n"
        "  signal a : std_logic;\n"
        '  signal b : std_logic_vector(1 downto 0) := "00";\n'
        "begin\n"
        "  a <= '1';\n"
        '  b <= "11";\n'
        "  -- done\n"
        "end architecture rtl;\n"
    )


def test_architecture_empty_keeps_begin():
    assert emitted(Architecture("e", name="sim")) == (
        "architecture sim of e is\nbegin\nend architecture sim;\n"
    )


def test_package_with_constant_emits_declaration():
    package = Package("p_pkg", [Constant("W", "std_logic_vector(3 downto 0)", '"1010"')])
    assert emitted(package) == (
        "package p_pkg is\n"
        '  constant W : std_logic_vector(3 downto 0) := "1010";\n'
        "end package p_pkg;\n"
    )


def test_design_file_header_then_context_for_each_unit():
    text = DesignFile(
        [Package("p", []), Entity("e")],
        header=["generated", ""],
    ).text()
    assert text == (
        "-- generated\n"
        "--\n"
        "\n"
        "library ieee;\n"
        "use ieee.std_logic_1164.all;\n"
        "use ieee.numeric_std.all;\n"
        "\n"
        "package p is\n"
        "end package p;\n"
        "\n"
        "library ieee;\n"
        "use ieee.std_logic_1164.all;\n"
        "use ieee.numeric_std.all;\n"
        "\n"
        "entity e is\n"
        "end entity e;\n"
    )


def test_design_file_without_header_starts_with_context():
    text = DesignFile([Entity("e")], context=["library ieee;", "use work.p.all;"]).text()
    assert text == "library ieee;\nuse work.p.all;\n\nentity e is\nend entity e;\n"


@pytest.mark.parametrize(
    ("value", "width", "literal"),
    [
        (0, 1, '"0"'),
        (5, 4, '"0101"'),
        (-1, 4, '"1111"'),
        (-2, 4, '"1110"'),
        (-8, 4, '"1000"'),
        (7, 4, '"0111"'),
        (-128, 8, '"10000000"'),
    ],
)
def test_slv_literal_gives_twos_complement_bits(value, width, literal):
    assert slv_literal(value, width) == literal


@pytest.mark.parametrize(("value", "width"), [(-9, 4), (8, 4), (15, 4), (-2, 1), (1, 1), (0, 0)])
def test_slv_literal_out_of_range_is_refused(value, width):
    with pytest.raises(ValueError) as error:
        slv_literal(value, width)
    assert str(error.value) == f"{value} does not fit in {width} two's complement bits"
