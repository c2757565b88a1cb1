"""GitOps objects: how Argo CD (or Flux) picks up the rendered charts.

Per leaf, the chart folder gets `gitops.json`: the parameters of its
Application (name, destination namespace, project, release name, sync). Per
environment, `render` writes one more chart, `<out>/<environment>/_gitops/`
(a leading `_` cannot clash with a serviceName), holding:

- `applicationset` mode: one ApplicationSet whose Git files generator reads
  `<chartsPath>/<environment>/*/gitops.json`, so adding or removing a leaf
  changes nothing here; `goTemplate` with `missingkey=error`;
- `application` mode: one Application per leaf;
- with `flux.enabled`: a GitRepository and one HelmRelease per leaf.

Why a chart: `catalog-gen lint` then validates these objects against the
Argo CD CRDs like every other object, and `helm upgrade --install` (or one
bootstrap Application) deploys them. Argo CD's own `{{ }}` expressions are
written in the static templates; leaf data reaches them only as values.

One ApplicationSet reads one repository at one revision with one sync policy,
so the leaves of an environment must agree on those (`ENVIRONMENT_FIELDS`);
`render` refuses a catalog where they do not, naming two leaves.

Rendering part of a catalog (some leaves of an environment) must not drop the
others' Applications: the per-leaf lists are the leaves rendered now plus the
`gitops.json` of the environment's other charts on disk, minus pruned ones.
An environment chart is pruned only with `--prune`, when its environment has
no chart left or no longer asks for GitOps objects.
"""

from __future__ import annotations

import json
from pathlib import Path

from catalog_gen import __version__
from catalog_gen.catalog.model import GitOps, OllamaInferenceLoad
from catalog_gen.catalog.validate import Leaf
from catalog_gen.errors import UsageError
from catalog_gen.render.env import TEMPLATES_DIR, render_template
from catalog_gen.render.values import values_yaml

GITOPS_DIR = "_gitops"
PARAMS_FILE = "gitops.json"
TYPE_DIR = "gitops"
IN_CLUSTER = "https://kubernetes.default.svc"
# The settings one ApplicationSet (or GitRepository) applies to all leaves of an environment.
ENVIRONMENT_FIELDS = ("repoURL", "targetRevision", "chartsPath", "argocd.mode", "argocd.namespace",
                      "argocd.destination.server", "flux.enabled", "flux.namespace", "flux.interval")


def enabled(gitops: GitOps) -> bool:
    return gitops.repo_url is not None and (gitops.argocd.mode != "none" or gitops.flux.enabled)


def leaf_params(service: str, environment: str, namespace: str, gitops: GitOps) -> dict:
    """The per-leaf parameters: `gitops.json`, read by the ApplicationSet (keys are its template's)."""
    sync = gitops.argocd.sync_policy
    return {  # keys sorted, as gitops.json holds them: params read back from disk compare equal
        "application": f"{service}-{environment}",
        "chartPath": f"{gitops.charts_path}/{environment}/{service}",
        "environment": environment,
        "namespace": namespace,
        "project": gitops.argocd.project,
        "releaseName": service,
        "service": service,
        "sync": {"automated": sync.automated, "prune": sync.prune, "selfHeal": sync.self_heal},
    }


def params_file(leaf: OllamaInferenceLoad) -> bytes | None:
    """The chart's gitops.json, or None when the leaf asks for no GitOps objects."""
    if not enabled(leaf.gitops):
        return None
    params = leaf_params(leaf.service_name, leaf.environment, leaf.namespace, leaf.gitops)
    return (json.dumps(params, indent=2, sort_keys=True) + "\n").encode()


def _setting(gitops: GitOps, field: str):
    values = {
        "repoURL": gitops.repo_url, "targetRevision": gitops.target_revision, "chartsPath": gitops.charts_path,
        "argocd.mode": gitops.argocd.mode, "argocd.namespace": gitops.argocd.namespace,
        "argocd.destination.server": gitops.argocd.destination.server,
        "argocd.syncPolicy": gitops.argocd.sync_policy.model_dump(by_alias=True),
        "flux.enabled": gitops.flux.enabled, "flux.namespace": gitops.flux.namespace, "flux.interval": gitops.flux.interval,
    }
    return values[field]


def _environment_settings(environment: str, members: list[tuple[Leaf, GitOps]]) -> GitOps:
    """The environment's shared settings; a UsageError naming two leaves that disagree."""
    first_leaf, first = members[0]
    for leaf, gitops in members[1:]:
        if enabled(gitops) != enabled(first):
            raise UsageError(
                f"environment {environment!r}: {first_leaf.doc.display} {'asks' if enabled(first) else 'does not ask'} for "
                f"GitOps objects but {leaf.doc.display} {'does not' if enabled(first) else 'does'}",
                hint="set `gitops` (repoURL, argocd.mode, flux) once for the environment, in its _defaults.yaml")
    if not enabled(first):
        return first
    fields = list(ENVIRONMENT_FIELDS)
    if first.argocd.mode == "applicationset":
        fields.append("argocd.syncPolicy")
    for field in fields:
        for leaf, gitops in members[1:]:
            if _setting(gitops, field) != _setting(first, field):
                raise UsageError(
                    f"environment {environment!r}: `gitops.{field}` is {_setting(first, field)!r} in {first_leaf.doc.display} "
                    f"but {_setting(gitops, field)!r} in {leaf.doc.display}; one environment has one GitOps setup",
                    hint=f"set `gitops.{field}` once in the environment's _defaults.yaml"
                    + (", or use `gitops.argocd.mode: application` for per-leaf sync policies" if field == "argocd.syncPolicy" else ""))
    return first


def _disk_params(out: Path, environment: str, skip: set[str]) -> list[dict]:
    """gitops.json of the environment's charts on disk that this run neither renders nor prunes."""
    found = []
    folder = out / environment
    if not folder.is_dir():
        return found
    for path in sorted(folder.glob(f"*/{PARAMS_FILE}")):
        rel = f"{environment}/{path.parent.name}"
        if rel in skip:
            continue
        try:
            params = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # not ours, or half-written by hand: `render --check` reports that chart anyway
        if isinstance(params, dict) and {"application", "namespace", "project", "releaseName", "chartPath", "sync"} <= set(params):
            found.append(params)
    return found


def _values(environment: str, gitops: GitOps, services: list[dict]) -> tuple[dict, dict[str, str]]:
    sync = gitops.argocd.sync_policy
    values = {
        "environment": environment,
        "repoURL": gitops.repo_url,
        "targetRevision": gitops.target_revision,
        "argocd": {
            "mode": gitops.argocd.mode,
            "namespace": gitops.argocd.namespace,
            "destinationServer": gitops.argocd.destination.server,  # default IN_CLUSTER
            "applicationSet": {
                "name": f"ollama-{environment}",
                "files": f"{gitops.charts_path}/{environment}/*/{PARAMS_FILE}",
                "syncPolicy": {"automated": sync.automated, "prune": sync.prune, "selfHeal": sync.self_heal},
            },
        },
        "flux": {
            "enabled": gitops.flux.enabled,
            "namespace": gitops.flux.namespace,
            "interval": gitops.flux.interval,
            "sourceName": f"ollama-{environment}",
        },
        "services": services,
    }
    docs = {
        "environment": "Environment whose services these objects deploy.",
        "repoURL": "Git repository holding the rendered charts.",
        "targetRevision": "Branch, tag or commit deployed.",
        "argocd": "Argo CD objects.",
        "argocd.mode": "applicationset (one ApplicationSet, Git files generator), application (one per service) or none.",
        "argocd.namespace": "Namespace Argo CD runs in; its objects go there.",
        "argocd.destinationServer": "Cluster the services are deployed to.",
        "argocd.applicationSet": "The ApplicationSet (mode applicationset).",
        "argocd.applicationSet.name": "Name of the ApplicationSet.",
        "argocd.applicationSet.files": "Git files generator path: one gitops.json per rendered chart.",
        "argocd.applicationSet.syncPolicy": "Sync policy of every generated Application (automated, prune, selfHeal).",
        "flux": "Flux objects.",
        "flux.enabled": "Write a GitRepository and one HelmRelease per service.",
        "flux.namespace": "Namespace of the Flux objects.",
        "flux.interval": "Reconcile interval.",
        "flux.sourceName": "Name of the GitRepository.",
        "services": "Per-service parameters (each chart's gitops.json): Applications (mode application) and HelmReleases.",
    }
    return values, docs


def _static_files() -> dict[str, bytes]:
    root = TEMPLATES_DIR / TYPE_DIR / "chart"
    return {path.relative_to(root).as_posix(): path.read_bytes() for path in sorted(root.rglob("*")) if path.is_file()}


def chart_files(environment: str, gitops: GitOps, services: list[dict]) -> dict[str, bytes]:
    """The files of one environment's GitOps chart."""
    values, docs = _values(environment, gitops, services)
    context = {"environment": environment, "values": values, "generator": f"catalog-gen {__version__}",
               "services": services}
    files = _static_files()
    files["Chart.yaml"] = render_template(f"{TYPE_DIR}/Chart.yaml.j2", **context).encode()
    files["README.md"] = render_template(f"{TYPE_DIR}/README.md.j2", **context).encode()
    header = (f"Generated by catalog-gen {__version__} for environment {environment}. Do not edit: change the leaves'\n"
              "`gitops` settings (usually in _defaults.yaml) and run `catalog-gen render`.")
    files["values.yaml"] = values_yaml(values, docs, header).encode()
    return dict(sorted(files.items()))


def environment_charts(leaves: list[Leaf], out: Path, stale: list[str], prune: bool) -> tuple[dict[str, dict[str, bytes]], list[str]]:
    """The GitOps chart of every environment rendered now, and `stale` corrected for GitOps charts.

    `stale` holds the chart dirs this run prunes (empty without `--prune`); it may name
    GitOps charts, which write.stale_charts cannot judge (they have no source leaf).
    """
    by_env: dict[str, list[tuple[Leaf, GitOps]]] = {}
    for leaf in leaves:
        by_env.setdefault(leaf.data["environment"], []).append((leaf, GitOps.model_validate(leaf.data.get("gitops") or {})))
    leaf_stale = [rel for rel in stale if not rel.endswith("/" + GITOPS_DIR)]
    charts: dict[str, dict[str, bytes]] = {}
    for environment, members in sorted(by_env.items()):
        gitops = _environment_settings(environment, members)
        if not enabled(gitops):
            continue
        rendered = {f"{environment}/{leaf.data['serviceName']}": leaf for leaf, _ in members}
        services = []
        if gitops.argocd.mode == "application" or gitops.flux.enabled:
            services = [leaf_params(leaf.data["serviceName"], environment, leaf.data["namespace"], g) for leaf, g in members]
            services += _disk_params(out, environment, set(rendered) | set(leaf_stale))
            services.sort(key=lambda s: s["application"])
        charts[f"{environment}/{GITOPS_DIR}"] = chart_files(environment, gitops, services)
    if not prune:
        return charts, leaf_stale
    return charts, sorted(leaf_stale + _stale_environment_charts(out, charts, by_env, leaf_stale))


def _stale_environment_charts(out: Path, charts: dict, by_env: dict, leaf_stale: list[str]) -> list[str]:
    stale = []
    for chart_yaml in sorted(out.glob(f"*/{GITOPS_DIR}/Chart.yaml")):
        environment = chart_yaml.parent.parent.name
        rel = f"{environment}/{GITOPS_DIR}"
        if rel in charts:
            continue
        if environment in by_env:  # rendered now, and no longer asks for GitOps objects
            stale.append(rel)
            continue
        remaining = [p for p in (out / environment).glob("*/Chart.yaml")
                     if p.parent.name != GITOPS_DIR and f"{environment}/{p.parent.name}" not in leaf_stale]
        if not remaining:
            stale.append(rel)
    return stale
