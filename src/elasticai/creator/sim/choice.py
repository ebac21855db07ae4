"""Which simulator runs a design: the one asked for, or with ``simulator=None`` the one
that gives the answer first.

- ``"ghdl"``: the VHDL in GHDL, the reference (always there: the package needs it).
- ``"icarus"``: the design's Verilog (``ghdl --synth``) in Icarus Verilog.
- ``"verilator"``: the same Verilog compiled by Verilator into a program (``sim.verilator``),
  hundreds of times faster than GHDL once compiled; the compile takes seconds to minutes
  and is cached.
- ``None``: Verilator when it is installed and its compile pays off: the compiled model
  is already in the cache, or GHDL would take longer than the compile (estimated from
  the predicted cycles and the size of the Verilog). Else GHDL, and always GHDL for a
  value change dump (``vcd=``). Icarus Verilog is never the fastest.

Verilator's compile needs about 0.35 GB of memory and 10-20 s per MB of Verilog; designs
above :data:`MAX_VERILOG_BYTES` are refused for ``"verilator"`` and left to GHDL with
``None``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from elasticai.creator.sim import icarus, verilator

__all__ = [
    "SIMULATORS",
    "MAX_VERILOG_BYTES",
    "Choice",
    "check_request",
    "check_size",
    "choose",
]

LOG = logging.getLogger("elasticai.creator.sim")

#: The simulators ``Design.run`` knows.
SIMULATORS = ("ghdl", "icarus", "verilator")

#: Clock cycles per second of GHDL 2.0 (mcode) on serial designs, measured on a 2-core
#: machine (17,000-28,000; unrolled designs are much slower).
GHDL_CYCLES_PER_SECOND = 25_000

#: Verilator's compile time, about ``COMPILE_SECONDS + COMPILE_SECONDS_PER_MB * MB``
#: of Verilog (measured: 4.3 s for 0.35 MB, 22 s for 1.1 MB, 64-110 s for 6-9 MB).
COMPILE_SECONDS = 5.0
COMPILE_SECONDS_PER_MB = 15.0

#: The largest Verilog Verilator compiles here: 9 MB took 64 s and 3.2 GB of memory.
MAX_VERILOG_BYTES = 16_000_000


@dataclass(frozen=True)
class Choice:
    """The simulator that runs, and why (for the log and the progress bar)."""

    simulator: str
    reason: str


def check_size(verilog: str) -> None:
    """Raise ValueError when ``verilog`` is too large for Verilator to compile here."""
    if len(verilog) > MAX_VERILOG_BYTES:
        raise ValueError(
            f"the design's Verilog has {len(verilog):,} bytes, more than the "
            f"{MAX_VERILOG_BYTES:,} Verilator compiles here (about 0.35 GB of memory per "
            "MB); simulate it with simulator='ghdl'"
        )


def check_request(requested: str | None, *, vcd: bool) -> None:
    """Raise ValueError for an unknown simulator or ``vcd`` without GHDL, and the
    ``...NotFoundError`` of a requested simulator that is not installed."""
    if requested is not None and requested not in SIMULATORS:
        names = ", ".join(repr(name) for name in SIMULATORS)
        raise ValueError(f"simulator must be {names} or None (the fastest), not {requested!r}")
    if vcd and requested not in (None, "ghdl"):
        raise ValueError("vcd= needs simulator='ghdl'")
    if requested == "icarus":
        icarus.vvp_path()
    if requested == "verilator":
        verilator.verilator_path()


def choose(
    requested: str | None,
    *,
    cycles: int,
    vcd: bool,
    verilog: Callable[[], str],
    compiled: Callable[[str], bool],
    verilog_ready: bool,
) -> Choice:
    """The simulator for a run of about ``cycles`` clock cycles (without stalls).

    ``verilog()`` gives the design's Verilog (``verilog_ready``: it is at hand without
    running ``ghdl --synth``), ``compiled(verilog)`` whether Verilator's model of it is
    in the cache. The checks of :func:`check_request` come first.
    """
    check_request(requested, vcd=vcd)
    if requested == "verilator":
        check_size(verilog())
    if requested is not None:
        return Choice(requested, "as asked")
    if vcd:
        choice = Choice("ghdl", "a value change dump needs GHDL")
    else:
        choice = _fastest(cycles, verilog, compiled, verilog_ready)
    LOG.info("simulator=None: %s (%s)", choice.simulator, choice.reason)
    return choice


def _fastest(
    cycles: int, verilog: Callable[[], str], compiled: Callable[[str], bool], ready: bool
) -> Choice:
    """Verilator or GHDL, whichever answers first (``ready``: ``verilog()`` is cheap)."""
    try:
        verilator.verilator_path()
    except verilator.VerilatorNotFoundError:
        return Choice("ghdl", "Verilator is not installed (Debian package verilator)")
    ghdl_seconds = cycles / GHDL_CYCLES_PER_SECOND
    if ghdl_seconds < COMPILE_SECONDS and not (ready and compiled(verilog())):
        return Choice("ghdl", f"{cycles} cycles: GHDL is done before a compile would be")
    from elasticai.creator.sim.ghdl import GhdlError

    try:
        text = verilog()
    except GhdlError as error:
        LOG.warning("no Verilog for Verilator (ghdl --synth failed), simulating in GHDL: %s", error)
        return Choice("ghdl", "ghdl --synth failed")
    try:
        check_size(text)
    except ValueError as error:
        LOG.warning("simulating in GHDL: %s", error)
        return Choice("ghdl", "the Verilog is too large for Verilator")
    if compiled(text):
        return Choice("verilator", "the compiled model is in the cache")
    compile_seconds = COMPILE_SECONDS + COMPILE_SECONDS_PER_MB * len(text) / 1e6
    if ghdl_seconds > compile_seconds:
        return Choice(
            "verilator",
            f"GHDL would take about {ghdl_seconds:.0f} s, the compile about {compile_seconds:.0f} s",
        )
    return Choice(
        "ghdl",
        f"GHDL takes about {ghdl_seconds:.0f} s, less than a compile ({compile_seconds:.0f} s)",
    )
