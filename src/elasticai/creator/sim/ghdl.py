"""Run GHDL on the hand-written VHDL library and on generated designs (no torch here)."""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence

from elasticai.creator.vhdl.lower import LIBRARY_FILES
from elasticai.creator.vhdl.testbench import SIM_LIBRARY_FILES

__all__ = [
    "GhdlNotFoundError",
    "GhdlError",
    "ghdl_path",
    "library_dir",
    "library_files",
    "analyse",
    "elaborate",
    "run_command",
    "simulate",
    "synth_check",
    "write_sources",
]

STD_FLAGS: tuple[str, ...] = ("--std=08",)


class GhdlNotFoundError(RuntimeError):
    """GHDL is not installed or not where ELASTICAI_GHDL says."""

    def __init__(self, detail: str = "") -> None:
        message = (
            "GHDL was not found. Install it (Debian/Ubuntu: `apt-get install ghdl`) "
            "or set the ELASTICAI_GHDL environment variable to the ghdl binary."
        )
        super().__init__(f"{message} {detail}".strip())


class GhdlError(RuntimeError):
    """A GHDL command failed; carries the command and GHDL's output."""

    def __init__(self, command: Sequence[str], output: str, returncode: int) -> None:
        self.command = list(command)
        self.output = output
        self.returncode = returncode
        super().__init__(
            f"GHDL failed (exit {returncode}): {' '.join(self.command)}\n{output.rstrip()}"
        )


def find_tool(name: str, env: str, missing: Callable[[str], Exception]) -> str:
    """The binary the environment variable ``env`` names, else ``name`` on PATH; raise
    ``missing(detail)`` when there is none."""
    override = os.environ.get(env)
    if override:
        found = shutil.which(override)
        if found is None:
            raise missing(f"({env}={override!r} is not an executable)")
        return found
    found = shutil.which(name)
    if found is None:
        raise missing("")
    return found


def ghdl_path() -> str:
    """The ghdl binary: ELASTICAI_GHDL, else the one on PATH."""
    return find_tool("ghdl", "ELASTICAI_GHDL", GhdlNotFoundError)


def library_dir() -> pathlib.Path:
    """Folder holding the hand-written .vhd files."""
    return pathlib.Path(__file__).resolve().parent.parent / "vhdl" / "library"


def library_files(simulation: bool = False) -> list[pathlib.Path]:
    """The library's VHDL files in analysis order; with ``simulation`` also sim/ files."""
    base = library_dir()
    files = [base / name for name in LIBRARY_FILES]
    if simulation:
        files += [base / name for name in SIM_LIBRARY_FILES]
    return files


def write_sources(root: pathlib.Path, files: Mapping[str, str]) -> list[pathlib.Path]:
    """Write ``files`` (relative path -> text) below ``root``; their paths in the given order."""
    paths = []
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        paths.append(path)
    return paths


def run_watched(
    command: Sequence[str], workdir: pathlib.Path, watch: Callable[[], None] | None = None
) -> tuple[int, str]:
    """Run ``command`` in ``workdir``; returns its exit code and output (stdout and
    stderr). ``watch`` is called about twice a second while it runs; an exception (also
    ``KeyboardInterrupt``) kills the process."""
    with tempfile.TemporaryFile("w+") as log:
        proc = subprocess.Popen(
            command,
            cwd=workdir,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            while True:
                try:
                    proc.wait(timeout=0.5 if watch is not None else None)
                    break
                except subprocess.TimeoutExpired:
                    if watch is not None:
                        watch()
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        log.seek(0)
        return proc.returncode, log.read()


def _run(
    args: Sequence[str], workdir: pathlib.Path, watch: Callable[[], None] | None = None
) -> str:
    """Run GHDL; ``watch`` is called about twice a second while it runs."""
    command = [ghdl_path(), *args]
    returncode, output = run_watched(command, workdir, watch)
    if returncode != 0:
        raise GhdlError(command, output, returncode)
    return output


def _prepare(workdir: str | os.PathLike[str]) -> pathlib.Path:
    path = pathlib.Path(workdir).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def _sources(sources: Iterable[str | os.PathLike[str]]) -> list[str]:
    return [str(pathlib.Path(s).resolve()) for s in sources]


def analyse(sources: Iterable[str | os.PathLike[str]], workdir: str | os.PathLike[str]) -> None:
    """``ghdl -a --std=08`` every source, in order, into library ``work`` in ``workdir``."""
    path = _prepare(workdir)
    files = _sources(sources)
    if files:
        _run(["-a", *STD_FLAGS, f"--workdir={path}", *files], path)


def _generic_args(generics: Mapping[str, str | int]) -> list[str]:
    return [f"-g{name}={value}" for name, value in generics.items()]


def elaborate(
    sources: Iterable[str | os.PathLike[str]], top: str, workdir: str | os.PathLike[str]
) -> None:
    """Analyse ``sources`` and elaborate ``top`` in ``workdir`` (library ``work`` there),
    for :func:`run_command`."""
    path = _prepare(workdir)
    analyse(sources, path)
    _run(["-e", *STD_FLAGS, f"--workdir={path}", top], path)


def run_command(
    top: str,
    workdir: str | os.PathLike[str],
    generics: Mapping[str, str | int] | None = None,
    options: Sequence[str] = (),
) -> list[str]:
    """The command that runs ``top``, elaborated in ``workdir``, with ``generics`` (from
    any folder: its files are relative to the folder it runs in)."""
    path = pathlib.Path(workdir).resolve()
    return [
        ghdl_path(),
        "-r",
        *STD_FLAGS,
        f"--workdir={path}",
        top,
        *_generic_args(generics or {}),
        "--assert-level=error",
        "--max-stack-alloc=0",  # large constant tables of unrolled layers
        *options,
    ]


def simulate(
    sources: Iterable[str | os.PathLike[str]],
    top: str,
    workdir: str | os.PathLike[str],
    generics: Mapping[str, str | int] | None = None,
    options: Sequence[str] = (),
    watch: Callable[[], None] | None = None,
) -> str:
    """Analyse ``sources``, elaborate and run ``top``; returns GHDL's output.

    ``options`` go to the run as they are (e.g. ``--vcd=wave.vcd``). Assertion failures
    of severity error or failure make it raise :class:`GhdlError`. ``watch`` is called
    about twice a second while the simulation runs (e.g. to show progress).
    """
    path = _prepare(workdir)
    elaborate(sources, top, path)
    command = run_command(top, path, generics, options)
    returncode, output = run_watched(command, path, watch)
    if returncode != 0:
        raise GhdlError(command, output, returncode)
    return output


def synth_check(
    sources: Iterable[str | os.PathLike[str]],
    top: str,
    workdir: str | os.PathLike[str],
    generics: Mapping[str, str | int] | None = None,
) -> str:
    """``ghdl --synth --std=08`` of ``top``; returns the netlist text."""
    path = _prepare(workdir)
    return _run(
        [
            "--synth",
            *STD_FLAGS,
            f"--workdir={path}",
            *_generic_args(generics or {}),
            *_sources(sources),
            "-e",
            top,
        ],
        path,
    )
