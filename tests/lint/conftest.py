"""Each lint test gets an empty lint cache of its own (never the user's, never another test's)."""

from __future__ import annotations

import pytest

ENV_DIR = "CATALOG_GEN_CACHE_DIR"  # catalog_gen.lint.cache.ENV_DIR (not imported: conftest must not load the package early)


@pytest.fixture(autouse=True)
def lint_cache_dir(tmp_path, monkeypatch):
    folder = tmp_path / "lint-cache"
    monkeypatch.setenv(ENV_DIR, str(folder))
    return folder
