"""Errors tell the truth: a stream Ollama ends with an error, a cut stream, or a /v1 stream that lost its error
is counted as an error and ends with an error the caller's client reads (never a silent, complete-looking end)."""

from __future__ import annotations

import json

import httpx
import pytest
from router_helpers import TEXT, ndjson, run_router, sse

from catalog_gen.router.proxy import stream_verdict

CHAT = {"model": TEXT, "messages": [{"role": "user", "content": "hi"}]}


def _named(text: str) -> list[tuple[str, dict]]:
    out = []
    for block in text.split("\n\n"):
        if block.strip():
            head, data = block.split("\n", 1)
            out.append((head[len("event: "):], json.loads(data[len("data: "):])))
    return out


def test_ollamas_error_line_is_counted_as_an_error_not_200(double, double_url):
    double.knobs.cut_after_chunks = 2
    with run_router([double_url]) as router:
        r = httpx.post(router.url + "/api/generate", json={"model": TEXT, "prompt": "hi"}, timeout=10)
        counted = router.metric("ollama_router_requests_total", model=TEXT, endpoint="/api/generate", status="500")
        ok = router.metric("ollama_router_requests_total", model=TEXT, endpoint="/api/generate", status="200")
        stream_failures = router.metric("ollama_router_upstream_failures_total", backend=double_url, phase="stream")
    assert r.status_code == 200 and ndjson(r.text)[-1] == {"error": double.knobs.cut_message}
    assert (counted, ok) == (1, 0)
    assert stream_failures == 0, "Ollama answered; its transport did not fail"


def test_a_lost_v1_error_becomes_an_error_event_the_openai_client_raises_on(double, double_url):
    double.knobs.cut_after_chunks = 2
    with run_router([double_url]) as router:
        r = httpx.post(router.url + "/v1/chat/completions", json={**CHAT, "stream": True}, timeout=10)
        completions = httpx.post(router.url + "/v1/completions", json={"model": TEXT, "prompt": "hi", "stream": True}, timeout=10)
        counted = router.metric("ollama_router_requests_total", model=TEXT, endpoint="/v1/chat/completions", status="500")
    events = sse(r.text)
    assert "[DONE]" not in events
    error = json.loads(events[-1])["error"]
    assert error["type"] == "api_error" and "without finishing" in error["message"]
    assert "[DONE]" not in sse(completions.text) and "error" in json.loads(sse(completions.text)[-1])
    assert counted == 1


@pytest.mark.parametrize("path, body, final", [
    ("/v1/responses", {"model": TEXT, "input": "hi", "stream": True}, "response.completed"),
    ("/v1/messages", {"model": TEXT, "max_tokens": 20, "messages": [{"role": "user", "content": "hi"}], "stream": True}, "message_stop"),
])
def test_named_event_streams_that_lose_their_final_event_end_with_an_error_event(double, double_url, path, body, final):
    with run_router([double_url]) as router:
        healthy = httpx.post(router.url + path, json=body, timeout=10)
        double.knobs.cut_after_chunks = 2
        cut = httpx.post(router.url + path, json=body, timeout=10)
        counted = router.metric("ollama_router_requests_total", model=TEXT, endpoint=path, status="500")
        fine = router.metric("ollama_router_requests_total", model=TEXT, endpoint=path, status="200")
    assert _named(healthy.text)[-1][0] == final
    name, data = _named(cut.text)[-1]
    assert name == "error" and data["type"] == "error"
    assert (counted, fine) == (1, 1)


def test_a_dropped_connection_is_counted_as_502_and_ends_with_an_error_line(double, double_url):
    double.knobs.cut_after_chunks = 2
    double.knobs.cut_mode = "drop"
    with run_router([double_url], breaker_failures=100) as router:
        r = httpx.post(router.url + "/api/chat", json=CHAT, timeout=10)
        counted = router.metric("ollama_router_requests_total", model=TEXT, endpoint="/api/chat", status="502")
    assert "error" in ndjson(r.text)[-1] and counted == 1


def test_healthy_streams_are_200(double, double_url):
    with run_router([double_url]) as router:
        for path, body in (("/api/chat", CHAT), ("/v1/chat/completions", {**CHAT, "stream": True})):
            assert httpx.post(router.url + path, json=body, timeout=10).status_code == 200
        assert router.metric("ollama_router_requests_total", model=TEXT, endpoint="/api/chat", status="200") == 1
        assert router.metric("ollama_router_requests_total", model=TEXT, endpoint="/v1/chat/completions", status="200") == 1


@pytest.mark.parametrize("path, content_type, tail, status, add", [
    ("/api/generate", b"application/x-ndjson", b'{"response":"a","done":false}\n{"done":true,"done_reason":"stop"}\n', 0, False),
    ("/api/generate", b"application/x-ndjson", b'{"response":"a","done":false}\n{"error":"boom"}\n', 500, False),
    ("/api/chat", b"application/x-ndjson", b'{"message":{},"done":false}\n', 502, True),
    ("/v1/chat/completions", b"text/event-stream", b"data: {}\n\ndata: [DONE]\n\n", 0, False),
    ("/v1/chat/completions", b"text/event-stream", b"data: {}\n\n", 500, True),
    ("/v1/chat/completions", b"application/json", b'{"choices":[]}', 0, False),  # a large non-streamed reply, chunked
    ("/v1/messages", b"text/event-stream", b"event: message_stop\ndata: {}\n\n", 0, False),
    ("/api/tags", b"application/json", b"{}", 0, False),
])
def test_stream_verdicts(path, content_type, tail, status, add):
    got_status, message, got_add = stream_verdict(path, content_type, tail)
    assert (got_status, got_add) == (status, add) and bool(message) == bool(status)
