"""The official `ollama` and `openai` Python clients against router + double: streamed and not, tools, embeddings,
and every error class they map. Nobody here wrote these clients, so they cannot be made to agree with the router."""

from __future__ import annotations

import contextlib
import threading

import httpx
import ollama
import openai
import pytest
from router_helpers import EMBED, OTHER, TEXT, run_router, wait_for

TOOLS = [{"type": "function", "function": {"name": "get_weather", "description": "the weather in a city",
                                           "parameters": {"type": "object", "required": ["city"],
                                                          "properties": {"city": {"type": "string"}}}}}]
MESSAGES = [{"role": "user", "content": "hi"}]


@pytest.fixture
def router(double_url, tmp_path):
    keys = tmp_path / "keys"
    keys.write_text("k1\n")
    with run_router([double_url], api_keys_file=str(keys), max_body_bytes=4096) as handle:
        wait_for(lambda: handle.app.backends[0].on_disk is not None, 5, "tags polled")
        yield handle


def _ollama(router, key: str = "k1") -> ollama.Client:
    return ollama.Client(host=router.url, headers={"Authorization": f"Bearer {key}"}, timeout=20)


def _openai(router, key: str = "k1") -> openai.OpenAI:
    return openai.OpenAI(base_url=router.url + "/v1", api_key=key, max_retries=0, timeout=20)


@contextlib.contextmanager
def _slot_held(router, double):
    """The only slot is held by a stream the double stalls."""
    double.knobs.stall_after_chunks = 1

    def hold():
        with contextlib.suppress(httpx.HTTPError):
            httpx.post(router.url + "/api/generate", json={"model": TEXT, "prompt": "x"},
                       headers={"Authorization": "Bearer k1"}, timeout=2)

    thread = threading.Thread(target=hold)
    thread.start()
    wait_for(lambda: router.app.backends[0].inflight == 1, 5, "slot held")
    try:
        yield
    finally:
        thread.join()
        double.knobs.stall_after_chunks = None


# --- ollama ----------------------------------------------------------------------------------------


def test_ollama_client_lists_shows_generates_chats_and_embeds(router):
    client = _ollama(router)
    assert {m.model for m in client.list().models} == {TEXT, EMBED, OTHER}
    assert "completion" in client.show(TEXT).capabilities
    whole = client.generate(model=TEXT, prompt="hi")
    assert whole.done and whole.response and whole.eval_count > 0
    pieces = list(client.generate(model=TEXT, prompt="hi", stream=True))
    assert pieces[-1].done and "".join(p.response for p in pieces) == whole.response
    chat = client.chat(model=TEXT, messages=MESSAGES)
    assert chat.message.role == "assistant" and chat.message.content
    streamed = list(client.chat(model=TEXT, messages=MESSAGES, stream=True))
    assert streamed[-1].done_reason == "stop"
    assert len(client.embed(model=EMBED, input=["a", "b"]).embeddings) == 2
    assert TEXT in {m.model for m in client.ps().models}


def test_ollama_client_tool_calls(router):
    client = _ollama(router)
    reply = client.chat(model=TEXT, messages=MESSAGES, tools=TOOLS)
    (call,) = reply.message.tool_calls
    assert call.function.name == "get_weather" and call.function.arguments == {"city": "Paris"}
    streamed = [c for c in client.chat(model=TEXT, messages=MESSAGES, tools=TOOLS, stream=True) if c.message.tool_calls]
    assert streamed and streamed[0].message.tool_calls[0].function.arguments == {"city": "Paris"}


def test_ollama_client_error_classes(router, double):
    with pytest.raises(ollama.ResponseError) as unauthorized:
        _ollama(router, "wrong").list()
    assert unauthorized.value.status_code == 401
    with pytest.raises(ollama.ResponseError) as missing:
        _ollama(router).generate(model="nope", prompt="hi")
    assert missing.value.status_code == 404 and missing.value.error == "model 'nope' not found"
    with pytest.raises(ollama.ResponseError) as too_big:
        _ollama(router).generate(model=TEXT, prompt="x" * 5000)
    assert too_big.value.status_code == 413
    router.app.balancer.max_queue = 0
    with _slot_held(router, double), pytest.raises(ollama.ResponseError) as full:
        _ollama(router).generate(model=TEXT, prompt="hi")
    assert full.value.status_code == 429


def test_ollama_client_raises_on_an_error_inside_a_stream(router, double):
    double.knobs.cut_after_chunks = 2
    with pytest.raises(ollama.ResponseError, match="unexpected EOF"):
        for _ in _ollama(router).generate(model=TEXT, prompt="hi", stream=True):
            pass


def test_ollama_client_503_when_no_backend_has_the_pinned_digest(double_url, tmp_path):
    with run_router([double_url], models=[f"{TEXT}@{'0' * 64}"]) as router:
        wait_for(lambda: router.app.backends[0].on_disk is not None, 5, "tags polled")
        with pytest.raises(ollama.ResponseError) as unavailable:
            ollama.Client(host=router.url, timeout=20).generate(model=TEXT, prompt="hi")
    assert unavailable.value.status_code == 503


# --- openai ----------------------------------------------------------------------------------------


def test_openai_client_models_chat_completions_and_embeddings(router):
    client = _openai(router)
    assert {m.id for m in client.models.list()} == {TEXT, EMBED, OTHER}
    assert client.models.retrieve(TEXT).id == TEXT
    chat = client.chat.completions.create(model=TEXT, messages=MESSAGES)
    assert chat.choices[0].message.content and chat.usage.total_tokens > 0
    chunks = list(client.chat.completions.create(model=TEXT, messages=MESSAGES, stream=True,
                                                 stream_options={"include_usage": True}))
    assert chunks[-1].usage is not None and "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    legacy = client.completions.create(model=TEXT, prompt="hi")
    assert legacy.choices[0].text
    embedded = client.embeddings.create(model=EMBED, input=["a", "b"])  # the client asks for base64 and decodes it
    assert len(embedded.data) == 2 and len(embedded.data[0].embedding) == 16
    assert len(client.embeddings.create(model=EMBED, input="a", dimensions=4).data[0].embedding) == 4


def test_openai_client_tool_calls_streamed_and_not(router):
    client = _openai(router)
    reply = client.chat.completions.create(model=TEXT, messages=MESSAGES, tools=TOOLS)
    assert reply.choices[0].finish_reason == "tool_calls"
    assert reply.choices[0].message.tool_calls[0].function.name == "get_weather"
    chunks = list(client.chat.completions.create(model=TEXT, messages=MESSAGES, tools=TOOLS, stream=True))
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finishes[-1] == "tool_calls"
    calls = [tc for c in chunks if c.choices for tc in (c.choices[0].delta.tool_calls or [])]
    assert calls[0].function.arguments == '{"city":"Paris"}'


def test_openai_client_error_classes(router, double):
    with pytest.raises(openai.AuthenticationError) as unauthorized:
        _openai(router, "wrong").models.list()
    assert unauthorized.value.code == "invalid_api_key"
    with pytest.raises(openai.NotFoundError):
        _openai(router).chat.completions.create(model="nope", messages=MESSAGES)
    with pytest.raises(openai.APIStatusError) as too_big:
        _openai(router).chat.completions.create(model=TEXT, messages=[{"role": "user", "content": "x" * 5000}])
    assert too_big.value.status_code == 413
    router.app.balancer.max_queue = 0
    with _slot_held(router, double), pytest.raises(openai.RateLimitError):
        _openai(router).chat.completions.create(model=TEXT, messages=MESSAGES)


def test_openai_client_503_is_an_internal_server_error(double_url):
    with run_router([double_url], models=[f"{TEXT}@{'0' * 64}"]) as router:
        wait_for(lambda: router.app.backends[0].on_disk is not None, 5, "tags polled")
        client = openai.OpenAI(base_url=router.url + "/v1", api_key="none", max_retries=0, timeout=20)
        with pytest.raises(openai.InternalServerError) as unavailable:
            client.chat.completions.create(model=TEXT, messages=MESSAGES)
    assert unavailable.value.status_code == 503


@pytest.mark.parametrize("mode", ["error", "drop"])
def test_a_cut_stream_raises_in_the_openai_client(router, double, mode):
    """Ollama's OpenAI layer loses a mid-stream error (the stream just ends); the client must not return a partial reply."""
    double.knobs.cut_after_chunks = 2
    double.knobs.cut_mode = mode
    router.app.backends[0].threshold = 100
    received = []
    with pytest.raises(openai.APIError):
        for chunk in _openai(router).chat.completions.create(model=TEXT, messages=MESSAGES, stream=True):
            received.append(chunk)
    assert received, "the first chunks arrived before the failure"
