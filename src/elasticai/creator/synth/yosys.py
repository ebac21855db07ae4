"""Cost of a design with open tools: GHDL (VHDL -> Verilog) then Yosys ``synth_xilinx``.

``synthesize(files, top)`` runs

1. ``ghdl --synth --std=08 --out=verilog <files> -e <top>``. GHDL keeps the
   hierarchy: one Verilog module per specialised entity, instantiated under the
   instance labels of the VHDL architecture (``linear_0``, ``relu_1``, ...).
2. :func:`elasticai.creator.synth.verilog_literals.rewrite` on that Verilog
   (GHDL writes constants over 32 bits as strings, which Yosys misreads) and the
   fixes of :mod:`~elasticai.creator.synth.netlist_fixes`; the words of each ROM go
   into a ``.mem`` file that ``$readmemb`` reads (:func:`with_memory_files`).
3. Yosys with the script of :func:`yosys_script`: ``synth_xilinx`` without
   ``-flatten`` (so every instance stays a module of its own), without I/O and
   clock buffers (the design is a block inside a larger one), a ``stat`` into
   ``stat.txt``, the hierarchical netlist as JSON, then ``flatten`` and the flat
   netlist as JSON.

Counts come from the JSON netlists (the same numbers ``stat`` prints, which
stays in the log for people). Logic depth is computed here from the netlist,
see :func:`logic_depth`.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
import time
from collections import Counter, defaultdict, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from elasticai.creator.sim import ghdl
from elasticai.creator.synth.netlist_fixes import (
    arithmetic_shifts,
    ascending_roms,
    block_roms,
    collision_free_reads,
    continuous_signals,
    memory_files,
    memory_words,
    signed_multiplies,
)
from elasticai.creator.synth.verilog_literals import rewrite
from elasticai.creator.vhdl.top import without_port_attributes

__all__ = [
    "KEYS",
    "SynthReport",
    "SynthesisError",
    "YosysNotFoundError",
    "count_resources",
    "logic_depth",
    "synthesize",
    "synthesize_verilog",
    "to_verilog",
    "with_memory_files",
    "yosys_path",
    "yosys_script",
]

#: The keys of every count dictionary of a :class:`SynthReport`.
KEYS: tuple[str, ...] = ("lut", "lutram", "ff", "dsp", "bram", "carry", "logic_depth")

_LOG_TAIL = 40

# LUTs a distributed-RAM / shift-register primitive occupies (Vivado's "LUT as Memory").
_LUTRAM_LUTS = {
    "RAM16X1S": 1,
    "RAM16X1S_1": 1,
    "RAM32X1S": 1,
    "RAM32X1S_1": 1,
    "RAM64X1S": 1,
    "RAM64X1S_1": 1,
    "RAM128X1S": 2,
    "RAM128X1S_1": 2,
    "RAM256X1S": 4,
    "RAM512X1S": 8,
    "RAM16X1D": 2,
    "RAM16X1D_1": 2,
    "RAM32X1D": 2,
    "RAM32X1D_1": 2,
    "RAM64X1D": 2,
    "RAM64X1D_1": 2,
    "RAM128X1D": 4,
    "RAM256X1D": 8,
    "RAM32M": 4,
    "RAM64M": 4,
    "RAM32M16": 8,
    "RAM64M8": 8,
    "SRL16": 1,
    "SRL16E": 1,
    "SRLC16E": 1,
    "SRLC32E": 1,
}
# Block RAM in units of 18 kbit.
_BRAM18 = {
    "RAMB18E1": 1,
    "RAMB36E1": 2,
    "FIFO18E1": 1,
    "FIFO36E1": 2,
    "RAMB18E2": 1,
    "RAMB36E2": 2,
    "FIFO18E2": 1,
    "FIFO36E2": 2,
}
_LUT = re.compile(r"LUT[1-6]$")
# Cells on a combinational path and the logic levels each adds.
_LEVELS = {"MUXF7": 1, "MUXF8": 1, "MUXF9": 1, "CARRY4": 1, "CARRY8": 1, "INV": 1, "BUF": 0}
_DSP_REGISTERS = ("AREG", "BREG", "CREG", "DREG", "ADREG", "MREG", "PREG")


class YosysNotFoundError(RuntimeError):
    """Yosys is not installed or not where ELASTICAI_YOSYS says."""

    def __init__(self, detail: str = "") -> None:
        message = (
            "Yosys was not found. Install it (Debian/Ubuntu: `apt-get install yosys`) "
            "or set the ELASTICAI_YOSYS environment variable to the yosys binary."
        )
        super().__init__(f"{message} {detail}".strip())


class SynthesisError(RuntimeError):
    """GHDL or Yosys failed; carries the command and the tail of its log."""

    def __init__(self, tool: str, command: list[str], log: str, returncode: int) -> None:
        self.tool = tool
        self.command = command
        self.log = log
        self.returncode = returncode
        tail = "\n".join(log.rstrip().splitlines()[-_LOG_TAIL:])
        super().__init__(f"{tool} failed (exit {returncode}): {' '.join(command)}\n{tail}")


@dataclass(frozen=True)
class SynthReport:
    """Resources of a design on a Xilinx 7-series part, as Yosys maps it.

    ``total`` and every ``per_instance[label]`` have the keys of :data:`KEYS`:
    ``lut`` (LUT1..LUT6 and INV cells), ``lutram`` (LUTs used as distributed
    RAM or shift registers), ``ff`` (FD* flip-flops), ``dsp`` (DSP48 slices),
    ``bram`` (block RAM in 18 kbit units: RAMB36 = 2), ``carry`` (CARRY4
    cells) and ``logic_depth`` (most logic levels between two registers or
    ports, see :func:`logic_depth`). ``per_instance`` is keyed by the instance
    labels of the top architecture; cells of the top module itself count only
    in ``total``. ``cells`` holds the raw primitive counts of the whole design,
    ``modules`` the Verilog module of each instance, ``log`` Yosys's log text,
    ``seconds`` the wall time of GHDL and Yosys together.
    """

    total: dict[str, int]
    per_instance: dict[str, dict[str, int]]
    seconds: float
    log: str = field(repr=False)
    cells: dict[str, int] = field(default_factory=dict, repr=False)
    modules: dict[str, str] = field(default_factory=dict, repr=False)

    def table(self) -> str:
        """A plain-text table: one row per instance, then the total."""
        rows = [("", *KEYS)]
        rows += [(name, *map(str, (c[k] for k in KEYS))) for name, c in self.per_instance.items()]
        rows.append(("total", *map(str, (self.total[k] for k in KEYS))))
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        lines = ["  ".join(cell.rjust(w) for cell, w in zip(r, widths, strict=True)) for r in rows]
        return "\n".join(lines) + f"\n({self.seconds:.1f} s)"


def yosys_path() -> str:
    """The yosys binary: ELASTICAI_YOSYS, else the one on PATH."""
    return ghdl.find_tool("yosys", "ELASTICAI_YOSYS", YosysNotFoundError)


def yosys_script(verilog: str, top: str, part: str = "xc7") -> str:
    """The Yosys script :func:`synthesize` runs on ``verilog`` (a file name)."""
    return "\n".join(
        [
            f"read_verilog {verilog}",
            f"hierarchy -check -top {top}",
            f"synth_xilinx -family {part} -top {top} -noiopad -noclkbuf",
            "tee -q -o stat.txt stat",
            "write_json netlist.json",
            "flatten",
            "write_json flat.json",
            "",
        ]
    )


def _run(tool: str, command: list[str], cwd: Path, timeout: float | None) -> tuple[str, str]:
    try:
        proc = subprocess.run(
            command,
            cwd=cwd,
            capture_output=True,
            text=True,
            check=False,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode() if isinstance(e.stdout, bytes) else e.stdout or ""
        raise SynthesisError(tool, command, out + f"\n(timed out after {timeout} s)", -1) from None
    if proc.returncode != 0:
        raise SynthesisError(tool, command, proc.stdout + proc.stderr, proc.returncode)
    return proc.stdout, proc.stderr


def to_verilog(
    files: Mapping[str, str],
    top: str,
    workdir: str | os.PathLike[str],
    *,
    timeout: float | None = None,
) -> str:
    """``files`` (relative path -> VHDL, analysis order) through ``ghdl --synth
    --out=verilog``, :func:`~elasticai.creator.synth.verilog_literals.rewrite` and the
    fixes of :mod:`~elasticai.creator.synth.netlist_fixes`: Verilog that Yosys reads as
    GHDL meant it and maps as a vendor tool would. The same files give the same text
    (its comments name the sources relative to ``workdir``)."""
    work = Path(workdir).resolve()
    readable = {name: without_port_attributes(text) for name, text in files.items()}
    sources = ghdl.write_sources(work / "src", readable)
    command = [
        ghdl.ghdl_path(),
        "--synth",
        *ghdl.STD_FLAGS,
        f"--workdir={work}",
        "--out=verilog",
        *(str(source.relative_to(work)) for source in sources),  # comments name them
        "-e",
        top,
    ]
    verilog, notes = _run("GHDL", command, work, timeout)
    (work / "ghdl.log").write_text(notes)
    fixed = continuous_signals(arithmetic_shifts(signed_multiplies(rewrite(verilog))))
    return memory_words(block_roms(collision_free_reads(ascending_roms(fixed))))


def with_memory_files(verilog: str, workdir: Path) -> str:
    """``verilog`` (from :func:`to_verilog`) with each ROM's words moved into a ``.mem`` file
    in ``workdir`` (:func:`~elasticai.creator.synth.netlist_fixes.memory_files`: Yosys reads
    them in seconds where it takes hours for the statements), for a tool that runs in
    ``workdir``."""
    verilog, memories = memory_files(verilog)
    for name, text in memories.items():
        (workdir / name).write_text(text)
    return verilog


def synthesize(
    files: Mapping[str, str],
    top: str,
    workdir: str | os.PathLike[str] | None = None,
    part: str = "xc7",
    *,
    timeout: float | None = None,
) -> SynthReport:
    """Synthesize ``files`` (relative path -> VHDL text, in analysis order) with
    top entity ``top`` for ``part`` (a ``synth_xilinx -family``, default 7-series).

    Everything is written to ``workdir`` (kept) or a temporary folder (removed):
    ``src/``, ``<top>.v`` (rewritten Verilog) and its ``.mem`` files, ``synth.ys``, ``yosys.log``,
    ``stat.txt``, ``netlist.json``, ``flat.json``.
    Raises :class:`YosysNotFoundError`, ``GhdlNotFoundError`` or :class:`SynthesisError`.
    """
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", top):
        raise ValueError(f"top must be a VHDL identifier, not {top!r}")
    if not re.fullmatch(r"[a-z0-9]+", part):
        raise ValueError(f"part must be a synth_xilinx family such as 'xc7', not {part!r}")
    yosys_path()  # fail early with YosysNotFoundError ...
    ghdl.ghdl_path()  # ... or GhdlNotFoundError
    with tempfile.TemporaryDirectory(prefix="ec_yosys_") as tmp:
        work = Path(workdir if workdir is not None else tmp).resolve()
        work.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        verilog = with_memory_files(to_verilog(files, top, work, timeout=timeout), work)
        report = synthesize_verilog(verilog, top, work, part, timeout=timeout)
    return replace(report, seconds=time.perf_counter() - start)


def synthesize_verilog(
    verilog: str,
    top: str,
    workdir: str | os.PathLike[str] | None = None,
    part: str = "xc7",
    *,
    timeout: float | None = None,
) -> SynthReport:
    """The Yosys half of :func:`synthesize` on Verilog text (all modules in one string)
    with top module ``top``: the same script (:func:`yosys_script`) and the same counts,
    for Verilog from elsewhere (e.g. another tool's netlist, to compare on equal terms).

    Writes ``<top>.v``, ``synth.ys``, ``yosys.log``, ``stat.txt``, ``netlist.json`` and
    ``flat.json`` to ``workdir`` (kept) or a temporary folder (removed)."""
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", top):
        raise ValueError(f"top must be a Verilog identifier, not {top!r}")
    if not re.fullmatch(r"[a-z0-9]+", part):
        raise ValueError(f"part must be a synth_xilinx family such as 'xc7', not {part!r}")
    yosys = yosys_path()
    with tempfile.TemporaryDirectory(prefix="ec_yosys_") as tmp:
        work = Path(workdir if workdir is not None else tmp).resolve()
        work.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        (work / f"{top}.v").write_text(verilog)
        (work / "synth.ys").write_text(yosys_script(f"{top}.v", top, part))
        command = [yosys, "-s", "synth.ys"]
        with open(work / "yosys.log", "w") as log_file:
            try:
                proc = subprocess.run(
                    command,
                    cwd=work,
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                    check=False,
                    timeout=timeout,
                )
                returncode = proc.returncode
            except subprocess.TimeoutExpired:
                returncode = -1
        if returncode != 0:
            log = _read(work / "yosys.log")
            if returncode == -1:
                log += f"\n(timed out after {timeout} s)"
            raise SynthesisError("Yosys", command, log, returncode)
        seconds = time.perf_counter() - start
        log = _read(work / "yosys.log")
        hier = json.loads((work / "netlist.json").read_text())
        flat = json.loads((work / "flat.json").read_text())
    return _report(hier, flat, top, seconds, log)


def _read(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""


# --- reading the netlists ------------------------------------------------------


def _is_blackbox(module: Mapping[str, Any]) -> bool:
    attributes = module.get("attributes", {})
    return any(_truthy(attributes.get(a, "0")) for a in ("blackbox", "whitebox"))


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip("0") != ""
    return bool(value)


def _cell_counts(modules: Mapping[str, Any], name: str) -> Counter[str]:
    """Primitive cells of module ``name`` with everything below it."""
    counts: Counter[str] = Counter()
    for cell in modules[name]["cells"].values():
        kind = cell["type"]
        if kind in modules and not _is_blackbox(modules[kind]):
            counts.update(_cell_counts(modules, kind))
        else:
            counts[kind] += 1
    return counts


def count_resources(cells: Mapping[str, int]) -> dict[str, int]:
    """Primitive counts (``{"LUT6": 3, "FDRE": 5, ...}``) as the report's keys
    other than ``logic_depth``."""
    out = dict.fromkeys(KEYS[:-1], 0)
    for kind, n in cells.items():
        if _LUT.match(kind) or kind == "INV":
            out["lut"] += n
        elif kind in _LUTRAM_LUTS:
            out["lutram"] += n * _LUTRAM_LUTS[kind]
        elif kind.startswith("FD"):
            out["ff"] += n
        elif kind.startswith("DSP48"):
            out["dsp"] += n
        elif kind in _BRAM18:
            out["bram"] += n * _BRAM18[kind]
        elif kind.startswith("CARRY"):
            out["carry"] += n
    return out


def _bit_list(bits: Iterable[Any]) -> list[int]:
    return [b for b in bits if isinstance(b, int)]


def _dsp_is_combinational(cell: Mapping[str, Any]) -> bool:
    params = cell.get("parameters", {})
    return not any(_truthy(params.get(p, "0")) for p in _DSP_REGISTERS)


def _through_inputs(cell: Mapping[str, Any]) -> tuple[int, list[str]] | None:
    """``(levels, input ports)`` whose values reach the outputs within the clock
    cycle, or ``None`` for a sequential cell (a path ends at its inputs and
    starts at its outputs)."""
    kind = cell["type"]
    directions = cell.get("port_directions", {})
    inputs = [p for p, d in directions.items() if d == "input"]
    if _LUT.match(kind):
        return 1, inputs
    if kind in _LEVELS:
        return _LEVELS[kind], inputs
    if kind.startswith("RAM") and kind in _LUTRAM_LUTS:
        # distributed RAM: synchronous write, asynchronous read through the address
        return 1, [p for p in inputs if p.startswith(("A", "DPRA"))]
    if kind.startswith("DSP48") and _dsp_is_combinational(cell):
        return 1, inputs
    return None


def logic_depth(module: Mapping[str, Any]) -> int:
    """Most logic levels on a combinational path of ``module`` (a Yosys JSON module).

    A path starts at an input port or a sequential cell's output (flip-flop,
    block RAM, shift register, registered DSP) and ends at an output port or a
    sequential cell's input. Each LUT, INV, MUXF7/MUXF8 and CARRY4 on it is one
    level (so a carry chain of k CARRY4 cells counts k, as Vivado's "logic
    levels" do); a distributed RAM counts one level from its read address; a
    DSP48 with no register enabled counts one. Instances of other modules are
    treated as sequential (run it on a flattened module for the whole design).
    """
    # every combinational cell: (levels, bits it reads, bits it drives)
    nodes: list[tuple[int, list[int], list[int]]] = []
    for cell in module.get("cells", {}).values():
        through = _through_inputs(cell)
        if through is None:
            continue
        levels, ports = through
        connections = cell.get("connections", {})
        directions = cell.get("port_directions", {})
        reads = sorted({b for p in ports for b in _bit_list(connections.get(p, []))})
        drives = [
            b
            for p, d in directions.items()
            if d == "output"
            for b in _bit_list(connections.get(p, []))
        ]
        nodes.append((levels, reads, drives))
    driver: dict[int, int] = {}
    for index, (_, _, drives) in enumerate(nodes):
        for bit in drives:
            driver[bit] = index
    successors: defaultdict[int, set[int]] = defaultdict(set)
    pending = [0] * len(nodes)
    for index, (_, reads, _) in enumerate(nodes):
        sources = {driver[b] for b in reads if b in driver}
        pending[index] = len(sources)
        for s in sources:
            successors[s].add(index)
    arrival = [0] * len(nodes)
    ready = deque(i for i, n in enumerate(pending) if n == 0)
    done = 0
    while ready:
        index = ready.popleft()
        done += 1
        levels, reads, _ = nodes[index]
        before = max((arrival[driver[b]] for b in reads if b in driver), default=0)
        arrival[index] = before + levels
        for nxt in successors[index]:
            pending[nxt] -= 1
            if pending[nxt] == 0:
                ready.append(nxt)
    if done != len(nodes):
        raise ValueError(f"combinational loop through {len(nodes) - done} cells")
    return max(arrival, default=0)


def _report(
    hier: Mapping[str, Any], flat: Mapping[str, Any], top: str, seconds: float, log: str
) -> SynthReport:
    modules = hier["modules"]
    if top not in modules:
        # Yosys keeps the name it was given; GHDL lowercases VHDL identifiers
        matches = [m for m in modules if m.lower() == top.lower()]
        if not matches:
            raise ValueError(f"module {top!r} is not in the netlist")
        top = matches[0]
    per_instance: dict[str, dict[str, int]] = {}
    instance_modules: dict[str, str] = {}
    for label, cell in modules[top]["cells"].items():
        kind = cell["type"]
        if kind in modules and not _is_blackbox(modules[kind]):
            counts = count_resources(_cell_counts(modules, kind))
            counts["logic_depth"] = logic_depth(modules[kind])
            per_instance[label.lstrip("\\")] = counts
            instance_modules[label.lstrip("\\")] = kind
    cells = _cell_counts(modules, top)
    total = count_resources(cells)
    total["logic_depth"] = logic_depth(flat["modules"][top])
    return SynthReport(
        total=total,
        per_instance=per_instance,
        seconds=seconds,
        log=log,
        cells=dict(sorted(cells.items())),
        modules=instance_modules,
    )
