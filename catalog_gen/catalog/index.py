"""Rules across the catalog: identities, output paths and hosts are unique; then the rules across environments
(`environments.CROSS_RULES`: clusters, hosts, shared objects, folders, GitOps settings)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from catalog_gen.errors import Finding, Severity

if TYPE_CHECKING:
    from catalog_gen.catalog.validate import Leaf


def chart_path(data: dict) -> str:
    """Where a leaf's chart goes under the charts folder: <environment>/<serviceName>."""
    return f"{data['environment']}/{data['serviceName']}"


def _finding(leaf: "Leaf", pointer: str, code: str, message: str, hint: str) -> Finding:
    pos = leaf.doc.where(pointer)
    return Finding(pos.file, pos.line, pos.column, pointer, code, Severity.ERROR, message, hint)


def cross_leaf_findings(leaves: list["Leaf"]) -> list[Finding]:
    findings: list[Finding] = []
    identities: dict[tuple, "Leaf"] = {}
    paths: dict[str, "Leaf"] = {}
    hosts: dict[tuple, "Leaf"] = {}
    for leaf in sorted(leaves, key=lambda item: item.doc.display):
        data = leaf.data
        identity = (data["environment"], data["namespace"], data["serviceName"])
        if identity in identities:
            other = identities[identity]
            findings.append(_finding(leaf, "/serviceName", "catalog.duplicate-service",
                                     f"service {identity[2]!r} in namespace {identity[1]!r} of {identity[0]!r} is also defined in {other.doc.display}",
                                     "rename one serviceName, or delete the copy"))
        else:
            identities[identity] = leaf
            path = chart_path(data)
            if path in paths:
                other = paths[path]
                findings.append(_finding(leaf, "/serviceName", "catalog.duplicate-output",
                                         f"this leaf renders to charts/{path}, as {other.doc.display} does",
                                         "serviceName must be unique within an environment; rename one"))
            else:
                paths[path] = leaf
        ingress = data.get("ingress") or {}
        host = ingress.get("host")
        if ingress.get("enabled") and host:
            key = (data["environment"], host.lower())
            if key in hosts and hosts[key].data["serviceName"] != data["serviceName"]:
                other = hosts[key]
                findings.append(_finding(leaf, "/ingress/host", "catalog.duplicate-host",
                                         f"host {host!r} is already claimed in {data['environment']!r} by {other.data['serviceName']!r} ({other.doc.display})",
                                         "give each service its own host name per environment"))
            else:
                hosts.setdefault(key, leaf)
    from catalog_gen.catalog.environments import environment_findings

    findings.extend(environment_findings(leaves))
    return findings
