"""Facts of the addendum of ollama-api.md: CORS, host check, routing, capabilities, tools, formats, newer routes.

Every expectation here is written from the facts file, not from what the router
needs: where the double and the facts disagree, the facts win.
"""

from __future__ import annotations

import base64
import json
import math
import struct

import httpx
import pytest
from double_helpers import EMBED, TEXT, ndjson, sse

from catalog_gen.testing._ollama_http import CORS_ALLOW_HEADERS, OriginConfigError, OriginPolicy, allowed_origins
from catalog_gen.testing.ollama_double import DoubleModel, Knobs, OllamaDouble, serve_double

THINKER = "qwen3:8b"
TOOLS = [{"type": "function", "function": {"name": "get_weather", "description": "weather",
                                           "parameters": {"type": "object", "required": ["city"],
                                                          "properties": {"city": {"type": "string"}}}}}]


# --- CORS ------------------------------------------------------------------------------------------


def test_origin_that_is_not_the_host_is_refused_with_403_and_no_body(client, url):
    port = url.rsplit(":", 1)[1]
    r = client.post("/api/generate", json={"model": TEXT, "prompt": "hi", "stream": False},
                    headers={"Host": f"localhost:{port}", "Origin": "https://llm.example.com"})
    assert (r.status_code, r.content) == (403, b"")
    assert "access-control-allow-origin" not in r.headers


def test_same_origin_passes_without_cors_headers(client):
    r = client.post("/api/generate", json={"model": TEXT, "prompt": "hi", "stream": False},
                    headers={"Host": "llm.svc.cluster.local", "Origin": "https://llm.svc.cluster.local"})
    assert r.status_code == 200 and "access-control-allow-origin" not in r.headers


def test_a_proxy_that_rewrites_host_breaks_same_origin(client):
    """The page's origin is the public host; a proxy sending Host: localhost:PORT makes it cross-origin."""
    r = client.post("/api/tags", headers={"Host": "localhost:11434", "Origin": "https://llm.svc.cluster.local"})
    assert (r.status_code, r.content) == (403, b"")


def test_builtin_origins_are_allowed_and_get_allow_origin_and_vary(client):
    r = client.get("/api/tags", headers={"Origin": "http://localhost:3000"})
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == "http://localhost:3000"
    assert r.headers["vary"] == "Origin"
    assert "access-control-allow-credentials" not in r.headers


def test_ollama_origins_adds_entries_with_one_star_wildcards():
    double = OllamaDouble([DoubleModel(TEXT)], Knobs(origins="https://*.example.com,https://app.test"))
    with serve_double(double) as url, httpx.Client(base_url=url) as c:
        assert c.get("/api/tags", headers={"Origin": "https://chat.example.com"}).status_code == 200
        assert c.get("/api/tags", headers={"Origin": "https://app.test"}).status_code == 200
        assert c.get("/api/tags", headers={"Origin": "https://evil.test"}).status_code == 403


def test_star_allows_every_origin_with_a_star_and_no_vary():
    double = OllamaDouble([DoubleModel(TEXT)], Knobs(origins="*"))
    with serve_double(double) as url:
        r = httpx.get(f"{url}/api/tags", headers={"Origin": "https://anything.test"})
    assert r.headers["access-control-allow-origin"] == "*" and "vary" not in r.headers


def test_origin_entries_ollama_refuses_at_start():
    with pytest.raises(OriginConfigError, match="only one"):
        OriginPolicy(allowed_origins("https://*.*.example.com"))
    with pytest.raises(OriginConfigError, match="bad origin"):
        OriginPolicy(allowed_origins("example.com"))
    assert not OriginPolicy(allowed_origins("")).allows("null")
    assert not OriginPolicy(allowed_origins("")).allows("http://[::1]:8080")


def test_allowed_preflight_is_204_with_ollamas_headers(client):
    r = client.options("/api/chat", headers={"Origin": "http://127.0.0.1:5173", "Access-Control-Request-Method": "POST"})
    assert (r.status_code, r.content) == (204, b"")
    assert r.headers["access-control-allow-origin"] == "http://127.0.0.1:5173"
    assert r.headers["access-control-max-age"] == "43200"
    assert r.headers["access-control-allow-methods"] == "GET,POST,PUT,PATCH,DELETE,HEAD,OPTIONS"
    assert r.headers["access-control-allow-headers"] == CORS_ALLOW_HEADERS
    assert "X-Stainless-Retry-Count" in CORS_ALLOW_HEADERS.split(",") and " " not in CORS_ALLOW_HEADERS
    assert r.headers.get_list("vary") == ["Origin", "Access-Control-Request-Method", "Access-Control-Request-Headers"]


def test_refused_preflight_is_403_even_on_unknown_paths(client):
    for path in ("/api/chat", "/nope"):
        r = client.options(path, headers={"Origin": "https://evil.test", "Access-Control-Request-Method": "POST"})
        assert (r.status_code, r.content) == (403, b"")


# --- host check and routing ------------------------------------------------------------------------


def test_same_origin_options_on_a_named_host_is_204_and_on_an_ip_host_405(client):
    assert client.options("/api/chat", headers={"Host": "ollama.local"}).status_code == 204
    r = client.options("/api/chat", headers={"Host": "127.0.0.1:11434"})
    assert r.status_code == 405 and r.headers["allow"] == "POST"


def test_no_host_check_when_listening_on_all_interfaces():
    double = OllamaDouble([DoubleModel(TEXT)], Knobs(listen_loopback=False))
    with serve_double(double) as url:
        assert httpx.get(f"{url}/api/tags", headers={"Host": "llm.example.com"}).status_code == 200


@pytest.mark.parametrize("path", ["/api/ps", "/v1/models", f"/v1/models/{TEXT}", "/api/status"])
def test_head_is_405_where_only_get_is_routed(client, path):
    r = client.head(path)
    assert r.status_code == 405 and r.headers["allow"] == "GET"


@pytest.mark.parametrize("path", ["/", "/api/version", "/api/tags"])
def test_head_is_200_where_head_is_routed(client, path):
    assert client.head(path).status_code == 200


def test_wrong_method_lists_allowed_methods(client):
    r = client.get("/api/chat")
    assert (r.status_code, r.text, r.headers["allow"]) == (405, "405 method not allowed", "POST")


def test_trailing_slash_redirects_301_for_get_and_307_otherwise(client):
    r = client.get("/api/tags/")
    assert (r.status_code, r.headers["location"]) == (301, "/api/tags")
    assert client.post("/api/chat/", json={}).status_code == 307


# --- /api/tags, /api/show, 404 texts ---------------------------------------------------------------


def test_tags_carry_capabilities_and_lengths(client):
    models = {m["name"]: m for m in client.get("/api/tags").json()["models"]}
    assert models[TEXT]["capabilities"] == ["completion", "tools"]
    details = models[EMBED]["details"]
    assert details["parent_model"] == "" and details["context_length"] > 0 and details["embedding_length"] > 0


def test_ps_details_have_no_lengths(client):
    client.post("/api/generate", json={"model": TEXT, "prompt": "hi", "stream": False})
    (loaded,) = client.get("/api/ps").json()["models"]
    assert "context_length" in loaded and "context_length" not in loaded["details"]


def test_show_hides_long_lists_unless_verbose(client):
    assert client.post("/api/show", json={"model": TEXT}).json()["model_info"]["tokenizer.ggml.tokens"] == []
    assert len(client.post("/api/show", json={"model": TEXT, "verbose": True}).json()["model_info"]["tokenizer.ggml.tokens"]) == 6


def test_embed_unknown_model_has_its_own_404_text(client):
    r = client.post("/api/embed", json={"model": "nope", "input": "x"})
    assert (r.status_code, r.json()) == (404, {"error": 'model "nope" not found, try pulling it first'})


def test_v1_model_404_uses_the_normalized_name(client):
    r = client.get("/v1/models/nope")
    assert r.status_code == 404 and r.json()["error"]["message"] == "model 'nope:latest' not found"


# --- capability errors -----------------------------------------------------------------------------


@pytest.fixture
def rich():
    double = OllamaDouble([
        DoubleModel(TEXT, capabilities=("completion", "tools")),
        DoubleModel("gemma3:latest", capabilities=("completion", "vision")),
        DoubleModel(THINKER, capabilities=("completion", "tools", "thinking")),
        DoubleModel(EMBED, capabilities=("embedding",)),
    ])
    with serve_double(double) as url, httpx.Client(base_url=url, timeout=10) as c:
        yield c


def test_think_on_a_model_without_thinking_is_400_but_false_is_fine(rich):
    r = rich.post("/api/chat", json={"model": "gemma3", "messages": [{"role": "user", "content": "hi"}], "think": True})
    assert (r.status_code, r.json()) == (400, {"error": '"gemma3" does not support thinking'})
    assert rich.post("/api/chat", json={"model": "gemma3", "messages": [{"role": "user", "content": "hi"}], "think": False,
                                        "stream": False}).status_code == 200


def test_invalid_think_value_is_400(rich):
    r = rich.post("/api/generate", json={"model": THINKER, "prompt": "hi", "think": "extreme"})
    assert r.status_code == 400
    assert r.json()["error"] == 'invalid think value: "extreme" (must be "high", "medium", "low", "max", true, or false)'


def test_thinking_is_on_by_default_for_thinking_models(rich):
    reply = rich.post("/api/chat", json={"model": THINKER, "messages": [{"role": "user", "content": "hi"}], "stream": False}).json()
    assert reply["message"]["thinking"] and reply["message"]["content"]
    generated = rich.post("/api/generate", json={"model": THINKER, "prompt": "hi", "stream": False}).json()
    assert generated["thinking"]
    plain = rich.post("/api/generate", json={"model": THINKER, "prompt": "hi", "stream": False, "think": False}).json()
    assert "thinking" not in plain


def test_tools_on_a_model_without_tools_name_the_full_model(rich):
    r = rich.post("/api/chat", json={"model": "gemma3", "messages": [{"role": "user", "content": "hi"}], "tools": TOOLS})
    assert (r.status_code, r.json()) == (400, {"error": "registry.ollama.ai/library/gemma3:latest does not support tools"})


@pytest.mark.parametrize("path, body, verb", [
    ("/api/generate", {"prompt": "hi"}, "generate"),
    ("/api/chat", {"messages": [{"role": "user", "content": "hi"}]}, "chat"),
])
def test_embedding_only_model_refuses_generate_and_chat(rich, path, body, verb):
    r = rich.post(path, json={"model": EMBED, **body})
    assert (r.status_code, r.json()) == (400, {"error": f'"{EMBED}" does not support {verb}'})


def test_embedding_only_model_refuses_v1_chat_in_openai_shape(rich):
    r = rich.post("/v1/chat/completions", json={"model": EMBED, "messages": [{"role": "user", "content": "hi"}]})
    assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_request_error"


def test_bad_format_is_a_500_after_scheduling_and_json_format_gives_json(rich):
    r = rich.post("/api/generate", json={"model": TEXT, "prompt": "hi", "format": "yaml", "stream": False})
    assert (r.status_code, r.json()) == (500, {"error": 'invalid format: "yaml"; expected "json" or a valid JSON Schema object'})
    reply = rich.post("/api/generate", json={"model": TEXT, "prompt": "hi", "format": "json", "stream": False}).json()
    assert json.loads(reply["response"]) == {"answer": "blue"}


# --- tool calls ------------------------------------------------------------------------------------


def test_native_chat_tool_call_streamed_and_not(rich):
    body = {"model": TEXT, "messages": [{"role": "user", "content": "weather in Paris?"}], "tools": TOOLS}
    lines = ndjson(rich.post("/api/chat", json=body))
    calls = [line["message"]["tool_calls"] for line in lines if line["message"].get("tool_calls")]
    assert len(calls) == 1 and not lines[0]["done"]
    (call,) = calls[0]
    assert call["id"].startswith("call_") and len(call["id"]) == 13
    assert call["function"] == {"index": 0, "name": "get_weather", "arguments": {"city": "Paris"}}
    assert lines[-1]["done"] and lines[-1]["done_reason"] == "stop"
    whole = rich.post("/api/chat", json={**body, "stream": False}).json()
    assert whole["message"]["tool_calls"][0]["function"]["name"] == "get_weather" and whole["done_reason"] == "stop"


def test_openai_tool_call_streamed_has_whole_arguments_and_a_tool_calls_finish(rich):
    body = {"model": TEXT, "messages": [{"role": "user", "content": "weather?"}], "tools": TOOLS, "stream": True}
    events = sse(rich.post("/v1/chat/completions", json=body))
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    with_calls = [c for c in chunks if c["choices"][0]["delta"].get("tool_calls")]
    (call,) = with_calls[0]["choices"][0]["delta"]["tool_calls"]
    assert call["type"] == "function" and call["index"] == 0
    assert json.loads(call["function"]["arguments"]) == {"city": "Paris"}
    assert chunks[-1]["choices"][0] == {"index": 0, "delta": {}, "finish_reason": "tool_calls"}
    assert all(c["choices"][0]["finish_reason"] is None for c in chunks[:-1])


def test_openai_tool_call_not_streamed(rich):
    body = {"model": TEXT, "messages": [{"role": "user", "content": "weather?"}], "tools": TOOLS}
    choice = rich.post("/v1/chat/completions", json=body).json()["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert json.loads(choice["message"]["tool_calls"][0]["function"]["arguments"]) == {"city": "Paris"}


def test_openai_reasoning_fields_and_effort_mapping(rich):
    body = {"model": THINKER, "messages": [{"role": "user", "content": "hi"}]}
    assert rich.post("/v1/chat/completions", json=body).json()["choices"][0]["message"]["reasoning"]
    assert "reasoning" not in rich.post("/v1/chat/completions", json={**body, "reasoning_effort": "none"}).json()["choices"][0]["message"]
    r = rich.post("/v1/chat/completions", json={**body, "reasoning_effort": "huge"})
    assert r.status_code == 400 and r.json()["error"]["message"].startswith("invalid reasoning value")


# --- /v1/embeddings --------------------------------------------------------------------------------


def test_v1_embeddings_base64_is_little_endian_float32(client):
    floats = client.post("/v1/embeddings", json={"model": EMBED, "input": "hi"}).json()["data"][0]["embedding"]
    encoded = client.post("/v1/embeddings", json={"model": EMBED, "input": "hi", "encoding_format": "BASE64"}).json()["data"][0]["embedding"]
    raw = base64.b64decode(encoded)
    decoded = struct.unpack(f"<{len(raw) // 4}f", raw)
    assert len(decoded) == len(floats) and all(abs(a - b) < 1e-6 for a, b in zip(decoded, floats))


def test_v1_embeddings_bad_encoding_format_is_400(client):
    r = client.post("/v1/embeddings", json={"model": EMBED, "input": "hi", "encoding_format": "int8"})
    assert r.status_code == 400
    assert r.json()["error"]["message"] == "Invalid value for 'encoding_format' = int8. Supported values: ['float', 'base64']."


def test_v1_embeddings_dimensions_truncate_and_renormalise(client):
    full = client.post("/v1/embeddings", json={"model": EMBED, "input": "hi"}).json()["data"][0]["embedding"]
    cut = client.post("/v1/embeddings", json={"model": EMBED, "input": "hi", "dimensions": 4}).json()["data"][0]["embedding"]
    assert len(cut) == 4 and math.isclose(math.sqrt(sum(v * v for v in cut)), 1.0, rel_tol=1e-6)
    ignored = client.post("/v1/embeddings", json={"model": EMBED, "input": "hi", "dimensions": 10_000}).json()["data"][0]["embedding"]
    assert ignored == full


# --- newer routes ----------------------------------------------------------------------------------


def _named_events(text: str) -> list[tuple[str, dict]]:
    out = []
    for block in text.split("\n\n"):
        if block.strip():
            name_line, data_line = block.split("\n", 1)
            assert name_line.startswith("event: ") and data_line.startswith("data: ")
            out.append((name_line[7:], json.loads(data_line[6:])))
    return out


def test_responses_stream_named_events_without_done(client):
    r = client.post("/v1/responses", json={"model": TEXT, "input": "hi", "stream": True})
    events = _named_events(r.text)
    names = [n for n, _ in events]
    assert names[:3] == ["response.created", "response.in_progress", "response.output_item.added"]
    assert names[-1] == "response.completed" and "[DONE]" not in r.text
    assert [d["sequence_number"] for _, d in events] == list(range(len(events)))
    assert client.post("/v1/responses", json={"model": TEXT, "input": "hi"}).json()["status"] == "completed"


def test_responses_error_mid_stream_is_lost(client, double):
    double.knobs.cut_after_chunks = 2
    names = [n for n, _ in _named_events(client.post("/v1/responses", json={"model": TEXT, "input": "hi", "stream": True}).text)]
    assert "response.completed" not in names and names


def test_messages_stream_and_required_fields(client, double):
    r = client.post("/v1/messages", json={"model": TEXT, "max_tokens": 50, "messages": [{"role": "user", "content": "hi"}], "stream": True})
    names = [n for n, _ in _named_events(r.text)]
    assert names[0] == "message_start" and names[-1] == "message_stop" and "ping" not in names
    missing = client.post("/v1/messages", json={"model": TEXT, "messages": [{"role": "user", "content": "hi"}]})
    assert missing.status_code == 400 and missing.json()["error"] == {"type": "invalid_request_error",
                                                                      "message": "max_tokens is required and must be positive"}
    assert missing.json()["request_id"].startswith("req_")
    double.knobs.cut_after_chunks = 2
    cut = client.post("/v1/messages", json={"model": TEXT, "max_tokens": 50, "messages": [{"role": "user", "content": "hi"}], "stream": True})
    assert "message_stop" not in cut.text


def test_account_routes_without_a_signed_in_key(client):
    me = client.post("/api/me")
    assert me.status_code == 401 and me.json()["signin_url"].startswith("https://ollama.com/connect")
    assert client.get("/api/status").json() == {"cloud": {"disabled": False, "source": "none"}}
    assert client.post("/api/experimental/web_search", content=b"").json() == {"error": "missing request body"}


def test_top_logprobs_out_of_range_is_400(client):
    r = client.post("/api/generate", json={"model": TEXT, "prompt": "hi", "top_logprobs": 21})
    assert (r.status_code, r.json()) == (400, {"error": "top_logprobs must be between 0 and 20"})
    assert client.post("/api/generate", json={"model": TEXT, "prompt": "hi", "top_logprobs": 20, "stream": False}).status_code == 200


def test_embed_input_longer_than_the_context_without_truncate_is_400(client, double):
    double.model(EMBED).context_length = 3
    long = "one two three four"
    r = client.post("/api/embed", json={"model": EMBED, "input": long, "truncate": False})
    assert (r.status_code, r.json()) == (400, {"error": "the input length exceeds the context length"})
    assert client.post("/api/embed", json={"model": EMBED, "input": long}).status_code == 200


def test_legacy_completion_stream_with_usage_zeroes_every_chunk_then_sends_the_real_usage(client):
    events = sse(client.post("/v1/completions", json={"model": TEXT, "prompt": "hi", "stream": True,
                                                      "stream_options": {"include_usage": True}}))
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert all(c["usage"] == {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0} for c in chunks[:-1])
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] > 0


def test_image_rules_ollama_checks_itself():
    """Ollama does not check images against vision support (the runner answers); it refuses only these two cases."""
    double = OllamaDouble([DoubleModel("llama3.2-vision:11b", family="mllama", capabilities=("completion", "vision")),
                           DoubleModel("x/flux:latest", capabilities=("image",)), DoubleModel(TEXT)])
    with serve_double(double) as url, httpx.Client(base_url=url, timeout=10) as c:
        two = c.post("/api/chat", json={"model": "llama3.2-vision:11b", "stream": False,
                                        "messages": [{"role": "user", "content": "hi", "images": ["aGk=", "aGk="]}]})
        one = c.post("/api/chat", json={"model": "llama3.2-vision:11b", "stream": False,
                                        "messages": [{"role": "user", "content": "hi", "images": ["aGk="]}]})
        gen = c.post("/api/generate", json={"model": "x/flux", "prompt": "a cat"})
        unchecked = c.post("/api/generate", json={"model": TEXT, "prompt": "hi", "images": ["aGk="], "stream": False})
    assert (two.status_code, two.json()["error"]) == (400, "this model only supports one image while more than one image requested")
    assert one.status_code == 200
    assert (gen.status_code, gen.json()["error"]) == (400, "image generation models are not currently supported")
    assert unchecked.status_code == 200
