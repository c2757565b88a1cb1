"""SIGTERM: stop accepting, let requests in flight finish within the grace period, exit 0."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
import time

import httpx
import pytest
from router_helpers import TEXT, make_double, wait_for

from catalog_gen.testing.ollama_double import serve_double


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_router(backend: str, grace: float):
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "catalog_gen.cli", "router", "--backend", backend, "--host", "127.0.0.1",
                             "--port", str(port), "--shutdown-grace", str(grace), "--poll-interval", "0.05"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def live():
        try:
            return httpx.get(f"http://127.0.0.1:{port}/livez", timeout=1).status_code == 200
        except httpx.HTTPError:
            return proc.poll() is not None

    wait_for(live, 15, "router process")
    assert proc.poll() is None, proc.stderr.read()
    return proc, f"http://127.0.0.1:{port}"


def _stream(url: str, lines: list, first: threading.Event) -> None:
    try:
        with httpx.stream("POST", url + "/api/generate", json={"model": TEXT, "prompt": "hi"}, timeout=30) as response:
            for line in response.iter_lines():
                if line.strip():
                    lines.append(json.loads(line))
                    first.set()
    except httpx.HTTPError as exc:
        lines.append({"transport_error": str(exc)})
    first.set()


@pytest.mark.parametrize("grace", [10.0])
def test_sigterm_finishes_requests_in_flight_then_exits_zero(grace):
    double = make_double(models=(TEXT,), token_interval_seconds=0.1, tokens_per_reply=12)
    with serve_double(double) as backend:
        proc, url = _start_router(backend, grace)
        try:
            lines: list = []
            first = threading.Event()
            thread = threading.Thread(target=_stream, args=(url, lines, first))
            thread.start()
            assert first.wait(10)
            proc.send_signal(signal.SIGTERM)
            time.sleep(0.3)
            with pytest.raises(httpx.ConnectError):
                httpx.get(url + "/livez", timeout=2)
            thread.join(20)
            assert proc.wait(10) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
    assert lines[-1].get("done") is True, lines[-1]
    assert len([x for x in lines if x.get("done") is False]) == 12


def test_requests_past_the_grace_period_are_cut():
    double = make_double(models=(TEXT,), token_interval_seconds=0.1, tokens_per_reply=100)
    with serve_double(double) as backend:
        proc, url = _start_router(backend, 0.5)
        try:
            lines: list = []
            first = threading.Event()
            thread = threading.Thread(target=_stream, args=(url, lines, first))
            thread.start()
            assert first.wait(10)
            t0 = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(10) == 0
            assert time.monotonic() - t0 < 3
            thread.join(10)
        finally:
            if proc.poll() is None:
                proc.kill()
        stderr = proc.stderr.read()
    assert "shutting down" in lines[-1].get("error", ""), lines[-1]
    assert "Traceback" not in stderr and "CancelledError" not in stderr, stderr


def test_past_the_grace_period_streams_end_with_an_error_and_queued_requests_get_503_in_their_dialect():
    """In-process, so the counters can be read after the server stopped."""
    from router_helpers import run_router

    double = make_double(models=(TEXT,), token_interval_seconds=0.1, tokens_per_reply=200)
    with serve_double(double) as backend, run_router([backend], slots_per_backend=1, max_queue=4, shutdown_grace=0.4,
                                                      queue_timeout=30) as router:
        results: dict = {}

        def stream():
            with httpx.stream("POST", router.url + "/api/generate", json={"model": TEXT, "prompt": "hi"}, timeout=30) as r:
                results["stream"] = [json.loads(line) for line in r.iter_lines() if line.strip()]

        def queued(path, body):
            r = httpx.post(router.url + path, json=body, timeout=30)
            results[path] = (r.status_code, r.headers.get("retry-after"), r.json())

        threads = [threading.Thread(target=stream)]
        threads[0].start()
        wait_for(lambda: router.app.backends[0].inflight == 1, 5, "stream started")
        for path, body in (("/api/chat", {"model": TEXT, "messages": [{"role": "user", "content": "x"}], "stream": False}),
                           ("/v1/chat/completions", {"model": TEXT, "messages": [{"role": "user", "content": "x"}]})):
            threads.append(threading.Thread(target=queued, args=(path, body)))
            threads[-1].start()
        wait_for(lambda: len(router.app.balancer.queue) == 2, 5, "two requests queued")
        router.server.should_exit = True
        for thread in threads:
            thread.join(15)
        counted = {p: router.app.metrics.requests.labels(TEXT, p, "503")._value.get()
                   for p in ("/api/generate", "/api/chat", "/v1/chat/completions")}
    assert "shutting down" in results["stream"][-1]["error"]
    status, retry, body = results["/api/chat"]
    assert (status, retry) == (503, "1") and "shutting down" in body["error"]
    status, retry, body = results["/v1/chat/completions"]
    assert (status, retry) == (503, "1") and body["error"]["type"] == "api_error"
    assert counted == {"/api/generate": 1, "/api/chat": 1, "/v1/chat/completions": 1}
