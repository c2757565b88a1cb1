"""Fixtures: a real registry on loopback (tests/registry/oci_registry.py) and a small catalog whose `_defaults.yaml` names it as the mirror."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "registry"))
from oci_registry import start_registry  # noqa: E402
from pin_fixtures import DEFAULTS, LEAF  # noqa: E402

@pytest.fixture
def registry(tmp_path_factory):
    handle = start_registry(tmp_path_factory.mktemp("registry"))
    yield handle
    handle.stop()


@pytest.fixture
def catalog(tmp_path, registry, monkeypatch):
    root = tmp_path / "catalog"
    (root / "dev").mkdir(parents=True)
    (root / "_defaults.yaml").write_text(DEFAULTS.format(host=registry.host))
    (root / "dev" / "chat.yaml").write_text(LEAF)
    (tmp_path / ".git").mkdir()  # the cascade stops at a repository root
    monkeypatch.chdir(tmp_path)
    return root


@pytest.fixture
def second_registry(tmp_path_factory):
    handle = start_registry(tmp_path_factory.mktemp("registry2"))
    yield handle
    handle.stop()
