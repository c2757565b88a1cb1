"""The gateway discovers its workers from EndpointSlices with the real kubernetes client (discovery.py),
against a stand-in API server that lists and watches the way the API server does (kube_standin.py)."""

from __future__ import annotations

import threading

import httpx
import pytest
from gateway_helpers import generate, run_gateway, run_worker, run_workers, served
from kube_standin import endpoint, kubeconfig, serve_kube
from router_helpers import TEXT, make_double, wait_for

from catalog_gen.errors import InputError
from catalog_gen.router.config import load_config
from catalog_gen.router.discovery import workers_from_slices
from catalog_gen.router.gateway import GatewayApp

NS, SERVICE = "ml", "chat-workers"


@pytest.fixture
def kube(tmp_path, monkeypatch):
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    with serve_kube() as (standin, url):
        monkeypatch.setenv("KUBECONFIG", kubeconfig(tmp_path, url))
        yield standin


def _port(handle) -> int:
    return int(handle.url.rsplit(":", 1)[1])


def _ready_workers(gateway) -> list[str]:
    return httpx.get(gateway.url + "/readyz", timeout=5).json()["workersReady"]


def _discovered(**settings):
    return run_gateway(worker_service=SERVICE, worker_namespace=NS, **settings)


def test_list_then_watch_follows_slices_and_ready_needs_a_synced_ready_worker(kube):
    with run_workers(2) as [(_d1, w1), (_d2, w2)]:
        kube.put_slice(NS, "s-1", SERVICE, [endpoint("127.0.0.1", ready=False)], _port(w1))
        kube.put_slice(NS, "other", "another-service", [endpoint("127.0.0.1")], _port(w2))  # not ours
        with _discovered() as gateway:
            wait_for(lambda: kube.count("watch") >= 1, 5, "watch started")
            reply = httpx.get(gateway.url + "/readyz", timeout=5)
            assert reply.status_code == 503 and reply.json()["discoverySynced"] is True, "synced, but no ready worker"
            assert generate(gateway.url, TEXT).status_code == 503
            kube.put_slice(NS, "s-1", SERVICE, [endpoint("127.0.0.1", ready=True)], _port(w1))  # MODIFIED
            gateway.wait_ready()
            assert _ready_workers(gateway) == [w1.url]
            kube.put_slice(NS, "s-2", SERVICE, [endpoint("127.0.0.1")], _port(w2))  # ADDED
            wait_for(lambda: len(_ready_workers(gateway)) == 2, 5, "second worker")
            kube.delete_slice(NS, "s-1")  # DELETED
            wait_for(lambda: _ready_workers(gateway) == [w2.url], 5, "first worker removed")
            assert generate(gateway.url, TEXT).status_code == 200
    lists = [q for kind, q in kube.requests if kind == "list"]
    watches = [q for kind, q in kube.requests if kind == "watch"]
    assert len(lists) == 1, "no re-list while the watch stayed valid"
    assert lists[0]["labelSelector"] == f"kubernetes.io/service-name={SERVICE}"
    assert watches[0]["allowWatchBookmarks"] == "true" and watches[0]["resourceVersion"] == "102"


@pytest.mark.parametrize("mode", ["event", "status"])
def test_410_gone_forces_a_relist_and_nothing_is_missed(kube, mode):
    with run_workers(2) as [(_d1, w1), (_d2, w2)]:
        kube.put_slice(NS, "s-1", SERVICE, [endpoint("127.0.0.1")], _port(w1))
        with _discovered() as gateway:
            gateway.wait_ready()
            assert kube.count("list") == 1
            kube.fail_next_watch(1, mode)
            kube.end_watches()  # the watch ends; the next one is told 410
            wait_for(lambda: kube.count("list") == 2, 5, "re-list after 410")
            kube.end_watches()
            kube.put_slice(NS, "s-2", SERVICE, [endpoint("127.0.0.1")], _port(w2))  # while the gateway re-watches
            kube.compact()
            wait_for(lambda: len(_ready_workers(gateway)) == 2, 5, "the change made around the 410 is seen")


def test_a_watch_that_ends_resumes_from_the_last_bookmark_without_a_relist(kube):
    with run_worker() as (_double, worker):
        kube.put_slice(NS, "s-1", SERVICE, [endpoint("127.0.0.1")], _port(worker))
        with _discovered() as gateway:
            gateway.wait_ready()
            moved = kube.put_slice(NS, "unrelated", "another-service", [endpoint("127.0.0.1")], 1)
            wait_for(lambda: gateway.app.discovery.resource_version == str(moved), 5, "a bookmark moved the resourceVersion")
            kube.end_watches()
            wait_for(lambda: kube.count("watch") >= 2, 5, "watch again")
            again = [q for kind, q in kube.requests if kind == "watch"][-1]
            assert again["resourceVersion"] == str(moved) and kube.count("list") == 1


def test_conditions_decide_ready_draining_and_gone():
    slices = {"a": {"addressType": "IPv4", "ports": [{"name": "router", "port": 8080}, {"name": "metrics", "port": 9090}],
                    "endpoints": [endpoint("10.0.0.1"), endpoint("10.0.0.2", ready=None),
                                  endpoint("10.0.0.3", ready=False, serving=True, terminating=True),
                                  endpoint("10.0.0.4", ready=False, serving=False, terminating=True),
                                  endpoint("10.0.0.5", ready=False)]},
              "b": {"addressType": "IPv6", "ports": [{"name": "router", "port": 8080}], "endpoints": [endpoint("fd00::1")]},
              "c": {"addressType": "IPv4", "ports": [{"name": "http", "port": 80}], "endpoints": [endpoint("10.0.0.9")]}}
    assert workers_from_slices(slices, "router") == {
        "http://10.0.0.1:8080": "ready", "http://10.0.0.2:8080": "ready", "http://10.0.0.3:8080": "terminating",
        "http://10.0.0.4:8080": "terminating", "http://10.0.0.5:8080": "not-ready", "http://[fd00::1]:8080": "ready"}


def test_a_terminating_worker_drains_and_a_removed_one_finishes_its_requests(kube):
    slow = [make_double(ttft_seconds=0.8, tokens_per_reply=2) for _ in range(2)]
    with run_workers(2, doubles=slow) as [(d1, w1), (d2, w2)]:
        kube.put_slice(NS, "s-1", SERVICE, [endpoint("127.0.0.1")], _port(w1))
        with _discovered(prefix_affinity=False) as gateway:
            gateway.wait_ready()
            results = []
            first = threading.Thread(target=lambda: results.append(generate(gateway.url, TEXT).status_code))
            first.start()
            wait_for(lambda: gateway.app.backends[0].inflight == 1, 5, "request in flight on worker 1")
            kube.put_slice(NS, "s-1", SERVICE, [endpoint("127.0.0.1", ready=False, serving=True, terminating=True)], _port(w1))
            kube.put_slice(NS, "s-2", SERVICE, [endpoint("127.0.0.1")], _port(w2))
            wait_for(lambda: gateway.app.worker(w1.url).draining and gateway.app.worker(w2.url), 5, "drain seen")
            assert generate(gateway.url, TEXT).status_code == 200
            assert served(d2) == 1, "a new request goes to the worker that is not terminating"
            kube.delete_slice(NS, "s-1")  # gone while its request is still running
            first.join()
            assert results == [200] and served(d1) == 1, "the request in flight on the leaving worker finished"
            wait_for(lambda: gateway.app.worker(w1.url) is None, 5, "worker dropped once idle")
            exposed = httpx.get(gateway.url + "/metrics", timeout=5).text
            assert f'backend="{w1.url}"' not in exposed and f'backend="{w2.url}"' in exposed, "a gone worker's series go too"


def test_no_kubeconfig_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing"))
    monkeypatch.setenv("HOME", str(tmp_path))
    config = load_config(None, role="gateway", worker_service=SERVICE, worker_namespace=NS)
    with pytest.raises(InputError, match="cannot reach the Kubernetes API"):
        GatewayApp(config)


def test_a_service_account_without_the_role_is_named_and_the_gateway_stays_unready(kube, caplog):
    kube.forbidden = True
    with run_worker() as (_double, worker):
        kube.put_slice(NS, "s-1", SERVICE, [endpoint("127.0.0.1")], _port(worker))
        with _discovered() as gateway:
            wait_for(lambda: kube.count("forbidden") >= 1, 5, "list refused")
            wait_for(lambda: "needs get/list/watch on discovery.k8s.io endpointslices" in caplog.text, 5, "the hint logged")
            reply = httpx.get(gateway.url + "/readyz", timeout=5)
            assert reply.status_code == 503 and reply.json()["discoverySynced"] is False
            kube.forbidden = False  # the Role was applied: the next list (after the backoff) syncs
            gateway.wait_ready(timeout=10)
