"""Command line.

``elasticai-creator demo``: the built-in digits example (train, translate, simulate).
``elasticai-creator report MODULE:FUNCTION``: translate the model that ``FUNCTION()`` in
your Python module ``MODULE`` returns, and print its cost report (cycles, LUT, FF, DSP,
BRAM, ...), per layer and in total.
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


def _report(args: argparse.Namespace) -> int:
    model = _load(args.model)
    options: dict[str, Any] = {}
    if args.parallelism:
        options["parallelism"] = args.parallelism
    if args.target_ii:
        options["target_ii"] = args.target_ii
    if args.max_multipliers:
        options["max_multipliers"] = args.max_multipliers
    design = model.create_design(args.name, **options)
    report = design.report(synthesis=not args.estimate)
    if args.json:
        print(json.dumps(report, indent=2, default=str))
    else:
        print(_table(report))
        source = "analytic estimate" if args.estimate else "GHDL synth + Yosys synth_xilinx"
        print(f"cycles measured in GHDL; resources from the {source}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="elasticai-creator",
        description="Train, translate to VHDL and simulate quantized neural networks.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser(
        "demo",
        help="train a fixed-point MLP on scikit-learn's digits, translate it and simulate it in GHDL",
        add_help=False,
    )
    report = commands.add_parser("report", help="cost report of a model of yours")
    report.add_argument("model", help="MODULE:FUNCTION returning the model (a Sequential)")
    report.add_argument("--name", default="model", help="VHDL name of the design")
    report.add_argument("--parallelism", choices=["serial", "full"])
    report.add_argument("--target-ii", type=int, help="cycles between samples to reach")
    report.add_argument("--max-multipliers", type=int, help="multiplier budget")
    report.add_argument("--estimate", action="store_true", help="analytic estimate, no Yosys")
    report.add_argument("--json", action="store_true", help="print the report as JSON")
    args, rest = parser.parse_known_args(argv)
    if args.command == "demo":
        from elasticai.creator.examples import digits

        return digits.main(rest)
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    return _report(args)


if __name__ == "__main__":
    raise SystemExit(main())
