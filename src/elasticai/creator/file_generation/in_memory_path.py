"""``InMemoryPath``: the same file-tree API as ``OnDiskPath``, kept in memory (for tests)."""

from __future__ import annotations

from collections.abc import Iterable

from elasticai.creator.file_generation._paths import as_text, check_component


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

    def __getitem__(self, name: str) -> InMemoryPath | InMemoryFile:
        return self.children[name]
