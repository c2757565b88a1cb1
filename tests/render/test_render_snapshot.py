"""A snapshot of the whole chart tree (every file, path -> content) of every example leaf.

The example catalog is copied into a scratch folder and rendered next to it, as
`make demo` does in the repository, so the leaf paths inside the charts read
`catalog/...` whatever the scratch folder is. After a deliberate change to the chart,
update the snapshots with `pytest tests/render --snapshot-update` and review the diff.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import render_helpers as h
import yaml

from catalog_gen.render.fingerprint import MANIFEST
from catalog_gen.render.run import render_catalog

LEAVES = sorted(p for p in h.CATALOG.rglob("*.yaml") if not p.name.startswith("_"))


@pytest.fixture(scope="module")
def rendered_examples(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("snapshot")
    shutil.copytree(h.CATALOG, root / "catalog")
    render_catalog([root / "catalog"], root / "charts")
    return root / "charts"


def chart_of(leaf: Path) -> str:
    data = yaml.safe_load(leaf.read_text(encoding="utf-8"))
    return f"{data['environment']}/{data['serviceName']}"


@pytest.mark.parametrize("leaf", LEAVES, ids=[p.relative_to(h.CATALOG).as_posix() for p in LEAVES])
def test_chart_tree(rendered_examples, leaf, snapshot):
    chart = rendered_examples / chart_of(leaf)
    files = {name: data.decode("utf-8") for name, data in h.tree(chart).items()}
    # The manifest records the generator's own digest (its code), which any edit changes; its
    # behaviour is tested in test_render_fingerprint.py. Everything else is snapshotted.
    assert files.pop(MANIFEST)
    assert "Chart.yaml" in files and "values.yaml" in files
    assert files == snapshot
