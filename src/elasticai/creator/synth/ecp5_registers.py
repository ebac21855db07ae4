"""Registers into the ECP5's multiplier and block RAM cells, after Yosys ``synth_ecp5``.

Yosys 0.23 maps a multiply onto a ``MULT18X18D`` and a ROM onto a ``DP16KD`` but leaves
the registers around them in the fabric: operands, product and read data then travel
between a slice and the hard block and back within one cycle (4-5 ns of routing each way
where many multipliers spread over the chip, 5.6 ns clock-to-output of an unregistered
block RAM). Vendor tools take such registers into the block (Vivado into a DSP48's A, B,
M and P registers, Yosys ``synth_xilinx`` too); :func:`absorb_registers` does the same on
the ECP5 netlist, so nextpnr times the design as the device would run it:

* a ``MULT18X18D`` input (A or B) whose every bit comes from a flip-flop gets the input
  register (``REG_INPUTA_CLK`` / ``REG_INPUTB_CLK``); the multiplier reads what fed
  those flip-flops, which stay where something else reads them too;
* a ``MULT18X18D`` whose every used product bit goes to one flip-flop and nowhere else
  gets the output register (``REG_OUTPUT_CLK``), and those flip-flops go;
* a ``DP16KD`` read port whose every used data bit goes to one flip-flop and nowhere else
  gets its output register (``REGMODE_A`` / ``REGMODE_B`` ``OUTREG``, enabled by that
  flip-flop's clock enable on ``OCEA`` / ``OCEB``), and those flip-flops go.

A flip-flop is taken only where the block's register behaves as it does: same clock, on
the rising edge, one clock enable (or none) for the whole group, no set or reset, and 0
after configuration (a DSP or RAM register cannot start at 1). A flip-flop with a reset
stays in the fabric: the VHDL leaves resets off the data registers next to multipliers
and memories so that every tool can take them in. The function and the cycle count do
not change; only where the registers are.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

__all__ = ["Absorbed", "absorb_registers"]

_FF = "TRELLIS_FF"
_NO_ENABLE = "1"


@dataclass(frozen=True)
class Absorbed:
    """How many registers :func:`absorb_registers` moved into hard blocks: multiplier
    input registers (A and B count apart), multiplier output registers, block RAM output
    registers, and the fabric flip-flops that went."""

    mult_inputs: int = 0
    mult_outputs: int = 0
    ram_outputs: int = 0
    flip_flops_removed: int = 0


class _Netlist:
    """Drivers and readers of each bit of one flat module (Yosys JSON)."""

    def __init__(self, module: dict[str, Any]) -> None:
        self.cells: dict[str, dict[str, Any]] = module["cells"]
        self.port_bits = {
            bit for port in module["ports"].values() for bit in port["bits"] if isinstance(bit, int)
        }
        self.driver: dict[int, tuple[str, str]] = {}
        self.readers: dict[int, list[tuple[str, str]]] = defaultdict(list)
        for name, cell in self.cells.items():
            self._index(name, cell)

    def _index(self, name: str, cell: dict[str, Any]) -> None:
        directions = cell["port_directions"]
        for port, bits in cell["connections"].items():
            for bit in bits:
                if not isinstance(bit, int):
                    continue
                if directions.get(port) == "output":
                    self.driver[bit] = (name, port)
                else:
                    self.readers[bit].append((name, port))

    def connect(self, name: str, port: str, bit: int | str) -> None:
        """Connect the input ``port`` of cell ``name`` to ``bit`` (a net or "0"/"1")."""
        cell = self.cells[name]
        old = cell["connections"].get(port, [None])[0]
        if isinstance(old, int):
            self.readers[old].remove((name, port))
        cell["connections"][port] = [bit]
        cell["port_directions"][port] = "input"
        if isinstance(bit, int):
            self.readers[bit].append((name, port))

    def drive(self, name: str, port: str, bit: int | str) -> None:
        """Make the output ``port`` of cell ``name`` drive ``bit`` (its old net loses it)."""
        cell = self.cells[name]
        old = cell["connections"][port][0]
        if isinstance(old, int) and self.driver.get(old) == (name, port):
            del self.driver[old]
        cell["connections"][port] = [bit]
        if isinstance(bit, int):
            self.driver[bit] = (name, port)

    def remove(self, name: str) -> None:
        cell = self.cells.pop(name)
        for port, bits in cell["connections"].items():
            for bit in bits:
                if not isinstance(bit, int):
                    continue
                if self.driver.get(bit) == (name, port):
                    del self.driver[bit]
                elif (name, port) in self.readers.get(bit, []):
                    self.readers[bit].remove((name, port))

    def pin(self, name: str, port: str) -> int | str:
        """The one bit on ``port`` of cell ``name``; "0" where it is not connected."""
        bits = self.cells[name]["connections"].get(port)
        return bits[0] if bits else "0"


def _register_class(net: _Netlist, ff: str) -> tuple[Any, Any] | None:
    """(clock, clock enable) of a plain data flip-flop the hard blocks can take in: rising
    edge, no set or reset, 0 after configuration; None for any other flip-flop."""
    cell = net.cells[ff]
    params = cell["parameters"]
    if cell["type"] != _FF or params.get("CLKMUX", "CLK") != "CLK":
        return None
    if net.pin(ff, "LSR") != "0" or params.get("REGSET", "RESET") != "RESET":
        return None
    mux = params.get("CEMUX", "CE").strip()
    if mux == "1" or net.pin(ff, "CE") == "1" and mux == "CE":
        return net.pin(ff, "CLK"), _NO_ENABLE
    if mux != "CE":
        return None  # inverted or constant-0 enable
    return net.pin(ff, "CLK"), net.pin(ff, "CE")


def _common_class(net: _Netlist, ffs: Iterable[str]) -> tuple[Any, Any] | None:
    classes = {_register_class(net, ff) for ff in ffs}
    if len(classes) != 1:
        return None
    (found,) = classes
    return found


def _into_block(net: _Netlist, name: str, outputs: dict[str, str], counts: dict[str, int]) -> None:
    """Let cell ``name`` drive what the flip-flops of ``outputs`` (its output port -> the
    flip-flop it alone feeds) drove, and remove those flip-flops."""
    for pin, ff in outputs.items():
        q = net.pin(ff, "Q")
        net.remove(ff)
        net.drive(name, pin, q)
        counts["flip_flops_removed"] += 1


def _sole_reader_flip_flops(
    net: _Netlist, cell: str, ports: Iterable[str]
) -> dict[str, str] | None:
    """Output port -> the flip-flop it alone feeds (at D) for every used output of ``cell``
    among ``ports``; None where one of them goes anywhere else too (or leaves the design)."""
    found: dict[str, str] = {}
    for port in ports:
        bit = net.pin(cell, port)
        if not isinstance(bit, int):
            continue
        readers = net.readers.get(bit, [])
        if not readers and bit not in net.port_bits:
            continue  # an unused product or data bit
        if bit in net.port_bits or len(readers) != 1:
            return None
        reader, reader_port = readers[0]
        if net.cells[reader]["type"] != _FF or reader_port != "DI":
            return None
        found[port] = reader
    return found or None


class _Enables:
    """The four clock enable pins of one MULT18X18D, shared out among its registers."""

    def __init__(self, net: _Netlist, cell: str) -> None:
        self.net, self.cell = net, cell
        self.used: dict[Any, str] = {}

    def pin_for(self, enable: Any) -> str | None:
        if enable not in self.used:
            if len(self.used) == 4:
                return None
            pin = f"CE{len(self.used)}"
            self.used[enable] = pin
            self.net.connect(self.cell, pin, enable)
        return self.used[enable]


def _mult(net: _Netlist, name: str, counts: dict[str, int], sources_taken: set[str]) -> None:
    cell = net.cells[name]
    params = cell["parameters"]
    clock: Any = net.pin(name, "CLK0") if net.pin(name, "CLK0") != "0" else None
    enables = _Enables(net, name)
    for group in "AB":
        if params.get(f"REG_INPUT{group}_CLK", "NONE") != "NONE":
            continue
        pins = [f"{group}{i}" for i in range(18)]
        sources: dict[str, str] = {}
        for pin in pins:
            bit = net.pin(name, pin)
            if not isinstance(bit, int):
                continue
            driver = net.driver.get(bit)
            if driver is None or driver[1] != "Q" or net.cells[driver[0]]["type"] != _FF:
                sources = {}
                break
            sources[pin] = driver[0]
        found = _common_class(net, sources.values()) if sources else None
        if found is None or (clock is not None and found[0] != clock):
            continue
        enable_pin = enables.pin_for(found[1])
        if enable_pin is None:
            continue
        clock = found[0]
        for pin, ff in sources.items():
            net.connect(name, pin, net.pin(ff, "DI"))
        sources_taken.update(sources.values())
        params[f"REG_INPUT{group}_CLK"] = "CLK0"
        params[f"REG_INPUT{group}_CE"] = enable_pin
        params[f"REG_INPUT{group}_RST"] = "RST0"
        counts["mult_inputs"] += 1
    if params.get("REG_OUTPUT_CLK", "NONE") == "NONE":
        outputs = _sole_reader_flip_flops(net, name, [f"P{i}" for i in range(36)])
        found = _common_class(net, outputs.values()) if outputs else None
        if outputs and found is not None and (clock is None or found[0] == clock):
            enable_pin = enables.pin_for(found[1])
            if enable_pin is not None:
                clock = found[0]
                _into_block(net, name, outputs, counts)
                params["REG_OUTPUT_CLK"] = "CLK0"
                params["REG_OUTPUT_CE"] = enable_pin
                params["REG_OUTPUT_RST"] = "RST0"
                counts["mult_outputs"] += 1
    if clock is not None:
        net.connect(name, "CLK0", clock)
        net.connect(name, "RST0", "0")


def _ram(net: _Netlist, name: str, counts: dict[str, int]) -> None:
    cell = net.cells[name]
    params = cell["parameters"]
    # 36 bits wide: one read port (B) drives the data outputs of both halves
    pseudo_dual = _number(params.get("DATA_WIDTH_B", 18)) == 36
    for port in ("B",) if pseudo_dual else ("A", "B"):
        modes = ("REGMODE_A", "REGMODE_B") if pseudo_dual else (f"REGMODE_{port}",)
        if any(params.get(mode, "NOREG") != "NOREG" for mode in modes):
            continue
        if params.get(f"CLK{port}MUX", f"CLK{port}") != f"CLK{port}":
            continue
        prefixes = ("DOA", "DOB") if pseudo_dual else (f"DO{port}",)
        pins = [f"{prefix}{i}" for prefix in prefixes for i in range(18)]
        outputs = _sole_reader_flip_flops(net, name, pins)
        found = _common_class(net, outputs.values()) if outputs else None
        if not outputs or found is None or found[0] != net.pin(name, f"CLK{port}"):
            continue
        _into_block(net, name, outputs, counts)
        for mode in modes:
            params[mode] = "OUTREG"
        net.connect(name, f"OCE{port}", found[1])
        counts["ram_outputs"] += 1


def _number(value: Any) -> int:
    """A Yosys JSON parameter as an int (numbers come as strings of binary digits)."""
    if isinstance(value, int):
        return value
    text = str(value).strip()
    return int(text, 2) if text and set(text) <= {"0", "1"} else int(text or 0)


def _unread(net: _Netlist, flip_flops: set[str]) -> int:
    """Remove those of ``flip_flops`` whose output nothing reads any more (the multipliers
    they fed took copies of them)."""
    removed = 0
    for name in sorted(flip_flops):
        q = net.pin(name, "Q")
        if isinstance(q, int) and (net.readers.get(q) or q in net.port_bits):
            continue
        net.remove(name)
        removed += 1
    return removed


def absorb_registers(netlist: dict[str, Any], top: str) -> Absorbed:
    """Move the registers next to ``top``'s multipliers and block RAMs into them, in place
    (``netlist``: Yosys' JSON of a flattened ``synth_ecp5`` run)."""
    net = _Netlist(netlist["modules"][top])
    counts: dict[str, int] = defaultdict(int)
    sources_taken: set[str] = set()
    # memories first: a multiplier then never takes a register a memory could have had
    for name in sorted(n for n, cell in net.cells.items() if cell["type"] == "DP16KD"):
        _ram(net, name, counts)
    for name in sorted(n for n, cell in net.cells.items() if cell["type"] == "MULT18X18D"):
        _mult(net, name, counts, sources_taken)
    counts["flip_flops_removed"] += _unread(net, sources_taken)
    return Absorbed(**counts)
