"""The router as an ASGI application: the order of checks for every request, and the router's own endpoints.

Order for a forwarded request: the admin wall (403 unless loopback; paths not
on the public allowlist are 404 for remote callers), the API key (401), the
body limit (413, from Content-Length at once or while reading), then the
route: listings are answered as a union across backends; inference endpoints
take a slot (model-aware, queued with backpressure); everything else goes to
the least busy backend without a slot. A failure before the first byte of the
reply is retried once on another backend. While the request is relayed a
watcher waits for the caller to go away and cancels the work, which closes
the upstream connection (Ollama then stops generating) and frees the slot.

``/livez``, ``/readyz`` and ``/metrics`` are the router's own and need no key.
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
from catalog_gen.router.metrics import Metrics
from catalog_gen.router.security import ApiKeys, is_admin, is_loopback, is_public
from catalog_gen.router.union import UNION_PATHS, union
from catalog_gen.router.upstream import UpstreamError
from catalog_gen.router.warm import Keeper

log = logging.getLogger("catalog_gen.router")
SLOT_PATHS = frozenset({"/api/generate", "/api/chat", "/api/embed", "/api/embeddings",
                        "/v1/chat/completions", "/v1/completions", "/v1/embeddings"})
STREAM_STATS_PATHS = frozenset({"/api/generate", "/api/chat"})
KNOWN_ENDPOINTS = SLOT_PATHS | {"/", "/api/version", "/api/tags", "/api/ps", "/api/show", "/v1/models",
                                "/api/pull", "/api/push", "/api/delete", "/api/create", "/api/copy"}
OWN_PATHS = frozenset({"/livez", "/readyz", "/metrics"})
KEY_RELOAD_SECONDS = 1.0


def endpoint_label(path: str) -> str:
    if path in KNOWN_ENDPOINTS:
        return path
    if path.startswith("/api/blobs/"):
        return "/api/blobs"
    if path.startswith("/v1/models/"):
        return "/v1/models/{model}"
    return "other"


class RouterApp:
    def __init__(self, config: RouterConfig) -> None:
        self.config = config
        self.metrics = Metrics()
        self.backends = [Backend(url, config.slots_per_backend, config.connect_timeout, self.metrics,
                                 config.breaker_failures, config.breaker_cooldown) for url in config.backends]
        pins = {normalize_model(m.name): m.digest for m in config.models if m.digest}
        self.balancer = Balancer(self.backends, config.max_queue, config.queue_timeout, self.metrics, pins)
        self.keeper = Keeper(config, self.backends, self.metrics, self.balancer.dispatch)
        self.keys = ApiKeys(config.api_keys_file) if config.api_keys_file else None
        self._tasks: list[asyncio.Task] = []

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "lifespan":
            await self._lifespan(receive, send)

    # -- lifespan ----------------------------------------------------------------------------------
    async def _lifespan(self, receive, send) -> None:
        await receive()
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self.keeper.run(b)) for b in self.backends]
        if self.keys is not None:
            self._tasks.append(loop.create_task(self._reload_keys()))
        await send({"type": "lifespan.startup.complete"})
        await receive()
        for task in self._tasks:
            task.cancel()
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
    async def _http(self, scope, receive, send) -> None:
        path = scope["path"]
        method = scope["method"]
        if path in OWN_PATHS:
            await self._own(path, method, send)
            return
        started = time.monotonic()
        endpoint = endpoint_label(path)
        head_only = method == "HEAD"
        if is_admin(path) or not is_public(path):
            if not is_loopback(scope.get("client")):
                status = 403 if is_admin(path) else 404
                message = (f"{path} manages models and is only served to callers inside the pod (loopback)"
                           if status == 403 else f"{path} is not an endpoint the router serves to remote callers")
                await dialect.send_error(send, path, status, message, head_only=head_only)
                self.metrics.finished("", endpoint, status, time.monotonic() - started)
                return
        authorization = None
        length = None
        forward = []
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value
            elif name == b"content-length":
                length = value
            if name not in proxy.DROP_REQUEST:
                forward.append((name, value))
        if self.keys is not None and not self.keys.check(authorization):
            await dialect.send_error(send, path, 401, "missing or invalid API key: send Authorization: Bearer <key>",
                                     [(b"www-authenticate", b"Bearer")], head_only)
            self.metrics.finished("", endpoint, 401, time.monotonic() - started)
            return
        body = await self._read_body(receive, send, path, length, head_only)
        if body is None or body is False:
            self.metrics.finished("", endpoint, 413 if body is None else 499, time.monotonic() - started)
            return
        model = self._model_of(path, body)
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
            status = await self._route(scope, path, method, forward, body, model, label, endpoint, send, started)
        except asyncio.CancelledError:
            if not flags["gone"]:
                raise
            task.uncancel()
            status = 499
            self.metrics.disconnects.inc()
        except proxy.AbortConnection:
            status = 502
            raise
        finally:
            flags["finished"] = True
            watcher.cancel()
            if status:
                self.metrics.finished(label, endpoint, status, time.monotonic() - started)

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

    def _model_of(self, path: str, body: bytes) -> str:
        if path.startswith("/v1/models/"):
            return normalize_model(path[len("/v1/models/"):])
        if path not in SLOT_PATHS and path != "/api/show" or not body:
            return ""
        try:
            data = json.loads(body)
        except ValueError:
            return ""
        name = data.get("model") or data.get("name") if isinstance(data, dict) else None
        return normalize_model(name) if isinstance(name, str) else ""

    def _label(self, model: str) -> str:
        if not model or model in self.keeper.pins:
            return model
        for backend in self.backends:
            if backend.on_disk and model in backend.on_disk:
                return model
        return "other"

    # -- routing -----------------------------------------------------------------------------------
    async def _route(self, scope, path, method, forward, body, model, label, endpoint, send, started) -> int:
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
        deadline = 0.0  # set when the request first leaves for a backend: queue time does not count
        failed: Backend | None = None
        while True:
            lease = None
            if use_slot:
                try:
                    lease = await self.balancer.acquire(model, exclude=failed)
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
                deadline = asyncio.get_running_loop().time() + self.config.request_timeout
            was_loaded = model in backend.loaded
            ok = False
            try:
                try:
                    response = await proxy.open_reply(backend.pool, method.encode(), target, forward, body, deadline)
                except (UpstreamError, TimeoutError) as exc:
                    if isinstance(exc, UpstreamError):
                        backend.record_failure("connect" if exc.before_response else "response", str(exc))
                        if failed is None and self._another(model, backend, use_slot):
                            self.metrics.retries.inc()
                            failed = backend
                            continue
                    status, message = proxy.status_of(exc)
                    await dialect.send_error(send, path, status, message, head_only=head_only)
                    return status
                backend.record_success()
                try:
                    result = await proxy.relay(response, send, path, head_only, deadline)
                finally:
                    response.close()
                ok = result.complete and 200 <= result.status < 300
                self._observe(result, path, model, label, endpoint, backend, was_loaded, started)
                return result.status if not result.failure else 502
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
            backend.record_failure("stream", result.failure)
            log.warning("%s %s: stream from %s cut: %s", path, model, backend.url, result.failure)
        if result.status != 200:
            return
        if result.chunked and result.first_chunk_at:
            self.metrics.ttft.labels(label, endpoint).observe(result.first_chunk_at - started)
        if path in STREAM_STATS_PATHS:
            tps, load = result.final_stats()
            if tps is not None:
                self.metrics.tps.labels(label).observe(tps)
            if load is not None and not was_loaded and load > 0:
                self.metrics.load_duration.labels(label, backend.url).observe(load)

    def _poll_timeout(self) -> float:
        return self.keeper.poll_timeout

    # -- own endpoints -----------------------------------------------------------------------------
    async def _own(self, path: str, method: str, send) -> None:
        if method not in ("GET", "HEAD"):
            status, content_type, body = 405, b"application/json", b'{"error":"use GET"}'
        elif path == "/livez":
            status, content_type, body = 200, b"application/json", b'{"status":"ok"}'
        elif path == "/readyz":
            ready, report = self.keeper.readiness()
            status, content_type, body = (200 if ready else 503), b"application/json", json.dumps(report, indent=1).encode()
        else:
            status = 200
            content_type, body = self.metrics.render()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": b"" if method == "HEAD" else body, "more_body": False})
