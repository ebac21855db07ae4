"""What the two path kinds share: which names a file tree may contain, and how a
whole tree replaces a destination folder.

A saved tree holds a ``MARKER`` file that lists the files of that save. Saving again
replaces the folder only if it holds nothing else (the marker, the listed files and
the folders they are in): elasticai.creator never deletes what it did not write.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
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


#: The line of the ``MARKER`` after which it lists the files its save wrote, one a line.
FILES_HEADER = "files:"


def marker_text(owner: str, files: Iterable[str]) -> str:
    """The content of the ``MARKER`` file of a tree saved for design ``owner``: the
    owner, a note, and the files that save wrote (the ones the next save may replace)."""
    listed = "".join(f"{name}\n" for name in sorted(files))
    return (
        f"{owner}\n"
        "This folder was written by elasticai.creator. Saving a design to it again replaces\n"
        "the files listed below, and refuses to if the folder holds any other file.\n"
        f"{FILES_HEADER}\n{listed}"
    )


def listed_files(marker: str) -> frozenset[str]:
    """The files a ``MARKER``'s text lists (none in a marker of an older version, which
    listed nothing)."""
    lines = marker.splitlines()
    if FILES_HEADER not in lines:
        return frozenset()
    return frozenset(line for line in lines[lines.index(FILES_HEADER) + 1 :] if line)


def unlisted(
    entries: Callable[[str], Iterable[tuple[str, bool]]], listed: frozenset[str]
) -> list[str]:
    """What a folder holds that the save which wrote ``listed`` did not write, sorted:
    files not listed and folders that hold no listed file (shown as ``name/``, their
    content not walked). ``entries(prefix)`` gives the ``(name, is a folder)`` pairs of
    the folder ``prefix`` (``""``: the root, else ``"a/b/"``); symbolic links are not
    folders."""
    folders = {name[: i + 1] for name in listed for i, c in enumerate(name) if c == "/"}
    found, pending = [], [""]
    while pending:
        prefix = pending.pop()
        for name, is_folder in entries(prefix):
            path = prefix + name
            if is_folder and path + "/" in folders:
                pending.append(path + "/")
            elif is_folder or (path not in listed and path != MARKER):
                found.append(path + "/" if is_folder else path)
    return sorted(found)


def refusal(
    where: object, reason: str, advice: str = "choose an empty or new folder"
) -> FileExistsError:
    """The error for a destination that ``replace_tree`` must not replace."""
    return FileExistsError(f"{where} {reason}; refusing to replace it ({advice})")


FOREIGN = "is not empty and was not written by elasticai.creator"

#: How many of the files that block a save its error names.
SHOWN = 5


def unlisted_refusal(where: object, found: list[str], listed: frozenset[str]) -> FileExistsError:
    """The error for a folder written by elasticai.creator that holds ``found`` as well
    (``listed``: what its marker lists; nothing in a marker of an older version)."""
    shown = ", ".join(found[:SHOWN])
    if len(found) > SHOWN:
        shown += f" and {len(found) - SHOWN} more"
    files = "file" if len(found) == 1 else "files"
    why = (
        "its last save did not write"
        if listed
        else f"its {MARKER} file does not list (an older version listed none)"
    )
    return refusal(
        where,
        f"holds {len(found)} {files} ({shown}) that {why}",
        "move them away, or choose an empty or new folder",
    )


def fill(root: Path, files: Mapping[str, str], owner: str) -> None:
    """Write ``files`` (``{"a/b.vhd": text}``) and the ``MARKER`` listing them below ``root``."""
    if MARKER in files:
        raise ValueError(f"{MARKER!r} is written by replace_tree itself, not given as a file")
    for relative, text in [*files.items(), (MARKER, marker_text(owner, files))]:
        path = root
        for part in relative.split("/"):
            path = path.create_subpath(part)
        path.as_file("").write(text)
