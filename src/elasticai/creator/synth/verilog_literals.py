"""Rewrite GHDL's bit-string constants in Verilog into sized binary literals.

GHDL 2.0 (``ghdl --synth --out=verilog``) prints every constant wider than
32 bits as a Verilog *string*: ``a ^ "0101...XZ"``. Verilog reads a string as
8-bit ASCII characters, so Yosys sees a constant 8 times as wide with other
values, and Yosys 0.23's lexer needs a long time (and, for literals over
about 16 kbit, crashes). :func:`rewrite` turns every such string into the
sized literal it means: ``"0101"`` -> ``4'b0101``, and long ones into a
concatenation of chunks, most significant first:
``{1024'b..., 1024'b..., 8'b...}``-style (the first chunk is the short one, so
chunk boundaries fall on multiples of ``chunk_bits`` counted from bit 0).

Only strings made of the characters ``0 1 X Z`` (either case; GHDL writes
``X``/``Z`` for 'X'/'Z' bits of four-state constants) are touched; other
strings, comments and escaped identifiers stay as they are.
"""

from __future__ import annotations

import re

__all__ = ["DEFAULT_CHUNK_BITS", "rewrite", "sized_literal"]

#: Longest single sized literal :func:`rewrite` writes.
DEFAULT_CHUNK_BITS = 1024

# Tokens that may contain a double quote without starting a string literal come
# first, so the scanner skips over them whole: block and line comments, escaped
# identifiers (backslash up to white space). Then string literals.
_TOKENS = re.compile(
    r"""
      (?P<block>/\*.*?\*/)
    | (?P<line>//[^\n]*)
    | (?P<escaped>\\\S*)
    | "(?P<string>(?:[^"\\\n]|\\.)*)"
    """,
    re.DOTALL | re.VERBOSE,
)
_BITS = re.compile(r"[01xzXZ]+")


def sized_literal(bits: str, chunk_bits: int = DEFAULT_CHUNK_BITS) -> str:
    """``bits`` (most significant first, ``0 1 x z``) as a sized binary literal,
    or a concatenation of literals of at most ``chunk_bits`` bits each."""
    if chunk_bits < 1:
        raise ValueError(f"chunk_bits must be at least 1, not {chunk_bits}")
    if not _BITS.fullmatch(bits):
        raise ValueError(f"not a bit string: {bits[:40]!r}")
    if len(bits) <= chunk_bits:
        return f"{len(bits)}'b{bits}"
    head = len(bits) % chunk_bits or chunk_bits
    chunks = [bits[:head]] + [bits[i : i + chunk_bits] for i in range(head, len(bits), chunk_bits)]
    return "{" + ", ".join(f"{len(c)}'b{c}" for c in chunks) + "}"


def rewrite(text: str, chunk_bits: int = DEFAULT_CHUNK_BITS) -> str:
    """``text`` (Verilog written by GHDL) with every bit-string literal ``"0101..."``
    replaced by :func:`sized_literal`; everything else is left byte for byte.

    >>> print(rewrite('assign y = a ^ "0000000001"; // "01" stays'))
    assign y = a ^ 10'b0000000001; // "01" stays
    >>> print(rewrite('x = "1100";', chunk_bits=3))
    x = {1'b1, 3'b100};
    """
    if chunk_bits < 1:
        raise ValueError(f"chunk_bits must be at least 1, not {chunk_bits}")

    def replace(match: re.Match[str]) -> str:
        bits = match.group("string")
        if bits is not None and _BITS.fullmatch(bits):
            return sized_literal(bits, chunk_bits)
        return match.group(0)

    return _TOKENS.sub(replace, text)
