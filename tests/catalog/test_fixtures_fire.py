"""Every check has a fixture named after its behaviour that fires exactly once, at the right place."""

from __future__ import annotations

from pathlib import Path

import pytest
from catalog_fixtures import FIXTURES
from expectations import CLEAN, CLEAN_FOLDERS, COMMITTED, EXPECTED, FOLDERS


@pytest.mark.parametrize("expect", EXPECTED, ids=lambda e: e.fixture)
def test_fixture_fires_once_at_its_place(validate_in, expect):
    result = validate_in(FIXTURES, expect.fixture)
    assert [(f.file, f.code, f.line, f.column, f.pointer, f.severity.value) for f in result.findings] == [
        (expect.fixture, expect.code, expect.line, expect.column, expect.pointer, expect.severity)
    ]
    finding = result.findings[0]
    assert expect.hint in finding.hint
    assert expect.message in finding.message
    assert finding.message and finding.hint, "every finding says what is wrong and how to fix it"
    # a leaf with an error is not handed on to rendering; one with only a warning is
    assert len(result.leaves) == (1 if expect.severity == "warning" else 0)


@pytest.mark.parametrize("fixture", CLEAN)
def test_clean_fixture(validate_in, fixture):
    result = validate_in(FIXTURES, fixture)
    assert result.findings == []
    assert len(result.leaves) == 1


@pytest.mark.parametrize("folder, file, code, line, column, pointer", FOLDERS, ids=[f[0] for f in FOLDERS])
def test_fixture_folder_fires_once(validate_in, folder, file, code, line, column, pointer):
    result = validate_in(FIXTURES / folder)
    assert [(f.file, f.code, f.line, f.column, f.pointer) for f in result.findings] == [(file, code, line, column, pointer)]
    assert result.findings[0].hint


@pytest.mark.parametrize("folder", CLEAN_FOLDERS)
def test_clean_fixture_folder(validate_in, folder):
    result = validate_in(FIXTURES / folder)
    assert result.findings == []
    assert result.leaves


def test_every_fixture_is_checked():
    """No fixture lies around untested: each file or folder in fixtures/ appears in expectations.py."""
    listed = {e.fixture for e in EXPECTED} | set(CLEAN) | {f[0] for f in FOLDERS} | set(CLEAN_FOLDERS) | {c[0] for c in COMMITTED}
    present = {p.name for p in FIXTURES.iterdir()}
    assert present == listed


def test_one_fixture_per_check():
    names = [e.fixture for e in EXPECTED]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("folder, codes, message", COMMITTED, ids=[c[0] for c in COMMITTED])
def test_rules_against_the_committed_charts(validate_in, folder, codes, message):
    result = validate_in(FIXTURES / folder, "catalog")
    assert [f.code for f in result.findings] == codes
    for finding in result.findings:
        assert (finding.file, finding.line, finding.column) == ("catalog/dev/coder.yaml", 7, 8)
        assert message in finding.message and "set `cache.size: " in finding.hint


def test_without_a_charts_folder_nothing_is_compared(validate_in, monkeypatch):
    from catalog_gen.catalog.validate import validate_paths

    monkeypatch.chdir(FIXTURES / "cache_shrinks")
    assert validate_paths([Path("catalog")], charts=None).findings == []
    assert validate_paths([Path("catalog")], charts=Path("elsewhere")).findings == []
