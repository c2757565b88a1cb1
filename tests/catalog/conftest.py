"""Helpers for the catalog tests: validate fixtures from their own folder, so paths read as users see them."""

from __future__ import annotations

from pathlib import Path

import pytest

from catalog_gen.catalog.validate import ValidationResult, validate_paths


@pytest.fixture
def validate_in(monkeypatch):
    """validate_in(folder, *names): validate_paths run with `folder` as the working directory.

    The working directory bounds the `_defaults.yaml` walk, so a fixture sees
    only the defaults files inside its own folder.
    """

    def run(folder: Path, *names: str) -> ValidationResult:
        monkeypatch.chdir(folder)
        return validate_paths([Path(name) for name in names or ["."]])

    return run
