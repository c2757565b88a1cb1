"""Fixtures of the smoke tests: a running Ollama double per test."""

from __future__ import annotations

import pytest
from smoke_helpers import make_double

from catalog_gen.testing.ollama_double import serve_double


@pytest.fixture
def double():
    return make_double()


@pytest.fixture
def url(double):
    with serve_double(double) as base:
        yield base
