"""Timeouts: silence between chunks is bounded apart from the total limit; healthy long generations are not cut."""

from __future__ import annotations

import time

import httpx
from router_helpers import TEXT, ndjson, run_router

from catalog_gen.router.config import RouterConfig


def test_defaults_do_not_cut_healthy_long_generations():
    config = RouterConfig()
    assert config.request_timeout >= 3600, "a total limit of minutes cuts long generations that still stream"
    assert 30 <= config.idle_timeout <= 300 and config.idle_timeout < config.request_timeout


def test_a_stream_longer_than_the_idle_timeout_is_not_cut_while_tokens_flow(double, double_url):
    double.knobs.token_interval_seconds = 0.1
    double.knobs.tokens_per_reply = 12
    with run_router([double_url], idle_timeout=0.4, request_timeout=30) as router:
        started = time.monotonic()
        r = httpx.post(router.url + "/api/generate", json={"model": TEXT, "prompt": "hi"}, timeout=20)
        took = time.monotonic() - started
    lines = ndjson(r.text)
    assert took > 1.0 and lines[-1]["done"] is True


def test_a_backend_that_hangs_mid_stream_is_cut_after_the_idle_timeout(double, double_url):
    double.knobs.stall_after_chunks = 2
    with run_router([double_url], idle_timeout=0.3, request_timeout=30, breaker_failures=100) as router:
        started = time.monotonic()
        r = httpx.post(router.url + "/api/generate", json={"model": TEXT, "prompt": "hi"}, timeout=20)
        took = time.monotonic() - started
        counted = router.metric("ollama_router_requests_total", model=TEXT, endpoint="/api/generate", status="504")
    assert took < 3, "the caller was held far past the idle timeout"
    assert "idle timeout" in ndjson(r.text)[-1]["error"] and counted == 1


def test_the_total_limit_still_applies(double, double_url):
    double.knobs.token_interval_seconds = 0.1
    double.knobs.tokens_per_reply = 40
    with run_router([double_url], idle_timeout=5, request_timeout=0.6, breaker_failures=100) as router:
        r = httpx.post(router.url + "/api/generate", json={"model": TEXT, "prompt": "hi"}, timeout=20)
    assert "request timeout" in ndjson(r.text)[-1]["error"]
