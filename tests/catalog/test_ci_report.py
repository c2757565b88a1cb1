"""`catalog-gen ci` writes its report whatever the exit code, and checks the cache against the charts it is given."""

from __future__ import annotations

import json
import shutil

from catalog_fixtures import FIXTURES

from catalog_gen.cli import main


def test_a_failing_render_stage_still_writes_the_json_report(tmp_path, monkeypatch):
    shutil.copytree(FIXTURES / "cache_kept" / "catalog", tmp_path / "catalog")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CATALOG_GEN_JOBS", "many")  # render refuses it: a usage error (exit 2) in the render stage
    code = main(["ci", "catalog", "--charts", "charts", "--format", "json", "-o", "report.json"])
    report = json.loads((tmp_path / "report.json").read_text())
    assert code == 2
    assert [(f["code"], f["severity"]) for f in report["findings"]] == [("ci.render", "error")]
    assert "CATALOG_GEN_JOBS" in report["findings"][0]["message"]


def test_ci_compares_the_cache_with_the_charts_folder_it_is_given(tmp_path, monkeypatch):
    shutil.copytree(FIXTURES / "cache_shrinks" / "catalog", tmp_path / "catalog")
    shutil.copytree(FIXTURES / "cache_shrinks" / "charts", tmp_path / "deployed")
    monkeypatch.chdir(tmp_path)
    code = main(["ci", "catalog", "--charts", "deployed", "--format", "sarif", "-o", "report.sarif"])
    sarif = json.loads((tmp_path / "report.sarif").read_text())
    # the folder holds only values.yaml, no chart: lint fails (exit 2), and the report still has both findings
    assert code == 2
    assert [r["ruleId"] for r in sarif["runs"][0]["results"]] == ["catalog.cache-shrink", "ci.lint"]


def test_an_empty_catalog_fails_ci_with_its_report_written(tmp_path, monkeypatch):
    (tmp_path / "catalog").mkdir()
    monkeypatch.chdir(tmp_path)
    code = main(["ci", "catalog", "--format", "junit", "-o", "report.xml"])
    assert code == 2
    assert "no catalog leaves under catalog" in (tmp_path / "report.xml").read_text()
