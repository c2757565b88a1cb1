"""Checks beyond schemas: what the API server or the cluster rejects although the schema allows it.

The Kubernetes schemas accept any string as a quantity and any string as a
name, and cannot see across objects. These checks do: quantities that do not
parse, names that break RFC 1123, selectors that match nothing, probes on
ports nobody declares, routes to Services that do not exist, duplicate
objects. (``null`` values and duplicate keys are found while parsing, in
``manifests.py``.)
"""

from __future__ import annotations

import re
from typing import Iterator

from catalog_gen import patterns
from catalog_gen.lint.objects import Issue, K8sObject, as_dict, as_list, get_path, pointer
from catalog_gen.lint.podspec import ChartView, label_selector_matches, pod_template

_QUANTITY = re.compile(patterns.QUANTITY)
_DNS_LABEL = re.compile(patterns.DNS_LABEL)
_DNS_1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(patterns.DNS_SUBDOMAIN)
_LABEL_VALUE = re.compile(patterns.LABEL_VALUE)
_LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_IANA_SVC_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
_RESOURCE_MAPS = ("requests", "limits")


def _bad_quantity(value: object) -> bool:
    if value is None:
        return False  # null-value reports it
    if isinstance(value, bool):
        return True
    if isinstance(value, (int, float)):
        return value < 0
    return not (isinstance(value, str) and _QUANTITY.match(value))


def _resource_maps(resources: object, at: str) -> Iterator[tuple[str, object]]:
    for which in _RESOURCE_MAPS:
        for name, value in as_dict(as_dict(resources).get(which)).items():
            yield f"{at}/{which}/{pointer(name)[1:]}", value


def _quantities(obj: K8sObject) -> Iterator[tuple[str, object]]:
    pt = pod_template(obj)
    if pt is not None:
        for c in pt.containers():
            yield from _resource_maps(c.data.get("resources"), f"{c.pointer}/resources")
        yield from _resource_maps(pt.spec.get("resources"), f"{pt.spec_pointer}/resources")
        for name, value in as_dict(pt.spec.get("overhead")).items():
            yield f"{pt.spec_pointer}/overhead{pointer(name)}", value
        for i, volume in enumerate(as_list(pt.spec.get("volumes"))):
            size = get_path(volume, "emptyDir", "sizeLimit")
            if size is not None:
                yield f"{pt.spec_pointer}/volumes/{i}/emptyDir/sizeLimit", size
            claim = get_path(volume, "ephemeral", "volumeClaimTemplate", "spec", "resources")
            yield from _resource_maps(claim, f"{pt.spec_pointer}/volumes/{i}/ephemeral/volumeClaimTemplate/spec/resources")
    if obj.kind == "PersistentVolumeClaim":
        yield from _resource_maps(get_path(obj.data, "spec", "resources"), "/spec/resources")
    if obj.kind == "StatefulSet":
        for i, claim in enumerate(as_list(get_path(obj.data, "spec", "volumeClaimTemplates"))):
            yield from _resource_maps(get_path(claim, "spec", "resources"), f"/spec/volumeClaimTemplates/{i}/spec/resources")
    if obj.kind == "ResourceQuota":
        for name, value in as_dict(get_path(obj.data, "spec", "hard")).items():
            yield f"/spec/hard{pointer(name)}", value


def check_quantities(obj: K8sObject) -> list[Issue]:
    return [
        Issue("quantity-invalid", f"{value!r} is not a Kubernetes quantity", obj=obj, pointer=at)
        for at, value in _quantities(obj)
        if _bad_quantity(value)
    ]


def _name_problem(name: str, kind: str) -> str:
    """Kubernetes' name rule per kind (as Helm's lint and the API server apply them)."""
    if kind in ("Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"):
        ok = name not in (".", "..") and not any(ch in name for ch in "/%")
        return "" if ok else "is not a valid path segment name (no '/', '%', '.' or '..')"
    if kind == "CertificateSigningRequest":
        return ""
    if kind == "Service":
        ok, rule = len(name) <= 63 and _DNS_1035.match(name), "an RFC 1035 label (a letter first, at most 63 characters)"
    elif kind == "Namespace":
        ok, rule = len(name) <= 63 and _DNS_LABEL.match(name), "an RFC 1123 label (at most 63 characters)"
    else:
        ok, rule = len(name) <= 253 and _DNS_SUBDOMAIN.match(name), "an RFC 1123 subdomain (at most 253 characters)"
    return "" if ok else f"is not {rule}"


def _label_key_problem(key: str) -> str:
    prefix, _, name = key.rpartition("/")
    if prefix and (len(prefix) > 253 or not _DNS_SUBDOMAIN.match(prefix)):
        return "has a prefix that is not an RFC 1123 subdomain"
    if len(name) > 63 or not _LABEL_NAME.match(name):
        return "is not a valid label name (letters, digits, '-', '_', '.', at most 63)"
    return ""


def _port_name_problem(name: str) -> str:
    if len(name) > 15 or not _IANA_SVC_NAME.match(name) or "--" in name or not re.search("[a-z]", name):
        return "is not a valid port name (at most 15 lower-case letters, digits and '-', with a letter)"
    return ""


def check_names(obj: K8sObject) -> list[Issue]:
    issues = []

    def check(problem: str, at: str, what: str) -> None:
        if problem:
            issues.append(Issue("name-invalid", f"{what} {problem}", obj=obj, pointer=at))

    if obj.name and get_path(obj.data, "metadata", "name") == obj.name:
        check(_name_problem(obj.name, obj.kind), "/metadata/name", f"name {obj.name!r}")
    label_maps = [("/metadata/labels", get_path(obj.data, "metadata", "labels"))]
    pt = pod_template(obj)
    if pt is not None:
        label_maps.append((f"{pt.pointer}/metadata/labels", pt.metadata.get("labels")))
        for c in pt.containers():
            if isinstance(c.data.get("name"), str) and not (len(c.name) <= 63 and _DNS_LABEL.match(c.name)):
                check("is not an RFC 1123 label", f"{c.pointer}/name", f"container name {c.name!r}")
            for i, port in enumerate(as_list(c.data.get("ports"))):
                name = get_path(port, "name")
                if isinstance(name, str):
                    check(_port_name_problem(name), f"{c.pointer}/ports/{i}/name", f"port name {name!r}")
        for i, volume in enumerate(as_list(pt.spec.get("volumes"))):
            name = get_path(volume, "name")
            if isinstance(name, str) and not (len(name) <= 63 and _DNS_LABEL.match(name)):
                check("is not an RFC 1123 label", f"{pt.spec_pointer}/volumes/{i}/name", f"volume name {name!r}")
    if obj.kind == "Service":
        for i, port in enumerate(as_list(get_path(obj.data, "spec", "ports"))):
            name = get_path(port, "name")
            if isinstance(name, str) and name and not (len(name) <= 63 and _DNS_LABEL.match(name)):
                check("is not an RFC 1123 label", f"/spec/ports/{i}/name", f"port name {name!r}")
    for at, labels in label_maps:
        for key, value in as_dict(labels).items():
            problem = _label_key_problem(key)
            if problem:
                check(problem, f"{at}{pointer(key)}", f"label key {key!r}")
            if isinstance(value, str) and (len(value) > 63 or not _LABEL_VALUE.match(value)):
                check("is not a valid label value (at most 63 characters)", f"{at}{pointer(key)}", f"label value {value!r}")
    return issues


def check_selector(obj: K8sObject) -> list[Issue]:
    pt = pod_template(obj)
    selector = get_path(obj.data, "spec", "selector")
    if pt is None or obj.kind in ("Pod", "CronJob") or not isinstance(selector, dict) or not selector:
        return []
    if obj.kind == "ReplicationController":
        matches = all(pt.labels.get(k) == v for k, v in selector.items())
    else:
        matches = label_selector_matches(selector, pt.labels)
    if matches:
        return []
    return [Issue("selector-mismatch", "spec.selector does not match the pod template labels", obj=obj, pointer="/spec/selector")]


def check_services(view: ChartView) -> list[Issue]:
    issues = []
    for service in view.services:
        selector = as_dict(get_path(service.data, "spec", "selector"))
        if not selector or get_path(service.data, "spec", "type") == "ExternalName":
            continue
        if not view.pods_selected_by(service):
            shown = ", ".join(f"{k}={v}" for k, v in sorted(selector.items()))
            issues.append(
                Issue("dangling-service", f"selector {shown} matches no pod template in the chart", obj=service, pointer="/spec/selector")
            )
    return issues


def check_probe_ports(obj: K8sObject) -> list[Issue]:
    pt = pod_template(obj)
    if pt is None:
        return []
    issues = []
    declared = pt.declared_ports()
    for c in pt.containers():
        names = {p.get("name") for p in as_list(c.data.get("ports")) if isinstance(p, dict)}
        for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
            for handler in ("httpGet", "tcpSocket", "grpc"):
                port = get_path(c.data, probe, handler, "port")
                at = f"{c.pointer}/{probe}/{handler}/port"
                if isinstance(port, str) and port not in names:
                    message = f"{probe} of {c.label} uses port name {port!r}, which the container does not define"
                    issues.append(Issue("probe-port-unknown", message, obj=obj, pointer=at))
                elif isinstance(port, int) and not isinstance(port, bool) and port not in declared:
                    message = f"{probe} of {c.label} uses port {port}, which no container of the pod declares"
                    issues.append(Issue("probe-port-unknown", message, obj=obj, pointer=at))
    return issues


def check_routes(view: ChartView) -> list[Issue]:
    issues = []
    for route in view.objects:
        if route.kind not in ("HTTPRoute", "GRPCRoute") or not route.group.startswith("gateway.networking.k8s.io"):
            continue
        for i, rule in enumerate(as_list(get_path(route.data, "spec", "rules"))):
            for j, ref in enumerate(as_list(get_path(rule, "backendRefs"))):
                if not isinstance(ref, dict) or ref.get("group", "") not in ("", "core") or ref.get("kind", "Service") != "Service":
                    continue
                if ref.get("namespace", route.namespace) != route.namespace or not isinstance(ref.get("name"), str):
                    continue  # a backend in another namespace lives elsewhere
                at = f"/spec/rules/{i}/backendRefs/{j}"
                service = view.service(ref["name"], route.namespace)
                if service is None:
                    issues.append(Issue("route-backend-missing", f"backendRef to Service {ref['name']!r}, which the chart does not create", obj=route, pointer=f"{at}/name"))
                    continue
                ports = {get_path(p, "port") for p in as_list(get_path(service.data, "spec", "ports"))}
                if "port" in ref and ref["port"] not in ports:
                    shown = ", ".join(str(p) for p in sorted(p for p in ports if isinstance(p, int))) or "none"
                    issues.append(Issue("route-backend-missing", f"backendRef to port {ref['port']} of Service {ref['name']!r}, which has ports {shown}", obj=route, pointer=f"{at}/port"))
    return issues


def check_duplicates(view: ChartView) -> list[Issue]:
    seen: dict[tuple[str, str, str, str], K8sObject] = {}
    issues = []
    for obj in view.objects:
        key = (obj.group, obj.kind, obj.namespace, obj.name)
        if key in seen:
            first = seen[key]
            issues.append(Issue("duplicate-object", f"{obj.ref} is also defined in {first.template}", obj=obj, pointer="/metadata/name"))
        else:
            seen[key] = obj
    return issues


def object_issues(obj: K8sObject) -> list[Issue]:
    """Checks that look at one object only."""
    return check_quantities(obj) + check_names(obj) + check_selector(obj) + check_probe_ports(obj)


def chart_issues(view: ChartView) -> list[Issue]:
    """Checks across the objects of the chart."""
    return check_services(view) + check_routes(view) + check_duplicates(view)
