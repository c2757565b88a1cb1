"""Converted CRDs kept in the lint cache: a later run reads them instead of parsing the YAML again, and
nothing a run reports changes because of it."""

from __future__ import annotations

import shutil
from pathlib import Path

from catalog_gen.lint import lint_charts
from catalog_gen.lint.cache import ConvertedCrds
from catalog_gen.lint.crds import CrdStore
from lint_cases import CASES, SHARED_CRDS, build_chart

CRDS = (SHARED_CRDS.resolve(),)


def _crd_entries(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.crd.json"))


def test_a_second_store_reads_the_conversions_and_gets_the_same_versions(tmp_path):
    first = CrdStore(CRDS, ConvertedCrds(tmp_path))
    converted = sorted(first.all_versions(), key=repr)
    assert converted and len(_crd_entries(tmp_path)) > 0 and first._converted.hits == 0
    second = CrdStore(CRDS, ConvertedCrds(tmp_path))
    assert sorted(second.all_versions(), key=repr) == converted
    assert second._converted.hits == len(_crd_entries(tmp_path))
    assert sorted(CrdStore(CRDS).all_versions(), key=repr) == converted  # without the cache: the same


def test_a_copy_of_the_crds_elsewhere_names_its_own_files(tmp_path):
    CrdStore(CRDS, ConvertedCrds(tmp_path / "cache")).all_versions()
    elsewhere = tmp_path / "other-crds"
    shutil.copytree(SHARED_CRDS, elsewhere)
    store = CrdStore((elsewhere,), ConvertedCrds(tmp_path / "cache"))
    versions = store.all_versions()
    assert store._converted.hits > 0
    assert all(Path(v.source).is_relative_to(elsewhere) for v in versions)


def test_corrupt_entries_are_converted_again(tmp_path):
    expected = sorted(CrdStore(CRDS, ConvertedCrds(tmp_path)).all_versions(), key=repr)
    for number, entry in enumerate(_crd_entries(tmp_path)):
        entry.write_text(["{not json", "[1, 2]", '[{"group": 1}]', "{}"][number % 4])
    store = CrdStore(CRDS, ConvertedCrds(tmp_path))
    assert sorted(store.all_versions(), key=repr) == expected
    assert store._converted.hits < len(_crd_entries(tmp_path))


def test_what_json_cannot_hold_exactly_is_not_stored(tmp_path):
    cache = ConvertedCrds(tmp_path)
    cache.put("doc", [{"schema": {1: "an integer key"}}])
    cache.put("doc2", [{"schema": {"default": float("nan")}}])
    assert _crd_entries(tmp_path) == []


def test_lint_findings_with_conversions_from_disk_equal_those_without_cache(tmp_path, lint_cache_dir):
    case = next(c for c in CASES if c.check == "crd-schema")
    chart = build_chart(case, tmp_path)
    uncached = lint_charts([chart], crd_dirs=[SHARED_CRDS], cache=False).findings
    assert "crd-schema" in {f.code for f in uncached}
    lint_charts([chart], crd_dirs=[SHARED_CRDS])  # stores the findings and the conversions it needed
    assert _crd_entries(lint_cache_dir)
    for entry in lint_cache_dir.rglob("*.json"):  # findings forgotten, conversions kept: the chart is linted again
        if not entry.name.endswith(".crd.json"):
            entry.unlink()
    CrdStore.load.cache_clear()  # as in a new process
    again = lint_charts([chart], crd_dirs=[SHARED_CRDS]).findings
    assert again == uncached
    assert CrdStore.load(CRDS, lint_cache_dir.resolve())._converted.hits > 0
