"""Helpers for the router's tests: run a real router (uvicorn, in a thread) in front of real Ollama doubles."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator

import httpx
from prometheus_client.parser import text_string_to_metric_families

from catalog_gen.router.config import load_config
from catalog_gen.router.server import bind, make_server
from catalog_gen.testing.ollama_double import DoubleModel, Knobs, OllamaDouble

TEXT = "llama3.1:8b"
EMBED = "nomic-embed-text:latest"
OTHER = "qwen2.5:0.5b"
FAST = {"poll_interval": 0.05, "breaker_cooldown": 0.2, "connect_timeout": 1.0}


def make_double(models=(TEXT, EMBED, OTHER), **knobs) -> OllamaDouble:
    made = []
    for name in models:
        caps = ("embedding",) if "embed" in name else ("completion", "tools")
        made.append(DoubleModel(name, capabilities=caps))
    return OllamaDouble(made, Knobs(**knobs))


class RouterHandle:
    def __init__(self, url: str, server) -> None:
        self.url = url
        self.server = server
        self.app = server.router_app

    def client(self, **kwargs) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=kwargs.pop("timeout", 20), **kwargs)

    def metrics(self) -> dict:
        """{(sample name, ((label, value), ...)): value} from /metrics."""
        text = httpx.get(f"{self.url}/metrics", timeout=10).text
        out = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
        return out

    def metric(self, name: str, **labels) -> float:
        return self.metrics().get((name, tuple(sorted(labels.items()))), 0.0)

    def wait_ready(self, timeout: float = 10) -> dict:
        return wait_for(lambda: httpx.get(f"{self.url}/readyz", timeout=5).status_code == 200, timeout, "router ready")


def wait_for(predicate, timeout: float = 10, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@contextlib.contextmanager
def run_router(backends: list[str], models=(), host: str = "127.0.0.1", **settings) -> Iterator[RouterHandle]:
    """A real router on a free port of ``host`` in front of ``backends``; settings are load_config overrides."""
    config = load_config(None, host=host, port=0, backends=list(backends), models=list(models), **{**FAST, **settings})
    sock = bind(host, 0)
    server = make_server(config, sock)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="router", daemon=True)
    thread.start()
    try:
        wait_for(lambda: server.started or not thread.is_alive(), 10, "router start")
        assert thread.is_alive(), "the router thread died at start"
        port = sock.getsockname()[1]
        yield RouterHandle(f"http://{host}:{port}", server)
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()


def ndjson(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def sse(text: str) -> list[str]:
    events = [e for e in text.split("\n\n") if e.strip()]
    assert all(e.startswith("data: ") for e in events), text
    return [e[len("data: "):] for e in events]


def paths(double: OllamaDouble, path: str) -> list:
    """Requests for ``path`` that reached ``double``, with their JSON bodies."""
    out = []
    for r in list(double.requests):
        if r.path == path:
            try:
                out.append(json.loads(r.body or b"null"))
            except ValueError:
                out.append(None)
    return out
