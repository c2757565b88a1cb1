"""Errors in the caller's dialect: Ollama's under /api/*, OpenAI's under /v1/*, Anthropic's under /v1/messages.

Before the first byte the router answers a status and a body; once a stream has
started the status is already 200, so the failure is the last piece of the
stream in its own framing: an NDJSON ``{"error": ...}`` line under /api; an SSE
``data: {"error": {...}}`` event for OpenAI chat and completion streams (the
official client raises on it; the router never sends ``[DONE]`` after it); a
named ``event: error`` for the Responses and Anthropic streams.
"""

from __future__ import annotations

import json
import os

_OPENAI_TYPES = {400: "invalid_request_error", 401: "invalid_request_error", 404: "not_found_error"}
_ANTHROPIC_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
                    404: "not_found_error", 413: "request_too_large", 429: "rate_limit_error", 503: "overloaded_error"}


def is_openai(path: str) -> bool:
    return path.startswith("/v1/")


def is_anthropic(path: str) -> bool:
    return path == "/v1/messages"


def error_body(path: str, status: int, message: str, code: str | None = None) -> tuple[bytes, bytes]:
    """(content type, body) of an error answered before any byte of the reply."""
    if is_anthropic(path):
        body = {"type": "error", "error": {"type": _ANTHROPIC_TYPES.get(status, "api_error"), "message": message},
                "request_id": "req_" + os.urandom(12).hex()}
        return b"application/json", json.dumps(body).encode()
    if is_openai(path):
        body = {"error": {"message": message, "type": _OPENAI_TYPES.get(status, "api_error"), "param": None, "code": code}}
        return b"application/json", json.dumps(body).encode() + b"\n"
    return b"application/json; charset=utf-8", json.dumps({"error": message}).encode()


def not_found(path: str, name: str) -> str:
    """Ollama's own text for a model it does not have (the embed route words it differently)."""
    if path == "/api/embed":
        return f'model "{name}" not found, try pulling it first'
    return f"model '{name}' not found"


def stream_error(path: str, content_type: bytes | None, message: str, ended_with_newline: bool) -> bytes:
    """The last piece of a stream that failed after it started, in the stream's own framing."""
    lead = b"" if ended_with_newline else b"\n"
    if content_type and content_type.startswith(b"text/event-stream"):
        if is_anthropic(path):
            data = {"type": "error", "error": {"type": "api_error", "message": message}}
            return lead + b"event: error\ndata: " + json.dumps(data).encode() + b"\n\n"
        error = {"message": message, "type": "api_error", "param": None, "code": None}
        if path == "/v1/responses":
            data = {"type": "error", "code": "server_error", "message": message, "param": None, "error": error}
            return lead + b"event: error\ndata: " + json.dumps(data).encode() + b"\n\n"
        return lead + b"data: " + json.dumps({"error": error}).encode() + b"\n\n"
    return lead + json.dumps({"error": message}).encode() + b"\n"


async def send_error(send, path: str, status: int, message: str, headers: list[tuple[bytes, bytes]] | None = None,
                     head_only: bool = False, code: str | None = None) -> None:
    content_type, body = error_body(path, status, message, code)
    all_headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    if headers:
        all_headers.extend(headers)
    await send({"type": "http.response.start", "status": status, "headers": all_headers})
    await send({"type": "http.response.body", "body": b"" if head_only else body, "more_body": False})


async def send_text(send, status: int, text: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    """A plain-text answer as Ollama's router (gin) gives for 404 and 405."""
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(text)).encode()), *headers]})
    await send({"type": "http.response.body", "body": text, "more_body": False})
