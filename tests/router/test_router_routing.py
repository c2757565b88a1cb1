"""Model-aware routing across backends: affinity, least outstanding requests, one model not loaded everywhere."""

from __future__ import annotations

import threading

import httpx
from router_helpers import OTHER, TEXT, make_double, paths, run_router, wait_for

from catalog_gen.testing.ollama_double import serve_double


def _generated(double, model: str) -> list:
    return [b for b in paths(double, "/api/generate") if b and b.get("model") == model and b.get("prompt")]


def _stream_in_background(url: str, model: str) -> threading.Thread:
    def run():
        httpx.post(url + "/api/generate", json={"model": model, "prompt": "long"}, timeout=30)

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_a_model_stays_where_it_was_placed_and_new_models_go_to_the_least_loaded():
    first, second = (make_double(models=(TEXT, OTHER), token_interval_seconds=0.05, tokens_per_reply=10) for _ in range(2))
    with serve_double(first) as url1, serve_double(second) as url2, \
            run_router([url1, url2], slots_per_backend=1, max_queue=8) as router:
        long_text = _stream_in_background(router.url, TEXT)
        wait_for(lambda: _generated(first, TEXT) or _generated(second, TEXT), 5, "TEXT placed")
        home, away = (first, second) if _generated(first, TEXT) else (second, first)
        # OTHER arrives while TEXT's backend is busy: it goes to the idle one
        other = httpx.post(router.url + "/api/generate", json={"model": OTHER, "prompt": "x", "stream": False}, timeout=30)
        assert other.status_code == 200 and _generated(away, OTHER) and not _generated(home, OTHER)
        # more TEXT while its backend is busy: it waits for that backend instead of loading TEXT a second time
        follow = httpx.post(router.url + "/api/generate", json={"model": TEXT, "prompt": "y", "stream": False}, timeout=30)
        long_text.join()
        assert follow.status_code == 200
        assert len(_generated(home, TEXT)) == 2 and not _generated(away, TEXT)
        assert TEXT not in away.loaded()
        # and each keeps its model when both are idle
        for model in (TEXT, OTHER, TEXT, OTHER):
            httpx.post(router.url + "/api/generate", json={"model": model, "prompt": "z", "stream": False}, timeout=30)
        assert not _generated(away, TEXT) and not _generated(home, OTHER)
        assert router.metric("ollama_router_models_loaded", backend=url1) == 1
        assert router.metric("ollama_router_models_loaded", backend=url2) == 1


def test_a_model_warm_everywhere_is_spread_by_outstanding_requests():
    first, second = (make_double(models=(TEXT,), token_interval_seconds=0.05, tokens_per_reply=8) for _ in range(2))
    with serve_double(first) as url1, serve_double(second) as url2, \
            run_router([url1, url2], models=[TEXT], slots_per_backend=2) as router:
        router.wait_ready()
        threads = [_stream_in_background(router.url, TEXT) for _ in range(4)]
        for thread in threads:
            thread.join()
    assert len(_generated(first, TEXT)) == 2 and len(_generated(second, TEXT)) == 2


def test_a_model_learned_from_api_ps_attracts_its_requests():
    first, second = make_double(models=(TEXT, OTHER)), make_double(models=(TEXT, OTHER))
    with serve_double(first) as url1, serve_double(second) as url2:
        httpx.post(url2 + "/api/generate", json={"model": OTHER, "prompt": ""}, timeout=10)  # loaded by someone else
        with run_router([url1, url2]) as router:
            wait_for(lambda: OTHER in router.app.backends[1].loaded, 5, "ps polled")
            for _ in range(3):
                httpx.post(router.url + "/api/generate", json={"model": OTHER, "prompt": "q", "stream": False}, timeout=10)
    assert len(_generated(second, OTHER)) == 3 and not _generated(first, OTHER)
