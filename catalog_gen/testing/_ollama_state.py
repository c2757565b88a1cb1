"""State of an Ollama test double: models on disk, knobs, and the scheduler.

The scheduler follows Ollama's: a model is loaded on first use (``load_seconds``),
stays loaded for its keep_alive after the last request (each request resets the
timer), serves ``num_parallel`` requests at once and makes the others wait with no
limit (no backpressure for a loaded model); only requests that need a load count
against ``max_queue`` (past it: 503); past ``max_loaded_models`` the idle model
used least recently is unloaded. A model still loading is listed by /api/ps (its
runner joins the loaded set before the load finishes, with an estimated expires_at).

Tests change ``OllamaDouble.knobs`` and the ``DoubleModel`` fields while the
server runs: plain attribute writes, read by the server on each request.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import hashlib
import json
import time

from catalog_gen.testing._ollama_names import ModelName, parse_env_keep_alive, parse_name

MAX_QUEUE_MESSAGE = "server busy, please try again.  maximum pending requests exceeded"
_EPOCH = dt.datetime(2026, 1, 15, 9, 30, 0, tzinfo=dt.timezone.utc)


@dataclasses.dataclass
class DoubleModel:
    """One model the double knows. ``on_disk=False``: only pullable from the "registry"."""

    name: str
    size: int = 4_920_753_328
    parameter_size: str = "8.0B"
    quantization_level: str = "Q4_K_M"
    family: str = "llama"
    capabilities: tuple[str, ...] = ("completion",)
    context_length: int = 4096
    embedding_length: int = 16
    on_disk: bool = True
    answer_empty: bool = False  # the model answers with zero tokens
    wrong_digest: bool = False  # the tag was re-pushed: a different manifest, so a different digest
    modified_at: dt.datetime = _EPOCH

    def __post_init__(self) -> None:
        parsed = parse_name(self.name)
        if parsed is None:
            raise ValueError(f"invalid Ollama model name {self.name!r}")
        self.capabilities = tuple(self.capabilities)

    @property
    def parsed(self) -> ModelName:
        parsed = parse_name(self.name)
        assert parsed is not None
        return parsed

    @property
    def display(self) -> str:
        return self.parsed.display_shortest()

    def _layer(self, kind: str, size: int) -> dict:
        seed = f"{self.parsed.key}|{kind}|{'b' if self.wrong_digest else 'a'}".encode()
        return {"mediaType": f"application/vnd.ollama.image.{kind}", "digest": "sha256:" + hashlib.sha256(seed).hexdigest(), "size": size}

    def layers(self) -> list[dict]:
        return [self._layer("model", self.size - 1_561), self._layer("template", 1_062), self._layer("params", 499)]

    def manifest_bytes(self) -> bytes:
        config = self._layer("config", 485)
        config["mediaType"] = "application/vnd.docker.container.image.v1+json"
        manifest = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": config,
            "layers": self.layers(),
        }
        return json.dumps(manifest, separators=(",", ":")).encode()

    @property
    def digest(self) -> str:
        """64 hex, no prefix: the sha256 of the manifest bytes, as /api/tags reports it."""
        return hashlib.sha256(self.manifest_bytes()).hexdigest()

    def details(self, *, lengths: bool = False) -> dict:
        """``details`` of /api/show and /api/ps; /api/tags adds the context and embedding lengths."""
        out = {
            "parent_model": "",
            "format": "gguf",
            "family": self.family,
            "families": [self.family],
            "parameter_size": self.parameter_size,
            "quantization_level": self.quantization_level,
        }
        if lengths:
            out["context_length"] = self.context_length
            out["embedding_length"] = self.embedding_length
        return out


@dataclasses.dataclass
class Knobs:
    """Per-instance behaviour; the env-like ones mirror OLLAMA_* variables."""

    version: str = "0.33.0"
    load_seconds: float = 0.0
    ttft_seconds: float = 0.0  # prompt evaluation: from slot start to the first token
    token_interval_seconds: float = 0.0
    tokens_per_reply: int = 8
    pull_seconds: float = 0.0
    num_parallel: int = 1  # OLLAMA_NUM_PARALLEL
    max_loaded_models: int = 3  # OLLAMA_MAX_LOADED_MODELS
    max_queue: int = 512  # OLLAMA_MAX_QUEUE
    default_keep_alive: str = "5m"  # OLLAMA_KEEP_ALIVE
    origins: str = ""  # OLLAMA_ORIGINS: comma-separated extra allowed origins (the built-ins are always there)
    listen_loopback: bool = True  # OLLAMA_HOST on 127.0.0.1: the Host check runs; False = 0.0.0.0, no Host check
    # failure injection
    fail_next: int = 0  # the next N inference requests fail before streaming
    fail_status: int = 500
    fail_message: str = "llama runner process has terminated: exit status 2"
    cut_after_chunks: int | None = None  # end the reply after K content chunks
    cut_mode: str = "error"  # "error": a last {"error"} line (status 200); "drop": close the connection
    cut_message: str = "an error was encountered while running the model: unexpected EOF"
    stall_after_chunks: int | None = None  # stop sending after K chunks, keep the connection open


@dataclasses.dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class MaxQueueError(Exception):
    pass


class Runner:
    """A model loaded (or loading) in memory."""

    def __init__(self, model: DoubleModel, num_parallel: int, session: float) -> None:
        self.model = model
        self.ready = asyncio.Event()
        self.slots = asyncio.Semaphore(max(1, num_parallel))
        self.refs = 0
        self.session = session
        self.expires_at = time.time() + min(session, 1e10)
        self.loaded_at = 0.0

    def expires_at_text(self) -> str:
        return format_time(self.expires_at)


def format_time(epoch: float) -> str:
    """Go's RFC 3339 with nanoseconds and trailing zeros trimmed."""
    epoch = min(epoch, 253402300799.0)
    moment = dt.datetime.fromtimestamp(epoch, tz=dt.timezone.utc)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S.%f").rstrip("0").rstrip(".")
    return text + "Z"


class OllamaDouble:
    """Models on disk, knobs, the request log, and (while served) the scheduler."""

    def __init__(self, models: list[DoubleModel] | None = None, knobs: Knobs | None = None) -> None:
        self.models: list[DoubleModel] = list(models or [])
        self.knobs = knobs or Knobs()
        self.requests: list[RecordedRequest] = []
        self.base_url = ""
        self._runners: dict[tuple, Runner] = {}
        self._pending_loads = 0
        self._waiters: list[asyncio.Future] = []

    # --- test-facing helpers ---------------------------------------------------------------

    def model(self, name: str) -> DoubleModel:
        found = self.find(name, on_disk_only=False)
        if found is None:
            raise KeyError(name)
        return found

    def loaded(self) -> list[str]:
        """Names of models loaded and ready (/api/ps also lists those still loading)."""
        now = time.time()
        runners = list(self._runners.values())  # read-only here: the server thread owns the dict
        return sorted(r.model.display for r in runners if r.ready.is_set() and (r.refs > 0 or r.expires_at > now))

    def find(self, name: str, *, on_disk_only: bool = True) -> DoubleModel | None:
        parsed = parse_name(name)
        if parsed is None:
            return None
        for m in self.models:
            if m.parsed.key == parsed.key and (m.on_disk or not on_disk_only):
                return m
        return None

    def default_keep_alive(self) -> float:
        return parse_env_keep_alive(self.knobs.default_keep_alive)

    # --- scheduler (runs on the server's event loop) ---------------------------------------------

    def _reap(self) -> None:
        now = time.time()
        for key, r in list(self._runners.items()):
            if r.ready.is_set() and r.refs == 0 and r.expires_at <= now:
                del self._runners[key]

    def runners(self, *, include_loading: bool = False) -> list[Runner]:
        self._reap()
        return [r for r in self._runners.values() if include_loading or r.ready.is_set()]

    async def acquire(self, model: DoubleModel, keep_alive: float | None) -> Runner:
        """Load ``model`` when needed and take a reference; raises MaxQueueError."""
        self._reap()
        session = self.default_keep_alive() if keep_alive is None else keep_alive
        key = model.parsed.key
        runner = self._runners.get(key)
        if runner is None or not runner.ready.is_set():
            if self._pending_loads >= self.knobs.max_queue:
                raise MaxQueueError(MAX_QUEUE_MESSAGE)
            self._pending_loads += 1
            try:
                if runner is None:
                    runner = Runner(model, self.knobs.num_parallel, session)
                    self._runners[key] = runner
                    asyncio.get_running_loop().create_task(self._load(runner))
                await runner.ready.wait()
            finally:
                self._pending_loads -= 1
        runner.refs += 1
        runner.session = session
        runner.expires_at = time.time() + min(session, 1e10)
        return runner

    async def _load(self, runner: Runner) -> None:
        while True:
            self._reap()
            ready = [r for r in self._runners.values() if r.ready.is_set()]
            if len(ready) < self.knobs.max_loaded_models:
                break
            idle = [r for r in ready if r.refs == 0]
            if idle:
                victim = min(idle, key=lambda r: r.expires_at)
                self._runners.pop(victim.model.parsed.key, None)
                break
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            await waiter  # a release wakes us
        await asyncio.sleep(self.knobs.load_seconds)
        runner.loaded_at = time.time()
        runner.ready.set()

    def release(self, runner: Runner) -> None:
        """Drop a reference; synchronous so it is safe in ``finally`` of a cancelled request."""
        runner.refs -= 1
        if runner.refs == 0:
            runner.expires_at = time.time() + min(runner.session, 1e10)
            if runner.session == 0 and self._runners.get(runner.model.parsed.key) is runner:
                del self._runners[runner.model.parsed.key]
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    def unload(self, model: DoubleModel) -> None:
        """keep_alive 0 with an empty prompt: expire the runner now (after its requests finish)."""
        runner = self._runners.get(model.parsed.key)
        if runner is None:
            return
        runner.session = 0
        if runner.refs == 0 and runner.ready.is_set():
            del self._runners[model.parsed.key]

    def remove_from_disk(self, model: DoubleModel) -> None:
        model.on_disk = False
        self._runners.pop(model.parsed.key, None)
