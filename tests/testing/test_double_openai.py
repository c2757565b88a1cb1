"""Facts about the OpenAI-compatible routes of ollama-api.md."""

from __future__ import annotations

import json

from double_helpers import EMBED, TEXT, sse

MESSAGES = [{"role": "user", "content": "hi"}]


def test_models_list_shape(client):
    body = client.get("/v1/models").json()
    assert body["object"] == "list"
    assert [m["id"] for m in body["data"]] == [TEXT, EMBED]
    for m in body["data"]:
        assert set(m) == {"id", "object", "created", "owned_by"} and m["object"] == "model"
        assert m["owned_by"] == "library" and isinstance(m["created"], int)


def test_models_list_is_null_data_when_nothing_is_on_disk(client, double):
    for m in double.models:
        m.on_disk = False
    assert client.get("/v1/models").json() == {"object": "list", "data": None}


def test_retrieve_one_model(client):
    assert client.get(f"/v1/models/{TEXT}").json()["id"] == TEXT
    r = client.get("/v1/models/nope:1b")
    assert r.status_code == 404 and r.json()["error"]["type"] == "not_found_error"


def test_chat_completion_not_streamed_carries_usage(client):
    body = client.post("/v1/chat/completions", json={"model": TEXT, "messages": MESSAGES}).json()
    assert body["object"] == "chat.completion" and body["id"].startswith("chatcmpl-")
    choice = body["choices"][0]
    assert choice["message"]["role"] == "assistant" and choice["message"]["content"]
    assert choice["finish_reason"] == "stop"
    usage = body["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"] and usage["completion_tokens"] > 0


def test_chat_completion_streamed_chunks_and_done(client):
    events = sse(client.post("/v1/chat/completions", json={"model": TEXT, "messages": MESSAGES, "stream": True}))
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert all(c["object"] == "chat.completion.chunk" and "delta" in c["choices"][0] for c in chunks)
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert all(c["choices"][0]["finish_reason"] is None for c in chunks[:-1])
    assert "".join(c["choices"][0]["delta"]["content"] for c in chunks)


def test_stream_options_include_usage_adds_a_usage_chunk(client):
    events = sse(client.post("/v1/chat/completions", json={"model": TEXT, "messages": MESSAGES, "stream": True, "stream_options": {"include_usage": True}}))
    usage_chunk = json.loads(events[-2])
    assert usage_chunk["choices"] == [] and usage_chunk["usage"]["completion_tokens"] > 0


def test_error_mid_stream_becomes_an_empty_chunk_without_done(client, double):
    # Ollama's OpenAI writer decodes the {"error"} line as an empty chat chunk.
    double.knobs.cut_after_chunks = 2
    events = sse(client.post("/v1/chat/completions", json={"model": TEXT, "messages": MESSAGES, "stream": True}))
    assert "[DONE]" not in events
    chunks = [json.loads(e) for e in events]
    assert len(chunks) == 3
    assert chunks[-1]["choices"][0]["delta"]["content"] == "" and chunks[-1]["choices"][0]["finish_reason"] is None


def test_max_tokens_maps_to_num_predict(client):
    body = client.post("/v1/chat/completions", json={"model": TEXT, "messages": MESSAGES, "max_tokens": 2}).json()
    assert body["choices"][0]["finish_reason"] == "length" and body["usage"]["completion_tokens"] == 2


def test_completions_streamed_and_not(client):
    body = client.post("/v1/completions", json={"model": TEXT, "prompt": "say"}).json()
    assert body["object"] == "text_completion" and body["choices"][0]["text"]
    events = sse(client.post("/v1/completions", json={"model": TEXT, "prompt": "say", "stream": True}))
    assert events[-1] == "[DONE]" and json.loads(events[0])["object"] == "text_completion"


def test_embeddings(client, double):
    body = client.post("/v1/embeddings", json={"model": EMBED, "input": ["a", "b"]}).json()
    assert body["object"] == "list" and [d["index"] for d in body["data"]] == [0, 1]
    assert all(d["object"] == "embedding" and len(d["embedding"]) == double.model(EMBED).embedding_length for d in body["data"])
    r = client.post("/v1/embeddings", json={"model": EMBED})
    assert r.status_code == 400 and r.json()["error"]["message"] == "invalid input"


def test_openai_empty_body_is_400_eof(client):
    r = client.post("/v1/chat/completions", content=b"")
    assert r.status_code == 400 and r.json()["error"] == {"message": "EOF", "type": "invalid_request_error", "param": None, "code": None}
