"""Routing under load: a busy model spreads to free slots elsewhere (within memory), unknown models are 404 at once,
and the newer inference endpoints take slots like the others."""

from __future__ import annotations

import threading
import time

import httpx
from router_helpers import OTHER, TEXT, make_double, paths, run_router, wait_for

from catalog_gen.testing.ollama_double import serve_double


def _burst(url: str, model: str, n: int) -> list[int]:
    statuses: list[int] = []

    def one():
        r = httpx.post(url + "/api/generate", json={"model": model, "prompt": "go", "stream": False}, timeout=30)
        statuses.append(r.status_code)

    threads = [threading.Thread(target=one) for _ in range(n)]
    for thread in threads:
        thread.start()
    return statuses, threads


def _peak_inflight(router, stop: threading.Event, peaks: list) -> None:
    while not stop.is_set():
        peaks.append(sum(b.inflight for b in router.app.backends))
        time.sleep(0.01)


def _hold(url: str, path: str, body: dict) -> threading.Thread:
    """A request that holds its slot (the double stalls) until its client gives up."""
    def run():
        try:
            httpx.post(url + path, json=body, timeout=2)
        except httpx.HTTPError:
            pass

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def _generated(double, model):
    return [b for b in paths(double, "/api/generate") if b and b.get("model") == model and b.get("prompt")]


def test_a_busy_model_spreads_over_free_slots_and_is_unloaded_there_when_idle():
    doubles = [make_double(models=(TEXT, OTHER), num_parallel=4, ttft_seconds=0.4, tokens_per_reply=2) for _ in range(2)]
    with serve_double(doubles[0]) as url1, serve_double(doubles[1]) as url2, \
            run_router([url1, url2], slots_per_backend=4, max_queue=64, idle_unload=0.6) as router:
        wait_for(lambda: all(b.on_disk for b in router.app.backends), 5, "tags polled")
        peaks: list = []
        stop = threading.Event()
        watcher = threading.Thread(target=_peak_inflight, args=(router, stop, peaks))
        watcher.start()
        statuses, threads = _burst(router.url, OTHER, 16)
        for thread in threads:
            thread.join()
        stop.set()
        watcher.join()
        assert statuses == [200] * 16
        assert max(peaks) == 8, f"16 requests, 2 x 4 slots: all 8 slots should run at once, saw {max(peaks)}"
        assert _generated(doubles[0], OTHER) and _generated(doubles[1], OTHER)
        wait_for(lambda: all(OTHER not in d.loaded() for d in doubles), 10, "idle copies unloaded")
        assert sum(router.metric("ollama_router_idle_unloads_total", backend=u, model=OTHER) for u in (url1, url2)) == 2


def test_a_model_does_not_spread_where_it_does_not_fit_in_memory():
    doubles = [make_double(models=(TEXT, OTHER), num_parallel=2, ttft_seconds=0.3, tokens_per_reply=2) for _ in range(2)]
    with serve_double(doubles[0]) as url1, serve_double(doubles[1]) as url2, \
            run_router([url1, url2], slots_per_backend=2, max_queue=64, backend_memory_bytes=1000) as router:
        wait_for(lambda: all(b.on_disk for b in router.app.backends), 5, "tags polled")
        statuses, threads = _burst(router.url, OTHER, 6)
        for thread in threads:
            thread.join()
    assert statuses == [200] * 6
    assert min(len(_generated(d, OTHER)) for d in doubles) == 0, "a model larger than the memory left must not spread"


def test_a_single_waiting_request_does_not_load_the_model_a_second_time():
    doubles = [make_double(models=(TEXT, OTHER), ttft_seconds=0.3, tokens_per_reply=2) for _ in range(2)]
    with serve_double(doubles[0]) as url1, serve_double(doubles[1]) as url2, \
            run_router([url1, url2], slots_per_backend=1) as router:
        wait_for(lambda: all(b.on_disk for b in router.app.backends), 5, "tags polled")
        statuses, threads = _burst(router.url, OTHER, 2)
        for thread in threads:
            thread.join()
    assert statuses == [200, 200]
    assert sorted(len(_generated(d, OTHER)) for d in doubles) == [0, 2]


def test_an_unknown_model_is_404_at_once_even_when_every_slot_is_busy(double, double_url):
    double.knobs.stall_after_chunks = 1
    with run_router([double_url], slots_per_backend=1, max_queue=0) as router:
        wait_for(lambda: router.app.backends[0].on_disk is not None, 5, "tags polled")
        busy = _hold(router.url, "/api/generate", {"model": TEXT, "prompt": "x"})
        wait_for(lambda: router.app.backends[0].inflight == 1, 5, "slot taken")
        started = time.monotonic()
        native = httpx.post(router.url + "/api/generate", json={"model": "nope:1", "prompt": "x"}, timeout=10)
        embed = httpx.post(router.url + "/api/embed", json={"model": "nope", "input": "x"}, timeout=10)
        openai = httpx.post(router.url + "/v1/chat/completions", json={"model": "nope", "messages": [{"role": "user", "content": "x"}]}, timeout=10)
        took = time.monotonic() - started
        known = httpx.post(router.url + "/api/generate", json={"model": TEXT, "prompt": "x"}, timeout=10)
        busy.join()
    assert (native.status_code, native.json()) == (404, {"error": "model 'nope:1' not found"})
    assert embed.json() == {"error": 'model "nope" not found, try pulling it first'}
    assert openai.status_code == 404 and openai.json()["error"]["type"] == "not_found_error"
    assert took < 1 and known.status_code == 429, "a known model whose slots are all busy still meets the full queue"
    assert not [b for b in paths(double, "/api/generate") if b and b.get("model") == "nope:1"]


def test_responses_and_messages_take_slots_and_meet_backpressure_in_their_dialects(double, double_url):
    double.knobs.stall_after_chunks = 1
    with run_router([double_url], slots_per_backend=1, max_queue=0) as router:
        busy = _hold(router.url, "/v1/responses", {"model": TEXT, "input": "x", "stream": True})
        wait_for(lambda: router.app.backends[0].inflight == 1, 5, "slot taken by /v1/responses")
        messages = httpx.post(router.url + "/v1/messages", json={"model": TEXT, "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}, timeout=10)
        responses = httpx.post(router.url + "/v1/responses", json={"model": TEXT, "input": "x"}, timeout=10)
        busy.join()
    assert messages.status_code == 429 and messages.json()["type"] == "error"
    assert messages.json()["error"]["type"] == "rate_limit_error" and "retry-after" in messages.headers
    assert responses.status_code == 429 and responses.json()["error"]["type"] == "api_error"
