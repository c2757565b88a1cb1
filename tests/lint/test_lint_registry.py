"""The registry is complete, well-formed, exercised by fixtures, and the README table matches it."""

from __future__ import annotations

import re
from pathlib import Path

from catalog_gen.errors import Severity
from catalog_gen.lint import docs, lint_charts
from catalog_gen.lint.policies import CHECK_BY_ID, CHECKS
from lint_cases import CASES, GOOD, SHARED_CRDS

ROOT = Path(__file__).resolve().parents[2]
LINT_SOURCES = sorted((ROOT / "catalog_gen" / "lint").glob("*.py"))


def test_every_check_has_a_fixture_that_fires_and_one_that_does_not():
    fired = {case.check for case in CASES if case.fires}
    assert [c.id for c in CHECKS if c.id not in fired] == []
    quiet_on_good = {f.code for f in lint_charts([GOOD], crd_dirs=[SHARED_CRDS]).findings}
    assert quiet_on_good == set()  # the good chart is the fixture on which no check fires
    assert {case.check for case in CASES} <= set(CHECK_BY_ID), "a case names a check that does not exist"


def test_registry_entries_are_well_formed():
    ids = [c.id for c in CHECKS]
    assert len(ids) == len(set(ids))
    for check in CHECKS:
        assert re.fullmatch(r"[a-z][a-z0-9]*(-[a-z0-9]+)*", check.id), check.id
        assert isinstance(check.severity, Severity)
        assert check.description.endswith("."), check.id
        assert check.remediation.endswith("."), check.id
        assert check.kinds, check.id
        assert check.category in {"helm", "parse", "schema", "semantic", "policy", "platform", "suppression"}
        assert not check.suppressible or check.category in {"semantic", "policy", "platform"}, check.id
    # what Helm or the API server rejects can never be waved through
    for never in ("helm-lint", "helm-render", "yaml-invalid", "kube-schema", "crd-schema", "api-removed", "quantity-invalid"):
        assert not CHECK_BY_ID[never].suppressible


def test_every_issue_the_code_emits_is_registered():
    emitted = set()
    for path in LINT_SOURCES:
        emitted |= set(re.findall(r'Issue\(\s*"([a-z-]+)"', path.read_text(encoding="utf-8")))
        emitted |= set(re.findall(r'_issues\([^)]*"([a-z-]+)"', path.read_text(encoding="utf-8")))
    assert emitted, "the scan found no Issue(...) calls"
    assert sorted(emitted - set(CHECK_BY_ID)) == []


def test_readme_checks_block_matches_the_registry():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start, end = docs.readme_block(text, ROOT / "README.md")
    assert text[start:end] == "\n" + docs.markdown_table(), (
        "README.md's checks table drifted from catalog_gen/lint/policies.py; "
        "run: catalog-gen checks --update-readme README.md"
    )


def test_markdown_table_lists_every_check_once():
    table = docs.markdown_table()
    for check in CHECKS:
        assert table.count(f"| `{check.id}` |") == 1
    assert len([line for line in table.splitlines() if line.startswith("| `")]) == len(CHECKS)


def test_update_readme_rewrites_only_the_block(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"# title\n\nbefore\n{docs.START}\nstale\n{docs.END}\nafter\n", encoding="utf-8")
    assert docs.update_readme(readme) is True
    text = readme.read_text(encoding="utf-8")
    assert text.startswith("# title\n\nbefore\n" + docs.START + "\n")
    assert text.endswith(docs.END + "\nafter\n")
    assert "stale" not in text
    assert docs.update_readme(readme) is False  # idempotent
