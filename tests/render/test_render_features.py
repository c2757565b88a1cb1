"""Each chart feature, asserted on the Kubernetes objects real Helm renders from a leaf.

The leaves are render_helpers.ZOO (one per feature); the sizing figures the chart must
carry come from the plan (catalog_gen.plan.sizing, tested against the seeds in tests/plan).
"""

from __future__ import annotations

import json

import pytest
import render_helpers as h
from render_helpers import env_of, pod_specs

from catalog_gen.catalog.model import OllamaInferenceLoad
from catalog_gen.plan.sizing import size_service
from catalog_gen.quantity import parse_quantity


def sizing_of(name: str):
    return size_service(OllamaInferenceLoad.model_validate(h.ZOO[name]))


def port_of(container: dict, name: str) -> int:
    return next(p["containerPort"] for p in container.get("ports", []) if p["name"] == name)


# --- sizing reaches the chart ------------------------------------------------------------------


@pytest.mark.parametrize("name", ["plain", "gpu", "big", "multi"])
def test_sizing_reaches_the_ollama_containers(zoo, name):
    chart, sizing = zoo[name], sizing_of(name)
    containers = chart.ollama_containers()
    assert len(containers) == sizing.processes
    for container in containers:
        resources = container["resources"]
        assert resources["requests"]["memory"] == sizing.requests["memory"]
        assert resources["limits"]["memory"] == sizing.limits["memory"]
        assert env_of(container)["OLLAMA_NUM_PARALLEL"] == str(sizing.num_parallel)
        assert env_of(container)["OLLAMA_CONTEXT_LENGTH"] == str(sizing.context_length)
        if sizing.gpu_resource:
            per_process = str(sizing.gpus_per_process)
            assert str(resources["limits"][sizing.gpu_resource]) == per_process
            assert str(resources["requests"][sizing.gpu_resource]) == per_process
        else:
            assert not any("gpu" in key for key in {**resources["limits"], **resources["requests"]})
    assert chart.pod.get("nodeSelector", {}) == sizing.node_selector
    assert chart.pod.get("tolerations", []) == sizing.tolerations


def test_gpu_charts_select_the_product_and_count_every_gpu(zoo):
    gpu = zoo["gpu"]
    assert gpu.pod["nodeSelector"] == {"nvidia.com/gpu.product": "NVIDIA-A10G"}
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in gpu.pod["tolerations"]
    big = zoo["big"]  # one process spread over both GPUs of the pod
    (container,) = big.ollama_containers()
    assert str(container["resources"]["limits"]["nvidia.com/gpu"]) == "2"
    multi = zoo["multi"]  # one process per GPU: the pod still asks for both
    assert sum(int(c["resources"]["limits"]["nvidia.com/gpu"]) for c in multi.ollama_containers()) == 2


def test_cpu_chart_asks_for_no_gpu(zoo):
    chart = zoo["plain"]
    for container in chart.pod["containers"] + chart.pod["initContainers"]:
        limits = container.get("resources", {}).get("limits", {})
        assert not [key for key in limits if key.endswith("/gpu")]
    assert "nodeSelector" not in chart.pod and "tolerations" not in chart.pod


def test_explicit_leaf_resources_win_over_the_preset(tmp_path):
    data = h.leaf(container={"resources": {"requests": {"cpu": "750m", "memory": "3Gi"}, "limits": {"memory": "5Gi"}}})
    chart = h.render_leaf(tmp_path, data)
    (container,) = chart.ollama_containers()
    assert container["resources"]["requests"]["cpu"] == "750m"
    assert container["resources"]["requests"]["memory"] == "3Gi"
    assert container["resources"]["limits"]["memory"] == "5Gi"


# --- caches ------------------------------------------------------------------------------------


def volume(chart: h.Rendered, name: str, spec: dict | None = None) -> dict:
    spec = spec or chart.pod
    return next(v for v in spec["volumes"] if v["name"] == name)


def test_emptydir_cache_has_a_size_limit_that_holds_the_models(zoo):
    chart, sizing = zoo["plain"], sizing_of("plain")
    limit = volume(chart, "models")["emptyDir"]["sizeLimit"]
    assert limit == sizing.cache_size
    assert parse_quantity(limit) >= sizing.models_disk_bytes
    assert not chart.has("PersistentVolumeClaim")
    assert chart.deployment["spec"]["strategy"]["type"] == "RollingUpdate"


def test_pvc_cache_gives_each_replica_its_own_claim_kept_on_scale_in_and_uninstall(zoo):
    chart = zoo["pvc"]
    # a ReadWriteOnce claim attaches to one node: replicas never share one (Multi-Attach would hang the second)
    assert not chart.has("PersistentVolumeClaim")
    workload = chart.one("StatefulSet")
    assert not chart.has("Deployment")
    (template,) = workload["spec"]["volumeClaimTemplates"]
    assert template["metadata"]["name"] == "models"
    assert template["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert template["spec"]["resources"]["requests"]["storage"] == "40Gi"
    assert template["spec"]["storageClassName"] == "fast-ssd"
    assert workload["spec"]["persistentVolumeClaimRetentionPolicy"] == {"whenDeleted": "Retain", "whenScaled": "Retain"}
    assert workload["spec"]["serviceName"] == chart.one("Service")["metadata"]["name"]
    # the pod mounts the per-replica claim, not a volume of its own
    assert "models" not in {v["name"] for v in chart.pod["volumes"]}
    assert not chart.all("Job") or all("loader" not in j["metadata"]["name"] for j in chart.all("Job"))


def test_pvc_cache_can_use_an_existing_claim(zoo):
    chart = zoo["pvc-existing"]
    assert not chart.has("PersistentVolumeClaim")
    assert volume(chart, "models")["persistentVolumeClaim"]["claimName"] == "team-models"
    # one existing ReadWriteOnce volume: a Deployment that stops the old pod before the new one mounts it
    assert chart.one("Deployment")["spec"]["strategy"] == {"type": "Recreate"}


def loader_jobs(chart: h.Rendered) -> list[dict]:
    """Jobs that write the model cache: they run pull-models.sh with the models volume mounted."""
    found = []
    for job in chart.all("Job"):
        spec = job["spec"]["template"]["spec"]
        pulls = any("pull-models.sh" in " ".join(c.get("command", []) + c.get("args", [])) for c in spec["containers"])
        mounts_models = any(m["name"] == "models" for c in spec["containers"] for m in c.get("volumeMounts", []))
        if pulls and mounts_models:
            found.append(job)
    return found


def commands(spec: dict) -> list[str]:
    return [" ".join(c.get("command", []) + c.get("args", [])) for c in spec.get("initContainers", []) + spec["containers"]]


def test_shared_cache_has_exactly_one_writer(zoo):
    chart = zoo["shared"]
    claim = chart.one("PersistentVolumeClaim")
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]
    assert claim["spec"]["storageClassName"] == "nfs-rwx"
    assert claim["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    (loader,) = loader_jobs(chart)
    loader_spec = loader["spec"]["template"]["spec"]
    assert volume(chart, "models", loader_spec)["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]
    assert volume(chart, "models")["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]
    # serving pods wait for the models (with a deadline) and never pull
    serving = commands(chart.pod)
    assert not [c for c in serving if "pull-models" in c]
    wait = chart.container("wait-models")
    assert "wait-models.sh" in " ".join(wait["command"])
    assert int(env_of(wait)["WAIT_DEADLINE_SECONDS"]) > 0
    # several replicas share the claim: nothing forces them onto one node
    assert chart.deployment["spec"]["replicas"] == 3
    assert chart.deployment["spec"]["strategy"]["type"] == "RollingUpdate"


def test_shared_cache_sets_ollama_noprune_in_every_ollama_container(zoo):
    chart = zoo["shared"]
    image = chart.ollama_containers()[0]["image"]
    ollama_containers = [c for _, spec in pod_specs(chart) for c in spec.get("initContainers", []) + spec["containers"]
                         if c["image"] == image]
    assert len(ollama_containers) >= 3  # wait-models, ollama-0, the loader
    for container in ollama_containers:
        assert env_of(container).get("OLLAMA_NOPRUNE") == "1", container["name"]


def test_other_caches_let_ollama_prune(zoo):
    for name in ("plain", "pvc"):
        for container in zoo[name].ollama_containers():
            assert "OLLAMA_NOPRUNE" not in env_of(container)


def test_loader_job_name_follows_the_model_set(zoo):
    chart = zoo["shared"]
    name = loader_jobs(chart)[0]["metadata"]["name"]
    assert name.startswith("shared-loader-") and len(name) <= 63
    same = h.rendered_chart(chart.chart, {"replicaCount": 5}, name="shared", namespace="ml-test")
    assert loader_jobs(same)[0]["metadata"]["name"] == name  # other values do not matter
    models = [dict(m) for m in chart.values["models"]]
    models[1]["name"] = "qwen2.5:1.5b"
    changed = h.rendered_chart(chart.chart, {"models": models}, name="shared", namespace="ml-test")
    assert loader_jobs(changed)[0]["metadata"]["name"] != name  # a new set is a new (immutable) Job
    pinned = [dict(m) for m in chart.values["models"]]
    pinned[0]["digest"] = "b" * 64
    repinned = h.rendered_chart(chart.chart, {"models": pinned}, name="shared", namespace="ml-test")
    assert loader_jobs(repinned)[0]["metadata"]["name"] not in (name, loader_jobs(changed)[0]["metadata"]["name"])


def test_shared_cache_can_use_an_existing_claim(zoo):
    chart = zoo["shared-existing"]
    assert not chart.has("PersistentVolumeClaim")
    (loader,) = loader_jobs(chart)
    assert volume(chart, "models", loader["spec"]["template"]["spec"])["persistentVolumeClaim"]["claimName"] == "rwx-models"
    assert volume(chart, "models")["persistentVolumeClaim"]["claimName"] == "rwx-models"


def test_non_shared_caches_pull_in_an_init_container(zoo):
    for name in ("plain", "pvc", "norouter"):
        chart = zoo[name]
        assert "pull-models.sh" in " ".join(chart.container("pull-models")["command"])
        assert not loader_jobs(chart)


# --- probes ------------------------------------------------------------------------------------


def startup_seconds(container: dict) -> int:
    probe = container["startupProbe"]
    return probe["periodSeconds"] * probe["failureThreshold"]


def test_startup_budget_grows_with_model_size(zoo):
    small = startup_seconds(zoo["plain"].ollama_containers()[0])  # 0.5B
    medium = startup_seconds(zoo["gpu"].ollama_containers()[0])  # 8B
    large = startup_seconds(zoo["big"].ollama_containers()[0])  # 70B
    assert small < medium < large
    assert small >= 60  # even a tiny model gets time for the server to start


def test_liveness_never_depends_on_a_model(zoo):
    probes = set()
    for name, chart in zoo.items():
        for container in chart.ollama_containers():
            probe = container["livenessProbe"]
            text = json.dumps(probe)
            assert "ready" not in text and "models" not in text, (name, probe)
            for model in chart.values["models"]:
                assert model["name"] not in text
            probes.add(text)
    assert len(probes) == 1  # the same probe whatever the models


def test_readiness_goes_through_the_router_when_it_is_on(zoo):
    chart = zoo["gpu"]
    router = chart.container("router")
    probe = router["readinessProbe"]["httpGet"]
    assert probe["path"] == "/readyz"
    assert probe["port"] in ("http", port_of(router, "http"))
    for container in chart.ollama_containers():
        assert "ready.sh" not in json.dumps(container["readinessProbe"])


def test_readiness_checks_every_model_without_the_router(zoo):
    chart = zoo["norouter"]
    (container,) = chart.ollama_containers()
    assert container["readinessProbe"]["exec"]["command"][-1].endswith("ready.sh")
    ready_models = [line.split("\t")[0] for line in chart.config["ready.tsv"].splitlines() if line]
    assert ready_models == [m["name"] for m in chart.values["models"]]


# --- Gateway API and Ingress -------------------------------------------------------------------


def backend_refs(route: dict) -> list[dict]:
    return [ref for rule in route["spec"]["rules"] for ref in rule["backendRefs"]]


def test_httproute_attaches_to_an_existing_gateway(zoo):
    chart = zoo["gw-existing"]
    assert not chart.has("Gateway") and not chart.has("Certificate")
    route = chart.one("HTTPRoute")
    assert route["spec"]["parentRefs"] == [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "shared-gateway",
                                            "namespace": "gateway-system", "sectionName": "https"}]
    assert route["spec"]["hostnames"] == ["gw-existing.example.com"]
    paths = [rule["matches"][0]["path"] for rule in route["spec"]["rules"]]
    assert paths == [{"type": "PathPrefix", "value": "/api"}, {"type": "PathPrefix", "value": "/v1"}]
    assert all(rule["timeouts"]["request"] == "900s" for rule in route["spec"]["rules"])
    service = chart.one("Service")
    # written out in full, as the API server would default them, so Argo CD sees no drift
    for ref in backend_refs(route):
        assert ref == {"group": "", "kind": "Service", "name": service["metadata"]["name"],
                       "port": service["spec"]["ports"][0]["port"], "weight": 1}
    # Istio runs the shared Gateway's proxy in the Gateway's namespace: those pods may reach the service port
    policy = chart.one("NetworkPolicy")
    peers = [peer for rule in policy["spec"]["ingress"] for peer in rule["from"] if "namespaceSelector" in peer]
    assert {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "gateway-system"}},
            "podSelector": {"matchLabels": {"gateway.networking.k8s.io/gateway-name": "shared-gateway"}}} in peers


def test_created_gateway_terminates_tls_with_a_cert_manager_certificate(zoo):
    chart = zoo["gw-created"]
    gateway = chart.one("Gateway")
    assert gateway["spec"]["gatewayClassName"] == "cilium"
    listeners = {listener["protocol"]: listener for listener in gateway["spec"]["listeners"]}
    https = listeners["HTTPS"]
    assert https["port"] == 443 and https["hostname"] == "gw-created.example.com"
    certificate = chart.one("Certificate")
    assert certificate["spec"]["dnsNames"] == ["gw-created.example.com"]
    assert certificate["spec"]["issuerRef"] == {"group": "cert-manager.io", "kind": "ClusterIssuer", "name": "letsencrypt-prod"}
    assert https["tls"]["mode"] == "Terminate"
    assert https["tls"]["certificateRefs"] == [{"group": "", "kind": "Secret", "name": certificate["spec"]["secretName"]}]
    route = chart.one("HTTPRoute", gateway["metadata"]["name"])  # the other one redirects plain HTTP
    (parent,) = route["spec"]["parentRefs"]
    assert parent["name"] == gateway["metadata"]["name"] and parent["sectionName"] == https["name"]
    assert "namespace" not in parent  # the Gateway lives with the route
    assert all(rule["timeouts"]["request"] == "600s" for rule in route["spec"]["rules"])  # the leaf default


def test_created_gateway_without_tls_has_only_http(zoo):
    chart = zoo["gw-plain"]
    gateway = chart.one("Gateway")
    assert [listener["protocol"] for listener in gateway["spec"]["listeners"]] == ["HTTP"]
    assert not chart.has("Certificate")
    (parent,) = chart.one("HTTPRoute")["spec"]["parentRefs"]
    assert parent["sectionName"] == gateway["spec"]["listeners"][0]["name"]


def test_plain_ingress_option(zoo):
    chart = zoo["ingress"]
    assert not chart.has("HTTPRoute") and not chart.has("Gateway")
    ingress = chart.one("Ingress")
    assert ingress["spec"]["ingressClassName"] == "nginx"
    (rule,) = ingress["spec"]["rules"]
    assert rule["host"] == "ingress.example.com"
    service = chart.one("Service")
    # `/` is the API: its prefixes, and `/` itself exactly (never /metrics or /readyz)
    assert {(p["path"], p["pathType"]) for p in rule["http"]["paths"]} == {("/api", "Prefix"), ("/v1", "Prefix"), ("/", "Exact")}
    for path in rule["http"]["paths"]:
        assert path["backend"]["service"]["name"] == service["metadata"]["name"]
        assert path["backend"]["service"]["port"] in ({"name": service["spec"]["ports"][0]["name"]},
                                                      {"number": service["spec"]["ports"][0]["port"]})
    certificate = chart.one("Certificate")
    assert ingress["spec"]["tls"] == [{"hosts": ["ingress.example.com"], "secretName": certificate["spec"]["secretName"]}]
    assert certificate["spec"]["issuerRef"]["kind"] == "Issuer"


def test_no_ingress_objects_when_ingress_is_off(zoo):
    chart = zoo["plain"]
    for kind in ("HTTPRoute", "Gateway", "Ingress", "Certificate"):
        assert not chart.has(kind)


# --- the router sidecar ------------------------------------------------------------------------


def service_target(chart: h.Rendered) -> tuple[str, int]:
    """The container and port the Service sends traffic to."""
    target = chart.one("Service")["spec"]["ports"][0]["targetPort"]
    for container in chart.pod["containers"]:
        for port in container.get("ports", []):
            if target in (port["name"], port["containerPort"]):
                return container["name"], port["containerPort"]
    raise AssertionError(f"no container port matches the Service's targetPort {target}")


def test_router_is_the_only_thing_reachable(zoo):
    chart = zoo["gpu"]
    assert service_target(chart) == ("router", chart.values["router"]["port"])
    for container in chart.ollama_containers():
        host, _, port = env_of(container)["OLLAMA_HOST"].rpartition(":")
        assert host == "127.0.0.1"
        assert not container.get("ports")  # nothing to reach from outside the pod
    router_json = json.loads(chart.config["router.json"])
    assert router_json["listen"]["port"] == chart.values["router"]["port"]
    assert [m["name"] for m in router_json["models"]] == [m["name"] for m in chart.values["models"]]


def test_without_router_the_service_targets_ollama(zoo):
    chart = zoo["norouter"]
    assert [c["name"] for c in chart.pod["containers"]] == ["ollama-0"]
    name, port = service_target(chart)
    assert name == "ollama-0"
    assert env_of(chart.container("ollama-0"))["OLLAMA_HOST"] == f"0.0.0.0:{port}"
    assert "router.json" not in chart.config


def test_several_ollama_processes_each_get_a_port_and_a_gpu(zoo):
    chart = zoo["multi"]
    containers = chart.ollama_containers()
    assert [c["name"] for c in containers] == ["ollama-0", "ollama-1"]
    addresses = [env_of(c)["OLLAMA_HOST"] for c in containers]
    assert len(set(addresses)) == 2 and all(a.startswith("127.0.0.1:") for a in addresses)
    for container in containers:
        assert str(container["resources"]["limits"]["nvidia.com/gpu"]) == "1"
    backends = json.loads(chart.config["router.json"])["backends"]
    assert backends == [f"http://{a}" for a in addresses]
    # each process keeps its own HOME and /tmp
    homes = [next(m for m in c["volumeMounts"] if m["mountPath"] == "/home/ollama") for c in containers]
    assert len({(m["name"], m.get("subPath")) for m in homes}) == 2


def test_api_keys_come_from_a_secret_reference(zoo):
    chart = zoo["multi"]
    router = chart.container("router")
    router_json = json.loads(chart.config["router.json"])
    keys_file = router_json["apiKeysFile"]
    mount = next(m for m in router["volumeMounts"] if keys_file.startswith(m["mountPath"] + "/"))
    assert mount.get("readOnly") is True
    secret = volume(chart, mount["name"])["secret"]
    assert secret["secretName"] == "multi-keys"
    assert secret["items"] == [{"key": "keys", "path": keys_file[len(mount["mountPath"]) + 1:]}]
    # only the reference is in the values; no key material anywhere in the chart
    assert chart.values["router"]["apiKeySecret"] == {"name": "multi-keys", "key": "keys"}
    assert not [o for o in chart.objects if o["kind"] == "Secret"]


def test_no_api_keys_no_secret_volume(zoo):
    chart = zoo["gpu"]
    assert "apiKeysFile" not in json.loads(chart.config["router.json"])
    assert not [v for v in chart.pod["volumes"] if "secret" in v]


# --- security ----------------------------------------------------------------------------------


def effective(container: dict, pod: dict, key: str):
    return container.get("securityContext", {}).get(key, pod.get("securityContext", {}).get(key))


@pytest.mark.parametrize("name", sorted(h.ZOO))
def test_every_container_is_locked_down(zoo, name):
    chart = zoo[name]
    for where, spec in pod_specs(chart):
        for container in spec.get("initContainers", []) + spec["containers"]:
            context = container.get("securityContext", {})
            label = f"{name}: {where} {container['name']}"
            assert context.get("allowPrivilegeEscalation") is False, label
            assert context.get("privileged") in (None, False), label
            assert context.get("capabilities", {}).get("drop") == ["ALL"], label
            assert not context.get("capabilities", {}).get("add"), label
            assert (effective(container, spec, "seccompProfile") or {}).get("type") == "RuntimeDefault", label
            assert context.get("readOnlyRootFilesystem") is True, label
            runs_ollama = container["image"].startswith(chart.values["image"]["repository"] + ":")
            if not (runs_ollama and chart.values["ollama"]["runAsRoot"]):
                assert effective(container, spec, "runAsNonRoot") is True, label
                assert effective(container, spec, "runAsUser") not in (None, 0), label


def test_run_as_root_applies_to_ollama_only(zoo):
    chart = zoo["root"]
    for container in chart.ollama_containers() + [chart.container("pull-models")]:
        assert effective(container, chart.pod, "runAsNonRoot") is not True
    router = chart.container("router")
    assert effective(router, chart.pod, "runAsNonRoot") is True
    assert effective(router, chart.pod, "runAsUser") not in (None, 0)


def test_serving_pods_get_no_service_account_token(zoo):
    for name, chart in zoo.items():
        assert chart.pod["automountServiceAccountToken"] is False, name
        for job in loader_jobs(chart):
            assert job["spec"]["template"]["spec"]["automountServiceAccountToken"] is False, name


def test_network_policy_admits_only_the_service_port(zoo):
    for name in ("gw-created", "gw-existing", "ingress", "plain"):
        chart = zoo[name]
        policy = chart.one("NetworkPolicy")
        selector = chart.deployment["spec"]["selector"]["matchLabels"]
        assert policy["spec"]["podSelector"]["matchLabels"] == selector
        assert policy["spec"]["policyTypes"] == ["Ingress"]
        service_port = chart.one("Service")["spec"]["ports"][0]
        for rule in policy["spec"]["ingress"]:
            assert rule["ports"] == [{"port": service_port["targetPort"], "protocol": "TCP"}], name


def test_pod_disruption_budget_only_with_several_replicas(zoo):
    assert not zoo["plain"].has("PodDisruptionBudget")
    chart = zoo["replicated"]
    budget = chart.one("PodDisruptionBudget")
    assert budget["spec"]["selector"]["matchLabels"] == chart.deployment["spec"]["selector"]["matchLabels"]
    assert budget["spec"]["maxUnavailable"] == 1
    assert zoo["shared"].has("PodDisruptionBudget")


def test_selector_labels_are_stable(zoo):
    """Selectors never hold the chart version (a selector change forces a Deployment replacement)."""
    chart = zoo["plain"]
    selector = chart.deployment["spec"]["selector"]["matchLabels"]
    assert "helm.sh/chart" not in selector and "app.kubernetes.io/version" not in selector
    assert chart.deployment["metadata"]["labels"]["helm.sh/chart"]
    template_labels = chart.deployment["spec"]["template"]["metadata"]["labels"]
    assert selector.items() <= template_labels.items()
    assert chart.one("Service")["spec"]["selector"] == selector


# --- documentation -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["plain", "multi", "shared", "gw-created"])
def test_every_value_is_documented(zoo, name):
    chart = zoo[name]
    text = (chart.chart / "values.yaml").read_text(encoding="utf-8")
    lines = text.splitlines()
    top_keys = [i for i, line in enumerate(lines) if line and not line.startswith(("#", " ", "-"))]
    assert len(top_keys) == len(chart.values)
    for i in top_keys:
        assert lines[i - 1].startswith("# -- ") and len(lines[i - 1]) > len("# -- "), lines[i]
    readme = (chart.chart / "README.md").read_text(encoding="utf-8").split("## Values", 1)[1]
    rows = [line for line in readme.splitlines() if line.startswith("| `")]
    assert rows
    for row in rows:
        key, default, description = [cell.strip() for cell in row.strip("|").split(" | ", 2)]
        assert description, f"{key} has no description"
    documented = {row.split("`")[1].split(".")[0] for row in rows}
    assert documented == set(chart.values)
