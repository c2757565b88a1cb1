"""Slot accounting per model and backend, and where a cold model may go (balancer.py), without network."""

from __future__ import annotations

import asyncio

import pytest

from catalog_gen.router.backends import Backend
from catalog_gen.router.balancer import Balancer, QueueTimeout
from catalog_gen.router.metrics import Metrics

A, B, C = "a:latest", "b:latest", "c:latest"
GIB = 1 << 30


def _setup(n=1, slots=1, max_models=3, memory=None, sizes=None):
    metrics = Metrics()
    backends = []
    for i in range(n):
        backend = Backend(f"http://127.0.0.1:{40000 + i}", slots, 1.0, metrics, 3, 1.0)
        backend.index = i
        backend.sizes = dict(sizes or {})
        backends.append(backend)
    return backends, Balancer(backends, 8, 0.2, metrics, max_models=max_models, memory=memory)


def test_each_loaded_model_has_its_own_slots_on_one_backend():
    (backend,), balancer = _setup(slots=1)

    async def run():
        first = await balancer.acquire(A)
        second = await balancer.acquire(B)  # another model: its own runner, its own slot
        assert first.backend is second.backend is backend and backend.inflight == 2
        with pytest.raises(QueueTimeout):  # A's only slot is taken: a second A waits
            await balancer.acquire(A)
        balancer.release(first, True)
        third = await balancer.acquire(A)
        assert backend.busy == {A: 1, B: 1}
        balancer.release(second, True)
        balancer.release(third, True)
        assert backend.inflight == 0 and backend.busy == {}

    asyncio.run(run())


def test_the_model_limit_of_a_process_still_bounds_what_runs_there():
    (backend,), balancer = _setup(slots=2, max_models=1)

    async def run():
        busy = await balancer.acquire(A)
        with pytest.raises(QueueTimeout):  # B cannot load while A serves a request and only one model fits
            await balancer.acquire(B)
        balancer.release(busy, True)
        lease = await balancer.acquire(B)  # A is idle now: Ollama evicts it for B
        assert lease.backend is backend

    asyncio.run(run())


def test_a_cold_model_goes_where_nothing_serving_is_evicted_and_prefers_where_nothing_is_evicted():
    sizes = {A: 10 * GIB, B: 10 * GIB, C: 10 * GIB}
    (first, second, third), balancer = _setup(n=3, slots=4, memory=24 * GIB, sizes=sizes)
    first.loaded = {A, B}  # full, and both serve requests
    first.inflight_by_model = {A: 1, B: 1}
    second.loaded = {A, B}  # full, but idle: C fits once Ollama evicts one of them
    third.loaded = {A, B}
    third.inflight_by_model = {A: 1}  # one busy, one idle
    second.inflight = 1  # the least loaded with room must not win when elsewhere nothing is evicted
    assert balancer._free(C) in (second, third)
    roomy = Backend("http://127.0.0.1:40009", 4, 1.0, balancer.metrics, 3, 1.0)
    roomy.index = 9
    roomy.sizes = dict(sizes)
    roomy.loaded = {A}  # room for C without evicting anything
    roomy.inflight = 3
    balancer.backends.append(roomy)
    assert balancer._free(C) is roomy, "a backend where nothing has to be evicted wins over a less loaded one"
    balancer.backends.remove(roomy)
    first.inflight_by_model = {A: 1, B: 1}
    second.inflight_by_model = {A: 1, B: 1}
    third.inflight_by_model = {A: 1, B: 1}
    assert balancer._free(C) is None, "every backend would have to evict a model serving requests: wait"


def test_a_model_alone_is_placed_even_when_larger_than_the_memory():
    (backend,), balancer = _setup(memory=GIB, sizes={A: 10 * GIB})
    assert balancer._free(A) is backend
