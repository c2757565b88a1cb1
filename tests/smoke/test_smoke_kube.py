"""Kubernetes discovery and diagnostics against recorded API objects.

The ``kubernetes`` client runs for real; only its HTTP transport (the urllib3
pool manager) is replaced by one that answers from the JSON fixtures, in the
exact shape the API server returns (V1Service, V1Deployment, V1PodList,
V1EventList, Status, text/plain logs).
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import urllib3
from kubernetes import client
from smoke_helpers import make_leaf

from catalog_gen.errors import InputError
from catalog_gen.smoke import kube
from catalog_gen.smoke.diagnostics import diagnose

FIXTURES = Path(__file__).with_name("fixtures") / "kube"
SELECTOR = "app.kubernetes.io/instance=chat,app.kubernetes.io/name=ollama-inference-load"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


class FakeTransport:
    """Stands in for urllib3.PoolManager: answers (method, path) from recorded bodies, logs the calls."""

    def __init__(self, routes: dict[tuple[str, str], tuple[int, bytes] | tuple[int, bytes, str]]) -> None:
        self.routes = routes
        self.calls: list[tuple[str, str, dict]] = []

    def request(self, method, url, **kwargs):
        parts = urlsplit(url)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        self.calls.append((method, parts.path, query))
        status, body, *ctype = self.routes.get((method, parts.path), (404, fixture("deployment_notfound.json")))
        headers = {"Content-Type": ctype[0] if ctype else "application/json"}
        return urllib3.HTTPResponse(body=body, status=status, headers=headers, reason="OK" if status < 400 else "Error", preload_content=True)

    def clear(self):
        pass


def api_with(routes) -> tuple[client.ApiClient, FakeTransport]:
    configuration = client.Configuration()
    configuration.host = "https://kube.test:6443"
    api = client.ApiClient(configuration)
    transport = FakeTransport(routes)
    api.rest_client.pool_manager = transport
    return api, transport


def routes_with(pods: str, extra: dict | None = None) -> dict:
    routes = {
        ("GET", "/api/v1/namespaces/ml/services/chat"): (200, fixture("service.json")),
        ("GET", "/apis/apps/v1/namespaces/ml/deployments/chat"): (200, fixture("deployment_stuck.json")),
        ("GET", "/api/v1/namespaces/ml/pods"): (200, fixture(pods)),
        ("GET", "/api/v1/namespaces/ml/events"): (200, fixture("events.json")),
    }
    routes.update(extra or {})
    return routes


def log(pod: str, text: str) -> dict:
    return {("GET", f"/api/v1/namespaces/ml/pods/{pod}/log"): (200, text.encode(), "text/plain")}


def test_oomkilled_container_is_explained_with_its_previous_log():
    pod = "chat-6c9d7f5b8d-q8v2m"
    api, transport = api_with(routes_with("pods_oomkilled.json", log(pod, "time=... msg=\"loading model\"\nfatal: killed\n")))
    lines = diagnose(api, "chat", "ml")
    text = "\n".join(lines)
    assert "deployment ml/chat: 1 desired, 1 updated, 0 ready, 0 available" in text
    assert "Progressing=False: ProgressDeadlineExceeded" in text
    assert f"pod {pod}: phase Running, ready 1/2, node gpu-node-3" in text
    assert "container ollama: waiting CrashLoopBackOff" in text and "restarts 5" in text
    assert "last run: terminated OOMKilled (exit 137)" in text
    assert "container ollama ran out of memory" in text
    assert "previous run tail:" in text and "| fatal: killed" in text
    log_calls = [q for m, p, q in transport.calls if p.endswith("/log")]
    assert log_calls == [{"container": "ollama", "previous": "true", "tailLines": "20"}]
    assert ("GET", "/api/v1/namespaces/ml/pods", {"labelSelector": SELECTOR}) in transport.calls


def test_image_pull_backoff_is_explained():
    api, transport = api_with(routes_with("pods_imagepullbackoff.json"))
    text = "\n".join(diagnose(api, "chat", "ml"))
    assert 'container ollama: waiting ImagePullBackOff (Back-off pulling image "ollama/ollama:0.33.9")' in text
    assert "container ollama its image cannot be pulled" in text
    assert "container router: running, ready" in text
    assert not [p for _, p, _ in transport.calls if p.endswith("/log")]  # nothing ran: no log to read


def test_failing_init_container_shows_its_log_tail():
    pod = "chat-5f6a7b8c9d-w7n4p"
    pull_log = "pulling manifest\nError: pull model manifest: file does not exist\n"
    api, transport = api_with(routes_with("pods_init_failed.json", log(pod, pull_log)))
    text = "\n".join(diagnose(api, "chat", "ml"))
    assert "init container pull-models: waiting CrashLoopBackOff" in text
    assert "last run: terminated Error (exit 1)" in text
    assert "init container pull-models exited with an error" in text
    assert "| Error: pull model manifest: file does not exist" in text
    assert "container ollama: waiting PodInitializing, not ready" in text
    assert [q["container"] for _, p, q in transport.calls if p.endswith("/log")] == ["pull-models"]


def test_init_container_still_pulling_is_reported_with_its_progress():
    data = json.loads(fixture("pods_init_failed.json"))
    status = data["items"][0]["status"]["initContainerStatuses"][0]
    status["state"] = {"running": {"startedAt": "2026-03-02T11:30:04Z"}}
    status["lastState"] = {}
    pod = data["items"][0]["metadata"]["name"]
    api, transport = api_with(routes_with("pods_init_failed.json", log(pod, "pulling 6a0746a1ec1a...  97% 4.5 GB/4.7 GB\n")))
    transport.routes[("GET", "/api/v1/namespaces/ml/pods")] = (200, json.dumps(data).encode())
    text = "\n".join(diagnose(api, "chat", "ml"))
    assert "init container pull-models: running" in text and "still running (pulling models?)" in text
    assert "log tail:" in text and "97% 4.5 GB/4.7 GB" in text
    assert [q.get("previous") for _, p, q in transport.calls if p.endswith("/log")] == ["false"]


def test_events_of_the_service_only_oldest_first():
    api, _ = api_with(routes_with("pods_oomkilled.json"))
    lines = diagnose(api, "chat", "ml")
    events = lines[lines.index(next(line for line in lines if line.startswith("events"))) :]
    assert events[0] == "events (last 3 of 3):"
    assert "Normal Scheduled pod/chat-6c9d7f5b8d-q8v2m" in events[1]
    assert "Warning BackOff pod/chat-6c9d7f5b8d-q8v2m" in events[2] and "(x14)" in events[2]
    assert "Warning ProgressDeadlineExceeded deployment/chat" in events[3]
    assert not any("other-db-0" in line for line in lines)


def test_forbidden_is_a_line_with_the_rbac_hint_not_an_exception():
    api, _ = api_with(routes_with("pods_oomkilled.json", {("GET", "/api/v1/namespaces/ml/pods"): (403, fixture("forbidden.json"))}))
    lines = diagnose(api, "chat", "ml")
    assert lines[0].startswith("deployment ml/chat:")
    assert "cannot read the pods or events of ml/chat: 403" in lines[-1] and "pods/log" in lines[-1]


def test_missing_deployment_is_a_line():
    routes = routes_with("pods_oomkilled.json")
    del routes[("GET", "/apis/apps/v1/namespaces/ml/deployments/chat")]
    api, _ = api_with(routes)
    assert diagnose(api, "chat", "ml")[0] == "deployment or statefulset ml/chat: cannot read it (404 Error)"


def test_a_stateful_set_is_described_when_there_is_no_deployment():
    """A `pvc` cache makes a StatefulSet (one claim per replica): diagnostics read it instead."""
    routes = routes_with("pods_oomkilled.json")
    del routes[("GET", "/apis/apps/v1/namespaces/ml/deployments/chat")]
    routes[("GET", "/apis/apps/v1/namespaces/ml/statefulsets/chat")] = (200, json.dumps({
        "apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "chat", "namespace": "ml"},
        "spec": {"replicas": 2, "serviceName": "chat", "selector": {"matchLabels": {"app": "chat"}},
                 "template": {"metadata": {"labels": {"app": "chat"}}, "spec": {"containers": [{"name": "c"}]}}},
        "status": {"replicas": 2, "updatedReplicas": 2, "readyReplicas": 1, "availableReplicas": 1}}).encode())
    api, _ = api_with(routes)
    assert diagnose(api, "chat", "ml")[0] == "statefulset ml/chat: 2 desired, 2 updated, 1 ready, 1 available"


def test_port_forward_target_is_a_ready_pod_and_the_named_port():
    api, _ = api_with(routes_with("pods_one_ready.json"))
    assert kube.target_pod(api, make_leaf(), 80) == ("chat-6c9d7f5b8d-zz1rk", 8080)


def test_port_forward_without_a_running_pod_says_so():
    api, _ = api_with(routes_with("pods_init_failed.json"))
    with pytest.raises(InputError, match=r"no running pod behind service ml/chat \(1 pod\(s\) matched"):
        kube.target_pod(api, make_leaf(), 80)


def test_unknown_service_port_is_named():
    api, _ = api_with(routes_with("pods_one_ready.json"))
    with pytest.raises(InputError, match="has no port 8443 \\(ports: 80\\)"):
        kube.target_pod(api, make_leaf(), 8443)


def test_in_cluster_url_uses_the_service_dns_name():
    assert kube.in_cluster_url(make_leaf()) == "http://chat.ml.svc:80"
    assert kube.in_cluster_url(make_leaf(), 8080) == "http://chat.ml.svc:8080"
