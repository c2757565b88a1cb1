"""Fixtures: real registries on loopback (see oci_registry.py)."""

from __future__ import annotations

import pytest
from oci_registry import start_registry


@pytest.fixture
def registry(tmp_path_factory):
    handle = start_registry(tmp_path_factory.mktemp("registry"))
    yield handle
    handle.stop()


@pytest.fixture
def second_registry(tmp_path_factory):
    handle = start_registry(tmp_path_factory.mktemp("registry2"))
    yield handle
    handle.stop()
