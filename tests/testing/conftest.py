"""Fixtures for checking the Ollama double against ../shared/ollama-api.md."""

from __future__ import annotations

import httpx
import pytest
from double_helpers import make_double

from catalog_gen.testing.ollama_double import OllamaDouble, serve_double


@pytest.fixture
def double() -> OllamaDouble:
    return make_double()


@pytest.fixture
def url(double):
    with serve_double(double) as base:
        yield base


@pytest.fixture
def client(url):
    with httpx.Client(base_url=url, timeout=10) as c:
        yield c


