"""Errors in the caller's dialect: Ollama shape under /api/*, OpenAI shape under /v1/*.

Before the first byte the router answers a status and a body; once a stream has
started the status is already 200, so (like Ollama itself) the failure is a
last line of the stream: an NDJSON ``{"error": ...}`` line, or an SSE
``data: {"error": {...}}`` event for OpenAI streams.
"""

from __future__ import annotations

import json

_OPENAI_TYPES = {400: "invalid_request_error", 404: "not_found_error"}


def is_openai(path: str) -> bool:
    return path.startswith("/v1/")


def error_body(path: str, status: int, message: str) -> tuple[bytes, bytes]:
    """(content type, body) of an error answered before any byte of the reply."""
    if is_openai(path):
        body = {"error": {"message": message, "type": _OPENAI_TYPES.get(status, "api_error"), "param": None, "code": None}}
        return b"application/json", json.dumps(body).encode() + b"\n"
    return b"application/json; charset=utf-8", json.dumps({"error": message}).encode()


def stream_error(content_type: bytes | None, message: str, ended_with_newline: bool) -> bytes:
    """The last piece of a stream that failed after it started, in the stream's own framing."""
    lead = b"" if ended_with_newline else b"\n"
    if content_type and content_type.startswith(b"text/event-stream"):
        event = {"error": {"message": message, "type": "api_error", "param": None, "code": None}}
        return lead + b"data: " + json.dumps(event).encode() + b"\n\n"
    return lead + json.dumps({"error": message}).encode() + b"\n"


async def send_error(send, path: str, status: int, message: str, headers: list[tuple[bytes, bytes]] | None = None,
                     head_only: bool = False) -> None:
    content_type, body = error_body(path, status, message)
    all_headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    if headers:
        all_headers.extend(headers)
    await send({"type": "http.response.start", "status": status, "headers": all_headers})
    await send({"type": "http.response.body", "body": b"" if head_only else body, "more_body": False})
