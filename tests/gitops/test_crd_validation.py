"""Every GitOps, monitoring and autoscaling object validates strictly against its CRD, through `catalog-gen lint`.

The example catalog renders the environments' ApplicationSet (dev, prod) and Applications
(staging), and ServiceMonitors, PrometheusRules, dashboards, a ScaledObject (with scale to
zero) and HPAs in the service charts; `lint_charts` with the CRDs of ../shared/crds finds
nothing. The lint really checks these kinds: an unknown field slipped into each template is
reported against that object's CRD (or Kubernetes) schema.
"""

from __future__ import annotations

import shutil

import gitops_helpers as g
import pytest

from catalog_gen.lint import lint_charts

KINDS_IN_EXAMPLES = {
    # kind: (environment, chart dir, release namespace)
    "ApplicationSet": ("dev", "_gitops", "argocd"),
    "Application": ("staging", "_gitops", "argocd"),
    "ServiceMonitor": ("prod", "assistant", "ml-prod"),
    "PrometheusRule": ("prod", "assistant", "ml-prod"),
    "ScaledObject": ("dev", "chat-multi", "ml-workloads"),
    "HorizontalPodAutoscaler": ("dev", "tiny-cpu", "ml-workloads"),
}


def test_the_example_catalog_lints_clean_with_the_crds(example_charts):
    result = lint_charts([example_charts], crd_dirs=[g.CRDS], require_schemas=True)
    assert [f"{f.file}:{f.line} {f.code} {f.message}" for f in result.findings] == []
    assert result.charts_checked == 11  # 8 services + the GitOps charts of dev, prod and staging


@pytest.mark.parametrize("kind", sorted(KINDS_IN_EXAMPLES))
def test_each_kind_is_rendered_by_the_examples(example_charts, kind):
    environment, chart, namespace = KINDS_IN_EXAMPLES[kind]
    objects = g.helm_objects(example_charts / environment / chart, chart.strip("_"), namespace)
    assert g.of_kind(objects, kind), f"{kind} missing from {environment}/{chart}"


# (template file, chart, the finding expected)
BROKEN = [
    ("applicationset.yaml", "dev/_gitops", "crd-schema"),
    ("application.yaml", "staging/_gitops", "crd-schema"),
    ("servicemonitor.yaml", "prod/assistant", "crd-schema"),
    ("prometheusrule.yaml", "prod/assistant", "crd-schema"),
    ("scaledobject.yaml", "dev/chat-multi", "crd-schema"),
    ("horizontalpodautoscaler.yaml", "dev/tiny-cpu", "kube-schema"),
]


@pytest.mark.parametrize("template,chart,code", BROKEN, ids=[b[0] for b in BROKEN])
def test_a_field_the_crd_does_not_know_is_reported(example_charts, tmp_path, template, chart, code):
    copy = tmp_path / chart.replace("/", "-")
    shutil.copytree(example_charts / chart, copy)
    path = copy / "templates" / template
    text = path.read_text(encoding="utf-8")
    assert text.count("\nspec:\n") == 1 + (template == "servicemonitor.yaml"), f"{template} changed: update the anchor"
    # the first object of the template (the servicemonitor's second is the pool workers', not in this chart)
    path.write_text(text.replace("\nspec:\n", "\nspec:\n  bogusField: 1\n", 1), encoding="utf-8")
    result = lint_charts([copy], crd_dirs=[g.CRDS], require_schemas=True)
    found = [(f.code, f.template, f.pointer) for f in result.findings]
    assert found == [(code, f"templates/{template}", "/spec/bogusField")]
