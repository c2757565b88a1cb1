"""Kubernetes schema selection, version handling and error reporting."""

from __future__ import annotations

import pytest

from catalog_gen.errors import UsageError
from catalog_gen.lint.crds import CrdStore
from catalog_gen.lint.kube_schemas import KubeSchemas, available_versions, normalize_version, schema_file_stem
from catalog_gen.lint.objects import K8sObject
from catalog_gen.lint.schemas import check_schema, crd_name

KUBE = KubeSchemas.for_version("1.31")
NO_CRDS = CrdStore(())


def _obj(data):
    return K8sObject(data, "templates/x.yaml", 0, data["apiVersion"], data["kind"], data["metadata"]["name"])


def test_versions_shipped_and_normalized():
    assert {"1.25", "1.31", "1.37"} <= set(available_versions())
    assert normalize_version("v1.31.2") == "1.31"
    assert normalize_version("1.33") == "1.33"
    for bad in ("1.20", "banana", "2.0"):
        with pytest.raises(UsageError, match="not supported"):
            normalize_version(bad)


def test_schema_file_names_follow_kubernetes_validate():
    assert schema_file_stem("apps/v1", "Deployment") == "deployment-apps-v1"
    assert schema_file_stem("v1", "Service") == "service-v1"
    assert schema_file_stem("rbac.authorization.k8s.io/v1", "Role") == "role-rbac-v1"


def test_a_custom_group_never_borrows_a_builtin_schema():
    assert KUBE.validator("networking.k8s.io/v1", "Ingress") is not None
    assert KUBE.validator("networking.istio.io/v1", "Ingress") is None


def test_every_error_of_an_object_is_reported():
    data = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "s", "labelz": {}},
        "spec": {"ports": [{"port": "eighty", "bogus": 1}], "typo": True},
    }
    issues = check_schema(_obj(data), KUBE, NO_CRDS, False)
    assert sorted((i.check, i.pointer) for i in issues) == [
        ("kube-schema", "/metadata/labelz"),
        ("kube-schema", "/spec/ports/0/bogus"),
        ("kube-schema", "/spec/ports/0/port"),
        ("kube-schema", "/spec/typo"),
    ]


def test_unknown_version_of_a_builtin_kind_is_a_schema_error_not_a_missing_crd():
    data = {"apiVersion": "apps/v1beta9", "kind": "Deployment", "metadata": {"name": "d"}}
    [issue] = check_schema(_obj(data), KUBE, NO_CRDS, False)
    assert issue.check == "kube-schema" and "has no apps/v1beta9 Deployment" in issue.message


def test_missing_crd_is_a_warning_or_an_error_when_required():
    data = {"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "metadata": {"name": "s"}}
    [warning] = check_schema(_obj(data), KUBE, NO_CRDS, False)
    [error] = check_schema(_obj(data), KUBE, NO_CRDS, True)
    assert warning.check == error.check == "schema-missing"
    assert (warning.severity, error.severity) == ("", "error")
    assert "scaledobjects.keda.sh" in warning.message


def test_crd_names_use_kubebuilder_plurals():
    assert crd_name("Ingress", "x.io") == "ingresses.x.io"
    assert crd_name("Policy", "x.io") == "policies.x.io"
    assert crd_name("Gateway", "x.io") == "gateways.x.io"
    assert crd_name("HTTPRoute", "gateway.networking.k8s.io") == "httproutes.gateway.networking.k8s.io"
