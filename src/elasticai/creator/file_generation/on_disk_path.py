"""``OnDiskPath``: a file tree on disk that cannot be escaped from."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterable
from pathlib import Path as _FsPath

from elasticai.creator.file_generation._paths import as_text, check_component


class OnDiskFile:
    def __init__(self, path: _FsPath) -> None:
        self.path = path

    def write(self, content: str | Iterable[str]) -> None:
        """Write atomically: readers see the old file or the whole new one, never a part."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Not ``tempfile.mkstemp``: its files are private (0o600) and ``os.replace`` would
        # keep that mode; ``os.open`` with 0o666 gives what ``open`` gives (the umask's).
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
        while True:
            tmp = self.path.parent / f".{self.path.name}.{secrets.token_hex(6)}.tmp"
            try:
                fd = os.open(tmp, flags, 0o666)
                break
            except FileExistsError:
                continue
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
                f.write(as_text(content))
            os.replace(tmp, self.path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise


class OnDiskPath:
    """A folder ``parent/name``; sub-paths are single components below it.

    >>> OnDiskPath("build_dir").create_subpath("sim").as_file(".vhd").path.as_posix()
    'build_dir/sim.vhd'
    """

    def __init__(self, name: str, parent: str | os.PathLike[str] = "") -> None:
        if not isinstance(name, str) or not name:
            raise ValueError(f"OnDiskPath needs a non-empty folder name, not {name!r}")
        self.root = _FsPath(parent) / name

    def create_subpath(self, subpath_name: str) -> OnDiskPath:
        check_component(subpath_name)
        return OnDiskPath(subpath_name, self.root)

    def as_file(self, suffix: str) -> OnDiskFile:
        check_component(self.root.name + suffix)
        return OnDiskFile(self.root.parent / (self.root.name + suffix))

    def __repr__(self) -> str:
        return f"OnDiskPath({str(self.root)!r})"
