"""The ASGI application of the Ollama double: CORS, host check, routing, 404/405, disconnects.

Order, as in Ollama's server (gin v1.10.0, gin-contrib/cors v1.7.2):
1. a trailing slash on a known route is redirected (301 for GET, 307 otherwise) before anything;
2. CORS: no ``Origin`` passes untouched; ``Origin`` equal to ``http://``+Host or
   ``https://``+Host (the Host header as received) is same-origin and passes with no
   CORS headers; any other origin must be on the allow list (``Knobs.origins`` =
   OLLAMA_ORIGINS, plus the built-ins) or gets 403 with an empty body; an allowed
   preflight is 204 with the CORS headers; other allowed requests get
   ``Access-Control-Allow-Origin`` and ``Vary: Origin``. This runs for 404 and 405 too;
3. the host check (only when ``Knobs.listen_loopback``): 403 with no body for a public
   Host; a *named* host that passes answers OPTIONS with 204 here, an IP host falls
   through to routing (405);
4. routing with ``HandleMethodNotAllowed``: an unknown path is ``404 page not found``
   (text), a known path with another method is ``405 method not allowed`` (text) with
   ``Allow``. HEAD is not GET: it is 405 where only GET is routed.
When the client goes away mid-request the handler is cancelled (Ollama cancels
the request context), which frees its parallel slot.
"""

from __future__ import annotations

import asyncio
import logging

from catalog_gen.testing import _ollama_native as native
from catalog_gen.testing import _ollama_openai as openai
from catalog_gen.testing import _ollama_extra as extra
from catalog_gen.testing._ollama_http import (
    TEXT_TYPE,
    ApiError,
    DropConnection,
    OriginPolicy,
    Reply,
    allowed_origins,
    cors_headers,
    host_allowed,
    is_ip_host,
)
from catalog_gen.testing._ollama_state import OllamaDouble, RecordedRequest


class _HideDrops(logging.Filter):
    """A deliberate connection drop is not an application error worth a traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, DropConnection)


logging.getLogger("uvicorn.error").addFilter(_HideDrops())

_ROUTES: dict[str, set[str]] = {
    "/": {"GET", "HEAD"},
    "/api/version": {"GET", "HEAD"},
    "/api/tags": {"GET", "HEAD"},
    "/api/ps": {"GET"},
    "/api/status": {"GET"},
    "/api/me": {"POST"},
    "/api/signout": {"POST"},
    "/api/experimental/web_search": {"POST"},
    "/api/experimental/web_fetch": {"POST"},
    "/api/experimental/model-recommendations": {"GET"},
    "/v1/responses": {"POST"},
    "/v1/messages": {"POST"},
    "/v1/audio/transcriptions": {"POST"},
    "/api/show": {"POST"},
    "/api/pull": {"POST"},
    "/api/push": {"POST"},
    "/api/delete": {"DELETE"},
    "/api/copy": {"POST"},
    "/api/create": {"POST"},
    "/api/generate": {"POST"},
    "/api/chat": {"POST"},
    "/api/embed": {"POST"},
    "/api/embeddings": {"POST"},
    "/v1/chat/completions": {"POST"},
    "/v1/completions": {"POST"},
    "/v1/embeddings": {"POST"},
    "/v1/models": {"GET"},
}


def _allowed_methods(path: str) -> set[str] | None:
    if path in _ROUTES:
        return _ROUTES[path]
    parts = path.split("/")
    if len(parts) == 4 and path.startswith("/api/blobs/") and parts[3]:
        return {"HEAD", "POST"}
    if len(parts) == 4 and path.startswith("/v1/models/") and parts[3]:
        return {"GET"}
    if len(parts) == 5 and path.startswith("/api/user/keys/") and parts[4]:
        return {"DELETE"}
    return None


_METHOD_ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _allow_header(methods: set[str]) -> bytes:
    return ", ".join(m for m in _METHOD_ORDER if m in methods).encode()


class OllamaApp:
    def __init__(self, double: OllamaDouble) -> None:
        self.double = double
        self.blobs: set[str] = set()

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return
        method = scope["method"]
        path = scope["path"]
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        reply = Reply(send, method)
        if len(path) > 1 and path.endswith("/") and _allowed_methods(path.rstrip("/")) is not None:
            location = path.rstrip("/").encode()
            await reply.text(301 if method == "GET" else 307, b"", [(b"location", location)])
            return
        host = headers.get("host", "")
        origin = headers.get("origin")
        if origin is not None and origin not in ("http://" + host, "https://" + host):
            policy = OriginPolicy(allowed_origins(self.double.knobs.origins))
            if not policy.allows(origin):
                await reply.empty(403)
                return
            if method == "OPTIONS":
                reply.extra_headers.extend(cors_headers(policy, origin, preflight=True))
                await reply.empty(204)
                return
            reply.extra_headers.extend(cors_headers(policy, origin, preflight=False))
        if self.double.knobs.listen_loopback:
            if not host_allowed(host):
                await reply.empty(403)
                return
            if method == "OPTIONS" and not is_ip_host(host):
                await reply.empty(204)
                return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body.extend(message.get("body", b""))
            if not message.get("more_body"):
                break
        raw = bytes(body)
        self.double.record(RecordedRequest(method, path, headers, raw))
        if path == self.double.knobs.health_path and method in ("GET", "HEAD"):
            await reply.json(200, {})  # a benchmark's stand-in for what some proxies probe; Ollama has none
            return
        allowed = _allowed_methods(path)
        if allowed is None:
            await reply.full(404, TEXT_TYPE, b"404 page not found")
            return
        if method not in allowed:
            await reply.text(405, b"405 method not allowed", [(b"allow", _allow_header(allowed))])
            return
        task = asyncio.ensure_future(self._dispatch(method, path, raw, reply))
        watcher = asyncio.ensure_future(_wait_disconnect(receive))
        done, _ = await asyncio.wait({task, watcher}, return_when=asyncio.FIRST_COMPLETED)
        if task not in done and not reply.finished:
            task.cancel()  # the client went away: cancel like Ollama's request context
        else:
            watcher.cancel()
        try:
            await task
        except asyncio.CancelledError:
            if not task.cancelled():
                raise
        except DropConnection:
            if not reply.started:
                await reply.start(200, "application/x-ndjson")
            raise

    async def _dispatch(self, method: str, path: str, raw: bytes, reply: Reply) -> None:
        d = self.double
        try:
            if path == "/":
                await native.root(reply)
            elif path == "/api/version":
                await reply.json(200, {"version": d.knobs.version})
            elif path == "/api/tags":
                await reply.json(200, native.tags_body(d))
            elif path == "/api/ps":
                await reply.json(200, native.ps_body(d))
            elif path == "/api/show":
                await reply.json(200, native.show_body(d, raw))
            elif path in ("/api/generate", "/api/chat"):
                await native.completion(d, raw, reply, chat=path == "/api/chat")
            elif path == "/api/embed":
                await native.embed(d, raw, reply)
            elif path == "/api/embeddings":
                await native.embeddings_legacy(d, raw, reply)
            elif path == "/api/pull":
                await native.pull(d, raw, reply)
            elif path == "/api/push":
                await native.push(d, raw, reply)
            elif path == "/api/delete":
                await native.delete(d, raw, reply)
            elif path == "/api/copy":
                await native.copy(d, raw, reply)
            elif path == "/api/create":
                await native.create(d, raw, reply)
            elif path.startswith("/api/blobs/"):
                await native.blob(d, method, path.rsplit("/", 1)[1], raw, reply, self.blobs)
            elif path == "/v1/chat/completions":
                await openai.chat_completions(d, raw, reply)
            elif path == "/v1/completions":
                await openai.completions(d, raw, reply)
            elif path == "/v1/embeddings":
                await openai.embeddings(d, raw, reply)
            elif path == "/v1/models":
                await openai.models(d, reply)
            elif path in extra.ROUTES:
                await extra.ROUTES[path](d, raw, reply)
            elif path.startswith("/api/user/keys/"):
                await reply.json(401, {"error": "unauthorized"})
            else:
                await openai.model(d, path.rsplit("/", 1)[1], reply)
        except ApiError as err:
            if reply.started:
                raise
            await reply.error(err.status, err.message)


async def _wait_disconnect(receive) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
