"""Every Ollama and OpenAI endpoint through the router, streamed and not, compared with the double answering directly."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from router_helpers import EMBED, OTHER, TEXT, ndjson, paths, run_router, sse

VOLATILE = {"created_at", "total_duration", "load_duration", "prompt_eval_duration", "eval_duration", "expires_at",
            "id", "created", "system_fingerprint", "modified_at"}


def scrub(value):
    if isinstance(value, dict):
        return {k: scrub(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [scrub(v) for v in value]
    return value


def body_of(response: httpx.Response):
    kind = response.headers.get("content-type", "")
    if not response.content:
        return ""
    if "ndjson" in kind:
        return [scrub(x) for x in ndjson(response.text)]
    if "event-stream" in kind:
        return [e if e == "[DONE]" else scrub(json.loads(e)) for e in sse(response.text)]
    if "json" in kind:
        return scrub(response.json())
    return response.text


CASES = [
    ("GET", "/", None),
    ("HEAD", "/", None),
    ("GET", "/api/version", None),
    ("GET", "/api/tags", None),
    ("POST", "/api/show", {"model": TEXT}),
    ("POST", "/api/generate", {"model": TEXT, "prompt": "hi"}),
    ("POST", "/api/generate", {"model": TEXT, "prompt": "hi", "stream": False}),
    ("POST", "/api/chat", {"model": TEXT, "messages": [{"role": "user", "content": "hi"}]}),
    ("POST", "/api/chat", {"model": TEXT, "messages": [{"role": "user", "content": "hi"}], "stream": False}),
    ("POST", "/api/embed", {"model": EMBED, "input": ["a", "b"]}),
    ("POST", "/api/embeddings", {"model": EMBED, "prompt": "a"}),
    ("POST", "/v1/chat/completions", {"model": TEXT, "messages": [{"role": "user", "content": "hi"}]}),
    ("POST", "/v1/chat/completions", {"model": TEXT, "messages": [{"role": "user", "content": "hi"}], "stream": True}),
    ("POST", "/v1/completions", {"model": TEXT, "prompt": "hi"}),
    ("POST", "/v1/completions", {"model": TEXT, "prompt": "hi", "stream": True}),
    ("POST", "/v1/embeddings", {"model": EMBED, "input": "a"}),
    ("GET", "/v1/models", None),
    ("GET", f"/v1/models/{TEXT}", None),
    ("GET", "/v1/models/nope:1", None),
    ("POST", "/api/generate", {"model": "nope:1", "prompt": "hi"}),
    ("POST", "/api/generate", b"{not json"),
    ("POST", "/api/chat", {"messages": []}),
    ("GET", "/api/generate", None),
    ("HEAD", "/api/ps", None),
    ("HEAD", "/v1/models", None),
    ("POST", "/api/generate", {"model": TEXT, "prompt": "hi", "keep_alive": "300"}),
]
# Model management and unknown paths: the public port refuses them; the management socket passes them on.
MANAGEMENT_CASES = [
    ("POST", "/api/pull", {"model": OTHER}),
    ("POST", "/api/copy", {"source": TEXT, "destination": "copy:1"}),
    ("HEAD", "/api/blobs/sha256:" + "0" * 64, None),
    ("GET", "/api/unknown", None),
    ("POST", "/api/generate", {"model": TEXT, "prompt": "", "keep_alive": 0}),
]


@pytest.mark.parametrize(("method", "path", "payload"), CASES, ids=[f"{m} {p} {i}" for i, (m, p, _x) in enumerate(CASES)])
def test_router_answers_like_ollama(double, double_url, method, path, payload):
    with run_router([double_url]) as router:
        kwargs = {}
        if isinstance(payload, bytes):
            kwargs["content"] = payload
        elif payload is not None:
            kwargs["json"] = payload
        direct = httpx.request(method, double_url + path, timeout=10, **kwargs)
        routed = httpx.request(method, router.url + path, timeout=10, **kwargs)
    assert routed.status_code == direct.status_code
    assert routed.headers.get("content-type") == direct.headers.get("content-type")
    assert routed.headers.get("allow") == direct.headers.get("allow")
    assert body_of(routed) == body_of(direct)


@pytest.mark.parametrize(("method", "path", "payload"), MANAGEMENT_CASES, ids=[f"{m} {p}" for m, p, _x in MANAGEMENT_CASES])
def test_management_socket_answers_like_ollama(double, double_url, tmp_path, method, path, payload):
    socket_path = tmp_path / "admin.sock"
    with run_router([double_url], admin_socket=str(socket_path)) as router:
        direct = httpx.request(method, double_url + path, json=payload, timeout=10)
        with httpx.Client(transport=httpx.HTTPTransport(uds=str(socket_path)), base_url="http://router", timeout=10) as c:
            routed = c.request(method, path, json=payload)
        public = httpx.request(method, router.url + path, json=payload, timeout=10)
    assert routed.status_code == direct.status_code
    assert routed.headers.get("content-type") == direct.headers.get("content-type")
    assert body_of(routed) == body_of(direct)
    expected_public = {"/api/unknown": 404, "/api/generate": 200}.get(path, 403)
    assert public.status_code == expected_public


def test_streams_are_relayed_chunk_by_chunk(double, double_url):
    double.knobs.token_interval_seconds = 0.1
    double.knobs.tokens_per_reply = 6
    with run_router([double_url]) as router, router.client() as client:
        arrivals = []
        with client.stream("POST", "/api/generate", json={"model": TEXT, "prompt": "hi"}) as response:
            assert response.headers["content-type"] == "application/x-ndjson"
            for line in response.iter_lines():
                if line.strip():
                    arrivals.append((time.monotonic(), json.loads(line)))
    assert arrivals[-1][1]["done"] is True
    tokens = [t for t, obj in arrivals if not obj["done"]]
    assert len(tokens) == 6
    gaps = [b - a for a, b in zip(tokens, tokens[1:])]
    assert min(gaps) > 0.05, f"chunks arrived bunched together: {gaps}"


def test_host_header_is_rewritten_to_loopback_form(double, double_url):
    port = double_url.rsplit(":", 1)[1]
    with run_router([double_url]) as router:
        response = httpx.post(router.url + "/api/generate", json={"model": TEXT, "prompt": "hi", "stream": False},
                              headers={"Host": "llm.example.com"}, timeout=10)
        direct = httpx.post(double_url + "/api/generate", json={"model": TEXT, "prompt": "hi"},
                            headers={"Host": "llm.example.com"}, timeout=10)
    assert direct.status_code == 403  # the double's host check, like Ollama's
    assert response.status_code == 200
    generate = [r for r in double.requests if r.path == "/api/generate" and r.headers.get("host") == f"localhost:{port}"]
    assert generate, [r.headers.get("host") for r in double.requests]


def test_authorization_header_is_not_forwarded(double, double_url, tmp_path):
    keys = tmp_path / "keys"
    keys.write_text("s3cret\n")
    with run_router([double_url], api_keys_file=str(keys)) as router:
        response = httpx.post(router.url + "/api/show", json={"model": TEXT},
                              headers={"Authorization": "Bearer s3cret"}, timeout=10)
    assert response.status_code == 200
    shows = [r for r in double.requests if r.path == "/api/show"]
    assert shows and all("authorization" not in r.headers for r in shows)


def test_listings_are_the_union_across_backends():
    from catalog_gen.testing.ollama_double import serve_double
    from router_helpers import make_double

    first, second = make_double(models=(TEXT,)), make_double(models=(TEXT, EMBED))
    with serve_double(first) as url1, serve_double(second) as url2, run_router([url1, url2]) as router:
        httpx.post(url2 + "/api/embed", json={"model": EMBED, "input": "x"}, timeout=10)
        httpx.post(url1 + "/api/generate", json={"model": TEXT, "prompt": ""}, timeout=10)
        tags = httpx.get(router.url + "/api/tags", timeout=10).json()
        ps = httpx.get(router.url + "/api/ps", timeout=10).json()
        models = httpx.get(router.url + "/v1/models", timeout=10).json()
    assert sorted(m["name"] for m in tags["models"]) == sorted([EMBED, TEXT])
    assert sorted(m["name"] for m in ps["models"]) == sorted([EMBED, TEXT])
    assert models["object"] == "list" and sorted(m["id"] for m in models["data"]) == sorted([EMBED, TEXT])
    assert paths(first, "/api/tags") and paths(second, "/api/tags")
