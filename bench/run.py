"""Benchmark: reference models at several parallelism settings, one table.

    python bench/run.py            # everything (about 20 minutes: Yosys on the unrolled jets)
    python bench/run.py --quick    # fewer settings, no 16-bit fully unrolled jet
    python bench/run.py --setting serial --fmax   # one setting, with Fmax on an ECP5-85k
    python bench/run.py --only maxpool --fmax --seeds 3   # Fmax: median of 3 nextpnr seeds
    python bench/run.py --only resnet8            # the residual CNN (about an hour: GHDL)

Columns: latency and initiation interval measured in GHDL (cycles), MAC utilisation =
MACs per sample / (II x multipliers), resources from
``ghdl --synth`` + Yosys ``synth_xilinx`` (7-series), exact = outputs equal between the
PyTorch model and the GHDL simulation (with random stalls), FIFO bits = storage of the
skip-path FIFOs, compile = translation to VHDL, sim = GHDL simulation of the checked
samples, depth = logic levels of the longest register-to-register path (Yosys). With
``--fmax``: Fmax after Yosys ``synth_ecp5`` and nextpnr on an ECP5-85k (rows up to
``FMAX_LUTS`` estimated LUTs) and the latency in nanoseconds at that clock; with
``--seeds N`` the median of nextpnr seeds 1 to N, the lowest and highest in brackets
(a design's Fmax moves by about 10 % from seed to seed). A "~" marks
resources from the analytic estimate where GHDL 2.0's --synth crashed on the design.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from elasticai.creator import create_design  # noqa: E402
from elasticai.creator.analysis.estimate import estimate  # noqa: E402
from elasticai.creator.arithmetic import FixedType  # noqa: E402
from elasticai.creator.examples import digits  # noqa: E402
from elasticai.creator.nn import Sequential  # noqa: E402
from elasticai.creator.nn.fixed_point import (  # noqa: E402
    GRU,
    LSTM,
    AdaptiveAvgPool2d,
    BatchNorm1d,
    BatchNorm2d,
    Conv1d,
    Conv2d,
    Flatten,
    HardSigmoid,
    HardTanh,
    Linear,
    MaxPool1d,
    MaxPool2d,
    ReLU,
)
from elasticai.creator.ops import LinearOp, RecurrentLayerOp  # noqa: E402
from elasticai.creator.synth import SynthesisError  # noqa: E402


def random_weights(model: torch.nn.Module, seed: int) -> torch.nn.Module:
    """Weights uniform over +-1 (rounded onto each layer's grid): a stand-in for training."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, Linear | Conv1d | Conv2d):
                m.weight.copy_(torch.rand(m.weight.shape, generator=g) * 2 - 1)
                if m.bias is not None:
                    m.bias.copy_(torch.rand(m.bias.shape, generator=g) * 2 - 1)
    return model.eval()


def readme_model() -> torch.nn.Module:
    return random_weights(
        Sequential(Linear(10, 2, bias=True, total_bits=16, frac_bits=8), HardSigmoid(16, 8)), 1
    )


def jet(
    total: int, frac: int, weights: tuple[int, int] | None = None
) -> Callable[[], torch.nn.Module]:
    """The jet-tagging MLP 16-64-32-32-5; ``weights``: a format of their own for the weights."""
    w = {} if weights is None else {"weight_total_bits": weights[0], "weight_frac_bits": weights[1]}

    def build() -> torch.nn.Module:
        model = Sequential(
            Linear(16, 64, total, frac, **w),
            ReLU(),
            Linear(64, 32, total, frac, **w),
            ReLU(),
            Linear(32, 32, total, frac, **w),
            ReLU(),
            Linear(32, 5, total, frac, **w),
        )
        return random_weights(model, 2)

    return build


def small_mlp() -> torch.nn.Module:
    """Linear 6-4, ReLU, Linear 4-3, HardTanh at 8/4: the issue-12 example of a small
    fully unrolled design."""
    model = Sequential(Linear(6, 4, 8, 4), ReLU(), Linear(4, 3, 8, 4), HardTanh(8, 4))
    return random_weights(model, 3)


def digits_model() -> torch.nn.Module:
    x_train, _, y_train, _ = digits.load_digits_split(0)
    model = digits.build_model()
    digits.train(model, x_train, y_train, epochs=10, seed=0)
    return model


def activations() -> torch.nn.Module:
    """HardTanh then ReLU on 16 values at 8/4: an element-wise design (no multiplier)."""
    return Sequential(HardTanh(8, 4), ReLU(8))


def maxpool() -> torch.nn.Module:
    """MaxPool1d(2) then ReLU on 4 channels of 32 at 8/4: a pooling design (no multiplier)."""
    return Sequential(MaxPool1d(2, total_bits=8, frac_bits=4), ReLU(8))


def autoencoder() -> torch.nn.Module:
    """MLPerf Tiny's anomaly-detection autoencoder: Linear 640-128-128-128-8-128-128-128-640
    with ReLUs, 8/4 bits, about 232,000 weights."""
    sizes = [640, 128, 128, 128, 8, 128, 128, 128, 640]
    layers: list[torch.nn.Module] = []
    for n_in, n_out in zip(sizes, sizes[1:], strict=False):
        layers += [Linear(n_in, n_out, 8, 4), ReLU()]
    return random_weights(Sequential(*layers[:-1]), 12)


def cnn1d() -> torch.nn.Module:
    """A 1-D CNN for a 64-sample sensor window (the time-series example's shape)."""
    model = Sequential(
        Conv1d(1, 8, 5, 8, 4, padding=2),
        BatchNorm1d(8, 8, 4),
        ReLU(),
        MaxPool1d(2),
        Conv1d(8, 8, 3, 8, 4, padding=1),
        BatchNorm1d(8, 8, 4),
        ReLU(),
        MaxPool1d(2),
        Flatten(),
        Linear(8 * 16, 4, 8, 4),
    )
    random_weights(model, 3).train()
    g = torch.Generator().manual_seed(4)
    with torch.no_grad():
        for _ in range(5):  # batch norm statistics
            model(torch.randn(32, 1, 64, generator=g))
    return model.eval()


def cnn2d() -> torch.nn.Module:
    """A small 2-D CNN on 8x8 single-channel images with global average pooling."""
    model = Sequential(
        Conv2d(1, 4, 3, 8, 4, padding=1),
        ReLU(),
        MaxPool2d(2),
        Conv2d(4, 8, 3, 8, 4, padding=1),
        ReLU(),
        AdaptiveAvgPool2d(1),
        Flatten(),
        Linear(8, 10, 8, 4),
    )
    return random_weights(model, 5)


class _Stage(torch.nn.Module):
    """A residual stage: conv-bn-relu-conv-bn plus the input (or a 1x1 projection of it)."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = Conv2d(cin, cout, 3, 8, 4, stride=stride, padding=1)
        self.bn1 = BatchNorm2d(cout, 8, 4)
        self.conv2 = Conv2d(cout, cout, 3, 8, 4, padding=1)
        self.bn2 = BatchNorm2d(cout, 8, 4)
        self.project = Conv2d(cin, cout, 1, 8, 4, stride=stride) if stride > 1 else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(y + (x if self.project is None else self.project(x)))


class ResNet8(torch.nn.Module):
    """MLPerf Tiny's image classification ResNet-8 on 32x32x3 (CIFAR-10 shaped) at 8/4 bits:
    a 3x3 stem of 16 channels, three residual stages of 16, 32 and 64 channels (the last
    two with stride 2 and a projection), global average pooling and a dense layer."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = Conv2d(3, 16, 3, 8, 4, padding=1)
        self.bn = BatchNorm2d(16, 8, 4)
        self.stages = torch.nn.Sequential(_Stage(16, 16, 1), _Stage(16, 32, 2), _Stage(32, 64, 2))
        self.pool = AdaptiveAvgPool2d(1)
        self.fc = Linear(64, 10, 8, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stages(F.relu(self.bn(self.stem(x))))
        return self.fc(torch.flatten(self.pool(x), 1))


def resnet8() -> torch.nn.Module:
    model = random_weights(ResNet8(), 6).train()
    g = torch.Generator().manual_seed(8)
    with torch.no_grad():
        for _ in range(3):  # batch norm statistics
            model(torch.randn(16, 3, 32, 32, generator=g))
    return model.eval()


class Recurrent(torch.nn.Module):
    """The original elasticai.creator's LSTM configuration: one value a step, 16 steps,
    hidden size 20, then ``Linear(20, 1)`` on the last step; 8/4 bits; ``hard``: its hard
    sigmoid and hard tanh (else the piecewise sigmoid and tanh of 32 segments)."""

    def __init__(self, cell: type, hard: bool = False) -> None:
        super().__init__()
        kw = {"gate_activation": "hard_sigmoid", "cell_activation": "hard_tanh"} if hard else {}
        self.rnn = cell(1, 20, 8, 4, batch_first=True, **kw)
        self.fc = Linear(20, 1, 8, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(x)
        return self.fc(out[:, -1])


def recurrent(cell: type, hard: bool = False) -> Callable[[], torch.nn.Module]:
    def build() -> torch.nn.Module:
        # the cell's own weights take PyTorch's initialisation: seeded, so that a row is the
        # same from run to run (the GRU's cycles depend on which weights round to zero)
        torch.manual_seed(11)
        return random_weights(Recurrent(cell, hard), 11).eval()

    return build


INPUT_SHAPES = {
    "activations": (16,),
    "maxpool": (4, 32),
    "cnn1d": (1, 64),
    "cnn2d": (1, 8, 8),
    "resnet8": (3, 32, 32),
    "lstm 1-20": (16, 1),
    "lstm 1-20 hard": (16, 1),
    "gru 1-20": (16, 1),
}


def input_shape(model: torch.nn.Module) -> tuple[int, ...]:
    return INPUT_SHAPES.get(getattr(model, "bench_name", ""), ())


def inputs(model: torch.nn.Module, n: int) -> torch.Tensor:
    first = next(m for m in model.modules() if hasattr(m, "fxp"))
    t: FixedType = first.fxp
    g = torch.Generator().manual_seed(7)
    shape = input_shape(model) or (first.in_features,)
    x = (torch.rand(n, *shape, generator=g) * 2 - 1) * 1.5 * t.max_value
    x[0], x[1] = t.min_value * 2, t.max_value * 2  # saturating samples
    return x


SETTINGS_FULL: dict[str, list[dict]] = {
    "readme": [{}, {"parallelism": "full"}],
    "mlp 6-4-3": [
        {"parallelism": "full"},
        {"parallelism": "full", "pipeline_levels": 1},
        {"parallelism": "full", "pipeline_levels": 5},
    ],
    "jet 8/4": [
        {},
        {"target_ii": 256},
        {"target_ii": 32},
        {"parallelism": "full"},
        {"parallelism": "full", "pipeline_levels": 5},
    ],
    "jet w4a8": [{}, {"target_ii": 256}, {"target_ii": 32}, {"parallelism": "full"}],
    "jet 16/8": [{}, {"target_ii": 256}, {"parallelism": "full"}],
    "digits": [{}, {"target_ii": 128}, {"parallelism": "full"}],
    "cnn1d": [{}, {"target_ii": 1024}, {"target_ii": 256}, {"parallelism": "full"}],
    "cnn2d": [{}, {"target_ii": 256}, {"parallelism": "full"}],
    "resnet8": [{}, {"target_ii": 65536}, {"target_ii": 8192}],
    "lstm 1-20": [{}, {"target_ii": 14000}, {"target_ii": 12000}, {"parallelism": "full"}],
    "lstm 1-20 hard": [{}, {"target_ii": 14000}, {"target_ii": 12000}],
    "gru 1-20": [{}, {"target_ii": 14000}, {"target_ii": 12000}, {"parallelism": "full"}],
    "autoencoder": [{}],
    "activations": [{}, {"parallelism": "full"}],
    "maxpool": [{}, {"parallelism": "full"}],
}
SETTINGS_QUICK: dict[str, list[dict]] = {
    "readme": [{}],
    "mlp 6-4-3": [{"parallelism": "full"}],
    "jet 8/4": [{}, {"parallelism": "full"}],
    "jet w4a8": [{}, {"parallelism": "full"}],
    "jet 16/8": [{}],
    "digits": [{}],
    "cnn1d": [{}, {"parallelism": "full"}],
    "cnn2d": [{}],
    "resnet8": [{"target_ii": 65536}],
    "lstm 1-20": [{}],
    "lstm 1-20 hard": [{}],
    "gru 1-20": [{}],
    "autoencoder": [{}],
    "activations": [{}, {"parallelism": "full"}],
    "maxpool": [{}, {"parallelism": "full"}],
}
MODELS = {
    "readme": (readme_model, "16/8"),
    "mlp 6-4-3": (small_mlp, "8/4"),
    "jet 8/4": (jet(8, 4), "8/4"),
    "jet w4a8": (jet(8, 4, (4, 2)), "w4/8"),
    "jet 16/8": (jet(16, 8), "16/8"),
    "digits": (digits_model, "8/4"),
    "cnn1d": (cnn1d, "8/4"),
    "cnn2d": (cnn2d, "8/4"),
    "resnet8": (resnet8, "8/4"),
    "lstm 1-20": (recurrent(LSTM), "8/4"),
    "lstm 1-20 hard": (recurrent(LSTM, hard=True), "8/4"),
    "gru 1-20": (recurrent(GRU), "8/4"),
    "autoencoder": (autoencoder, "8/4"),
    "activations": (activations, "8/4"),
    "maxpool": (maxpool, "8/4"),
}
#: Estimated LUTs up to which ``--fmax`` places and routes a row.
FMAX_LUTS = 10_000
#: Simulated samples at most per CNN row (serial CNNs take thousands of cycles a sample).
CNN_SAMPLES = 20
#: ... and for the ResNet and the autoencoder, whose serial ends take 2.4 million and
#: 232,000 cycles a sample.
BIG_SAMPLES = 3


def describe(options: dict) -> str:
    options = {k: v for k, v in options.items() if k != "input_shape"}
    if not options:
        return "serial"
    names = {"parallelism": "{}", "target_ii": "II<={}", "pipeline_levels": "L{}"}
    return " ".join(names.get(key, f"{key}={{}}").format(value) for key, value in options.items())


def row(
    name: str, bits: str, model: torch.nn.Module, options: dict, samples: int, fmax: int
) -> list[str]:
    """One table row; ``fmax``: nextpnr seeds to place (0: no Fmax columns)."""
    started = time.perf_counter()
    shape = input_shape(model)
    big = name.startswith(("resnet", "autoencoder"))
    if shape:
        options = {**options, "input_shape": shape}
        samples = min(samples, CNN_SAMPLES)
    if big:
        samples = min(samples, BIG_SAMPLES)
    design = create_design(model, "bench", **options)
    _ = design.files
    compile_s = time.perf_counter() - started
    x = inputs(model, samples)
    started = time.perf_counter()
    hardware = design.simulate(x)
    sim_s = time.perf_counter() - started
    with torch.no_grad():
        exact = int((hardware == model(x)).sum())
    # place and route designs up to FMAX_LUTS (nextpnr takes tens of minutes beyond)
    routed = fmax > 0 and estimate(design.graph)[0]["lut"] <= FMAX_LUTS
    try:
        report = design.report(fmax=routed, fmax_seeds=max(1, fmax), timing_samples=3 if big else 6)
        mark = ""
    except SynthesisError as error:  # GHDL 2.0's --synth crashes on a few designs
        print(f"{name} {describe(options)}: {str(error).splitlines()[0]}", file=sys.stderr)
        report = design.report(synthesis=False, timing_samples=3 if big else 6)
        report.update(lutram=0, synthesis_seconds=0.0)
        mark = "~"  # resources from the analytic estimate
    linears = [n for n in design.graph.nodes if isinstance(n.op, LinearOp)]
    mults = sum(n.op.p_in * n.op.p_out for n in linears)  # type: ignore[union-attr]
    macs = sum(
        n.op.macs() * (n.input_type.size // n.op.weight.shape[1])  # type: ignore[union-attr]
        for n in linears
    )
    for n in design.graph.nodes:  # a recurrent layer's gate matrix: p_out rows a beat
        if isinstance(n.op, RecurrentLayerOp):
            mults += n.op.p_out
            macs += n.op.steps * n.op.layer.linear.macs()
    # no multiplier (element-wise and pooling designs): nothing to utilise
    utilisation = macs / (report["initiation_interval"] * mults) if mults else None
    return [
        name,
        bits,
        describe(options),
        str(mults),
        str(report["latency_cycles"]),
        str(report["initiation_interval"]),
        "-" if utilisation is None else f"{utilisation:.2f}",
        f"{mark}{report['lut']}",
        str(report["lutram"]),
        f"{mark}{report['ff']}",
        f"{mark}{report['dsp']}",
        f"{mark}{report['bram']}",
        str(report["fifo_bits"]),
        f"{exact}/{hardware.numel()}",
        f"{compile_s:.2f}",
        f"{sim_s:.1f}",
        f"{report['synthesis_seconds']:.1f}",
        str(report.get("logic_depth", "-")) if not mark else "-",
        *([mhz_cell(report) if routed else "-"] if fmax else []),
        *(
            [f"{report['latency_cycles'] * 1000 / report['fmax_mhz']:,.0f}" if routed else "-"]
            if fmax
            else []
        ),
    ]


def mhz_cell(report: dict) -> str:
    """ "147", or over several seeds the median with the range: "147 (139-156)"."""
    by_seed = list(report.get("fmax_mhz_by_seed", {}).values())
    cell = f"{report['fmax_mhz']:.0f}"
    if len(by_seed) > 1:
        cell += f" ({min(by_seed):.0f}-{max(by_seed):.0f})"
    return cell


HEADER = [
    "model",
    "bits",
    "setting",
    "mults",
    "cycles",
    "II",
    "MAC util",
    "LUT",
    "LUTRAM",
    "FF",
    "DSP",
    "BRAM18",
    "FIFO bits",
    "exact",
    "compile s",
    "sim s",
    "synth s",
    "depth",
]


def compile_scaling() -> list[str]:
    """Translation time (trace, passes, VHDL text) of two-layer models growing to 1M weights."""
    lines = ["weights    translate s"]
    for n in (250, 500, 1000):
        model = Sequential(Linear(n, n, 8, 4), ReLU(), Linear(n, 10, 8, 4))
        started = time.perf_counter()
        files = model.create_design("big").files
        seconds = time.perf_counter() - started
        lines.append(
            f"{n * n + 10 * n:>9,}  {seconds:10.2f}   ({sum(map(len, files.values())) >> 20} MiB of VHDL)"
        )
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument("--only", help="run only models whose name contains this")
    parser.add_argument("--setting", help="run only settings named so (serial, full, II<=N)")
    parser.add_argument(
        "--fmax", action="store_true", help="add Fmax (MHz) after place and route on an ECP5-85k"
    )
    parser.add_argument(
        "--seeds", type=int, default=1, help="with --fmax: the median of nextpnr seeds 1 to N"
    )
    args = parser.parse_args()
    settings = SETTINGS_QUICK if args.quick else SETTINGS_FULL
    rows = [HEADER + (["Fmax MHz", "latency ns"] if args.fmax else [])]
    for name, (build, bits) in MODELS.items():
        if args.only and args.only not in name:
            continue
        model = build()
        model.bench_name = name  # type: ignore[assignment]
        for options in settings[name]:
            if args.setting and describe(options) != args.setting:
                continue
            seeds = max(1, args.seeds) if args.fmax else 0
            rows.append(row(name, bits, model, options, args.samples, seeds))
            print("  ".join(rows[-1]), file=sys.stderr, flush=True)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print(" | ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)))
    print()
    print("\n".join(compile_scaling()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
