"""The router as an ASGI application: the order of checks for every request, and the router's own endpoints.

Order for a forwarded request on the public listener:
1. CORS (cors.py): a refused ``Origin`` is 403; an allowed preflight is answered
   204 here, before the key check (preflights carry no key);
2. the wall: model management (pull, push, delete, create, copy, blobs) is 403
   whoever the peer is (a mesh sidecar or a port-forward delivers remote callers
   from loopback); account and cloud routes are 403 with the reason; paths not
   on the public allowlist are 404;
3. the API key (401), the body limit (413);
4. the route: listings are answered as a union across backends; inference
   endpoints take a slot (model-aware, queued with backpressure; a model no
   backend has on disk is 404 at once); the caller's ``keep_alive`` is bounded
   by the policy (keepalive.py).

The management listener (a unix socket, ``adminSocket``; only processes in the
pod can reach it, and the chart does not expose it) serves every path, no key.

A failure before the first byte of the reply is retried once on another
backend. While the request is relayed a watcher waits for the caller to go away
and cancels the work, which closes the upstream connection (Ollama then stops
generating) and frees the slot. A stream that Ollama ends with an error, that is
cut, or that ends without its final event is counted as an error (500, 502 or
504) and ends with an error in its own framing. Past the shutdown grace period,
what is left is answered 503 with Retry-After (or ends its stream with an error).

``/livez``, ``/readyz``, ``/metrics`` and ``/router/state`` (what this worker
holds and does, for a gateway: state.py) are the router's own and need no key.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time

from catalog_gen.router import dialect, proxy
from catalog_gen.router.backends import Backend, normalize_model
from catalog_gen.router.balancer import Balancer, Refused
from catalog_gen.router.config import RouterConfig
from catalog_gen.router.cors import CorsPolicy
from catalog_gen.router.keepalive import KeepAlivePolicy
from catalog_gen.router.metrics import Metrics
from catalog_gen.router.security import ApiKeys, is_admin, is_public, walled_reason
from catalog_gen.router.state import worker_state
from catalog_gen.router.union import UNION_PATHS, union
from catalog_gen.router.upstream import UpstreamError
from catalog_gen.router.warm import Keeper

log = logging.getLogger("catalog_gen.router")
SLOT_PATHS = frozenset({"/api/generate", "/api/chat", "/api/embed", "/api/embeddings",
                        "/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/v1/responses", "/v1/messages"})
KEEP_ALIVE_PATHS = frozenset({"/api/generate", "/api/chat", "/api/embed", "/api/embeddings"})
STREAM_STATS_PATHS = frozenset({"/api/generate", "/api/chat"})
KNOWN_ENDPOINTS = SLOT_PATHS | {"/", "/api/version", "/api/tags", "/api/ps", "/api/show", "/v1/models",
                                "/api/pull", "/api/push", "/api/delete", "/api/create", "/api/copy"}
OWN_PATHS = frozenset({"/livez", "/readyz", "/metrics", "/router/state"})
GET_ONLY = frozenset({"/api/ps", "/v1/models"})  # Ollama routes no HEAD there: 405
KEY_RELOAD_SECONDS = 1.0


def is_cloud_model(model: str) -> bool:
    """Ollama proxies a model tagged ``cloud`` or ``*-cloud`` to ollama.com (server/cloud_proxy.go)."""
    tag = model.rsplit("/", 1)[-1].partition(":")[2]
    return tag == "cloud" or tag.endswith("-cloud")


def endpoint_label(path: str) -> str:
    if path in KNOWN_ENDPOINTS:
        return path
    if path.startswith("/api/blobs/"):
        return "/api/blobs"
    if path.startswith("/v1/models/"):
        return "/v1/models/{model}"
    return "other"


class _Out:
    """The caller's side of one exchange: adds headers (CORS) to the reply and remembers what was sent."""

    __slots__ = ("_send", "extra", "started", "ended", "status", "content_type", "chunked", "newline")

    def __init__(self, send) -> None:
        self._send = send
        self.extra: list[tuple[bytes, bytes]] | None = None
        self.started = self.ended = self.chunked = False
        self.newline = True
        self.status = 0
        self.content_type: bytes | None = None

    async def __call__(self, message: dict) -> None:
        if message["type"] == "http.response.start":
            headers = message["headers"]
            if self.extra:
                headers = message["headers"] = [*headers, *self.extra]
            self.started, self.status, self.chunked = True, message["status"], True
            for name, value in headers:
                if name == b"content-type":
                    self.content_type = value
                elif name == b"content-length":
                    self.chunked = False
        else:
            body = message.get("body")
            if body:
                self.newline = body.endswith(b"\n")
            if not message.get("more_body"):
                self.ended = True
        await self._send(message)


class RouterApp:
    def __init__(self, config: RouterConfig) -> None:
        self.config = config
        self.metrics = Metrics()
        self.backends = self._make_backends(config)
        pins = {normalize_model(m.name): m.digest for m in config.models if m.digest}
        self.balancer = Balancer(self.backends, config.max_queue, config.queue_timeout, self.metrics, pins,
                                 config.max_models_per_backend, config.backend_memory_bytes)
        self.keeper = Keeper(config, self.backends, self.metrics, self.balancer.dispatch)
        self.keys = ApiKeys(config.api_keys_file) if config.api_keys_file else None
        self.cors = CorsPolicy(config.cors_allowed_origins)
        warm = {name for name, pin in self.keeper.pins.items() if pin.keep_warm}
        self.keep_alive = KeepAlivePolicy(warm, config.keep_alive_min, config.keep_alive_max)
        self._tasks: list[asyncio.Task] = []
        self.draining = False  # set when the server was told to stop: /router/state says so

    def _make_backends(self, config: RouterConfig) -> list[Backend]:
        backends = [Backend(url, config.slots_per_backend, config.connect_timeout, self.metrics,
                            config.breaker_failures, config.breaker_cooldown) for url in config.backends]
        for index, backend in enumerate(backends):
            backend.index = index
        return backends

    def start_background(self) -> list[asyncio.Task]:
        """The background work (one keeper loop per backend); the gateway adds discovery."""
        loop = asyncio.get_running_loop()
        return [loop.create_task(self.keeper.run(b)) for b in self.backends]

    def stop_background(self) -> None:
        pass

    def affinity_key(self, path: str, body: bytes, model: str) -> str | None:
        """The conversation key for prefix affinity (the gateway's); None: least loaded."""
        return None

    def retryable(self, exc: UpstreamError) -> bool:
        """Whether a failure before the reply's first byte may be retried on another backend."""
        return True

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "lifespan":
            await self._lifespan(receive, send)

    # -- lifespan ----------------------------------------------------------------------------------
    async def _lifespan(self, receive, send) -> None:
        await receive()
        loop = asyncio.get_running_loop()
        self._tasks = self.start_background()
        if self.keys is not None:
            self._tasks.append(loop.create_task(self._reload_keys()))
        await send({"type": "lifespan.startup.complete"})
        await receive()
        for task in self._tasks:
            task.cancel()
        self.stop_background()
        self.keeper.stop()
        for backend in self.backends:
            backend.pool.close()
        await send({"type": "lifespan.shutdown.complete"})

    async def _reload_keys(self) -> None:
        while True:
            await asyncio.sleep(KEY_RELOAD_SECONDS)
            if self.keys.reload():
                log.info("reloaded API keys from %s", self.keys.path)

    # -- one request -------------------------------------------------------------------------------
    async def _http(self, scope, receive, raw_send) -> None:
        path = scope["path"]
        method = scope["method"]
        if path in OWN_PATHS:
            await self._own(path, method, raw_send)
            return
        started = time.monotonic()
        endpoint = endpoint_label(path)
        head_only = method == "HEAD"
        server = scope.get("server")
        management = bool(server) and server[1] is None  # the unix socket: only the pod reaches it
        send = _Out(raw_send)
        authorization = origin = host = length = None
        forward = []
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value
            elif name == b"x-api-key":  # Anthropic clients
                authorization = b"Bearer " + value
            elif name == b"content-length":
                length = value
            elif name == b"host":
                host = value
            elif name == b"origin":
                origin = value
                continue  # never forwarded: see cors.py
            if name not in proxy.DROP_REQUEST:
                forward.append((name, value))
        if origin is not None and not CorsPolicy.same_origin(origin, host):
            text = origin.decode("latin-1")
            if not self.cors.allows(text):
                await dialect.send_error(send, path, 403, f"origin {text} is not allowed to call this service (CORS)",
                                         head_only=head_only)
                self.metrics.finished("", endpoint, 403, time.monotonic() - started)
                return
            if method == "OPTIONS":
                await send({"type": "http.response.start", "status": 204, "headers": self.cors.preflight_headers(origin)})
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                self.metrics.finished("", endpoint, 204, time.monotonic() - started)
                return
            send.extra = self.cors.reply_headers(origin)
        elif method == "OPTIONS" and not management:
            await send({"type": "http.response.start", "status": 204, "headers": []})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            self.metrics.finished("", endpoint, 204, time.monotonic() - started)
            return
        if not management:
            status = message = None
            if is_admin(path):
                status, message = 403, (f"{path} manages models: it is never served on the router's public port; "
                                        "use the management socket inside the pod")
            elif (reason := walled_reason(path)) is not None:
                status, message = 403, f"{path} is not served through the router: {reason}"
            elif not is_public(path):
                status, message = 404, f"{path} is not an endpoint the router serves"
            if status is not None:
                await dialect.send_error(send, path, status, message, head_only=head_only)
                self.metrics.finished("", endpoint, status, time.monotonic() - started)
                return
            if self.keys is not None and not self.keys.check(authorization):
                await dialect.send_error(send, path, 401, "missing or invalid API key: send Authorization: Bearer <key>",
                                         [(b"www-authenticate", b"Bearer")], head_only, code="invalid_api_key")
                self.metrics.finished("", endpoint, 401, time.monotonic() - started)
                return
            if head_only and (path in GET_ONLY or path.startswith("/v1/models/")):
                await dialect.send_text(send, 405, b"405 method not allowed", [(b"allow", b"GET")])
                self.metrics.finished("", endpoint, 405, time.monotonic() - started)
                return
        body = await self._read_body(receive, send, path, length, head_only)
        if body is None or body is False:
            self.metrics.finished("", endpoint, 413 if body is None else 499, time.monotonic() - started)
            return
        model, raw_name = self._model_of(path, body)
        if model and path in KEEP_ALIVE_PATHS and not management:
            body = self.keep_alive.apply(body, model)
        label = self._label(model)
        task = asyncio.current_task()
        flags = {"finished": False, "gone": False}

        async def watch() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            if not flags["finished"]:
                flags["gone"] = True
                task.cancel()

        watcher = asyncio.get_running_loop().create_task(watch())
        status = 0
        try:
            status = await self._route(scope, path, method, forward, body, model, raw_name, label, endpoint, send, started)
        except asyncio.CancelledError:
            task.uncancel()
            if flags["gone"]:
                status = 499
                self.metrics.disconnects.inc()
            else:  # the server is shutting down past its grace period
                status = 503
                await self._answer_shutdown(send, path, head_only)
        except proxy.AbortConnection:
            status = 502
            raise
        finally:
            flags["finished"] = True
            watcher.cancel()
            if status:
                self.metrics.finished(label, endpoint, status, time.monotonic() - started)

    async def _answer_shutdown(self, send: _Out, path: str, head_only: bool) -> None:
        """Past the grace period: 503 + Retry-After before the reply started, else an error ending the stream."""
        message = "the router is shutting down: retry on another replica"
        if not send.started:
            await dialect.send_error(send, path, 503, message, [(b"retry-after", b"1")], head_only)
        elif not send.ended:
            if not send.chunked:
                raise proxy.AbortConnection(message)
            piece = dialect.stream_error(path, send.content_type, message, send.newline)
            await send({"type": "http.response.body", "body": piece, "more_body": False})

    async def _read_body(self, receive, send, path: str, length: bytes | None, head_only: bool) -> bytes | None | bool:
        """The whole body; None when it was too large (413 sent); False when the caller went away."""
        limit = self.config.max_body_bytes
        too_big = f"request body larger than the limit of {limit} bytes"
        if length is not None and length.isdigit() and int(length) > limit:
            await dialect.send_error(send, path, 413, too_big, [(b"connection", b"close")], head_only)
            return None
        parts = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return False
            piece = message.get("body", b"")
            size += len(piece)
            if size > limit:
                await dialect.send_error(send, path, 413, too_big, [(b"connection", b"close")], head_only)
                return None
            parts.append(piece)
            if not message.get("more_body"):
                return parts[0] if len(parts) == 1 else b"".join(parts)

    def _model_of(self, path: str, body: bytes) -> tuple[str, str]:
        """(normalized model, the name as the caller wrote it)."""
        if path.startswith("/v1/models/"):
            raw = path[len("/v1/models/"):]
            return normalize_model(raw), raw
        if path not in SLOT_PATHS and path != "/api/show" or not body:
            return "", ""
        try:
            data = json.loads(body)
        except ValueError:
            return "", ""
        name = data.get("model") or data.get("name") if isinstance(data, dict) else None
        return (normalize_model(name), name) if isinstance(name, str) else ("", "")

    def _label(self, model: str) -> str:
        if not model or model in self.keeper.pins:
            return model
        for backend in self.backends:
            if backend.on_disk and model in backend.on_disk:
                return model
        return "other"

    def _unknown(self, model: str) -> bool:
        """True when every backend has listed its models (polled /api/tags) and none has ``model`` on disk."""
        if not self.backends:
            return False
        for backend in self.backends:
            listed = backend.on_disk
            if listed is None or model in listed:
                return False
        return True

    # -- routing -----------------------------------------------------------------------------------
    async def _route(self, scope, path, method, forward, body, model, raw_name, label, endpoint, send, started) -> int:
        head_only = method == "HEAD"
        if path in UNION_PATHS and method in ("GET", "HEAD"):
            try:
                status, content_type, data = await union(self.backends, path, self._poll_timeout())
            except UpstreamError as exc:
                await dialect.send_error(send, path, 502, str(exc), head_only=head_only)
                return 502
            await send({"type": "http.response.start", "status": status,
                        "headers": [(b"content-type", content_type), (b"content-length", str(len(data)).encode())]})
            await send({"type": "http.response.body", "body": b"" if head_only else data, "more_body": False})
            return status
        query = scope.get("query_string")
        target = scope.get("raw_path") or path.encode()
        if query:
            target += b"?" + query
        use_slot = path in SLOT_PATHS and bool(model)
        if use_slot and is_cloud_model(model):
            await dialect.send_error(send, path, 403, f"model '{raw_name}' is an Ollama cloud model: Ollama would proxy it to "
                                     "ollama.com signed with the pod's identity key; the router does not serve cloud models",
                                     head_only=head_only)
            return 403
        if use_slot and self._unknown(model):
            await dialect.send_error(send, path, 404, dialect.not_found(path, raw_name), head_only=head_only)
            return 404
        loop = asyncio.get_running_loop()
        deadline = 0.0  # set when the request first leaves for a backend: queue time does not count
        failed: Backend | None = None
        while True:
            lease = None
            if use_slot:
                try:
                    lease = await self.balancer.acquire(model, exclude=failed,
                                                        key=self.affinity_key(path, body, model) if failed is None else None)
                except Refused as refused:
                    await dialect.send_error(send, path, refused.status, str(refused),
                                             [(b"retry-after", str(refused.retry_after).encode())], head_only)
                    return refused.status
                backend = lease.backend
                gate = backend.unloading.get(model)
                if gate is not None:
                    await gate.wait()
            else:
                backend = self._pick(model, failed)
                if backend is None:
                    await dialect.send_error(send, path, 503, "no Ollama backend is available (all circuits open)",
                                             [(b"retry-after", str(self.balancer.retry_after()).encode())], head_only)
                    return 503
            if not deadline:
                deadline = loop.time() + self.config.request_timeout
            was_loaded = model in backend.loaded
            ok = False
            try:
                try:
                    response = await proxy.open_reply(backend.pool, method.encode(), target, forward, body, deadline)
                except (UpstreamError, TimeoutError) as exc:
                    if isinstance(exc, UpstreamError):
                        backend.record_failure("connect" if exc.before_response else "response", str(exc))
                        if failed is None and self.retryable(exc) and self._another(model, backend, use_slot):
                            self.metrics.retries.inc()
                            failed = backend
                            continue
                    status, message = proxy.status_of(exc)
                    await dialect.send_error(send, path, status, message, head_only=head_only)
                    return status
                backend.record_success()
                try:
                    result = await proxy.relay(response, send, path, head_only, deadline, self.config.idle_timeout)
                finally:
                    response.close()
                ok = result.complete and 200 <= result.status < 300 and not result.failure
                self._observe(result, path, model, label, endpoint, backend, was_loaded, started)
                return result.failure_status or result.status
            finally:
                if lease is not None:
                    self.balancer.release(lease, ok)

    def _another(self, model: str, failed: Backend, use_slot: bool) -> bool:
        if use_slot:
            return bool(self.balancer.eligible(model, failed))
        return any(b.up and b is not failed for b in self.backends)

    def _pick(self, model: str, exclude: Backend | None) -> Backend | None:
        """A backend for a request that needs no slot: up, preferring one with the model on disk, least busy."""
        best = None
        for backend in self.backends:
            if not backend.up or backend is exclude:
                continue
            rank = (not (model and backend.on_disk and model in backend.on_disk), backend.inflight)
            if best is None or rank < best[0]:
                best = (rank, backend)
        return best[1] if best else None

    def _observe(self, result: proxy.Relay, path: str, model: str, label: str, endpoint: str,
                 backend: Backend, was_loaded: bool, started: float) -> None:
        if result.failure:
            if result.failure_status != 500:  # 500: Ollama itself reported the error; the transport is fine
                backend.record_failure("stream", result.failure)
            log.warning("%s %s: stream from %s failed: %s", path, model, backend.url, result.failure)
        if result.status != 200:
            return
        if result.chunked and result.first_chunk_at:
            self.metrics.ttft.labels(label, endpoint).observe(result.first_chunk_at - started)
        if path in STREAM_STATS_PATHS and not result.failure:
            tps, load = result.final_stats()
            if tps is not None:
                self.metrics.tps.labels(label).observe(tps)
            if load is not None and not was_loaded and load > 0:
                self.metrics.load_duration.labels(label, backend.url).observe(load)

    def _poll_timeout(self) -> float:
        return self.keeper.poll_timeout

    def state(self) -> dict:
        return worker_state(self.config, self.backends, self.balancer, self.draining)

    # -- own endpoints -----------------------------------------------------------------------------
    async def _own(self, path: str, method: str, send) -> None:
        if method not in ("GET", "HEAD"):
            status, content_type, body = 405, b"application/json", b'{"error":"use GET"}'
        elif path == "/livez":
            status, content_type, body = 200, b"application/json", b'{"status":"ok"}'
        elif path == "/readyz":
            ready, report = self.keeper.readiness()
            status, content_type, body = (200 if ready else 503), b"application/json", json.dumps(report, indent=1).encode()
        elif path == "/router/state":
            status, content_type, body = 200, b"application/json", json.dumps(self.state()).encode()
        else:
            status = 200
            content_type, body = self.metrics.render()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": b"" if method == "HEAD" else body, "more_body": False})
