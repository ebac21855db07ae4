"""GHDL's ``"0101..."`` constants become sized Verilog literals with the same bits."""

from __future__ import annotations

import random
import re

import pytest

from elasticai.creator.synth.verilog_literals import DEFAULT_CHUNK_BITS, rewrite, sized_literal

_SIZED = re.compile(r"(\d+)'b([01xzXZ]+)")


def chunks(literal: str) -> list[tuple[int, str]]:
    """``[(width, bits), ...]`` of a sized literal or a concatenation, MSB chunk first."""
    body = literal[1:-1] if literal.startswith("{") else literal
    parts = [p.strip() for p in body.split(",")]
    out = []
    for part in parts:
        match = _SIZED.fullmatch(part)
        assert match, part
        out.append((int(match.group(1)), match.group(2)))
    return out


def bits_of(literal: str) -> str:
    """The bit string (MSB first) a literal written by ``sized_literal`` stands for."""
    pieces = chunks(literal)
    for width, bits in pieces:
        assert width == len(bits)
    return "".join(bits for _, bits in pieces)


def random_bits(n: int, seed: int, alphabet: str = "01") -> str:
    rng = random.Random(seed)
    return "".join(rng.choice(alphabet) for _ in range(n))


@pytest.mark.parametrize("n", [1, 2, 31, 33, 64, 1023, 1024, 1025, 2048, 5000, 40_000])
def test_round_trip_of_values(n: int) -> None:
    bits = random_bits(n, seed=n)
    literal = sized_literal(bits)
    assert bits_of(literal) == bits
    assert int(bits_of(literal), 2) == int(bits, 2)


@pytest.mark.parametrize("n", [1, 100, 1024, 1025, 3000, 4096, 16_385])
@pytest.mark.parametrize("chunk_bits", [1, 7, 256, DEFAULT_CHUNK_BITS])
def test_widths_add_up_and_chunks_are_bounded(n: int, chunk_bits: int) -> None:
    bits = random_bits(n, seed=n + chunk_bits)
    pieces = chunks(sized_literal(bits, chunk_bits))
    assert sum(width for width, _ in pieces) == n
    assert all(1 <= width <= chunk_bits for width, _ in pieces)
    # only the most significant chunk may be short: boundaries sit at multiples of chunk_bits
    assert all(width == chunk_bits for width, _ in pieces[1:])
    assert len(pieces) == -(-n // chunk_bits)


def test_most_significant_chunk_comes_first() -> None:
    bits = "1" + "0" * 2048  # 2**2048: only the top bit set
    assert sized_literal(bits) == "{1'b1, 1024'b" + "0" * 1024 + ", 1024'b" + "0" * 1024 + "}"
    assert sized_literal("110010", chunk_bits=4) == "{2'b11, 4'b0010}"
    assert sized_literal("11001010", chunk_bits=4) == "{4'b1100, 4'b1010}"


def test_short_literal_is_not_wrapped() -> None:
    assert sized_literal("0" * 40) == "40'b" + "0" * 40
    assert sized_literal("1" * DEFAULT_CHUNK_BITS).startswith(f"{DEFAULT_CHUNK_BITS}'b1")


def test_leading_zeros_and_four_state_bits_are_kept() -> None:
    assert sized_literal("0001") == "4'b0001"
    assert sized_literal("01XZ01xz") == "8'b01XZ01xz"
    bits = random_bits(3000, seed=3, alphabet="01XZ")
    assert bits_of(sized_literal(bits)) == bits


def test_rewrites_ghdl_constants() -> None:
    bits = random_bits(20_000, seed=7)
    ghdl_line = f'  assign n3_o = a ^ "{bits}";\n'
    out = rewrite(ghdl_line)
    assert '"' not in out
    match = re.fullmatch(r"  assign n3_o = a \^ (.*);\n", out, re.DOTALL)
    assert match is not None
    assert bits_of(match.group(1)) == bits
    # no token near the ~16k characters that overflow Yosys 0.23's lexer buffer
    assert max(len(t) for t in re.findall(r"[0-9']+b[01]+", out)) <= DEFAULT_CHUNK_BITS + 7
    assert out.count("\n") == 1  # line numbers (Yosys's src attributes) stay put


def test_rewrites_every_literal_in_a_module() -> None:
    text = (
        "module m (input [39:0] a, output [39:0] y, output [79:0] z);\n"
        '  assign y = a ^ "0010110110010000101001101001101001011011";\n'
        '  assign z = {a, "01XZ01XZ01XZ01XZ01XZ01XZ01XZ01XZ01XZ01XZ"};\n'
        "endmodule\n"
    )
    out = rewrite(text)
    assert "y = a ^ 40'b0010110110010000101001101001101001011011;" in out
    assert "z = {a, 40'b01XZ01XZ01XZ01XZ01XZ01XZ01XZ01XZ01XZ01XZ};" in out


@pytest.mark.parametrize(
    "text",
    [
        'initial $display("hello %d", x);\n',
        '(* src = "ec_linear.vhd:191:21" *) reg [7:0] w1;\n',
        'assign s = "01a1";\n',
        'assign e = "";\n',
        'assign t = "0 1";\n',
        "assign k = 8'b01010101; // a sized literal already\n",
        '/* "0101010101010101010101010101010101" in a block comment */\n',
        '// "0101010101010101010101010101010101" in a line comment\n',
        'wire \\odd"0101" ;\n',
        "  /* ec_linear.vhd:204:21  */\n  always @*\n    wb = n807_q; // (isignal)\n",
        "",
    ],
)
def test_leaves_other_text_untouched(text: str) -> None:
    assert rewrite(text) == text


def test_only_bit_strings_change_byte_for_byte() -> None:
    text = '// keep "0101"\nassign a = "0101";  /* keep "11" */ assign b = "hi";\nassign c = "1";\n'
    assert rewrite(text) == (
        '// keep "0101"\n'
        'assign a = 4\'b0101;  /* keep "11" */ assign b = "hi";\n'
        "assign c = 1'b1;\n"
    )


def test_escaped_quote_inside_a_string_is_not_a_literal_boundary() -> None:
    text = 'x = "a\\"0101\\"b";\n'
    assert rewrite(text) == text


@pytest.mark.parametrize("bad", ["", "012", "0 1"])
def test_sized_literal_rejects_non_bits(bad: str) -> None:
    with pytest.raises(ValueError):
        sized_literal(bad)


def test_chunk_bits_must_be_positive() -> None:
    with pytest.raises(ValueError):
        rewrite('"01"', chunk_bits=0)
    with pytest.raises(ValueError):
        sized_literal("01", chunk_bits=0)
