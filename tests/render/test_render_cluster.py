"""Charts that run on a real cluster: each defect that passed lint but broke in production, as a behaviour.

Every test renders a leaf through the real pipeline and Helm, then asserts what Kubernetes, Ollama's image,
Argo CD or the gateway would do with the objects (the facts relied on are in docs/render.md).
"""

from __future__ import annotations

import json

import pytest
import render_helpers as h
from render_helpers import env_of, pod_specs

from catalog_gen.quantity import parse_quantity

GPU = {"count": 1, "vendor": "nvidia", "product": "NVIDIA-A10G"}


def render(tmp_path, changes: dict | None = None, **top) -> h.Rendered:
    return h.render_leaf(tmp_path, h.leaf(changes, **top))


def claims(chart: h.Rendered) -> list[str]:
    """Every persistentVolumeClaim a serving pod mounts (a per-replica template counts as its own)."""
    names = [v["persistentVolumeClaim"]["claimName"] for v in chart.pod.get("volumes", []) if "persistentVolumeClaim" in v]
    return names + [t["metadata"]["name"] for t in chart.deployment["spec"].get("volumeClaimTemplates", [])]


# --- storage -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("replicas, autoscaling", [(2, {}), (1, {"enabled": True, "minReplicas": 1, "maxReplicas": 4})])
def test_pvc_cache_never_puts_two_pods_on_one_read_write_once_claim(tmp_path, replicas, autoscaling):
    chart = render(tmp_path, {"cache": {"mode": "pvc"}, "container": {"replicas": replicas}, "autoscaling": autoscaling})
    workload = chart.deployment
    assert workload["kind"] == "StatefulSet"
    templates = workload["spec"]["volumeClaimTemplates"]
    assert [t["spec"]["accessModes"] for t in templates] == [["ReadWriteOnce"]]
    # no claim shared by name: the only claim comes from the template, one per replica
    assert not chart.has("PersistentVolumeClaim")
    assert claims(chart) == ["models"]


def test_autoscaler_targets_the_stateful_set(tmp_path):
    chart = render(tmp_path, {"cache": {"mode": "pvc"}, "autoscaling": {"enabled": True, "maxReplicas": 3}})
    target = chart.one("ScaledObject")["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("StatefulSet", chart.deployment["metadata"]["name"])


def test_smoke_role_may_read_stateful_sets(tmp_path):
    chart = render(tmp_path, {"cache": {"mode": "pvc"}})
    rules = chart.one("Role")["rules"]
    assert any("statefulsets" in r["resources"] for r in rules)


def test_shared_cache_loader_job_neither_expires_nor_reruns(tmp_path):
    chart = render(tmp_path, {"cache": {"mode": "shared", "size": "20Gi"}, "container": {"replicas": 2}})
    (loader,) = [j for j in chart.all("Job") if "loader" in j["metadata"]["name"]]
    # Argo CD shows a Job deleted by its TTL OutOfSync, and self-heal re-creates (re-runs) it
    assert "ttlSecondsAfterFinished" not in loader["spec"]
    assert not any(k.startswith(("argocd.argoproj.io/hook", "helm.sh/hook")) for k in loader["metadata"].get("annotations", {}))


def test_shared_cache_can_fix_the_ownership_of_an_export_that_ignores_fs_group(tmp_path):
    plain = render(tmp_path / "a", {"cache": {"mode": "shared", "size": "20Gi"}})
    (loader,) = [j for j in plain.all("Job") if "loader" in j["metadata"]["name"]]
    assert not loader["spec"]["template"]["spec"].get("initContainers")
    fixed = render(tmp_path / "b", {"cache": {"mode": "shared", "size": "20Gi", "fixOwnership": True}})
    (loader,) = [j for j in fixed.all("Job") if "loader" in j["metadata"]["name"]]
    (init,) = loader["spec"]["template"]["spec"]["initContainers"]
    assert init["command"] == ["chown", "1000:1000", "/models"]
    assert init["securityContext"]["capabilities"] == {"drop": ["ALL"], "add": ["CHOWN"]}
    assert loader["metadata"]["annotations"]["catalog-gen.io/ignore-run-as-non-root"]


# --- traffic -------------------------------------------------------------------------------------------


def service_port_peers(chart: h.Rendered) -> list[dict] | None:
    """The `from` peers of the rule covering the service port; None when that rule admits every source."""
    rule = chart.one("NetworkPolicy")["spec"]["ingress"][0]
    return rule.get("from")


INGRESS = {"enabled": True, "host": "svc.example.com"}


@pytest.mark.parametrize("ingress, expected", [
    # Envoy Gateway's proxies run in its controller namespace, labelled with the Gateway they serve
    ({"gatewayClassName": "eg"},
     {"namespaceSelector": {}, "podSelector": {"matchLabels": {
         "app.kubernetes.io/name": "envoy", "gateway.envoyproxy.io/owning-gateway-name": "svc",
         "gateway.envoyproxy.io/owning-gateway-namespace": "ml-test"}}}),
    # Istio / NGINX Gateway Fabric / kgateway run the proxy beside an existing Gateway, in its namespace
    ({"controller": "nginx-gateway-fabric", "gateway": {"name": "public", "namespace": "edge"}},
     {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "edge"}},
      "podSelector": {"matchLabels": {"gateway.networking.k8s.io/gateway-name": "public"}}}),
    # ingress-nginx and Traefik: wherever they were installed (k3s puts Traefik in kube-system)
    ({"api": "ingress", "ingressClassName": "nginx"},
     {"namespaceSelector": {}, "podSelector": {"matchLabels": {"app.kubernetes.io/name": "ingress-nginx"}}}),
    ({"api": "ingress", "ingressClassName": "traefik"},
     {"namespaceSelector": {}, "podSelector": {"matchLabels": {"app.kubernetes.io/name": "traefik"}}}),
])
def test_network_policy_admits_the_gateway_data_plane(tmp_path, ingress, expected):
    chart = render(tmp_path, {"ingress": {**INGRESS, **ingress}})
    peers = service_port_peers(chart)
    assert expected in peers
    assert {"podSelector": {}} in peers  # this namespace (smoke Jobs)


def test_network_policy_stays_open_where_no_selector_can_match_cilium(tmp_path):
    changes = {"ingress": {**INGRESS, "gatewayClassName": "cilium", "controller": "cilium"}}
    chart = render(tmp_path, changes)
    assert service_port_peers(chart) is None  # every source, rather than dropping the gateway's traffic
    (why,) = [why for topic, decision, why in chart_plan(changes).decisions
              if topic == "security" and decision.startswith("NetworkPolicy")]
    assert "CiliumNetworkPolicy" in why


def test_named_namespaces_win_over_the_controller_default(tmp_path):
    chart = render(tmp_path, {"ingress": {**INGRESS, "gatewayClassName": "eg", "allowFromNamespaces": ["edge"]}})
    assert service_port_peers(chart) == [{"podSelector": {}},
                                         {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "edge"}}}]


def chart_plan(changes: dict):
    from catalog_gen.catalog.model import OllamaInferenceLoad
    from catalog_gen.plan.plan import build_plan

    return build_plan(OllamaInferenceLoad.model_validate(h.leaf(changes)), "leaf.yaml")


def routed_paths(chart: h.Rendered) -> set[str]:
    return {m["path"]["value"] for r in chart.one("HTTPRoute")["spec"]["rules"] for m in r["matches"]}


@pytest.mark.parametrize("internal", ["/metrics", "/readyz", "/livez"])
def test_public_route_does_not_reach_the_routers_internals(tmp_path, internal):
    chart = render(tmp_path, {"ingress": {**INGRESS, "controller": "istio"}})
    rules = chart.one("HTTPRoute")["spec"]["rules"]
    matches = [m["path"] for r in rules for m in r["matches"]]
    assert {"type": "PathPrefix", "value": "/api"} in matches and {"type": "PathPrefix", "value": "/v1"} in matches
    for match in matches:  # Gateway API prefixes match whole path elements
        covers = match["value"] == internal if match["type"] == "Exact" else (
            match["value"] == "/" or internal == match["value"] or internal.startswith(match["value"].rstrip("/") + "/"))
        assert not covers, match


def test_ingress_api_carries_timeouts_body_size_and_the_leafs_annotations(tmp_path):
    chart = render(tmp_path, {"ingress": {**INGRESS, "api": "ingress", "ingressClassName": "nginx", "requestTimeout": "900s",
                                          "annotations": {"nginx.ingress.kubernetes.io/proxy-buffering": "on",
                                                          "example.com/team": "ml"}},
                              "router": {"maxBodySize": "64Mi"}})
    annotations = chart.one("Ingress")["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"] == "900"
    assert annotations["nginx.ingress.kubernetes.io/proxy-send-timeout"] == "900"
    assert annotations["nginx.ingress.kubernetes.io/proxy-body-size"] == "64m"
    assert annotations["nginx.ingress.kubernetes.io/proxy-buffering"] == "on"  # the leaf wins
    assert annotations["example.com/team"] == "ml"
    paths = chart.one("Ingress")["spec"]["rules"][0]["http"]["paths"]
    assert {(p["path"], p["pathType"]) for p in paths} == {("/api", "Prefix"), ("/v1", "Prefix"), ("/", "Exact")}


def test_chart_made_gateway_redirects_plain_http_to_https(tmp_path):
    chart = render(tmp_path, {"ingress": {**INGRESS, "controller": "istio", "tls": {"enabled": True, "issuer": "le"}}})
    routes = {r["metadata"]["name"]: r for r in chart.all("HTTPRoute")}
    redirect = routes["svc-redirect"]
    assert redirect["spec"]["parentRefs"][0]["sectionName"] == "http"
    (rule,) = redirect["spec"]["rules"]
    assert rule["filters"] == [{"type": "RequestRedirect", "requestRedirect": {"scheme": "https", "statusCode": 301}}]
    assert routes["svc"]["spec"]["parentRefs"][0]["sectionName"] == "https"
    without_tls = render(tmp_path / "plain", {"ingress": {**INGRESS, "controller": "istio"}})
    assert [r["metadata"]["name"] for r in without_tls.all("HTTPRoute")] == ["svc"]


# --- lifecycle -----------------------------------------------------------------------------------------


def test_ollama_outlives_the_routers_drain(tmp_path):
    chart = render(tmp_path, {"ingress": {**INGRESS, "controller": "istio"}, "router": {"requestTimeout": "900s"}})
    pod = chart.pod
    router = chart.container("router")
    assert router["lifecycle"]["preStop"] == {"sleep": {"seconds": 5}}
    for ollama in chart.ollama_containers():
        hook = ollama["lifecycle"]["preStop"]["exec"]["command"]
        assert hook[:2] == ["bash", "/etc/catalog-gen/drain-wait.sh"]
        assert env_of(ollama)["ROUTER_PORT"] == str(router["ports"][0]["containerPort"])
        assert int(env_of(ollama)["DRAIN_DEADLINE_SECONDS"]) >= 900
    config = json.loads(chart.config["router.json"])
    assert config["shutdownGraceSeconds"] == config["requestTimeoutSeconds"] == 900  # the longest request it allows
    assert pod["terminationGracePeriodSeconds"] > 5 + config["shutdownGraceSeconds"]


def test_rollout_deadline_covers_the_pull_and_startup_budgets(tmp_path):
    chart = render(tmp_path, {"model": "llama3.1:70b", "gpu": {"count": 2, "vendor": "nvidia", "product": "NVIDIA-A100-SXM4-80GB"}})
    deadline = chart.deployment["spec"]["progressDeadlineSeconds"]
    values = chart.values
    startup = values["probes"]["startup"]["periodSeconds"] * values["probes"]["startup"]["failureThreshold"]
    assert deadline > 600  # Kubernetes' default: shorter than a 40 GB pull
    assert deadline >= values["pull"]["jobDeadlineSeconds"] + startup


# --- hardware ------------------------------------------------------------------------------------------


def test_amd_gpus_get_the_rocm_image_and_the_device_groups(tmp_path):
    chart = render(tmp_path, {"gpu": {"count": 1, "vendor": "amd", "deviceGroups": [44, 110]}})
    for ollama in chart.ollama_containers():
        assert ollama["image"].endswith("-rocm")
        assert "amd.com/gpu" in ollama["resources"]["limits"]
    assert chart.pod["securityContext"]["supplementalGroups"] == [44, 110]
    nvidia = render(tmp_path / "n", {"gpu": GPU})
    assert not nvidia.ollama_containers()[0]["image"].endswith("-rocm")
    assert "supplementalGroups" not in nvidia.pod["securityContext"]


def test_containers_that_request_no_gpu_see_none(tmp_path):
    chart = render(tmp_path, {"gpu": GPU, "cache": {"mode": "shared", "size": "20Gi"}})
    seen = 0
    for where, spec in pod_specs(chart):
        for container in spec.get("initContainers", []) + spec["containers"]:
            limits = container.get("resources", {}).get("limits", {})
            if "nvidia.com/gpu" in limits:
                assert "NVIDIA_VISIBLE_DEVICES" not in env_of(container), (where, container["name"])
            elif container["image"] == chart.ollama_containers()[0]["image"] or container["name"] == "router":
                assert env_of(container).get("NVIDIA_VISIBLE_DEVICES") == "void", (where, container["name"])
                seen += 1
    assert seen >= 3  # wait-models, router, the loader
    cpu = render(tmp_path / "cpu")
    assert env_of(cpu.ollama_containers()[0])["NVIDIA_VISIBLE_DEVICES"] == "void"


def test_placement_settings_reach_the_pod(tmp_path):
    chart = render(tmp_path, {"gpu": GPU, "container": {
        "replicas": 3, "runtimeClassName": "nvidia", "priorityClassName": "inference-high",
        "imagePullSecrets": ["registry-creds"],
        "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "llm", "effect": "NoSchedule"}],
        "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": "pool", "operator": "In", "values": ["gpu"]}]}]}}}},
        "ollama": {"digest": "sha256:" + "a" * 64}})
    pod = chart.pod
    assert pod["runtimeClassName"] == "nvidia"
    assert pod["priorityClassName"] == "inference-high"
    assert pod["imagePullSecrets"] == [{"name": "registry-creds"}]
    assert {"key": "dedicated", "operator": "Equal", "value": "llm", "effect": "NoSchedule"} in pod["tolerations"]
    assert pod["affinity"]["nodeAffinity"]
    # more than one replica: spread over nodes and zones by default, selecting this release's pods
    spread = pod["topologySpreadConstraints"]
    assert {s["topologyKey"] for s in spread} == {"kubernetes.io/hostname", "topology.kubernetes.io/zone"}
    selector = chart.deployment["spec"]["selector"]["matchLabels"]
    assert all(s["labelSelector"]["matchLabels"] == selector for s in spread)
    assert all(c["image"].endswith("@sha256:" + "a" * 64) for c in chart.ollama_containers())


def test_one_replica_is_not_spread_and_an_empty_list_turns_spreading_off(tmp_path):
    assert "topologySpreadConstraints" not in render(tmp_path / "a").pod
    off = render(tmp_path / "b", {"container": {"replicas": 3, "topologySpread": []}})
    assert "topologySpreadConstraints" not in off.pod


def test_default_ollama_image_is_a_published_release(tmp_path):
    chart = render(tmp_path)
    tag = chart.ollama_containers()[0]["image"].split(":")[-1]
    assert "rc" not in tag
    assert tag == "0.32.15"


def test_cache_size_default_holds_the_models(tmp_path):
    changes = {"cache": {"mode": "pvc"}}
    chart = render(tmp_path, changes)
    (template,) = chart.deployment["spec"]["volumeClaimTemplates"]
    sizing = chart_plan(changes).sizing
    claim = parse_quantity(template["spec"]["resources"]["requests"]["storage"])
    assert claim >= parse_quantity(sizing.cache_size) >= sizing.models_disk_bytes


@pytest.mark.parametrize("model", ["qwen2.5:0.5b", "llama3.2:3b", "qwen2.5:7b", "llama3.1:8b"])
def test_per_replica_claims_keep_their_size_across_nearby_models(tmp_path, model):
    """A StatefulSet's claim template cannot change in place: derived sizes come in power-of-two brackets."""
    chart = render(tmp_path, {"cache": {"mode": "pvc"}}, model=model)
    (template,) = chart.deployment["spec"]["volumeClaimTemplates"]
    size = parse_quantity(template["spec"]["resources"]["requests"]["storage"])
    assert size in {8 * 2**30, 16 * 2**30}
    gib = size / 2**30
    assert gib >= 8 and (int(gib) & (int(gib) - 1)) == 0


def test_ollama_never_proxies_cloud_models(tmp_path):
    """Ollama proxies `:cloud` models to ollama.com with the pod's key unless OLLAMA_NO_CLOUD is set (ollama-api.md)."""
    chart = render(tmp_path)
    for ollama in chart.ollama_containers():
        assert env_of(ollama)["OLLAMA_NO_CLOUD"] == "1"


@pytest.mark.parametrize("release", ["on", "no", "true", "null"])
def test_object_names_stay_strings_whatever_the_release_is_called(tmp_path, release):
    """Names are quoted: YAML 1.1 (what Helm and the API server read) turns a bare `on` or `no` into a boolean."""
    out = h.render_leaves(tmp_path, [h.leaf(serviceName="plain")])
    objects = h.helm_render(out / "dev" / "plain", {"fullnameOverride": release}, name=release)
    names = [(o["kind"], o["metadata"]["name"]) for o in objects]
    assert names and all(isinstance(name, str) for _, name in names), names
