"""Streams between instances, and the helpers every op's ``lower`` uses.

A ``Stream`` names the four signals of one AXI4-Stream connection (data, valid,
ready, last). Most streams are four signals of their own (``Stream.named``); a
consumer behind a fork reads the shared data and last with its own valid and ready
(``ec_fork``), so the four names are independent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from elasticai.creator.arithmetic import signed_width
from elasticai.creator.vhdl.syntax import Instance, Signal, slv_literal

__all__ = ["Stream", "slv", "vector_literal", "signed_generic", "instance"]

_BITS_PER_LINE = 256
_PARTS = ("data", "valid", "ready", "last")


def slv(bits: int) -> str:
    return f"std_logic_vector({bits - 1} downto 0)"


@dataclass(frozen=True)
class Stream:
    """A stream of beats of ``lanes`` elements, ``width`` bits each, and its signals."""

    lanes: int
    width: int
    data: str
    valid: str
    ready: str
    last: str

    @classmethod
    def named(cls, prefix: str, lanes: int, width: int) -> Stream:
        """The stream of the signals ``<prefix>_tdata`` ... ``<prefix>_tlast``."""
        return cls(lanes, width, *(f"{prefix}_t{p}" for p in _PARTS))

    @property
    def bits(self) -> int:
        return self.lanes * self.width

    def signal(self, part: str) -> str:
        """The signal of ``part`` (``data``, ``valid``, ``ready`` or ``last``)."""
        return str(getattr(self, part))

    def declarations(self) -> list[Signal]:
        """Signal declarations of a stream of its own (``Stream.named``), every signal
        defined from time zero."""
        return [Signal(self.data, slv(self.bits), "(others => '0')")] + [
            Signal(getattr(self, p), "std_logic", "'0'") for p in _PARTS[1:]
        ]

    def ports(self, local: str) -> list[tuple[str, str]]:
        """Port map entries connecting the entity's ``<local>_t*`` ports to this stream."""
        return [(f"{local}_t{p}", self.signal(p)) for p in _PARTS]


def vector_literal(values: np.ndarray, width: int) -> str:
    """Element ``k`` of ``values`` in bits ``k*width ..`` (element 0 lowest), in lines."""
    mask = (1 << width) - 1
    bits = "".join(format(int(v) & mask, f"0{width}b") for v in reversed(values.ravel().tolist()))
    chunks = [bits[i : i + _BITS_PER_LINE] for i in range(0, len(bits), _BITS_PER_LINE)]
    return " &\n    ".join(f'"{c}"' for c in chunks)


def integer_vector_literal(values: Sequence[int], per_line: int = 18) -> str:
    """``values`` as a VHDL ``integer_vector`` aggregate (positional, a line per
    ``per_line`` values; one value is ``(0 => v)``)."""
    if len(values) == 1:
        return f"(0 => {int(values[0])})"
    lines = [
        ", ".join(str(int(v)) for v in values[i : i + per_line])
        for i in range(0, len(values), per_line)
    ]
    return "(" + ",\n    ".join(lines) + ")"


def signed_generic(value: int) -> str:
    """``value`` as the shortest two's complement bit string (a ``std_logic_vector`` generic)."""
    return slv_literal(value, signed_width(value, value))


def instance(
    label: str,
    entity: str,
    generics: Mapping[str, object],
    sources: Sequence[tuple[str, Stream]],
    sink: Stream,
) -> Instance:
    """An instance of the library entity ``entity`` with clock and reset, reading each
    ``(port prefix, stream)`` of ``sources`` and writing ``sink`` at ``m_axis``."""
    ports = [("clk", "clk"), ("rst", "rst")]
    for local, stream in sources:
        ports += stream.ports(local)
    ports += sink.ports("m_axis")
    return Instance(label, entity, [(k, str(v)) for k, v in generics.items()], ports)
