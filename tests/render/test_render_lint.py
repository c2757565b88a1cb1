"""Every generated chart passes real Helm lint (strict) and renders, and `lint_charts` finds nothing wrong.

The charts are the example catalog's and one per feature (render_helpers.ZOO), rendered
into a scratch folder; the objects are checked against the Kubernetes 1.31 schemas and
the CRDs beside the repository (Gateway API, cert-manager, prometheus-operator, KEDA).
"""

from __future__ import annotations

from pathlib import Path

import helm_python
import pytest
import render_helpers as h

from catalog_gen.lint import lint_charts
from catalog_gen.render.run import render_catalog

HELM_WARNING = 2  # helm_python.lint severities: 1 info, 2 warning, 3 error


@pytest.fixture(scope="module")
def example_charts(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("examples") / "charts"
    render_catalog([h.CATALOG], out)
    return out


def chart_dirs(root: Path) -> list[Path]:
    """Every chart under root (leaf charts and any other chart catalog-gen writes)."""
    return sorted(p.parent for p in root.glob("*/*/Chart.yaml"))


def leaf_chart_dirs(root: Path) -> list[Path]:
    return [c for c in chart_dirs(root) if not c.name.startswith("_")]


def test_every_example_leaf_has_a_chart(example_charts):
    leaves = [p for p in h.CATALOG.rglob("*.yaml") if not p.name.startswith("_")]
    expected = sorted(example_charts / yaml_chart_path(p) for p in leaves)
    assert leaf_chart_dirs(example_charts) == expected and expected


def yaml_chart_path(leaf: Path) -> str:
    import yaml

    data = yaml.safe_load(leaf.read_text(encoding="utf-8"))
    environment = data.get("environment") or leaf.parent.name
    return f"{environment}/{data['serviceName']}"


@pytest.mark.parametrize("which", ["examples", "zoo"])
def test_helm_lint_strict_is_clean(example_charts, zoo_charts, which):
    root = example_charts if which == "examples" else zoo_charts
    for chart in chart_dirs(root):
        report = helm_python.lint(chart, strict=True, kube_version="v1.31.0")
        problems = [m for m in report["messages"] if m["severity"] >= HELM_WARNING]
        assert report["errors"] == [] and problems == [], f"{chart}: {report}"


@pytest.mark.parametrize("which", ["examples", "zoo"])
def test_every_chart_renders_to_valid_yaml(example_charts, zoo_charts, which):
    root = example_charts if which == "examples" else zoo_charts
    for chart in leaf_chart_dirs(root):
        objects = h.helm_render(chart, name=chart.name, namespace="ml-test")
        kinds = {o["kind"] for o in objects}
        assert {"Service", "ConfigMap", "NetworkPolicy"} <= kinds, chart
        # one serving workload named after the release (a model pool adds its gateway Deployment beside it)
        assert [o["kind"] for o in objects if o["kind"] in ("Deployment", "StatefulSet")
                and o["metadata"]["name"] == chart.name] in (["Deployment"], ["StatefulSet"]), chart
        for obj in objects:
            assert obj["apiVersion"] and obj["metadata"]["name"], (chart, obj)


def test_lint_charts_finds_no_errors_with_the_crds(example_charts, zoo_charts):
    assert h.CRDS.is_dir(), f"the shared CRDs are missing at {h.CRDS}"
    charts = chart_dirs(example_charts) + chart_dirs(zoo_charts)
    result = lint_charts([example_charts, zoo_charts], kube_version="1.31", crd_dirs=[h.CRDS], require_schemas=True)
    assert result.charts_checked == len(charts)
    problems = [f"{f.file}:{f.line} {f.code} {f.severity.value} {f.message}" for f in result.findings
                if f.severity.value != "info"]
    assert problems == []
