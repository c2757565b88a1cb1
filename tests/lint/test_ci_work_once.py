"""`catalog-gen ci` does each piece of work once: the catalog is read and validated once, for both
validate and `render --check` (which used to validate it again, committed-chart check included)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from catalog_gen.catalog import validate
from catalog_gen.cli import main
from catalog_gen.render import run

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def repo(tmp_path, monkeypatch):
    shutil.copytree(ROOT / "catalog", tmp_path / "catalog")
    monkeypatch.chdir(tmp_path)
    assert main(["render", "catalog", "--out", "charts", "--quiet"]) == 0
    return tmp_path


@pytest.fixture
def validations(monkeypatch):
    calls = []
    real = validate.validate_paths

    def counting(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(validate, "validate_paths", counting)
    monkeypatch.setattr(run, "validate_paths", counting)
    return calls


def test_ci_validates_the_catalog_once(repo, validations):
    assert main(["ci", "catalog", "--charts", "charts", "--quiet", "--format", "json", "-o", "ci.json"]) in (0, 1)
    assert len(validations) == 1
    report = json.loads((repo / "ci.json").read_text())
    assert not [f for f in report["findings"] if f["code"].startswith(("render.", "ci."))]


def test_ci_still_finds_drift_with_one_validation(repo, validations):
    leaf = repo / "catalog" / "dev" / "ollama-phi.yaml"
    leaf.write_text(leaf.read_text().replace("host: text.hypermedia.au", "host: other.hypermedia.au"))
    main(["ci", "catalog", "--charts", "charts", "--quiet", "--format", "json", "-o", "ci.json"])
    codes = [f["code"] for f in json.loads((repo / "ci.json").read_text())["findings"]]
    assert len(validations) == 1
    assert "render.drift" in codes


def test_render_catalog_refuses_a_validation_with_errors(repo):
    from catalog_gen.errors import CatalogInvalid, Finding, Severity

    result = validate.validate_paths([Path("catalog")])
    broken = validate.ValidationResult(result.findings + [Finding("x.yaml", 1, 1, "", "leaf.x", Severity.ERROR, "bad", "")],
                                       result.files_checked, result.leaves)
    with pytest.raises(CatalogInvalid):
        run.render_catalog([Path("catalog")], Path("charts"), check=True, validated=broken)


def test_leaves_without_a_claim_do_not_read_their_committed_chart(repo, monkeypatch):
    from catalog_gen.catalog import committed

    read = []
    real = committed.committed_cache
    monkeypatch.setattr(committed, "committed_cache", lambda path: read.append(path) or real(path))
    result = validate.validate_paths([Path("catalog")], charts=Path("charts"))
    claims = [leaf for leaf in result.leaves if (leaf.data.get("cache") or {}).get("mode") in committed.CLAIM_MODES]
    assert 0 < len(claims) < len(result.leaves)  # the example catalog has both kinds
    assert sorted(read) == sorted(Path("charts") / committed.chart_path(leaf.data) / "values.yaml" for leaf in claims)
