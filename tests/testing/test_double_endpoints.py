"""Facts of the "Endpoints" and "Model names" sections of ollama-api.md."""

from __future__ import annotations

import hashlib
import re
import threading
import time

import httpx
import pytest
from double_helpers import EMBED, TEXT, ndjson

HEX64 = re.compile(r"^[a-f0-9]{64}$")
DETAIL_KEYS = {"format", "family", "families", "parameter_size", "quantization_level"}


def test_tags_lists_models_on_disk_with_their_shape(client, double):
    models = client.get("/api/tags").json()["models"]
    assert [m["name"] for m in models] == [TEXT, EMBED]  # the pullable-only model is not on disk
    for m in models:
        assert {"name", "model", "modified_at", "size", "digest", "details"} <= set(m)
        assert HEX64.match(m["digest"])
        assert DETAIL_KEYS <= set(m["details"])
    assert models[0]["details"]["parameter_size"] == "8.0B"
    assert models[0]["details"]["quantization_level"] == "Q4_K_M"


def test_digest_is_sha256_of_the_manifest_bytes(client, double):
    listed = {m["name"]: m["digest"] for m in client.get("/api/tags").json()["models"]}
    for name in (TEXT, EMBED):
        assert listed[name] == hashlib.sha256(double.model(name).manifest_bytes()).hexdigest()
    assert listed[TEXT] != listed[EMBED]


def test_wrong_digest_changes_what_tags_report(client, double):
    before = client.get("/api/tags").json()["models"][0]["digest"]
    double.model(TEXT).wrong_digest = True
    after = client.get("/api/tags").json()["models"][0]["digest"]
    assert HEX64.match(after) and after != before


def test_ps_lists_loaded_models_with_their_shape(client):
    assert client.get("/api/ps").json() == {"models": []}
    client.post("/api/generate", json={"model": TEXT, "prompt": "hi", "stream": False})
    (loaded,) = client.get("/api/ps").json()["models"]
    assert {"name", "model", "size", "size_vram", "digest", "details", "expires_at", "context_length"} <= set(loaded)
    assert loaded["name"] == TEXT and HEX64.match(loaded["digest"])


def test_ps_lists_a_model_still_loading(client, double, url):
    """Addendum: the runner joins the loaded set before its load finishes (server/sched.go)."""
    double.knobs.load_seconds = 1.5
    worker = threading.Thread(target=lambda: httpx.post(f"{url}/api/generate", json={"model": TEXT, "prompt": ""}, timeout=10))
    worker.start()
    deadline = time.monotonic() + 1.2
    listed = []
    while not listed and time.monotonic() < deadline:
        listed = client.get("/api/ps").json()["models"]
    (loading,) = listed
    assert loading["name"] == TEXT and loading["expires_at"].endswith("Z")
    assert double.loaded() == []  # not ready yet
    worker.join()
    assert [m["name"] for m in client.get("/api/ps").json()["models"]] == [TEXT]


def test_show_gives_capabilities_and_details(client):
    shown = client.post("/api/show", json={"model": EMBED}).json()
    assert {"modelfile", "parameters", "template", "details", "model_info", "capabilities"} <= set(shown)
    assert shown["capabilities"] == ["embedding"]
    assert client.post("/api/show", json={"model": TEXT}).json()["capabilities"] == ["completion", "tools"]


def test_show_unknown_is_404_and_missing_is_400(client):
    r = client.post("/api/show", json={"model": "x"})
    assert (r.status_code, r.json()) == (404, {"error": "model 'x:latest' not found"})  # the normalized name
    r = client.post("/api/show", json={})
    assert (r.status_code, r.json()) == (400, {"error": "model is required"})


def test_pull_streams_progress_then_success_and_the_model_lands_on_disk(client):
    r = client.post("/api/pull", json={"model": "qwen2.5:0.5b"})
    lines = ndjson(r)
    statuses = [line.get("status") for line in lines]
    assert statuses[0] == "pulling manifest" and statuses[-1] == "success"
    assert "verifying sha256 digest" in statuses and "writing manifest" in statuses
    layers = [line for line in lines if line.get("status", "").startswith("pulling ") and "digest" in line]
    assert layers
    for line in layers:
        assert re.match(r"^pulling [a-f0-9]{12}$", line["status"])
        assert re.match(r"^sha256:[a-f0-9]{64}$", line["digest"])
        assert line["status"][8:] == line["digest"][7:19]
        assert 0 <= line["completed"] <= line["total"]
    assert "qwen2.5:0.5b" in [m["name"] for m in client.get("/api/tags").json()["models"]]


def test_pull_of_unknown_model_fails_inside_a_200_stream(client):
    r = client.post("/api/pull", json={"model": "nosuch:7b"})
    assert r.status_code == 200
    assert ndjson(r)[-1] == {"error": "pull model manifest: file does not exist"}


def test_pull_with_stream_false_fails_with_500(client):
    r = client.post("/api/pull", json={"model": "nosuch:7b", "stream": False})
    assert (r.status_code, r.json()) == (500, {"error": "pull model manifest: file does not exist"})
    ok = client.post("/api/pull", json={"model": "qwen2.5:0.5b", "stream": False})
    assert (ok.status_code, ok.json()) == (200, {"status": "success"})


@pytest.mark.parametrize("name", [f"llama3.1@sha256:{'a' * 64}", "bad name", "a/b/c/d", "-lead:tag"])
def test_pull_of_invalid_name_is_400(client, name):
    r = client.post("/api/pull", json={"model": name})
    assert (r.status_code, r.json()) == (400, {"error": "invalid model name"})


def test_generate_chunks_and_final_stats(client):
    lines = ndjson(client.post("/api/generate", json={"model": TEXT, "prompt": "why?"}))
    for chunk in lines[:-1]:
        assert set(chunk) == {"model", "created_at", "response", "done"} and chunk["done"] is False
    final = lines[-1]
    assert final["done"] is True and final["done_reason"] == "stop"
    for key in ("total_duration", "load_duration", "prompt_eval_count", "prompt_eval_duration", "eval_count", "eval_duration"):
        assert isinstance(final[key], int) and final[key] > 0
    assert final["eval_count"] == len(lines) - 1


def test_generate_num_predict_stops_with_reason_length(client):
    final = client.post("/api/generate", json={"model": TEXT, "prompt": "x", "stream": False, "options": {"num_predict": 3}}).json()
    assert final["done_reason"] == "length" and final["eval_count"] == 3


def test_generate_empty_prompt_loads_the_model(client, double):
    double.knobs.load_seconds = 0.2
    started = time.monotonic()
    r = client.post("/api/generate", json={"model": TEXT})
    assert time.monotonic() - started >= 0.2
    body = r.json()  # one object, not a stream
    assert body["done"] is True and body["done_reason"] == "load" and body["response"] == ""
    assert double.loaded() == [TEXT]


def test_generate_empty_prompt_with_keep_alive_0_unloads(client, double):
    client.post("/api/generate", json={"model": TEXT})
    assert double.loaded() == [TEXT]
    body = client.post("/api/generate", json={"model": TEXT, "keep_alive": 0}).json()
    assert body["done_reason"] == "unload"
    assert client.get("/api/ps").json()["models"] == []


def test_generate_unknown_and_missing_model_are_404(client):
    r = client.post("/api/generate", json={"model": "nope:1b", "prompt": "x"})
    assert (r.status_code, r.json()) == (404, {"error": "model 'nope:1b' not found"})
    r = client.post("/api/generate", json={"prompt": "x"})
    assert (r.status_code, r.json()) == (404, {"error": "model '' not found"})


def test_generate_on_an_embedding_model_is_400(client):
    r = client.post("/api/generate", json={"model": EMBED, "prompt": "x"})
    assert (r.status_code, r.json()) == (400, {"error": f'"{EMBED}" does not support generate'})


def test_chat_chunks_carry_a_message(client):
    lines = ndjson(client.post("/api/chat", json={"model": TEXT, "messages": [{"role": "user", "content": "hi"}]}))
    assert all(line["message"]["role"] == "assistant" for line in lines)
    assert "response" not in lines[0]
    assert "".join(line["message"]["content"] for line in lines)
    assert lines[-1]["done"] is True and lines[-1]["eval_count"] > 0


def test_chat_empty_messages_loads_and_missing_model_is_400(client, double):
    body = client.post("/api/chat", json={"model": TEXT, "messages": []}).json()
    assert body["done_reason"] == "load" and body["message"] == {"role": "assistant", "content": ""}
    assert double.loaded() == [TEXT]
    r = client.post("/api/chat", json={"messages": [{"role": "user", "content": "x"}]})
    assert (r.status_code, r.json()) == (400, {"error": "model is required"})


def test_embed_shape(client, double):
    body = client.post("/api/embed", json={"model": EMBED, "input": ["a", "b c"]}).json()
    assert body["model"] == EMBED
    assert len(body["embeddings"]) == 2
    assert all(len(v) == double.model(EMBED).embedding_length for v in body["embeddings"])
    assert body["prompt_eval_count"] == 3 and body["total_duration"] > 0 and body["load_duration"] > 0
    one = client.post("/api/embed", json={"model": EMBED, "input": "a"}).json()
    assert one["embeddings"] == body["embeddings"][:1]


def test_embed_without_input_loads(client, double):
    assert client.post("/api/embed", json={"model": EMBED}).json() == {"model": EMBED, "embeddings": []}
    assert double.loaded() == [EMBED]


def test_names_match_case_insensitively_and_with_defaults(client):
    for spelling in ("LLAMA3.1:8B", "library/llama3.1:8b", "registry.ollama.ai/library/llama3.1:8b"):
        assert client.post("/api/show", json={"model": spelling}).status_code == 200
    assert client.post("/api/show", json={"model": "nomic-embed-text"}).status_code == 200  # tag defaults to latest
    assert client.post("/api/show", json={"model": "llama3.1"}).status_code == 404  # latest is not 8b


def test_delete_copy_create(client):
    r = client.request("DELETE", "/api/delete", json={"model": "nope:1b"})
    assert (r.status_code, r.json()) == (404, {"error": "model 'nope:1b' not found"})
    assert client.post("/api/copy", json={"source": TEXT, "destination": "mine:v1"}).status_code == 200
    created = ndjson(client.post("/api/create", json={"model": "tuned:v1", "from": TEXT, "system": "be brief"}))
    assert created[-1] == {"status": "success"}
    names = {m["name"] for m in client.get("/api/tags").json()["models"]}
    assert {"mine:v1", "tuned:v1", TEXT} <= names
    r = client.request("DELETE", "/api/delete", json={"model": "mine:v1"})
    assert r.status_code == 200 and r.content == b""
    assert "mine:v1" not in {m["name"] for m in client.get("/api/tags").json()["models"]}


def test_blobs_head_and_post(client):
    data = b"GGUF fake weights"
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    assert client.head(f"/api/blobs/{digest}").status_code == 404
    assert client.post(f"/api/blobs/{digest}", content=b"other").status_code == 400
    assert client.post(f"/api/blobs/{digest}", content=data).status_code == 201
    assert client.head(f"/api/blobs/{digest}").status_code == 200


def test_push_streams_statuses(client):
    lines = ndjson(client.post("/api/push", json={"model": TEXT}))
    assert lines[0] == {"status": "retrieving manifest"} and lines[-1] == {"status": "success"}
