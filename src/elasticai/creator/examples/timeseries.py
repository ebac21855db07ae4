"""A 1-D CNN on generated sensor signals: train it in fixed point, translate it,
simulate the test split (in GHDL, or Verilator where that answers first), and show that
hardware and model agree exactly.

The data (generated, seeded, nothing to download): windows of ``LENGTH`` = 64 samples
of one sensor channel, shape ``(N, 1, 64)``, in four classes (``CLASSES``):

- ``sine``: a sine wave,
- ``square``: a square wave (+1/-1),
- ``sawtooth``: a rising ramp that drops back at the end of each period,
- ``chirp``: a sine whose frequency sweeps up within the window, from 0.5-2 to 6-10
  periods per window.

The first three repeat 2 to 6 times per window; every signal has a random phase,
an amplitude between 0.4 and 1, an offset between -0.25 and 0.25 and additive
Gaussian noise (standard deviation 0.3 by default). Classes are balanced; the training
and test splits come from different seeds.

The model: ``Conv1d(1, 8, 5) - BatchNorm1d - ReLU - MaxPool1d(2) - Conv1d(8, 8, 3) -
BatchNorm1d - ReLU - MaxPool1d(2) - Flatten - Linear(128, 4)`` in 8-bit fixed point
with 5 fractional bits (range [-4, 4), steps of 1/32). The batch norms are folded into
the convolutions before them in ``eval()``, and in hardware.

Run it with ``elasticai-creator demo --example timeseries`` (or
``python -m elasticai.creator.examples.timeseries``). By default the design is serial
(one multiplier per layer); ``--target-ii N`` asks for a design that takes a new
window every ``N`` clock cycles with the fewest multipliers, which also simulates
faster; ``--cost`` adds the resource cost from Yosys.
"""

from __future__ import annotations

import argparse
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from elasticai.creator.file_generation.on_disk_path import OnDiskPath
from elasticai.creator.nn import Sequential
from elasticai.creator.nn.fixed_point import (
    BatchNorm1d,
    Conv1d,
    Flatten,
    Linear,
    MaxPool1d,
    ReLU,
)

TOTAL_BITS, FRAC_BITS = 8, 5
LENGTH = 64
CLASSES = ("sine", "square", "sawtooth", "chirp")


def make_signals(
    n: int, seed: int, length: int = LENGTH, noise: float = 0.3
) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` signals of shape ``(n, 1, length)`` and their labels (indices into
    ``CLASSES``, balanced, shuffled); the same ``seed`` gives the same signals."""
    g = torch.Generator().manual_seed(seed)

    def uniform(low: float, high: float) -> torch.Tensor:
        return low + (high - low) * torch.rand(n, 1, generator=g)

    y = (torch.arange(n) % len(CLASSES))[torch.randperm(n, generator=g)]
    t = torch.arange(length, dtype=torch.float32) / length  # time in windows
    periods, phase = uniform(2.0, 6.0), uniform(0.0, 1.0)
    cycle = periods * t + phase
    position = cycle - torch.floor(cycle)  # where in its period, in [0, 1)
    start, end = uniform(0.5, 2.0), uniform(6.0, 10.0)  # chirp: periods per window
    waves = torch.stack(
        [
            torch.sin(2 * math.pi * cycle),
            torch.where(position < 0.5, 1.0, -1.0),
            2 * position - 1,
            torch.sin(2 * math.pi * (start * t + (end - start) * t**2 / 2 + phase)),
        ],
        dim=1,
    )
    x = waves[torch.arange(n), y] * uniform(0.4, 1.0) + uniform(-0.25, 0.25)
    x = x + noise * torch.randn(n, length, generator=g)
    return x.unsqueeze(1), y


def load_split(
    seed: int = 0, train: int = 2000, test: int = 200
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """``x_train, x_test, y_train, y_test``: generated, the two splits from different seeds."""
    x_train, y_train = make_signals(train, seed=2 * seed)
    x_test, y_test = make_signals(test, seed=2 * seed + 1)
    return x_train, x_test, y_train, y_test


def build_model(
    channels: int = 8, total_bits: int = TOTAL_BITS, frac_bits: int = FRAC_BITS
) -> Sequential:
    c, tb, fb = channels, total_bits, frac_bits
    return Sequential(
        Conv1d(1, c, 5, tb, fb, padding=2),
        BatchNorm1d(c, tb, fb),
        ReLU(),
        MaxPool1d(2),
        Conv1d(c, c, 3, tb, fb, padding=1),
        BatchNorm1d(c, tb, fb),
        ReLU(),
        MaxPool1d(2),
        Flatten(),
        Linear(c * (LENGTH // 4), len(CLASSES), tb, fb),
    )


_FLOAT_LAYERS: dict[type, Any] = {
    Conv1d: lambda m: torch.nn.Conv1d(
        m.in_channels, m.out_channels, m.kernel_size, m.stride, m.padding
    ),
    BatchNorm1d: lambda m: torch.nn.BatchNorm1d(m.num_features, m.eps, m.momentum),
    ReLU: lambda m: torch.nn.ReLU(),
    MaxPool1d: lambda m: torch.nn.MaxPool1d(m.kernel_size, m.stride),
    Flatten: lambda m: torch.nn.Flatten(),
    Linear: lambda m: torch.nn.Linear(m.in_features, m.out_features),
}


def float_twin(model: Sequential) -> torch.nn.Sequential:
    """The same network, with the same initial weights, in plain float arithmetic."""
    twin = torch.nn.Sequential(*(_FLOAT_LAYERS[type(layer)](layer) for layer in model))
    twin.load_state_dict(model.state_dict())
    return twin


def train(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, epochs: int, seed: int) -> None:
    torch.manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, max(1, epochs))
    loss_fn = torch.nn.CrossEntropyLoss()
    # Batches this small gain nothing from a second thread, and with every core busy
    # (a test run beside it) two threads can make training ten times slower.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        model.train()
        for _ in tqdm(range(epochs), desc="training", unit="epoch"):
            for batch in torch.randperm(len(x)).split(64):
                optimizer.zero_grad()
                loss_fn(model(x[batch]), y[batch]).backward()
                optimizer.step()
            schedule.step()
    finally:
        torch.set_num_threads(threads)
    model.eval()


def accuracy(logits: torch.Tensor, y: torch.Tensor) -> float:
    return float((logits.argmax(dim=1) == y).float().mean())


@dataclass(frozen=True)
class TimeseriesResult:
    float_accuracy: float  # float twin, whole test split
    quantized_accuracy: float  # fixed-point model, whole test split
    test_samples: int
    simulated_samples: int
    model_accuracy_simulated: float  # fixed-point model on the simulated samples
    hardware_accuracy: float  # the simulation on the simulated samples
    mismatches: int
    outputs: int
    latency_cycles: int
    initiation_interval: float
    simulation_seconds: float
    vhdl_dir: Path
    cost: dict[str, Any] | None = None  # design.report() when asked for


def run(
    out_dir: Path,
    epochs: int = 10,
    samples: int | None = None,
    seed: int = 0,
    target_ii: int | None = None,
    cost: bool = False,
) -> TimeseriesResult:
    """Train, translate (saving the VHDL to ``out_dir``), simulate the first ``samples``
    test signals (all with ``None``), and with ``cost`` synthesize with Yosys."""
    x_train, x_test, y_train, y_test = load_split(seed)
    torch.manual_seed(seed)
    model = build_model()
    baseline = float_twin(model)
    train(baseline, x_train, y_train, epochs, seed)
    train(model, x_train, y_train, epochs, seed)
    with torch.no_grad():
        quantized = model(x_test)
        floating = baseline(x_test)

    design = model.create_design("timeseries_cnn", input_shape=(1, LENGTH), target_ii=target_ii)
    design.save_to(OnDiskPath(out_dir.name, parent=out_dir.parent))
    x_sim = x_test if samples is None else x_test[:samples]
    y_sim, expected = y_test[: len(x_sim)], quantized[: len(x_sim)]
    started = time.perf_counter()
    hardware = design.simulate(x_sim)
    simulated_s = time.perf_counter() - started
    print(f"simulated {len(x_sim)} signals in {simulated_s:.1f} s")
    if cost:
        report = design.report(synthesis=True)
        latency, ii = report["latency_cycles"], report["initiation_interval"]
    else:
        report = None
        timing = design.run(design.quantize_input(x_test[:4]), stall_percent=0)
        latency, ii = int(timing.latencies[0]), timing.initiation_interval
    return TimeseriesResult(
        float_accuracy=accuracy(floating, y_test),
        quantized_accuracy=accuracy(quantized, y_test),
        test_samples=len(x_test),
        simulated_samples=len(x_sim),
        model_accuracy_simulated=accuracy(expected, y_sim),
        hardware_accuracy=accuracy(hardware, y_sim),
        mismatches=int((hardware != expected).sum()),
        outputs=expected.numel(),
        latency_cycles=int(latency),
        initiation_interval=float(ii),
        simulation_seconds=simulated_s,
        vhdl_dir=out_dir,
        cost=report,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--out", type=Path, default=Path("build_dir/timeseries"), help="where the VHDL goes"
    )
    parser.add_argument("--epochs", type=int, default=10, help="training epochs (default 10)")
    parser.add_argument("--seed", type=int, default=0, help="seed of data, weights and training")
    parser.add_argument(
        "--samples",
        type=int,
        default=None,
        help="simulate only this many test signals (default: all 200)",
    )
    parser.add_argument(
        "--target-ii",
        type=int,
        default=None,
        help="translate for a new window every N clock cycles (default: serial)",
    )
    parser.add_argument(
        "--cost",
        action="store_true",
        help="also synthesize with Yosys and print LUT, FF, DSP, BRAM (10-60 s more)",
    )
    args = parser.parse_args(argv)
    r = run(args.out.resolve(), args.epochs, args.samples, args.seed, args.target_ii, args.cost)
    print(f"float accuracy:               {r.float_accuracy:.2%} ({r.test_samples} test signals)")
    print(f"quantized accuracy ({TOTAL_BITS}/{FRAC_BITS} bits): {r.quantized_accuracy:.2%}")
    print(
        f"hardware-simulation accuracy: {r.hardware_accuracy:.2%} "
        f"({r.simulated_samples} signals simulated; the model on them: "
        f"{r.model_accuracy_simulated:.2%})"
    )
    print(f"outputs differing model vs hardware: {r.mismatches} of {r.outputs}")
    print(
        f"latency: {r.latency_cycles} clock cycles per sample "
        f"(a new sample every {r.initiation_interval:.0f} cycles)"
    )
    if r.cost is not None:
        c = r.cost
        print(
            f"cost (Yosys synth_xilinx, 7-series): {c['lut']} LUT, {c['ff']} FF, "
            f"{c['dsp']} DSP, {c['bram']} BRAM"
        )
    print(f"VHDL written to: {r.vhdl_dir}")
    exact = r.mismatches == 0 and r.hardware_accuracy == r.model_accuracy_simulated
    return 0 if exact else 1


if __name__ == "__main__":
    raise SystemExit(main())
