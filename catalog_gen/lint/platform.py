"""Our own platform rules for Ollama inference services (the facts are in ollama-api.md).

- Liveness must never depend on a model: a pull or load of many minutes
  would get the pod killed over and over.
- Every long-running container defines readiness.
- With the router sidecar on, Ollama must only be reachable through it:
  the official image sets ``OLLAMA_HOST=0.0.0.0:11434``, so unless the chart
  binds it to loopback any pod-IP client (or a Service) bypasses the router.
- The model cache PVC survives ``helm uninstall`` (``helm.sh/resource-policy: keep``).
"""

from __future__ import annotations

import re

from catalog_gen.lint.objects import Issue, K8sObject, as_list, get_path
from catalog_gen.lint.podspec import LONG_RUNNING_KINDS, ChartView, Container, PodTemplate, env_value, image_parts, pod_template
from catalog_gen.lint.policies import params

_LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


def _model_dependent(probe: dict) -> str:
    """Why a liveness probe depends on a model, or ""."""
    rules = params("liveness-model-dependent")
    path = get_path(probe, "httpGet", "path")
    if isinstance(path, str):
        bare = path.split("?", 1)[0]
        if any(bare.startswith(p) for p in rules["paths"]) or any(w in bare.lower() for w in rules["pathWords"]):
            return f"it calls {bare}"
    command = " ".join(str(part) for part in as_list(get_path(probe, "exec", "command")))
    verbs = "|".join(rules["commands"])
    match = re.search(rf"\bollama\s+({verbs})\b", command)
    if match:
        return f"it runs `ollama {match[1]}`"
    hit = next((p for p in rules["paths"] if p in command), None)
    return f"it calls {hit}" if hit else ""


def _serving_containers(pt: PodTemplate) -> list[Container]:
    """Containers that run alongside the app: regular ones and native sidecars (restartPolicy: Always)."""
    return [c for c in pt.containers() if not c.init or c.data.get("restartPolicy") == "Always"]


def _is_ollama(c: Container) -> bool:
    rules = params("ollama-bypasses-router")
    image = c.data.get("image")
    repo = image_parts(image)[0] if isinstance(image, str) else ""
    return c.name in rules["ollamaContainerNames"] or any(repo == i or repo.endswith("/" + i) for i in rules["ollamaImages"])


def _ollama_listen(value: str) -> tuple[str, int]:
    """OLLAMA_HOST ``[scheme://]host[:port]`` -> (host, port); ``http://host`` alone means port 80."""
    scheme, sep, rest = value.partition("://")
    if not sep:
        scheme, rest = "", value
    rest = rest.split("/", 1)[0]
    host, _, port = rest.rpartition(":") if not rest.endswith("]") else (rest, "", "")
    if not host:
        host, port = rest, ""
    default = {"http": 80, "https": 443}.get(scheme, params("ollama-bypasses-router")["ollamaPort"])
    return host, int(port) if port.isdigit() else default


def _router_bypasses(view: ChartView, pt: PodTemplate) -> list[Issue]:
    serving = _serving_containers(pt)
    names = set(params("ollama-bypasses-router")["routerContainerNames"])
    if not any(c.name in names for c in serving):
        return []
    issues = []
    for c in (c for c in serving if _is_ollama(c) and c.name not in names):
        is_set, value = env_value(c, "OLLAMA_HOST")
        port = params("ollama-bypasses-router")["ollamaPort"]
        if not is_set:
            message = f"{c.label} does not set OLLAMA_HOST; the official image listens on 0.0.0.0:{port}, beside the router"
            issues.append(Issue("ollama-bypasses-router", message, obj=pt.obj, pointer=f"{c.pointer}/env"))
        elif value is not None:
            host, port = _ollama_listen(value)
            if host not in _LOOPBACK:
                message = f"{c.label} listens on {value!r}, reachable beside the router; bind it to 127.0.0.1"
                issues.append(Issue("ollama-bypasses-router", message, obj=pt.obj, pointer=f"{c.pointer}/env"))
        port_names = set()
        for i, p in enumerate(as_list(c.data.get("ports"))):
            if get_path(p, "hostPort"):
                issues.append(Issue("ollama-bypasses-router", f"{c.label} publishes a hostPort", obj=pt.obj, pointer=f"{c.pointer}/ports/{i}/hostPort"))
            if get_path(p, "containerPort") == port and isinstance(get_path(p, "name"), str):
                port_names.add(p["name"])
        for service in view.services:
            if not any(p is pt for p in view.pods_selected_by(service)):
                continue
            for i, sp in enumerate(as_list(get_path(service.data, "spec", "ports"))):
                target = get_path(sp, "targetPort")
                target = get_path(sp, "port") if target is None else target
                if target == port or target in port_names:
                    message = f"port {get_path(sp, 'port')} targets Ollama ({target}) in {pt.obj.ref} directly, bypassing the router"
                    issues.append(Issue("ollama-bypasses-router", message, obj=service, pointer=f"/spec/ports/{i}/targetPort"))
    return issues


def object_issues(obj: K8sObject) -> list[Issue]:
    """Probes and PVC retention: one object at a time."""
    issues: list[Issue] = []
    pt = pod_template(obj)
    if pt is not None:
        for c in pt.containers():
            probe = c.data.get("livenessProbe")
            reason = _model_dependent(probe) if isinstance(probe, dict) else ""
            if reason:
                message = f"liveness probe of {c.label} depends on a model: {reason}"
                issues.append(Issue("liveness-model-dependent", message, obj=obj, pointer=f"{c.pointer}/livenessProbe"))
        if obj.kind in LONG_RUNNING_KINDS:
            for c in _serving_containers(pt):
                if not isinstance(c.data.get("readinessProbe"), dict):
                    issues.append(Issue("no-readiness-probe", f"{c.label} has no readiness probe", obj=obj, pointer=c.pointer))
    if obj.kind == "PersistentVolumeClaim" and obj.annotations.get("helm.sh/resource-policy") != "keep":
        issues.append(Issue("pvc-not-kept", "helm uninstall deletes this claim and the models on it", obj=obj, pointer="/metadata/annotations"))
    if obj.kind == "StatefulSet" and get_path(obj.data, "spec", "persistentVolumeClaimRetentionPolicy", "whenDeleted") == "Delete":
        at = "/spec/persistentVolumeClaimRetentionPolicy/whenDeleted"
        issues.append(Issue("pvc-not-kept", "deleting the StatefulSet deletes its claims (whenDeleted: Delete)", obj=obj, pointer=at))
    return issues


def chart_issues(view: ChartView) -> list[Issue]:
    """The router rule needs the Services of the chart."""
    issues: list[Issue] = []
    for pt in view.pods:
        issues += _router_bypasses(view, pt)
    return issues
