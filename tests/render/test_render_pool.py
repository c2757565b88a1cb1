"""A model pool's chart (issue 16), as Helm renders it: workers behind a gateway Deployment.

The example leaf catalog/prod/model-pool.yaml (StatefulSet workers, KEDA, API keys, an
HTTPRoute) and a second pool (fixed workers, a plain Ingress) are rendered by the real
pipeline and by Helm; the tests assert on the objects (docs/render.md, "Model pool";
the gateway config follows ../notes/pool-contract.md).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import render_helpers as h

from catalog_gen.render.run import render_catalog

# The keys of gateway.json the contract allows: router keys that mean in a gateway what they mean in the sidecar,
# plus the gateway's own; never the sidecar's Ollama-facing ones (backends, slotsPerBackend, maxModelsPerBackend...).
CONTRACT_KEYS = {
    "role", "listen", "apiKeysFile", "corsAllowedOrigins", "maxQueue", "queueTimeoutSeconds", "maxBodyBytes",
    "requestTimeoutSeconds", "idleTimeoutSeconds", "connectTimeoutSeconds", "shutdownGraceSeconds", "models",
    "keepAliveMinSeconds", "keepAliveMaxSeconds", "idleUnloadSeconds", "pollIntervalSeconds",
    "workers", "workerDiscovery", "workerSlots", "prefixAffinity", "hashLoadFactor",
}
MODEL_KEYS = {"name", "digest", "keepWarm", "kind", "minWorkers"}

INGRESS_POOL = h.leaf(
    serviceName="cpu-pool", model=None,
    models=[{"name": "qwen2.5:0.5b", "minWorkers": 2}, {"name": "qwen2.5:1.5b"}, {"name": "llama3.2:3b", "minWorkers": 0}],
    container={"resources": {"limits": {"memory": "8Gi"}}},
    pool={"enabled": True, "workers": 3, "gateway": {"replicas": 3, "prefixAffinity": False, "hashLoadFactor": 2}},
    ingress={"enabled": True, "host": "pool.example.com", "api": "ingress", "ingressClassName": "nginx"},
)


@pytest.fixture(scope="module")
def example(tmp_path_factory) -> Pool:
    root = tmp_path_factory.mktemp("pool-example")
    shutil.copytree(h.CATALOG, root / "catalog")
    render_catalog([root / "catalog"], root / "charts")
    return pool_chart(h.rendered_chart(root / "charts" / "prod" / "model-pool", name="model-pool", namespace="ml-pool"))


@pytest.fixture(scope="module")
def ingress_pool(tmp_path_factory) -> Pool:
    return pool_chart(h.render_leaf(tmp_path_factory.mktemp("pool-ingress"), INGRESS_POOL))


def matches(selector: dict, labels: dict) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def gateway_pod_labels(r: h.Rendered) -> dict:
    return r.one("Deployment", f"{r.release_name}-gateway")["spec"]["template"]["metadata"]["labels"]


def worker_pod_labels(r: h.Rendered) -> dict:
    return r.deployment["spec"]["template"]["metadata"]["labels"]


def gateway_config(r: h.Rendered) -> dict:
    return json.loads(r.one("ConfigMap", f"{r.release_name}-gateway")["data"]["gateway.json"])


class Pool(h.Rendered):
    """A pool chart: two Deployments (workers, unless a StatefulSet, and the gateway); `deployment` is the workers'."""

    @property
    def release_name(self) -> str:
        return self.chart.name

    @property
    def deployment(self) -> dict:
        return self.one("StatefulSet") if self.has("StatefulSet") else self.one("Deployment", self.release_name)


def pool_chart(rendered: h.Rendered) -> Pool:
    return Pool(rendered.chart, rendered.values, rendered.objects)


@pytest.mark.parametrize("chart", ["example", "ingress_pool"])
def test_gateway_deployment_is_highly_available(chart, request):
    r = request.getfixturevalue(chart)
    gateway = r.one("Deployment", f"{r.release_name}-gateway")
    spec, pod = gateway["spec"], gateway["spec"]["template"]["spec"]
    assert spec["replicas"] >= 2
    assert spec["replicas"] == (2 if chart == "example" else 3)
    assert spec["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    assert matches(spec["selector"]["matchLabels"], gateway_pod_labels(r))
    [spread] = pod["topologySpreadConstraints"]
    assert (spread["topologyKey"], spread["whenUnsatisfiable"], spread["maxSkew"]) == \
        ("kubernetes.io/hostname", "ScheduleAnyway", 1)
    assert spread["labelSelector"]["matchLabels"] == spec["selector"]["matchLabels"]
    pdb = r.one("PodDisruptionBudget", f"{r.release_name}-gateway")
    assert pdb["spec"]["maxUnavailable"] == 1
    assert pdb["spec"]["selector"]["matchLabels"] == spec["selector"]["matchLabels"]
    [container] = pod["containers"]
    assert container["args"] == ["router", "--config", "/etc/catalog-gen/gateway.json"]
    assert container["image"] == worker_router_image(r)
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/livez"
    assert container["securityContext"] == r.container("router")["securityContext"]
    assert container["resources"]["requests"]["cpu"] and container["resources"]["limits"]["memory"]
    assert pod["serviceAccountName"] == f"{r.release_name}-gateway" and pod["automountServiceAccountToken"] is True


def worker_router_image(r: h.Rendered) -> str:
    return r.container("router")["image"]


@pytest.mark.parametrize("chart", ["example", "ingress_pool"])
def test_gateway_may_only_watch_endpointslices(chart, request):
    r = request.getfixturevalue(chart)
    role = r.one("Role", f"{r.release_name}-gateway")
    assert role["rules"] == [{"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"],
                              "verbs": ["get", "list", "watch"]}]
    binding = r.one("RoleBinding", f"{r.release_name}-gateway")
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": f"{r.release_name}-gateway"}
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": f"{r.release_name}-gateway",
                                    "namespace": "ml-pool" if r is request.getfixturevalue("example") else "ml-test"}]
    assert r.one("ServiceAccount", f"{r.release_name}-gateway")


def test_public_route_points_at_the_gateway(example):
    [rule_backends] = {json.dumps(rule["backendRefs"]) for rule in example.one("HTTPRoute")["spec"]["rules"]}
    [backend] = json.loads(rule_backends)
    service = example.one("Service", backend["name"])
    assert backend["name"] == "model-pool" and backend["port"] == service["spec"]["ports"][0]["port"]
    assert matches(service["spec"]["selector"], gateway_pod_labels(example))
    assert not matches(service["spec"]["selector"], worker_pod_labels(example))


def test_plain_ingress_points_at_the_gateway(ingress_pool):
    backends = {p["backend"]["service"]["name"] for rule in ingress_pool.one("Ingress")["spec"]["rules"]
                for p in rule["http"]["paths"]}
    assert backends == {"cpu-pool"}
    selector = ingress_pool.one("Service", "cpu-pool")["spec"]["selector"]
    assert matches(selector, gateway_pod_labels(ingress_pool)) and not matches(selector, worker_pod_labels(ingress_pool))


@pytest.mark.parametrize("chart", ["example", "ingress_pool"])
def test_workers_service_is_for_discovery(chart, request):
    r = request.getfixturevalue(chart)
    workers = r.one("Service", f"{r.release_name}-workers")
    assert workers["spec"]["type"] == "ClusterIP"
    assert workers["spec"]["ports"] == [{"name": "router", "port": 8080, "targetPort": "http", "protocol": "TCP"}]
    assert matches(workers["spec"]["selector"], worker_pod_labels(r))
    assert not matches(workers["spec"]["selector"], gateway_pod_labels(r))
    # the workload's selector does not take the gateway's pods (and the other way round)
    assert not matches(r.deployment["spec"]["selector"]["matchLabels"], gateway_pod_labels(r))
    router_port = {p["name"]: p["containerPort"] for p in r.container("router")["ports"]}
    assert router_port == {"http": 8080}
    routes = [o for o in r.objects if o["kind"] in ("HTTPRoute", "Ingress")]
    assert f"{r.release_name}-workers" not in json.dumps(routes)


def test_workers_admit_only_the_gateway_and_prometheus(example):
    policy = example.one("NetworkPolicy", "model-pool-workers")["spec"]
    assert matches(policy["podSelector"]["matchLabels"], worker_pod_labels(example))
    assert not matches(policy["podSelector"]["matchLabels"], gateway_pod_labels(example))
    gateway_rule, monitoring_rule = policy["ingress"]
    assert gateway_rule["from"] == [{"podSelector": {"matchLabels": example.one(
        "Deployment", "model-pool-gateway")["spec"]["selector"]["matchLabels"]}}]
    assert gateway_rule["ports"] == [{"port": "http", "protocol": "TCP"}]
    assert monitoring_rule["from"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}]
    public = example.one("NetworkPolicy", "model-pool")["spec"]
    assert matches(public["podSelector"]["matchLabels"], gateway_pod_labels(example))
    assert not matches(public["podSelector"]["matchLabels"], worker_pod_labels(example))


def test_gateway_config_follows_the_contract(example):
    config = gateway_config(example)
    assert set(config) <= CONTRACT_KEYS
    assert config["role"] == "gateway"
    assert config["workerDiscovery"] == {"service": "model-pool-workers", "namespace": "ml-pool", "portName": "router"}
    assert "workers" not in config  # exactly one of workers / workerDiscovery
    assert config["listen"] == {"host": "0.0.0.0", "port": 8080}
    assert config["apiKeysFile"] == "/etc/catalog-gen-keys/api-keys"
    assert (config["prefixAffinity"], config["hashLoadFactor"]) == (True, 1.25)
    assert all(set(m) <= MODEL_KEYS for m in config["models"])
    assert [(m["name"], m["minWorkers"]) for m in config["models"]] == [
        ("llama3.1:8b", 2), ("qwen2.5:7b", 1), ("mistral:7b", 1), ("gemma2:9b", 0), ("phi4:14b", 0), ("gemma3:4b", 0),
        ("llama3.2:3b", 0), ("qwen2.5:1.5b", 0)]
    gateway = example.one("Deployment", "model-pool-gateway")["spec"]["template"]["spec"]
    mounts = {m["name"]: m["mountPath"] for m in gateway["containers"][0]["volumeMounts"]}
    assert mounts["api-keys"] == "/etc/catalog-gen-keys"
    assert {v["name"]: v.get("secret", {}).get("secretName") for v in gateway["volumes"]}["api-keys"] == "model-pool-api-keys"


def test_gateway_config_without_keys_or_affinity(ingress_pool):
    config = gateway_config(ingress_pool)
    assert "apiKeysFile" not in config
    assert (config["prefixAffinity"], config["hashLoadFactor"]) == (False, 2)  # an integer in the leaf, a number to the router
    assert config["workerDiscovery"]["namespace"] == "ml-test"


def test_workers_hold_what_fits_and_keep_nothing_warm_themselves(example, ingress_pool):
    for r, loaded in ((example, "2"), (ingress_pool, "3")):
        [ollama] = r.ollama_containers()
        assert h.env_of(ollama)["OLLAMA_MAX_LOADED_MODELS"] == loaded
        router = json.loads(r.config["router.json"])
        assert router["maxModelsPerBackend"] == int(loaded)
        assert [m["keepWarm"] for m in router["models"]] == [False] * len(router["models"])
        assert router["warmUp"] is False  # ready with the models on disk: no load-and-evict round at start
        startup = ollama["startupProbe"]
        assert startup["periodSeconds"] * startup["failureThreshold"] <= 60  # no model read into memory first


def test_a_chart_without_a_pool_warms_its_models_before_it_is_ready(zoo):
    routers = [json.loads(r.config["router.json"]) for r in zoo.values() if "router.json" in r.config]
    assert routers and all("warmUp" not in router for router in routers)  # the router's default: warm every model


def test_keda_scales_the_workers_on_the_gateways_queue(example):
    scaled = example.one("ScaledObject")["spec"]
    assert scaled["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "model-pool"}
    assert (scaled["minReplicaCount"], scaled["maxReplicaCount"]) == (4, 8)
    queries = {t["name"]: t["metadata"]["query"] for t in scaled["triggers"]}
    assert queries["queue-depth"] == 'sum(ollama_router_queue_depth{job="model-pool",namespace="ml-pool"})'
    # job="model-pool" is the gateway's: its ServiceMonitor scrapes the public Service, whose pods are the gateway's
    monitor = example.one("ServiceMonitor", "model-pool")["spec"]
    public = example.one("Service", "model-pool")
    assert matches(monitor["selector"]["matchLabels"], public["metadata"]["labels"])
    assert not matches(monitor["selector"]["matchLabels"], example.one("Service", "model-pool-workers")["metadata"]["labels"])


def test_workers_are_scraped_on_their_own(example):
    monitor = example.one("ServiceMonitor", "model-pool-workers")["spec"]
    workers = example.one("Service", "model-pool-workers")
    assert matches(monitor["selector"]["matchLabels"], workers["metadata"]["labels"])
    assert not matches(monitor["selector"]["matchLabels"], example.one("Service", "model-pool")["metadata"]["labels"])
    assert [e["port"] for e in monitor["endpoints"]] == ["router"]


def test_fixed_workers_without_autoscaling(ingress_pool):
    assert ingress_pool.deployment["spec"]["replicas"] == 3
    assert not ingress_pool.has("ScaledObject")
    assert ingress_pool.one("PodDisruptionBudget", "cpu-pool")["spec"]["maxUnavailable"] == 1


def test_a_gateway_change_does_not_restart_the_workers(example):
    other = pool_chart(h.rendered_chart(example.chart, {"pool": {"gateway": {"config": {"maxQueue": 7}}}},
                                        name="model-pool", namespace="ml-pool"))
    assert gateway_config(other)["maxQueue"] == 7
    checksum = lambda r, kind, name: r.one(kind, name)["spec"]["template"]["metadata"]["annotations"]["checksum/config"]
    assert checksum(other, "StatefulSet", "model-pool") == checksum(example, "StatefulSet", "model-pool")
    assert checksum(other, "Deployment", "model-pool-gateway") != checksum(example, "Deployment", "model-pool-gateway")


def test_a_chart_without_a_pool_has_no_pool_objects(zoo):
    for name, rendered in zoo.items():
        text = json.dumps(rendered.objects)
        assert "catalog-gen.io/pool-role" not in text, name
        assert not [o for o in rendered.objects if o["metadata"]["name"].endswith(("-gateway", "-workers"))
                    and o["kind"] != "Gateway"], name


def test_values_schema_refuses_unknown_pool_keys(example):
    import helm_python

    with pytest.raises(Exception, match="(?i)additional|schema|not allowed"):
        helm_python.Chart.load(example.chart).render(values={"pool": {"gateway": {"replica": 1}}}, name="model-pool",
                                                      namespace="ml-pool")
    with pytest.raises(Exception, match="(?i)minimum|greater|schema"):
        helm_python.Chart.load(example.chart).render(values={"pool": {"gateway": {"replicas": 1}}}, name="model-pool",
                                                      namespace="ml-pool")
    schema = json.loads(Path(example.chart / "values.schema.json").read_text())
    assert "pool" in schema["required"] and schema["properties"]["pool"]["additionalProperties"] is False


@pytest.mark.parametrize("chart", ["example", "ingress_pool"])
def test_gateway_config_is_what_the_router_reads(chart, request, tmp_path):
    """`catalog-gen router --config gateway.json` accepts the rendered file (the key file as the pod mounts it)."""
    from catalog_gen.router.config import load_config

    config = gateway_config(request.getfixturevalue(chart))
    if "apiKeysFile" in config:
        keys = tmp_path / "api-keys"
        keys.write_text("a-key\n", encoding="utf-8")
        config["apiKeysFile"] = str(keys)
    path = tmp_path / "gateway.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    loaded = load_config(path)
    assert loaded.role == "gateway"
    assert loaded.worker_discovery.service == config["workerDiscovery"]["service"]
    assert loaded.worker_discovery.port_name == "router"
    assert [(m.name, m.min_workers) for m in loaded.models] == [(m["name"], m["minWorkers"]) for m in config["models"]]
    assert loaded.hash_load_factor == config["hashLoadFactor"] and loaded.prefix_affinity == config["prefixAffinity"]
    assert loaded.idle_unload == 900
    assert "pollIntervalSeconds" not in config  # the gateway's own default (every 0.5 s) stands


def test_alerts_read_models_on_the_workers_and_requests_at_the_gateway(example, zoo):
    rules = {r["alert"]: r["expr"] for r in example.one("PrometheusRule")["spec"]["groups"][0]["rules"]}
    for alert in ("OllamaSlowModelLoad", "OllamaModelNotReady"):
        assert 'job="model-pool-workers",namespace="ml-pool"' in rules[alert], alert
    for alert in ("OllamaHighErrorRate", "OllamaQueueBacklog", "OllamaNoReadyReplica"):
        assert 'job="model-pool",namespace="ml-pool"' in rules[alert] and "-workers" not in rules[alert], alert
    plain = {r["alert"]: r["expr"] for r in zoo["plain"].one("PrometheusRule")["spec"]["groups"][0]["rules"]}
    assert 'job="plain",namespace="ml-test"' in plain["OllamaModelNotReady"]


def test_pool_charts_lint_clean_with_the_crds_and_schemas(example, ingress_pool):
    """Both pool charts pass `catalog-gen lint --require-schemas` (Kubernetes 1.31 schemas, the shared CRDs)."""
    from catalog_gen.lint import lint_charts

    result = lint_charts([example.chart.parent.parent, ingress_pool.chart.parent.parent], kube_version="1.31",
                         crd_dirs=[h.CRDS], require_schemas=True)
    assert result.charts_checked >= 2
    assert [f"{f.file}:{f.line} {f.code} {f.message}" for f in result.findings if f.severity.value != "info"] == []


def test_leaf_strings_reach_gateway_json_as_data(tmp_path):
    """A CORS origin holding template syntax and quotes comes out of Helm exactly as the leaf wrote it."""
    origin = 'https://{{.Release.Name}}"x'
    r = pool_chart(h.render_leaf(tmp_path, h.leaf(serviceName="inject", model=None,
                                                  models=[{"name": "qwen2.5:0.5b"}],
                                                  router={"corsAllowedOrigins": [origin]},
                                                  pool={"enabled": True, "workers": 2})))
    assert gateway_config(r)["corsAllowedOrigins"] == [origin]
