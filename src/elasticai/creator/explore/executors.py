"""Where the points run: this machine (a process pool).

``run(function, calls, settings)`` calls ``function(*args)`` for every ``args`` of
``calls`` and yields ``(index, result)`` as each finishes (in any order); a call that
could not run (its worker died, its arguments did not pickle) yields the exception
instead of a result.

- ``local``, ``workers == 1``: in this process, one after the other.
- ``local``, ``workers > 1``: a ``ProcessPoolExecutor`` of ``spawn``ed processes (a
  forked torch can hang), each with ``threads`` torch threads. Functions go to them by
  reference: they must be defined at the top of a module, not in ``__main__`` of an
  interactive session, not lambdas.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from multiprocessing import get_context
from typing import Any

__all__ = ["Settings", "EXECUTORS", "check", "run"]

EXECUTORS = ("local",)

Outcome = tuple[int, Any]


@dataclass(frozen=True)
class Settings:
    """Where and how wide: ``executor`` of ``EXECUTORS``, ``workers`` at once,
    ``threads`` torch threads each."""

    executor: str = "local"
    workers: int = 1
    threads: int = 1


def check(s: Settings) -> None:
    """``ValueError`` for settings out of range: before anything runs."""
    if s.executor not in EXECUTORS:
        raise ValueError(f"executor must be 'local', not {s.executor!r}")
    for name in ("workers", "threads"):
        value = getattr(s, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, not {value!r}")


def run(
    function: Callable[..., Any], calls: Sequence[tuple], settings: Settings
) -> Iterator[Outcome]:
    """``(index, result or exception)`` of every call as it finishes (see the module);
    ``settings`` as ``check`` passes them."""
    if not calls:
        return iter(())
    if settings.workers == 1:
        return ((i, function(*args)) for i, args in enumerate(calls))
    return _processes(function, calls, settings)


def _set_threads(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)


def _processes(
    function: Callable[..., Any], calls: Sequence[tuple], s: Settings
) -> Iterator[Outcome]:
    pool = ProcessPoolExecutor(
        max_workers=min(s.workers, len(calls)),
        mp_context=get_context("spawn"),
        initializer=_set_threads,
        initargs=(s.threads,),
    )
    try:
        pending: dict[Future, int] = {
            pool.submit(function, *args): i for i, args in enumerate(calls)
        }
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                index = pending.pop(future)
                error = future.exception()
                yield index, error if error is not None else future.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
