import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # gitops_helpers.py, next to the tests

import gitops_helpers as g  # noqa: E402


@pytest.fixture(scope="session")
def example_charts(tmp_path_factory) -> Path:
    """The example catalog (with its _defaults.yaml) rendered by the real pipeline into a scratch charts folder."""
    return g.render_copy(tmp_path_factory.mktemp("examples"), g.CATALOG)
