"""Find pod templates and containers in workload objects, with their JSON pointers."""

from __future__ import annotations

import dataclasses
from typing import Iterator

from catalog_gen.lint.objects import K8sObject, as_dict, as_list, get_path

# kind -> path from the object root to the pod template ({metadata, spec}); () = the object is the pod.
POD_TEMPLATE_PATHS: dict[str, tuple[str, ...]] = {
    "Pod": (),
    "Deployment": ("spec", "template"),
    "StatefulSet": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "ReplicaSet": ("spec", "template"),
    "ReplicationController": ("spec", "template"),
    "Job": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
}
WORKLOAD_KINDS = tuple(POD_TEMPLATE_PATHS)
LONG_RUNNING_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController")


@dataclasses.dataclass(slots=True)
class Container:
    data: dict
    pointer: str  # e.g. /spec/template/spec/containers/0
    init: bool

    @property
    def name(self) -> str:
        name = self.data.get("name")
        return name if isinstance(name, str) else "?"

    @property
    def label(self) -> str:
        return f"{'init container' if self.init else 'container'} {self.name!r}"


@dataclasses.dataclass(slots=True)
class PodTemplate:
    obj: K8sObject
    metadata: dict
    spec: dict
    pointer: str  # of the template ("" for a Pod)

    @property
    def spec_pointer(self) -> str:
        return f"{self.pointer}/spec"

    @property
    def labels(self) -> dict:
        return as_dict(self.metadata.get("labels"))

    def containers(self, *, init: bool = True) -> Iterator[Container]:
        keys = ("initContainers", "containers") if init else ("containers",)
        for key in keys:
            for i, item in enumerate(as_list(self.spec.get(key))):
                if isinstance(item, dict):
                    yield Container(item, f"{self.spec_pointer}/{key}/{i}", key == "initContainers")

    def declared_ports(self) -> set[int]:
        return {
            port.get("containerPort")
            for c in self.containers()
            for port in as_list(c.data.get("ports"))
            if isinstance(port, dict) and isinstance(port.get("containerPort"), int)
        }


def pod_template(obj: K8sObject) -> PodTemplate | None:
    path = POD_TEMPLATE_PATHS.get(obj.kind)
    if path is None:
        return None
    template = get_path(obj.data, *path) if path else obj.data
    if not isinstance(template, dict):
        return None
    spec = template.get("spec")
    if not isinstance(spec, dict):
        return None
    return PodTemplate(obj, as_dict(template.get("metadata")), spec, "".join(f"/{p}" for p in path))


def image_parts(image: str) -> tuple[str, str, str]:
    """``registry/repo:tag@sha256:...`` -> (repository, tag, digest); missing parts are ""."""
    rest, _, digest = image.partition("@")
    slash = rest.rfind("/")
    colon = rest.rfind(":")
    if colon > slash:
        return rest[:colon], rest[colon + 1 :], digest
    return rest, "", digest


def env_value(container: Container, name: str) -> tuple[bool, str | None]:
    """(is set, literal value or None when it comes from valueFrom)."""
    for item in as_list(container.data.get("env")):
        if isinstance(item, dict) and item.get("name") == name:
            value = item.get("value")
            return True, value if isinstance(value, str) else (None if "valueFrom" in item else "")
    return False, None


def selector_matches(selector: dict, labels: dict) -> bool:
    """A plain label selector (Service, matchLabels) against pod labels."""
    return all(labels.get(key) == value for key, value in selector.items())


def label_selector_matches(selector: dict, labels: dict) -> bool:
    """A metav1.LabelSelector ({matchLabels, matchExpressions}) against pod labels."""
    if not selector_matches(as_dict(selector.get("matchLabels")), labels):
        return False
    for expr in as_list(selector.get("matchExpressions")):
        if not isinstance(expr, dict):
            continue
        key, op, values = expr.get("key"), expr.get("operator"), as_list(expr.get("values"))
        present = key in labels
        if op == "In" and not (present and labels[key] in values):
            return False
        if op == "NotIn" and present and labels[key] in values:
            return False
        if op == "Exists" and not present:
            return False
        if op == "DoesNotExist" and present:
            return False
    return True


@dataclasses.dataclass(slots=True)
class ChartView:
    """The objects of one rendered chart scenario, with the lookups cross-object checks need."""

    objects: list[K8sObject]
    pods: list[PodTemplate]
    services: list[K8sObject]

    @classmethod
    def build(cls, objects: list[K8sObject]) -> "ChartView":
        pods = [pt for obj in objects if (pt := pod_template(obj)) is not None]
        services = [obj for obj in objects if obj.kind == "Service" and obj.api_version == "v1"]
        return cls(objects, pods, services)

    def service(self, name: str, namespace: str) -> K8sObject | None:
        return next((s for s in self.services if s.name == name and same_namespace(s.namespace, namespace)), None)

    def pods_selected_by(self, service: K8sObject) -> list[PodTemplate]:
        selector = as_dict(get_path(service.data, "spec", "selector"))
        if not selector:
            return []
        return [
            pt for pt in self.pods if same_namespace(pt.obj.namespace, service.namespace) and selector_matches(selector, pt.labels)
        ]


def same_namespace(a: str, b: str) -> bool:
    """An object without metadata.namespace lands in the release namespace, which may be either."""
    return not a or not b or a == b
