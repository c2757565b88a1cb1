"""The router in role gateway: one entry point in front of a pool of workers (each a sidecar router and its Ollama).

The gateway reuses the sidecar's whole request path (app.py: CORS, the admin
wall, API keys, body limit, backpressure queue, relaying, metrics) and its
balancer (balancer.py); what differs is what a backend is:

- a backend is a worker's router (``WorkerBackend``). Its state comes from the
  worker's ``GET /router/state`` every ``pollIntervalSeconds`` (models on disk
  and loaded, slots per model, model limit, memory, queue, in-flight, draining)
  plus ``/api/tags`` when its models on disk change (for model sizes), and from
  the gateway's own traffic in between (a request in flight for M means M is
  loaded or loading there), as the sidecar learns from /api/ps;
- outstanding requests on a worker are the gateway's own plus what the worker
  reported beyond them (other gateway replicas), so replicas do not pile onto
  one worker;
- workers come and go (static ``workers``, or EndpointSlices: discovery.py).
  A worker marked terminating, or that reports ``draining``, gets no new
  request and finishes what it has; a removed worker is dropped once its
  requests finished;
- prefix affinity: the balancer's ``ring`` (hashring.py) keeps a conversation
  on one worker among those holding its model, within ``hashLoadFactor`` x the
  average load;
- ``minWorkers``: a model is warmed on further workers until that many hold it;
- idle unloading: a model that no request used on a worker for
  ``idleUnloadSeconds`` and that is not needed there for ``minWorkers`` is
  unloaded through the worker (``keep_alive: 0``), so copies spread under load
  go away again.

Retries: a request whose connection to a worker could not be made (refused,
timed out: the worker is gone or killed, nothing of the request left the
gateway) is retried once on another worker. Nothing else is retried: once a
byte of the request went out, the worker may be generating, and a second
attempt could run the prompt twice; such a failure is the caller's 502.
"""

from __future__ import annotations

import asyncio
import logging
import time

from catalog_gen.router.app import SLOT_PATHS, RouterApp
from catalog_gen.router.backends import Backend, normalize_model
from catalog_gen.router.balancer import Balancer
from catalog_gen.router.config import RouterConfig
from catalog_gen.router.hashring import HashRing, prefix_key
from catalog_gen.router.metrics import Metrics
from catalog_gen.router.upstream import UpstreamError
from catalog_gen.router.warm import Keeper, _WarmState

log = logging.getLogger("catalog_gen.router")
AFFINITY_PATHS = SLOT_PATHS - {"/api/embed", "/api/embeddings", "/v1/embeddings"}


class WorkerBackend(Backend):
    """A worker's router, as the gateway sees it."""

    def __init__(self, url: str, config: RouterConfig, metrics: Metrics) -> None:
        super().__init__(url, config.worker_slots or 1, config.connect_timeout, metrics,
                         config.breaker_failures, config.breaker_cooldown)
        self.fixed_slots = config.worker_slots
        self.external = 0.0  # requests on the worker that are not this gateway's (other replicas)
        self.external_by_model: dict[str, int] = {}
        self.terminating = False  # discovery: EndpointSlice condition terminating
        self.removed = False  # discovery: gone from the EndpointSlices (dropped once idle)
        self.reported_draining = False  # the worker's own state says it is shutting down
        self.polled = False  # a state answer arrived since the circuit last closed
        self.idle_seconds: dict[str, float] = {}  # model -> idle seconds the worker reported, at the last poll
        self._tags_seen: frozenset[str] | None = None
        self.digests: dict[str, str] = {}  # name -> digest, from the worker's /api/tags

    def load(self) -> float:
        return self.inflight + self.external

    def serving(self, model: str) -> bool:
        return self.inflight_by_model.get(model, 0) > 0 or self.external_by_model.get(model, 0) > 0

    def has_slot(self, model: str) -> bool:
        return self.busy.get(model, 0) + self.external_by_model.get(model, 0) < self.slots

    def update_draining(self) -> None:
        self.draining = self.terminating or self.removed or self.reported_draining

    def _open(self, message: str) -> None:
        self.polled = False
        super()._open(message)

    async def poll(self, timeout: float) -> bool:
        """One round: GET /router/state (and /api/tags when the models on disk changed). True if anything changed."""
        if self.state == "open":
            if time.monotonic() - self.opened_at < self.cooldown:
                return False
            self.state = "half-open"
        sent = time.monotonic()
        own_at_send = dict(self.busy)
        try:
            state = await self.get_json("/router/state", timeout)
            on_disk = frozenset(normalize_model(str(m)) for m in (state.get("models") or {}).get("onDisk") or [])
            tags = await self.get_json("/api/tags", timeout) if on_disk != self._tags_seen else None
        except (UpstreamError, TimeoutError) as exc:
            self.record_failure("connect" if isinstance(exc, UpstreamError) and exc.before_response else "response",
                                str(exc) or "timed out")
            return self.state != "closed"
        changed = self.record_success() or not self.polled
        self.polled = True
        # this gateway's requests as the worker may have counted them: those of the moment the poll was sent
        # or of now, whichever is more (others' load is better under-estimated than invented: an invented load
        # holds slots back until the next poll, an unseen one only queues briefly at the worker)
        own = {m: max(n, self.busy.get(m, 0)) for m, n in own_at_send.items()}
        for model, count in self.busy.items():
            own[model] = max(own.get(model, 0), count)
        self._apply(state, on_disk, tags, sent, own)
        return changed or True  # slots may have freed on the worker: let the balancer look again

    def _apply(self, state: dict, on_disk: frozenset[str], tags: dict | None, sent: float, own: dict[str, int]) -> None:
        slots = state.get("slots") or {}
        per_model = slots.get("perModel")
        if self.fixed_slots is None and isinstance(per_model, int) and per_model >= 1:
            self.slots = per_model
            self.metrics.slots.labels(self.url).set(per_model)
        limit = state.get("maxLoadedModels")
        self.max_models = limit if isinstance(limit, int) and limit >= 1 else None
        memory = state.get("memory")
        total = memory.get("totalBytes") if isinstance(memory, dict) else None
        self.memory = total if isinstance(total, int) and total > 0 else None
        self.reported_draining = state.get("draining") is True
        self.update_draining()
        if tags is not None:
            listed = [m for m in tags.get("models") or [] if isinstance(m, dict)]
            self.sizes.update({normalize_model(str(m.get("name", ""))): int(m["size"]) for m in listed
                               if isinstance(m.get("size"), int) and not isinstance(m.get("size"), bool)})
            self.digests = {normalize_model(str(m.get("name", ""))): str(m.get("digest", "")) for m in listed}
            self._tags_seen = on_disk
        self.on_disk = {name: self.digests.get(name, "") for name in on_disk}  # digests: for the models' pins
        self.on_disk_ok = True
        reported = [m for m in (state.get("models") or {}).get("loaded") or [] if isinstance(m, dict) and m.get("name")]
        external = {}
        idle = {}
        listed = set()
        for entry in reported:
            name = normalize_model(str(entry["name"]))
            listed.add(name)
            size = entry.get("sizeBytes")
            if isinstance(size, int) and size > 0:
                self.sizes[name] = size
            used = _int(entry.get("inflight")) + _int(entry.get("queued"))
            others = max(0, used - own.get(name, 0))
            if others:
                external[name] = others
            seconds = entry.get("idleSeconds")
            idle[name] = float(seconds) if isinstance(seconds, (int, float)) else 0.0
        self.external_by_model = external
        self.idle_seconds = idle
        total_own = sum(own.values())
        self.external = max(0, _int(state.get("inflight")) + _int(state.get("queue")) - total_own)
        self.adopt_loaded(listed, sent)


def _int(value) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


class GatewayKeeper(Keeper):
    """Polls workers, keeps ``minWorkers`` copies warm, unloads idle copies; readiness of the gateway."""

    def __init__(self, config: RouterConfig, backends: list[Backend], metrics: Metrics, on_change,
                 balancer: Balancer) -> None:
        self.balancer = balancer
        self.synced = config.worker_discovery is None  # static workers: known from the start
        super().__init__(config, backends, metrics, on_change)

    def add(self, backend: Backend) -> None:
        for name in self.pins:
            self.state.setdefault((name, backend.url), _WarmState())

    def forget(self, backend: Backend) -> None:
        for name in self.pins:
            self.state.pop((name, backend.url), None)

    def _workers(self) -> list[WorkerBackend]:
        return [b for b in self.backends if b.up and not b.draining and getattr(b, "polled", False)]

    def _warm_due(self, backend: Backend) -> None:
        """Warm a ``minWorkers`` model on the best further worker while fewer than that many hold it."""
        workers = self._workers()
        now = time.monotonic()
        for name, pin in self.pins.items():
            if pin.min_workers <= 0:
                continue
            states = [self.state.get((name, b.url)) for b in self.backends]
            if any(st is not None and st.warming for st in states):
                continue  # one warm-up of a model at a time across the pool
            holding = [b for b in workers if b.has_model(name)]
            if len(holding) >= pin.min_workers:
                continue
            candidates = [b for b in workers if not b.has_model(name) and self.balancer.accepts(b, name)
                          and (b.on_disk is None or name in b.on_disk)
                          and now >= self.state.setdefault((name, b.url), _WarmState()).next_try
                          and self.balancer.fits(b, name, evict=True)]
            if not candidates:
                continue
            clean = [b for b in candidates if self.balancer.fits(b, name, evict=False)]
            target = min(clean or candidates, key=lambda b: (b.load(), b.index))
            st = self.state[(name, target.url)]
            st.warming = True
            self._spawn(self._warm(target, pin, name, st))

    def _unload_due(self, backend: Backend) -> None:
        workers = self._workers()
        for model in list(backend.loaded):
            if backend.inflight_by_model.get(model) or model in backend.unloading:
                continue
            if backend.external_by_model.get(model):
                continue
            reported_idle = backend.idle_seconds.get(model, 0.0)
            own_idle = time.monotonic() - backend.last_used.get(model, time.monotonic())
            if min(reported_idle, own_idle) < self.config.idle_unload:
                continue
            pin = self.pins.get(model)
            if pin is not None and pin.min_workers:
                holding = [b for b in workers if b.has_model(model)]
                if len(holding) <= pin.min_workers:
                    continue
            backend.unloading[model] = asyncio.Event()
            self._spawn(self._unload(backend, model, pin))

    def readiness(self) -> tuple[bool, dict]:
        ready_workers = [b.url for b in self._workers()]
        ready = self.synced and bool(ready_workers)
        workers = [{"url": b.url, "state": b.state, "polled": getattr(b, "polled", False),
                    "terminating": getattr(b, "terminating", False), "draining": b.draining,
                    "loaded": sorted(b.loaded), "inflight": b.inflight} for b in self.backends]
        models = []
        for name, pin in self.pins.items():
            holding = [b.url for b in self._workers() if b.has_model(name)]
            models.append({"name": pin.name, "minWorkers": pin.min_workers, "workers": holding,
                           "ready": len(holding) >= max(1, pin.min_workers) or pin.min_workers == 0})
        body = {"ready": ready, "role": "gateway", "discoverySynced": self.synced, "workersReady": ready_workers,
                "workers": workers, "models": models}
        return ready, body


class GatewayApp(RouterApp):
    def __init__(self, config: RouterConfig, kube_api_client=None) -> None:
        super().__init__(config)
        self.keeper = GatewayKeeper(config, self.backends, self.metrics, self.balancer.dispatch, self.balancer)
        if config.prefix_affinity:
            self.balancer.ring = HashRing(config.hash_load_factor)
        self._workers: dict[str, asyncio.Task] = {}
        self._next_index = 0
        self.discovery = None
        if config.worker_discovery is not None:  # the API client is made now: a missing kubeconfig fails at start
            from catalog_gen.router.discovery import EndpointSliceWatch

            self.discovery = EndpointSliceWatch(config.worker_discovery, self, kube_api_client)
        for url in config.workers:
            self.add_worker(url, start=False)

    def _make_backends(self, config: RouterConfig) -> list[Backend]:
        return []

    # -- workers come and go ---------------------------------------------------------------------
    def worker(self, url: str) -> WorkerBackend | None:
        for backend in self.backends:
            if backend.url == url:
                return backend
        return None

    def add_worker(self, url: str, start: bool = True) -> WorkerBackend:
        backend = self.worker(url)
        if backend is not None:
            if backend.removed:
                backend.removed = False
                backend.update_draining()
                if self.balancer.ring is not None:
                    self.balancer.ring.add(url)
                log.info("gateway: worker %s is back", url)
            return backend
        backend = WorkerBackend(url, self.config, self.metrics)
        backend.index = self._next_index
        self._next_index += 1
        self.backends.append(backend)
        self.keeper.add(backend)
        if self.balancer.ring is not None:
            self.balancer.ring.add(url)
        if start:
            self._start(backend)
        log.info("gateway: worker %s added", url)
        return backend

    def set_terminating(self, url: str, terminating: bool) -> None:
        backend = self.worker(url)
        if backend is not None and backend.terminating != terminating:
            backend.terminating = terminating
            backend.update_draining()
            log.info("gateway: worker %s %s", url, "is terminating: draining" if terminating else "is serving again")
            self.balancer.dispatch()

    def remove_worker(self, url: str) -> None:
        backend = self.worker(url)
        if backend is None or backend.removed:
            return
        backend.removed = True
        backend.update_draining()
        if self.balancer.ring is not None:
            self.balancer.ring.remove(url)
        log.info("gateway: worker %s removed: dropped once its %d request(s) finished", url, backend.inflight)
        asyncio.get_running_loop().create_task(self._drop_when_idle(backend))

    async def _drop_when_idle(self, backend: WorkerBackend) -> None:
        while backend.removed and (backend.inflight or any(backend.inflight_by_model.values())):
            await asyncio.sleep(0.05)
        if not backend.removed:
            return
        if backend in self.backends:
            self.backends.remove(backend)
        self.keeper.forget(backend)
        task = self._workers.pop(backend.url, None)
        if task is not None:
            task.cancel()
        backend.pool.close()
        self.metrics.forget_backend(backend.url)
        self.balancer.dispatch()

    def _start(self, backend: Backend) -> None:
        self._workers[backend.url] = asyncio.get_running_loop().create_task(self.keeper.run(backend))

    # -- lifespan / routing hooks ----------------------------------------------------------------
    def start_background(self) -> list[asyncio.Task]:
        for backend in self.backends:
            if backend.url not in self._workers:
                self._start(backend)
        if self.discovery is None:
            return []
        return [asyncio.get_running_loop().create_task(self.discovery.run())]

    def stop_background(self) -> None:
        if self.discovery is not None:
            self.discovery.stop()
        for task in self._workers.values():
            task.cancel()

    def affinity_key(self, path: str, body: bytes, model: str) -> str | None:
        if self.balancer.ring is None or path not in AFFINITY_PATHS:
            return None
        return prefix_key(model, body)

    def retryable(self, exc: UpstreamError) -> bool:
        return exc.connect
