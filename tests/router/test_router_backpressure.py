"""Slots and the bounded queue: 429 with Retry-After when full, 503 when the wait deadline passes."""

from __future__ import annotations

import asyncio
import time

import httpx
from router_helpers import TEXT, run_router, wait_for

CHAT = {"model": TEXT, "messages": [{"role": "user", "content": "hi"}], "stream": True}


async def _hold(url: str, path: str, body: dict, started: asyncio.Event, results: list) -> None:
    """A streamed request that signals once its first chunk arrived (it then holds a slot)."""
    async with httpx.AsyncClient(timeout=30) as client:
        async with client.stream("POST", url + path, json=body) as response:
            chunks = []
            async for line in response.aiter_lines():
                if line.strip():
                    chunks.append(line)
                    started.set()
            results.append((response.status_code, chunks))


def test_full_queue_answers_429_with_retry_after_at_once(double, double_url):
    double.knobs.token_interval_seconds = 0.15
    double.knobs.tokens_per_reply = 6

    async def scenario(router):
        results: list = []
        first = asyncio.Event()
        holder = asyncio.create_task(_hold(router.url, "/api/generate", {"model": TEXT, "prompt": "a"}, first, results))
        await asyncio.wait_for(first.wait(), 10)
        waiting = asyncio.create_task(_hold(router.url, "/api/generate", {"model": TEXT, "prompt": "b"}, asyncio.Event(), results))
        await asyncio.to_thread(wait_for, lambda: router.metric("ollama_router_queue_depth") == 1, 5, "one queued")
        async with httpx.AsyncClient(timeout=10) as client:
            t0 = time.monotonic()
            native = await client.post(router.url + "/api/generate", json={"model": TEXT, "prompt": "c"})
            openai = await client.post(router.url + "/v1/chat/completions", json=CHAT)
            elapsed = time.monotonic() - t0
        await asyncio.gather(holder, waiting)
        return native, openai, elapsed, results

    with run_router([double_url], slots_per_backend=1, max_queue=1, queue_timeout=20) as router:
        native, openai, elapsed, results = asyncio.run(scenario(router))
        assert router.metric("ollama_router_queue_rejections_total", reason="full") == 2
    assert native.status_code == 429 and openai.status_code == 429
    assert elapsed < 1.0, "a full queue must answer at once"
    for response in (native, openai):
        assert int(response.headers["retry-after"]) >= 1
    assert set(native.json()) == {"error"} and "waiting" in native.json()["error"]
    assert openai.json()["error"]["type"] == "api_error" and openai.json()["error"]["param"] is None
    # the held and the queued request both finished normally
    assert [status for status, _ in results] == [200, 200]
    assert all('"done":true' in chunks[-1] for _, chunks in results)


def test_wait_deadline_answers_503(double, double_url):
    double.knobs.token_interval_seconds = 0.2
    double.knobs.tokens_per_reply = 6

    async def scenario(router):
        results: list = []
        first = asyncio.Event()
        holder = asyncio.create_task(_hold(router.url, "/api/chat", CHAT, first, results))
        await asyncio.wait_for(first.wait(), 10)
        async with httpx.AsyncClient(timeout=10) as client:
            t0 = time.monotonic()
            late = await client.post(router.url + "/v1/chat/completions", json=CHAT)
            elapsed = time.monotonic() - t0
        await holder
        return late, elapsed

    with run_router([double_url], slots_per_backend=1, max_queue=4, queue_timeout=0.3) as router:
        late, elapsed = asyncio.run(scenario(router))
        assert router.metric("ollama_router_queue_rejections_total", reason="timeout") == 1
        assert router.metric("ollama_router_queue_depth") == 0
    assert late.status_code == 503
    assert 0.25 <= elapsed < 1.0
    assert int(late.headers["retry-after"]) >= 1
    assert late.json()["error"]["type"] == "api_error"


def test_slots_bound_what_reaches_ollama(double, double_url):
    """Eight requests at once with two slots: Ollama never sees more than two at a time."""
    double.knobs.token_interval_seconds = 0.05
    double.knobs.tokens_per_reply = 3
    seen = []

    async def scenario(router):
        async def one(i):
            async with httpx.AsyncClient(timeout=30) as client:
                return await client.post(router.url + "/api/generate", json={"model": TEXT, "prompt": str(i), "stream": False})

        async def sample():
            while True:
                seen.append(router.app.backends[0].inflight)
                await asyncio.sleep(0.005)

        sampler = asyncio.create_task(sample())
        replies = await asyncio.gather(*(one(i) for i in range(8)))
        sampler.cancel()
        return replies

    with run_router([double_url], slots_per_backend=2, max_queue=10) as router:
        replies = asyncio.run(scenario(router))
        waited = router.metric("ollama_router_queue_wait_seconds_count")
    assert [r.status_code for r in replies] == [200] * 8
    assert max(seen) == 2
    assert waited >= 6
