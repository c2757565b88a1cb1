"""Backends that die, stall or refuse: retry before the first byte, error lines after it, the circuit breaker."""

from __future__ import annotations

import json
import socket
import threading
import time

import httpx
from router_helpers import TEXT, make_double, ndjson, paths, run_router, wait_for

from catalog_gen.testing.ollama_double import serve_double, spawn_double

GEN = {"model": TEXT, "prompt": "hi", "stream": False}


def _dead_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def test_upstream_killed_mid_stream_ends_the_stream_with_an_error_line():
    with spawn_double(make_double(token_interval_seconds=0.1, tokens_per_reply=30)) as child, \
            run_router([child.url], breaker_failures=1) as router, router.client() as client:
        lines = []
        with client.stream("POST", "/api/generate", json={"model": TEXT, "prompt": "hi"}) as response:
            status = response.status_code
            for line in response.iter_lines():
                if line.strip():
                    lines.append(json.loads(line))
                    if len(lines) == 2:
                        child.kill()
        assert status == 200
        assert [obj.get("done") for obj in lines[:2]] == [False, False]
        assert set(lines[-1]) == {"error"} and child.url.split("//")[1] in lines[-1]["error"]
        wait_for(lambda: router.metric("ollama_router_backend_up", backend=child.url) == 0, 5, "backend down")
        assert router.metric("ollama_router_inflight_requests", backend=child.url) == 0
        assert router.metric("ollama_router_upstream_failures_total", backend=child.url, phase="stream") >= 1


def test_failure_before_the_first_byte_is_retried_once_on_another_backend(double, double_url):
    dead = _dead_url()
    with run_router([dead, double_url], breaker_failures=1000) as router:
        generated = httpx.post(router.url + "/api/generate", json=GEN, timeout=10)
        shown = httpx.get(router.url + "/api/version", timeout=10)
        retries = router.metric("ollama_router_upstream_retries_total")
        connect_failures = router.metric("ollama_router_upstream_failures_total", backend=dead, phase="connect")
    assert generated.status_code == 200 and generated.json()["done"] is True
    assert shown.status_code == 200
    assert retries >= 2 and connect_failures >= 2
    assert len(paths(double, "/api/generate")) == 1


def test_upstream_slow_to_answer_gets_504_in_the_dialect(double, double_url):
    double.knobs.ttft_seconds = 3
    with run_router([double_url], request_timeout=0.5) as router:
        t0 = time.monotonic()
        native = httpx.post(router.url + "/api/generate", json=GEN, timeout=10)
        openai = httpx.post(router.url + "/v1/completions", json={"model": TEXT, "prompt": "x"}, timeout=10)
        elapsed = time.monotonic() - t0
        inflight = router.metric("ollama_router_inflight_requests", backend=double_url)
    assert native.status_code == 504 and "request timeout" in native.json()["error"]
    assert openai.status_code == 504 and openai.json()["error"]["type"] == "api_error"
    assert elapsed < 2.5
    assert inflight == 0


def test_upstream_stalling_mid_stream_ends_with_an_error_line(double, double_url):
    double.knobs.stall_after_chunks = 2
    with run_router([double_url], request_timeout=1.0) as router:
        t0 = time.monotonic()
        response = httpx.post(router.url + "/api/chat", json={"model": TEXT, "messages": [{"role": "user", "content": "x"}]},
                              timeout=10)
        elapsed = time.monotonic() - t0
    lines = ndjson(response.text)
    assert response.status_code == 200 and len(lines) == 3
    assert "request timeout" in lines[-1]["error"]
    assert 0.9 <= elapsed < 3


def test_circuit_opens_on_a_dead_backend_and_closes_when_it_is_back():
    first, second = make_double(), make_double()
    with serve_double(second) as url2:
        holder = {}
        stop_first = threading.Event()

        def serve_first(double, port=0):
            with serve_double(double, port=port) as url:
                holder["url"] = url
                stop_first.wait()

        thread = threading.Thread(target=serve_first, args=(first,))
        thread.start()
        wait_for(lambda: "url" in holder, 5, "first double")
        url1 = holder["url"]
        port1 = int(url1.rsplit(":", 1)[1])
        with run_router([url1, url2], models=[TEXT], breaker_failures=2, breaker_cooldown=0.3) as router:
            router.wait_ready()
            assert httpx.post(router.url + "/api/generate", json=GEN, timeout=10).status_code == 200
            stop_first.set()
            thread.join(10)
            wait_for(lambda: router.metric("ollama_router_backend_up", backend=url1) == 0, 5, "circuit open")
            before = len(paths(second, "/api/generate"))
            replies = [httpx.post(router.url + "/api/generate", json=GEN, timeout=10) for _ in range(5)]
            assert [r.status_code for r in replies] == [200] * 5
            assert len(paths(second, "/api/generate")) == before + 5
            # the same Ollama comes back on the same port: the half-open probe closes the circuit
            revived = make_double()
            stop_first.clear()
            thread = threading.Thread(target=serve_first, args=(revived, port1))
            thread.start()
            try:
                wait_for(lambda: router.metric("ollama_router_backend_up", backend=url1) == 1, 10, "circuit closed")
                assert paths(revived, "/api/version"), "recovery goes through the half-open probe"
                replies = [httpx.post(router.url + "/api/generate", json=GEN, timeout=10) for _ in range(3)]
                assert [r.status_code for r in replies] == [200] * 3
                generated = paths(revived, "/api/generate")
                assert generated[0]["prompt"] == "", "a restarted backend is warmed again first"
                assert any(g["prompt"] == "hi" for g in generated), "traffic returns to the recovered backend"
            finally:
                stop_first.set()
                thread.join(10)
