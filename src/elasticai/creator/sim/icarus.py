"""Run a design's Verilog in Icarus Verilog under the testbench of ``sim.verilog_testbench``.

``build`` compiles the testbench with the design (``iverilog -g2012``), ``run_command``
is the command that runs it (``vvp``) with the testbench's parameters as plusargs, and
``simulate`` does both in one folder. The testbench (re-exported here as ``testbench``,
``testbench_name`` and ``PARAMETERS``) mirrors the VHDL one; its files, parameters and
checks are described in ``sim.verilog_testbench``.
"""

from __future__ import annotations

import os
import pathlib
from collections.abc import Callable, Iterable, Mapping, Sequence

from elasticai.creator.sim.ghdl import find_tool, run_watched
from elasticai.creator.sim.verilog_testbench import (
    PARAMETERS,
    check_parameters,
    testbench,
    testbench_name,
)

__all__ = [
    "IcarusNotFoundError",
    "IcarusError",
    "PARAMETERS",
    "iverilog_path",
    "vvp_path",
    "testbench_name",
    "testbench",
    "build",
    "run_command",
    "simulate",
]

#: Lines of a failed tool's output that its error message shows (all are in ``output``).
_OUTPUT_TAIL = 40


class IcarusNotFoundError(RuntimeError):
    """Icarus Verilog is not installed or not where ELASTICAI_IVERILOG says."""

    def __init__(self, detail: str = "") -> None:
        message = (
            "Icarus Verilog was not found. Install it (Debian/Ubuntu: `apt-get install "
            "iverilog`) or set the ELASTICAI_IVERILOG environment variable to the iverilog "
            "binary."
        )
        super().__init__(f"{message} {detail}".strip())


class IcarusError(RuntimeError):
    """``iverilog`` or ``vvp`` failed; carries the command and the tool's output."""

    def __init__(self, command: Sequence[str], output: str, returncode: int) -> None:
        self.command = list(command)
        self.output = output
        self.returncode = returncode
        tail = "\n".join(output.rstrip().splitlines()[-_OUTPUT_TAIL:])
        super().__init__(
            f"Icarus Verilog failed (exit {returncode}): {' '.join(self.command)}\n{tail}"
        )


def iverilog_path() -> str:
    """The iverilog binary: ELASTICAI_IVERILOG, else the one on PATH."""
    return find_tool("iverilog", "ELASTICAI_IVERILOG", IcarusNotFoundError)


def vvp_path(iverilog: str | None = None) -> str:
    """The vvp binary in the folder of ``iverilog`` (default: :func:`iverilog_path`)."""
    compiler = pathlib.Path(iverilog or iverilog_path())
    for folder in (compiler.parent, compiler.resolve().parent):
        candidate = folder / "vvp"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    raise IcarusNotFoundError(f"(no vvp next to {str(compiler)!r})")


def _run(
    command: Sequence[str], workdir: pathlib.Path, watch: Callable[[], None] | None = None
) -> str:
    """Run ``command`` in ``workdir``; ``watch`` is called about twice a second while it
    runs. Raises :class:`IcarusError` on a non-zero exit."""
    returncode, output = run_watched(command, workdir, watch)
    if returncode != 0:
        raise IcarusError(command, output, returncode)
    return output


def build(
    sources: Iterable[str | os.PathLike[str]], top: str, workdir: str | os.PathLike[str]
) -> pathlib.Path:
    """Compile ``sources`` (``iverilog -g2012``, the testbench first: its ``timescale``
    holds for the files after it) with module ``top`` on top into ``workdir``; returns
    the compiled file, for :func:`run_command`."""
    iverilog = iverilog_path()
    path = pathlib.Path(workdir).resolve()
    path.mkdir(parents=True, exist_ok=True)
    compiled = path / f"{top}.vvp"
    files = [str(pathlib.Path(s).resolve()) for s in sources]
    _run([iverilog, "-g2012", "-s", top, "-o", str(compiled), *files], path)
    return compiled


def run_command(compiled: pathlib.Path, parameters: Mapping[str, int] | None = None) -> list[str]:
    """The command that runs ``compiled`` (from :func:`build`) with the testbench's
    ``parameters`` (names of :data:`PARAMETERS`) as plusargs."""
    check_parameters(parameters or {})
    settings = [f"+{k}={int(v)}" for k, v in (parameters or {}).items()]
    return [vvp_path(), "-n", str(compiled), *settings]


def simulate(
    sources: Iterable[str | os.PathLike[str]],
    top: str,
    workdir: str | os.PathLike[str],
    parameters: Mapping[str, int] | None = None,
    watch: Callable[[], None] | None = None,
) -> str:
    """Compile ``sources`` with module ``top`` on top and run it with ``parameters`` in
    ``workdir``; returns vvp's output. ``watch`` is called about twice a second while the
    simulation runs."""
    check_parameters(parameters or {})
    compiled = build(sources, top, workdir)
    return _run(run_command(compiled, parameters), compiled.parent, watch)
