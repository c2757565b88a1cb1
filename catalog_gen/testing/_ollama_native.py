"""The native ``/api/*`` routes of the Ollama double (and ``/``).

Streams are NDJSON unless the body says ``"stream": false``; an error after the
first chunk is a last ``{"error"}`` line under status 200.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import re
import time

from catalog_gen.testing import _ollama_infer as infer
from catalog_gen.testing._ollama_http import NDJSON_TYPE, TEXT_TYPE, ApiError, Reply, decode_body, dumps
from catalog_gen.testing._ollama_names import parse_name
from catalog_gen.testing._ollama_state import OllamaDouble

_GEN_FIELDS = {"model": (str, "string"), "prompt": (str, "string"), "stream": (bool, "bool"), "options": (dict, "map[string]interface {}")}
_CHAT_FIELDS = {"model": (str, "string"), "messages": (list, "[]api.Message"), "stream": (bool, "bool")}
_NAME_FIELDS = {"model": (str, "string"), "name": (str, "string"), "stream": (bool, "bool")}


def body_of(raw: bytes, struct: str, fields: dict) -> dict:
    return decode_body(raw, struct, fields, empty_message="missing request body")


async def write_stream(reply: Reply, chunks, *, stream: bool, tools: bool = False) -> None:
    """Ollama's streamResponse / non-stream aggregation over native reply objects.

    Not streamed: content and thinking are joined; tool calls from every chunk are
    gathered, but only when the request offered tools (as Ollama's chat handler does).
    """
    if not stream:
        text, thinking, calls, last = [], [], [], None
        async for obj in chunks:
            if "error" in obj:
                await reply.error(500, obj["error"])
                return
            holder = obj["message"] if "message" in obj else obj
            text.append(holder.get("content", "") if "message" in obj else obj.get("response", ""))
            thinking.append(holder.get("thinking", ""))
            calls.extend(holder.get("tool_calls") or [])
            last = obj
        holder = last["message"] if "message" in last else last
        holder["content" if "message" in last else "response"] = "".join(text)
        holder.pop("thinking", None)
        if "".join(thinking):
            holder["thinking"] = "".join(thinking)
        if calls and tools:
            holder["tool_calls"] = calls
        if "message" not in last:  # keep Go's field order: response, thinking, done
            last = {k: last[k] for k in ("model", "created_at", "response", "thinking") if k in last} | last
        await reply.json(200, last)
        return
    async for obj in chunks:
        if "error" in obj and not reply.started:
            await reply.error(500, obj["error"])
            return
        if not reply.started:
            await reply.start(200, NDJSON_TYPE)
        await reply.chunk(dumps(obj) + b"\n")
        if "error" in obj:
            break
    if not reply.started:
        await reply.start(200, NDJSON_TYPE)
    await reply.end()


async def completion(double: OllamaDouble, raw: bytes, reply: Reply, *, chat: bool) -> None:
    body = body_of(raw, "api.ChatRequest" if chat else "api.GenerateRequest", _CHAT_FIELDS if chat else _GEN_FIELDS)
    prepared = await infer.prepare(double, body, chat=chat)
    if isinstance(prepared, dict):
        await reply.json(200, prepared)
        return
    async with contextlib.aclosing(infer.events(prepared)) as chunks:
        await write_stream(reply, chunks, stream=body.get("stream") is not False, tools=bool(body.get("tools")))


async def embed(double: OllamaDouble, raw: bytes, reply: Reply) -> None:
    body = body_of(raw, "api.EmbedRequest", {"model": (str, "string")})
    await reply.json(200, await infer.embed(double, body))


async def embeddings_legacy(double: OllamaDouble, raw: bytes, reply: Reply) -> None:
    body = body_of(raw, "api.EmbeddingRequest", {"model": (str, "string"), "prompt": (str, "string")})
    name = body.get("model") or ""
    model = infer.find_model(double, name, empty_status=400, empty_message="model is required")
    runner = await infer.schedule(double, model, infer.parse_keep_alive_field(body))
    double.release(runner)
    prompt = body.get("prompt") or ""
    await reply.json(200, {"embedding": infer.embedding_of(prompt, model.embedding_length) if prompt else []})


# --- listing and inspection --------------------------------------------------------------------


def tags_body(double: OllamaDouble) -> dict:
    on_disk = [m for m in double.models if m.on_disk]
    on_disk.sort(key=lambda m: -int(m.modified_at.timestamp()))
    return {
        "models": [
            {
                "name": m.display,
                "model": m.display,
                "modified_at": m.modified_at.isoformat().replace("+00:00", "Z"),
                "size": m.size,
                "digest": m.digest,
                "details": m.details(lengths=True),
                "capabilities": list(m.capabilities),
            }
            for m in on_disk
        ]
    }


def ps_body(double: OllamaDouble) -> dict:
    """Loaded models, and models still loading (listed with an estimated expires_at), latest expiry first."""
    runners = sorted(double.runners(include_loading=True), key=lambda r: -r.expires_at)
    return {
        "models": [
            {
                "name": r.model.display,
                "model": r.model.display,
                "size": r.model.memory_estimate,
                "digest": r.model.digest,
                "details": r.model.details(),
                "expires_at": r.expires_at_text(),
                "size_vram": 0,
                "context_length": r.model.context_length,
            }
            for r in runners
        ]
    }


def show_body(double: OllamaDouble, raw: bytes) -> dict:
    body = body_of(raw, "api.ShowRequest", _NAME_FIELDS)
    name = body.get("model") or body.get("name") or ""
    if not name:
        raise ApiError(400, "model is required")
    if parse_name(name) is None:
        raise ApiError(400, "invalid model name")
    m = double.find(name)
    if m is None:
        raise ApiError(404, f"model '{parse_name(name).display_shortest()}' not found")
    arch = m.family
    verbose = body.get("verbose") is True
    return {
        "modelfile": f'# Modelfile generated by "ollama show"\n# To build a new Modelfile based on this, replace FROM with:\n# FROM {m.display}\n\nFROM {m.display}\n',
        "parameters": 'stop                           "<|eot_id|>"',
        "template": "{{ .Prompt }}",
        "details": m.details(),
        "model_info": {
            "general.architecture": arch,
            "general.parameter_count": _parameter_count(m.parameter_size),
            f"{arch}.context_length": m.context_length,
            f"{arch}.embedding_length": m.embedding_length,
            # lists longer than 5 are shown as [] unless verbose
            "tokenizer.ggml.tokens": ["<s>", "</s>", "a", "b", "c", "d"] if verbose else [],
        },
        "capabilities": list(m.capabilities),
        "modified_at": m.modified_at.isoformat().replace("+00:00", "Z"),
    }


def _parameter_count(text: str) -> int:
    match = re.match(r"^([0-9.]+)([MBT])$", text)
    if not match:
        return 0
    return int(float(match.group(1)) * {"M": 1e6, "B": 1e9, "T": 1e12}[match.group(2)])


# --- model management --------------------------------------------------------------------------


async def progress(reply: Reply, statuses, *, stream: bool) -> None:
    """Pull/push/create progress: NDJSON, or with stream false the last status (500 on error)."""
    last = None
    async for obj in statuses:
        if not stream:
            if "error" in obj:
                await reply.error(500, obj["error"])
                return
            last = obj
            continue
        if not reply.started:
            await reply.start(200, NDJSON_TYPE)
        await reply.chunk(dumps(obj) + b"\n")
        if "error" in obj:
            break
    if stream:
        await reply.end()
    else:
        await reply.json(200, last)


async def _pull_statuses(double: OllamaDouble, name: str):
    yield {"status": "pulling manifest"}
    target = double.find(name, on_disk_only=False)
    if target is None:
        yield {"error": "pull model manifest: file does not exist"}
        return
    for layer in target.layers():
        total = layer["size"]
        for completed in (0, total // 2, total):
            await asyncio.sleep(double.knobs.pull_seconds / 6)
            yield {"status": f"pulling {layer['digest'][7:19]}", "digest": layer["digest"], "total": total, "completed": completed}
    yield {"status": "verifying sha256 digest"}
    yield {"status": "writing manifest"}
    target.on_disk = True
    yield {"status": "success"}


async def pull(double: OllamaDouble, raw: bytes, reply: Reply) -> None:
    body = body_of(raw, "api.PullRequest", {**_NAME_FIELDS, "insecure": (bool, "bool")})
    name = body.get("model") or body.get("name") or ""
    if parse_name(name) is None:
        raise ApiError(400, "invalid model name")
    await progress(reply, _pull_statuses(double, name), stream=body.get("stream") is not False)


async def _push_statuses(double: OllamaDouble, name: str):
    yield {"status": "retrieving manifest"}
    m = double.find(name)
    if m is None:
        yield {"error": f"open {name}: no such file or directory"}
        return
    for layer in m.layers():
        yield {"status": f"pushing {layer['digest'][7:19]}", "digest": layer["digest"], "total": layer["size"], "completed": layer["size"]}
    yield {"status": "pushing manifest"}
    yield {"status": "success"}


async def push(double: OllamaDouble, raw: bytes, reply: Reply) -> None:
    body = body_of(raw, "api.PushRequest", {**_NAME_FIELDS, "insecure": (bool, "bool")})
    name = body.get("model") or body.get("name") or ""
    if not name:
        raise ApiError(400, "model is required")
    await progress(reply, _push_statuses(double, name), stream=body.get("stream") is not False)


async def delete(double: OllamaDouble, raw: bytes, reply: Reply) -> None:
    body = body_of(raw, "api.DeleteRequest", _NAME_FIELDS)
    name = body.get("model") or body.get("name") or ""
    if parse_name(name) is None:
        raise ApiError(400, f'name "{name}" is invalid')
    m = double.find(name)
    if m is None:
        raise ApiError(404, f"model '{name}' not found")
    double.remove_from_disk(m)
    await reply.empty(200)


async def copy(double: OllamaDouble, raw: bytes, reply: Reply) -> None:
    body = body_of(raw, "api.CopyRequest", {"source": (str, "string"), "destination": (str, "string")})
    src, dst = body.get("source") or "", body.get("destination") or ""
    if parse_name(src) is None:
        raise ApiError(400, f'source "{src}" is invalid')
    if parse_name(dst) is None:
        raise ApiError(400, f'destination "{dst}" is invalid')
    m = double.find(src)
    if m is None:
        raise ApiError(404, f'model "{src}" not found')
    _put(double, dataclasses.replace(m, name=dst, on_disk=True, modified_at=_now()))
    await reply.empty(200)


async def create(double: OllamaDouble, raw: bytes, reply: Reply) -> None:
    body = body_of(raw, "api.CreateRequest", {**_NAME_FIELDS, "from": (str, "string")})
    name = body.get("model") or body.get("name") or ""
    if parse_name(name) is None:
        raise ApiError(400, "invalid model name")
    base_name = body.get("from") or ""
    if not base_name and not body.get("files"):
        raise ApiError(400, "neither 'from' or 'files' was specified")

    async def statuses():
        base = double.find(base_name) if base_name else None
        if base is None:
            yield {"error": f"model '{base_name}' not found"} if base_name else {"error": "files are not supported by this double"}
            return
        for layer in base.layers():
            yield {"status": f"using existing layer {layer['digest']}"}
        yield {"status": "writing manifest"}
        _put(double, dataclasses.replace(base, name=name, on_disk=True, modified_at=_now()))
        yield {"status": "success"}

    await progress(reply, statuses(), stream=body.get("stream") is not False)


def _now():
    import datetime as dt

    return dt.datetime.fromtimestamp(int(time.time()), tz=dt.timezone.utc)


def _put(double: OllamaDouble, model) -> None:
    double.models = [m for m in double.models if m.parsed.key != model.parsed.key] + [model]


_DIGEST = re.compile(r"^sha256[:-]([a-f0-9]{64})$")


async def blob(double: OllamaDouble, method: str, digest: str, raw: bytes, reply: Reply, blobs: set[str]) -> None:
    match = _DIGEST.match(digest)
    if not match:
        raise ApiError(400, "invalid digest format")
    known = blobs | {layer["digest"][7:] for m in double.models if m.on_disk for layer in m.layers()}
    if method == "HEAD":
        if match.group(1) in known:
            await reply.empty(200)
        else:
            await reply.error(404, f'blob "{digest}" not found')
        return
    if match.group(1) in known:
        await reply.empty(200)
        return
    actual = hashlib.sha256(raw).hexdigest()
    if actual != match.group(1):
        raise ApiError(400, f'digest mismatch, expected "{digest}", got "sha256:{actual}"')
    blobs.add(actual)
    await reply.empty(201)


async def root(reply: Reply) -> None:
    await reply.full(200, TEXT_TYPE, b"Ollama is running")
