"""Validate each object against its schema: built-in Kubernetes kinds, then CRDs, else say it is missing.

Order per object: a removed built-in apiVersion is reported and not
validated further (no schema exists for it); a built-in kind is validated
against the strict Kubernetes schema of ``--kube-version``; a custom resource
against its CRD version (an unserved version is ``api-removed``, a deprecated
one ``api-deprecated``); anything else is ``schema-missing`` naming the CRD to
pass with ``--crds``. Every schema error of an object is reported.
"""

from __future__ import annotations

import json
from typing import Iterable

import jsonschema_rs

from catalog_gen.lint import apis
from catalog_gen.lint.crds import CrdStore
from catalog_gen.lint.kube_schemas import KubeSchemas
from catalog_gen.lint.objects import Issue, K8sObject, pointer


def _short(value: object) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def _issues(errors: Iterable[jsonschema_rs.ValidationError], obj: K8sObject, check: str, what: str) -> list[Issue]:
    issues = []
    for error in errors:
        path = list(error.instance_path)
        kind = error.kind
        name = kind.name
        if name == "additionalProperties":
            for key in sorted(kind.unexpected):
                issues.append(Issue(check, f"unknown field {key!r} (not in the {what} schema)", obj=obj, pointer=pointer(*path, key)))
            continue
        if name == "required":
            issues.append(Issue(check, f"required field {kind.property!r} is missing", obj=obj, pointer=pointer(*path, kind.property)))
            continue
        if name == "type":
            wanted = " or ".join(t for t in kind.types if t != "null")
            message = f"{_short(error.instance)} is not of type {wanted}"
        else:
            message = error.message
        issues.append(Issue(check, message, obj=obj, pointer=pointer(*path)))
    return issues


def crd_name(kind: str, group: str) -> str:
    """The usual CRD name, <plural>.<group>, with English plural rules as kubebuilder applies them."""
    lower = kind.lower()
    if lower.endswith(("s", "x", "z", "ch", "sh")):
        plural = lower + "es"
    elif lower.endswith("y") and lower[-2:-1] not in tuple("aeiou"):
        plural = lower[:-1] + "ies"
    else:
        plural = lower + "s"
    return f"{plural}.{group}"


def _is_builtin_group(group: str) -> bool:
    return group == "" or "." not in group or group.endswith(".k8s.io")


def check_schema(obj: K8sObject, kube: KubeSchemas, crds: CrdStore, require_schemas: bool) -> list[Issue]:
    lifecycle = apis.lifecycle(obj, kube.version)
    if lifecycle is not None and lifecycle.check == "api-removed":
        return [lifecycle]
    issues = [lifecycle] if lifecycle else []
    validator = kube.validator(obj.api_version, obj.kind)
    if validator is not None:
        what = f"Kubernetes {kube.version} {obj.api_version} {obj.kind}"
        return issues + _issues(validator.iter_errors(obj.data), obj, "kube-schema", what)
    versions = crds.versions(obj.group, obj.kind)
    if versions:
        crd = versions.get(obj.version)
        if crd is None or not crd.served:
            served = ", ".join(sorted(v.version for v in versions.values() if v.served)) or "none"
            source = next(iter(versions.values())).source
            issues.append(
                Issue(
                    "api-removed",
                    f"the CRD of {obj.kind}.{obj.group} ({source}) does not serve {obj.version}; served versions: {served}",
                    obj=obj,
                    pointer="/apiVersion",
                )
            )
            return issues
        if crd.deprecated:
            warning = crd.deprecation_warning or f"{obj.api_version} {obj.kind} is deprecated"
            issues.append(Issue("api-deprecated", f"{warning} (CRD {crd.source})", obj=obj, pointer="/apiVersion"))
        what = f"CRD {obj.kind}.{obj.group} {obj.version}"
        return issues + _issues(crds.validator(crd, kube).iter_errors(obj.data), obj, "crd-schema", what)
    if obj.kind.lower() in kube.known_kinds and _is_builtin_group(obj.group):
        issues.append(
            Issue(
                "kube-schema",
                f"Kubernetes {kube.version} has no {obj.api_version} {obj.kind}; check the apiVersion",
                obj=obj,
                pointer="/apiVersion",
            )
        )
        return issues
    where = ", ".join(str(d) for d in crds.directories) or "no --crds directory given"
    issues.append(
        Issue(
            "schema-missing",
            f"no schema for {obj.api_version} {obj.kind}: CRD {crd_name(obj.kind, obj.group)} "
            f"was not found ({where}); the object was not validated",
            obj=obj,
            pointer="/apiVersion",
            severity="error" if require_schemas else "",
        )
    )
    return issues
