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
import re
import time

from catalog_gen.router import dialect
from catalog_gen.router.upstream import Response, UpstreamError

# Request headers never forwarded: hop-by-hop ones, and those the router sets or consumes itself.
DROP_REQUEST = frozenset({
    b"connection", b"keep-alive", b"proxy-connection", b"proxy-authorization", b"te", b"trailer",
    b"transfer-encoding", b"upgrade", b"host", b"content-length", b"expect", b"authorization",
})
DROP_RESPONSE = frozenset({b"connection", b"keep-alive", b"proxy-connection", b"te", b"trailer", b"transfer-encoding", b"upgrade"})
_EVAL_COUNT = re.compile(rb'"eval_count":\s*(\d+)')
_EVAL_DURATION = re.compile(rb'"eval_duration":\s*(\d+)')
_LOAD_DURATION = re.compile(rb'"load_duration":\s*(\d+)')


class AbortConnection(Exception):
    """Raised to the server to cut the caller's connection: the reply cannot be finished honestly."""


class Relay:
    """The outcome of one relayed reply, for metrics."""

    __slots__ = ("status", "complete", "chunked", "first_chunk_at", "tail", "failure")

    def __init__(self) -> None:
        self.status = 0
        self.chunked = False
        self.complete = False
        self.first_chunk_at = 0.0
        self.tail = b""
        self.failure = ""

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


async def open_reply(pool, method: bytes, target: bytes, headers: list[tuple[bytes, bytes]], body: bytes,
                     deadline: float) -> Response:
    """Send the request and wait for the reply's head. Raises UpstreamError or TimeoutError."""
    async with asyncio.timeout_at(deadline):
        return await pool.request(method, target, headers, body)


async def relay(response: Response, send, path: str, head_only: bool, deadline: float) -> Relay:
    """Send the reply to the caller as it arrives. Returns what happened; raises AbortConnection on a cut body."""
    out = Relay()
    out.status = response.status
    headers = [(k, v) for k, v in response.headers if k not in DROP_RESPONSE]
    content_type = response.header(b"content-type")
    chunked = out.chunked = response.header(b"content-length") is None
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    last = previous = b""
    try:
        async with asyncio.timeout_at(deadline):
            while True:
                data = await response.chunk()
                if not data:
                    break
                if not out.first_chunk_at:
                    out.first_chunk_at = time.monotonic()
                previous, last = last, data
                if response.exhausted:  # the whole body is here: one send
                    await send({"type": "http.response.body", "body": b"" if head_only else data, "more_body": False})
                    out.complete = True
                    break
                await send({"type": "http.response.body", "body": b"" if head_only else data, "more_body": True})
    except UpstreamError as exc:
        out.failure = f"Ollama backend failed mid-reply: {exc}"
    except TimeoutError:
        out.failure = "Ollama did not finish the reply within the request timeout"
    out.tail = previous[-2048:] + last
    if out.complete:
        return out
    if out.failure:
        if not chunked:
            raise AbortConnection(out.failure)
        ended = (last or previous).endswith(b"\n") or not (last or previous)
        piece = dialect.stream_error(content_type, out.failure, ended)
        await send({"type": "http.response.body", "body": piece, "more_body": False})
        return out
    await send({"type": "http.response.body", "body": b"", "more_body": False})
    out.complete = True
    return out


def status_of(error: UpstreamError | TimeoutError) -> tuple[int, str]:
    """The status and message a caller gets when the backend failed before the first byte."""
    if isinstance(error, TimeoutError):
        return 504, "Ollama did not answer within the request timeout"
    return 502, f"Ollama backend failed: {error}"
