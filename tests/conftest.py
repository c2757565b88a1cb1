"""Suite-wide: no test writes into the user's real lint cache (``~/.cache/catalog-gen/lint``).

``CATALOG_GEN_CACHE_DIR`` points at a temporary folder for the whole session,
set in ``os.environ`` so the subprocesses tests start (``catalog-gen lint``,
``ci``) inherit it. Session-scoped on purpose: Hypothesis refuses
function-scoped fixtures on ``@given`` tests. ``tests/lint/conftest.py`` gives
each lint test a fresh folder of its own.
"""

from __future__ import annotations

import os

import pytest

ENV_DIR = "CATALOG_GEN_CACHE_DIR"  # catalog_gen.lint.cache.ENV_DIR (not imported: conftest must not load the package early)


@pytest.fixture(scope="session", autouse=True)
def _lint_cache_in_a_temporary_folder(tmp_path_factory):
    before = os.environ.get(ENV_DIR)
    os.environ[ENV_DIR] = str(tmp_path_factory.mktemp("lint-cache"))
    yield
    if before is None:
        os.environ.pop(ENV_DIR, None)
    else:
        os.environ[ENV_DIR] = before
