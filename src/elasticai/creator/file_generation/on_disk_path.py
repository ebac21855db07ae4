"""``OnDiskPath``: a file tree on disk that cannot be escaped from."""

from __future__ import annotations

import os
import secrets
import shutil
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path as _FsPath

from elasticai.creator.file_generation._paths import (
    FOREIGN,
    MARKER,
    as_text,
    check_component,
    fill,
    listed_files,
    refusal,
    unlisted,
    unlisted_refusal,
)


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

    def replace_tree(self, files: Mapping[str, str], owner: str) -> None:
        """Make this folder hold exactly ``files`` (and the ``MARKER``), all at once.

        The tree is built in a fresh hidden folder next to this one, then swapped in
        by renames: a failure leaves the previous folder (or none) as it was. Only an
        absent or empty folder, or one that holds nothing but what its ``MARKER`` file
        lists (the previous save), is replaced; anything else raises ``FileExistsError``
        and is left untouched.
        """
        root = self.root
        _check_replaceable(root)
        root.parent.mkdir(parents=True, exist_ok=True)
        staging = _fresh_folder(root.parent, f".{root.name}.", ".new")
        try:
            fill(OnDiskPath(staging.name, root.parent), files, owner)
            if root.is_dir():
                shutil.copymode(root, staging)
            _swap_in(staging, root)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise

    def __repr__(self) -> str:
        return f"OnDiskPath({str(self.root)!r})"


def _check_replaceable(root: _FsPath) -> None:
    if root.is_symlink():
        raise refusal(root, "is a symbolic link")
    if not root.exists():
        return
    if not root.is_dir():
        raise refusal(root, "is a file, not a folder")
    marker = root / MARKER
    if not any(root.iterdir()):
        return
    if marker.is_symlink() or not marker.is_file():
        raise refusal(root, FOREIGN)
    listed = listed_files(marker.read_text(encoding="utf-8", errors="replace"))
    found = unlisted(lambda prefix: _entries(root / prefix), listed)
    if found:
        raise unlisted_refusal(root, found, listed)


def _entries(folder: _FsPath) -> list[tuple[str, bool]]:
    """``(name, is a folder)`` of what ``folder`` holds; a symbolic link is no folder."""
    with os.scandir(folder) as entries:
        return [(e.name, e.is_dir(follow_symlinks=False)) for e in entries]


def _fresh_folder(parent: _FsPath, prefix: str, suffix: str) -> _FsPath:
    """A new empty folder in ``parent`` with the permissions ``mkdir`` gives."""
    while True:
        path = parent / f"{prefix}{secrets.token_hex(6)}{suffix}"
        try:
            path.mkdir()
            return path
        except FileExistsError:
            continue


def _swap_in(staging: _FsPath, root: _FsPath) -> None:
    """Rename ``staging`` to ``root``; a previous ``root`` is moved aside, then removed."""
    _check_replaceable(root)  # again: the folder may have changed while we wrote
    if not os.path.lexists(root):
        os.rename(staging, root)
        return
    aside = root.parent / f".{root.name}.{secrets.token_hex(6)}.old"
    os.rename(root, aside)
    try:
        os.rename(staging, root)
    except BaseException:
        os.rename(aside, root)
        raise
    try:
        shutil.rmtree(aside)
    except OSError as error:
        warnings.warn(
            f"saved {root}, but could not remove its previous content at {aside}: {error}",
            stacklevel=3,
        )
