"""Helpers of the GitOps/operations tests: scratch catalogs, the real render pipeline, real Helm.

Leaves are written into a scratch catalog (with the example `_defaults.yaml`, or one a test
writes), rendered by `render_catalog` (validation, plan, files, atomic write), and charts are
rendered by Helm itself (helm-python-sdk); tests assert on parsed objects.
"""

from __future__ import annotations

import copy
import os
import shutil
from pathlib import Path

import helm_python
import yaml

from catalog_gen.render.run import render_catalog

REPO = Path(__file__).resolve().parents[2]
CATALOG = REPO / "catalog"
CRDS = REPO.parent / "shared" / "crds"  # beside the repository, never copied into it

BASE = {
    "workloadType": "OLLAMA_INFERENCE_LOAD",
    "serviceName": "svc",
    "serviceCatalog": "ml-inference",
    "namespace": "ml-test",
    "environment": "dev",
    "model": "qwen2.5:0.5b",
    "gpu": {"count": 0, "vendor": "none"},
}
GITOPS = {"repoURL": "https://git.example.com/platform/llm-catalog.git", "targetRevision": "main"}


def leaf(**changes) -> dict:
    """BASE with top-level keys replaced (None deletes one)."""
    data = copy.deepcopy(BASE)
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = copy.deepcopy(value)
    return data


def write_yaml(path: Path, data: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def write_leaf(catalog: Path, data: dict) -> Path:
    return write_yaml(catalog / data["environment"] / f"{data['serviceName']}.yaml", data)


def render(root: Path, paths: list[Path] | None = None, **options):
    """Render `root/catalog` (or the given paths) into `root/charts`, from `root` as the working directory."""
    cwd = os.getcwd()
    os.chdir(root)
    try:
        return render_catalog(paths or [Path("catalog")], Path("charts"), **options)
    finally:
        os.chdir(cwd)


def render_copy(root: Path, catalog: Path) -> Path:
    shutil.copytree(catalog, root / "catalog")
    render(root)
    return root / "charts"


def helm_objects(chart: Path, name: str, namespace: str, values: dict | None = None) -> list[dict]:
    """The chart as Helm renders it (tests and NOTES excluded unless asked), parsed."""
    loaded = helm_python.Chart.load(str(chart))
    try:
        rendered = loaded.render(values=values, name=name, namespace=namespace)
    finally:
        loaded.close()
    objects = []
    for key, text in sorted(rendered.items()):
        if key.endswith("NOTES.txt"):
            continue
        objects += [doc for doc in yaml.safe_load_all(text) if doc]
    return objects


def of_kind(objects: list[dict], kind: str) -> list[dict]:
    return [o for o in objects if o["kind"] == kind]


def one(objects: list[dict], kind: str) -> dict:
    found = of_kind(objects, kind)
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    return found[0]


def service_objects(charts: Path, environment: str, service: str, namespace: str, values: dict | None = None) -> list[dict]:
    return helm_objects(charts / environment / service, service, namespace, values)


def gitops_objects(charts: Path, environment: str) -> list[dict]:
    return helm_objects(charts / environment / "_gitops", f"gitops-{environment}", "argocd")
