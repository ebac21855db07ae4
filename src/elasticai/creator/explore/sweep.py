"""``explore``: every point of a space built, trained, evaluated, translated and measured,
on this machine or a Ray cluster, with a cache, a progress bar and the Pareto front."""

from __future__ import annotations

import os
import pickle
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from elasticai.creator.explore import cache, executors
from elasticai.creator.explore.output import write_results
from elasticai.creator.explore.pareto import pareto_flags
from elasticai.creator.explore.point import Job, failed, measure
from elasticai.creator.explore.space import points, split

__all__ = ["explore"]


def explore(
    space: Mapping[str, Sequence[Any]],
    *,
    build: Callable[[dict[str, Any]], Any],
    evaluate: Callable[[Any], Any],
    train: Callable[[Any], Any] | None = None,
    executor: str = "local",
    workers: int = 1,
    address: str | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    output: str | os.PathLike[str] | None = None,
    synthesis: bool = False,
    fmax: bool = False,
    check_samples: int = 0,
    inputs: Any = None,
    seed: int = 0,
    threads: int = 1,
    cpus_per_point: int = 1,
    name: str = "sweep",
    progress: bool = True,
) -> list[dict[str, Any]]:
    """Sweep ``space`` and return one row per point, in the order of the space.

    ``space`` maps parameter names to lists of values; the sweep is their product
    (``explore.space``), e.g. ``{"total_bits": [4, 6, 8], "target_ii": [None, 64, 1]}``.
    The parameters ``create_design`` takes (``input_shape``, ``parallelism``,
    ``target_ii``, ``max_multipliers``, ``pipeline_levels``) go to it; ``build`` gets the
    others as a dict and returns the point's model (a library model, a
    ``torch.nn.Module``). It runs here, under ``torch.manual_seed(seed)``: the same point
    builds the same model, which keys the cache. ``train(model)`` (optional) trains or
    fine-tunes it, ``evaluate(model)`` returns the metric, a finite real number, higher is
    better (``accuracy`` in the rows). Each point then is translated (named ``name``) and
    costed by the analytic timing and estimate (``explore.point`` lists the steps);
    ``synthesis=True`` gives LUT, FF, DSP and BRAM from Yosys instead, ``fmax=True`` the
    clock nextpnr-ecp5 reaches, ``check_samples=N`` whether the simulated hardware's
    outputs (``design.simulate``) equal the model's on N samples (``inputs``, as the model takes them; default: random over
    the input format).

    Each row has ``point``, ``accuracy``, ``latency_cycles``, ``initiation_interval``,
    ``lut``, ``ff``, ``dsp``, ``bram``, ``fmax_mhz`` (``None`` without ``fmax``),
    ``exact`` (``None`` without ``check_samples``), ``pareto`` (``explore.pareto``:
    on the front of accuracy against LUTs or against latency), ``error`` (``None``, or
    ``"step: Exception: message"`` for a point that failed: its figures are ``None``),
    ``resources_from`` (``"estimate"`` or ``"yosys"``), ``seconds`` (of the point's
    run) and ``cached`` (read from ``cache_dir``). A failing point does not stop the
    sweep.

    ``executor="local"`` runs ``workers`` points at once in processes of this machine
    (``workers=1``: in this process); ``executor="ray"`` one Ray task per point, on a Ray
    instance started here with ``workers`` CPUs, or on the cluster at ``address``
    (``explore.executors``). ``threads`` torch threads per point, ``cpus_per_point`` CPUs
    declared per Ray task. ``cache_dir``: results kept per point (``explore.cache``: the
    key, what it sees), so a repeated or interrupted sweep runs only what is missing.
    ``output``: a folder for ``results.csv``, ``results.json``, ``front.png`` and
    ``results.html`` (``explore.output``). ``progress``: one bar over the points, with
    the best accuracy so far and its LUTs.

    Refused before anything runs (``ValueError``, or ``ImportError`` for a missing Ray,
    ``ConnectionError`` for a Ray address that does not answer): an empty space, a
    parameter without a list of values, options out of range.
    """
    from tqdm import tqdm

    from elasticai.creator.frontend import check_design_name

    everything = points(space)
    for option, function in (("build", build), ("evaluate", evaluate), ("train", train)):
        if not callable(function) and not (option == "train" and function is None):
            raise ValueError(f"{option} must be a function, not {function!r}")
    executors.check_count("check_samples", check_samples, least=0)
    executors.check_count("threads", threads)
    check_design_name(name)
    settings = executors.Settings(executor, workers, address, cpus_per_point)
    executors.check(settings)
    job = Job(evaluate, train, synthesis, fmax, check_samples, inputs, seed, threads, name)
    if executor == "local" and workers > 1:
        _check_pickles(job)
    store = cache.Cache(None if cache_dir is None else Path(cache_dir))

    rows: list[dict[str, Any] | None] = [None] * len(everything)
    bar = tqdm(total=len(everything), desc="explore", unit="point", disable=not progress)

    def finished(index: int, row: dict[str, Any]) -> None:
        rows[index] = row
        bar.update(1)
        bar.set_postfix_str(_best([r for r in rows if r is not None]), refresh=True)

    todo: list[tuple[int, dict[str, Any], Any, str]] = []
    with bar:
        for index, point in enumerate(everything):
            try:
                model = _build(build, point, seed)
                key = cache.key(point, model, job)
            except Exception as error:
                finished(index, failed(point, "build", error))
                continue
            hit = store.get(key)
            if hit is not None:
                finished(index, hit)
            else:
                todo.append((index, point, model, key))
        calls = [(job, point, model) for _, point, model, _ in todo]
        for k, outcome in executors.run(measure, calls, settings):
            index, point, _, key = todo[k]
            row = outcome if isinstance(outcome, dict) else failed(point, "worker", outcome)
            if row["error"] is None:
                store.put(key, row)
            finished(index, row)
    done = [r for r in rows if r is not None]
    for row, flag in zip(done, pareto_flags(done), strict=True):
        row["pareto"] = flag
    if output is not None:
        write_results(done, output)
    return done


def _build(build: Callable[[dict[str, Any]], Any], point: dict[str, Any], seed: int) -> Any:
    """The model of ``point``, built under ``torch.manual_seed(seed)`` (the caller's random
    state left as it was)."""
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = build(split(point)[0])
    if not isinstance(model, torch.nn.Module):
        raise TypeError(
            f"build must return the point's model (a torch.nn.Module), not {model!r} "
            f"({type(model).__name__})"
        )
    return model


def _check_pickles(job: Job) -> None:
    """``ValueError`` where ``train`` or ``evaluate`` cannot go to a worker process."""
    try:
        pickle.dumps(job)
    except Exception as error:
        raise ValueError(
            "with workers > 1, train, evaluate and inputs go to worker processes by "
            "reference: define the functions at the top of a module (no lambdas, no local "
            f"functions, not in an interactive __main__), not so: {error}"
        ) from None


def _best(rows: Sequence[Mapping[str, Any]]) -> str:
    """The progress bar's note: the best accuracy so far and its LUTs (fewest on ties)."""
    ok = [r for r in rows if r.get("error") is None]
    failures = len(rows) - len(ok)
    note = f", {failures} failed" if failures else ""
    if not ok:
        return f"best -{note}"
    best = max(ok, key=lambda r: (r["accuracy"], -r["lut"]))
    return f"best {best['accuracy']:.4g} at {best['lut']} LUT{note}"
