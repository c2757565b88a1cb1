"""The double's scheduler against ollama-api.md's addendum, "Environment and scheduling" (server/sched.go),
and "Concurrency": what makes placement matter in the pool benchmark.

Timings are read on the server side (load_duration, total_duration) or with generous margins: the
machine is shared.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from catalog_gen.testing._ollama_app import OllamaApp
from catalog_gen.testing.ollama_double import DoubleModel, Knobs, OllamaDouble, serve_double

GIB = 1024**3
A, B, C, D = "alpha:1b", "bravo:1b", "charlie:1b", "delta:1b"


def pool_double(models=(A, B, C, D), size=3 * GIB, **knobs) -> OllamaDouble:
    """Models of ``size`` on disk; each takes size + 1 GiB once loaded (what /api/ps reports)."""
    return OllamaDouble([DoubleModel(m, size=size) for m in models], Knobs(**knobs))


def generate(url: str, model: str, **extra) -> httpx.Response:
    body = {"model": model, "prompt": "x", "stream": False, **extra}
    return httpx.post(f"{url}/api/generate", json=body, timeout=30)


def ps_names(url: str) -> list[str]:
    return sorted(m["name"] for m in httpx.get(f"{url}/api/ps", timeout=10).json()["models"])


def watch_ps(url: str, stop: threading.Event, seen: list) -> None:
    while not stop.is_set():
        seen.append(len(ps_names(url)))
        time.sleep(0.01)


def _concurrent_replies(url: str, models: list[str]) -> list[dict]:
    """One non-streamed generate per model, sent together (a barrier, one client each); their final objects."""
    clients = [httpx.Client(base_url=url, timeout=30) for _ in models]
    barrier = threading.Barrier(len(models))

    def one(pair):
        client, model = pair
        barrier.wait()
        return client.post("/api/generate", json={"model": model, "prompt": "x", "stream": False}).json()

    try:
        with ThreadPoolExecutor(len(models)) as pool:
            return list(pool.map(one, zip(clients, models)))
    finally:
        for client in clients:
            client.close()


def _concurrent_total_durations(url: str, models: list[str]) -> list[float]:
    return [reply["total_duration"] / 1e9 for reply in _concurrent_replies(url, models)]


@pytest.mark.parametrize("limit", [2, 4])
def test_loads_in_progress_count_against_max_loaded_models(limit):
    """Addendum, Environment and scheduling: a model being loaded is in the loaded set (listed by /api/ps)
    and counts against OLLAMA_MAX_LOADED_MODELS; four models asked for at once never exceed the limit."""
    double = pool_double(max_loaded_models=limit, load_seconds=0.15, ttft_seconds=0.05, tokens_per_reply=1)
    seen: list[int] = []
    stop = threading.Event()
    with serve_double(double) as url:
        watcher = threading.Thread(target=watch_ps, args=(url, stop, seen))
        watcher.start()
        with ThreadPoolExecutor(4) as pool:
            replies = list(pool.map(lambda m: generate(url, m), (A, B, C, D)))
        stop.set()
        watcher.join()
    assert [r.status_code for r in replies] == [200] * 4
    assert double.stats()["peak_loaded"] == limit  # reached, never passed
    assert max(seen) <= limit
    assert double.stats()["load_total"] == 4
    assert double.stats()["eviction_total"] == 4 - limit


def test_loads_run_one_at_a_time():
    """Addendum, Environment and scheduling (OLLAMA_MAX_QUEUE): "Loads run one at a time". Two loads of 0.5 s asked
    for together: the second waits for the first (about 1 s), where loads side by side would take 0.5 s each."""
    double = pool_double(max_loaded_models=3, load_seconds=0.5, tokens_per_reply=1)
    with serve_double(double) as url:
        waits = sorted(d["load_duration"] / 1e9 for d in _concurrent_replies(url, [A, B]))
    assert 0.48 <= waits[0] < 0.8
    assert waits[1] >= 0.75, waits  # less its later arrival, if the machine delayed it


def test_memory_budget_evicts_when_the_estimate_is_above_80_percent_of_free_memory():
    """Addendum, Environment and scheduling, eviction rule 2: other models loaded and the new model's estimate
    above 80% of free memory. 4 GiB models in 12 GiB: a second fits (4 <= 0.8 x 8), a third does not
    (4 > 0.8 x 4), even with max_loaded_models 3."""
    double = pool_double(max_loaded_models=3, memory_bytes=12 * GIB)
    with serve_double(double) as url:
        for m in (A, B):
            assert generate(url, m).status_code == 200
        assert ps_names(url) == [A, B]
        assert double.stats()["eviction_total"] == 0
        assert generate(url, C).status_code == 200
        assert len(ps_names(url)) == 2 and C in ps_names(url)
    assert double.stats()["eviction_total"] == 1
    assert double.stats()["peak_memory_bytes"] == 8 * GIB


def test_without_a_memory_budget_only_the_count_limits():
    double = pool_double(max_loaded_models=3)
    with serve_double(double) as url:
        for m in (A, B, C):
            assert generate(url, m).status_code == 200
        assert ps_names(url) == [A, B, C]
    assert double.stats()["eviction_total"] == 0


def test_max_loaded_models_0_means_three_without_a_gpu():
    """Addendum, Environment and scheduling: "OLLAMA_MAX_LOADED_MODELS: default 0, meaning 3 x the GPU count (3 with
    no GPU)"."""
    double = pool_double(max_loaded_models=0)
    with serve_double(double) as url:
        for m in (A, B, C):
            assert generate(url, m).status_code == 200
        assert ps_names(url) == [A, B, C]
        assert generate(url, D).status_code == 200
        assert len(ps_names(url)) == 3
    assert double.stats()["eviction_total"] == 1


def test_a_model_alone_is_loaded_even_when_it_does_not_fit():
    """Addendum, Environment and scheduling: "a model that is alone is loaded anyway"."""
    double = pool_double(models=(A, B), size=20 * GIB, memory_bytes=12 * GIB)
    with serve_double(double) as url:
        assert generate(url, A).status_code == 200
        assert ps_names(url) == [A]
        assert generate(url, B).status_code == 200  # A is idle: it makes room
        assert ps_names(url) == [B]


def test_victim_is_the_idle_model_with_the_shortest_keep_alive_not_the_least_recently_used():
    """Addendum, Environment and scheduling: "models sorted by keep-alive, shortest first (forever last),
    then by path; the first idle one goes"."""
    double = pool_double(max_loaded_models=2)
    with serve_double(double) as url:
        assert generate(url, A, keep_alive="1m").status_code == 200  # used first, shortest keep-alive
        assert generate(url, B, keep_alive=-1).status_code == 200  # forever
        assert generate(url, C, keep_alive="10m").status_code == 200
        assert ps_names(url) == [B, C]  # LRU would have evicted A too; forever stays
        assert generate(url, D, keep_alive="10m").status_code == 200
        assert ps_names(url) == [B, D]  # C (10m) goes before B (forever)


def test_equal_keep_alives_are_ordered_by_model_path():
    """Addendum, Environment and scheduling: ties on keep-alive are broken by the model's path (its blob)."""
    double = pool_double(max_loaded_models=2)
    first, second = sorted((A, B), key=lambda m: double.model(m).blob_path)
    with serve_double(double) as url:
        generate(url, second)  # loaded first and used first, so LRU would pick it
        generate(url, first)
        generate(url, C)
        assert ps_names(url) == sorted([second, C])


def wait_until(predicate, what: str, timeout: float = 10.0) -> None:
    """Poll state the server thread owns; a read that races its change (RuntimeError) counts as not yet."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if predicate():
                return
        except RuntimeError:
            pass
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.005)


def _busy(double: OllamaDouble, model: str) -> bool:
    runner = double.sched.runners.get(double.model(model).parsed.key)
    return runner is not None and runner.refs > 0


def _stream_lines(url: str, model: str) -> list[dict]:
    with httpx.stream("POST", f"{url}/api/generate", json={"model": model, "prompt": "x"}, timeout=30) as r:
        return [json.loads(line) for line in r.iter_lines() if line.strip()]


def test_when_no_model_is_idle_the_first_is_drained_then_unloaded():
    """Addendum, Environment and scheduling: "If none is idle, the first in that order is drained and then
    unloaded. The scheduler waits for the VRAM to come back, then tries again." The busy model's request
    completes; the new model loads only after it."""
    double = pool_double(models=(A, B), max_loaded_models=1, tokens_per_reply=6, token_interval_seconds=0.08)
    with serve_double(double) as url, ThreadPoolExecutor(2) as pool:
        generate(url, A)
        busy = pool.submit(_stream_lines, url, A)
        wait_until(lambda: _busy(double, A), "A generating")
        waiting = pool.submit(generate, url, B)
        lines = busy.result()
        reply = waiting.result()
    assert lines[-1]["done"] is True and lines[-1]["eval_count"] == 6  # the drained model finished its request
    assert reply.status_code == 200
    assert reply.json()["load_duration"] / 1e9 >= 0.1  # B waited (server clock) for the rest of A's 0.4 s
    assert double.loaded() == [B]
    assert double.stats()["evictions"] == {A: 1}


def test_a_draining_model_takes_no_new_requests():
    """A request for a model that is being drained waits for its reload rather than joining the old runner
    (the scheduler has already decided to unload it)."""
    double = pool_double(models=(A, B), max_loaded_models=1, tokens_per_reply=8, token_interval_seconds=0.08)
    with serve_double(double) as url, ThreadPoolExecutor(3) as pool:
        generate(url, A)
        busy = pool.submit(_stream_lines, url, A)
        wait_until(lambda: _busy(double, A), "A generating")
        other = pool.submit(generate, url, B)
        wait_until(lambda: double.sched.runners[double.model(A).parsed.key].draining, "A draining")
        again = pool.submit(generate, url, A)
        assert busy.result()[-1]["done"] is True
        assert other.result().status_code == 200 and again.result().status_code == 200
    assert double.stats()["loads"] == {A: 2, B: 1}


def test_requests_waiting_for_room_count_against_max_queue():
    """Addendum, Environment and scheduling: OLLAMA_MAX_QUEUE "bounds the queue of requests that need a load
    or reload"; past it: 503 with Ollama's message."""
    double = pool_double(models=(A, B, C), max_loaded_models=1, max_queue=1, tokens_per_reply=8, token_interval_seconds=0.1)
    with serve_double(double) as url, ThreadPoolExecutor(3) as pool:
        generate(url, A)
        busy = pool.submit(_stream_lines, url, A)
        wait_until(lambda: _busy(double, A), "A generating")
        queued = pool.submit(generate, url, B)
        wait_until(lambda: double.sched.pending() == 1, "B waiting for room")
        refused = generate(url, C)
        assert busy.result()[-1]["done"] is True and queued.result().status_code == 200
    assert refused.status_code == 503
    assert refused.json() == {"error": "server busy, please try again.  maximum pending requests exceeded"}


def test_a_client_that_goes_away_during_the_load_aborts_it():
    """Addendum, Environment and scheduling (OLLAMA_LOAD_TIMEOUT): "if the client disconnects during the load,
    the load is aborted"."""
    double = pool_double(models=(A,), load_seconds=0.5)
    with serve_double(double) as url:
        with pytest.raises(httpx.ReadTimeout):
            httpx.post(f"{url}/api/generate", json={"model": A, "prompt": "x"}, timeout=0.15)
        time.sleep(0.6)
        assert ps_names(url) == []
    assert double.stats()["aborted_loads"] == 1 and double.stats()["load_total"] == 0


@pytest.mark.parametrize("shared", [True, False])
def test_two_models_generating_at_once_share_the_backend(shared):
    """The compute of one backend is shared between busy models (one GPU, two llama-servers): each of two
    models generating at once runs at half speed, so the backend is busy for the sum of their work (0.8 s);
    with share_compute off they would overlap freely (about 0.4 s)."""
    double = pool_double(models=(A, B), max_loaded_models=2, num_parallel=1, ttft_seconds=0.1, tokens_per_reply=4,
                         token_interval_seconds=0.1, share_compute=shared)
    with serve_double(double) as url:
        generate(url, A)
        generate(url, B)
        alone = generate(url, A).json()["total_duration"] / 1e9
        before = double.compute.snapshot_busy_seconds()
        together = _concurrent_total_durations(url, [A, B])
        busy = double.compute.snapshot_busy_seconds() - before
    assert 0.38 <= alone < 0.6
    if shared:
        assert 0.78 <= busy < 1.1, (busy, together)
        assert max(together) >= 0.75  # the later one's own clock starts after the skew; it ends at 2 x 0.4
    else:
        assert 0.38 <= busy < 0.65, (busy, together)
        assert max(together) < 0.6


def test_parallel_requests_of_one_model_are_batched_not_slowed():
    """Concurrency (OLLAMA_NUM_PARALLEL) and addendum: the slots of one llama-server decode in one batch, so two
    requests on one model's two slots run at full speed while each holds a slot."""
    double = pool_double(models=(A,), num_parallel=2, ttft_seconds=0.1, tokens_per_reply=4, token_interval_seconds=0.1)
    with serve_double(double) as url:
        generate(url, A)
        together = _concurrent_total_durations(url, [A, A])
    assert all(0.38 <= t < 0.65 for t in together), together  # one after the other would be 0.8


def test_parallel_slots_are_per_model():
    """Concurrency: OLLAMA_NUM_PARALLEL is "parallel requests per loaded model": with 1 slot, two requests on
    two models run at once, two on one model take turns."""
    double = pool_double(models=(A, B), max_loaded_models=2, num_parallel=1, ttft_seconds=0.2, tokens_per_reply=1,
                         share_compute=False)
    with serve_double(double) as url:
        generate(url, A)
        generate(url, B)
        two_models = _concurrent_total_durations(url, [A, B])
        one_model = _concurrent_total_durations(url, [A, A])
    assert max(two_models) < 0.35
    assert max(one_model) >= 0.38


def test_embedding_models_get_one_slot_whatever_num_parallel_says():
    """Addendum, Environment and scheduling: OLLAMA_NUM_PARALLEL is "forced to 1 for embedding models"."""
    models = [DoubleModel("nomic-embed-text:latest", capabilities=("embedding",)), DoubleModel(A)]
    double = OllamaDouble(models, Knobs(num_parallel=4, ttft_seconds=0.2))
    with serve_double(double) as url:
        def embed(_):
            return httpx.post(f"{url}/api/embed", json={"model": "nomic-embed-text", "input": "x"}, timeout=30).json()

        embed(0)
        with ThreadPoolExecutor(2) as pool:
            totals = sorted(r["total_duration"] / 1e9 for r in pool.map(embed, range(2)))
        generate(url, A)
        assert [r.parallel for r in double.runners()] == [1, 4] or [r.parallel for r in double.runners()] == [4, 1]
    assert totals[1] >= 0.3  # the second waited for the first (0.2 s each; it may have arrived a little late)


def test_counters_for_benchmarks():
    double = pool_double(models=(A, B), max_loaded_models=1, ttft_seconds=0.05, tokens_per_reply=2, token_interval_seconds=0.05)
    with serve_double(double) as url:
        for m in (A, A, B, A):
            assert generate(url, m).status_code == 200
        httpx.get(f"{url}/api/tags")
    stats = double.stats()
    assert stats["loads"] == {A: 2, B: 1} and stats["load_total"] == 3
    assert stats["evictions"] == {A: 1, B: 1} and stats["eviction_total"] == 2
    assert stats["served"] == 4 and stats["requests"] == 5
    assert 4 * 0.1 - 0.02 <= stats["busy_seconds"] < 4 * 0.1 + 0.3
    assert stats["slot_seconds"] >= stats["busy_seconds"] - 1e-6


# --- the request log stays bounded -------------------------------------------------------------


async def _asgi_post(app: OllamaApp, path: str, body: bytes) -> int:
    scope = {"type": "http", "method": "POST", "path": path,
             "headers": [(b"host", b"127.0.0.1:11434"), (b"content-type", b"application/json")]}
    messages = [{"type": "http.request", "body": body, "more_body": False}]
    status = []

    async def receive():
        if messages:
            return messages.pop()
        await asyncio.Event().wait()  # the client never goes away

    async def send(message):
        if message["type"] == "http.response.start":
            status.append(message["status"])

    await app(scope, receive, send)
    return status[0]


def _rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def test_50000_requests_keep_the_request_log_and_memory_bounded():
    """The request log is a ring of the last ``request_log_limit`` requests plus counters: memory stays flat
    (the old list kept every request: about 1.4 KB each, 95 MB after 70,000; here 63 MB over the 45,000)."""
    double = pool_double(models=(A, B), max_loaded_models=2, tokens_per_reply=1, request_log_limit=1000)
    app = OllamaApp(double)

    async def run(count: int, offset: int) -> None:
        for i in range(count):
            body = json.dumps({"model": (A, B)[i % 2], "prompt": f"request {offset + i} " + "x" * 1000, "stream": False})
            assert await _asgi_post(app, "/api/generate", body.encode()) == 200

    async def measure() -> tuple[int, int]:
        await run(5_000, 0)
        gc.collect()
        early = _rss_bytes()
        await run(45_000, 5_000)
        gc.collect()
        return early, _rss_bytes()

    early, late = asyncio.run(measure())
    assert late - early < 15_000_000, f"resident memory grew by {late - early} bytes over 45,000 requests"
    assert double.request_count == 50_000 and double.served == 50_000
    assert len(double.requests) == 1000
    assert json.loads(double.requests[-1].body)["prompt"].startswith("request 49999 ")


def test_the_request_log_can_be_read_while_requests_arrive():
    """Tests read ``double.requests`` from their thread while the server thread appends (a router polls all
    the time): iterating takes a snapshot, where a bare deque raises "deque mutated during iteration"."""
    from catalog_gen.testing._ollama_state import RequestLog

    log = RequestLog(maxlen=500)
    stop = threading.Event()

    def writer() -> None:
        i = 0
        while not stop.is_set():
            log.append(i)
            i += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        for _ in range(5_000):
            assert len([x for x in log if x >= 0]) <= 500
    finally:
        stop.set()
        thread.join()
    assert len(log) == 500 and log[-1] - log[0] == 499
