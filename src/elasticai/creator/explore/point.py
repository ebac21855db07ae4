"""One point of a sweep: train the built model, evaluate it, translate it, measure it.

``measure(job, point, model)`` runs where the executor puts it (this process, a worker
process, a Ray task) and never raises for a point: a step that fails gives a row whose
``error`` names the step, the exception and its message (``"synthesis: SynthesisError:
..."``), every figure ``None``. The steps:

1. ``train(model)`` (when given), with ``torch.manual_seed(seed)`` and ``threads`` torch
   threads, then ``model.eval()``;
2. ``evaluate(model)``: the metric, a finite real number, higher is better;
3. ``create_design(model, name, **options)`` with the point's ``DESIGN_OPTIONS``;
4. the analytic timing and resource estimate (``analysis``: milliseconds);
5. with ``synthesis``: LUT, FF, DSP and BRAM from GHDL + Yosys ``synth_xilinx``;
6. with ``fmax``: the clock nextpnr-ecp5 reaches on an ECP5-85k;
7. with ``check_samples``: whether the simulated hardware's outputs (``design.simulate``:
   GHDL, or Verilator where it pays) equal the model's on that many inputs (``inputs``,
   or random integers over the input format's whole range).
"""

from __future__ import annotations

import math
import numbers
import re
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from elasticai.creator.explore.space import split

__all__ = ["Job", "ROW_KEYS", "measure", "failed", "check_metric"]

#: The keys of every row, in the order the CSV file has them.
ROW_KEYS = (
    "point",
    "accuracy",
    "latency_cycles",
    "initiation_interval",
    "lut",
    "ff",
    "dsp",
    "bram",
    "fmax_mhz",
    "exact",
    "pareto",
    "error",
    "resources_from",
    "seconds",
    "cached",
)

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass(frozen=True)
class Job:
    """What every point of a sweep does with its built model (the module's steps)."""

    evaluate: Callable[[Any], Any]
    train: Callable[[Any], Any] | None = None
    synthesis: bool = False
    fmax: bool = False
    check_samples: int = 0
    inputs: Any = None
    seed: int = 0
    threads: int = 1
    name: str = "sweep"


def failed(point: Mapping[str, Any], step: str, error: BaseException, seconds: float = 0.0) -> dict:
    """The row of a point whose ``step`` raised ``error``."""
    row: dict[str, Any] = dict.fromkeys(ROW_KEYS)
    row.update(point=dict(point), pareto=False, seconds=seconds, cached=False)
    text = _ANSI.sub("", str(error))  # Ray colours the messages of its workers
    row["error"] = f"{step}: {type(error).__name__}: {text}"
    return row


def check_metric(value: Any) -> float:
    """``value`` as a float if it is a finite real number, else ``ValueError``.

    >>> check_metric("0.9")
    Traceback (most recent call last):
    ...
    ValueError: evaluate must return a finite real number (higher is better), not '0.9' (str)
    """
    if isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    raise ValueError(
        "evaluate must return a finite real number (higher is better), "
        f"not {value!r} ({type(value).__name__})"
    )


@contextmanager
def torch_threads(threads: int) -> Iterator[None]:
    """``threads`` torch threads inside, what there was after."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def measure(job: Job, point: Mapping[str, Any], model: Any) -> dict:
    """The row of ``point`` (see the module), its ``model`` built, not yet trained."""
    import torch

    start = time.perf_counter()
    try:
        with torch_threads(job.threads):
            with _step("train"):
                torch.manual_seed(job.seed)
                if job.train is not None:
                    job.train(model)
                model.eval()
            with _step("evaluate"):
                accuracy = check_metric(job.evaluate(model))
            row = _hardware(job, point, model, accuracy)
    except _Step as error:
        return failed(point, error.step, error.error, time.perf_counter() - start)
    row["seconds"] = time.perf_counter() - start
    return row


class _Step(Exception):
    """``error`` raised in the step ``step`` of a point."""

    def __init__(self, step: str, error: Exception) -> None:
        super().__init__(step)
        self.step, self.error = step, error


@contextmanager
def _step(name: str) -> Iterator[None]:
    try:
        yield
    except Exception as error:
        raise _Step(name, error) from error


def _hardware(job: Job, point: Mapping[str, Any], model: Any, accuracy: float) -> dict:
    """Steps 3 to 7 of the module for a trained, evaluated model."""
    from elasticai.creator.analysis.estimate import estimate
    from elasticai.creator.analysis.timing import predict_timing
    from elasticai.creator.frontend import create_design

    with _step("translate"):
        design = create_design(model, job.name, **split(point)[1])
    with _step("estimate"):
        timing = predict_timing(design.graph)
        resources, _ = estimate(design.graph)
    row: dict[str, Any] = dict.fromkeys(ROW_KEYS)
    row.update(
        point=dict(point),
        accuracy=accuracy,
        latency_cycles=timing.latency_cycles,
        initiation_interval=timing.initiation_interval,
        pareto=False,
        resources_from="estimate",
        cached=False,
    )
    if job.synthesis:
        from elasticai.creator.synth import synthesize

        with _step("synthesis"):
            resources = synthesize(design.synthesizable_files(), design.name).total
        row["resources_from"] = "yosys"
    row.update({key: int(resources[key]) for key in ("lut", "ff", "dsp", "bram")})
    if job.fmax:
        from elasticai.creator.synth import fmax

        with _step("fmax"):
            row["fmax_mhz"] = fmax(design.synthesizable_files(), design.name).mhz
    if job.check_samples:
        with _step("check"):
            row["exact"] = _exact(job, design, model)
    return row


def _exact(job: Job, design: Any, model: Any) -> bool:
    """Whether the simulated outputs (``design.simulate``) equal the model's on
    ``job.check_samples`` inputs."""
    import torch

    x = job.inputs
    if x is None:
        dtype = design.graph.input_type.dtype
        shape = design.graph.input.torch_shape or design.graph.input_type.shape
        rng = np.random.default_rng(job.seed)
        q = rng.integers(dtype.min_int, dtype.max_int + 1, size=(job.check_samples, *shape))
        x = q * 2.0**-dtype.frac_bits
    x = torch.as_tensor(np.asarray(x)[: job.check_samples], dtype=torch.float32)
    with torch.no_grad():
        return bool(torch.equal(design.simulate(x), model(x)))
