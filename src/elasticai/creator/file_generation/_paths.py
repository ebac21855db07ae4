"""What the two path kinds share: which names a file tree may contain, and how a
whole tree replaces a destination folder."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Protocol

_FORBIDDEN = set('/\\\0:*?"<>|')

#: The file that says "elasticai.creator wrote this folder; saving again may replace it".
MARKER = ".elasticai-creator"


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

    def replace_tree(self, files: Mapping[str, str], owner: str) -> None: ...


def marker_text(owner: str) -> str:
    """The content of the ``MARKER`` file of a tree saved for design ``owner``."""
    return (
        f"{owner}\n"
        "This folder was written by elasticai.creator; saving a design to it again\n"
        "replaces the whole folder.\n"
    )


def refusal(where: object, reason: str) -> FileExistsError:
    """The error for a destination that ``replace_tree`` must not replace."""
    return FileExistsError(
        f"{where} {reason}; refusing to replace it (choose an empty or new folder)"
    )


FOREIGN = "is not empty and was not written by elasticai.creator"


def fill(root: Path, files: Mapping[str, str], owner: str) -> None:
    """Write ``files`` (``{"a/b.vhd": text}``) and the ``MARKER`` below ``root``."""
    if MARKER in files:
        raise ValueError(f"{MARKER!r} is written by replace_tree itself, not given as a file")
    for relative, text in [*files.items(), (MARKER, marker_text(owner))]:
        path = root
        for part in relative.split("/"):
            path = path.create_subpath(part)
        path.as_file("").write(text)
