"""The newer routes of the Ollama double: ``/v1/responses``, ``/v1/messages`` and the account/cloud routes.

``/v1/responses`` (OpenAI Responses, stateless) and ``/v1/messages`` (Anthropic)
wrap the chat handler like Ollama's middleware does. Their streams are named SSE
events (``event: <name>`` then ``data: <json>``) with no ``[DONE]``. An error after
the stream started is lost, as in Ollama: the stream just ends without
``response.completed`` / ``message_stop``. The account routes answer what a pod with
no signed-in key gets (401 from ``/api/me`` with a sign-in URL); ``/api/status``
reports cloud as enabled, source none.
"""

from __future__ import annotations

import contextlib

import random
import time

from catalog_gen.testing import _ollama_infer as infer
from catalog_gen.testing._ollama_http import JSON_TYPE, SSE_TYPE, ApiError, Reply, decode_body, dumps
from catalog_gen.testing._ollama_state import OllamaDouble

_ANTHROPIC_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
                    404: "not_found_error", 429: "rate_limit_error", 503: "overloaded_error", 529: "overloaded_error"}


def anthropic_error_body(status: int, message: str) -> dict:
    return {"type": "error", "error": {"type": _ANTHROPIC_TYPES.get(status, "api_error"), "message": message},
            "request_id": "req_" + "".join(random.choice("0123456789abcdef") for _ in range(24))}


def _event(name: str, data: dict) -> bytes:
    return b"event: " + name.encode() + b"\ndata: " + dumps(data) + b"\n\n"


def _text_of(content) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


async def _chunks(double: OllamaDouble, native: dict):
    prepared = await infer.prepare(double, native, chat=True)
    if isinstance(prepared, dict):
        async def single():
            yield prepared
        return single()
    return infer.events(prepared)


# --- /v1/responses ---------------------------------------------------------------------------------


async def responses(double: OllamaDouble, raw: bytes, reply: Reply) -> None:
    try:
        body = decode_body(raw, "openai.ResponsesRequest", {"model": (str, "string"), "stream": (bool, "bool")}, empty_message="EOF")
        items = body.get("input")
        if isinstance(items, str):
            messages = [{"role": "user", "content": items}]
        elif isinstance(items, list):
            messages = [{"role": str(i.get("role", "user")), "content": _text_of(i.get("content"))} for i in items if isinstance(i, dict)]
        else:
            raise ApiError(400, "input is required")
        if body.get("instructions"):
            messages.insert(0, {"role": "system", "content": str(body["instructions"])})
        stream = body.get("stream") is True
        source = await _chunks(double, {"model": body.get("model") or "", "messages": messages, "stream": stream})
    except ApiError as err:
        await reply.openai_error(err.status, err.message)
        return
    rid, mid = f"resp_{random.randint(0, 999999)}", f"msg_{random.randint(0, 999999)}"
    created = int(time.time())
    model = body.get("model") or ""

    def response_obj(status: str, text: str, final: dict | None) -> dict:
        out = {"id": rid, "object": "response", "created_at": created, "status": status, "model": model, "output": []}
        if status == "completed":
            out["output"] = [{"type": "message", "id": mid, "status": "completed", "role": "assistant",
                              "content": [{"type": "output_text", "text": text, "annotations": []}]}]
            p, c = (final or {}).get("prompt_eval_count", 0), (final or {}).get("eval_count", 0)
            out["usage"] = {"input_tokens": p, "output_tokens": c, "total_tokens": p + c}
        return out

    async with contextlib.aclosing(source) as chunks:
        if not stream:
            parts, last = [], None
            async for obj in chunks:
                if "error" in obj:
                    await reply.openai_error(500, obj["error"])
                    return
                parts.append(obj.get("message", {}).get("content", ""))
                last = obj
            await reply.full(200, "application/json", dumps(response_obj("completed", "".join(parts), last)) + b"\n")
            return
        seq = 0

        async def send(name: str, data: dict) -> None:
            nonlocal seq
            if not reply.started:
                await reply.start(200, SSE_TYPE)
            await reply.chunk(_event(name, {"type": name, "sequence_number": seq, **data}))
            seq += 1

        parts = []
        opened = False
        async for obj in chunks:
            if "error" in obj:
                if not reply.started:
                    await reply.openai_error(500, obj["error"])
                    return
                break  # lost, as in Ollama: no response.completed
            if not reply.started:
                await send("response.created", {"response": response_obj("in_progress", "", None)})
                await send("response.in_progress", {"response": response_obj("in_progress", "", None)})
            piece = obj.get("message", {}).get("content", "")
            if piece and not opened:
                opened = True
                await send("response.output_item.added", {"output_index": 0, "item": {"type": "message", "id": mid, "status": "in_progress", "role": "assistant", "content": []}})
                await send("response.content_part.added", {"item_id": mid, "output_index": 0, "content_index": 0, "part": {"type": "output_text", "text": "", "annotations": []}})
            if piece:
                parts.append(piece)
                await send("response.output_text.delta", {"item_id": mid, "output_index": 0, "content_index": 0, "delta": piece})
            if obj.get("done"):
                text = "".join(parts)
                await send("response.output_text.done", {"item_id": mid, "output_index": 0, "content_index": 0, "text": text})
                await send("response.content_part.done", {"item_id": mid, "output_index": 0, "content_index": 0, "part": {"type": "output_text", "text": text, "annotations": []}})
                await send("response.output_item.done", {"output_index": 0, "item": response_obj("completed", text, obj)["output"][0]})
                await send("response.completed", {"response": response_obj("completed", text, obj)})
        if not reply.started:
            await reply.start(200, SSE_TYPE)
        await reply.end()


# --- /v1/messages (Anthropic) ----------------------------------------------------------------------


async def _anthropic_error(reply: Reply, status: int, message: str) -> None:
    await reply.full(status, JSON_TYPE, dumps(anthropic_error_body(status, message)))


async def messages(double: OllamaDouble, raw: bytes, reply: Reply) -> None:
    try:
        body = decode_body(raw, "anthropic.MessagesRequest", {"model": (str, "string"), "stream": (bool, "bool")}, empty_message="EOF")
    except ApiError as err:
        await _anthropic_error(reply, err.status, err.message)
        return
    if not body.get("model"):
        await _anthropic_error(reply, 400, "model is required")
        return
    if not isinstance(body.get("max_tokens"), int) or body["max_tokens"] <= 0:
        await _anthropic_error(reply, 400, "max_tokens is required and must be positive")
        return
    if not body.get("messages"):
        await _anthropic_error(reply, 400, "messages is required")
        return
    msgs = [{"role": str(m.get("role", "user")), "content": _text_of(m.get("content"))} for m in body["messages"] if isinstance(m, dict)]
    if body.get("system"):
        msgs.insert(0, {"role": "system", "content": _text_of(body["system"])})
    stream = body.get("stream") is True
    native = {"model": body["model"], "messages": msgs, "stream": stream, "options": {"num_predict": body["max_tokens"]}}
    native.pop("think", None)  # /v1/messages silently drops an unsupported think
    try:
        source = await _chunks(double, native)
    except ApiError as err:
        await _anthropic_error(reply, err.status, err.message)
        return
    mid = "msg_" + "".join(random.choice("0123456789abcdef") for _ in range(24))
    stop = {"stop": "end_turn", "length": "max_tokens"}
    async with contextlib.aclosing(source) as chunks:
        if not stream:
            parts, last = [], None
            async for obj in chunks:
                if "error" in obj:
                    await _anthropic_error(reply, 500, obj["error"])
                    return
                parts.append(obj.get("message", {}).get("content", ""))
                last = obj
            out = {"id": mid, "type": "message", "role": "assistant", "model": body["model"],
                   "content": [{"type": "text", "text": "".join(parts)}],
                   "stop_reason": stop.get(last.get("done_reason"), "end_turn"), "stop_sequence": None,
                   "usage": {"input_tokens": last.get("prompt_eval_count", 0), "output_tokens": last.get("eval_count", 0)}}
            await reply.json(200, out)
            return
        async for obj in chunks:
            if "error" in obj:
                if not reply.started:
                    await _anthropic_error(reply, 500, obj["error"])
                    return
                break  # lost, as in Ollama: no message_stop
            if not reply.started:
                await reply.start(200, SSE_TYPE)
                start = {"id": mid, "type": "message", "role": "assistant", "model": body["model"], "content": [],
                         "stop_reason": None, "stop_sequence": None, "usage": {"input_tokens": 0, "output_tokens": 0}}
                await reply.chunk(_event("message_start", {"type": "message_start", "message": start}))
                await reply.chunk(_event("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}))
            piece = obj.get("message", {}).get("content", "")
            if piece:
                await reply.chunk(_event("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": piece}}))
            if obj.get("done"):
                await reply.chunk(_event("content_block_stop", {"type": "content_block_stop", "index": 0}))
                await reply.chunk(_event("message_delta", {"type": "message_delta", "delta": {"stop_reason": stop.get(obj.get("done_reason"), "end_turn"), "stop_sequence": None},
                                                           "usage": {"output_tokens": obj.get("eval_count", 0)}}))
                await reply.chunk(_event("message_stop", {"type": "message_stop"}))
        if not reply.started:
            await reply.start(200, SSE_TYPE)
        await reply.end()


# --- account, cloud and misc routes ----------------------------------------------------------------


async def status(double: OllamaDouble, raw: bytes, reply: Reply) -> None:
    await reply.json(200, {"cloud": {"disabled": False, "source": "none"}})


async def me(double: OllamaDouble, raw: bytes, reply: Reply) -> None:
    await reply.json(401, {"error": "unauthorized", "signin_url": "https://ollama.com/connect?name=double&key=AAAA"})


async def signout(double: OllamaDouble, raw: bytes, reply: Reply) -> None:
    await reply.json(200, {})


async def web(double: OllamaDouble, raw: bytes, reply: Reply) -> None:
    if not raw.strip():
        raise ApiError(400, "missing request body")
    await reply.json(401, {"error": "unauthorized"})


async def recommendations(double: OllamaDouble, raw: bytes, reply: Reply) -> None:
    await reply.json(200, {"recommendations": [{"model": "gemma3:4b", "description": "small and capable"}]})


async def transcriptions(double: OllamaDouble, raw: bytes, reply: Reply) -> None:
    await reply.openai_error(400, "the double does not model audio transcription")


ROUTES = {
    "/v1/responses": responses,
    "/v1/messages": messages,
    "/api/status": status,
    "/api/me": me,
    "/api/signout": signout,
    "/api/experimental/web_search": web,
    "/api/experimental/web_fetch": web,
    "/api/experimental/model-recommendations": recommendations,
    "/v1/audio/transcriptions": transcriptions,
}

