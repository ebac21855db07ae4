"""The cache of compiled simulation models (``sim.cache``): where it is, its keys, and
entries that appear whole or not at all."""

from __future__ import annotations

from pathlib import Path

import pytest

from elasticai.creator.sim import cache


def test_the_folder_follows_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(cache.CACHE_ENV, raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache.cache_dir() == tmp_path / "home" / ".cache" / "elasticai.creator" / "sim"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache.cache_dir() == tmp_path / "xdg" / "elasticai.creator" / "sim"
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path / "mine"))
    assert cache.cache_dir() == tmp_path / "mine"


def test_keys_depend_on_every_part_and_its_bounds() -> None:
    assert cache.key(["module a;", "v5"]) == cache.key(["module a;", "v5"])
    assert cache.key(["module a;", "v5"]) != cache.key(["module a;", "v4"])
    assert cache.key(["ab", "c"]) != cache.key(["a", "bc"])
    assert len(cache.key([])) == 32


def test_an_entry_is_built_once(tmp_path: Path) -> None:
    builds: list[Path] = []

    def build(folder: Path) -> None:
        builds.append(folder)
        (folder / "model").write_text("compiled")

    first = cache.entry("k1", build, tmp_path)
    again = cache.entry("k1", build, tmp_path)
    assert first == again == tmp_path / "k1"
    assert (first / "model").read_text() == "compiled"
    assert len(builds) == 1
    assert builds[0] != first  # built aside, then renamed
    assert sorted(p.name for p in tmp_path.iterdir()) == ["k1"]


def test_a_failed_build_leaves_nothing(tmp_path: Path) -> None:
    def build(folder: Path) -> None:
        (folder / "half").write_text("...")
        raise RuntimeError("compiler crashed")

    with pytest.raises(RuntimeError, match="compiler crashed"):
        cache.entry("k2", build, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_build_that_loses_the_race_takes_the_winners_entry(tmp_path: Path) -> None:
    def build(folder: Path) -> None:
        (folder / "model").write_text("ours")
        winner = tmp_path / "k3"  # another process finished first
        winner.mkdir()
        (winner / "model").write_text("theirs")

    entry = cache.entry("k3", build, tmp_path)
    assert (entry / "model").read_text() == "theirs"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["k3"]
