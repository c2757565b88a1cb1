"""Warm-keeping, truthful readiness and idle unloading: the router's background work.

One loop per backend, every ``poll_interval``:
1. poll the backend (circuit breaker probe, /api/ps, /api/tags);
2. warm required models that are on disk and match their pin but have not
   answered a warm-up yet (``generate`` with an empty prompt, ``embed`` for
   embedding models), and re-warm ``keepWarm`` models that were evicted;
   a failed warm-up is retried with backoff (1 s doubling to 30 s);
3. unload (``keep_alive: 0``) models that are not ``keepWarm``, have no request
   in flight there and were idle for ``idle_unload`` seconds. While the unload
   runs, a request for that model on that backend waits for it to finish, so
   an unload never overlaps a request.

Readiness: every required model is, on at least one backend that is up,
on disk, matching its digest pin, and has answered a warm-up since that
backend's circuit last opened (a restarted Ollama must be warmed again).
With ``warmUp: false`` (a pool worker) a model that is not ``keepWarm`` is
not warmed at all: on disk and matching its pin is enough, and the gateway
decides which models are loaded on which worker.
With no required model, readiness needs one backend up.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time

from catalog_gen.router.backends import Backend, normalize_model
from catalog_gen.router.config import ModelPin, RouterConfig
from catalog_gen.router.metrics import Metrics
from catalog_gen.router.upstream import UpstreamError

log = logging.getLogger("catalog_gen.router")
JSON_HEADERS = [(b"content-type", b"application/json")]


class _WarmState:
    __slots__ = ("warm_generation", "warming", "error", "attempts", "next_try")

    def __init__(self) -> None:
        self.warm_generation = -1
        self.warming = False
        self.error = ""
        self.attempts = 0
        self.next_try = 0.0


class Keeper:
    def __init__(self, config: RouterConfig, backends: list[Backend], metrics: Metrics, on_change) -> None:
        self.config = config
        self.backends = backends
        self.metrics = metrics
        self.on_change = on_change  # called when a backend's state or models changed (hands out slots)
        self.pins: dict[str, ModelPin] = {normalize_model(m.name): m for m in config.models}
        self.state = {(name, b.url): _WarmState() for name in self.pins for b in backends}
        self.poll_timeout = max(1.0, min(10.0, config.connect_timeout * 2))
        self._tasks: set[asyncio.Task] = set()
        self.update_ready()

    # -- loop ----------------------------------------------------------------------------------------
    async def run(self, backend: Backend) -> None:
        while True:
            try:
                if await backend.poll(self.poll_timeout):
                    self.on_change()
                if backend.up:
                    self._warm_due(backend)
                    self._unload_due(backend)
                self.update_ready()
            except Exception:  # a bug must not stop warm-keeping for good
                log.exception("router background loop for %s failed; continuing", backend.url)
            await asyncio.sleep(self.config.poll_interval)

    def _spawn(self, coro) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()

    # -- warm-ups ------------------------------------------------------------------------------------
    def _warm_due(self, backend: Backend) -> None:
        now = time.monotonic()
        for name, pin in self.pins.items():
            st = self.state[(name, backend.url)]
            if st.warming or now < st.next_try or not self._on_disk_ok(backend, name)[0]:
                continue
            warm = st.warm_generation == backend.generation or not self._warm_up_needed(pin)
            evicted = pin.keep_warm and name not in backend.loaded and not backend.inflight_by_model.get(name)
            if not warm or evicted:
                st.warming = True
                self._spawn(self._warm(backend, pin, name, st))

    async def _warm(self, backend: Backend, pin: ModelPin, name: str, st: _WarmState) -> None:
        generation = backend.generation
        body: dict = {"model": pin.name}
        if pin.kind == "embedding":
            path, body["input"] = b"/api/embed", "warm-up"
        else:
            path, body["prompt"], body["stream"] = b"/api/generate", "", False
        if pin.keep_warm:
            body["keep_alive"] = -1
        started = time.monotonic()
        backend.begin_use(name)
        ok = False
        try:
            async with asyncio.timeout(self.config.request_timeout):
                response = await backend.pool.request(b"POST", path, JSON_HEADERS, json.dumps(body).encode())
                try:
                    data = await response.read()
                finally:
                    response.close()
            error = _error_of(data)
            if response.status == 200 and not error:
                ok = True
                if generation == backend.generation:
                    st.warm_generation = generation
                st.error, st.attempts = "", 0
                self.metrics.load_duration.labels(name, backend.url).observe(time.monotonic() - started)
                log.info("warmed %s on %s in %.2fs", pin.name, backend.url, time.monotonic() - started)
            else:
                st.error = f"warm-up answered {response.status}: {error or data[:200].decode(errors='replace')}"
        except (UpstreamError, TimeoutError) as exc:
            st.error = f"warm-up failed: {exc or 'timed out'}"
            if isinstance(exc, UpstreamError):
                backend.record_failure("connect" if exc.before_response else "response", str(exc))
        finally:
            backend.end_use(name, ok)
            st.warming = False
            if not ok:
                st.attempts += 1
                st.next_try = time.monotonic() + min(30.0, 2.0 ** (st.attempts - 1))
                log.warning("model %s on %s: %s", pin.name, backend.url, st.error)
            self.update_ready()
            self.on_change()

    # -- idle unload ---------------------------------------------------------------------------------
    def _unload_due(self, backend: Backend) -> None:
        now = time.monotonic()
        for model in list(backend.loaded):
            pin = self.pins.get(model)
            if pin is not None and pin.keep_warm:
                continue
            if backend.inflight_by_model.get(model) or model in backend.unloading:
                continue
            if now - backend.last_used.get(model, now) < self.config.idle_unload:
                continue
            backend.unloading[model] = asyncio.Event()
            self._spawn(self._unload(backend, model, pin))

    async def _unload(self, backend: Backend, model: str, pin: ModelPin | None) -> None:
        try:
            paths = [b"/api/embed"] if pin is not None and pin.kind == "embedding" else [b"/api/generate", b"/api/embed"]
            for path in paths:
                body = {"model": model, "keep_alive": 0}
                if path == b"/api/embed":
                    body["input"] = []
                async with asyncio.timeout(self.poll_timeout * 3):
                    response = await backend.pool.request(b"POST", path, JSON_HEADERS, json.dumps(body).encode())
                    try:
                        await response.read()
                    finally:
                        response.close()
                if response.status == 200:
                    backend.forget_loaded(model)
                    backend.last_used.pop(model, None)
                    self.metrics.unloads.labels(backend.url, model).inc()
                    log.info("unloaded idle model %s on %s", model, backend.url)
                    return
                if response.status != 400:  # 400: e.g. an embedding model refuses generate; try embed
                    break
            log.warning("could not unload idle model %s on %s: %s answered %d", model, backend.url, path.decode(), response.status)
        except (UpstreamError, TimeoutError) as exc:
            log.warning("could not unload idle model %s on %s: %s", model, backend.url, exc or "timed out")
        finally:
            event = backend.unloading.pop(model, None)
            if event is not None:
                event.set()

    # -- readiness -----------------------------------------------------------------------------------
    def _on_disk_ok(self, backend: Backend, name: str) -> tuple[bool, str]:
        if backend.on_disk is None:
            return False, "no /api/tags answer yet"
        digest = backend.on_disk.get(name)
        if digest is None:
            return False, "not on disk"
        pin = self.pins[name].digest
        if pin and digest != pin:
            return False, f"digest {digest} does not match the pin {pin}"
        return True, ""

    def _warm_up_needed(self, pin: ModelPin) -> bool:
        """A model must answer a warm-up before readiness unless warm-up is off and it is not kept warm."""
        return self.config.warm_up or pin.keep_warm

    def readiness(self) -> tuple[bool, dict]:
        models = []
        all_ready = True
        for name, pin in self.pins.items():
            entries = []
            model_ready = False
            for backend in self.backends:
                st = self.state[(name, backend.url)]
                disk_ok, why = self._on_disk_ok(backend, name)
                warm = st.warm_generation == backend.generation or not self._warm_up_needed(pin)
                missing = []
                if not backend.up:
                    missing.append(f"backend {backend.state}")
                if not disk_ok:
                    missing.append(why)
                if not warm:
                    missing.append(st.error or ("warming up" if st.warming else "not warmed yet"))
                ready = not missing
                model_ready = model_ready or ready
                entries.append({"backend": backend.url, "ready": ready, "onDisk": bool(backend.on_disk and name in backend.on_disk),
                                "digest": (backend.on_disk or {}).get(name), "warm": warm, "missing": missing})
            all_ready = all_ready and model_ready
            models.append({"name": pin.name, "digest": pin.digest, "ready": model_ready, "backends": entries})
        up = [b.url for b in self.backends if b.up]
        ready = all_ready and bool(up)
        return ready, {"ready": ready, "backendsUp": up, "models": models}

    def update_ready(self) -> bool:
        ready, body = self.readiness()
        for model in body["models"]:
            self.metrics.model_ready.labels(normalize_model(model["name"])).set(1 if model["ready"] else 0)
        self.metrics.ready.set(1 if ready else 0)
        return ready


def _error_of(data: bytes) -> str:
    """The "error" of a JSON reply or of the last NDJSON line, if any."""
    for line in reversed(data.strip().splitlines() or [b""]):
        try:
            obj = json.loads(line)
        except ValueError:
            return ""
        return str(obj.get("error", "")) if isinstance(obj, dict) else ""
    return ""
