"""``InMemoryPath``: the same file-tree API as ``OnDiskPath``, kept in memory (for tests)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

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


class InMemoryFile:
    def __init__(self, name: str) -> None:
        self.name = name
        self.text: list[str] = []

    def write(self, content: str | Iterable[str]) -> None:
        self.text = as_text(content).splitlines()


class InMemoryPath:
    """A folder in memory: ``children`` maps names to sub-folders and files.

    >>> root = InMemoryPath("build", parent=None)
    >>> root.create_subpath("a").as_file(".vhd").write("entity a;")
    >>> root["a.vhd"].text
    ['entity a;']
    """

    def __init__(self, name: str, parent: InMemoryPath | None = None) -> None:
        self.name = name
        self.parent = parent
        self.children: dict[str, InMemoryPath | InMemoryFile] = {}

    def create_subpath(self, subpath_name: str) -> InMemoryPath:
        check_component(subpath_name)
        child = self.children.get(subpath_name)
        return child if isinstance(child, InMemoryPath) else InMemoryPath(subpath_name, self)

    def as_file(self, suffix: str) -> InMemoryFile:
        if self.parent is None:
            raise ValueError("the root of an InMemoryPath cannot be a file")
        name = check_component(self.name + suffix)
        file = InMemoryFile(name)
        self.parent._attach()
        if isinstance(self.parent.children.get(name), InMemoryPath):
            raise IsADirectoryError(f"{name!r} is a folder, it cannot be written as a file")
        self.parent.children[name] = file
        return file

    def _attach(self) -> None:
        """Enter this folder (and its ancestors) into the tree once it holds something."""
        if self.parent is None:
            return
        self.parent._attach()
        existing = self.parent.children.setdefault(self.name, self)
        if isinstance(existing, InMemoryFile):
            raise FileExistsError(f"{self.name!r} is a file, it cannot hold other files")
        if existing is not self:
            self.children = existing.children

    def replace_tree(self, files: Mapping[str, str], owner: str) -> None:
        """Make this folder hold exactly ``files`` (and the ``MARKER``), all at once.

        The same rules as ``OnDiskPath.replace_tree``: the tree is built aside and
        replaces the children in one step; a non-empty folder without a ``MARKER``, one
        that holds anything its ``MARKER`` does not list, or a file in this folder's
        place, raises ``FileExistsError``.
        """
        where = "/".join(self._names())
        current = self._in_tree()
        if isinstance(current, InMemoryFile):
            raise refusal(where, "is a file, not a folder")
        children = current.children if current is not None else {}
        marker = children.get(MARKER)
        if children and not isinstance(marker, InMemoryFile):
            raise refusal(where, FOREIGN)
        if isinstance(current, InMemoryPath) and isinstance(marker, InMemoryFile):
            listed = listed_files("\n".join(marker.text))
            found = unlisted(current._entries, listed)
            if found:
                raise unlisted_refusal(where, found, listed)
        staged = InMemoryPath(self.name, None)
        fill(staged, files, owner)
        self._attach()
        for child in staged.children.values():
            if isinstance(child, InMemoryPath):
                child.parent = self
        self.children.clear()
        self.children.update(staged.children)

    def _entries(self, prefix: str) -> list[tuple[str, bool]]:
        """``(name, is a folder)`` of what the folder ``prefix`` below this one holds."""
        folder: InMemoryPath | InMemoryFile = self
        for part in prefix.split("/")[:-1]:
            assert isinstance(folder, InMemoryPath)
            folder = folder.children[part]
        assert isinstance(folder, InMemoryPath)
        return [(name, isinstance(c, InMemoryPath)) for name, c in folder.children.items()]

    def _names(self) -> list[str]:
        return [self.name] if self.parent is None else [*self.parent._names(), self.name]

    def _in_tree(self) -> InMemoryPath | InMemoryFile | None:
        """What the tree holds at this folder's place (``None``: nothing yet)."""
        if self.parent is None:
            return self
        parent = self.parent._in_tree()
        if not isinstance(parent, InMemoryPath):
            return None
        return parent.children.get(self.name)

    def __getitem__(self, name: str) -> InMemoryPath | InMemoryFile:
        return self.children[name]
