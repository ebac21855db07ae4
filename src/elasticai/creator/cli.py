"""Command line.

``elasticai-creator demo``: the built-in digits example (train, translate, simulate);
``elasticai-creator demo --example timeseries``: the 1-D CNN on generated sensor signals;
``elasticai-creator demo --example lstm``: an LSTM on the same kind of signals;
``elasticai-creator demo --example explore_digits``: the digits MLP swept over bits and
parallelism (``explore``), its Pareto front.
Options after it go to the example (``elasticai-creator demo --example timeseries --help``).

Your own models: ``MODULE:FUNCTION`` names a function in your Python module (found from
the current folder) that returns the model.

- ``compile MODULE:FUNCTION --out DIR``: translate and save the design (``--verilog``,
  ``--vivado``/``--vivado-part``/``--clock-mhz``, ``--testbench-inputs``);
- ``simulate MODULE:FUNCTION --input x.npy``: run inputs through the model and through
  the design in GHDL and say whether they agree (exit 1 where they differ);
- ``report MODULE:FUNCTION``: print the cost report (cycles, LUT, FF, DSP, BRAM, ...), per
  layer and in total; ``--html FILE`` also writes it as a page with charts;
- ``explore MODULE:FUNCTION --space space.json``: sweep a design space
  (``elasticai.creator.explore``); here the function returns the sweep's functions (a
  dict or an object with ``build``, ``evaluate``, optionally ``train``, ``space`` and
  ``inputs``), ``--ray [ADDRESS]`` runs it on Ray.

Mistakes in the options or the files are one line naming the option (exit 2), not a
traceback.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import re
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

_COLUMNS = (
    "latency_cycles",
    "initiation_interval",
    "lut",
    "lutram",
    "ff",
    "dsp",
    "bram",
    "carry",
    "logic_depth",
    "fifo_bits",
)


class UsageError(Exception):
    """A mistake in the command line or its files: printed as one line, exit 2."""


def _load(spec: str) -> Any:
    """What the function ``MODULE:FUNCTION`` returns."""
    return _function(spec)()


def _function(spec: str) -> Any:
    """The function ``MODULE:FUNCTION``, imported from the current folder or the path."""
    module_name, sep, function = spec.partition(":")
    if not sep or not module_name or not function:
        raise UsageError(f"MODEL must be MODULE:FUNCTION (e.g. my_models:build), not {spec!r}")
    sys.path.insert(0, str(Path.cwd()))
    importlib.invalidate_caches()
    if (Path.cwd() / f"{module_name.replace('.', '/')}.py").is_file():
        sys.modules.pop(module_name, None)  # main() called again: read the file as it is now
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name is not None and module_name.startswith(error.name):
            raise UsageError(
                f"MODEL {spec}: no module {module_name!r} in {Path.cwd()} or on the Python path"
            ) from None
        raise
    build = getattr(module, function, None)
    if not callable(build):
        raise UsageError(f"MODEL {spec}: module {module_name!r} has no function {function!r}")
    return build


def _table(report: dict[str, Any]) -> str:
    rows: list[tuple[str, ...]] = [("layer", *_COLUMNS)]
    for name, layer in report["layers"].items():
        rows.append((name, *(str(layer.get(c, "")) for c in _COLUMNS)))
    rows.append(("total", *(str(report.get(c, "")) for c in _COLUMNS)))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in rows)


def _shape(text: str) -> tuple[int, ...]:
    """``"2,64"`` -> ``(2, 64)``."""
    try:
        shape = tuple(int(part) for part in text.split(","))
    except ValueError:
        shape = ()
    if not shape or min(shape) < 1:
        raise UsageError(
            f"--input-shape takes positive sizes separated by commas (e.g. 2,64), not {text!r}"
        )
    return shape


# create_design's argument names as the options that set them
_FLAGS = {
    "input_shape": "--input-shape",
    "target_ii": "--target-ii",
    "max_multipliers": "--max-multipliers",
    "parallelism": "--parallelism",
    "pipeline_levels": "--pipeline-levels",
    "vivado_part": "--vivado-part",
    "clock_mhz": "--clock-mhz",
}


def _as_flags(message: str) -> str:
    """A library message in the command line's words: ``create_design(...,
    input_shape=(channels, length))`` -> ``--input-shape CHANNELS,LENGTH``."""
    message = re.sub(
        r"create_design\(\.\.\., input_shape=\(([^)]*)\)\)",
        lambda m: "--input-shape " + ",".join(p.strip().upper() for p in m[1].split(",")),
        message,
    )
    message = re.sub(
        r"\b(input_shape) \(([^)]*)\)",
        lambda m: "--input-shape " + ",".join(p.strip() for p in m[2].split(",") if p.strip()),
        message,
    )
    return re.sub(r"\b(" + "|".join(_FLAGS) + r")\b", lambda m: _FLAGS[m[1]], message)


def _design(args: argparse.Namespace) -> Any:
    """The model of ``args.model``, translated with the knob options."""
    model = _load(args.model)
    options: dict[str, Any] = {}
    if args.parallelism:
        options["parallelism"] = args.parallelism
    if args.target_ii is not None:
        options["target_ii"] = args.target_ii
    if args.max_multipliers is not None:
        options["max_multipliers"] = args.max_multipliers
    if args.pipeline_levels is not None:
        options["pipeline_levels"] = args.pipeline_levels
    if args.input_shape:
        options["input_shape"] = _shape(args.input_shape)
    from elasticai.creator import create_design

    try:
        return model, create_design(model, args.name, **options)
    except (ValueError, TypeError) as error:
        raise UsageError(_as_flags(str(error))) from None


def _read_inputs(path: Path, option: str, design: Any) -> np.ndarray:
    """A ``.npy`` array of shape ``(batch, *input_shape)`` (or ``(batch, size)``), or a
    ``.csv`` file with one sample per row (flattened in the model's order)."""
    shape = tuple(design.graph.input.torch_shape or design.graph.input_type.shape)
    size = design.graph.input_type.size
    if not path.is_file():
        raise UsageError(f"{option} {path}: no such file")
    try:
        if path.suffix == ".npy":
            x = np.load(path, allow_pickle=False)
        elif path.suffix == ".csv":
            x = np.loadtxt(path, delimiter=",", ndmin=2, dtype=np.float64)
        else:
            raise UsageError(f"{option} {path}: give a .npy or .csv file, not {path.suffix!r}")
    except (ValueError, OSError) as error:
        raise UsageError(f"{option} {path}: cannot be read ({error})") from None
    if x.dtype.kind not in "biuf":
        raise UsageError(f"{option} {path}: holds {x.dtype} values, not numbers")
    if x.ndim == 2 and x.shape[1] == size and shape != (size,):
        x = x.reshape(len(x), *shape)
    if x.ndim < 1 or tuple(x.shape[1:]) != shape:
        wanted = ", ".join(map(str, shape))
        raise UsageError(
            f"{option} {path}: holds an array of shape {tuple(x.shape)}; {design.name} takes "
            f"(samples, {wanted}) or, flattened, (samples, {size})"
        )
    return x


def _write_outputs(path: Path, y: np.ndarray) -> None:
    if path.suffix == ".npy":
        np.save(path, y)
    else:
        np.savetxt(path, y.reshape(len(y), -1), delimiter=",", fmt="%.17g")


class _Progress:
    """A one-line progress bar on stderr, only where stderr is a terminal."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.start = time.monotonic()
        self.shown = sys.stderr.isatty()

    def samples(self, done: int, total: int) -> None:
        if not self.shown:
            return
        seconds = time.monotonic() - self.start
        width = 30
        filled = width * done // max(total, 1)
        rate = f"{done / seconds:.1f} samples/s" if seconds > 0 and done else ""
        bar = "#" * filled + "." * (width - filled)
        print(f"\r{self.what} [{bar}] {done}/{total} {rate}  ", end="", file=sys.stderr)

    def ticking(self) -> threading.Event:
        """Show the seconds spent until the returned event is set (for one long step)."""
        stop = threading.Event()
        if self.shown:

            def tick() -> None:
                while not stop.wait(0.5):
                    seconds = time.monotonic() - self.start
                    print(f"\r{self.what} ... {seconds:.0f} s", end="", file=sys.stderr)

            threading.Thread(target=tick, daemon=True).start()
        return stop

    def done(self) -> None:
        if self.shown:
            seconds = time.monotonic() - self.start
            print(f"\r{self.what}: done in {seconds:.1f} s" + " " * 30, file=sys.stderr)


def _report(args: argparse.Namespace) -> int:
    _, design = _design(args)
    progress = _Progress("synthesizing (GHDL, Yosys)" if not args.estimate else "estimating")
    stop = progress.ticking()
    try:
        report = design.report(synthesis=not args.estimate, timeline=args.html is not None)
    finally:
        stop.set()
    progress.done()
    if args.json:
        print(json.dumps(report, indent=2, default=str))
    else:
        print(_table(report))
        source = "analytic estimate" if args.estimate else "GHDL synth + Yosys synth_xilinx"
        print(f"cycles measured in GHDL; resources from the {source}")
    if args.html is not None:
        page = report.to_html(args.html)
        print(f"report page written to {page}", file=sys.stderr if args.json else sys.stdout)
    return 0


def _compile(args: argparse.Namespace) -> int:
    from elasticai.creator.flows.vivado import check_clock, check_part

    vivado = args.vivado or args.vivado_part is not None
    if args.clock_mhz is not None and not vivado:
        raise UsageError("--clock-mhz sets the Vivado clock: give --vivado or --vivado-part too")
    try:  # before anything is translated or written
        if args.vivado_part is not None:
            check_part(args.vivado_part)
        if args.clock_mhz is not None:
            check_clock(args.clock_mhz)
    except ValueError as error:
        raise UsageError(_as_flags(str(error))) from None
    if args.out.exists() and not args.out.is_dir():
        raise UsageError(f"--out {args.out}: is a file, not a folder")
    _, design = _design(args)
    inputs = None
    if args.testbench_inputs is not None:
        inputs = _read_inputs(args.testbench_inputs, "--testbench-inputs", design)
    progress = _Progress("writing VHDL" + (", Verilog (GHDL synth)" if args.verilog else ""))
    stop = progress.ticking()
    try:
        design.save_to(
            args.out,
            testbench_inputs=inputs,
            verilog=args.verilog,
            vivado=vivado,
            vivado_part=args.vivado_part,
            clock_mhz=args.clock_mhz,
        )
    except FileExistsError as error:
        raise UsageError(f"--out {args.out}: {error}") from None
    finally:
        stop.set()
    progress.done()
    print(f"{design.name} written to {args.out}")
    if inputs is not None:
        print(f"  self-checking testbench on {len(inputs)} samples: sh {args.out}/sim/run_ghdl.sh")
    if args.verilog:
        print(f"  Verilog: {args.out}/verilog/{design.name}.v")
    if vivado:
        print(f"  Vivado: vivado -mode batch -source {args.out}/vivado/build.tcl")
    return 0


def _simulate(args: argparse.Namespace) -> int:
    if args.output is not None and args.output.suffix not in (".npy", ".csv"):
        raise UsageError(f"--output {args.output}: give a .npy or .csv file")
    if args.workers is not None and args.workers < 1:
        raise UsageError(f"--workers must be at least 1, not {args.workers}")
    model, design = _design(args)
    x = _read_inputs(args.input, "--input", design)
    import torch

    inputs = torch.from_numpy(np.asarray(x, dtype=np.float32))
    with torch.no_grad():
        expected = np.asarray(model(inputs), dtype=np.float64)
    progress = _Progress(f"simulating in {_SIMULATORS[args.simulator]}")
    hardware = design.simulate(
        inputs,
        progress=progress.samples,
        simulator=None if args.simulator == "auto" else args.simulator,
        workers=args.workers,
    )
    hardware = np.asarray(hardware, dtype=np.float64)
    progress.done()
    if args.output is not None:
        _write_outputs(args.output, hardware)
        print(f"hardware outputs written to {args.output}")
    different = expected != hardware
    if not different.any():
        print(f"model and hardware agree on all {hardware.size} outputs of {len(x)} samples")
        return 0
    where = tuple(int(i) for i in np.argwhere(different)[0])
    print(
        f"model and hardware differ on {int(different.sum())} of {hardware.size} outputs; "
        f"the first at {list(where)}: model {expected[where]!r}, hardware {hardware[where]!r}"
    )
    return 1


#: What the function of ``explore MODULE:FUNCTION`` may return, with what ``explore`` does with it.
_SWEEP_PARTS = ("build", "evaluate", "train", "space", "inputs")


def _sweep_parts(spec: str) -> dict[str, Any]:
    """``build``, ``evaluate`` and, where given, ``train``, ``space``, ``inputs`` of what
    ``spec``'s function returns (a mapping, or an object with those attributes)."""
    function = _function(spec)
    try:
        inspect.signature(function).bind()
    except TypeError:
        raise UsageError(
            f"SWEEP {spec} must be a function without arguments that returns the sweep's "
            f"functions, not one that takes {inspect.signature(function)}"
        ) from None
    made = function()
    if isinstance(made, dict):
        parts = {k: made.get(k) for k in _SWEEP_PARTS}
    else:
        parts = {k: getattr(made, k, None) for k in _SWEEP_PARTS}
    if not callable(parts["build"]) or not callable(parts["evaluate"]):
        raise UsageError(
            f"SWEEP {spec} must return the sweep's functions: a dict (or an object) with "
            "build and evaluate, optionally train, space and inputs; not "
            f"{type(made).__name__}"
        )
    return parts


def _read_space(path: Path) -> Any:
    if not path.is_file():
        raise UsageError(f"--space {path}: no such file")
    try:
        return json.loads(path.read_text())
    except ValueError as error:
        raise UsageError(f"--space {path}: not JSON ({error})") from None


def _explore(args: argparse.Namespace) -> int:
    from elasticai.creator.explore import explore
    from elasticai.creator.explore.output import table

    parts = _sweep_parts(args.sweep)
    space = _read_space(args.space) if args.space is not None else parts["space"]
    if space is None:
        raise UsageError(f"give --space FILE: SWEEP {args.sweep} returns no space")
    try:
        rows = explore(
            space,
            build=parts["build"],
            train=parts["train"],
            evaluate=parts["evaluate"],
            inputs=parts["inputs"],
            executor="local" if args.ray is None else "ray",
            address=args.ray or None,
            workers=args.workers,
            threads=args.threads,
            cache_dir=None if args.no_cache else (args.cache or args.out / "cache"),
            output=args.out,
            synthesis=args.synthesis,
            fmax=args.fmax,
            check_samples=args.check_samples,
            seed=args.seed,
        )
    except (ValueError, ImportError, ConnectionError) as error:
        raise UsageError(str(error)) from None
    print(table(rows))
    failed = sum(r["error"] is not None for r in rows)
    print(
        f"{sum(r['pareto'] for r in rows)} of {len(rows)} points on the front (*), "
        f"{failed} failed; results in {args.out}/results.csv, .json, front.png, results.html"
    )
    return 1 if failed == len(rows) else 0


_EXAMPLES = {
    "digits": "a fixed-point MLP on scikit-learn's digits (the default)",
    "timeseries": "a fixed-point 1-D CNN on generated sensor signals",
    "lstm": "a fixed-point LSTM on generated sensor signals",
    "explore_digits": "the digits MLP swept over 4-8 bits x 3 parallelism settings: the front",
}


def _demo(example: str, rest: list[str]) -> int:
    module = importlib.import_module(f"elasticai.creator.examples.{example}")
    if "-h" in rest or "--help" in rest:
        print("usage: elasticai-creator demo [--example {digits,timeseries}] [options]\n")
        for name, what in _EXAMPLES.items():
            print(f"  --example {name:<14} {what}")
        print(f"\noptions of --example {example}:\n")
    try:
        return int(module.main(rest))
    except (ValueError, TypeError) as error:  # e.g. a --target-ii below what the model needs
        print(f"elasticai-creator demo: error: {_as_flags(str(error))}", file=sys.stderr)
        return 2


def _knob_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", metavar="MODEL", help="MODULE:FUNCTION returning the model")
    parser.add_argument("--name", default="model", help="VHDL name of the design (model)")
    parser.add_argument(
        "--parallelism",
        choices=["serial", "full"],
        help="serial: one multiplier per layer (the default); full: every product at once",
    )
    parser.add_argument(
        "--target-ii", type=int, metavar="N", help="cycles between samples to reach, e.g. 64"
    )
    parser.add_argument(
        "--max-multipliers", type=int, metavar="N", help="multiplier budget, e.g. 16"
    )
    parser.add_argument(
        "--pipeline-levels",
        type=int,
        metavar="L",
        help="adder levels between registers in fully unrolled layers (default 2; 1: "
        "highest clock, more: fewer cycles and flip-flops)",
    )
    parser.add_argument(
        "--input-shape",
        metavar="SHAPE",
        help="the model's input without batch, e.g. 1,64 (channels, length) for a model "
        "that starts with a convolution",
    )


def _parser() -> argparse.ArgumentParser:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog="elasticai-creator",
        description="Train, translate to VHDL and simulate quantized neural networks.",
        epilog="examples:\n"
        "  elasticai-creator demo\n"
        "  elasticai-creator compile my_models:build --out build/ --target-ii 16 --verilog\n"
        "  elasticai-creator simulate my_models:build --input x.npy --output y.npy\n"
        "  elasticai-creator report my_models:build --estimate --html report.html\n"
        "  elasticai-creator explore my_models:sweep --space space.json --workers 2\n"
        "MODULE:FUNCTION names a function in your module (my_models.py in the current folder)\n"
        "that returns the model.",
        formatter_class=formatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    demo = commands.add_parser(
        "demo",
        help="train a built-in example, translate it and simulate it in GHDL "
        "(--example digits: an MLP on scikit-learn's digits, the default; "
        "--example timeseries: a 1-D CNN on generated sensor signals; "
        "--example lstm: an LSTM on generated sensor signals; "
        "--example explore_digits: the digits MLP over 4-8 bits and 3 parallelism "
        "settings, its Pareto front)",
        add_help=False,
        allow_abbrev=False,
    )
    demo.add_argument("--example", choices=sorted(_EXAMPLES), default="digits")

    compile_ = commands.add_parser(
        "compile",
        help="translate a model of yours and save the design (VHDL, Verilog, Vivado)",
        description="Translate the model that MODULE:FUNCTION returns and save its VHDL, "
        "testbench and design.json to --out (a new folder, or one elasticai-creator wrote).",
        epilog="examples:\n"
        "  elasticai-creator compile my_models:build --out build/\n"
        "  elasticai-creator compile my_models:cnn --input-shape 1,64 --target-ii 64 \\\n"
        "      --out build/ --verilog --vivado-part xc7a35ticsg324-1L --clock-mhz 150 \\\n"
        "      --testbench-inputs x.npy",
        formatter_class=formatter,
    )
    _knob_options(compile_)
    compile_.add_argument(
        "--out", type=Path, required=True, metavar="DIR", help="folder to write, e.g. build/"
    )
    compile_.add_argument(
        "--verilog", action="store_true", help="also write verilog/NAME.v (needs GHDL)"
    )
    compile_.add_argument(
        "--vivado",
        action="store_true",
        help="also write vivado/build.tcl and vivado/package_ip.tcl (default part: the "
        "enV5's Spartan-7 xc7s15ftgb196-1)",
    )
    compile_.add_argument(
        "--vivado-part",
        metavar="PART",
        help="the FPGA of the Vivado project, e.g. xc7a35ticsg324-1L (implies --vivado)",
    )
    compile_.add_argument(
        "--clock-mhz",
        type=float,
        metavar="F",
        help="the clock the Vivado project constrains, e.g. 150 (default 100)",
    )
    compile_.add_argument(
        "--testbench-inputs",
        type=Path,
        metavar="FILE",
        help="inputs (.npy or .csv, one sample per row) that make the testbench "
        "self-checking, e.g. x.npy",
    )

    simulate = commands.add_parser(
        "simulate",
        help="run inputs through a model of yours and its design in a simulator; exit 1 where "
        "they differ",
        description="Run the inputs through the model (PyTorch) and through its design "
        "(GHDL, Verilator or Icarus Verilog) and print whether the outputs agree, every one, "
        "exactly.",
        epilog="examples:\n"
        "  elasticai-creator simulate my_models:build --input x.npy\n"
        "  elasticai-creator simulate my_models:cnn --input-shape 1,64 --input x.csv "
        "--output y.csv\n"
        "  elasticai-creator simulate my_models:build --input x.npy --simulator icarus\n"
        "  elasticai-creator simulate my_models:build --input x.npy --simulator verilator\n"
        ".npy holds (samples, *input shape) or (samples, features); .csv one flattened\n"
        "sample per row.",
        formatter_class=formatter,
    )
    _knob_options(simulate)
    simulate.add_argument(
        "--input", type=Path, required=True, metavar="FILE", help="inputs, e.g. x.npy or x.csv"
    )
    simulate.add_argument(
        "--simulator",
        choices=sorted(_SIMULATORS),
        default="auto",
        help="ghdl: the VHDL in GHDL; icarus: the Verilog in Icarus Verilog; verilator: the "
        "Verilog compiled by Verilator (cached); auto: the one that answers first (default)",
    )
    simulate.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help="simulator processes, each on a slice of the samples (default: the cores)",
    )
    simulate.add_argument(
        "--output",
        type=Path,
        metavar="FILE",
        help="write the hardware's outputs there, e.g. y.npy or y.csv",
    )

    report = commands.add_parser(
        "report",
        help="cost report of a model of yours",
        description="Translate the model and print its cycles (GHDL) and resources "
        "(Yosys, or --estimate) per layer and in total.",
        epilog="examples:\n"
        "  elasticai-creator report my_models:build\n"
        "  elasticai-creator report my_models:build --target-ii 4 --estimate --json\n"
        "  elasticai-creator report my_models:build --html report.html",
        formatter_class=formatter,
    )
    _knob_options(report)
    report.add_argument("--estimate", action="store_true", help="analytic estimate, no Yosys")
    report.add_argument("--json", action="store_true", help="print the report as JSON")
    report.add_argument(
        "--html",
        metavar="FILE",
        type=Path,
        help="also write the report as one self-contained HTML page (needs matplotlib), "
        "e.g. report.html",
    )
    _explore_parser(commands, formatter)
    return parser


def _explore_parser(commands: Any, formatter: type[argparse.HelpFormatter]) -> None:
    explore = commands.add_parser(
        "explore",
        help="sweep bits x parallelism of a model of yours: accuracy, cost, speed, the front",
        description="Build, train, evaluate, translate and cost every point of a design "
        "space (the product of the values of --space), on this machine or a Ray cluster; "
        "print the rows and the Pareto front of accuracy against LUTs or latency, and "
        "write them to --out. MODULE:FUNCTION names a function in your module (found from "
        "the current folder) that returns a dict with build(point) -> model, "
        "evaluate(model) -> float (higher is better), optionally train(model), space "
        "(used without --space) and inputs (for --check-samples). The space file maps "
        "parameter names to lists of values; input_shape, parallelism, target_ii, "
        "max_multipliers, pipeline_levels go to create_design, the others to build. "
        "Results are cached per point (--cache): a repeated or interrupted sweep runs "
        "only what is missing.",
        epilog="examples:\n"
        "  elasticai-creator explore my_models:sweep --space space.json --workers 2\n"
        "  elasticai-creator explore my_models:sweep --space space.json --ray\n"
        "  elasticai-creator explore my_models:sweep --space space.json --ray 10.0.0.5:6379\n"
        "  elasticai-creator explore elasticai.creator.examples.explore_digits:sweep\n"
        'space.json: {"total_bits": [4, 6, 8], "target_ii": [null, 64, 1]}\n'
        "my_models.py: def sweep(): return dict(build=build, train=train, evaluate=evaluate)",
        formatter_class=formatter,
    )
    explore.add_argument(
        "sweep", metavar="SWEEP", help="MODULE:FUNCTION returning the sweep's functions"
    )
    explore.add_argument(
        "--space", type=Path, metavar="FILE", help="the space as JSON, e.g. space.json"
    )
    explore.add_argument(
        "--ray",
        nargs="?",
        const="",
        metavar="ADDRESS",
        help="run on Ray: a Ray instance on this machine, or the cluster at ADDRESS "
        "(host:port of 'ray start --head')",
    )
    explore.add_argument(
        "--workers", type=int, default=1, metavar="N", help="points at once (default 1)"
    )
    explore.add_argument(
        "--threads", type=int, default=1, metavar="N", help="torch threads per point (1)"
    )
    explore.add_argument(
        "--out",
        type=Path,
        default=Path("explore"),
        metavar="DIR",
        help="folder of the results (default: explore)",
    )
    explore.add_argument(
        "--cache", type=Path, metavar="DIR", help="the cache folder (default: OUT/cache)"
    )
    explore.add_argument("--no-cache", action="store_true", help="run every point again")
    explore.add_argument(
        "--synthesis", action="store_true", help="LUT/FF/DSP/BRAM from Yosys, not the estimate"
    )
    explore.add_argument("--fmax", action="store_true", help="clock from nextpnr-ecp5")
    explore.add_argument(
        "--check-samples",
        type=int,
        default=0,
        metavar="N",
        help="check the design against the model in GHDL on N samples",
    )
    explore.add_argument("--seed", type=int, default=0, help="torch seed of build and train")


_SIMULATORS = {
    "auto": "the fastest simulator",
    "ghdl": "GHDL",
    "icarus": "Icarus Verilog",
    "verilator": "Verilator",
}
_COMMANDS = {"compile": _compile, "simulate": _simulate, "report": _report, "explore": _explore}


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args, rest = parser.parse_known_args(argv)
    if args.command == "demo":
        return _demo(args.example, rest)
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    try:
        return _COMMANDS[args.command](args)
    except UsageError as error:
        print(f"elasticai-creator {args.command}: error: {error}", file=sys.stderr)
        return 2
    except _missing_tools() as error:
        print(f"elasticai-creator {args.command}: error: {error}", file=sys.stderr)
        return 2


def _missing_tools() -> tuple[type[Exception], ...]:
    """The errors that say a tool a step needs (GHDL, Icarus, Verilator, Yosys, nextpnr)
    is not installed."""
    from elasticai.creator.sim.ghdl import GhdlNotFoundError
    from elasticai.creator.sim.icarus import IcarusNotFoundError
    from elasticai.creator.sim.verilator import VerilatorNotFoundError
    from elasticai.creator.synth.nextpnr import NextpnrNotFoundError
    from elasticai.creator.synth.yosys import YosysNotFoundError

    return (
        GhdlNotFoundError,
        IcarusNotFoundError,
        VerilatorNotFoundError,
        YosysNotFoundError,
        NextpnrNotFoundError,
    )


if __name__ == "__main__":
    raise SystemExit(main())
