"""A stand-in Kubernetes API server: EndpointSlice list and watch, the way the real one serves them.

Only what the gateway's discovery uses, with the API server's behaviour
(https://kubernetes.io/docs/reference/using-api/api-concepts/#efficient-detection-of-changes):
- ``GET /apis/discovery.k8s.io/v1/namespaces/{ns}/endpointslices?labelSelector=k=v``:
  an ``EndpointSliceList`` whose ``metadata.resourceVersion`` is the current one;
- the same with ``watch=true`` (or 1), ``resourceVersion=N``, ``allowWatchBookmarks``,
  ``timeoutSeconds``: a chunked stream of JSON lines ``{"type", "object"}``
  (ADDED, MODIFIED, DELETED) for every change after N, then live changes, a
  BOOKMARK (an object with only ``metadata.resourceVersion``) every
  ``bookmark_seconds`` when asked, and the end of the stream after timeoutSeconds;
- a resourceVersion older than the kept history (``compact()``) gets an ERROR
  event whose object is a ``Status`` with code 410 (``gone="event"``) or the
  HTTP status 410 itself (``gone="status"``), as API servers do.
Every object change bumps one global resourceVersion (a string of digits, as etcd's).
Tests drive it from their thread: ``put_slice``, ``delete_slice``, ``end_watches``,
``compact``, ``fail_next_watch``.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import socket
import threading
import time
from urllib.parse import parse_qs

import uvicorn

PREFIX = "/apis/discovery.k8s.io/v1/namespaces/"


def endpoint(address: str, ready: bool | None = True, serving: bool | None = None, terminating: bool | None = None) -> dict:
    conditions = {}
    if ready is not None:
        conditions["ready"] = ready
    if serving is not None:
        conditions["serving"] = serving
    if terminating is not None:
        conditions["terminating"] = terminating
    return {"addresses": [address], "conditions": conditions}


class KubeStandIn:
    def __init__(self, bookmark_seconds: float = 0.5) -> None:
        self.bookmark_seconds = bookmark_seconds
        self.rv = 100
        self.objects: dict[tuple[str, str], dict] = {}  # (namespace, name) -> slice
        self.history: list[tuple[int, str, dict]] = []  # (rv, type, object) kept since the compaction
        self.floor = 0  # watches from a resourceVersion below this get 410
        self.gone_mode = "event"
        self.fail_watches = 0
        self.forbidden = False  # every request is refused 403 (a ServiceAccount without the Role)
        self.requests: list[tuple[str, dict]] = []  # (kind "list"/"watch", query)
        self.loop: asyncio.AbstractEventLoop | None = None
        self.changed: asyncio.Condition | None = None
        self.generation = 0  # bumped by end_watches: open streams end

    # -- driven by tests (any thread) -------------------------------------------------------------
    def _call(self, fn, *args):
        done = threading.Event()
        box = {}

        def run():
            try:
                box["value"] = fn(*args)
            finally:
                done.set()

        self.loop.call_soon_threadsafe(run)
        done.wait(5)
        return box.get("value")

    def put_slice(self, namespace: str, name: str, service: str, endpoints: list[dict], port: int,
                  port_name: str = "router", address_type: str = "IPv4") -> int:
        return self._call(self._put, namespace, name, service, endpoints, port, port_name, address_type)

    def delete_slice(self, namespace: str, name: str) -> int:
        return self._call(self._delete, namespace, name)

    def end_watches(self) -> None:
        """Every open watch ends now (as when the API server restarts or its timeout passes)."""
        self._call(self._end)

    def compact(self) -> None:
        """Forget the history: a watch from any resourceVersion before now gets 410 Gone."""
        self._call(self._compact)

    def fail_next_watch(self, count: int = 1, mode: str = "event") -> None:
        """The next ``count`` watches get 410 (an ERROR event, or the HTTP status) whatever their resourceVersion."""
        self.gone_mode = mode
        self.fail_watches = count

    def count(self, kind: str) -> int:
        return sum(1 for k, _ in list(self.requests) if k == kind)

    # -- on the loop -------------------------------------------------------------------------------
    def _bump(self, kind: str, obj: dict) -> int:
        self.rv += 1
        obj["metadata"]["resourceVersion"] = str(self.rv)
        self.history.append((self.rv, kind, copy.deepcopy(obj)))
        self._notify()
        return self.rv

    def _notify(self) -> None:
        async def wake():
            async with self.changed:
                self.changed.notify_all()

        self.loop.create_task(wake())

    def _put(self, namespace, name, service, endpoints, port, port_name, address_type) -> int:
        kind = "MODIFIED" if (namespace, name) in self.objects else "ADDED"
        obj = {"kind": "EndpointSlice", "apiVersion": "discovery.k8s.io/v1",
               "metadata": {"name": name, "namespace": namespace, "labels": {"kubernetes.io/service-name": service}},
               "addressType": address_type, "endpoints": copy.deepcopy(endpoints),
               "ports": [{"name": port_name, "port": port, "protocol": "TCP"}]}
        self.objects[(namespace, name)] = obj
        return self._bump(kind, obj)

    def _delete(self, namespace, name) -> int:
        obj = self.objects.pop((namespace, name))
        return self._bump("DELETED", obj)

    def _end(self) -> None:
        self.generation += 1
        self._notify()

    def _compact(self) -> None:
        self.history.clear()
        self.floor = self.rv + 1

    # -- HTTP ----------------------------------------------------------------------------------------
    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    self.loop = asyncio.get_running_loop()
                    self.changed = asyncio.Condition()
                    await send({"type": "lifespan.startup.complete"})
                else:
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        path = scope["path"]
        query = {k: v[-1] for k, v in parse_qs(scope["query_string"].decode()).items()}
        parts = path[len(PREFIX):].split("/") if path.startswith(PREFIX) else []
        if scope["method"] != "GET" or len(parts) != 2 or parts[1] != "endpointslices":
            await self._json(send, 404, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 404,
                                         "reason": "NotFound", "message": f"{path} not found"})
            return
        namespace = parts[0]
        if self.forbidden:
            self.requests.append(("forbidden", query))
            await self._json(send, 403, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 403,
                                         "reason": "Forbidden", "message": f"endpointslices.discovery.k8s.io is "
                                         f"forbidden: User \"system:serviceaccount:{namespace}:default\" cannot list "
                                         f"resource \"endpointslices\" in API group \"discovery.k8s.io\""})
            return
        selector = query.get("labelSelector", "")
        key, _, value = selector.partition("=")
        if query.get("watch") in ("true", "1", "True"):
            self.requests.append(("watch", query))
            await self._watch(send, namespace, key, value, query)
        else:
            self.requests.append(("list", query))
            items = [o for (ns, _), o in sorted(self.objects.items()) if ns == namespace and self._match(o, key, value)]
            await self._json(send, 200, {"kind": "EndpointSliceList", "apiVersion": "discovery.k8s.io/v1",
                                         "metadata": {"resourceVersion": str(self.rv)}, "items": items})

    @staticmethod
    def _match(obj: dict, key: str, value: str) -> bool:
        return not key or obj["metadata"].get("labels", {}).get(key) == value

    @staticmethod
    async def _json(send, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]})
        await send({"type": "http.response.body", "body": data})

    async def _watch(self, send, namespace: str, key: str, value: str, query: dict) -> None:
        gone = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": "too old resource version", "reason": "Expired", "code": 410}
        since = int(query.get("resourceVersion") or self.rv)
        if self.fail_watches or since < self.floor:
            mode = self.gone_mode if self.fail_watches else "event"
            self.fail_watches = max(0, self.fail_watches - 1)
            if mode == "status":
                await self._json(send, 410, {**gone, "reason": "Gone"})
                return
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"application/json")]})
            await send({"type": "http.response.body", "body": json.dumps({"type": "ERROR", "object": gone}).encode() + b"\n",
                        "more_body": True})
            await send({"type": "http.response.body", "body": b""})
            return
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        deadline = time.monotonic() + float(query.get("timeoutSeconds") or 1800)
        bookmarks = query.get("allowWatchBookmarks") in ("true", "1", "True")
        generation = self.generation
        sent = since
        next_bookmark = time.monotonic() + self.bookmark_seconds
        while True:
            lines = []
            for rv, kind, obj in self.history:
                if rv > sent and obj["metadata"].get("namespace") == namespace and self._match(obj, key, value):
                    lines.append(json.dumps({"type": kind, "object": obj}).encode() + b"\n")
            if self.history:
                sent = max(sent, self.history[-1][0])
            now = time.monotonic()
            if bookmarks and now >= next_bookmark:
                lines.append(json.dumps({"type": "BOOKMARK", "object": {
                    "kind": "EndpointSlice", "apiVersion": "discovery.k8s.io/v1",
                    "metadata": {"resourceVersion": str(self.rv)}}}).encode() + b"\n")
                next_bookmark = now + self.bookmark_seconds
            if lines:
                await send({"type": "http.response.body", "body": b"".join(lines), "more_body": True})
            if now >= deadline or generation != self.generation:
                break
            try:
                async with self.changed:
                    await asyncio.wait_for(self.changed.wait(), min(deadline, next_bookmark) - now + 0.01)
            except TimeoutError:
                pass
            except asyncio.CancelledError:  # the stand-in is stopping
                return
        await send({"type": "http.response.body", "body": b""})


@contextlib.contextmanager
def serve_kube(standin: KubeStandIn | None = None):
    """(stand-in, its URL) on a loopback port, served by uvicorn in a thread."""
    standin = standin or KubeStandIn()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(standin, lifespan="on", log_level="warning", access_log=False, timeout_graceful_shutdown=1)
    server = uvicorn.Server(config)
    server.install_signal_handlers = lambda: None  # noqa: E731 (older uvicorn)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True, name="kube-standin")
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        yield standin, f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        standin.end_watches()  # open watches end, so the server stops at once
        server.should_exit = True
        thread.join(timeout=5)
        sock.close()


def kubeconfig(tmp_path, url: str) -> str:
    """A kubeconfig file pointing at the stand-in (what ``load_kube_config`` reads for local use)."""
    path = tmp_path / "kubeconfig"
    path.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "standin",
        "clusters": [{"name": "standin", "cluster": {"server": url}}],
        "users": [{"name": "tester", "user": {"token": "test-token"}}],
        "contexts": [{"name": "standin", "context": {"cluster": "standin", "user": "tester", "namespace": "ml"}}],
    }), encoding="utf-8")
    return str(path)
