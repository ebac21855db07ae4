"""The main demo: train a fixed-point MLP on scikit-learn's bundled digits, translate it,
simulate the whole test split (in GHDL, or Verilator where that answers first), and show
that hardware and model agree exactly.

Run it with ``elasticai-creator demo`` (or ``python -m elasticai.creator.examples.digits``).
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from tqdm import tqdm

from elasticai.creator.file_generation.on_disk_path import OnDiskPath
from elasticai.creator.nn import Sequential
from elasticai.creator.nn.fixed_point import Linear, ReLU

TOTAL_BITS, FRAC_BITS = 8, 4


def load_digits_split(
    seed: int = 0,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """8x8 digit images scaled to [0, 1], split 80/20 (no download: the data ships with scikit-learn)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = torch.tensor(digits.data, dtype=torch.float32) / 16.0
    y = torch.tensor(digits.target, dtype=torch.long)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=0.2, random_state=seed, stratify=y
    )
    return x_train, x_test, y_train, y_test


def build_model(
    hidden: int = 32, total_bits: int = TOTAL_BITS, frac_bits: int = FRAC_BITS
) -> Sequential:
    return Sequential(
        Linear(64, hidden, total_bits=total_bits, frac_bits=frac_bits),
        ReLU(total_bits),
        Linear(hidden, 10, total_bits=total_bits, frac_bits=frac_bits),
    )


def float_twin(model: Sequential) -> torch.nn.Sequential:
    """The same network, with the same initial weights, in plain float arithmetic."""
    first, last = model[0], model[2]
    assert isinstance(first, Linear) and isinstance(last, Linear)
    twin = torch.nn.Sequential(
        torch.nn.Linear(first.in_features, first.out_features),
        torch.nn.ReLU(),
        torch.nn.Linear(last.in_features, last.out_features),
    )
    twin.load_state_dict(model.state_dict())
    return twin


def train(
    model: torch.nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    epochs: int,
    seed: int,
    progress: bool = True,
) -> None:
    torch.manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    loss_fn = torch.nn.CrossEntropyLoss()
    model.train()
    for _ in tqdm(range(epochs), desc="training", unit="epoch", disable=not progress):
        for batch in torch.randperm(len(x)).split(64):
            optimizer.zero_grad()
            loss_fn(model(x[batch]), y[batch]).backward()
            optimizer.step()
    model.eval()


def accuracy(logits: torch.Tensor, y: torch.Tensor) -> float:
    return float((logits.argmax(dim=1) == y).float().mean())


@dataclass(frozen=True)
class DemoResult:
    float_accuracy: float
    quantized_accuracy: float
    hardware_accuracy: float
    mismatches: int
    outputs: int
    latency_cycles: int
    initiation_interval: float
    vhdl_dir: Path


def run(out_dir: Path, epochs: int = 30, seed: int = 0, samples: int | None = None) -> DemoResult:
    x_train, x_test, y_train, y_test = load_digits_split(seed)
    if samples is not None:
        x_test, y_test = x_test[:samples], y_test[:samples]
    torch.manual_seed(seed)
    model = build_model()
    baseline = float_twin(model)
    train(baseline, x_train, y_train, epochs, seed)
    train(model, x_train, y_train, epochs, seed)
    with torch.no_grad():
        quantized = model(x_test)
        floating = baseline(x_test)

    design = model.create_design("digits_mlp")
    design.save_to(OnDiskPath(out_dir.name, parent=out_dir.parent))
    started = time.perf_counter()
    hardware = design.simulate(x_test)
    simulated_s = time.perf_counter() - started
    timing = design.run(design.quantize_input(x_test[:4]), stall_percent=0)
    print(f"simulated {len(x_test)} samples in {simulated_s:.1f} s")
    return DemoResult(
        float_accuracy=accuracy(floating, y_test),
        quantized_accuracy=accuracy(quantized, y_test),
        hardware_accuracy=accuracy(hardware, y_test),
        mismatches=int((hardware != quantized).sum()),
        outputs=quantized.numel(),
        latency_cycles=int(timing.latencies[0]),
        initiation_interval=timing.initiation_interval,
        vhdl_dir=out_dir,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--out", type=Path, default=Path("build_dir/digits"), help="where the VHDL goes"
    )
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--samples", type=int, default=None, help="simulate only this many test samples"
    )
    args = parser.parse_args(argv)
    r = run(args.out.resolve(), args.epochs, args.seed, args.samples)
    print(f"float accuracy:               {r.float_accuracy:.2%}")
    print(f"quantized accuracy ({TOTAL_BITS}/{FRAC_BITS} bits): {r.quantized_accuracy:.2%}")
    print(f"hardware-simulation accuracy: {r.hardware_accuracy:.2%}")
    print(f"outputs differing model vs hardware: {r.mismatches} of {r.outputs}")
    print(
        f"latency: {r.latency_cycles} clock cycles per sample "
        f"(a new sample every {r.initiation_interval:.0f} cycles)"
    )
    print(f"VHDL written to: {r.vhdl_dir}")
    return 0 if r.mismatches == 0 and r.hardware_accuracy == r.quantized_accuracy else 1


if __name__ == "__main__":
    raise SystemExit(main())
