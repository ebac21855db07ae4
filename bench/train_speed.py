"""Training speed: seconds per epoch of the fixed-point models against their float twins.

    python bench/train_speed.py                 # all models, 7 epochs each
    python bench/train_speed.py --only kws --epochs 3

Both versions of a model train in the same run on the same generated data (``--samples``
samples, batches of 64, Adam), their epochs interleaved so that both see the same load.
The table gives, after one warm-up epoch, the seconds of the fastest epoch of each (the
one least disturbed by other processes), their ratio (quantized / float), and the ratio
of the median epochs. Times are the process's CPU time (``time.process_time``) with
``--threads`` intra-op threads (default 1: on a shared machine wall-clock times of
several threads vary by a factor of ten); ``--wall`` measures wall-clock time instead.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from elasticai.creator.examples import digits  # noqa: E402
from elasticai.creator.nn import Sequential  # noqa: E402
from elasticai.creator.nn.fixed_point import (  # noqa: E402
    AdaptiveAvgPool2d,
    BatchNorm2d,
    Conv2d,
    Flatten,
    Linear,
    ReLU,
)

TOTAL, FRAC = 8, 4


def jet() -> Sequential:
    """The jet-tagging MLP 16-64-32-32-5 at 8/4 (``bench/run.py``)."""
    return Sequential(
        Linear(16, 64, TOTAL, FRAC),
        ReLU(),
        Linear(64, 32, TOTAL, FRAC),
        ReLU(),
        Linear(32, 32, TOTAL, FRAC),
        ReLU(),
        Linear(32, 5, TOTAL, FRAC),
    )


def kws() -> Sequential:
    """A keyword-spotting CNN on 49x10 MFCC maps: strided conv, batch norm, depthwise and
    pointwise convs, global average pooling, 12 classes."""
    return Sequential(
        Conv2d(1, 16, 3, TOTAL, FRAC, stride=2),
        BatchNorm2d(16, TOTAL, FRAC),
        ReLU(),
        Conv2d(16, 16, 3, TOTAL, FRAC, groups=16),
        Conv2d(16, 32, 1, TOTAL, FRAC),
        ReLU(),
        AdaptiveAvgPool2d(1),
        Flatten(),
        Linear(32, 12, TOTAL, FRAC),
    )


def float_twin(model: torch.nn.Module) -> torch.nn.Module:
    """The same architecture in plain PyTorch layers (fresh weights)."""
    layers: list[torch.nn.Module] = []
    for m in model.children():
        if isinstance(m, Linear):
            layers.append(torch.nn.Linear(m.in_features, m.out_features, m.bias is not None))
        elif isinstance(m, Conv2d):
            layers.append(
                torch.nn.Conv2d(
                    m.in_channels,
                    m.out_channels,
                    m.kernel_size,  # type: ignore[arg-type]
                    m.stride,  # type: ignore[arg-type]
                    m.padding,  # type: ignore[arg-type]
                    groups=m.groups,
                )
            )
        elif isinstance(m, BatchNorm2d):
            layers.append(torch.nn.BatchNorm2d(m.num_features))
        elif isinstance(m, ReLU):
            layers.append(torch.nn.ReLU())
        elif isinstance(m, AdaptiveAvgPool2d):
            layers.append(torch.nn.AdaptiveAvgPool2d(1))
        elif isinstance(m, Flatten):
            layers.append(torch.nn.Flatten())
        else:
            raise TypeError(f"no float twin for {type(m).__name__}")
    return torch.nn.Sequential(*layers)


MODELS: dict[str, tuple[Callable[[], torch.nn.Module], tuple[int, ...], int]] = {
    # name: (builder, input shape, classes)
    "jet": (jet, (16,), 5),
    "digits": (digits.build_model, (64,), 10),
    "kws": (kws, (1, 49, 10), 12),
}


def trainer(
    model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int, clock: Callable[[], float]
) -> Callable[[], float]:
    """A function that trains ``model`` one epoch (Adam) and returns its seconds."""
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    model.train()

    def epoch() -> float:
        start = clock()
        for index in torch.randperm(len(x)).split(batch):
            optimizer.zero_grad()
            loss_fn(model(x[index]), y[index]).backward()
            optimizer.step()
        return clock() - start

    return epoch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=sorted(MODELS), action="append")
    parser.add_argument("--epochs", type=int, default=7)
    parser.add_argument("--samples", type=int, default=4096)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--wall", action="store_true", help="wall-clock instead of CPU time")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    clock = time.perf_counter if args.wall else time.process_time
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"{'wall-clock' if args.wall else 'CPU'} time, {args.samples} samples, "
        f"batch {args.batch}, {args.epochs} epochs after a warm-up one"
    )
    print(
        f"{'model':<8} {'float s/epoch':>14} {'quantized s/epoch':>18} {'ratio':>6} "
        f"{'median ratio':>13}"
    )
    for name in args.only or list(MODELS):
        build, shape, classes = MODELS[name]
        g = torch.Generator().manual_seed(0)
        x = torch.rand((args.samples, *shape), generator=g) * 2 - 1
        y = torch.randint(0, classes, (args.samples,), generator=g)
        torch.manual_seed(0)
        quantized = build()
        torch.manual_seed(0)
        twin = float_twin(quantized)
        runs = [trainer(m, x, y, args.batch, clock) for m in (twin, quantized)]
        times: list[list[float]] = [[], []]
        for _ in range(args.epochs + 1):  # interleaved: both see the same load
            for run, seconds in zip(runs, times, strict=True):
                seconds.append(run())
        t_float, t_quant = (min(t[1:]) for t in times)
        m_float, m_quant = (statistics.median(t[1:]) for t in times)
        print(
            f"{name:<8} {t_float:>14.3f} {t_quant:>18.3f} {t_quant / t_float:>6.2f} "
            f"{m_quant / m_float:>13.2f}"
        )


if __name__ == "__main__":
    main()
