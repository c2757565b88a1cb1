"""GET /router/state: what a worker holds and does, in the format the gateway reads (docs/router.md)."""

from __future__ import annotations

import threading

import httpx
from router_helpers import OTHER, TEXT, make_double, run_router, wait_for

from catalog_gen.testing.ollama_double import serve_double


def _state(router) -> dict:
    reply = httpx.get(router.url + "/router/state", timeout=5)
    assert reply.status_code == 200 and reply.headers["content-type"] == "application/json"
    return reply.json()


def test_state_reports_slots_models_and_traffic(tmp_path):
    double = make_double(num_parallel=2, ttft_seconds=0.2, tokens_per_reply=2)
    keys = tmp_path / "keys"
    keys.write_text("secret\n")
    with serve_double(double) as url, run_router([url], slots_per_backend=2, max_models_per_backend=2,
                                                 backend_memory_bytes=20_000_000_000, api_keys_file=str(keys)) as router:
        wait_for(lambda: router.app.backends[0].on_disk, 5, "tags polled")
        idle = _state(router)  # internal like /metrics: no key needed
        assert idle["version"] == 1 and idle["draining"] is False
        assert idle["slots"] == {"perModel": 2, "total": 2} and idle["maxLoadedModels"] == 2
        assert idle["memory"] == {"totalBytes": 20_000_000_000, "usedBytes": 0}
        assert idle["queue"] == 0 and idle["inflight"] == 0 and idle["models"]["loaded"] == []
        assert TEXT in idle["models"]["onDisk"] and OTHER in idle["models"]["onDisk"]
        results = []
        threads = [threading.Thread(target=lambda: results.append(httpx.post(
            router.url + "/api/generate", json={"model": TEXT, "prompt": "x", "stream": False},
            headers={"authorization": "Bearer secret"}, timeout=10).status_code)) for _ in range(3)]
        for thread in threads:
            thread.start()
        busy = wait_for(lambda: (s := _state(router))["inflight"] == 2 and s["queue"] == 1 and s, 5, "two in flight, one queued")
        [entry] = busy["models"]["loaded"]
        assert entry["name"] == TEXT and entry["inflight"] == 2 and entry["queued"] == 1 and entry["idleSeconds"] == 0
        assert busy["queue"] == 1 and busy["memory"]["usedBytes"] == entry["sizeBytes"] > 0
        for thread in threads:
            thread.join()
        assert results == [200] * 3
        after = _state(router)
        assert after["inflight"] == 0 and after["queue"] == 0
        assert [m["name"] for m in after["models"]["loaded"]] == [TEXT]


def test_state_memory_is_null_when_unknown(double_url):
    with run_router([double_url]) as router:
        assert _state(router)["memory"] is None
