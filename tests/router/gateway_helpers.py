"""Helpers for the gateway's tests: workers (an Ollama double behind a sidecar router) and a gateway in front."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

import httpx
from router_helpers import FAST, RouterHandle, make_double, wait_for

from catalog_gen.router.config import load_config
from catalog_gen.router.server import bind, make_server
from catalog_gen.testing.ollama_double import serve_double

WORKER_FAST = {**FAST, "poll_interval": 0.05}


@contextlib.contextmanager
def _serve(config) -> Iterator[RouterHandle]:
    sock = bind(config.host, 0)
    server = make_server(config, sock)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=f"router-{config.role}", daemon=True)
    thread.start()
    try:
        wait_for(lambda: server.started or not thread.is_alive(), 10, "router start")
        assert thread.is_alive(), "the router thread died at start"
        yield RouterHandle(f"http://{config.host}:{sock.getsockname()[1]}", server)
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()


@contextlib.contextmanager
def run_worker(double=None, **settings) -> Iterator[tuple]:
    """(double, sidecar router handle) of one worker."""
    double = double or make_double()
    with serve_double(double) as url:
        config = load_config(None, host="127.0.0.1", port=0, backends=[url], **{**WORKER_FAST, **settings})
        with _serve(config) as handle:
            yield double, handle


@contextlib.contextmanager
def run_workers(count: int, doubles=None, **settings) -> Iterator[list[tuple]]:
    with contextlib.ExitStack() as stack:
        yield [stack.enter_context(run_worker(doubles[i] if doubles else None, **settings)) for i in range(count)]


@contextlib.contextmanager
def run_gateway(workers=(), models=(), **settings) -> Iterator[RouterHandle]:
    config = load_config(None, host="127.0.0.1", port=0, role="gateway", workers=list(workers) or None,
                         models=list(models), **{**FAST, "poll_interval": 0.1, **settings})
    with _serve(config) as handle:
        yield handle


def generate(url: str, model: str, prompt: str = "hi", timeout: float = 20, **extra) -> httpx.Response:
    return httpx.post(url + "/api/generate", json={"model": model, "prompt": prompt, "stream": False, **extra}, timeout=timeout)


def chat(url: str, model: str, first: str, turn: str = "go on", timeout: float = 20) -> httpx.Response:
    messages = [{"role": "system", "content": "be brief"}, {"role": "user", "content": first},
                {"role": "assistant", "content": "ok"}, {"role": "user", "content": turn}]
    return httpx.post(url + "/api/chat", json={"model": model, "messages": messages, "stream": False}, timeout=timeout)


def served(double, model: str | None = None) -> int:
    """Inference requests with a prompt that reached ``double`` (warm-ups and unloads left out)."""
    count = 0
    for request in list(double.requests):
        if request.path not in ("/api/generate", "/api/chat"):
            continue
        body = request.body or b""
        if b'"prompt": ""' in body or b'"prompt":""' in body or b'"keep_alive": 0' in body or b'"keep_alive":0' in body:
            continue
        if model is None or model.encode() in body:
            count += 1
    return count
