"""Facts of the "General" section of ollama-api.md, one test each."""

from __future__ import annotations

import json

import pytest
from double_helpers import TEXT, ndjson, sse

GEN = {"model": TEXT, "prompt": "why is the sky blue?"}
CHAT = {"model": TEXT, "messages": [{"role": "user", "content": "hi"}]}


@pytest.mark.parametrize("path, body", [("/api/generate", GEN), ("/api/chat", CHAT)])
def test_api_routes_stream_ndjson_unless_stream_false(client, path, body):
    streamed = client.post(path, json=body)
    assert streamed.status_code == 200
    assert streamed.headers["content-type"] == "application/x-ndjson"
    lines = ndjson(streamed)
    assert len(lines) > 2 and all(not line["done"] for line in lines[:-1]) and lines[-1]["done"] is True

    single = client.post(path, json={**body, "stream": False})
    assert single.headers["content-type"].startswith("application/json")
    assert "\n" not in single.text.strip()
    assert json.loads(single.text)["done"] is True


def test_v1_routes_stream_only_with_stream_true(client):
    body = {"model": TEXT, "messages": [{"role": "user", "content": "hi"}]}
    plain = client.post("/v1/chat/completions", json=body)
    assert plain.headers["content-type"].startswith("application/json")
    assert plain.json()["object"] == "chat.completion"

    streamed = client.post("/v1/chat/completions", json={**body, "stream": True})
    assert streamed.headers["content-type"] == "text/event-stream"
    events = sse(streamed)
    assert events[-1] == "[DONE]"
    assert all(json.loads(e)["object"] == "chat.completion.chunk" for e in events[:-1])


def test_error_body_native_dialect(client):
    r = client.post("/api/generate", json={"model": "missing:1b", "prompt": "x"})
    assert r.status_code == 404
    assert r.json() == {"error": "model 'missing:1b' not found"}


@pytest.mark.parametrize(
    "body, status, kind",
    [
        ({"model": TEXT, "messages": []}, 400, "invalid_request_error"),
        ({"model": "missing:1b", "messages": [{"role": "user", "content": "x"}]}, 404, "not_found_error"),
    ],
)
def test_error_body_openai_dialect(client, body, status, kind):
    r = client.post("/v1/chat/completions", json=body)
    assert r.status_code == status
    error = r.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["type"] == kind and error["param"] is None and error["code"] is None


def test_openai_error_type_for_other_statuses_is_api_error(client, double):
    double.knobs.fail_next = 1
    r = client.post("/v1/chat/completions", json={"model": TEXT, "messages": [{"role": "user", "content": "x"}]})
    assert r.status_code == 500
    assert r.json()["error"]["type"] == "api_error"


def test_error_after_stream_started_is_last_line_with_status_200(client, double):
    double.knobs.cut_after_chunks = 3
    r = client.post("/api/generate", json=GEN)
    assert r.status_code == 200
    lines = ndjson(r)
    assert len(lines) == 4
    assert all("response" in line for line in lines[:3])
    assert lines[-1] == {"error": double.knobs.cut_message}


def test_bad_json_is_400_with_decoder_message(client):
    r = client.post("/api/generate", content=b"{not json")
    assert r.status_code == 400
    assert r.json() == {"error": "invalid character 'n' looking for beginning of value"}
    truncated = client.post("/api/generate", content=b'{"model": "x"')
    assert truncated.json() == {"error": "unexpected EOF"}


def test_wrong_field_type_is_400_with_go_unmarshal_message(client):
    r = client.post("/api/generate", json={"model": 5})
    assert r.status_code == 400
    assert r.json()["error"] == "json: cannot unmarshal number into Go struct field GenerateRequest.model of type string"


@pytest.mark.parametrize("path", ["/api/generate", "/api/chat", "/api/show", "/api/pull", "/api/embed"])
def test_empty_body_is_400_missing_request_body(client, path):
    r = client.post(path, content=b"")
    assert r.status_code == 400
    assert r.json() == {"error": "missing request body"}


@pytest.mark.parametrize("host", ["example.com", "8.8.8.8:11434", "ollama.example.org:80", "[2001:db8::1]:11434"])
def test_host_check_rejects_public_hosts_with_403_and_no_body(client, host):
    r = client.get("/api/tags", headers={"Host": host})
    assert r.status_code == 403
    assert r.content == b""


@pytest.mark.parametrize(
    "host", ["localhost:11434", "127.0.0.1:11434", "10.1.2.3:11434", "192.168.0.7", "172.20.0.1:80", "[::1]:11434", "0.0.0.0:11434", "ollama.internal", "box.local"]
)
def test_host_check_allows_loopback_private_and_local_names(client, host):
    assert client.get("/api/tags", headers={"Host": host}).status_code == 200


def test_wrong_method_is_405(client):
    assert client.get("/api/generate").status_code == 405
    assert client.post("/api/tags").status_code == 405
    assert client.get("/api/delete").status_code == 405


def test_durations_are_nanoseconds(client, double):
    double.knobs.token_interval_seconds = 0.02
    double.knobs.tokens_per_reply = 6
    final = client.post("/api/generate", json={**GEN, "stream": False}).json()
    assert final["eval_count"] == 6
    # five gaps of 20 ms between six tokens: at least 0.1 s, written in ns
    assert 0.1e9 <= final["eval_duration"] < 5e9
    assert final["total_duration"] >= final["eval_duration"]
    tokens_per_second = final["eval_count"] / final["eval_duration"] * 1e9
    assert 1 < tokens_per_second <= 60


@pytest.mark.parametrize("path", ["/metrics", "/health", "/healthz", "/readyz"])
def test_no_metrics_and_no_health_endpoint(client, path):
    r = client.get(path)
    assert r.status_code == 404
    assert r.text == "404 page not found"


def test_root_answers_ollama_is_running(client):
    r = client.get("/")
    assert r.status_code == 200
    assert r.text == "Ollama is running"
    assert r.headers["content-type"].startswith("text/plain")
    head = client.head("/")
    assert head.status_code == 200 and head.content == b""


def test_version(client, double):
    double.knobs.version = "0.33.1"
    assert client.get("/api/version").json() == {"version": "0.33.1"}
