"""The cocotb side of ``test_cocotb.py``: a generated design driven by third-party
AXI4-Stream components (cocotbext-axi's ``AxiStreamSource`` and ``AxiStreamSink``) with
random pauses on both sides, and a protocol monitor of our own.

The simulator runs this module (``EC_AXIS_CONFIG`` names a JSON file: the input frames
as bytes, the expected output frames, the pause settings, where to write the results).
It asserts that

* every output port is defined from time zero, and during reset ``m_axis_tvalid`` and
  ``s_axis_tready`` are low;
* on both interfaces a beat offered (tvalid high) is not taken back and its tdata and
  tlast do not change until it is taken;
* every output frame (cocotbext-axi splits frames at tlast) is the expected one: exact
  outputs, tlast on the last beat of every sample, no beat lost or added;
* ``tlast_error`` stays low, or, where the test sends misframed samples on purpose
  (``misframed``), is high at the end (the input's tlast is then not checked).

and writes the cycles of the output beats (counted from the end of reset), so that the
VHDL and the Verilog of one design can be compared cycle by cycle.
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Iterator
from pathlib import Path

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import RisingEdge, Timer
from cocotbext.axi import AxiStreamBus, AxiStreamFrame, AxiStreamSink, AxiStreamSource

RESET_CYCLES = 4


def pauses(seed: int, percent: int) -> Iterator[bool]:
    """A pause (True) in about ``percent`` % of the cycles, the same for the same seed."""
    rng = random.Random(seed)
    while True:
        yield rng.random() * 100 < percent


def defined(signal) -> bool:  # noqa: ANN001 (a cocotb handle)
    return signal.value.is_resolvable


class Watch:
    """Checks the protocol of one AXI4-Stream interface at every rising edge and records
    the cycles of its handshakes."""

    def __init__(self, dut, prefix: str, beats: int, check_last: bool = True) -> None:  # noqa: ANN001
        self.check_last = check_last
        self.data = getattr(dut, f"{prefix}_tdata")
        self.valid = getattr(dut, f"{prefix}_tvalid")
        self.ready = getattr(dut, f"{prefix}_tready")
        self.last = getattr(dut, f"{prefix}_tlast")
        self.prefix, self.beats = prefix, beats
        self.cycles: list[int] = []

    def check(self, cycle: int, in_reset: bool, pending: tuple | None) -> tuple | None:
        name = self.prefix
        for signal in (self.valid, self.ready):
            assert defined(signal), f"cycle {cycle}: {signal._name} is {signal.value}"
        valid, ready = int(self.valid.value), int(self.ready.value)
        if in_reset:
            return None
        if pending is not None:
            assert valid, f"cycle {cycle}: {name}_tvalid dropped before the handshake"
            assert (str(self.data.value), str(self.last.value)) == pending, (
                f"cycle {cycle}: {name}_tdata/tlast changed while not accepted"
            )
        if not valid:
            return None
        assert defined(self.data) and defined(self.last), f"cycle {cycle}: {name} metavalue"
        if ready:
            self.cycles.append(cycle)
            number = len(self.cycles)
            want_last = int(number % self.beats == 0)
            assert not self.check_last or int(self.last.value) == want_last, (
                f"cycle {cycle}: {name} beat {number - 1} has tlast={self.last.value}, "
                f"a sample is {self.beats} beats"
            )
            return None
        return (str(self.data.value), str(self.last.value))


async def monitor(dut, watches: list[Watch], misframed: bool) -> None:  # noqa: ANN001
    cycle = 0
    pending: list[tuple | None] = [None] * len(watches)
    while True:
        await RisingEdge(dut.clk)
        in_reset = int(dut.rst.value) == 1
        if in_reset:
            for w in watches:
                own = w.valid if w.prefix == "m_axis" else w.ready
                assert int(own.value) == 0, f"{own._name} is {own.value} during reset"
        assert defined(dut.tlast_error), "tlast_error"
        assert misframed or int(dut.tlast_error.value) == 0, f"cycle {cycle}: tlast_error"
        for k, w in enumerate(watches):
            pending[k] = w.check(cycle, in_reset, pending[k])
        if not in_reset:
            cycle += 1


@cocotb.test()
async def axis_exact(dut) -> None:  # noqa: ANN001
    config = json.loads(Path(os.environ["EC_AXIS_CONFIG"]).read_text())
    # reset from time zero: every output is defined before the first clock edge, and
    # the handshake outputs are low
    dut.rst.value = 1
    dut.s_axis_tvalid.value = 0
    dut.m_axis_tready.value = 0
    await Timer(1, unit="ns")
    for port in ("s_axis_tready", "m_axis_tvalid", "m_axis_tdata", "m_axis_tlast", "tlast_error"):
        handle = getattr(dut, port)
        assert defined(handle), f"{port} is {handle.value} at time zero"
    assert int(dut.s_axis_tready.value) == 0 and int(dut.m_axis_tvalid.value) == 0
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start(start_high=False))
    source = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_axis"), dut.clk, dut.rst)
    sink = AxiStreamSink(AxiStreamBus.from_prefix(dut, "m_axis"), dut.clk, dut.rst)
    source.set_pause_generator(pauses(config["seed"], config["stall_in"]))
    sink.set_pause_generator(pauses(config["seed"] + 1, config["stall_out"]))
    misframed = config.get("misframed", False)
    watches = [
        Watch(dut, "s_axis", config["beats_in"], check_last=not misframed),
        Watch(dut, "m_axis", config["beats_out"]),
    ]
    cocotb.start_soon(monitor(dut, watches, misframed))
    for _ in range(RESET_CYCLES):
        await RisingEdge(dut.clk)
    dut.rst.value = 0
    for frame in config["inputs"]:
        await source.send(AxiStreamFrame(bytes(frame)))
    received = []
    for _ in config["expected"]:
        frame = await sink.recv()
        received.append(list(frame.tdata))
    for _ in range(config["beats_out"] + 8):  # no beat added after the last sample
        await RisingEdge(dut.clk)
    Path(config["results"]).write_text(
        json.dumps(
            {
                "outputs": received,
                "output_cycles": watches[1].cycles,
                "input_cycles": watches[0].cycles,
            }
        )
    )
    assert len(watches[1].cycles) == len(config["expected"]) * config["beats_out"]
    if misframed:
        assert int(dut.tlast_error.value) == 1, "tlast_error is low after misframed samples"
    for k, (got, want) in enumerate(zip(received, config["expected"], strict=True)):
        assert got == want, f"sample {k}: got {got}, expected {want}"
