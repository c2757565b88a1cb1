import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # render_helpers.py, next to the tests

import render_helpers as h  # noqa: E402


@pytest.fixture(scope="session")
def zoo_charts(tmp_path_factory) -> Path:
    """Every ZOO leaf rendered by `render_catalog` into one charts folder (once per session)."""
    return h.render_leaves(tmp_path_factory.mktemp("zoo"), list(h.ZOO.values()))


@pytest.fixture(scope="session")
def zoo(zoo_charts) -> dict[str, "h.Rendered"]:
    """Every ZOO chart rendered by Helm with its own values, as the release and namespace of its leaf."""
    return {
        name: h.rendered_chart(zoo_charts / data["environment"] / data["serviceName"],
                               name=data["serviceName"], namespace=data["namespace"])
        for name, data in h.ZOO.items()
    }
