"""Monitoring and autoscaling objects in the service chart, behind the leaf's switches.

ServiceMonitor, PrometheusRule and dashboard need the router (the only metrics source);
the NetworkPolicy admits the monitoring namespace to the router port; KEDA (or an HPA)
scales on queue depth and requests in flight with the leaf's bounds; scale to zero only
with an activation signal that exists at zero replicas.
"""

from __future__ import annotations

import json
import math

import gitops_helpers as g
import pytest

from catalog_gen.catalog.validate import validate_paths


def render_one(tmp_path, **changes) -> list[dict]:
    data = g.leaf(**changes)
    g.write_leaf(tmp_path / "catalog", data)
    g.render(tmp_path)
    return g.service_objects(tmp_path / "charts", data["environment"], data["serviceName"], data["namespace"])


def ingress_sources(objects) -> list[list[str]]:
    policy = g.one(objects, "NetworkPolicy")
    return [sorted(p.get("namespaceSelector", {}).get("matchLabels", {}).get("kubernetes.io/metadata.name", "pods")
                   for p in rule["from"]) for rule in policy["spec"]["ingress"]]


def test_defaults_give_monitoring_and_admit_prometheus_to_the_router_port(tmp_path):
    objects = render_one(tmp_path, monitoring={"labels": {"release": "prom"}})
    monitor = g.one(objects, "ServiceMonitor")
    assert monitor["metadata"]["labels"]["release"] == "prom"
    assert monitor["spec"]["endpoints"] == [{"port": "http", "path": "/metrics", "scheme": "http", "interval": "30s",
                                             "scrapeTimeout": "10s"}]
    service = g.one(objects, "Service")
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    assert g.one(objects, "PrometheusRule")["metadata"]["labels"]["release"] == "prom"
    assert ingress_sources(objects) == [["pods"], ["monitoring"]]  # no ingress: only this namespace, and Prometheus
    rule = g.one(objects, "NetworkPolicy")["spec"]["ingress"][1]
    assert rule["ports"] == [{"port": "http", "protocol": "TCP"}]


def test_switches_turn_each_object_off(tmp_path):
    objects = render_one(tmp_path, monitoring={"serviceMonitor": False, "prometheusRule": False, "dashboard": False})
    assert not {"ServiceMonitor", "PrometheusRule"} & {o["kind"] for o in objects}
    assert not [o for o in g.of_kind(objects, "ConfigMap") if o["metadata"]["name"].endswith("-dashboard")]
    assert ingress_sources(objects) == [["pods"]]  # nobody scrapes: no extra door


def test_without_the_router_nothing_reads_metrics(tmp_path):
    objects = render_one(tmp_path, router={"enabled": False}, autoscaling={"enabled": True, "maxReplicas": 3})
    kinds = {o["kind"] for o in objects}
    assert not kinds & {"ServiceMonitor", "PrometheusRule", "ScaledObject", "HorizontalPodAutoscaler"}
    assert len(g.of_kind(objects, "ConfigMap")) == 1  # the config, no dashboard
    assert g.one(objects, "Deployment")["spec"]["replicas"] == 1  # no autoscaler: fixed replicas


def test_alert_thresholds_come_from_the_leaf(tmp_path):
    objects = render_one(tmp_path, monitoring={"alerts": {"queueDepth": 7, "errorRatio": 0.05, "modelLoadP99Seconds": 30}})
    rules = {r["alert"]: r for r in g.one(objects, "PrometheusRule")["spec"]["groups"][0]["rules"]}
    assert rules["OllamaQueueBacklog"]["expr"].endswith("> 7")
    assert rules["OllamaHighErrorRate"]["expr"].endswith("> 0.05")
    assert rules["OllamaSlowModelLoad"]["expr"].endswith("> 30")
    assert 'job="svc",namespace="ml-test"' in rules["OllamaQueueBacklog"]["expr"]
    assert "or vector(0)" in rules["OllamaNoReadyReplica"]["expr"]  # no pod at all also pages
    assert rules["OllamaModelNotReady"]["for"] == "600s"


def test_keda_scales_on_queue_depth_and_inflight_with_the_leaf_bounds(tmp_path):
    objects = render_one(tmp_path, autoscaling={"enabled": True, "minReplicas": 2, "maxReplicas": 5, "targetQueueDepth": 6,
                                                "cooldownSeconds": 120, "fallbackReplicas": 3},
                         monitoring={"prometheusUrl": "http://prom.example:9090"})
    spec = g.one(objects, "ScaledObject")["spec"]
    assert spec["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "svc"}
    assert (spec["minReplicaCount"], spec["maxReplicaCount"], spec["cooldownPeriod"]) == (2, 5, 120)
    assert spec["fallback"] == {"failureThreshold": 3, "replicas": 3}
    triggers = {t["name"]: t for t in spec["triggers"]}
    assert set(triggers) == {"queue-depth", "inflight"}  # no activation trigger without scale to zero
    assert triggers["queue-depth"]["metadata"]["threshold"] == "6"
    assert triggers["queue-depth"]["metricType"] == "AverageValue"
    assert triggers["inflight"]["metadata"]["serverAddress"] == "http://prom.example:9090"
    deployment = g.one(objects, "Deployment")
    assert "replicas" not in deployment["spec"]
    assert g.of_kind(objects, "PodDisruptionBudget")  # up to 5 replicas


def test_inflight_target_defaults_to_most_of_the_pod_slots(example_charts):
    objects = g.service_objects(example_charts, "prod", "assistant", "ml-prod")
    slots = json.loads(g.one([o for o in g.of_kind(objects, "ConfigMap") if o["metadata"]["name"] == "assistant-config"],
                             "ConfigMap")["data"]["router.json"])["slotsPerBackend"]
    triggers = {t["name"]: t for t in g.one(objects, "ScaledObject")["spec"]["triggers"]}
    assert triggers["inflight"]["metadata"]["threshold"] == str(math.floor(0.8 * slots * 2))  # two Ollama processes


def test_scale_to_zero_wakes_on_the_leaf_activation_query(example_charts):
    objects = g.service_objects(example_charts, "dev", "chat-multi", "ml-workloads")
    spec = g.one(objects, "ScaledObject")["spec"]
    assert spec["minReplicaCount"] == 0
    activation = [t for t in spec["triggers"] if t["name"] == "activation"]
    # the example runs on Envoy Gateway: at zero replicas it answers 503 at once, counted as `none_healthy`
    assert activation and "envoy_cluster_upstream_cx_none_healthy" in activation[0]["metadata"]["query"]
    rules = {r["alert"]: r for r in g.one(objects, "PrometheusRule")["spec"]["groups"][0]["rules"]}
    assert "or vector(0)" not in rules["OllamaNoReadyReplica"]["expr"]  # zero pods is normal here
    assert not [j for j in g.of_kind(objects, "Job") if j["metadata"]["name"].endswith("-smoke")]  # asleep after a sync


def test_hpa_engine_uses_the_same_per_pod_metrics(example_charts):
    objects = g.service_objects(example_charts, "dev", "tiny-cpu", "ml-workloads")
    assert not g.of_kind(objects, "ScaledObject")
    hpa = g.one(objects, "HorizontalPodAutoscaler")["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (1, 3)
    targets = {m["pods"]["metric"]["name"]: m["pods"]["target"] for m in hpa["metrics"]}
    assert targets["ollama_router_queue_depth"] == {"type": "AverageValue", "averageValue": "4"}


@pytest.mark.parametrize("autoscaling,message", [
    ({"enabled": True, "minReplicas": 0, "scaleToZero": True}, "scale to zero needs `activationQuery`"),
    ({"enabled": True, "minReplicas": 0, "scaleToZero": True, "engine": "hpa", "activationQuery": "up"},
     "a HorizontalPodAutoscaler cannot scale to zero"),
])
def test_validation_refuses_scale_to_zero_that_could_not_wake(tmp_path, autoscaling, message):
    path = g.write_leaf(tmp_path / "catalog", g.leaf(autoscaling=autoscaling))
    findings = validate_paths([path]).findings
    assert [(f.code, f.pointer) for f in findings] == [("leaf.autoscaling", "/autoscaling/scaleToZero")]
    assert message in findings[0].message and findings[0].hint


def test_the_dashboard_configmap_carries_the_service_dashboard(example_charts, tmp_path):
    objects = g.service_objects(example_charts, "prod", "assistant", "ml-prod")
    (board_map,) = [o for o in g.of_kind(objects, "ConfigMap") if o["metadata"]["name"] == "assistant-dashboard"]
    assert board_map["metadata"]["labels"]["grafana_dashboard"] == "1"
    board = json.loads(board_map["data"]["assistant.json"])
    on_disk = json.loads((example_charts / "prod" / "assistant" / "files" / "dashboard.json").read_text())
    assert board == on_disk
    other = json.loads((example_charts / "prod" / "llama70b" / "files" / "dashboard.json").read_text())
    assert board["uid"] != other["uid"] and len(board["uid"]) <= 40
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert variables["namespace"]["current"]["value"] == "ml-prod" and variables["job"]["current"]["value"] == "assistant"

    moved = render_one(tmp_path, monitoring={"dashboardNamespace": "grafana"})
    (elsewhere,) = [o for o in g.of_kind(moved, "ConfigMap") if o["metadata"]["name"] == "svc-dashboard"]
    assert elsewhere["metadata"]["namespace"] == "grafana"
