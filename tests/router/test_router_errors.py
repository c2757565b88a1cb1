"""The router's own errors in the caller's dialect: Ollama shape under /api, OpenAI shape under /v1."""

from __future__ import annotations

import json
import socket

import httpx
import pytest
from router_helpers import TEXT, ndjson, run_router, sse

CHAT = {"model": TEXT, "messages": [{"role": "user", "content": "hi"}]}


def assert_ollama_error(response: httpx.Response, status: int) -> str:
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"} and isinstance(body["error"], str) and body["error"]
    return body["error"]


def assert_openai_error(response: httpx.Response, status: int, kind: str = "api_error", code: str | None = None) -> str:
    assert response.status_code == status
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"message", "type", "param", "code"}
    assert body["error"]["type"] == kind and body["error"]["param"] is None and body["error"]["code"] == code
    return body["error"]["message"]


def test_unauthorized_in_both_dialects(double_url, tmp_path):
    keys = tmp_path / "keys"
    keys.write_text("k1\n")
    with run_router([double_url], api_keys_file=str(keys)) as router:
        native = httpx.post(router.url + "/api/chat", json=CHAT, timeout=10)
        openai = httpx.post(router.url + "/v1/chat/completions", json=CHAT, headers={"Authorization": "Bearer nope"}, timeout=10)
    assert "API key" in assert_ollama_error(native, 401)
    # OpenAI's own 401: type invalid_request_error, code invalid_api_key (the official clients map it to AuthenticationError)
    assert "API key" in assert_openai_error(openai, 401, "invalid_request_error", "invalid_api_key")
    assert native.headers["www-authenticate"] == "Bearer"


def test_body_over_the_limit_is_413(double_url):
    big = b'{"model": "llama3.1:8b", "prompt": "' + b"x" * 2000 + b'"}'
    with run_router([double_url], max_body_bytes=1000) as router:
        native = httpx.post(router.url + "/api/generate", content=big, timeout=10)
        openai = httpx.post(router.url + "/v1/completions", content=big, timeout=10)
        chunked = httpx.post(router.url + "/api/generate", content=iter([big[:600], big[600:]]), timeout=10)
        small = httpx.post(router.url + "/api/generate", json={"model": TEXT, "prompt": "x", "stream": False}, timeout=10)
    assert "limit of 1000 bytes" in assert_ollama_error(native, 413)
    assert_openai_error(openai, 413)
    assert_ollama_error(chunked, 413)
    assert small.status_code == 200


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_no_backend_is_502_in_both_dialects():
    dead = f"http://127.0.0.1:{_dead_port()}"
    with run_router([dead], breaker_failures=100) as router:
        native = httpx.post(router.url + "/api/chat", json=CHAT, timeout=10)
        openai = httpx.post(router.url + "/v1/chat/completions", json=CHAT, timeout=10)
    assert "cannot connect" in assert_ollama_error(native, 502)
    assert "cannot connect" in assert_openai_error(openai, 502)


@pytest.mark.parametrize("mode", ["drop", "error"])
def test_failure_mid_stream_ends_with_an_error_line_in_the_stream_dialect(double, double_url, mode):
    double.knobs.cut_after_chunks = 2
    double.knobs.cut_mode = mode
    with run_router([double_url], breaker_failures=100) as router:
        native = httpx.post(router.url + "/api/generate", json={"model": TEXT, "prompt": "hi"}, timeout=10)
        openai = httpx.post(router.url + "/v1/chat/completions", json={**CHAT, "stream": True}, timeout=10)
    assert native.status_code == 200 and openai.status_code == 200
    lines = ndjson(native.text)
    assert [obj.get("done") for obj in lines[:2]] == [False, False]
    assert set(lines[-1]) == {"error"} and lines[-1]["error"]
    events = sse(openai.text)
    if mode == "drop":  # the router's own last line / event: it says the backend failed
        assert "closed the connection" in lines[-1]["error"]
        assert "closed the connection" in json.loads(events[-1])["error"]["message"] and "[DONE]" not in events
    else:  # Ollama's own error line passes through untouched; under /v1 Ollama loses it, so the router adds one
        assert lines[-1] == {"error": double.knobs.cut_message}
        direct = sse(httpx.post(double_url + "/v1/chat/completions", json={**CHAT, "stream": True}, timeout=10).text)
        assert "[DONE]" not in direct and "[DONE]" not in events
        assert events[:-1] == [e for e in events[:-1]] and len(events) == len(direct) + 1
        assert json.loads(events[-2])["choices"] == json.loads(direct[-1])["choices"]
        assert "without finishing" in json.loads(events[-1])["error"]["message"]
