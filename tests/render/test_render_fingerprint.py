"""Charts whose inputs did not change are not re-rendered, and a hand edit is still caught."""

from __future__ import annotations

import json

import render_helpers as h

from catalog_gen.render import fingerprint, run
from catalog_gen.render.run import render_catalog

LEAVES = [h.leaf(serviceName="alpha"), h.leaf(serviceName="beta", model="qwen2.5:0.5b")]


def catalog_of(root, leaves=LEAVES):
    catalog = root / "catalog"
    for data in leaves:
        h.write_leaf(catalog, data)
    return catalog


def counting_planner(monkeypatch) -> list[str]:
    planned: list[str] = []
    real = run.build_plan

    def build_plan(leaf, source):
        planned.append(leaf.service_name)
        return real(leaf, source)

    monkeypatch.setattr(run, "build_plan", build_plan)
    return planned


def test_every_chart_carries_a_manifest_of_its_files(tmp_path):
    render_catalog([catalog_of(tmp_path)], tmp_path / "charts", jobs=1)
    chart = tmp_path / "charts" / "dev" / "alpha"
    doc = json.loads((chart / fingerprint.MANIFEST).read_text())
    files = {p.relative_to(chart).as_posix() for p in chart.rglob("*") if p.is_file()} - {fingerprint.MANIFEST}
    assert set(doc["files"]) == files and len(doc["fingerprint"]) == 64


def test_unchanged_charts_are_not_rendered_again(tmp_path, monkeypatch):
    catalog = catalog_of(tmp_path)
    render_catalog([catalog], tmp_path / "charts", jobs=1)
    planned = counting_planner(monkeypatch)
    assert render_catalog([catalog], tmp_path / "charts", check=True, jobs=1).drift == []
    assert render_catalog([catalog], tmp_path / "charts", jobs=1).written == []
    assert planned == []


def test_a_changed_leaf_renders_only_its_chart(tmp_path, monkeypatch):
    catalog = catalog_of(tmp_path)
    render_catalog([catalog], tmp_path / "charts", jobs=1)
    h.write_leaf(catalog, h.leaf(serviceName="beta", model="qwen2.5:1.5b"))
    planned = counting_planner(monkeypatch)
    result = render_catalog([catalog], tmp_path / "charts", jobs=1)
    assert planned == ["beta"] and result.written == ["dev/beta"]


def test_a_hand_edited_file_is_still_drift(tmp_path):
    catalog = catalog_of(tmp_path)
    render_catalog([catalog], tmp_path / "charts", jobs=1)
    values = tmp_path / "charts" / "dev" / "alpha" / "values.yaml"
    values.write_text(values.read_text() + "# edited by hand\n")
    drift = render_catalog([catalog], tmp_path / "charts", check=True, jobs=1).drift
    assert [(d.chart, d.status, d.files) for d in drift] == [("dev/alpha", "changed", ["values.yaml"])]


def test_an_added_file_is_still_drift(tmp_path):
    catalog = catalog_of(tmp_path)
    render_catalog([catalog], tmp_path / "charts", jobs=1)
    (tmp_path / "charts" / "dev" / "alpha" / "templates" / "extra.yaml").write_text("kind: ConfigMap\n")
    drift = render_catalog([catalog], tmp_path / "charts", check=True, jobs=1).drift
    assert [(d.chart, d.files) for d in drift] == [("dev/alpha", ["templates/extra.yaml"])]


def test_a_new_generator_renders_everything_again(tmp_path, monkeypatch):
    catalog = catalog_of(tmp_path)
    render_catalog([catalog], tmp_path / "charts", jobs=1)
    monkeypatch.setattr(fingerprint, "generator_digest", lambda: "another generator")
    planned = counting_planner(monkeypatch)
    result = render_catalog([catalog], tmp_path / "charts", jobs=1)
    assert sorted(planned) == ["alpha", "beta"]
    assert result.written == ["dev/alpha", "dev/beta"]  # only the manifests differ, and they are rewritten


def test_a_new_generator_with_the_same_output_is_not_drift(tmp_path, monkeypatch):
    catalog = catalog_of(tmp_path)
    render_catalog([catalog], tmp_path / "charts", jobs=1)
    monkeypatch.setattr(fingerprint, "generator_digest", lambda: "a refactored generator")
    assert render_catalog([catalog], tmp_path / "charts", check=True, jobs=1).drift == []


def test_the_generator_digest_covers_rendering_code_and_templates(tmp_path, monkeypatch):
    fingerprint.generator_digest.cache_clear()
    first = fingerprint.generator_digest()
    assert len(first) == 64 and first == fingerprint.generator_digest()
    package = tmp_path / "catalog_gen"
    for name in ("catalog", "plan", "render", "router", "templates"):
        (package / name).mkdir(parents=True)
    for path in ("__init__.py", "catalog/model.py", "plan/plan.py", "render/chart.py", "router/app.py", "templates/a.yaml"):
        (package / path).write_text("one")
    monkeypatch.setattr(fingerprint, "_PACKAGE", package)
    digests = []
    for path in ("router/app.py", "plan/plan.py", "templates/a.yaml", "__init__.py"):
        fingerprint.generator_digest.cache_clear()
        before = fingerprint.generator_digest()
        (package / path).write_text((package / path).read_text() + " more")
        fingerprint.generator_digest.cache_clear()
        digests.append(fingerprint.generator_digest() != before)
    fingerprint.generator_digest.cache_clear()
    assert digests == [False, True, True, True]  # the router's code does not make charts
