"""The fast path (work shared between charts: one parse per distinct template, Helm lint without the schema
checks its render already did) gives exactly the findings of the straightforward path, defects included."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from catalog_gen.cli import main
from catalog_gen.lint import manifests
from catalog_gen.lint.crds import CrdStore
from catalog_gen.lint.engine import Settings, lint_chart
from catalog_gen.lint.kube_schemas import KubeSchemas
from catalog_gen.lint.shared import SharedWork, normalize, placeholder
from lint_cases import CASES, SHARED_CRDS, build_chart

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "catalog" / "dev" / "ollama-phi.yaml"
AUTOSCALING = "autoscaling:\n  enabled: true\n  minReplicas: 1\n  maxReplicas: 4\n  targetQueueDepth: 4\n"


def _settings(shared: SharedWork | None, scratch: Path, kube_version: str = "1.31") -> Settings:
    return Settings(KubeSchemas.for_version(kube_version), CrdStore.load((SHARED_CRDS.resolve(),)), False, scratch, shared)


def _both(chart: Path, shared: SharedWork, scratch: Path, kube_version: str = "1.31"):
    fast = lint_chart(chart, _settings(shared, scratch / "fast", kube_version))
    slow = lint_chart(chart, _settings(None, scratch / "slow", kube_version))
    return fast, slow


def test_every_planted_defect_is_found_alike_on_both_paths(tmp_path):
    shared = SharedWork()
    for i, case in enumerate(CASES):
        chart = build_chart(case, tmp_path / f"c{i}")
        fast, slow = _both(chart, shared, tmp_path / "scratch", case.kube_version)
        assert fast == slow, case.name
    assert shared.hits > len(CASES)  # templates a case did not edit came from the memo


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """The repository's catalog plus three copies of the seed leaf (router, monitoring, autoscaling on), rendered."""
    root = tmp_path_factory.mktemp("generated")
    shutil.copytree(ROOT / "catalog", root / "catalog")
    seed = SEED.read_text()
    for name in ("svc-a", "svc-b", "svc-c"):
        text = seed.replace("serviceName: ollama-phi\n", f"serviceName: {name}\n")
        text = text.replace("host: text.hypermedia.au\n", f"host: {name}.example.com\n") + AUTOSCALING
        (root / "catalog" / "dev" / f"{name}.yaml").write_text(text)
    old = Path.cwd()
    try:
        import os

        os.chdir(root)
        assert main(["render", "catalog", "--out", "charts", "--quiet"]) == 0
    finally:
        os.chdir(old)
    return root / "charts"


def _plant(chart: Path, file: str, old: str, new: str) -> None:
    path = chart / file
    text = path.read_text()
    assert old in text, f"{file} of {chart.name} no longer holds {old!r}"
    path.write_text(text.replace(old, new, 1))


def test_generated_charts_with_planted_defects_lint_alike_on_both_paths(generated, tmp_path):
    charts = tmp_path / "charts"
    shutil.copytree(generated, charts)
    dev = charts / "dev"
    # the same defect in two charts: the second takes the parse from the memo and must name its own object
    for name in ("svc-b", "svc-c"):
        _plant(dev / name, "templates/service.yaml", "metadata:\n", "metadata:\n  bogus-{{ .Release.Name }}: 1\n")
    # values the chart's schema refuses: Helm's render fails, so helm lint validates the schema itself
    _plant(dev / "svc-a", "values.yaml", "\n", "\nbogusTopLevel: 1\n")
    shared = SharedWork()
    found = {}
    for chart in sorted(p.parent for p in charts.rglob("Chart.yaml")):
        fast, slow = _both(chart, shared, tmp_path / "scratch")
        assert fast == slow, chart.name
        found[chart.name] = fast
    assert shared.hits > 10  # svc-c takes nearly every template of svc-b from the memo
    bogus = {name: [f for f in found[name] if "bogus-" in f.message] for name in ("svc-b", "svc-c")}
    for name, findings in bogus.items():
        assert [f.code for f in findings] == ["kube-schema"]
        assert f"bogus-{name}" in findings[0].message and findings[0].pointer == f"/metadata/bogus-{name}"
        assert findings[0].line == 4 and findings[0].file.endswith(f"{name}/templates/service.yaml")
    codes_a = {f.code for f in found["svc-a"]}
    assert {"helm-lint", "helm-render"} <= codes_a
    assert any("bogusTopLevel" in f.message for f in found["svc-a"] if f.code == "helm-lint")


def test_helm_lint_still_validates_the_schema_when_the_render_fails(generated, tmp_path):
    chart = tmp_path / "svc-a"
    shutil.copytree(generated / "dev" / "svc-a", chart)
    _plant(chart, "values.yaml", "\n", "\nbogusTopLevel: 1\n")
    findings = lint_chart(chart, _settings(SharedWork(), tmp_path / "scratch"))
    # both of helm lint's schema checks (values file, templates) ran, as without the shared work
    assert sorted(f.code for f in findings if "bogusTopLevel" in f.message) == ["helm-lint", "helm-lint", "helm-render"]


DOC = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}-config\n  labels:\n    app: {name}\ndata:\n  flag: {name}\n"


def test_charts_differing_only_by_name_share_one_parse():
    shared = SharedWork()
    first = shared.parse("templates/cm.yaml", DOC.format(name="svc-0001"), "svc-0001")
    second = shared.parse("templates/cm.yaml", DOC.format(name="svc-0002"), "svc-0002")
    assert (shared.misses, shared.hits) == (1, 1)
    for (objects, issues), name in ((first, "svc-0001"), (second, "svc-0002")):
        expected, expected_issues = manifests.parse_template("templates/cm.yaml", DOC.format(name=name))
        assert issues == expected_issues == []
        assert [(o.data, o.name, o.kind, o.api_version, o.line_offset) for o in objects] == \
            [(o.data, o.name, o.kind, o.api_version, o.line_offset) for o in expected]
        assert objects[0].node_pointer(f"/data/{name}") == f"/data/{placeholder(0, len(name))}"


def test_a_name_that_changes_a_scalars_type_is_parsed_straightforwardly():
    shared = SharedWork()
    shared.parse("templates/cm.yaml", DOC.format(name="abc"), "abc")
    objects, _ = shared.parse("templates/cm.yaml", DOC.format(name="yes"), "yes")  # same key; `flag: yes` is a bool
    assert shared.hits == 1
    assert objects[0].data["data"]["flag"] is True
    assert objects[0].data == manifests.parse_template("templates/cm.yaml", DOC.format(name="yes"))[0][0].data


@pytest.mark.parametrize("text, name", [
    (DOC.format(name="svc-1") + "  other: QAxxx\n", "svc-1"),  # the placeholder itself is in the text
    (DOC.format(name="svc-1") + '  esc: "\\x51Axxx"\n', "svc-1"),  # an escape could spell it
])
def test_text_that_could_hold_a_placeholder_is_not_normalized(text, name):
    assert normalize(text, name) == (text, ())
    objects, _ = SharedWork().parse("templates/cm.yaml", text, name)
    assert objects[0].data == manifests.parse_template("templates/cm.yaml", text)[0][0].data


def test_digests_are_replaced_too():
    text = DOC.format(name="svc-1") + '  checksum: "4c46dce6fc30764dc96683ad37fa768d"\n  uid: ollama-beda1198c857\n'
    normalized, aliases = normalize(text, "svc-1")
    assert [token for token, _ in aliases] == ["svc-1", "4c46dce6fc30764dc96683ad37fa768d", "beda1198c857"]
    assert "svc-1" not in normalized and "beda1198c857" not in normalized


def test_templates_with_issues_are_never_taken_from_the_memo():
    broken = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  a: 1\n  a: 2\n"
    shared = SharedWork()
    for name in ("svc-0001", "svc-0002"):
        got = shared.parse("templates/cm.yaml", broken.format(name=name), name)
        expected = manifests.parse_template("templates/cm.yaml", broken.format(name=name))
        assert [i.message for i in got[1]] == [i.message for i in expected[1]] and len(got[1]) == 1
        assert got[1][0].pointer == expected[1][0].pointer == "/data/a"


def test_a_key_holding_a_digest_is_located_in_a_template_without_the_name():
    from catalog_gen.lint.locate import node_position

    text = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  k-0123456789abcdef: |\n    v\n"
    shared = SharedWork()
    for _ in range(2):  # stored, then taken from the memo
        [obj], issues = shared.parse("templates/cm.yaml", text, "svc-1")
        assert issues == [] and obj.data["data"] == {"k-0123456789abcdef": "v\n"}
        assert node_position(obj.node, obj.node_pointer("/data/k-0123456789abcdef")) == (5, 2)
    assert shared.hits == 1


def test_the_memo_is_bounded():
    from catalog_gen.lint import shared as module

    memo = SharedWork(max_entries=3)
    for n in range(10):
        memo.parse("templates/cm.yaml", DOC.format(name="svc-1") + f"  n: \"{n}\"\n", "svc-1")
    assert len(memo._memo) == 3 and memo._kept == sum(len(key[1]) for key in memo._memo)
    big = DOC.format(name="svc-1") + "  big: \"" + "y" * module.MAX_TEXT + "\"\n"
    objects, _ = memo.parse("templates/big.yaml", big, "svc-1")
    assert objects[0].data["data"]["big"].startswith("yyy") and len(memo._memo) == 3  # parsed, not kept
    assert all(key[0] != "templates/big.yaml" for key in memo._memo)
