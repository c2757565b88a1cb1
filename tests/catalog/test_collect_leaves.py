"""Which files are leaves: `.yaml`/`.yml`, not `_`-prefixed, not in hidden folders, each once however it is named."""

from __future__ import annotations

from pathlib import Path

import pytest

from catalog_gen.catalog.validate import collect_leaf_files
from catalog_gen.errors import UsageError


def touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("a: 1\n")
    return path


def test_what_counts_as_a_leaf(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ["cat/a.yaml", "cat/b.yml", "cat/_defaults.yaml", "cat/_draft.yaml", "cat/notes.md", "cat/.hidden.yaml",
                 "cat/.git/x.yaml", "cat/sub/.venv/lib/y.yaml", "cat/sub/c.yaml"]:
        touch(tmp_path / name)
    assert collect_leaf_files([Path("cat")]) == [Path("cat/a.yaml"), Path("cat/b.yml"), Path("cat/sub/c.yaml")]


def test_a_leaf_named_several_ways_is_checked_once(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    touch(tmp_path / "cat" / "a.yaml")
    assert collect_leaf_files([Path("cat"), Path("cat/a.yaml"), Path("./cat/a.yaml"), tmp_path / "cat" / "a.yaml"]) == [Path("cat/a.yaml")]


def test_an_explicit_file_is_checked_whatever_its_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    touch(tmp_path / "leaf.txt")
    assert collect_leaf_files([Path("leaf.txt")]) == [Path("leaf.txt")]


def test_an_explicit_defaults_file_stands_for_the_leaves_beneath_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ["cat/_defaults.yaml", "cat/team/_defaults.yaml", "cat/team/a.yaml", "cat/b.yaml"]:
        touch(tmp_path / name)
    assert collect_leaf_files([Path("cat/team/_defaults.yaml")]) == [Path("cat/team/a.yaml")]


def test_a_missing_path_is_a_usage_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError, match="nope: no such file or folder"):
        collect_leaf_files([Path("nope")])


def test_an_empty_catalog_is_a_usage_error_not_a_green_run(tmp_path, monkeypatch):
    """CI pointed at a wrong or empty folder must go red, with a message saying what was (not) found."""
    from catalog_gen.catalog.validate import validate_paths

    (tmp_path / "catalog" / "dev").mkdir(parents=True)
    (tmp_path / "catalog" / "_defaults.yaml").write_text("ollama:\n  version: 0.33.0\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError, match="no catalog leaves under catalog"):
        validate_paths([Path("catalog")])
