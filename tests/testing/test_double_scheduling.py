"""Facts of the "keep_alive" and "Concurrency" sections of ollama-api.md."""

from __future__ import annotations

import datetime as dt
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from double_helpers import EMBED, TEXT, make_double

from catalog_gen.testing._ollama_names import parse_go_duration
from catalog_gen.testing.ollama_double import serve_double


def _expires_in(client) -> float:
    (m,) = client.get("/api/ps").json()["models"]
    expires = dt.datetime.fromisoformat(m["expires_at"].replace("Z", "+00:00"))
    return (expires - dt.datetime.now(dt.timezone.utc)).total_seconds()


def _load(client, keep_alive):
    r = client.post("/api/generate", json={"model": TEXT, "prompt": "x", "stream": False, "keep_alive": keep_alive})
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("keep_alive, seconds", [(120, 120), (2.5, 2.5), ("5m", 300), ("1h30m", 5400), ("90s", 90)])
def test_keep_alive_number_is_seconds_and_string_is_a_duration(client, keep_alive, seconds):
    _load(client, keep_alive)
    assert seconds - 2 < _expires_in(client) <= seconds + 0.5


@pytest.mark.parametrize("keep_alive", [-1, "-1m", -0.5])
def test_negative_keep_alive_means_forever(client, keep_alive):
    _load(client, keep_alive)
    assert _expires_in(client) > 100 * 365 * 86400


@pytest.mark.parametrize("keep_alive", [0, "0", "0s"])
def test_keep_alive_zero_unloads_right_after_the_request(client, keep_alive):
    _load(client, keep_alive)
    assert client.get("/api/ps").json()["models"] == []


@pytest.mark.parametrize("keep_alive, message", [("300", 'time: missing unit in duration "300"'), ("5 minutes", 'time: unknown unit " minutes" in duration "5 minutes"'), ("soon", 'time: invalid duration "soon"')])
def test_bare_string_keep_alive_is_400(client, keep_alive, message):
    r = client.post("/api/generate", json={"model": TEXT, "prompt": "x", "keep_alive": keep_alive})
    assert (r.status_code, r.json()) == (400, {"error": message})


def test_go_duration_parsing():
    assert parse_go_duration("1h2m3.5s") == 3723.5
    assert parse_go_duration("250ms") == 0.25
    assert parse_go_duration("-2m") == -120


@pytest.mark.parametrize("env, seconds", [("5m", 300), ("60", 60), ("2h", 7200)])
def test_default_keep_alive_follows_ollama_keep_alive(env, seconds):
    double = make_double(default_keep_alive=env)
    with serve_double(double) as url, httpx.Client(base_url=url) as client:
        client.post("/api/generate", json={"model": TEXT, "prompt": "x", "stream": False})
        assert seconds - 2 < _expires_in(client) <= seconds + 0.5


def test_model_unloads_when_keep_alive_runs_out_and_each_request_resets_it(client):
    _load(client, 0.4)
    time.sleep(0.25)
    _load(client, 0.4)  # resets the timer
    time.sleep(0.25)
    assert [m["name"] for m in client.get("/api/ps").json()["models"]] == [TEXT]
    time.sleep(0.3)
    assert client.get("/api/ps").json()["models"] == []


def _timed_generate(url: str) -> tuple[int, float]:
    started = time.monotonic()
    r = httpx.post(f"{url}/api/generate", json={"model": TEXT, "prompt": "x", "stream": False}, timeout=20)
    return r.status_code, time.monotonic() - started


@pytest.mark.parametrize("parallel, expected_rounds", [(1, 4), (2, 2), (4, 1)])
def test_num_parallel_slots_per_model(parallel, expected_rounds):
    """Rounds of ttft each: measured on the server (total_duration), so a busy client machine cannot blur them."""
    double = make_double(num_parallel=parallel, ttft_seconds=0.3, tokens_per_reply=1)
    body = {"model": TEXT, "prompt": "x", "stream": False}
    with serve_double(double) as url, httpx.Client(base_url=url, timeout=20) as client:
        barrier = threading.Barrier(4)

        def one(_):
            barrier.wait()
            return client.post("/api/generate", json=body)

        client.post("/api/generate", json=body)  # load first
        with ThreadPoolExecutor(4) as pool:
            replies = list(pool.map(one, range(4)))
    assert all(r.status_code == 200 for r in replies)
    longest = max(r.json()["total_duration"] for r in replies) / 1e9
    # the four arrive within a few ms of each other (the barrier), so the last one's clock starts a little late
    assert expected_rounds * 0.3 - 0.1 <= longest < expected_rounds * 0.3 + 0.25


def test_requests_for_a_loaded_model_wait_without_backpressure():
    double = make_double(num_parallel=1, max_queue=1, ttft_seconds=0.05, tokens_per_reply=1)
    with serve_double(double) as url:
        _timed_generate(url)
        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(lambda _: _timed_generate(url), range(8)))
    assert [status for status, _ in results] == [200] * 8
    assert max(elapsed for _, elapsed in results) >= 7 * 0.05  # the last one waited for seven others


def test_load_queue_full_is_503_with_ollamas_message():
    double = make_double(max_queue=1, load_seconds=0.4)
    with serve_double(double) as url:
        with ThreadPoolExecutor(3) as pool:
            responses = list(pool.map(lambda _: httpx.post(f"{url}/api/generate", json={"model": TEXT, "prompt": "x", "stream": False}, timeout=10), range(3)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200, 503, 503]
    busy = next(r for r in responses if r.status_code == 503)
    assert busy.json() == {"error": "server busy, please try again.  maximum pending requests exceeded"}


def test_past_max_loaded_models_an_idle_model_is_unloaded(client, double):
    double.knobs.max_loaded_models = 1
    client.post("/api/generate", json={"model": TEXT})
    assert double.loaded() == [TEXT]
    client.post("/api/embed", json={"model": EMBED, "input": "x"})
    assert [m["name"] for m in client.get("/api/ps").json()["models"]] == [EMBED]
