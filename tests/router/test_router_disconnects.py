"""10,000 requests, many abandoned at random moments: afterwards no slot is held and the queue is empty."""

from __future__ import annotations

import asyncio
import json
import random

from router_helpers import TEXT, make_double, run_router, wait_for

from catalog_gen.testing.ollama_double import serve_double

TOTAL = 10_000
CONCURRENCY = 96


def _request(path: str, body: dict) -> bytes:
    data = json.dumps(body).encode()
    return (f"POST {path} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {len(data)}\r\n"
            f"connection: close\r\n\r\n").encode() + data


async def _one(port: int, rng: random.Random, tally: dict) -> None:
    stream = rng.random() < 0.6
    path = rng.choice(["/api/generate", "/v1/completions"])
    body = {"model": TEXT, "prompt": "hi", "stream": stream}
    action = rng.choice(["finish", "finish", "after_send", "after_first_bytes", "after_delay"])
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(_request(path, body))
        await writer.drain()
        if action == "finish":
            data = await reader.read()
            tally["finished" if data.startswith(b"HTTP/1.1 ") else "odd"] += 1
        elif action == "after_first_bytes":
            await reader.read(1)
            tally["cut"] += 1
        elif action == "after_delay":
            await asyncio.sleep(rng.random() * 0.02)
            tally["cut"] += 1
        else:
            tally["cut"] += 1
    finally:
        writer.transport.abort()


async def _drive(port: int) -> dict:
    rng = random.Random(5)
    tally = {"finished": 0, "cut": 0, "odd": 0}
    left = [TOTAL]

    async def worker():
        while left[0] > 0:
            left[0] -= 1
            await _one(port, rng, tally)

    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return tally


def test_random_disconnects_leave_no_slot_held_and_an_empty_queue():
    doubles = [make_double(models=(TEXT,), token_interval_seconds=0.001, tokens_per_reply=3) for _ in range(2)]
    with serve_double(doubles[0]) as url1, serve_double(doubles[1]) as url2, \
            run_router([url1, url2], models=[TEXT], slots_per_backend=12, max_queue=128, queue_timeout=10) as router:
        router.wait_ready()
        tally = asyncio.run(_drive(int(router.url.rsplit(":", 1)[1])))
        assert tally["odd"] == 0 and tally["finished"] + tally["cut"] == TOTAL

        def settled():
            m = router.metrics()
            answered = sum(v for (name, _labels), v in m.items() if name == "ollama_router_requests_total")
            return answered == TOTAL and m.get(("ollama_router_queue_depth", ()), 1) == 0

        wait_for(settled, 10, "every request accounted for")
        for url in (url1, url2):
            assert router.metric("ollama_router_inflight_requests", backend=url) == 0
        assert not router.app.balancer.queue
        assert all(not b.inflight_by_model for b in router.app.backends)
        assert router.metric("ollama_router_client_disconnects_total") > 1000
        statuses = {dict(labels)["status"] for (name, labels) in router.metrics() if name == "ollama_router_requests_total"}
        assert statuses <= {"200", "499", "429"}, statuses
