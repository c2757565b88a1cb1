"""Generate / chat / embed as Ollama's handlers do them, independent of the wire dialect.

``prepare`` runs the checks in Ollama's order (body -> model name -> model on disk ->
unload request -> capability -> schedule -> load-only request) and raises ApiError
for anything answered before a stream; ``events`` yields the native reply objects
(chunks, then the final one with the stats, or a last ``{"error"}``). The native
and OpenAI routes format these, as Ollama's OpenAI middleware wraps its handlers.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import json
import math
import random
import string
import time
from collections.abc import AsyncIterator

from catalog_gen.testing._ollama_http import ApiError, DropConnection
from catalog_gen.testing._ollama_names import DurationError, parse_keep_alive, parse_name
from catalog_gen.testing._ollama_state import DoubleModel, MaxQueueError, OllamaDouble, Runner, format_time

WORDS = ["The", " sky", " is", " blue", " because", " air", " scatters", " short", " light", " more", "."]
JSON_WORDS = ['{"answer"', ': "blue"', "}"]
THINKING = ["Rayleigh", " scattering", "."]
THINK_LEVELS = ("low", "medium", "high", "max")


def now_text() -> str:
    return format_time(time.time())


def _omit_zero(obj: dict) -> dict:
    """Go's ``omitempty`` on the metrics: zero durations and counts are left out."""
    return {k: v for k, v in obj.items() if not (isinstance(v, int) and not isinstance(v, bool) and v == 0)}


def parse_keep_alive_field(body: dict) -> float | None:
    try:
        return parse_keep_alive(body.get("keep_alive"))
    except DurationError as exc:
        raise ApiError(400, str(exc)) from None


def find_model(double: OllamaDouble, raw: str, *, empty_status: int, empty_message: str,
               not_found: str = "model '{}' not found") -> DoubleModel:
    """Model lookup with Ollama's answers for an empty, invalid or unknown name."""
    if raw == "":
        raise ApiError(empty_status, empty_message)
    if parse_name(raw) is None:
        raise ApiError(400, "invalid model name")
    model = double.find(raw)
    if model is None:
        raise ApiError(404, not_found.format(raw))
    return model


def take_injected_failure(double: OllamaDouble) -> None:
    knobs = double.knobs
    if knobs.fail_next > 0:
        knobs.fail_next -= 1
        raise ApiError(knobs.fail_status, knobs.fail_message)


async def schedule(double: OllamaDouble, model: DoubleModel, keep_alive: float | None) -> Runner:
    try:
        return await double.acquire(model, keep_alive)
    except MaxQueueError as exc:
        raise ApiError(503, str(exc)) from None


@dataclasses.dataclass
class Completion:
    double: OllamaDouble
    model: DoubleModel
    runner: Runner
    name: str  # the model as the request spelled it; replies echo it
    chat: bool
    prompt_tokens: int
    num_predict: int | None
    start_ns: int
    loaded_ns: int
    think: bool = False
    tool_call: dict | None = None  # the call the "model" makes when the request offered tools
    json_format: bool = False

    def piece(self, text: str, *, thinking: str = "", tool_calls: list | None = None) -> dict:
        if self.chat:
            message: dict = {"role": "assistant", "content": text}
            if thinking:
                message["thinking"] = thinking
            if tool_calls:
                message["tool_calls"] = tool_calls
            return {"model": self.name, "created_at": now_text(), "message": message, "done": False}
        out = {"model": self.name, "created_at": now_text(), "response": text}
        if thinking:
            out["thinking"] = thinking
        out["done"] = False
        return out


def _immediate(name: str, chat: bool, reason: str) -> dict:
    out: dict = {"model": name, "created_at": now_text()}
    out.update({"message": {"role": "assistant", "content": ""}} if chat else {"response": ""})
    out.update({"done": True, "done_reason": reason})
    return out


async def prepare(double: OllamaDouble, body: dict, *, chat: bool) -> Completion | dict:
    """Validate and schedule; a dict is a complete reply (load / unload)."""
    start_ns = time.monotonic_ns()
    keep_alive = parse_keep_alive_field(body)
    name = body.get("model") or ""
    if chat:
        model = find_model(double, name, empty_status=400, empty_message="model is required")
        messages = body.get("messages") or []
        empty = len(messages) == 0
        prompt = " ".join(str(m.get("content", "")) for m in messages if isinstance(m, dict))
    else:
        model = find_model(double, name, empty_status=404, empty_message="model '' not found")
        prompt = body.get("prompt") or ""
        empty = prompt == ""
    if empty and keep_alive == 0:
        double.unload(model)
        return _immediate(name, chat, "unload")
    if "image" in model.capabilities and not chat:
        raise ApiError(400, "image generation models are not currently supported")
    if "completion" not in model.capabilities:
        raise ApiError(400, f'"{name}" does not support {"chat" if chat else "generate"}')
    think = _think_of(body, model, name)
    images = list(body.get("images") or []) if not chat else \
        [i for m in (body.get("messages") or []) if isinstance(m, dict) for i in (m.get("images") or [])]
    if model.family == "mllama" and len(images) > 1:
        raise ApiError(400, "this model only supports one image while more than one image requested")
    top = body.get("top_logprobs")
    if isinstance(top, int) and not isinstance(top, bool) and not 0 <= top <= 20:
        raise ApiError(400, "top_logprobs must be between 0 and 20")
    tools = body.get("tools") if chat else None
    if tools and "tools" not in model.capabilities:
        p = model.parsed
        raise ApiError(400, f"{p.host}/{p.namespace}/{p.model}:{p.tag} does not support tools")
    if body.get("suffix") and "insert" not in model.capabilities:
        p = model.parsed
        raise ApiError(400, f"{p.host}/{p.namespace}/{p.model}:{p.tag} does not support insert")
    take_injected_failure(double)
    runner = await schedule(double, model, keep_alive)
    loaded_ns = time.monotonic_ns()
    if empty:
        double.release(runner)
        return _immediate(name, chat, "load")
    fmt = body.get("format")
    if not (fmt is None or fmt in ("", "json") or isinstance(fmt, dict)):
        double.release(runner)
        raw = json.dumps(fmt, separators=(",", ":"))
        raise ApiError(500, f'invalid format: {raw}; expected "json" or a valid JSON Schema object')
    options = body.get("options") if isinstance(body.get("options"), dict) else {}
    num_predict = options.get("num_predict")
    num_predict = int(num_predict) if isinstance(num_predict, (int, float)) and num_predict >= 0 else None
    return Completion(double, model, runner, name, chat, max(1, len(prompt.split())), num_predict, start_ns, loaded_ns,
                      think=think, tool_call=_tool_call(tools) if tools else None, json_format=fmt is not None and fmt != "")


def _think_of(body: dict, model: DoubleModel, name: str) -> bool:
    """Ollama's think rules: a bool or a level; on by default for thinking models."""
    value = body.get("think")
    if value is None:
        return "thinking" in model.capabilities
    if not (isinstance(value, bool) or value in THINK_LEVELS):
        shown = json.dumps(value) if not isinstance(value, str) else f'"{value}"'
        raise ApiError(400, f'invalid think value: {shown} (must be "high", "medium", "low", "max", true, or false)')
    if value is False:
        return False
    if "thinking" not in model.capabilities:
        raise ApiError(400, f'"{name}" does not support thinking')
    return True


def _tool_call(tools: list) -> dict | None:
    """The call the double's model makes: the first offered function, its required arguments filled in."""
    for tool in tools:
        fn = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(fn, dict) or not fn.get("name"):
            continue
        params = fn.get("parameters") if isinstance(fn.get("parameters"), dict) else {}
        props = params.get("properties") if isinstance(params.get("properties"), dict) else {}
        wanted = params.get("required") or list(props)
        args = {}
        for key in wanted:
            kind = (props.get(key) or {}).get("type", "string")
            kind = kind[0] if isinstance(kind, list) and kind else kind
            args[key] = {"number": 1, "integer": 1, "boolean": True}.get(kind, "Paris")
        return {"name": fn["name"], "arguments": args}
    return None


def new_call_id() -> str:
    return "call_" + "".join(random.choice(string.ascii_lowercase + string.digits) for _ in range(8))


async def events(c: Completion) -> AsyncIterator[dict]:
    """The native reply objects of one completion; releases the runner at the end."""
    knobs = c.double.knobs
    compute = c.double.compute
    shared = knobs.share_compute
    key = c.model.display
    try:
        async with c.runner.slots:
            slot_ns = time.monotonic_ns()
            entered = compute.enter(key)
            try:
                async with contextlib.aclosing(_generate(c, knobs, compute, shared, slot_ns)) as replies:
                    async for event in replies:
                        yield event
            finally:
                compute.leave(key, entered)
    finally:
        c.double.release(c.runner)


async def _generate(c: Completion, knobs, compute, shared: bool, slot_ns: int) -> AsyncIterator[dict]:
    """The reply of one completion while it holds a slot; compute time is shared with the other busy models."""
    await compute.work(knobs.ttft_seconds, shared=shared)
    eval_start = time.monotonic_ns()
    prompt_eval_ns = eval_start - slot_ns
    count = 0 if c.model.answer_empty else knobs.tokens_per_reply
    words = JSON_WORDS if c.json_format else WORDS
    reason = "stop"
    sent = 0
    if c.think and count:
        for thought in THINKING:
            yield c.piece("", thinking=thought)
    if c.tool_call is not None and count:
        call = {"id": new_call_id(), "function": {"index": 0, "name": c.tool_call["name"], "arguments": c.tool_call["arguments"]}}
        yield c.piece("", tool_calls=[call])
        sent += 1
        count = 0
    for i in range(count):
        if c.num_predict is not None and i >= c.num_predict:
            reason = "length"
            break
        if knobs.cut_after_chunks is not None and sent >= knobs.cut_after_chunks:
            if knobs.cut_mode == "drop":
                raise DropConnection()
            yield {"error": knobs.cut_message}
            return
        if knobs.stall_after_chunks is not None and sent >= knobs.stall_after_chunks:
            await asyncio.Event().wait()  # until the client goes away or the server stops
        if i > 0:
            await compute.work(knobs.token_interval_seconds, shared=shared)
        yield c.piece(words[i % len(words)] if not c.json_format or i < len(words) else " ")
        sent += 1
    end_ns = time.monotonic_ns()
    final = c.piece("")
    final["done"] = True
    final["done_reason"] = reason
    if not c.chat:
        final["context"] = list(range(1, c.prompt_tokens + sent + 1))
    final.update(
        _omit_zero(
            {
                "total_duration": end_ns - c.start_ns,
                "load_duration": c.loaded_ns - c.start_ns,
                "prompt_eval_count": c.prompt_tokens,
                "prompt_eval_duration": prompt_eval_ns,
                "eval_count": sent,
                "eval_duration": max(1, end_ns - eval_start) if sent else 0,
            }
        )
    )
    c.double.served += 1
    yield final


# --- embeddings --------------------------------------------------------------------------------


def embedding_of(text: str, dims: int) -> list[float]:
    digest = hashlib.sha256(text.encode()).digest()
    raw = [((digest[i % len(digest)] + i) % 251) / 125.0 - 1.0 for i in range(dims)]
    norm = math.sqrt(sum(v * v for v in raw)) or 1.0
    return [round(v / norm, 7) for v in raw]


def embed_inputs(body: dict) -> list[str]:
    value = body.get("input")
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value else []
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise ApiError(400, "invalid input type")


async def embed(double: OllamaDouble, body: dict) -> dict:
    """/api/embed: no capability check (Ollama embeds with any model); empty input = load."""
    start_ns = time.monotonic_ns()
    keep_alive = parse_keep_alive_field(body)
    name = body.get("model") or ""
    model = find_model(double, name, empty_status=404, empty_message="model '' not found",
                       not_found='model "{}" not found, try pulling it first')
    inputs = embed_inputs(body)
    if body.get("truncate") is False and any(len(text.split()) > model.context_length for text in inputs):
        raise ApiError(400, "the input length exceeds the context length")
    take_injected_failure(double)
    runner = await schedule(double, model, keep_alive)
    loaded_ns = time.monotonic_ns()
    try:
        if not inputs:
            return {"model": name, "embeddings": []}
        async with runner.slots:
            entered = double.compute.enter(model.display)
            try:
                await double.compute.work(double.knobs.ttft_seconds, shared=double.knobs.share_compute)
            finally:
                double.compute.leave(model.display, entered)
            dims = 0 if model.answer_empty else model.embedding_length
            vectors = [embedding_of(text, dims) for text in inputs]
        double.served += 1
        out = {"model": name, "embeddings": vectors}
        out.update(
            _omit_zero(
                {
                    "total_duration": time.monotonic_ns() - start_ns,
                    "load_duration": loaded_ns - start_ns,
                    "prompt_eval_count": sum(max(1, len(t.split())) for t in inputs),
                }
            )
        )
        return out
    finally:
        double.release(runner)
