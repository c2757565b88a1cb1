"""Fixtures for the router's tests: real Ollama doubles on loopback ports, a real router in front."""

from __future__ import annotations

import pytest
from router_helpers import make_double

from catalog_gen.testing.ollama_double import serve_double


@pytest.fixture
def double():
    return make_double()


@pytest.fixture
def double_url(double):
    with serve_double(double) as url:
        yield url


@pytest.fixture
def two_doubles():
    first, second = make_double(), make_double()
    with serve_double(first) as url1, serve_double(second) as url2:
        yield (first, url1), (second, url2)
