"""The Verilog fix-ups between GHDL and Yosys (text in, text out)."""

from elasticai.creator.synth.netlist_fixes import block_roms, signed_multiplies

GHDL_MUL = """  assign n1_o = {{16{w1[15]}}, w1}; // sext
  assign n2_o = {{16{x[15]}}, x}; // sext
  assign n3_o = n2_o * n1_o; // smul
  assign n4_o = n5_o * 32'b0100000; // smul
"""


def test_signed_multiplies_drop_the_sign_extension():
    lines = signed_multiplies(GHDL_MUL).splitlines()
    assert lines[2] == "  assign n3_o = $signed(x) * $signed(w1); // smul (operands unextended)"
    assert lines[3] == GHDL_MUL.splitlines()[3]  # an operand that is no sign extension stays
    assert lines[:2] == GHDL_MUL.splitlines()[:2]


def memory(width: int, depth: int, name: str = "n9") -> str:
    return f"  reg [{width - 1}:0] {name}[{depth - 1}:0] ; // memory\n"


REGISTERED_READ = """  wire [7:0] n10_data; // mem_rd
  assign n11_o = issue ? n10_data : w1;
  assign n10_data = n9[n8_o];
"""


def test_large_deep_roms_go_to_block_ram():
    text = memory(8, 1024) + REGISTERED_READ
    assert block_roms(text).splitlines()[0] == (
        '  (* rom_style = "block" *) reg [7:0] n9[1023:0] ; // memory'
    )


def test_a_rom_read_into_logic_stays_out_of_block_ram():
    """A block RAM reads into its own register; a table whose word feeds logic first
    cannot be one (Yosys would stop with 'no valid mapping found for memory')."""
    text = memory(16, 1024) + REGISTERED_READ.replace(
        "  assign n11_o = issue ? n10_data : w1;", "  assign n12_o = n10_data[1:0];"
    ).replace("[7:0] n10_data", "[15:0] n10_data")
    assert block_roms(text) == text


def test_small_shallow_or_written_memories_stay():
    small, shallow = memory(8, 512), memory(256, 64)
    written = memory(8, 2048, "xmem") + "      xmem[n1_o] <= s_axis_tdata;\n"
    for text in (small, shallow, written):
        assert block_roms(text) == text
