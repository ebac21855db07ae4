"""Design-space exploration of the digits MLP (``examples.digits``): 4 to 8 bits times
three parallelism settings, each trained, evaluated on the test split and costed; prints
the Pareto front of accuracy against LUTs or latency.

The model is ``digits.build_model(hidden, total_bits, total_bits - 1)``: one integer bit,
the sign, so every format holds [-1, 1) (the pixels are in [0, 1]); at 4 bits a wider
integer part leaves too few fractional bits to train. The parallelism settings are
``target_ii``: ``None`` (serial, one multiplier per layer), 64 cycles a sample, and 1 (fully
parallel, multiplier-free adder graphs). 12 hidden units keep every weight ROM in LUTs: with
16, the first layer's 8-bit weights (8 kbit) go to a block RAM, and the serial 8-bit design
needs fewer LUTs than the 4-bit one (the front weighs LUTs only).

Run it with ``elasticai-creator demo --example explore_digits`` (``--workers 2``,
``--ray``, ``--synthesis``, ...), or through the command line's sweep convention:
``elasticai-creator explore elasticai.creator.examples.explore_digits:sweep``.
"""

from __future__ import annotations

import argparse
import functools
import time
from pathlib import Path
from typing import Any

import torch

from elasticai.creator.examples import digits

SPACE: dict[str, list[Any]] = {"total_bits": [4, 5, 6, 7, 8], "target_ii": [None, 64, 1]}
HIDDEN, EPOCHS = 12, 10


@functools.cache
def _split() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    return digits.load_digits_split(0)


def build(point: dict[str, Any], hidden: int = HIDDEN) -> torch.nn.Module:
    bits = point["total_bits"]
    return digits.build_model(hidden, bits, bits - 1)


def train(model: torch.nn.Module, epochs: int = EPOCHS) -> None:
    x_train, _, y_train, _ = _split()
    digits.train(model, x_train, y_train, epochs, seed=0, progress=False)


def evaluate(model: torch.nn.Module) -> float:
    """Accuracy on the test split (360 images)."""
    _, x_test, _, y_test = _split()
    with torch.no_grad():
        return digits.accuracy(model(x_test), y_test)


def sweep(hidden: int = HIDDEN, epochs: int = EPOCHS) -> dict[str, Any]:
    """The sweep's functions and space, as ``elasticai-creator explore`` takes them."""
    return {
        "build": functools.partial(build, hidden=hidden),
        "train": functools.partial(train, epochs=epochs),
        "evaluate": evaluate,
        "space": SPACE,
    }


def main(argv: list[str] | None = None) -> int:
    from elasticai.creator.explore import explore
    from elasticai.creator.explore.output import table

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("build_dir/explore_digits"))
    parser.add_argument("--workers", type=int, default=2, help="points at once (default 2)")
    parser.add_argument(
        "--ray", nargs="?", const="", metavar="ADDRESS", help="on Ray (this machine or ADDRESS)"
    )
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--hidden", type=int, default=HIDDEN)
    parser.add_argument(
        "--bits", type=int, nargs="+", default=SPACE["total_bits"], help="default: 4 to 8"
    )
    parser.add_argument("--no-cache", action="store_true", help="run every point again")
    parser.add_argument("--synthesis", action="store_true", help="Yosys, not the estimate")
    parser.add_argument("--fmax", action="store_true", help="nextpnr-ecp5's clock")
    parser.add_argument("--check-samples", type=int, default=0, metavar="N")
    args = parser.parse_args(argv)
    parts = sweep(args.hidden, args.epochs)
    started = time.perf_counter()
    rows = explore(
        {**SPACE, "total_bits": args.bits},
        build=parts["build"],
        train=parts["train"],
        evaluate=parts["evaluate"],
        executor="local" if args.ray is None else "ray",
        address=args.ray or None,
        workers=args.workers,
        cache_dir=None if args.no_cache else args.out / "cache",
        output=args.out,
        synthesis=args.synthesis,
        fmax=args.fmax,
        check_samples=args.check_samples,
    )
    seconds = time.perf_counter() - started
    front = [r for r in rows if r["pareto"]]
    print(f"the front ({len(front)} of {len(rows)} points):")
    print(table(front))
    failed = [r for r in rows if r["error"] is not None]
    for r in failed:
        print(f"failed: {r['point']}: {r['error']}")
    print(f"swept in {seconds:.1f} s; rows, front.png and results.html in {args.out}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
