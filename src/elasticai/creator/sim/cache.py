"""A folder of compiled simulation models, one entry per key, written atomically.

The folder is ``ELASTICAI_SIM_CACHE`` if set, else ``$XDG_CACHE_HOME/elasticai.creator/sim``
(``~/.cache/elasticai.creator/sim`` without ``XDG_CACHE_HOME``). An entry is built in a
temporary folder beside the others and renamed into place when it is complete, so a
reader never sees half an entry, and two processes building the same entry at once both
get a complete one (the second rename loses, and its folder is removed). Deleting the
folder, or any entry in it, is always safe.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

__all__ = ["CACHE_ENV", "cache_dir", "key", "entry"]

#: The environment variable that names the cache folder.
CACHE_ENV = "ELASTICAI_SIM_CACHE"


def cache_dir() -> Path:
    """The cache folder (not created here)."""
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "elasticai.creator" / "sim"


def key(parts: Iterable[str]) -> str:
    """A hex digest of ``parts`` (their order and boundaries count)."""
    digest = hashlib.sha256()
    for part in parts:
        data = part.encode()
        digest.update(len(data).to_bytes(8, "little"))
        digest.update(data)
    return digest.hexdigest()[:32]


def entry(name: str, build: Callable[[Path], None], root: Path | None = None) -> Path:
    """The folder of entry ``name`` in the cache (``root``, default :func:`cache_dir`);
    when it is missing, ``build(folder)`` fills a new temporary folder first, which then
    becomes the entry. An exception in ``build`` leaves no entry behind."""
    root = cache_dir() if root is None else root
    final = root / name
    if final.is_dir():
        return final
    root.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=root))
    try:
        build(building)
        try:
            building.rename(final)
        except OSError:
            if not final.is_dir():  # not a lost race: a real failure
                raise
    finally:
        if building.exists():
            shutil.rmtree(building, ignore_errors=True)
    return final
