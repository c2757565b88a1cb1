"""Idle models are unloaded after the idle period, never while a request for them is in flight; kept-warm ones never."""

from __future__ import annotations

import json
import threading
import time

import httpx
from router_helpers import OTHER, TEXT, make_double, paths, run_router, wait_for

from catalog_gen.testing.ollama_double import serve_double


def unloads(double, model: str) -> list:
    return [b for b in paths(double, "/api/generate") if b and b.get("model") == model and b.get("keep_alive") == 0]


def test_idle_unload_waits_for_requests_in_flight():
    double = make_double(models=(TEXT, OTHER), token_interval_seconds=0.1, tokens_per_reply=12)
    with serve_double(double) as url, run_router([url], models=[TEXT], idle_unload=0.3) as router:
        router.wait_ready()
        done = threading.Event()
        seen_during = []

        def stream():
            with httpx.stream("POST", router.url + "/api/generate", json={"model": OTHER, "prompt": "go"}, timeout=20) as r:
                for line in r.iter_lines():
                    if line.strip() and not json.loads(line).get("done"):
                        seen_during.append((unloads(double, OTHER), double.loaded()))
            done.set()

        thread = threading.Thread(target=stream)
        thread.start()
        thread.join(20)
        assert done.is_set()
        # during the whole 1.2 s stream (four idle periods) no unload was sent and the model stayed loaded
        assert len(seen_during) == 12
        assert all(sent == [] and OTHER in loaded for sent, loaded in seen_during)
        t_end = time.monotonic()
        wait_for(lambda: OTHER not in double.loaded(), 5, "idle unload")
        assert time.monotonic() - t_end >= 0.25, "unloaded only after the idle period"
        assert len(unloads(double, OTHER)) == 1
        assert router.metric("ollama_router_idle_unloads_total", backend=url, model=OTHER) == 1
        time.sleep(0.5)
        assert TEXT in double.loaded() and not unloads(double, TEXT), "kept-warm models are never unloaded"


def test_a_request_arriving_during_an_unload_waits_for_it():
    double = make_double(models=(OTHER,))
    with serve_double(double) as url, run_router([url], idle_unload=0.2) as router:
        assert httpx.post(router.url + "/api/generate", json={"model": OTHER, "prompt": "a", "stream": False},
                          timeout=5).status_code == 200
        wait_for(lambda: unloads(double, OTHER), 5, "unload sent")
        reply = httpx.post(router.url + "/api/generate", json={"model": OTHER, "prompt": "b", "stream": False}, timeout=5)
        assert reply.status_code == 200
        order = [(b or {}).get("prompt", "-") if (b or {}).get("keep_alive") != 0 else "unload"
                 for b in paths(double, "/api/generate")]
        assert order == ["a", "unload", "b"]
