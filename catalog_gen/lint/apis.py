"""Removed and deprecated built-in APIs, from the Kubernetes deprecation guide.

``helm lint`` only warns about these (and not at all for some), while the API
server of the chosen version rejects a removed one outright: a chart with
``policy/v1beta1`` PodDisruptionBudget lints fine and fails at sync.
Custom resource versions are handled in ``schemas.py`` from the CRD's own
``served`` and ``deprecated`` flags.
"""

from __future__ import annotations

from catalog_gen.lint.objects import Issue, K8sObject

# (apiVersion, kind) -> (deprecated in, removed in or "", replacement)
_TABLE: dict[tuple[str, str], tuple[str, str, str]] = {}


def _add(api_version: str, kinds: str, deprecated: str, removed: str, replacement: str) -> None:
    for kind in kinds.split():
        _TABLE[(api_version, kind)] = (deprecated, removed, replacement)


for _api in ("extensions/v1beta1", "apps/v1beta1", "apps/v1beta2"):
    _add(_api, "Deployment DaemonSet ReplicaSet StatefulSet", "1.9", "1.16", "apps/v1")
_add("extensions/v1beta1", "NetworkPolicy", "1.9", "1.16", "networking.k8s.io/v1")
_add("extensions/v1beta1", "PodSecurityPolicy", "1.11", "1.16", "Pod Security Admission")
_add("extensions/v1beta1", "Ingress", "1.14", "1.22", "networking.k8s.io/v1")
_add("networking.k8s.io/v1beta1", "Ingress IngressClass", "1.19", "1.22", "networking.k8s.io/v1")
_add("admissionregistration.k8s.io/v1beta1", "MutatingWebhookConfiguration ValidatingWebhookConfiguration", "1.16", "1.22", "admissionregistration.k8s.io/v1")
_add("apiextensions.k8s.io/v1beta1", "CustomResourceDefinition", "1.16", "1.22", "apiextensions.k8s.io/v1")
_add("apiregistration.k8s.io/v1beta1", "APIService", "1.19", "1.22", "apiregistration.k8s.io/v1")
_add("authentication.k8s.io/v1beta1", "TokenReview", "1.19", "1.22", "authentication.k8s.io/v1")
_add(
    "authorization.k8s.io/v1beta1",
    "SubjectAccessReview LocalSubjectAccessReview SelfSubjectAccessReview",
    "1.19",
    "1.22",
    "authorization.k8s.io/v1",
)
_add("certificates.k8s.io/v1beta1", "CertificateSigningRequest", "1.19", "1.22", "certificates.k8s.io/v1")
_add("coordination.k8s.io/v1beta1", "Lease", "1.19", "1.22", "coordination.k8s.io/v1")
_add("rbac.authorization.k8s.io/v1beta1", "ClusterRole ClusterRoleBinding Role RoleBinding", "1.17", "1.22", "rbac.authorization.k8s.io/v1")
_add("scheduling.k8s.io/v1beta1", "PriorityClass", "1.14", "1.22", "scheduling.k8s.io/v1")
_add("storage.k8s.io/v1beta1", "CSIDriver CSINode StorageClass VolumeAttachment", "1.19", "1.22", "storage.k8s.io/v1")
_add("batch/v1beta1", "CronJob", "1.21", "1.25", "batch/v1")
_add("discovery.k8s.io/v1beta1", "EndpointSlice", "1.21", "1.25", "discovery.k8s.io/v1")
_add("events.k8s.io/v1beta1", "Event", "1.19", "1.25", "events.k8s.io/v1")
_add("autoscaling/v2beta1", "HorizontalPodAutoscaler", "1.22", "1.25", "autoscaling/v2")
_add("policy/v1beta1", "PodDisruptionBudget", "1.21", "1.25", "policy/v1")
_add("policy/v1beta1", "PodSecurityPolicy", "1.21", "1.25", "Pod Security Admission")
_add("node.k8s.io/v1beta1", "RuntimeClass", "1.20", "1.25", "node.k8s.io/v1")
_add("autoscaling/v2beta2", "HorizontalPodAutoscaler", "1.23", "1.26", "autoscaling/v2")
_add("flowcontrol.apiserver.k8s.io/v1beta1", "FlowSchema PriorityLevelConfiguration", "1.23", "1.26", "flowcontrol.apiserver.k8s.io/v1")
_add("storage.k8s.io/v1beta1", "CSIStorageCapacity", "1.24", "1.27", "storage.k8s.io/v1")
_add("flowcontrol.apiserver.k8s.io/v1beta2", "FlowSchema PriorityLevelConfiguration", "1.26", "1.29", "flowcontrol.apiserver.k8s.io/v1")
_add("flowcontrol.apiserver.k8s.io/v1beta3", "FlowSchema PriorityLevelConfiguration", "1.29", "1.32", "flowcontrol.apiserver.k8s.io/v1")
_add("v1", "Endpoints", "1.33", "", "discovery.k8s.io/v1 EndpointSlice")
_add("v1", "ComponentStatus", "1.19", "", "the health endpoints of each component")


def _minor(version: str) -> tuple[int, int]:
    major, minor = version.split(".")[:2]
    return int(major), int(minor)


def lifecycle(obj: K8sObject, kube_version: str) -> Issue | None:
    """api-removed / api-deprecated for a built-in apiVersion in ``kube_version``, else None."""
    entry = _TABLE.get((obj.api_version, obj.kind))
    if entry is None:
        return None
    deprecated, removed, replacement = entry
    target = _minor(kube_version)
    if removed and target >= _minor(removed):
        return Issue(
            "api-removed",
            f"{obj.api_version} {obj.kind} was removed in Kubernetes {removed}; "
            f"the {kube_version} API server rejects it (use {replacement})",
            obj=obj,
            pointer="/apiVersion",
        )
    if target >= _minor(deprecated):
        until = f" and is removed in {removed}" if removed else ""
        return Issue(
            "api-deprecated",
            f"{obj.api_version} {obj.kind} is deprecated since Kubernetes {deprecated}{until} (use {replacement})",
            obj=obj,
            pointer="/apiVersion",
        )
    return None
