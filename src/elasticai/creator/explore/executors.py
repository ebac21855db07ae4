"""Where the points run: this machine (a process pool) or a Ray cluster.

``run(function, calls, settings)`` calls ``function(*args)`` for every ``args`` of
``calls`` and yields ``(index, result)`` as each finishes (in any order); a call that
could not run (its worker died, its arguments did not pickle) yields the exception
instead of a result.

- ``local``, ``workers == 1``: in this process, one after the other.
- ``local``, ``workers > 1``: a ``ProcessPoolExecutor`` of ``spawn``ed processes (a
  forked torch can hang). Functions go to them by
  reference: they must be defined at the top of a module, not in ``__main__`` of an
  interactive session, not lambdas.
- ``ray``: one Ray task per call, declaring ``num_cpus=cpus`` (Ray runs as many at once
  as the cluster has CPUs for). Without an ``address``: a Ray instance on this machine
  with ``workers * cpus`` CPUs and a small object store, whose workers see this
  process's ``sys.path``, shut down afterwards. With one (``host:port`` of ``ray start
  --head``, ``ray://host:port``, ``auto``): that cluster, connected to and disconnected
  from; its nodes must have the Python code (this package, the user's module) and the
  tools the points use (GHDL, Yosys, nextpnr). An address that accepts no connection
  within ``CONNECT_SECONDS`` is a ``ConnectionError`` (Ray itself would wait for
  minutes). A Ray already initialised in this process is used as it is and left running.
"""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from multiprocessing import get_context
from typing import Any

__all__ = [
    "Settings",
    "EXECUTORS",
    "check",
    "check_count",
    "run",
    "CONNECT_SECONDS",
    "OBJECT_STORE_BYTES",
]

EXECUTORS = ("local", "ray")
#: How long a Ray address may take to accept a connection.
CONNECT_SECONDS = 5.0
#: The object store of a Ray instance started here (points pass models and rows: small).
OBJECT_STORE_BYTES = 256 * 2**20

Outcome = tuple[int, Any]


@dataclass(frozen=True)
class Settings:
    """Where and how wide: ``executor`` of ``EXECUTORS``, ``workers`` at once (on a Ray
    instance of its own making: its CPUs), the Ray ``address`` and the ``cpus`` each Ray
    task declares."""

    executor: str = "local"
    workers: int = 1
    address: str | None = None
    cpus: int = 1


def check(s: Settings) -> None:
    """``ValueError`` for settings out of range, ``ImportError`` where Ray is missing,
    ``ConnectionError`` where its address does not answer: before anything runs."""
    if s.executor not in EXECUTORS:
        raise ValueError(f"executor must be 'local' or 'ray', not {s.executor!r}")
    check_count("workers", s.workers)
    check_count("cpus_per_point", s.cpus)
    if s.address is not None and s.executor != "ray":
        raise ValueError(
            f"address is a Ray cluster's: give it with executor='ray', not {s.executor!r}"
        )
    if s.executor == "ray":
        import_ray()
        if s.address is not None:
            check_reachable(s.address)


def check_count(name: str, value: Any, least: int = 1) -> None:
    """``ValueError`` unless ``value`` is an integer of at least ``least`` (1 or 0).

    >>> check_count("workers", 0)
    Traceback (most recent call last):
    ...
    ValueError: workers must be a positive integer, not 0
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        kind = "positive" if least == 1 else "non-negative"
        raise ValueError(f"{name} must be a {kind} integer, not {value!r}")


def run(
    function: Callable[..., Any], calls: Sequence[tuple], settings: Settings
) -> Iterator[Outcome]:
    """``(index, result or exception)`` of every call as it finishes (see the module);
    ``settings`` as ``check`` passes them."""
    if not calls:
        return iter(())
    if settings.executor == "ray":
        return _ray(function, calls, settings)
    if settings.workers == 1:
        return ((i, function(*args)) for i, args in enumerate(calls))
    return _processes(function, calls, settings)


def _processes(
    function: Callable[..., Any], calls: Sequence[tuple], s: Settings
) -> Iterator[Outcome]:
    pool = ProcessPoolExecutor(
        max_workers=min(s.workers, len(calls)),
        mp_context=get_context("spawn"),
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


def import_ray() -> Any:
    """The ``ray`` module, or ``ImportError`` saying how to install it."""
    try:
        import ray
    except ImportError as error:
        raise ImportError(
            "executor='ray' needs Ray, which is not installed: pip install 'elasticai.creator[ray]'"
        ) from error
    return ray


def check_reachable(address: str) -> None:
    """``ConnectionError`` unless ``host:port`` (or ``ray://host:port``) accepts a TCP
    connection within ``CONNECT_SECONDS``; ``auto`` and ``local`` are Ray's to resolve."""
    if address in ("auto", "local"):
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(
            f"address must be host:port (as 'ray start --head' prints it), ray://host:port, "
            f"'auto' or 'local', not {address!r}"
        )
    try:
        socket.create_connection((host, int(port)), timeout=CONNECT_SECONDS).close()
    except OSError as error:
        raise ConnectionError(
            f"no Ray cluster at {address}: {host}:{port} accepted no connection within "
            f"{CONNECT_SECONDS:g} s ({error}); start one with 'ray start --head' and give "
            "the address it prints"
        ) from None


def _ray(function: Callable[..., Any], calls: Sequence[tuple], s: Settings) -> Iterator[Outcome]:
    ray = import_ray()
    started = not ray.is_initialized()
    if started:
        if s.address is not None:
            ray.init(address=s.address)
        else:
            path = os.pathsep.join(p for p in sys.path if p)
            ray.init(
                num_cpus=s.workers * s.cpus,
                include_dashboard=False,
                object_store_memory=OBJECT_STORE_BYTES,
                runtime_env={"env_vars": {"PYTHONPATH": path}},
            )
    task = ray.remote(function).options(num_cpus=s.cpus, max_retries=0)
    refs = {task.remote(*args): i for i, args in enumerate(calls)}
    pending = list(refs)
    try:
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            for ref in done:
                try:
                    yield refs[ref], ray.get(ref)
                except Exception as error:  # the task failed or its worker died
                    yield refs[ref], error
    finally:
        for ref in pending:
            ray.cancel(ref, force=True)
        if started:
            ray.shutdown()
