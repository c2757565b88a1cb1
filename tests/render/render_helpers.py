"""Helpers of the render tests: write leaves into a scratch catalog, render them, run real Helm on the charts.

Charts are rendered by the real pipeline (`render_catalog`: validation, plan, files,
atomic write) and then by Helm itself (`helm_python.Chart.load(dir).render(...)`), and
the tests assert on the parsed Kubernetes objects, never on template text.
"""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path

import helm_python
import yaml

from catalog_gen.render.run import render_catalog

REPO = Path(__file__).resolve().parents[2]
CATALOG = REPO / "catalog"
CHARTS = REPO / "charts"
CRDS = Path(__file__).resolve().parents[2] / ".." / "shared" / "crds"  # beside the repository, never copied into it

BASE = {
    "workloadType": "OLLAMA_INFERENCE_LOAD",
    "serviceName": "svc",
    "serviceCatalog": "ml-inference",
    "namespace": "ml-test",
    "environment": "dev",
    "model": "qwen2.5:0.5b",
    "gpu": {"count": 0, "vendor": "none"},
}


def leaf(changes: dict | None = None, **top) -> dict:
    """BASE with `changes` merged in deeply (None deletes a key), plus top-level keyword changes."""
    data = copy.deepcopy(BASE)
    _merge(data, {**(changes or {}), **top})
    return data


def _merge(into: dict, changes: dict) -> None:
    for key, value in changes.items():
        if value is None:
            into.pop(key, None)
        elif isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = copy.deepcopy(value)


def write_leaf(catalog: Path, data: dict, file_name: str | None = None) -> Path:
    path = catalog / data["environment"] / (file_name or f"{data['serviceName']}.yaml")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


@dataclasses.dataclass
class Rendered:
    """One chart as Helm renders it: the objects, by kind."""

    chart: Path
    values: dict
    objects: list[dict]

    def all(self, kind: str) -> list[dict]:
        return [o for o in self.objects if o["kind"] == kind]

    def one(self, kind: str, name: str | None = None) -> dict:
        found = [o for o in self.all(kind) if name is None or o["metadata"]["name"] == name]
        assert len(found) == 1, f"expected one {kind}{' ' + name if name else ''}, found {[o['metadata']['name'] for o in found]}"
        return found[0]

    def has(self, kind: str) -> bool:
        return bool(self.all(kind))

    @property
    def deployment(self) -> dict:
        """The serving workload: a Deployment, or a StatefulSet for a `pvc` cache."""
        return self.one("StatefulSet") if self.has("StatefulSet") else self.one("Deployment")

    @property
    def pod(self) -> dict:
        return self.deployment["spec"]["template"]["spec"]

    def container(self, name: str) -> dict:
        found = [c for c in self.pod["containers"] + self.pod.get("initContainers", []) if c["name"] == name]
        assert len(found) == 1, f"no container {name}: {[c['name'] for c in self.pod['containers']]}"
        return found[0]

    def ollama_containers(self) -> list[dict]:
        return [c for c in self.pod["containers"] if c["name"].startswith("ollama")]

    @property
    def config(self) -> dict:
        return self.one("ConfigMap", f"{self.release}-config")["data"]

    @property
    def release(self) -> str:
        return self.deployment["metadata"]["name"]


def env_of(container: dict) -> dict[str, str]:
    return {e["name"]: e.get("value") for e in container.get("env", [])}


def pod_specs(rendered: Rendered) -> list[tuple[str, dict]]:
    """Every pod spec the chart makes: (object, spec), hooks and Jobs included."""
    specs = []
    for obj in rendered.objects:
        if obj["kind"] == "Pod":
            specs.append((f"Pod/{obj['metadata']['name']}", obj["spec"]))
        elif obj["kind"] in ("Deployment", "Job", "StatefulSet", "DaemonSet"):
            specs.append((f"{obj['kind']}/{obj['metadata']['name']}", obj["spec"]["template"]["spec"]))
    return specs


def helm_render(chart: Path, values: dict | None = None, *, name: str | None = None, namespace: str = "ml-test") -> list[dict]:
    """Real Helm (helm-python-sdk) renders the chart; every manifest must be valid YAML."""
    manifests = helm_python.Chart.load(chart).render(values=values or {}, name=name or chart.name, namespace=namespace)
    objects = []
    for template, text in sorted(manifests.items()):
        if not template.endswith((".yaml", ".yml")):
            continue  # NOTES.txt
        for doc in yaml.safe_load_all(text):  # render() returns broken YAML silently: parsing is the check
            if doc is not None:
                objects.append(doc)
    return objects


def rendered_chart(chart: Path, values: dict | None = None, *, name: str | None = None, namespace: str = "ml-test") -> Rendered:
    chart_values = yaml.safe_load((chart / "values.yaml").read_text(encoding="utf-8"))
    return Rendered(chart, chart_values, helm_render(chart, values, name=name, namespace=namespace))


def render_leaves(root: Path, leaves: list[dict]) -> Path:
    """Write the leaves into root/catalog and render them into root/charts; return the charts folder."""
    catalog = root / "catalog"
    for data in leaves:
        write_leaf(catalog, data)
    out = root / "charts"
    render_catalog([catalog], out)
    return out


def render_leaf(root: Path, data: dict, values: dict | None = None) -> Rendered:
    out = render_leaves(root, [data])
    return rendered_chart(out / data["environment"] / data["serviceName"], values,
                          name=data["serviceName"], namespace=data["namespace"])


def tree(root: Path) -> dict[str, bytes]:
    """Every file under root (relative path -> bytes), hidden ones included."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# One leaf per feature, rendered once per session (see conftest.py `zoo`) and linted together.
ZOO: dict[str, dict] = {
    "plain": leaf(serviceName="plain"),
    "gpu": leaf(serviceName="gpu", model="llama3.1:8b", gpu={"count": 1, "vendor": "nvidia", "product": "NVIDIA-A10G"}),
    "big": leaf(serviceName="big", model="llama3.1:70b", gpu={"count": 2, "vendor": "nvidia", "product": "NVIDIA-L40S"},
                cache={"mode": "pvc", "size": "60Gi"}),
    "pvc": leaf(serviceName="pvc", cache={"mode": "pvc", "size": "40Gi", "storageClass": "fast-ssd"}),
    "pvc-existing": leaf(serviceName="pvc-existing", cache={"mode": "pvc", "existingClaim": "team-models"}),
    "shared": leaf(serviceName="shared", model=None,
                   models=[{"name": "llama3.2:3b"}, {"name": "qwen2.5:0.5b"}],
                   container={"replicas": 3}, cache={"mode": "shared", "size": "20Gi", "storageClass": "nfs-rwx"}),
    "shared-existing": leaf(serviceName="shared-existing", cache={"mode": "shared", "existingClaim": "rwx-models"}),
    "norouter": leaf(serviceName="norouter", router={"enabled": False}),
    "multi": leaf(serviceName="multi", model="llama3.1:8b", gpu={"count": 2, "vendor": "nvidia", "product": "NVIDIA-A10G"},
                  ollama={"processes": 2}, router={"apiKeySecret": {"name": "multi-keys", "key": "keys"}}),
    "gw-existing": leaf(serviceName="gw-existing", ingress={
        "enabled": True, "host": "gw-existing.example.com", "paths": ["/api", "/v1"], "requestTimeout": "900s",
        "gateway": {"name": "shared-gateway", "namespace": "gateway-system", "sectionName": "https"},
        "controller": "istio"}),
    "gw-created": leaf(serviceName="gw-created", ingress={
        "enabled": True, "host": "gw-created.example.com", "gatewayClassName": "cilium",
        "tls": {"enabled": True, "issuer": "letsencrypt-prod"}}),
    "gw-plain": leaf(serviceName="gw-plain", ingress={"enabled": True, "host": "gw-plain.example.com"}),
    "ingress": leaf(serviceName="ingress", ingress={
        "enabled": True, "api": "ingress", "host": "ingress.example.com", "ingressClassName": "nginx",
        "tls": {"enabled": True, "issuer": "letsencrypt-prod", "issuerKind": "Issuer"}}),
    "root": leaf(serviceName="root", ollama={"runAsRoot": True}),
    "replicated": leaf(serviceName="replicated", container={"replicas": 2}),
    "custom": leaf(serviceName="custom", model=None, models=[
        {"name": "llama3.2:3b", "digest": "a" * 64},
        {"name": "helper:1", "modelfile": {"from": "llama3.2:3b", "system": "Be brief.", "parameters": {"temperature": 0.2}}},
        {"name": "nomic-embed-text:v1.5", "kind": "embedding"}]),
}
