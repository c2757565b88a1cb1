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
    assert lines[-1].get("done") is not True
