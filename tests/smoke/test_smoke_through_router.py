"""The smoke runner through the real router (catalog_gen.router) in front of the Ollama double.

These tests reach the router through this machine's non-loopback address to play
the caller outside the pod (the smoke Job, a CI runner). The router's public port
never serves model management, whatever the peer (a mesh sidecar or a port-forward
delivers callers from loopback), so 127.0.0.1 sees it closed too; an open admin API
is shown by Ollama itself (the double) without the router in front.
"""

from __future__ import annotations

import pytest
from smoke_helpers import EMBED, TEXT, make_leaf, not_passed, outside_address, result, run_router, smoke, statuses

from catalog_gen.smoke.results import Status

PINS = [TEXT, f"{EMBED},kind=embedding"]
ROUTED = {"router": {"enabled": True}}


@pytest.fixture
def router_port(url):
    with run_router(url, PINS, slots_per_backend=4) as port:
        yield port


def test_healthy_service_behind_the_router_passes_every_check(router_port):
    report = smoke(make_leaf(**ROUTED), f"http://{outside_address()}:{router_port}", warmup=5)
    assert not_passed(report) == {"security.api_keys": Status.SKIPPED}
    assert report.warmup.ready and report.warmup.detail == "the router reports ready"
    assert statuses(report)["router.readyz"] is Status.PASSED
    assert statuses(report)["security.admin_closed"] is Status.PASSED
    assert report.exit_code == 0


def test_admin_endpoint_open_fails_the_admin_check(url):
    # Ollama itself serves model management to anyone: what a service that bypasses the router looks like.
    report = smoke(make_leaf(**ROUTED), url, warmup=0.2)
    assert statuses(report)["security.admin_closed"] is Status.FAILED
    message = result(report, "security.admin_closed").message
    assert f"POST {url}/api/pull answered HTTP" in message
    assert f"DELETE {url}/api/delete answered HTTP" in message and "(expected 403)" in message


def test_admin_stays_closed_to_a_loopback_caller(router_port):
    # A port-forward or a mesh sidecar delivers remote callers from loopback: the router's port stays closed to them.
    report = smoke(make_leaf(**ROUTED), f"http://127.0.0.1:{router_port}", warmup=5)
    assert statuses(report)["security.admin_closed"] is Status.PASSED


def test_router_not_ready_waits_then_fails_readiness(url, double):
    double.model(TEXT).on_disk = False
    with run_router(url, PINS, slots_per_backend=4) as port:
        report = smoke(make_leaf(**ROUTED), f"http://{outside_address()}:{port}", warmup=0.4)
    assert not report.warmup.ready and report.warmup.attempts >= 2 and "GET /readyz answered 503" in report.warmup.detail
    failed = {n for n, s in statuses(report).items() if s is Status.FAILED}
    assert failed == {"router.readyz", f"models.listed[{TEXT}]"}
    assert f"models not ready: {TEXT}" in result(report, "router.readyz").message


def test_api_keys_enforced_pass(url, tmp_path):
    keys = tmp_path / "api-keys"
    keys.write_text("# rotated 2026-03\ns3cret-key\n")
    leaf = make_leaf(router={"enabled": True, "apiKeySecret": {"name": "chat-keys"}})
    with run_router(url, PINS, slots_per_backend=4, api_keys_file=str(keys)) as port:
        report = smoke(leaf, f"http://{outside_address()}:{port}", warmup=5, api_key="s3cret-key")
    assert not_passed(report) == {}
    assert result(report, "security.api_keys").metrics == {"probed": 4}


def test_missing_api_key_accepted_fails_the_key_check(router_port):
    leaf = make_leaf(router={"enabled": True, "apiKeySecret": {"name": "chat-keys"}})
    report = smoke(leaf, f"http://{outside_address()}:{router_port}", warmup=5, api_key="anything")
    assert not_passed(report) == {"security.api_keys": Status.FAILED}
    message = result(report, "security.api_keys").message
    assert "without a key answered HTTP 200 (expected 401)" in message and "/api/tags" in message


def test_full_router_queue_429_with_retry_after_is_tolerated(url, double):
    double.knobs.ttft_seconds = 0.2
    with run_router(url, PINS, slots_per_backend=1, max_queue=1) as port:
        report = smoke(make_leaf(**ROUTED, smoke={"concurrency": 6}), f"http://{outside_address()}:{port}", warmup=5)
    concurrency = result(report, "concurrency")
    assert concurrency.status is Status.PASSED, concurrency.message
    assert concurrency.metrics["rejected_429"] >= 1 and concurrency.metrics["succeeded"] >= 1
    assert concurrency.metrics["succeeded"] + concurrency.metrics["rejected_429"] == 6


def test_router_queue_deadline_503_fails_the_concurrency_check(url, double):
    double.knobs.ttft_seconds = 0.3
    with run_router(url, PINS, slots_per_backend=1, max_queue=16, queue_timeout=0.2) as port:
        report = smoke(make_leaf(**ROUTED, smoke={"concurrency": 4}), f"http://{outside_address()}:{port}", warmup=5)
    assert not_passed(report) == {"concurrency": Status.FAILED, "security.api_keys": Status.SKIPPED}
    assert "HTTP 503" in result(report, "concurrency").message
