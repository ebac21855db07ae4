"""A small VHDL object model: each construct has one ``emit`` method and infers nothing.

Expressions and types are plain strings made by the lowering (see ``literal``);
this module only arranges them, indented, in the order they were given.

>>> w = Writer()
>>> Entity("inc", ports=[Port("x", "in", "std_logic")]).emit(w)
>>> print(w.text(), end="")
entity inc is
  port (
    x : in std_logic
  );
end entity inc;
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Protocol

__all__ = [
    "Writer",
    "Emittable",
    "Generic",
    "Port",
    "Entity",
    "Signal",
    "Constant",
    "Instance",
    "Assign",
    "Raw",
    "Architecture",
    "Package",
    "DesignFile",
    "slv_literal",
    "IEEE_CONTEXT",
]

IEEE_CONTEXT = ("library ieee;", "use ieee.std_logic_1164.all;", "use ieee.numeric_std.all;")


class Writer:
    """Collects lines, indenting by two spaces per ``indent()`` level."""

    def __init__(self) -> None:
        self._lines: list[str] = []
        self._depth = 0

    def line(self, text: str = "") -> None:
        self._lines.append(("  " * self._depth + text) if text else "")

    @contextmanager
    def indent(self) -> Iterator[None]:
        self._depth += 1
        try:
            yield
        finally:
            self._depth -= 1

    def text(self) -> str:
        return "\n".join(self._lines) + "\n"


class Emittable(Protocol):
    def emit(self, w: Writer) -> None: ...


def _emit_list(w: Writer, items: Sequence[str]) -> None:
    for i, item in enumerate(items):
        w.line(item + (";" if i < len(items) - 1 else ""))


def _emit_map(w: Writer, keyword: str, pairs: Sequence[tuple[str, str]], last: bool) -> None:
    if not pairs:
        return
    w.line(f"{keyword} map (")
    with w.indent():
        for i, (name, value) in enumerate(pairs):
            w.line(f"{name} => {value}" + ("," if i < len(pairs) - 1 else ""))
    w.line(")" + (";" if last else ""))


@dataclass(frozen=True)
class Generic:
    name: str
    type: str
    default: str | None = None

    def text(self) -> str:
        return f"{self.name} : {self.type}" + (f" := {self.default}" if self.default else "")


@dataclass(frozen=True)
class Port:
    name: str
    direction: str
    type: str
    default: str | None = None  # the value of an output before anything drives it

    def text(self) -> str:
        default = f" := {self.default}" if self.default else ""
        return f"{self.name} : {self.direction} {self.type}{default}"


@dataclass(frozen=True)
class Entity:
    name: str
    generics: Sequence[Generic] = ()
    ports: Sequence[Port] = ()
    declarations: Sequence[str] = ()  # lines of the entity's declarative part (attributes)

    def emit(self, w: Writer) -> None:
        w.line(f"entity {self.name} is")
        with w.indent():
            for keyword, items in (("generic", self.generics), ("port", self.ports)):
                if items:
                    w.line(f"{keyword} (")
                    with w.indent():
                        _emit_list(w, [item.text() for item in items])
                    w.line(");")
            for line in self.declarations:
                w.line(line)
        w.line(f"end entity {self.name};")


@dataclass(frozen=True)
class Signal:
    name: str
    type: str
    init: str | None = None

    def emit(self, w: Writer) -> None:
        w.line(f"signal {self.name} : {self.type}" + (f" := {self.init};" if self.init else ";"))


@dataclass(frozen=True)
class Constant:
    name: str
    type: str
    value: str

    def emit(self, w: Writer) -> None:
        w.line(f"constant {self.name} : {self.type} := {self.value};")


@dataclass(frozen=True)
class Instance:
    """``label: entity work.<entity> generic map (...) port map (...);``"""

    label: str
    entity: str
    generic_map: Sequence[tuple[str, str]] = ()
    port_map: Sequence[tuple[str, str]] = ()

    def emit(self, w: Writer) -> None:
        w.line(f"{self.label} : entity work.{self.entity}")
        with w.indent():
            _emit_map(w, "generic", self.generic_map, last=not self.port_map)
            _emit_map(w, "port", self.port_map, last=True)


@dataclass(frozen=True)
class Assign:
    target: str
    value: str

    def emit(self, w: Writer) -> None:
        w.line(f"{self.target} <= {self.value};")


@dataclass(frozen=True)
class Raw:
    """Statements written out verbatim (only the testbench's clock and reset use it)."""

    lines: Sequence[str]

    def emit(self, w: Writer) -> None:
        for line in self.lines:
            w.line(line)


@dataclass(frozen=True)
class Architecture:
    entity: str
    declarations: Sequence[Emittable] = ()
    statements: Sequence[Emittable] = ()
    name: str = "rtl"

    def emit(self, w: Writer) -> None:
        w.line(f"architecture {self.name} of {self.entity} is")
        with w.indent():
            for d in self.declarations:
                d.emit(w)
        w.line("begin")
        with w.indent():
            for s in self.statements:
                s.emit(w)
        w.line(f"end architecture {self.name};")


@dataclass(frozen=True)
class Package:
    name: str
    declarations: Sequence[Emittable] = ()

    def emit(self, w: Writer) -> None:
        w.line(f"package {self.name} is")
        with w.indent():
            for d in self.declarations:
                d.emit(w)
        w.line(f"end package {self.name};")


@dataclass(frozen=True)
class DesignFile:
    """One ``.vhd`` file: a header comment, then each unit with its context clause."""

    units: Sequence[Emittable]
    context: Sequence[str] = IEEE_CONTEXT
    header: Sequence[str] = field(default=())

    def text(self) -> str:
        w = Writer()
        for line in self.header:
            w.line(f"-- {line}" if line else "--")
        for i, unit in enumerate(self.units):
            if i or self.header:
                w.line()
            for clause in self.context:
                w.line(clause)
            w.line()
            unit.emit(w)
        return w.text()


def slv_literal(value: int, width: int) -> str:
    """``value`` as a ``width``-bit two's complement bit-string literal.

    >>> slv_literal(-2, 4)
    '"1110"'
    """
    if width < 1 or not -(1 << (width - 1)) <= value < (1 << (width - 1)):
        raise ValueError(f"{value} does not fit in {width} two's complement bits")
    return '"' + format(value & ((1 << width) - 1), f"0{width}b") + '"'
