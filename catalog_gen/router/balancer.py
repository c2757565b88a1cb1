"""Slots, the bounded FIFO queue, and model-aware choice of backend.

Slots are per model and backend: Ollama gives every loaded model a runner of
its own with OLLAMA_NUM_PARALLEL slots (``slots``), so a backend holding two
models serves ``slots`` requests of each at once; what limits a backend as a
whole is how many models it may hold (``max_models``, its
OLLAMA_MAX_LOADED_MODELS) and, when known, its ``memory``.

A request for model M may use the backends that are up, not draining, accept M
(its digest pin is not contradicted by their /api/tags, and M is on their disk
when they listed it) and already have M (loaded, or a request for it in flight
there, i.e. being loaded) with a free slot of M: the one with the fewest
requests in flight wins (with a ``ring``, the conversation's worker unless it
is above its bounded share: hashring.py). When no backend has M it is placed
cold: only where it fits without evicting a model that is serving requests
(fewer busy models than ``max_models``, their sizes plus M's within
``memory``), preferring a backend where nothing has to be evicted at all, then
the least loaded; from then on M "lives" there, so one model is not loaded on
every backend.

Spreading under load: when every backend that has M is full and a request for
M is already waiting (M's queue grows: one waiting request is a whole
generation of delay, a load on an idle backend usually less), M is placed on a
further accepting backend with a free slot where it fits without evicting
anything (measured with benchmarks/pool.py, 12 models on 4 workers that hold
2: letting a spread evict idle models raised model loads from 77 to 97 and
p95 time to first token from 6.9 s to 9.1 s; the evicted model comes back). So a busy model uses every free slot instead of queueing behind one
backend; idle unloading takes it off those backends again once they stop using
it. A model-less request is never queued.

When no eligible backend has a free slot the request waits in one FIFO queue
of at most ``max_queue`` entries for ``queue_timeout`` seconds. A freed slot is
handed to the oldest waiter that may use that backend, so a free slot and an
eligible waiter never coexist. Full queue: QueueFull at once (429 with
Retry-After); deadline passed: QueueTimeout (503).
"""

from __future__ import annotations

import asyncio
import collections
import math
import time

from catalog_gen.router.backends import Backend
from catalog_gen.router.metrics import Metrics


SPREAD_AFTER_WAITING = 1  # requests for a model already queued before it is placed on a further backend


class Refused(Exception):
    """No slot for this request. ``status`` and ``retry_after`` go into the reply."""

    status = 503
    reason = "no_backend"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class QueueFull(Refused):
    status = 429
    reason = "full"


class QueueTimeout(Refused):
    reason = "timeout"


class NoBackend(Refused):
    reason = "no_backend"


class Lease:
    __slots__ = ("backend", "model", "started")

    def __init__(self, backend: Backend, model: str) -> None:
        self.backend = backend
        self.model = model
        self.started = time.monotonic()


class _Waiter:
    __slots__ = ("model", "future", "since", "exclude", "key")

    def __init__(self, model: str, future: asyncio.Future, exclude: Backend | None, key: str | None) -> None:
        self.model = model
        self.key = key
        self.exclude = exclude
        self.future = future
        self.since = time.monotonic()


class Balancer:
    def __init__(self, backends: list[Backend], max_queue: int, queue_timeout: float, metrics: Metrics,
                 pins: dict[str, str] | None = None, max_models: int = 3, memory: int | None = None) -> None:
        self.backends = backends
        self.max_models = max_models
        self.memory = memory
        self.max_queue = max_queue
        self.queue_timeout = queue_timeout
        self.metrics = metrics
        self.pins = pins or {}  # normalized model name -> pinned digest
        self.ring = None  # a HashRing for prefix affinity (the gateway), or None
        self.queue: collections.deque[_Waiter] = collections.deque()
        self.waiting: dict[str, int] = {}  # model -> requests for it in the queue
        self.avg_hold = 1.0  # EWMA of seconds a request holds a slot, for Retry-After
        self._depth = metrics.queue_depth
        self._wait = metrics.queue_wait

    def accepts(self, backend: Backend, model: str) -> bool:
        if backend.on_disk is None or not model:
            return True
        digest = backend.on_disk.get(model)
        if digest is None:
            return not backend.on_disk_ok  # a backend that listed its models and lacks M cannot serve it
        pin = self.pins.get(model)
        return pin is None or digest == pin

    def _split(self, model: str, exclude: Backend | None) -> tuple[list[Backend], list[Backend]]:
        """(accepting backends that have ``model``, the other accepting backends)."""
        ups = [b for b in self.backends if b.up and not b.draining and b is not exclude and self.accepts(b, model)]
        if not model:
            return [], ups
        having = [b for b in ups if b.has_model(model)]
        return having, [b for b in ups if not b.has_model(model)]

    def eligible(self, model: str, exclude: Backend | None = None) -> list[Backend]:
        having, others = self._split(model, exclude)
        return having or others

    def limits(self, backend: Backend) -> tuple[int, int | None]:
        """(models it may hold, bytes for models or None): what the backend reported, else the router's settings."""
        memory = backend.memory if backend.memory is not None else self.memory
        return backend.max_models or self.max_models, memory

    def fits(self, backend: Backend, model: str, evict: bool) -> bool:
        """Whether ``model`` can be loaded on ``backend`` next to what it holds.

        ``evict``: models with nothing in flight there may be evicted by Ollama to make room (idle first, as its
        scheduler does); a model serving requests never is. Without ``evict`` everything held stays. For a cold
        placement (``evict``) a model that would be alone always fits: Ollama loads it anyway, spilling to CPU.
        """
        held = backend.held_models() - {model}
        if evict:
            held = {m for m in held if backend.serving(m)}
        if evict and not held:
            return True
        max_models, memory = self.limits(backend)
        if len(held) >= max_models:
            return False
        return memory is None or sum(backend.size_of(m) for m in held) + backend.size_of(model) <= memory

    def _least(self, candidates: list[Backend], model: str, key: str | None) -> Backend:
        if key is not None and self.ring is not None and len(candidates) > 1:
            # the bound is against the average over the backends holding the model (its replicas, as in KubeAI)
            holders = [b for b in self.backends if b.up and not b.draining and b.has_model(model)] or candidates
            loads = {b.url: b.load() for b in candidates}
            chosen = self.ring.choose(key, loads, sum(b.load() for b in holders), len(holders))
            for backend in candidates:
                if backend.url == chosen:
                    return backend
        return min(candidates, key=lambda b: (b.load(), b.index))

    def _free(self, model: str, exclude: Backend | None = None, queued: bool = False, key: str | None = None) -> Backend | None:
        """The backend to give a slot to, or None. ``queued``: asked for a request already in the queue.

        Slots are per model and backend (each loaded model has its own OLLAMA_NUM_PARALLEL slots); the
        backend's model limit and memory decide where a model not yet there may go.
        """
        having, others = self._split(model, exclude)
        if not model:
            free = [b for b in others if b.inflight < b.slots]
            return self._least(free, model, None) if free else None
        free = [b for b in having if b.has_slot(model)]
        if free:
            return self._least(free, model, key)
        if having:  # every backend with the model is full: spread only when requests for it already wait
            if self.waiting.get(model, 0) - (1 if queued else 0) < SPREAD_AFTER_WAITING:
                return None
            room = [b for b in others if b.has_slot(model) and self.fits(b, model, evict=False)]
            return self._least(room, model, None) if room else None
        # cold: never where a model serving requests would have to go; prefer where nothing is evicted at all
        room = [b for b in others if b.has_slot(model) and self.fits(b, model, evict=True)]
        if not room:
            return None
        clean = [b for b in room if self.fits(b, model, evict=False)]
        return self._least(clean or room, model, None)

    def retry_after(self) -> int:
        slots = sum(b.slots for b in self.backends if b.up) or 1
        estimate = math.ceil(self.avg_hold * (len(self.queue) + 1) / slots)
        return max(1, min(estimate, math.ceil(self.queue_timeout)))

    async def acquire(self, model: str, exclude: Backend | None = None, key: str | None = None) -> Lease:
        """A slot for ``model`` (never on ``exclude``, the backend that just failed it). Raises Refused.

        ``key``: the conversation key for prefix affinity (used when the balancer has a ``ring``).
        """
        backend = self._free(model, exclude, key=key)
        if backend is not None:
            spread = not backend.has_model(model) and self.waiting.get(model)
            backend.take(model)
            if spread:  # requests already waiting for this model may use the new backend's other slots too
                self.dispatch()
            return Lease(backend, model)
        if not self.eligible(model, exclude):
            self.metrics.rejections.labels("no_backend").inc()
            if any(b.up for b in self.backends):
                pin = self.pins.get(model)
                if pin is None:
                    raise NoBackend(f"no backend that has model '{model}' is available", self.retry_after())
                raise NoBackend(f"model '{model}' is pinned to digest {pin} and no backend has that digest; "
                                "the router refuses to serve another version", self.retry_after())
            raise NoBackend("no Ollama backend is available (all circuits open)", self.retry_after())
        if len(self.queue) >= self.max_queue:
            self.metrics.rejections.labels("full").inc()
            raise QueueFull(f"too many requests: {len(self.queue)} already waiting for a slot", self.retry_after())
        future = asyncio.get_running_loop().create_future()
        waiter = _Waiter(model, future, exclude, key)
        self.queue.append(waiter)
        self.waiting[model] = self.waiting.get(model, 0) + 1
        self._depth.set(len(self.queue))
        try:
            async with asyncio.timeout(self.queue_timeout):
                backend = await future
        except TimeoutError:
            if future.done() and not future.cancelled():  # the slot arrived as the deadline passed
                backend = future.result()
            else:
                self.metrics.rejections.labels("timeout").inc()
                raise QueueTimeout(f"no slot became free within {self.queue_timeout:g}s", self.retry_after()) from None
        except BaseException:
            if future.done() and not future.cancelled():  # handed a slot, then cancelled: give it back
                future.result().give_back(model, False)
                self.dispatch()
            raise
        finally:
            if not future.done():
                future.cancel()
            try:
                self.queue.remove(waiter)
            except ValueError:
                pass
            else:
                self._unwait(model)
            self._depth.set(len(self.queue))
        self._wait.observe(time.monotonic() - waiter.since)
        return Lease(backend, model)

    def release(self, lease: Lease, ok: bool) -> None:
        held = time.monotonic() - lease.started
        self.avg_hold += 0.1 * (held - self.avg_hold)
        lease.backend.give_back(lease.model, ok)
        if self.queue:
            self.dispatch()

    def dispatch(self) -> None:
        """Hand free slots to the oldest waiters that may use them (after a release or a state change)."""
        for waiter in list(self.queue):
            if waiter.future.done():
                continue
            backend = self._free(waiter.model, waiter.exclude, queued=True, key=waiter.key)
            if backend is None:
                continue
            backend.take(waiter.model)
            waiter.future.set_result(backend)
            self.queue.remove(waiter)
            self._unwait(waiter.model)
        self._depth.set(len(self.queue))

    def _unwait(self, model: str) -> None:
        left = self.waiting.get(model, 1) - 1
        if left:
            self.waiting[model] = left
        else:
            self.waiting.pop(model, None)
