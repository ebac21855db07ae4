"""Command line: ``elasticai-creator demo`` runs the built-in digits example."""

from __future__ import annotations

import argparse


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
    args, rest = parser.parse_known_args(argv)
    if args.command == "demo":
        from elasticai.creator.examples import digits

        return digits.main(rest)
    return 2  # pragma: no cover - argparse enforces a command


if __name__ == "__main__":
    raise SystemExit(main())
