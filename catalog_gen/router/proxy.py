"""Relaying one exchange with a backend: headers in, reply out chunk by chunk, failures in the caller's dialect.

Each body piece is sent to the caller as soon as it arrives from the backend,
never re-framed or buffered (the caller's slowness pauses reading from the
backend, see upstream.py). If the backend fails after the reply started:
a chunked reply (every Ollama stream) ends with an error line in the stream's
own framing, as Ollama does; a reply with a Content-Length cannot carry one,
so the caller's connection is cut (AbortConnection), which is what it would
have seen from Ollama itself.
"""

from __future__ import annotations

import asyncio
import json
import re
import time

from catalog_gen.router import dialect
from catalog_gen.router.upstream import Response, UpstreamError

# Request headers never forwarded: hop-by-hop ones, and those the router sets or consumes itself.
DROP_REQUEST = frozenset({
    b"connection", b"keep-alive", b"proxy-connection", b"proxy-authorization", b"te", b"trailer",
    b"transfer-encoding", b"upgrade", b"host", b"content-length", b"expect", b"authorization", b"x-api-key",
})
DROP_RESPONSE = frozenset({b"connection", b"keep-alive", b"proxy-connection", b"te", b"trailer", b"transfer-encoding", b"upgrade"})
_EVAL_COUNT = re.compile(rb'"eval_count":\s*(\d+)')
_EVAL_DURATION = re.compile(rb'"eval_duration":\s*(\d+)')
_LOAD_DURATION = re.compile(rb'"load_duration":\s*(\d+)')


class AbortConnection(Exception):
    """Raised to the server to cut the caller's connection: the reply cannot be finished honestly."""


class Relay:
    """The outcome of one relayed reply, for metrics."""

    __slots__ = ("status", "complete", "chunked", "first_chunk_at", "tail", "failure", "failure_status")

    def __init__(self) -> None:
        self.status = 0
        self.chunked = False
        self.complete = False
        self.first_chunk_at = 0.0
        self.tail = b""
        self.failure = ""
        self.failure_status = 0  # what the failure counts as: 500 (Ollama's error), 502 (cut), 504 (timeout)

    def final_stats(self) -> tuple[float | None, float | None]:
        """(tokens per second, load seconds) from Ollama's final chunk, if the reply had one."""
        tail = self.tail
        tps = load = None
        count, duration = _EVAL_COUNT.search(tail), _EVAL_DURATION.search(tail)
        if count and duration and int(duration.group(1)) > 0:
            tps = int(count.group(1)) / int(duration.group(1)) * 1e9
        match = _LOAD_DURATION.search(tail)
        if match:
            load = int(match.group(1)) / 1e9
        return tps, load


# How a finished stream must end, by path: (pattern of the final piece, what it means when missing).
_DONE_LINE = re.compile(rb'"done":\s*true')
_SSE_DONE = b"data: [DONE]"
_NAMED_FINAL = {"/v1/responses": b"response.completed", "/v1/messages": b"message_stop"}
NDJSON_CHECKED = frozenset({"/api/generate", "/api/chat"})
SSE_CHECKED = frozenset({"/v1/chat/completions", "/v1/completions"})


def stream_verdict(path: str, content_type: bytes | None, tail: bytes) -> tuple[int, str, bool]:
    """(failure status or 0, message, whether the router must add an error piece) for a stream that ended cleanly.

    A large non-streamed reply may come chunked too: only SSE replies are held to the SSE endings.
    """
    if path in NDJSON_CHECKED:
        last = tail.rstrip().rsplit(b"\n", 1)[-1]
        if last.startswith(b'{"error"'):
            try:
                message = str(json.loads(last).get("error", ""))
            except ValueError:
                message = last.decode(errors="replace")
            return 500, f"Ollama ended the stream with an error: {message}", False
        if last.startswith(b"{") and not _DONE_LINE.search(last):  # (a line longer than the tail kept is not judged)
            return 502, "Ollama ended the stream before its final chunk", True
        return 0, "", False
    if not (content_type or b"").startswith(b"text/event-stream"):
        return 0, "", False
    if path in SSE_CHECKED:
        if tail.rstrip().endswith(_SSE_DONE):
            return 0, "", False
        return 500, "Ollama ended the stream without finishing it (an error inside Ollama is lost by its OpenAI layer)", True
    final = _NAMED_FINAL.get(path)
    if final is not None and final not in tail[-512:]:
        return 500, "Ollama ended the stream without its final event (an error inside Ollama is lost by its compatibility layer)", True
    return 0, "", False


async def open_reply(pool, method: bytes, target: bytes, headers: list[tuple[bytes, bytes]], body: bytes,
                     deadline: float) -> Response:
    """Send the request and wait for the reply's head (a non-streamed reply's head comes only when it is
    generated, so only the total limit applies). Raises UpstreamError or TimeoutError."""
    async with asyncio.timeout_at(deadline):
        return await pool.request(method, target, headers, body)


async def relay(response: Response, send, path: str, head_only: bool, deadline: float, idle: float) -> Relay:
    """Send the reply to the caller as it arrives. Returns what happened; raises AbortConnection on a cut body.

    ``idle`` bounds the silence of Ollama between two chunks (time spent waiting for
    a slow caller does not count); ``deadline`` bounds the whole exchange.
    """
    out = Relay()
    out.status = response.status
    headers = [(k, v) for k, v in response.headers if k not in DROP_RESPONSE]
    content_type = response.header(b"content-type")
    chunked = out.chunked = response.header(b"content-length") is None
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    last = previous = b""
    final = None  # the last piece, when it came with the end of the body
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout_at(min(deadline, loop.time() + idle)) as timer:
            while True:
                data = await response.chunk()
                if not data:
                    break
                if not out.first_chunk_at:
                    out.first_chunk_at = time.monotonic()
                previous, last = last, data
                if response.exhausted:  # the whole body is here
                    final = data
                    break
                await send({"type": "http.response.body", "body": b"" if head_only else data, "more_body": True})
                timer.reschedule(min(deadline, loop.time() + idle))
    except UpstreamError as exc:
        out.failure, out.failure_status = f"Ollama backend failed mid-reply: {exc}", 502
    except TimeoutError:
        if loop.time() >= deadline - 0.001:
            out.failure = "Ollama did not finish the reply within the request timeout"
        else:
            out.failure = f"Ollama sent nothing for {idle:g}s in the middle of the reply (idle timeout)"
        out.failure_status = 504
    out.tail = previous[-2048:] + last
    add_error = bool(out.failure)
    if not out.failure and response.status == 200 and chunked and not head_only:
        out.failure_status, out.failure, add_error = stream_verdict(path, content_type, out.tail)
    if out.failure and not chunked:
        raise AbortConnection(out.failure)
    if final is not None and not add_error:
        await send({"type": "http.response.body", "body": b"" if head_only else final, "more_body": False})
        out.complete = True
        return out
    if final is not None:
        await send({"type": "http.response.body", "body": final, "more_body": True})
    if add_error and not head_only:
        ended = (last or previous).endswith(b"\n") or not (last or previous)
        piece = dialect.stream_error(path, content_type, out.failure, ended)
        await send({"type": "http.response.body", "body": piece, "more_body": False})
        return out
    await send({"type": "http.response.body", "body": b"", "more_body": False})
    out.complete = not out.failure
    return out


def status_of(error: UpstreamError | TimeoutError) -> tuple[int, str]:
    """The status and message a caller gets when the backend failed before the first byte."""
    if isinstance(error, TimeoutError):
        return 504, "Ollama did not answer within the request timeout"
    return 502, f"Ollama backend failed: {error}"
