"""An LSTM on generated sensor signals: train it in fixed point, translate it, simulate
the test split in GHDL, and show that hardware and model agree exactly.

The data are the generated signals of the ``timeseries`` example (sine, square,
sawtooth and chirp with random frequency, phase, amplitude, offset and noise; nothing to
download), ``STEPS`` = 24 samples long, given to the LSTM as sequences of shape
``(N, 24, 1)``: one value a time step.

The model: ``LSTM(1, 12)`` in 8-bit fixed point with 5 fractional bits, its gates and
cell in the same format, the piecewise sigmoid and tanh, then ``Linear(12, 4)`` on the
hidden state after the last step (``out[:, -1]``). A float twin (``torch.nn.LSTM`` and
``torch.nn.Linear`` from the same initial weights) trains beside it for comparison.

Run it with ``elasticai-creator demo --example lstm`` (or ``python -m
elasticai.creator.examples.lstm``). ``--serial`` makes the gate matrix compute one row a
clock cycle; ``--target-ii N`` asks for a design that takes a new sequence every ``N`` cycles
(the planner picks how many gate rows it computes at once); ``--cost`` adds the resource
cost from Yosys. By default: 40 epochs, a new sequence every 4,000 cycles at most.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from elasticai.creator import create_design
from elasticai.creator.examples.timeseries import CLASSES, accuracy, make_signals, train
from elasticai.creator.nn.fixed_point import LSTM, Linear
from elasticai.creator.ops import RecurrentLayerOp

STEPS = 24
HIDDEN = 12
#: Cycles between sequences by default (one gate row a cycle: ``--serial``).
DEFAULT_II = 10000
TOTAL_BITS, FRAC_BITS = 8, 5


class LstmClassifier(torch.nn.Module):
    """``out, _ = lstm(x); fc(out[:, -1])``."""

    def __init__(
        self, hidden: int = HIDDEN, total_bits: int = TOTAL_BITS, frac_bits: int = FRAC_BITS
    ):
        super().__init__()
        self.lstm = LSTM(1, hidden, total_bits, frac_bits, batch_first=True)
        self.fc = Linear(hidden, len(CLASSES), total_bits, frac_bits)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(x)
        return self.fc(out[:, -1])


class FloatTwin(torch.nn.Module):
    def __init__(self, model: LstmClassifier):
        super().__init__()
        self.lstm = torch.nn.LSTM(1, model.lstm.hidden_size, batch_first=True)
        self.fc = torch.nn.Linear(model.fc.in_features, model.fc.out_features)
        self.load_state_dict(model.state_dict(), strict=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(x)
        return self.fc(out[:, -1])


def load_split(
    seed: int = 0, train: int = 1200, test: int = 200
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """``x_train, x_test, y_train, y_test``: sequences ``(N, STEPS, 1)``."""
    x_train, y_train = make_signals(train, seed=2 * seed, length=STEPS)
    x_test, y_test = make_signals(test, seed=2 * seed + 1, length=STEPS)
    return x_train.transpose(1, 2), x_test.transpose(1, 2), y_train, y_test


@dataclass(frozen=True)
class LstmResult:
    float_accuracy: float
    quantized_accuracy: float
    test_samples: int
    simulated_samples: int
    model_accuracy_simulated: float
    hardware_accuracy: float
    mismatches: int
    outputs: int
    latency_cycles: int
    initiation_interval: int
    gate_rows_per_beat: int
    simulation_seconds: float
    vhdl_dir: Path
    cost: dict[str, Any]


def run(
    out_dir: Path,
    epochs: int = 40,
    samples: int | None = None,
    seed: int = 0,
    target_ii: int | None = DEFAULT_II,
    cost: bool = False,
) -> LstmResult:
    """Train, translate (saving the VHDL to ``out_dir``), simulate the first ``samples``
    test sequences in GHDL (all with ``None``); the cost from Yosys with ``cost``, else the
    analytic estimate."""
    x_train, x_test, y_train, y_test = load_split(seed)
    torch.manual_seed(seed)
    model = LstmClassifier()
    baseline = FloatTwin(model)
    train(baseline, x_train, y_train, epochs, seed)
    train(model, x_train, y_train, epochs, seed)
    with torch.no_grad():
        quantized = model(x_test)
        floating = baseline(x_test)

    design = create_design(model, "lstm_classifier", input_shape=(STEPS, 1), target_ii=target_ii)
    design.save_to(out_dir)
    x_sim = x_test if samples is None else x_test[:samples]
    y_sim, expected = y_test[: len(x_sim)], quantized[: len(x_sim)]
    started = time.perf_counter()
    hardware = design.simulate(x_sim)
    simulated_s = time.perf_counter() - started
    print(f"simulated {len(x_sim)} sequences in GHDL in {simulated_s:.1f} s")
    report = design.report(synthesis=cost)
    (op,) = [n.op for n in design.graph.nodes if isinstance(n.op, RecurrentLayerOp)]
    return LstmResult(
        float_accuracy=accuracy(floating, y_test),
        quantized_accuracy=accuracy(quantized, y_test),
        test_samples=len(x_test),
        simulated_samples=len(x_sim),
        model_accuracy_simulated=accuracy(expected, y_sim),
        hardware_accuracy=accuracy(hardware, y_sim),
        mismatches=int((hardware != expected).sum()),
        outputs=expected.numel(),
        latency_cycles=int(report["latency_cycles"]),
        initiation_interval=int(report["initiation_interval"]),
        gate_rows_per_beat=int(op.p_out),
        simulation_seconds=simulated_s,
        vhdl_dir=out_dir,
        cost=dict(report),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--out", type=Path, default=Path("build_dir/lstm"), help="where the VHDL goes"
    )
    parser.add_argument("--epochs", type=int, default=40, help="training epochs (default 40)")
    parser.add_argument("--seed", type=int, default=0, help="seed of data, weights and training")
    parser.add_argument(
        "--samples", type=int, default=None, help="simulate only this many test sequences"
    )
    parser.add_argument(
        "--target-ii",
        type=int,
        default=DEFAULT_II,
        help=f"cycles between sequences to reach (default {DEFAULT_II})",
    )
    parser.add_argument(
        "--serial", action="store_true", help="one gate row a cycle (the smallest design)"
    )
    parser.add_argument(
        "--cost", action="store_true", help="resources from Yosys (default: the estimate)"
    )
    args = parser.parse_args(argv)
    target_ii = None if args.serial else args.target_ii
    r = run(args.out.resolve(), args.epochs, args.samples, args.seed, target_ii, args.cost)
    print(f"float accuracy:               {r.float_accuracy:.2%} ({r.test_samples} test sequences)")
    print(f"quantized accuracy ({TOTAL_BITS}/{FRAC_BITS} bits): {r.quantized_accuracy:.2%}")
    print(
        f"hardware-simulation accuracy: {r.hardware_accuracy:.2%} "
        f"({r.simulated_samples} sequences simulated; the model on them: "
        f"{r.model_accuracy_simulated:.2%})"
    )
    print(f"outputs differing model vs hardware: {r.mismatches} of {r.outputs}")
    print(
        f"latency: {r.latency_cycles} clock cycles per sequence of {STEPS} steps "
        f"(a new sequence every {r.initiation_interval} cycles; {r.gate_rows_per_beat} gate "
        "row(s) a cycle)"
    )
    c = r.cost
    source = "Yosys synth_xilinx, 7-series" if c.get("resources_from") == "yosys" else "estimate"
    print(f"cost ({source}): {c['lut']} LUT, {c['ff']} FF, {c['dsp']} DSP, {c['bram']} BRAM")
    print(f"VHDL written to: {r.vhdl_dir}")
    exact = r.mismatches == 0 and r.hardware_accuracy == r.model_accuracy_simulated
    return 0 if exact else 1


if __name__ == "__main__":
    raise SystemExit(main())
