"""One Ollama process as the router sees it: its pool, slots, models, and circuit breaker.

Circuit breaker: ``breaker_failures`` transport failures in a row (requests or
health polls) open the circuit: no request goes there. After a cooldown the
breaker is half-open and the monitor sends one probe (``GET /api/version``);
success closes it, failure opens it again for twice the cooldown (at most 60 s).
A backend whose circuit opened forgets what it had loaded and warmed: the
process most likely restarted.

Model residency is learned two ways: ``/api/ps`` polled every
``poll_interval``, and traffic (a 2xx reply for model M means M is loaded
there; a request in flight for M means M is being loaded or served there).
A poll result never removes a model that was used after the poll was sent.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import time
from urllib.parse import urlsplit

from catalog_gen.router.metrics import Metrics
from catalog_gen.router.upstream import Pool, UpstreamError

log = logging.getLogger("catalog_gen.router")
MAX_COOLDOWN = 60.0


def normalize_model(name: str) -> str:
    """The name Ollama lists for ``name``: lower case, ``:latest`` when untagged, default host/namespace dropped."""
    name = name.strip().lower()
    if name.startswith("registry.ollama.ai/"):
        name = name[len("registry.ollama.ai/"):]
    if name.startswith("library/"):
        name = name[len("library/"):]
    if name and ":" not in name.rsplit("/", 1)[-1]:
        name += ":latest"
    return name


def _host_header(host: str, port: int) -> str:
    """Ollama's host check wants a loopback Host when it listens on loopback."""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        loopback = False
    return f"localhost:{port}" if loopback else f"{host}:{port}"


class Backend:
    def __init__(self, url: str, slots: int, connect_timeout: float, metrics: Metrics,
                 breaker_failures: int, breaker_cooldown: float) -> None:
        parts = urlsplit(url)
        self.url = url
        self.index = 0
        self.pool = Pool(parts.hostname, parts.port or 80, _host_header(parts.hostname, parts.port or 80), connect_timeout)
        self.slots = slots  # per loaded model: Ollama's OLLAMA_NUM_PARALLEL is a number of slots per model runner
        self.inflight = 0  # requests holding a slot here, all models together
        self.busy: dict[str, int] = {}  # model -> requests holding one of its slots here
        self.inflight_by_model: dict[str, int] = {}  # model -> requests and warm-ups using it here
        self.max_models: int | None = None  # learned per backend (a worker's state); None: the balancer's setting
        self.memory: int | None = None  # bytes for models, learned per backend; None: the balancer's setting
        self.draining = False  # takes no new request; what is in flight finishes
        self.loaded: set[str] = set()
        self.last_used: dict[str, float] = {}
        self.on_disk: dict[str, str] | None = None  # name -> digest, None until the first /api/tags
        self.on_disk_ok = False  # on_disk comes from a real answer (a model missing there is not on that disk)
        self.sizes: dict[str, int] = {}  # name -> bytes on disk, from /api/tags
        self.unloading: dict[str, asyncio.Event] = {}
        self.state = "closed"
        self.failures = 0
        self.opened_at = 0.0
        self.cooldown = breaker_cooldown
        self.base_cooldown = breaker_cooldown
        self.threshold = breaker_failures
        self.generation = 0  # bumped when the circuit opens: warm-ups of an older generation no longer count
        self.metrics = metrics
        self._up_gauge = metrics.backend_up.labels(url)
        self._inflight_gauge = metrics.inflight.labels(url)
        self._loaded_gauge = metrics.models_loaded.labels(url)
        metrics.slots.labels(url).set(slots)
        self._up_gauge.set(1)

    @property
    def up(self) -> bool:
        return self.state == "closed"

    def has_model(self, model: str) -> bool:
        return model in self.loaded or self.inflight_by_model.get(model, 0) > 0

    def held_models(self) -> set[str]:
        """Models in memory or being loaded/served here."""
        return self.loaded | {m for m, n in self.inflight_by_model.items() if n > 0 and m}

    def size_of(self, model: str) -> int:
        return self.sizes.get(model, 0)

    def serving(self, model: str) -> bool:
        """A request for ``model`` is in flight here (Ollama never evicts it for another)."""
        return self.inflight_by_model.get(model, 0) > 0

    def has_slot(self, model: str) -> bool:
        """A slot of ``model``'s runner is free here (each loaded model has ``slots`` of its own)."""
        return self.busy.get(model, 0) < self.slots

    def load(self) -> float:
        """Outstanding requests here, for least-loaded choices."""
        return self.inflight

    # -- slots (called by the balancer only) -------------------------------------------------------
    def take(self, model: str) -> None:
        self.inflight += 1
        self.busy[model] = self.busy.get(model, 0) + 1
        self.inflight_by_model[model] = self.inflight_by_model.get(model, 0) + 1
        self._inflight_gauge.set(self.inflight)

    def give_back(self, model: str, ok: bool) -> None:
        self.inflight -= 1
        left = self.busy.get(model, 1) - 1
        if left:
            self.busy[model] = left
        else:
            self.busy.pop(model, None)
        self.end_use(model, ok)
        self._inflight_gauge.set(self.inflight)

    def begin_use(self, model: str) -> None:
        """A request that holds no slot (a warm-up) but keeps the model from being unloaded."""
        self.inflight_by_model[model] = self.inflight_by_model.get(model, 0) + 1

    def end_use(self, model: str, ok: bool) -> None:
        left = self.inflight_by_model.get(model, 1) - 1
        if left:
            self.inflight_by_model[model] = left
        else:
            self.inflight_by_model.pop(model, None)
        self.last_used[model] = time.monotonic()
        if ok and model and model not in self.loaded:
            self.loaded.add(model)
            self._loaded_gauge.set(len(self.loaded))

    def forget_loaded(self, model: str) -> None:
        self.loaded.discard(model)
        self._loaded_gauge.set(len(self.loaded))

    # -- breaker ---------------------------------------------------------------------------------
    def record_success(self) -> bool:
        """Returns True when this closed an open circuit."""
        self.failures = 0
        if self.state == "closed":
            return False
        self.state = "closed"
        self.cooldown = self.base_cooldown
        self._up_gauge.set(1)
        log.warning("backend %s is healthy again: circuit closed", self.url)
        return True

    def record_failure(self, phase: str, message: str) -> None:
        self.metrics.upstream_failures.labels(self.url, phase).inc()
        self.failures += 1
        if self.state == "half-open":
            self.cooldown = min(self.cooldown * 2, MAX_COOLDOWN)
            self._open(message)
        elif self.state == "closed" and self.failures >= self.threshold:
            self._open(message)

    def _open(self, message: str) -> None:
        self.state = "open"
        self.opened_at = time.monotonic()
        self.generation += 1
        self.loaded.clear()
        self._loaded_gauge.set(0)
        self._up_gauge.set(0)
        self.pool.close()
        log.warning("backend %s failed %d time(s) in a row (%s): circuit open for %gs",
                    self.url, self.failures, message, self.cooldown)

    # -- polling ---------------------------------------------------------------------------------
    async def get_json(self, path: str, timeout: float) -> dict:
        async with asyncio.timeout(timeout):
            response = await self.pool.request(b"GET", path.encode(), [(b"accept", b"application/json")])
            try:
                body = await response.read()
            finally:
                response.close()
        if response.status != 200:
            raise UpstreamError(f"{self.url}{path} answered {response.status}", before_response=False)
        try:
            data = json.loads(body)
        except ValueError as exc:
            raise UpstreamError(f"{self.url}{path} answered invalid JSON", before_response=False) from exc
        if not isinstance(data, dict):
            raise UpstreamError(f"{self.url}{path} answered {type(data).__name__}, not an object", before_response=False)
        return data

    def adopt_loaded(self, listed: set[str], sent: float) -> bool:
        """Take the models a poll sent at ``sent`` listed as loaded; True when the set changed.

        A model used after the poll was sent stays (the poll may predate its load); one being unloaded goes.
        """
        now = time.monotonic()
        for model in listed - self.loaded:
            self.last_used.setdefault(model, now)
        kept = {m for m in self.loaded if self.last_used.get(m, 0) >= sent or self.inflight_by_model.get(m)}
        new = (listed | kept) - set(self.unloading)
        if new == self.loaded:
            return False
        self.loaded = new
        self._loaded_gauge.set(len(new))
        return True

    async def poll(self, timeout: float) -> bool:
        """One health round: the half-open probe, or /api/ps + /api/tags. Returns True if the state changed."""
        if self.state == "open":
            if time.monotonic() - self.opened_at < self.cooldown:
                return False
            self.state = "half-open"
        sent = time.monotonic()
        try:
            if self.state == "half-open":
                await self.get_json("/api/version", timeout)
            ps = await self.get_json("/api/ps", timeout)
            tags = await self.get_json("/api/tags", timeout)
        except (UpstreamError, TimeoutError) as exc:
            self.record_failure("connect" if isinstance(exc, UpstreamError) and exc.before_response else "response",
                                str(exc) or "timed out")
            return self.state != "closed"
        changed = self.record_success()
        listed_tags = [m for m in tags.get("models") or [] if isinstance(m, dict)]
        self.on_disk = {normalize_model(str(m.get("name", ""))): str(m.get("digest", "")) for m in listed_tags}
        self.sizes = {normalize_model(str(m.get("name", ""))): int(m["size"]) for m in listed_tags
                      if isinstance(m.get("size"), int) and not isinstance(m.get("size"), bool)}
        self.on_disk_ok = True
        listed = {normalize_model(str(m.get("name", ""))) for m in ps.get("models") or [] if isinstance(m, dict)}
        if self.adopt_loaded(listed, sent):
            changed = True
        for model in list(self.last_used):
            if model not in self.loaded and not self.inflight_by_model.get(model):
                del self.last_used[model]
        return changed
