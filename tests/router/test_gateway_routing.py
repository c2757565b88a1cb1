"""How the gateway places requests on static workers: model affinity, prefix affinity with bounded loads,
memory-aware cold placement, spreading, draining, minWorkers, idle unloading, the connect retry (gateway.py)."""

from __future__ import annotations

import socket
import threading

import httpx
import pytest
from gateway_helpers import chat, generate, run_gateway, run_workers, served
from router_helpers import EMBED, OTHER, TEXT, make_double, wait_for

from catalog_gen.router.config import load_config
from catalog_gen.router.gateway import GatewayApp
from catalog_gen.router.hashring import HashRing, prefix_key

GIB = 1 << 30


def _urls(workers) -> list[str]:
    return [handle.url for _, handle in workers]


def _polled(gateway, count: int) -> None:
    wait_for(lambda: sum(1 for b in gateway.app.backends if b.polled) == count, 5, f"{count} workers polled")


def _holder(workers, needle: str) -> list[int]:
    """Indexes of the workers whose double saw a request containing ``needle``."""
    return [i for i, (double, _) in enumerate(workers)
            if any(needle.encode() in (r.body or b"") for r in list(double.requests))]


def _concurrently(count: int, call) -> list[int]:
    statuses: list[int] = []
    threads = [threading.Thread(target=lambda: statuses.append(call().status_code)) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


# -- model affinity ------------------------------------------------------------------------------------------
def test_requests_go_to_the_worker_holding_the_model_and_a_cold_one_to_the_least_loaded():
    with run_workers(2) as workers, run_gateway(_urls(workers), prefix_affinity=False) as gateway:
        (d1, w1), (d2, w2) = workers
        assert generate(w2.url, TEXT).status_code == 200  # TEXT is loaded on worker 2 only
        wait_for(lambda: TEXT in gateway.app.worker(w2.url).loaded, 5, "the gateway learned worker 2 holds TEXT")
        for _ in range(4):
            assert generate(gateway.url, TEXT).status_code == 200
        assert served(d2, TEXT) == 5 and served(d1, TEXT) == 0, "model affinity: the worker that has it"
        assert generate(gateway.url, OTHER).status_code == 200
        assert served(d1, OTHER) == 1, "a model nobody holds goes to the least loaded worker (worker 1, first on ties)"


# -- prefix affinity (CHWBL) ---------------------------------------------------------------------------------
@pytest.mark.parametrize("affinity", [True, False])
def test_a_conversation_stays_on_one_worker_with_prefix_affinity(affinity):
    with run_workers(3) as workers, run_gateway(_urls(workers), models=[f"{TEXT},minWorkers=3"],
                                                prefix_affinity=affinity) as gateway:
        wait_for(lambda: sum(1 for d, _ in workers if d.loaded()) == 3, 10, "TEXT warm on the 3 workers")
        _polled(gateway, 3)
        for turn in ("one", "two", "three"):
            for conversation in range(8):
                assert chat(gateway.url, TEXT, f"conversation-{conversation}", turn).status_code == 200
        homes = [_holder(workers, f"conversation-{c}") for c in range(8)]
    if affinity:
        assert all(len(home) == 1 for home in homes), f"every turn of a conversation on the same worker: {homes}"
        assert len({home[0] for home in homes}) > 1, "different conversations hash to different workers"
    else:
        assert all(home == [0] for home in homes), "without affinity, sequential requests go to the least loaded (first)"


def test_one_hot_conversation_is_bounded_and_overflows_to_the_next_worker():
    slow = [make_double(num_parallel=4, ttft_seconds=0.5, tokens_per_reply=2) for _ in range(2)]
    with run_workers(2, doubles=slow, slots_per_backend=4) as workers, \
            run_gateway(_urls(workers), models=[f"{TEXT},minWorkers=2"]) as gateway:
        wait_for(lambda: all(d.loaded() for d, _ in workers), 10, "TEXT warm on both workers")
        _polled(gateway, 2)
        assert _concurrently(2, lambda: chat(gateway.url, TEXT, "hot")) == [200, 200]
        assert len(_holder(workers, "hot")) == 1, "two at once stay within the bound: one worker"
        assert _concurrently(6, lambda: chat(gateway.url, TEXT, "hotter")) == [200] * 6
        assert len(_holder(workers, "hotter")) == 2, "six at once exceed 1.25 x the average: the overflow moves on"


def test_the_ring_bound_and_stability():
    ring = HashRing(1.25)
    for member in ("a", "b", "c", "d"):
        ring.add(member)
    owner = ring.choose("k", {"a": 0, "b": 0, "c": 0, "d": 0})
    assert ring.choose("k", {m: 0 for m in "abcd"}) == owner, "deterministic"
    loads = {m: 1 for m in "abcd"}
    loads[owner] = 2  # total 5, bound ceil(1.25 * 6 / 4) = 2: the owner would be at 3
    second = ring.choose("k", loads)
    assert second != owner
    assert second == next(m for m in ring.walk("k") if m != owner), "the overflow goes to the next member on the ring"
    keys = [f"key-{i}" for i in range(400)]
    before = {k: ring.choose(k, {m: 0 for m in "abcd"}) for k in keys}
    ring.remove("d")
    after = {k: ring.choose(k, {m: 0 for m in "abc"}) for k in keys}
    moved = [k for k in keys if before[k] != after[k]]
    assert moved and all(before[k] == "d" for k in moved), "removing a member moves only its keys"


def test_the_conversation_key_is_the_model_and_the_start_of_the_conversation():
    first = b'{"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "q"}]}'
    later = b'{"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}, {"role": "user", "content": "q2"}]}'
    assert prefix_key("m", first) == prefix_key("m", later) != prefix_key("n", first)
    assert prefix_key("m", b'{"prompt": "long document"}') != prefix_key("m", b'{"prompt": "other"}')
    assert prefix_key("m", b'{"input": ""}') is None and prefix_key("m", b"not json") is None


# -- memory-aware cold placement (the worker states, no network) ---------------------------------------------
def _state(loaded: list[tuple[str, int, int]], memory: int = 16 * GIB, inflight: int = 0) -> dict:
    return {"version": 1, "draining": False, "slots": {"perModel": 2, "total": 2}, "maxLoadedModels": 3,
            "memory": {"totalBytes": memory, "usedBytes": sum(s for _, s, _ in loaded)}, "queue": 0, "inflight": inflight,
            "models": {"onDisk": ["a:latest", "b:latest", "c:latest", "d:latest", "e:latest"],
                       "loaded": [{"name": n, "sizeBytes": s, "inflight": i, "queued": 0, "idleSeconds": 0.0 if i else 60.0}
                                  for n, s, i in loaded]}}


def test_a_cold_model_never_evicts_a_busy_one_and_prefers_a_worker_with_room():
    config = load_config(None, role="gateway", workers=[f"http://10.0.0.{i}:8080" for i in (1, 2, 3)])
    app = GatewayApp(config)
    busy, idle, roomy = app.backends
    sizes = {"a:latest": 10 * GIB, "b:latest": 10 * GIB, "c:latest": 4 * GIB, "e:latest": 10 * GIB}
    tags = {"models": [{"name": n, "size": s} for n, s in sizes.items()]}
    busy._apply(_state([("a:latest", 10 * GIB, 1)], inflight=1), frozenset(sizes), tags, 0.0, {})
    idle._apply(_state([("b:latest", 10 * GIB, 0)]), frozenset(sizes), tags, 0.0, {})
    roomy._apply(_state([("c:latest", 4 * GIB, 2)], inflight=2), frozenset(sizes), tags, 0.0, {})
    # e (10 GiB) next to a busy a (10 GiB) exceeds 16 GiB: never on `busy`; `roomy` takes it with nothing evicted
    assert app.balancer._free("e:latest") is roomy, "room without eviction wins even over a less loaded worker"
    roomy._apply(_state([("c:latest", 4 * GIB, 2), ("d:latest", 4 * GIB, 1)], inflight=3), frozenset(sizes), tags, 0.0, {})
    assert app.balancer._free("e:latest") is idle, "then where only an idle model has to go"
    idle._apply(_state([("b:latest", 10 * GIB, 1)], inflight=1), frozenset(sizes), tags, 0.0, {})
    assert app.balancer._free("e:latest") is None, "nowhere without evicting a busy model: the request waits"


# -- spreading -----------------------------------------------------------------------------------------------
def test_a_hot_model_spreads_to_another_worker_when_its_queue_grows_and_not_before():
    slow = [make_double(ttft_seconds=0.4, tokens_per_reply=2) for _ in range(2)]
    with run_workers(2, doubles=slow) as workers, run_gateway(_urls(workers), prefix_affinity=False) as gateway:
        (d1, _w1), (d2, _w2) = workers
        _polled(gateway, 2)
        for _ in range(3):
            assert generate(gateway.url, TEXT).status_code == 200
        assert (served(d1, TEXT), served(d2, TEXT)) == (3, 0), "one at a time: the model stays on one worker"
        assert _concurrently(4, lambda: generate(gateway.url, TEXT)) == [200] * 4
        assert served(d2, TEXT) >= 1, "requests waited for TEXT: it spread to the idle worker"


# -- draining ------------------------------------------------------------------------------------------------
def test_a_worker_that_reports_draining_gets_no_new_request():
    with run_workers(2) as workers, run_gateway(_urls(workers), prefix_affinity=False) as gateway:
        (d1, w1), (d2, _w2) = workers
        _polled(gateway, 2)
        assert generate(gateway.url, TEXT).status_code == 200 and served(d1, TEXT) == 1
        w1.app.draining = True  # what its router says once it got SIGTERM
        wait_for(lambda: gateway.app.worker(w1.url).draining, 5, "drain seen")
        for _ in range(3):
            assert generate(gateway.url, TEXT).status_code == 200
        assert (served(d1, TEXT), served(d2, TEXT)) == (1, 3)
        w1.app.draining = False
        wait_for(lambda: not gateway.app.worker(w1.url).draining, 5, "back")
        assert generate(gateway.url, TEXT).status_code == 200 and served(d1, TEXT) == 2


# -- minWorkers and idle unloading ---------------------------------------------------------------------------
def test_min_workers_keeps_a_model_warm_on_that_many_workers_and_idle_copies_are_unloaded():
    with run_workers(3) as workers, run_gateway(_urls(workers), models=[f"{TEXT},minWorkers=2"],
                                                idle_unload=0.6, prefix_affinity=False) as gateway:
        wait_for(lambda: sum(1 for d, _ in workers if TEXT in d.loaded()) == 2, 10, "TEXT on two workers")
        assert generate(gateway.url, OTHER).status_code == 200  # on demand: loaded where it fits
        wait_for(lambda: any(OTHER in d.loaded() for d, _ in workers), 5, "OTHER loaded")
        wait_for(lambda: not any(OTHER in d.loaded() for d, _ in workers), 10, "idle OTHER unloaded by the gateway")
        assert sum(1 for d, _ in workers if TEXT in d.loaded()) == 2, "the minWorkers copies stay"
        assert not any(EMBED in d.loaded() for d, _ in workers), "a model nobody asked for is never loaded"


# -- retries -------------------------------------------------------------------------------------------------
def _dead_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def test_a_worker_that_refuses_the_connection_is_retried_once_elsewhere():
    dead = _dead_url()
    with run_workers(1) as workers, run_gateway([dead, *_urls(workers)], prefix_affinity=False,
                                                breaker_failures=100) as gateway:
        gateway.app.worker(dead).polled = True  # as if it had answered before it died
        _polled(gateway, 2)
        for _ in range(3):
            assert generate(gateway.url, TEXT).status_code == 200
        assert gateway.metric("ollama_router_upstream_retries_total") >= 1
    with run_gateway([dead], breaker_failures=100) as alone:
        alone.app.worker(dead).polled = True
        reply = generate(alone.url, TEXT)
        assert reply.status_code == 502 and "cannot connect" in reply.json()["error"], "no other worker: no retry"


# -- the sidecar's front door works the same at the gateway --------------------------------------------------
def test_keys_wall_and_queue_metric_at_the_gateway(tmp_path):
    keys = tmp_path / "keys"
    keys.write_text("k1\n")
    with run_workers(1) as workers, run_gateway(_urls(workers), api_keys_file=str(keys)) as gateway:
        _polled(gateway, 1)
        assert httpx.post(gateway.url + "/api/generate", json={"model": TEXT, "prompt": "x"}).status_code == 401
        assert httpx.post(gateway.url + "/api/pull", json={"model": TEXT}, headers={"authorization": "Bearer k1"}).status_code == 403
        ok = httpx.post(gateway.url + "/api/generate", json={"model": TEXT, "prompt": "x", "stream": False},
                        headers={"authorization": "Bearer k1"}, timeout=10)
        assert ok.status_code == 200
        assert httpx.get(gateway.url + "/api/tags", headers={"authorization": "Bearer k1"}).json()["models"]
        assert ("ollama_router_queue_depth", ()) in gateway.metrics()


def test_a_hot_model_spreads_only_into_free_room_never_over_other_models():
    config = load_config(None, role="gateway", workers=[f"http://10.0.0.{i}:8080" for i in (1, 2, 3)])
    app = GatewayApp(config)
    hot, full, roomy = app.backends
    disk = frozenset({"a:latest", "b:latest", "c:latest", "d:latest"})

    def state(loaded):
        data = _state([(name, GIB, 0) for name in loaded])
        data["maxLoadedModels"] = 2
        return data

    hot._apply(state(["a:latest"]), disk, None, 0.0, {})
    hot.take("a:latest")
    hot.take("a:latest")  # both slots of a taken
    full._apply(state(["b:latest", "c:latest"]), disk, None, 0.0, {})  # full of idle models
    roomy._apply(state(["d:latest"]), disk, None, 0.0, {})
    roomy.external = 5  # busier than `full`: room still decides
    assert app.balancer._free("a:latest") is None, "nobody waits for a yet: no spread"
    app.balancer.waiting["a:latest"] = 1  # a request for a already waits
    assert app.balancer._free("a:latest") is roomy, "the hot model goes where a model slot is free"
    roomy._apply(state(["d:latest", "b:latest"]), disk, None, 0.0, {})
    assert app.balancer._free("a:latest") is None, "no worker has room: evicting an idle model to spread costs loads"


def test_requests_of_other_gateway_replicas_count_against_a_workers_slots_and_own_ones_do_not_twice():
    config = load_config(None, role="gateway", workers=["http://10.0.0.1:8080"])
    app = GatewayApp(config)
    (worker,) = app.backends
    disk = frozenset({"a:latest"})
    busy_state = _state([("a:latest", GIB, 2)], inflight=2)  # the worker serves two requests of a (2 slots)
    worker._apply(busy_state, disk, None, 0.0, {"a:latest": 2})  # ... both of them this gateway's
    assert worker.external == 0 and worker.has_slot("a:latest") is True
    worker._apply(busy_state, disk, None, 0.0, {})  # ... both of another replica's
    assert worker.external == 2 and worker.has_slot("a:latest") is False
    assert app.balancer._free("a:latest") is None, "the other replica holds both slots: this one waits"


def test_a_pinned_model_goes_only_to_workers_whose_disk_has_that_digest():
    with run_workers(2) as workers:
        (d1, w1), (d2, w2) = workers
        digest = d1.model(TEXT).digest
        d1.model(TEXT).wrong_digest = True  # the tag was re-pushed on worker 1: another digest there
        with run_gateway(_urls(workers), models=[f"{TEXT}@{digest}"], prefix_affinity=False) as gateway:
            _polled(gateway, 2)
            for _ in range(3):
                assert generate(gateway.url, TEXT).status_code == 200
            assert (served(d1, TEXT), served(d2, TEXT)) == (0, 3), "never to the worker with another version"
        with run_gateway(_urls(workers), models=[f"{TEXT}@{'0' * 64}"]) as pinned_elsewhere:
            _polled(pinned_elsewhere, 2)
            reply = generate(pinned_elsewhere.url, TEXT)
            assert reply.status_code == 503 and "pinned to digest" in reply.json()["error"]
