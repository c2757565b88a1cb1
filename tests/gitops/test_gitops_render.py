"""`render` writes the GitOps objects: an ApplicationSet per environment, or Applications, or Flux HelmReleases.

They sit in `<out>/<environment>/_gitops/` (a chart, so lint validates them) and each service
chart holds its `gitops.json`; `--check` and `--prune` cover both, and rendering part of a
catalog keeps the other services' Applications.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import gitops_helpers as g
import pytest
import yaml

from catalog_gen.errors import CatalogInvalid

ARGO_EXPR = re.compile(r"\{\{\s*\.([A-Za-z_][A-Za-z0-9_.]*)\s*\}\}")


def argo_params(params_file: Path, charts_root: Path) -> dict:
    """The parameters Argo CD's Git files generator gives a template for one file (goTemplate mode)."""
    params = json.loads(params_file.read_text(encoding="utf-8"))
    rel = params_file.relative_to(charts_root.parent).as_posix()
    folder = rel.rsplit("/", 1)[0]
    params["path"] = {"path": folder, "basename": folder.rsplit("/", 1)[-1], "filename": params_file.name,
                      "segments": folder.split("/")}
    return params


def fill(template, params: dict):
    """Argo CD's goTemplate with missingkey=error, for `{{ .a.b }}` placeholders: KeyError on a missing key."""
    if isinstance(template, dict):
        return {k: fill(v, params) for k, v in template.items()}
    if isinstance(template, list):
        return [fill(v, params) for v in template]
    if isinstance(template, str):
        def one(match):
            value = params
            for key in match.group(1).split("."):
                value = value[key]
            return str(value)
        return ARGO_EXPR.sub(one, template)
    return template


def test_the_applicationset_generates_one_application_per_chart(example_charts):
    appset = g.one(g.gitops_objects(example_charts, "dev"), "ApplicationSet")
    spec = appset["spec"]
    assert appset["metadata"]["namespace"] == "argocd"
    assert spec["goTemplate"] is True and spec["goTemplateOptions"] == ["missingkey=error"]
    (generator,) = spec["generators"]
    assert generator["git"]["repoURL"] == "https://github.com/example/llm-catalog.git"
    assert generator["git"]["revision"] == "main"
    assert generator["git"]["files"] == [{"path": "charts/dev/*/gitops.json"}]

    files = sorted((example_charts / "dev").glob("*/gitops.json"))
    assert [f.parent.name for f in files] == ["chat-multi", "ollama-phi", "tiny-cpu"]
    for params_file in files:
        app = fill(spec["template"], argo_params(params_file, example_charts))  # every placeholder resolves
        leaf = yaml.safe_load((g.CATALOG / "dev" / f"{params_file.parent.name}.yaml").read_text())
        assert app["metadata"]["name"] == f"{leaf['serviceName']}-dev"
        assert app["spec"]["destination"]["namespace"] == leaf["namespace"]
        assert app["spec"]["source"]["path"] == f"charts/dev/{leaf['serviceName']}"
        assert app["spec"]["source"]["helm"] == {"releaseName": leaf["serviceName"], "skipTests": True}
        assert app["spec"]["project"] == "ml-inference"  # catalog/_defaults.yaml
        assert app["spec"]["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}
        assert "CreateNamespace=true" in app["spec"]["syncPolicy"]["syncOptions"]
        assert app["metadata"]["finalizers"] == ["resources-finalizer.argocd.argoproj.io"]


def test_application_mode_writes_one_application_per_leaf(example_charts):
    objects = g.gitops_objects(example_charts, "staging")  # catalog/staging/_defaults.yaml: mode application
    assert not g.of_kind(objects, "ApplicationSet")
    (app,) = g.of_kind(objects, "Application")
    assert app["metadata"] == {**app["metadata"], "name": "coder-staging", "namespace": "argocd"}
    assert app["spec"]["destination"] == {"server": "https://kubernetes.default.svc", "namespace": "dev-tools"}
    assert app["spec"]["source"]["path"] == "charts/staging/coder"
    assert "automated" not in app["spec"]["syncPolicy"]  # staging syncs by hand
    assert "finalizers" not in app["metadata"]


def test_the_service_chart_keeps_the_postsync_smoke_hook_for_argo(example_charts):
    objects = g.service_objects(example_charts, "prod", "assistant", "ml-prod")
    smoke = [o for o in g.of_kind(objects, "Job") if o["metadata"]["name"] == "assistant-smoke"]
    assert smoke[0]["metadata"]["annotations"]["argocd.argoproj.io/hook"] == "PostSync"
    (test_pod,) = g.of_kind(objects, "Pod")
    assert test_pod["metadata"]["annotations"]["helm.sh/hook"] == "test"  # skipped by Argo CD (skipTests)


def flux_catalog(root: Path) -> Path:
    catalog = root / "catalog"
    g.write_yaml(catalog / "_defaults.yaml", {"gitops": {**g.GITOPS, "argocd": {"mode": "none"}, "flux": {"enabled": True}}})
    g.write_leaf(catalog, g.leaf(serviceName="alpha"))
    g.write_leaf(catalog, g.leaf(serviceName="beta", namespace="team-b"))
    return catalog


def test_flux_writes_a_gitrepository_and_a_helmrelease_per_leaf(tmp_path):
    flux_catalog(tmp_path)
    g.render(tmp_path)
    objects = g.gitops_objects(tmp_path / "charts", "dev")
    assert {o["kind"] for o in objects} == {"GitRepository", "HelmRelease"}
    source = g.one(objects, "GitRepository")
    assert source["spec"]["url"] == g.GITOPS["repoURL"] and source["spec"]["ref"] == {"branch": "main"}
    releases = {o["metadata"]["name"]: o["spec"] for o in g.of_kind(objects, "HelmRelease")}
    assert sorted(releases) == ["alpha-dev", "beta-dev"]
    beta = releases["beta-dev"]
    assert beta["releaseName"] == "beta" and beta["targetNamespace"] == "team-b"
    assert beta["chart"]["spec"]["chart"] == "charts/dev/beta"
    assert beta["chart"]["spec"]["reconcileStrategy"] == "Revision"  # the chart version never changes
    assert beta["chart"]["spec"]["sourceRef"] == {"kind": "GitRepository", "name": source["metadata"]["name"],
                                                  "namespace": "flux-system"}


def test_leaves_of_one_environment_must_agree_on_its_gitops_setup(tmp_path):
    catalog = tmp_path / "catalog"
    g.write_yaml(catalog / "_defaults.yaml", {"gitops": g.GITOPS})
    g.write_leaf(catalog, g.leaf(serviceName="alpha"))
    g.write_leaf(catalog, g.leaf(serviceName="beta", gitops={"targetRevision": "release-2"}))
    with pytest.raises(CatalogInvalid) as err:  # validate says it (catalog.gitops-disagree), with both files and lines
        g.render(tmp_path)
    [finding] = err.value.findings
    assert finding.code == "catalog.gitops-disagree" and "gitops.targetRevision" in finding.message
    assert "beta.yaml" in finding.file and "alpha.yaml" in finding.message
    assert "_defaults.yaml" in finding.hint
    assert not (tmp_path / "charts" / "dev").exists()  # nothing was written


def test_no_repository_means_no_gitops_objects(tmp_path):
    g.write_leaf(tmp_path / "catalog", g.leaf())
    g.render(tmp_path)
    assert not (tmp_path / "charts" / "dev" / "_gitops").exists()
    assert not (tmp_path / "charts" / "dev" / "svc" / "gitops.json").exists()
    assert (tmp_path / "charts" / "dev" / "svc" / "Chart.yaml").is_file()


def application_catalog(root: Path) -> Path:
    catalog = root / "catalog"
    g.write_yaml(catalog / "_defaults.yaml", {"gitops": {**g.GITOPS, "argocd": {"mode": "application"}}})
    for name in ("alpha", "beta", "gamma"):
        g.write_leaf(catalog, g.leaf(serviceName=name))
    return catalog


def test_rendering_one_leaf_keeps_the_other_applications(tmp_path):
    application_catalog(tmp_path)
    g.render(tmp_path)
    env_chart = tmp_path / "charts" / "dev" / "_gitops"
    before = {p.name: p.read_bytes() for p in env_chart.iterdir() if p.is_file()}
    result = g.render(tmp_path, [Path("catalog/dev/beta.yaml")])
    assert result.written == []
    assert {p.name: p.read_bytes() for p in env_chart.iterdir() if p.is_file()} == before
    names = [o["metadata"]["name"] for o in g.of_kind(g.gitops_objects(tmp_path / "charts", "dev"), "Application")]
    assert names == ["alpha-dev", "beta-dev", "gamma-dev"]


def test_prune_removes_a_leaf_application_and_keeps_the_environment_chart(tmp_path):
    catalog = application_catalog(tmp_path)
    g.render(tmp_path)
    (catalog / "dev" / "gamma.yaml").unlink()
    result = g.render(tmp_path, prune=True)
    assert result.pruned == ["dev/gamma"]
    assert "dev/_gitops" in result.written
    names = [o["metadata"]["name"] for o in g.of_kind(g.gitops_objects(tmp_path / "charts", "dev"), "Application")]
    assert names == ["alpha-dev", "beta-dev"]


def test_an_environment_chart_goes_only_with_its_last_leaf(tmp_path):
    catalog = tmp_path / "catalog"
    g.write_yaml(catalog / "_defaults.yaml", {"gitops": g.GITOPS})
    g.write_leaf(catalog, g.leaf(serviceName="alpha"))
    g.write_leaf(catalog, g.leaf(serviceName="omega", environment="prod"))
    g.render(tmp_path)
    charts = tmp_path / "charts"
    assert (charts / "dev" / "_gitops" / "Chart.yaml").is_file() and (charts / "prod" / "_gitops" / "Chart.yaml").is_file()

    kept = g.render(tmp_path, [Path("catalog/prod")], prune=True)  # dev not rendered now, but its leaf exists
    assert kept.pruned == [] and (charts / "dev" / "_gitops" / "Chart.yaml").is_file()

    (catalog / "dev" / "alpha.yaml").unlink()
    checked = g.render(tmp_path, check=True, prune=True)
    assert sorted((d.chart, d.status) for d in checked.drift) == [("dev/_gitops", "stale"), ("dev/alpha", "stale")]
    gone = g.render(tmp_path, prune=True)
    assert gone.pruned == ["dev/_gitops", "dev/alpha"]
    assert not (charts / "dev").exists()
    assert (charts / "prod" / "_gitops" / "Chart.yaml").is_file()


def test_check_reports_a_hand_edited_gitops_file(tmp_path):
    application_catalog(tmp_path)
    g.render(tmp_path)
    assert g.render(tmp_path, check=True).drift == []
    values = tmp_path / "charts" / "dev" / "_gitops" / "values.yaml"
    values.write_text(values.read_text().replace('"main"', '"hotfix"'))
    params = tmp_path / "charts" / "dev" / "beta" / "gitops.json"
    params.unlink()
    drift = {(d.chart, d.status, tuple(d.files)) for d in g.render(tmp_path, check=True).drift}
    assert drift == {("dev/_gitops", "changed", ("values.yaml",)), ("dev/beta", "changed", ("gitops.json",))}
    g.render(tmp_path)
    assert g.render(tmp_path, check=True).drift == []
