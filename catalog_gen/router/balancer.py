"""Slots, the bounded FIFO queue, and model-aware choice of backend.

A request for model M may use the backends that are up, accept M (its digest
pin is not contradicted by their /api/tags, and M is on their disk when they
listed it) and already have M (loaded, or a request for it in flight there,
i.e. being loaded): the one with the fewest requests in flight wins. When no
backend has M, every accepting backend is eligible and the least loaded gets
it; from then on M "lives" there, so one model is not loaded on every backend.

Spreading under load: when every backend that has M is full and a request for
M is already waiting (M's queue grows: one waiting request is a whole
generation of delay, a load on an idle backend usually less), M is placed on a
further accepting backend that has a free slot and room for it: fewer than
``max_models`` models there (Ollama's OLLAMA_MAX_LOADED_MODELS) and, when
``memory`` is known, the sizes of its models plus M's within it. So a busy
model uses every free slot instead of queueing behind one backend; the
router's idle unloading takes it off those backends again once they stop
using it. A model-less request is never queued.

When no eligible backend has a free slot the request waits in one FIFO queue
of at most ``max_queue`` entries for ``queue_timeout`` seconds. A freed slot is
handed straight to the oldest waiter that may use that backend, so a free slot
and an eligible waiter never coexist. Full queue: QueueFull at once (429 with
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
    __slots__ = ("model", "future", "since", "exclude")

    def __init__(self, model: str, future: asyncio.Future, exclude: Backend | None) -> None:
        self.model = model
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
        ups = [b for b in self.backends if b.up and b is not exclude and self.accepts(b, model)]
        if not model:
            return [], ups
        having = [b for b in ups if b.has_model(model)]
        return having, [b for b in ups if not b.has_model(model)]

    def eligible(self, model: str, exclude: Backend | None = None) -> list[Backend]:
        having, others = self._split(model, exclude)
        return having or others

    def _room(self, backend: Backend, model: str) -> bool:
        """Whether ``backend`` can hold one more model, ``model``, next to what it has."""
        held = backend.held_models()
        if len(held) >= self.max_models:
            return False
        if self.memory is None:
            return True
        return sum(backend.size_of(m) for m in held) + backend.size_of(model) <= self.memory

    def _free(self, model: str, exclude: Backend | None = None, queued: bool = False) -> Backend | None:
        """The backend to give a slot to, or None. ``queued``: asked for a request already in the queue."""
        having, others = self._split(model, exclude)
        best = None
        for backend in having or others:
            if backend.inflight < backend.slots and (best is None or backend.inflight < best.inflight):
                best = backend
        others_waiting = self.waiting.get(model, 0) - (1 if queued else 0)
        if best is not None or not having or others_waiting < SPREAD_AFTER_WAITING:
            return best
        for backend in others:  # every backend with the model is full: spread to one with a free slot and room
            if backend.inflight < backend.slots and self._room(backend, model) and (best is None or backend.inflight < best.inflight):
                best = backend
        return best

    def retry_after(self) -> int:
        slots = sum(b.slots for b in self.backends if b.up) or 1
        estimate = math.ceil(self.avg_hold * (len(self.queue) + 1) / slots)
        return max(1, min(estimate, math.ceil(self.queue_timeout)))

    async def acquire(self, model: str, exclude: Backend | None = None) -> Lease:
        """A slot for ``model`` (never on ``exclude``, the backend that just failed it). Raises Refused."""
        backend = self._free(model, exclude)
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
        waiter = _Waiter(model, future, exclude)
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
            backend = self._free(waiter.model, waiter.exclude, queued=True)
            if backend is None:
                if not any(b.up and b.inflight < b.slots for b in self.backends):
                    break
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
