"""When each stream of a simulated design moved: its handshakes, read from a VCD file.

GHDL writes a value change dump with ``--vcd=FILE`` (``wave_options`` picks the
signals). A stream ``<p>`` is the pair of one-bit signals ``<p>_tvalid`` and
``<p>_tready`` of one scope (``vhdl.streams.Stream``); a pair of vectors of one width
``n`` (an ``ec_fork``'s outputs) is the ``n`` streams ``<p>(0)`` ... ``<p>(n-1)``. A beat
moves at a rising edge of ``clk`` where both were ``'1'`` just before it.

Cycles are counted as the testbench's source and sink count them (``ec_stream_source``):
the rising edges of ``clk`` with ``rst = '0'``, 0 for the first after a reset. So a
handshake here has the cycle number ``Design.run`` reports for the same beat.

>>> vcd = '''$timescale 1 fs $end
... $scope module tb $end
... $var reg 1 ! clk $end
... $var reg 1 " rst $end
... $var reg 1 # a_tvalid $end
... $var reg 1 $ a_tready $end
... $upscope $end
... $enddefinitions $end
... #0
... 0! 1" 0# 1$
... #5
... 1!
... #10
... 0! 0" 1#
... #15
... 1!
... #20
... 0!
... #25
... 1! 0#'''
>>> handshakes(vcd)
{'a': [0, 1]}
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

__all__ = ["handshakes", "wave_options"]


def wave_options(scopes: Iterable[str]) -> str:
    """A GHDL wave option file (``--read-wave-opt``) that dumps the signals declared
    directly in each of ``scopes`` (paths like ``/top_tb/dut``), nothing below them."""
    return "$ version 1.1\n" + "".join(f"{scope.rstrip('/')}/*\n" for scope in scopes)


@dataclass
class _Var:
    path: str  # dotted scope path and name, without the bit range
    width: int


def _tokens(text: str) -> Iterator[str]:
    for line in text.splitlines():
        yield from line.split()


def _read_header(tokens: Iterator[str]) -> dict[str, list[_Var]]:
    """Every variable by its identifier code (several names may share one)."""
    variables: dict[str, list[_Var]] = {}
    scope: list[str] = []
    for token in tokens:
        if token == "$enddefinitions":
            next(tokens)  # $end
            return variables
        if token == "$scope":
            _kind, name, _end = next(tokens), next(tokens), next(tokens)
            scope.append(name)
        elif token == "$upscope":
            next(tokens)
            scope.pop()
        elif token == "$var":
            words = []
            for word in tokens:
                if word == "$end":
                    break
                words.append(word)
            _kind, width, code, name = words[:4]  # a bit range [7:0] may follow
            name = name.split("[", 1)[0]
            variables.setdefault(code, []).append(_Var(".".join([*scope, name]), int(width)))
        elif token.startswith("$"):  # $date, $version, $timescale, $comment ...
            for word in tokens:
                if word == "$end":
                    break
    raise ValueError("the VCD file ends before $enddefinitions")


def _bits(value: str, width: int) -> str:
    """A vector value as ``width`` characters, MSB first, extended as VCD extends it."""
    if len(value) >= width:
        return value[-width:]
    fill = value[0] if value[0] in "xz" else "0"
    return fill * (width - len(value)) + value


def _streams(variables: dict[str, list[_Var]], scope: str) -> dict[str, tuple[str, str, int]]:
    """Streams below ``scope``: name relative to it -> (valid code, ready code, width)."""
    by_path = {var.path: (code, var.width) for code, vs in variables.items() for var in vs}
    prefix = f"{scope}." if scope else ""
    found = {}
    for path, (valid, width) in by_path.items():
        if not path.startswith(prefix) or not path.endswith("_tvalid"):
            continue
        stream = path[: -len("_tvalid")]
        ready = by_path.get(f"{stream}_tready")
        if ready is not None and ready[1] == width:
            found[stream[len(prefix) :]] = (valid, ready[0], width)
    return found


def _find(variables: dict[str, list[_Var]], scope: str, name: str) -> str:
    """The code of ``name`` in ``scope``, else of the nearest enclosing scope's."""
    by_path = {var.path: code for code, vs in variables.items() for var in vs}
    parts = scope.split(".") if scope else []
    for depth in range(len(parts), -1, -1):
        code = by_path.get(".".join([*parts[:depth], name]))
        if code is not None:
            return code
    raise ValueError(f"the VCD file has no signal {name!r} in or above scope {scope!r}")


def _default_scope(variables: dict[str, list[_Var]], clock: str) -> str:
    """The outermost scope that declares ``clock``."""
    scopes = [
        var.path.rsplit(".", 1)[0]
        for vs in variables.values()
        for var in vs
        if var.path.rsplit(".", 1)[-1] == clock and "." in var.path
    ]
    if not scopes:
        raise ValueError(f"the VCD file has no signal {clock!r}")
    return min(scopes, key=lambda s: s.count("."))


def handshakes(
    vcd: str, scope: str = "", *, clock: str = "clk", reset: str = "rst"
) -> dict[str, list[int]]:
    """For every stream in ``scope`` (a dotted path of VCD scopes, e.g. ``"top_tb.dut"``;
    empty: the outermost scope with a ``clock``) and in the scopes below it, the cycles
    in which it moved a beat. Streams are named relative to ``scope``
    (``"linear_0.s_axis"``). ``clock`` and ``reset`` are taken from ``scope`` or the
    nearest scope above it that has them."""
    tokens = _tokens(vcd)
    variables = _read_header(tokens)
    scope = scope or _default_scope(variables, clock)
    clk, rst = _find(variables, scope, clock), _find(variables, scope, reset)
    # every stream: its name, and its valid and ready codes with the bit of them it is
    streams: list[tuple[str, str, str, int]] = []
    for name, (valid, ready, width) in _streams(variables, scope).items():
        if width == 1:
            streams.append((name, valid, ready, 0))
        else:  # bit k is character width - 1 - k of the value
            streams += [(f"{name}({k})", valid, ready, width - 1 - k) for k in range(width)]
    wanted = {clk, rst, *(code for _, valid, ready, _ in streams for code in (valid, ready))}
    widths = {code: vs[0].width for code, vs in variables.items()}
    state = {code: "x" * widths[code] for code in wanted}
    moved: dict[str, list[int]] = {name: [] for name, *_ in streams}
    cycle = 0
    changes: list[tuple[str, str]] = []

    def step() -> None:
        """Apply the changes of one time step; first count a rising edge among them."""
        nonlocal cycle
        if state[clk] != "1" and any(c == clk and v == "1" for c, v in changes):
            if state[rst] != "0":
                cycle = 0
            else:
                for name, valid, ready, bit in streams:
                    if state[valid][bit] == "1" and state[ready][bit] == "1":
                        moved[name].append(cycle)
                cycle += 1
        for code, value in changes:
            state[code] = value
        changes.clear()

    for token in tokens:
        head = token[0]
        if head == "#":
            step()
        elif head in "bBrR":
            code = next(tokens)
            if code in wanted:
                changes.append((code, _bits(token[1:].lower(), widths[code])))
        elif head in "01xXzZuUwWlLhH-":
            code = token[1:]
            if code in wanted:
                changes.append((code, head.lower()))
        elif token == "$comment":
            for word in tokens:
                if word == "$end":
                    break
        # $dumpvars, $dumpon, $end ...: the values inside count like any others
    step()
    return moved
