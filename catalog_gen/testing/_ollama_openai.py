"""The OpenAI-compatible ``/v1/*`` routes of the Ollama double.

As in Ollama, these wrap the native handlers: a request is translated, the native
reply objects are rewritten. Streams are SSE only with ``"stream": true`` and end
with ``data: [DONE]``. Errors are ``{"error": {"message", "type", "param", "code"}}``.
One odd part kept on purpose: an error after the stream started is decoded by
Ollama's writer as an (empty) chat chunk, so the client sees an empty delta and
the stream ends without ``[DONE]``.
"""

from __future__ import annotations

import base64
import contextlib
import json
import math
import random
import struct
import time

from catalog_gen.testing import _ollama_infer as infer
from catalog_gen.testing._ollama_http import SSE_TYPE, ApiError, Reply, decode_body, dumps
from catalog_gen.testing._ollama_names import parse_name
from catalog_gen.testing._ollama_native import show_body, tags_body
from catalog_gen.testing._ollama_state import OllamaDouble

_CHAT_FIELDS = {"model": (str, "string"), "messages": (list, "[]openai.Message"), "stream": (bool, "bool"), "max_tokens": (int, "int")}
_COMPLETION_FIELDS = {"model": (str, "string"), "prompt": (str, "string"), "stream": (bool, "bool"), "max_tokens": (int, "int")}


def _decode(raw: bytes, struct: str, fields: dict) -> dict:
    return decode_body(raw, struct, fields, empty_message="EOF")


def _finish(reason: str | None) -> str | None:
    return reason or None


def _usage(final: dict) -> dict:
    p, c = final.get("prompt_eval_count", 0), final.get("eval_count", 0)
    return {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}


def _openai_calls(calls: list) -> list:
    """Native tool calls -> OpenAI ones: arguments become one whole JSON string."""
    return [{"id": c.get("id", ""), "index": c["function"].get("index", i), "type": "function",
             "function": {"name": c["function"]["name"], "arguments": json.dumps(c["function"]["arguments"], separators=(",", ":"))}}
            for i, c in enumerate(calls)]


def _chat_chunk(cid: str, created: int, obj: dict, called: bool = False) -> dict:
    message = obj.get("message") or {}
    reason = _finish(obj.get("done_reason"))
    if obj.get("done") and called and reason == "stop":
        delta: dict = {}
        reason = "tool_calls"
    else:
        delta = {"role": "assistant", "content": message.get("content", "")}
        if message.get("thinking"):
            delta["reasoning"] = message["thinking"]
        if message.get("tool_calls"):
            delta["tool_calls"] = _openai_calls(message["tool_calls"])
    return {
        "id": cid,
        "object": "chat.completion.chunk",
        "created": created,
        "model": obj.get("model", ""),
        "system_fingerprint": "fp_ollama",
        "choices": [{"index": 0, "delta": delta, "finish_reason": reason}],
    }


def _completion_chunk(cid: str, created: int, obj: dict) -> dict:
    return {
        "id": cid,
        "object": "text_completion",
        "created": created,
        "choices": [{"text": obj.get("response", ""), "index": 0, "finish_reason": _finish(obj.get("done_reason"))}],
        "model": obj.get("model", ""),
        "system_fingerprint": "fp_ollama",
    }


async def _sse(reply: Reply, chunks, to_chunk, include_usage: bool) -> None:
    cid_created = int(time.time())
    called = False
    async for obj in chunks:
        if "error" in obj and not reply.started:
            await reply.openai_error(500, obj["error"])
            return
        if not reply.started:
            await reply.start(200, SSE_TYPE)
        called = called or bool((obj.get("message") or {}).get("tool_calls"))
        chunk = to_chunk(cid_created, {} if "error" in obj else obj, called)
        if include_usage and chunk["object"] == "text_completion":  # legacy completions: a zeroed usage on every chunk
            chunk["usage"] = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
        await reply.chunk(b"data: " + dumps(chunk) + b"\n\n")
        if obj.get("done"):
            if include_usage:
                chunk["usage"] = _usage(obj)
                chunk["choices"] = []
                await reply.chunk(b"data: " + dumps(chunk) + b"\n\n")
            await reply.chunk(b"data: [DONE]\n\n")
        if "error" in obj:
            break
    await reply.end()


async def _run(double: OllamaDouble, reply: Reply, native: dict, *, chat: bool, stream: bool, include_usage: bool) -> None:
    prefix = "chatcmpl" if chat else "cmpl"
    cid = f"{prefix}-{random.randint(0, 998)}"
    try:
        prepared = await infer.prepare(double, native, chat=chat)
    except ApiError as err:
        await reply.openai_error(err.status, err.message)
        return
    if isinstance(prepared, dict):
        chunks_source = _single(prepared)
    else:
        chunks_source = infer.events(prepared)
    async with contextlib.aclosing(chunks_source) as chunks:
        if stream:
            if chat:
                await _sse(reply, chunks, lambda created, obj, called: _chat_chunk(cid, created, obj, called), include_usage)
            else:
                await _sse(reply, chunks, lambda created, obj, called: _completion_chunk(cid, created, obj), include_usage)
            return
        parts, thinking, calls, last = [], [], [], None
        async for obj in chunks:
            if "error" in obj:
                await reply.openai_error(500, obj["error"])
                return
            holder = obj.get("message") or {}
            parts.append(holder.get("content", "") if chat else obj.get("response", ""))
            thinking.append(holder.get("thinking", "") if chat else obj.get("thinking", ""))
            calls.extend(holder.get("tool_calls") or [])
            last = obj
    created = int(time.time())
    text = "".join(parts)
    if chat:
        message: dict = {"role": "assistant", "content": text}
        if "".join(thinking):
            message["reasoning"] = "".join(thinking)
        reason = _finish(last.get("done_reason"))
        if calls:
            message["tool_calls"] = _openai_calls(calls)
            reason = "tool_calls" if reason == "stop" else reason
        body = {
            "id": cid,
            "object": "chat.completion",
            "created": created,
            "model": last["model"],
            "system_fingerprint": "fp_ollama",
            "choices": [{"index": 0, "message": message, "finish_reason": reason}],
            "usage": _usage(last),
        }
    else:
        body = {
            "id": cid,
            "object": "text_completion",
            "created": created,
            "model": last["model"],
            "system_fingerprint": "fp_ollama",
            "choices": [{"text": text, "index": 0, "finish_reason": _finish(last.get("done_reason"))}],
            "usage": _usage(last),
        }
    await reply.full(200, "application/json", dumps(body) + b"\n")


async def _single(obj: dict):
    yield obj


def _options(body: dict) -> dict:
    options = {}
    if isinstance(body.get("max_tokens"), int):
        options["num_predict"] = body["max_tokens"]
    return options


_EFFORT = {"none": False, "minimal": "low", "low": "low", "medium": "medium", "high": "high", "max": "max", "xhigh": "max", "ultra": "max"}


def _think(body: dict):
    """``reasoning_effort`` / ``reasoning.effort`` -> Ollama's think; None when absent."""
    effort = body.get("reasoning_effort")
    if effort is None and isinstance(body.get("reasoning"), dict):
        effort = body["reasoning"].get("effort")
    if effort is None:
        return None
    if effort not in _EFFORT:
        raise ApiError(400, f"invalid reasoning value: {effort!r}")
    return _EFFORT[effort]


def _messages(messages: list) -> list:
    """OpenAI messages -> native ones: content parts joined to text, roles lowercased, tool calls decoded."""
    out = []
    for m in messages:
        if not isinstance(m, dict):
            continue
        content = m.get("content")
        if isinstance(content, list):
            for part in content:
                url = ((part.get("image_url") or {}).get("url", "") if isinstance(part, dict) else "")
                if url.startswith(("http://", "https://")):
                    raise ApiError(400, "image URLs are not currently supported, please use base64 encoded data instead")
            content = " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
        native = {"role": str(m.get("role", "")).lower(), "content": content or ""}
        if m.get("tool_calls"):
            native["tool_calls"] = m["tool_calls"]
        out.append(native)
    return out


async def chat_completions(double: OllamaDouble, raw: bytes, reply: Reply) -> None:
    try:
        body = _decode(raw, "openai.ChatCompletionRequest", _CHAT_FIELDS)
    except ApiError as err:
        await reply.openai_error(400, err.message)
        return
    if not body.get("messages"):
        await reply.openai_error(400, "[] is too short - 'messages'")
        return
    stream = body.get("stream") is True
    try:
        native = {"model": body.get("model") or "", "messages": _messages(body["messages"]), "stream": stream, "options": _options(body)}
        think = _think(body)
    except ApiError as err:
        await reply.openai_error(err.status, err.message)
        return
    if think is not None:
        native["think"] = think
    if body.get("tools"):
        native["tools"] = body["tools"]
    fmt = body.get("response_format")
    if isinstance(fmt, dict) and fmt.get("type") == "json_object":
        native["format"] = "json"
    elif isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        native["format"] = (fmt.get("json_schema") or {}).get("schema") or {}
    include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
    await _run(double, reply, native, chat=True, stream=stream, include_usage=include_usage)


async def completions(double: OllamaDouble, raw: bytes, reply: Reply) -> None:
    try:
        body = _decode(raw, "openai.CompletionRequest", _COMPLETION_FIELDS)
    except ApiError as err:
        await reply.openai_error(400, err.message)
        return
    stream = body.get("stream") is True
    native = {"model": body.get("model") or "", "prompt": body.get("prompt") or "", "stream": stream, "options": _options(body)}
    include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
    await _run(double, reply, native, chat=False, stream=stream, include_usage=include_usage)


async def embeddings(double: OllamaDouble, raw: bytes, reply: Reply) -> None:
    try:
        body = _decode(raw, "openai.EmbedRequest", {"model": (str, "string")})
    except ApiError as err:
        await reply.openai_error(400, err.message)
        return
    value = body.get("input")
    if value == "":
        value = [""]
    if value is None or value == []:
        await reply.openai_error(400, "invalid input")
        return
    encoding = body.get("encoding_format") or "float"
    if not isinstance(encoding, str) or encoding.lower() not in ("float", "base64"):
        await reply.openai_error(400, f"Invalid value for 'encoding_format' = {encoding}. Supported values: ['float', 'base64'].")
        return
    try:
        result = await infer.embed(double, {"model": body.get("model") or "", "input": value})
    except ApiError as err:
        await reply.openai_error(err.status, err.message)
        return
    dims = body.get("dimensions")
    vectors = result["embeddings"]
    if isinstance(dims, int) and not isinstance(dims, bool):
        vectors = [_truncate(v, dims) for v in vectors]
    if encoding.lower() == "base64":
        vectors = [base64.b64encode(struct.pack(f"<{len(v)}f", *v)).decode() for v in vectors]
    data = [{"object": "embedding", "embedding": e, "index": i} for i, e in enumerate(vectors)]
    count = result.get("prompt_eval_count", 0)
    out = {"object": "list", "data": data, "model": body.get("model") or "", "usage": {"prompt_tokens": count, "total_tokens": count}}
    await reply.full(200, "application/json", dumps(out) + b"\n")


def _truncate(vector: list[float], dims: int) -> list[float]:
    """``dimensions`` N with 0 < N < size keeps the first N values, L2-normalised again; else ignored."""
    if not 0 < dims < len(vector):
        return vector
    head = vector[:dims]
    norm = math.sqrt(sum(v * v for v in head)) or 1.0
    return [v / norm for v in head]


async def models(double: OllamaDouble, reply: Reply) -> None:
    listed = tags_body(double)["models"]
    data = [
        {"id": m["name"], "object": "model", "created": _created(m["modified_at"]), "owned_by": parse_name(m["name"]).namespace}
        for m in listed
    ]
    # Go marshals an empty slice that was never appended to as null.
    await reply.full(200, "application/json", dumps({"object": "list", "data": data or None}) + b"\n")


async def model(double: OllamaDouble, name: str, reply: Reply) -> None:
    try:
        shown = show_body(double, dumps({"name": name}))
    except ApiError as err:
        await reply.openai_error(err.status, err.message)
        return
    out = {"id": name, "object": "model", "created": _created(shown["modified_at"]), "owned_by": parse_name(name).namespace}
    await reply.full(200, "application/json", dumps(out) + b"\n")


def _created(text: str) -> int:
    import datetime as dt

    return int(dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())
