"""Compile a design's Verilog with Verilator into a simulation program, once per design.

``build(verilog, top, in_bits, out_bits)`` verilates the design under the testbench of
``sim.verilog_testbench`` (the one Icarus Verilog runs too) with a small C++ harness
that toggles the clock until the testbench's ``$finish`` and exits with 1 after a
``$fatal``, compiles it, and keeps the program in the cache (``sim.cache``) under a key
of the Verilog, the testbench, the harness, Verilator's version and its flags: a second
build of the same design finds it there. The program reads the testbench's parameters as
plusargs (``command``), so one compile serves every run. Verilator's run-time library
(the same for every design) is compiled once and kept in the cache too.

Verilator simulates two states (0 and 1): the testbench's checks for unknown values
never fire here, GHDL and Icarus Verilog make them.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from elasticai.creator.sim import cache
from elasticai.creator.sim.ghdl import find_tool, run_watched
from elasticai.creator.sim.verilog_testbench import (
    check_parameters,
    testbench,
    testbench_name,
)

__all__ = [
    "VerilatorNotFoundError",
    "VerilatorError",
    "FLAGS",
    "verilator_path",
    "version",
    "model_key",
    "is_built",
    "build",
    "command",
]

#: Verilator's flags: optimised, two-state with fast X handling, warnings not fatal
#: (GHDL's Verilog sets registers with ``<=`` in ``initial`` blocks).
FLAGS: tuple[str, ...] = (
    "--cc",
    "--exe",
    "-O3",
    "--x-assign",
    "fast",
    "--x-initial",
    "fast",
    "-Wno-fatal",
    "-Wno-lint",
    "-Wno-style",
    "-Wno-INITIALDLY",
)

#: The name of the program inside a cache entry.
PROGRAM = "model"

#: Lines of a failed tool's output that its error message shows (all are in ``output``).
_OUTPUT_TAIL = 40

#: The harness: a 10 ns clock until ``$finish``; exit 1 after a ``$fatal`` (or ``$stop``).
HARNESS = """\
// elasticai.creator: runs the Verilated testbench (module Vtb) until $finish.
#include <memory>
#include "verilated.h"
#include "Vtb.h"

int main(int argc, char** argv) {
    const std::unique_ptr<VerilatedContext> context{new VerilatedContext};
    context->fatalOnError(false);  // $fatal ends the run with exit code 1, not abort()
    context->commandArgs(argc, argv);
    const std::unique_ptr<Vtb> tb{new Vtb{context.get()}};
    tb->clk = 0;
    tb->eval();
    while (!context->gotFinish()) {
        context->timeInc(5000);  // half a period of 10 ns, in ps
        tb->clk = !tb->clk;
        tb->eval();
    }
    tb->final();
    return context->gotError() ? 1 : 0;
}
"""

#: Object files of Verilator's run-time library, the same for every design.
_RUNTIME_OBJECTS = ("verilated.o", "verilated_threads.o")


class VerilatorNotFoundError(RuntimeError):
    """Verilator is not installed or not where ELASTICAI_VERILATOR says."""

    def __init__(self, detail: str = "") -> None:
        message = (
            "Verilator was not found. Install it (Debian/Ubuntu: `apt-get install "
            "verilator`; `./dev setup` does) or set the ELASTICAI_VERILATOR environment "
            "variable to the verilator binary."
        )
        super().__init__(f"{message} {detail}".strip())


class VerilatorError(RuntimeError):
    """Verilator, the C++ compiler or a compiled model failed; carries the command and
    its output."""

    def __init__(self, command: Sequence[str], output: str, returncode: int) -> None:
        self.command = list(command)
        self.output = output
        self.returncode = returncode
        tail = "\n".join(output.rstrip().splitlines()[-_OUTPUT_TAIL:])
        super().__init__(f"Verilator failed (exit {returncode}): {' '.join(self.command)}\n{tail}")


def verilator_path() -> str:
    """The verilator binary: ELASTICAI_VERILATOR, else the one on PATH; and ``make``
    and a C++ compiler (``CXX``, default ``g++``), with which it compiles models."""
    tool = find_tool("verilator", "ELASTICAI_VERILATOR", VerilatorNotFoundError)
    for helper in ("make", os.environ.get("CXX") or "g++"):
        if shutil.which(helper) is None:
            raise VerilatorNotFoundError(
                f"(it needs {helper!r} to compile its models: `apt-get install make g++`)"
            )
    return tool


@functools.cache
def version(verilator: str) -> str:
    """``verilator --version`` of the binary ``verilator``, e.g. ``Verilator 5.006 ...``."""
    run = subprocess.run([verilator, "--version"], capture_output=True, text=True, check=False)
    if run.returncode != 0:
        raise VerilatorError([verilator, "--version"], run.stdout + run.stderr, run.returncode)
    return run.stdout.strip()


def model_key(verilog: str, top: str, in_bits: int, out_bits: int) -> str:
    """The cache key of a design's compiled model (raises VerilatorNotFoundError)."""
    tool = verilator_path()
    bench = testbench(top, in_bits, out_bits)
    return "verilator-" + cache.key([verilog, bench, HARNESS, version(tool), *FLAGS])


def is_built(verilog: str, top: str, in_bits: int, out_bits: int, root: Path | None = None) -> bool:
    """Whether the compiled model of ``verilog`` is in the cache (at ``root``)."""
    folder = (cache.cache_dir() if root is None else root) / model_key(
        verilog, top, in_bits, out_bits
    )
    return (folder / PROGRAM).is_file()


def build(verilog: str, top: str, in_bits: int, out_bits: int, root: Path | None = None) -> Path:
    """The compiled model (a program) of module ``top`` (Verilog text ``verilog``, stream
    widths as for ``verilog_testbench.testbench``), from the cache at ``root`` (default
    ``cache.cache_dir()``), compiled and stored there first if it is missing."""
    tool = verilator_path()
    name = model_key(verilog, top, in_bits, out_bits)

    def compile_into(folder: Path) -> None:
        sources = folder / "src"
        sources.mkdir()
        bench = testbench_name(top)
        (sources / f"{bench}.v").write_text(testbench(top, in_bits, out_bits))
        (sources / f"{top}.v").write_text(verilog)
        (sources / "harness.cpp").write_text(HARNESS)
        objects = folder / "obj"
        verilate = [
            tool,
            *FLAGS,
            "--top-module",
            bench,
            "--prefix",
            "Vtb",
            "--Mdir",
            str(objects),
            "-o",
            PROGRAM,
            str(sources / f"{bench}.v"),
            str(sources / f"{top}.v"),
            str(sources / "harness.cpp"),
        ]
        log = _run(verilate, folder)
        runtime = _runtime(tool, root)
        if runtime is not None:
            for object_file in _RUNTIME_OBJECTS:
                shutil.copy(runtime / object_file, objects / object_file)
        log += _run(["make", "-s", "-C", str(objects), "-f", "Vtb.mk", PROGRAM], folder)
        if runtime is None:
            _keep_runtime(tool, objects, root)
        shutil.move(str(objects / PROGRAM), str(folder / PROGRAM))
        shutil.rmtree(objects)
        (folder / "build.log").write_text(log)

    return cache.entry(name, compile_into, root) / PROGRAM


def command(program: Path, parameters: Mapping[str, int]) -> list[str]:
    """The command line that runs the compiled model ``program`` with the testbench's
    ``parameters`` (names of ``verilog_testbench.PARAMETERS``)."""
    check_parameters(parameters)
    return [str(program), *(f"+{k}={int(v)}" for k, v in parameters.items())]


def _run(command: Sequence[str], workdir: Path) -> str:
    returncode, output = run_watched(command, workdir)
    if returncode != 0:
        raise VerilatorError(command, output, returncode)
    return output


def _runtime_name(tool: str) -> str:
    return "verilator-runtime-" + cache.key([version(tool), *FLAGS])


def _runtime(tool: str, root: Path | None) -> Path | None:
    """The cached object files of Verilator's run-time library, if they are there."""
    folder = (cache.cache_dir() if root is None else root) / _runtime_name(tool)
    if all((folder / name).is_file() for name in _RUNTIME_OBJECTS):
        return folder
    return None


def _keep_runtime(tool: str, objects: Path, root: Path | None) -> None:
    """Store the run-time library's object files that a build compiled, for the next."""

    def copy(folder: Path) -> None:
        for name in _RUNTIME_OBJECTS:
            shutil.copy(objects / name, folder / name)

    if all((objects / name).is_file() for name in _RUNTIME_OBJECTS):
        cache.entry(_runtime_name(tool), copy, root)
