"""Results on disk, one file per point: a repeated sweep costs nothing, an interrupted one
goes on where it stopped.

The key of a point (``key``) is the SHA-256 of:

- the point (its parameters and values);
- the built model before training: ``repr(model)``, the type of every module and the
  ``repr`` of its public attributes (formats, sizes, rounding, ...; those whose ``repr``
  holds a memory address left out), and every tensor of its ``state_dict`` (name,
  dtype, shape, bytes);
- ``train`` and ``evaluate``: module and qualified name, and their source text where
  Python has it (of the function a ``functools.partial`` wraps, with its arguments);
- the library's version, and the sweep's options ``seed``, ``synthesis``, ``fmax``,
  ``check_samples`` and the check inputs.

What this does not see (the training data, a helper the functions call, a constant they
read) is the user's to mark: give a new ``cache_dir`` when it changes.

An entry is ``<cache_dir>/<key>.json``, written whole or not at all (a temporary file
renamed over it), so an interrupted sweep never leaves half an entry. Only points that
succeeded are stored: a failed point runs again next time (its cause may have been the
machine's: a missing tool, memory). Nothing is ever deleted; an entry that cannot be
read is computed again and written over.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from elasticai.creator.explore.point import Job

__all__ = ["Cache", "key", "model_digest"]


def key(point: Mapping[str, Any], model: Any, job: Job) -> str:
    """The cache key of ``point`` built as ``model`` and run by ``job`` (see the module)."""
    import numpy as np

    inputs = None
    if job.check_samples and job.inputs is not None:
        data = np.ascontiguousarray(np.asarray(job.inputs)[: job.check_samples])
        inputs = hashlib.sha256(f"{data.dtype}{data.shape}".encode() + data.tobytes()).hexdigest()
    described = {
        "point": point,
        "model": model_digest(model),
        "train": _describe(job.train),
        "evaluate": _describe(job.evaluate),
        "version": _version(),
        "options": [job.seed, job.synthesis, job.fmax, job.check_samples, inputs],
    }
    text = json.dumps(described, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()


def model_digest(model: Any) -> str:
    """SHA-256 of a torch module's structure, settings and tensors."""
    import torch

    digest = hashlib.sha256(repr(model).encode())
    for name, module in model.named_modules():
        kind = f"{type(module).__module__}.{type(module).__qualname__}"
        settings = [
            f"{k}={v!r}"
            for k, v in sorted(vars(module).items())
            if not k.startswith("_") and k != "training" and " at 0x" not in repr(v)
        ]
        digest.update(f"{name}:{kind}:{settings}".encode())
    for name, tensor in model.state_dict().items():
        t = tensor.detach().cpu().contiguous().flatten()
        digest.update(f"{name}:{t.dtype}:{tuple(tensor.shape)}".encode())
        digest.update(t.view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def _describe(function: Any) -> Any:
    """A function's name and source text (a ``partial``: its function's, and its
    arguments)."""
    if function is None:
        return None
    if isinstance(function, functools.partial):
        return [_describe(function.func), repr(function.args), repr(function.keywords)]
    name = f"{getattr(function, '__module__', '')}.{getattr(function, '__qualname__', '')}"
    try:
        source = inspect.getsource(function)
    except (OSError, TypeError):
        source = ""
    return [name or type(function).__qualname__, source]


@functools.cache
def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("elasticai.creator")
    except PackageNotFoundError:
        return "unknown"


@dataclass(frozen=True)
class Cache:
    """The results under ``folder`` (``None``: no cache, nothing kept)."""

    folder: Path | None

    def get(self, key: str) -> dict | None:
        """The row stored under ``key``, marked ``cached``, or ``None``."""
        if self.folder is None:
            return None
        try:
            row = json.loads((self.folder / f"{key}.json").read_text(encoding="utf-8"))["row"]
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if not isinstance(row, dict):
            return None
        return {**row, "cached": True}

    def put(self, key: str, row: Mapping[str, Any]) -> None:
        """Store ``row`` under ``key``, atomically."""
        if self.folder is None:
            return
        from elasticai.creator.file_generation.on_disk_path import OnDiskFile

        entry = {"version": _version(), "row": dict(row)}
        OnDiskFile(self.folder / f"{key}.json").write(json.dumps(entry, indent=1) + "\n")
