"""Command line.

``elasticai-creator demo``: the built-in digits example (train, translate, simulate);
``elasticai-creator demo --example timeseries``: the 1-D CNN on generated sensor signals.
Options after it go to the example (``elasticai-creator demo --example timeseries --help``).
``elasticai-creator report MODULE:FUNCTION``: translate the model that ``FUNCTION()`` in
your Python module ``MODULE`` returns, and print its cost report (cycles, LUT, FF, DSP,
BRAM, ...), per layer and in total; ``--html FILE`` also writes it as a page with charts.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path
from typing import Any

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


def _load(spec: str) -> Any:
    module_name, sep, function = spec.partition(":")
    if not sep or not module_name or not function:
        raise SystemExit(f"expected MODULE:FUNCTION (e.g. my_models:build), not {spec!r}")
    sys.path.insert(0, str(Path.cwd()))
    module = importlib.import_module(module_name)
    return getattr(module, function)()


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
        raise SystemExit(
            f"--input-shape takes positive sizes separated by commas (e.g. 2,64), not {text!r}"
        )
    return shape


def _report(args: argparse.Namespace) -> int:
    model = _load(args.model)
    options: dict[str, Any] = {}
    if args.parallelism:
        options["parallelism"] = args.parallelism
    if args.target_ii:
        options["target_ii"] = args.target_ii
    if args.max_multipliers:
        options["max_multipliers"] = args.max_multipliers
    if args.input_shape:
        options["input_shape"] = _shape(args.input_shape)
    from elasticai.creator import create_design

    design = create_design(model, args.name, **options)
    report = design.report(synthesis=not args.estimate, timeline=args.html is not None)
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


_EXAMPLES = {
    "digits": "a fixed-point MLP on scikit-learn's digits (the default)",
    "timeseries": "a fixed-point 1-D CNN on generated sensor signals",
}


def _demo(example: str, rest: list[str]) -> int:
    module = importlib.import_module(f"elasticai.creator.examples.{example}")
    if "-h" in rest or "--help" in rest:
        print("usage: elasticai-creator demo [--example {digits,timeseries}] [options]\n")
        for name, what in _EXAMPLES.items():
            print(f"  --example {name:<11} {what}")
        print(f"\noptions of --example {example}:\n")
    return int(module.main(rest))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="elasticai-creator",
        description="Train, translate to VHDL and simulate quantized neural networks.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser(
        "demo",
        help="train a built-in example, translate it and simulate it in GHDL "
        "(--example digits: an MLP on scikit-learn's digits, the default; "
        "--example timeseries: a 1-D CNN on generated sensor signals)",
        add_help=False,
        allow_abbrev=False,
    )
    demo.add_argument("--example", choices=sorted(_EXAMPLES), default="digits")
    report = commands.add_parser("report", help="cost report of a model of yours")
    report.add_argument("model", help="MODULE:FUNCTION returning the model (a Sequential)")
    report.add_argument("--name", default="model", help="VHDL name of the design")
    report.add_argument("--parallelism", choices=["serial", "full"])
    report.add_argument("--target-ii", type=int, help="cycles between samples to reach")
    report.add_argument("--max-multipliers", type=int, help="multiplier budget")
    report.add_argument("--estimate", action="store_true", help="analytic estimate, no Yosys")
    report.add_argument("--json", action="store_true", help="print the report as JSON")
    report.add_argument(
        "--html",
        metavar="FILE",
        type=Path,
        help="also write the report as one self-contained HTML page (needs matplotlib)",
    )
    report.add_argument(
        "--input-shape",
        help="the model's input without batch, e.g. 1,64 (channels, length) for a model "
        "that starts with a convolution",
    )
    args, rest = parser.parse_known_args(argv)
    if args.command == "demo":
        return _demo(args.example, rest)
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    return _report(args)


if __name__ == "__main__":
    raise SystemExit(main())
