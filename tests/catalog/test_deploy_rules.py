"""The rules about how a chart behaves on a cluster (deploy_rules.py), case by case beyond their fixtures."""

from __future__ import annotations

import pytest
import yaml

from catalog_gen.catalog.validate import validate_paths

BASE = {"workloadType": "OLLAMA_INFERENCE_LOAD", "serviceName": "svc", "serviceCatalog": "ml", "namespace": "ml",
        "environment": "dev", "model": "qwen2.5:0.5b"}


def findings(tmp_path, **changes) -> list[tuple[str, str, str]]:
    path = tmp_path / "dev" / "svc.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump({**BASE, **changes}), encoding="utf-8")
    return [(f.code, f.pointer, f.severity.value) for f in validate_paths([path]).findings]


@pytest.mark.parametrize("toleration, pointer", [
    ({"key": "gpu", "operator": "Exists", "value": "yes"}, "/container/tolerations/0/value"),
    ({"operator": "Equal", "value": "x"}, "/container/tolerations/0"),
    ({"key": "gpu", "effect": "NoSchedule", "tolerationSeconds": 30}, "/container/tolerations/0/tolerationSeconds"),
])
def test_tolerations_the_api_server_refuses(tmp_path, toleration, pointer):
    assert findings(tmp_path, container={"tolerations": [toleration]}) == [("leaf.placement", pointer, "error")]


@pytest.mark.parametrize("toleration", [
    {"key": "gpu", "operator": "Exists"},
    {"operator": "Exists"},
    {"key": "gpu", "value": "a10g", "effect": "NoExecute", "tolerationSeconds": 30},
])
def test_tolerations_the_api_server_accepts(tmp_path, toleration):
    assert findings(tmp_path, container={"tolerations": [toleration]}) == []


def test_duplicate_spread_constraints_are_refused(tmp_path):
    spread = [{"topologyKey": "kubernetes.io/hostname"}, {"topologyKey": "kubernetes.io/hostname"}]
    assert findings(tmp_path, container={"replicas": 2, "topologySpread": spread}) == [
        ("leaf.placement", "/container/topologySpread/1", "error")]
    spread[1]["whenUnsatisfiable"] = "DoNotSchedule"
    assert findings(tmp_path, container={"replicas": 2, "topologySpread": spread}) == []


def test_valid_affinity_passes(tmp_path):
    affinity = {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{
        "weight": 50, "podAffinityTerm": {"topologyKey": "kubernetes.io/hostname",
                                          "labelSelector": {"matchLabels": {"app": "svc"}}}}]}}
    assert findings(tmp_path, container={"affinity": affinity}) == []


def test_router_off_without_ingress_is_fine_and_with_the_flag_is_allowed(tmp_path):
    assert findings(tmp_path, router={"enabled": False}) == []
    ingress = {"enabled": True, "host": "svc.example.com", "publicModelManagement": True}
    assert findings(tmp_path, router={"enabled": False}, ingress=ingress) == []
    assert findings(tmp_path, ingress=ingress) == [("leaf.public-admin-api", "/ingress/publicModelManagement", "warning")]


def test_existing_claim_with_one_replica_is_fine(tmp_path):
    assert findings(tmp_path, cache={"mode": "pvc", "existingClaim": "team"}) == []
    assert findings(tmp_path, cache={"mode": "pvc", "existingClaim": "team"},
                    autoscaling={"enabled": True, "maxReplicas": 3}) == [
        ("leaf.cache-claim", "/cache/existingClaim", "error")]


def test_device_groups_only_for_amd(tmp_path):
    assert findings(tmp_path, gpu={"count": 1, "vendor": "amd", "deviceGroups": [44, 110]}) == []
    assert findings(tmp_path, gpu={"count": 1, "vendor": "nvidia", "deviceGroups": [44]}) == [
        ("leaf.placement", "/gpu/deviceGroups", "warning")]


def test_fix_ownership_only_for_shared(tmp_path):
    assert findings(tmp_path, cache={"mode": "shared", "size": "10Gi", "fixOwnership": True}) == []
    assert findings(tmp_path, cache={"mode": "pvc", "fixOwnership": True}) == [("leaf.cache-claim", "/cache/fixOwnership", "warning")]


def test_cilium_read_from_the_class_warns_until_named(tmp_path):
    ingress = {"enabled": True, "host": "svc.example.com", "gatewayClassName": "cilium"}
    assert findings(tmp_path, ingress=ingress) == [("leaf.gateway-traffic", "/ingress", "warning")]
    assert findings(tmp_path, ingress={**ingress, "controller": "cilium"}) == []
    assert findings(tmp_path, ingress={**ingress, "allowFromNamespaces": ["edge"]}) == []


@pytest.mark.parametrize("path", ["/router", "/router/state"])
def test_routing_the_worker_state_endpoint_is_refused(tmp_path, path):
    ingress = {"enabled": True, "host": "svc.example.com", "paths": ["/", path]}
    assert findings(tmp_path, ingress=ingress) == [("leaf.route-paths", "/ingress/paths/1", "error")]


def test_a_path_that_only_starts_like_the_router_internals_is_routed(tmp_path):
    ingress = {"enabled": True, "host": "svc.example.com", "paths": ["/routers"]}
    assert findings(tmp_path, ingress=ingress) == []
