"""What the two path kinds share: which names a file tree may contain."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

_FORBIDDEN = set('/\\\0:*?"<>|')


def check_component(name: object) -> str:
    """``name`` if it is one plain path component, else ``ValueError``.

    A component may not be empty, ``.`` or ``..``, and may not contain path
    separators or characters that are not portable across file systems, so a
    tree written under a destination never escapes it.
    """
    if not isinstance(name, str):
        raise TypeError(f"a path component must be a str, not {name!r}")
    if name in ("", ".", "..") or any(c in _FORBIDDEN or ord(c) < 32 for c in name):
        raise ValueError(
            f"a path component must be a plain name without separators, '..' or control "
            f"characters (it must not escape its root), not {name!r}"
        )
    return name


def as_text(content: str | Iterable[str]) -> str:
    """A file's text from a string or from lines."""
    if isinstance(content, str):
        return content
    return "".join(line if line.endswith("\n") else line + "\n" for line in content)


class File(Protocol):
    def write(self, content: str | Iterable[str]) -> None: ...


class Path(Protocol):
    def create_subpath(self, subpath_name: str) -> Path: ...

    def as_file(self, suffix: str) -> File: ...
