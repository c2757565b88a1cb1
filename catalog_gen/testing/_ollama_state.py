"""State of an Ollama test double: models on disk, knobs, the request log and counters.

The scheduler (loads, eviction, the load queue, keep-alive) lives in ``_ollama_sched``
and the backend's shared compute in ``_ollama_compute``. A model still loading is
listed by /api/ps (its runner joins the loaded set before the load finishes, with an
estimated expires_at).

Tests change ``OllamaDouble.knobs`` and the ``DoubleModel`` fields while the
server runs: plain attribute writes, read by the server on each request.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import hashlib
import json
import threading
import time

from catalog_gen.testing._ollama_compute import ComputeShare
from catalog_gen.testing._ollama_names import ModelName, parse_env_keep_alive, parse_name
from catalog_gen.testing._ollama_sched import MAX_QUEUE_MESSAGE, MaxQueueError, Runner, Scheduler

__all__ = ["MAX_QUEUE_MESSAGE", "DoubleModel", "Knobs", "MaxQueueError", "OllamaDouble", "RecordedRequest", "Runner",
           "format_time"]
RUNNER_OVERHEAD_BYTES = 1_073_741_824  # KV cache and compute graph on top of the file, as /api/ps reports it
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
    def memory_estimate(self) -> int:
        """What the loaded model takes (the ``size`` /api/ps reports): the file plus KV cache and graph."""
        return self.size + RUNNER_OVERHEAD_BYTES

    @property
    def blob_path(self) -> str:
        """The model layer's blob file: Ollama's tie-break when it picks a model to unload."""
        return "blobs/sha256-" + self._layer("model", self.size - 1_561)["digest"].split(":", 1)[1]

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
    memory_bytes: int | None = None  # the backend's memory for models (VRAM); None = only max_loaded_models limits
    share_compute: bool = True  # models generating at once share the device (each runs at 1/k speed)
    request_log_limit: int = 2000  # OllamaDouble.requests keeps the last N requests
    health_path: str | None = None  # NOT Ollama: answer 200 {} here, for proxies that insist on probing (vllm-router's /health)
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


def format_time(epoch: float) -> str:
    """Go's RFC 3339 with nanoseconds and trailing zeros trimmed."""
    epoch = min(epoch, 253402300799.0)
    moment = dt.datetime.fromtimestamp(epoch, tz=dt.timezone.utc)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S.%f").rstrip("0").rstrip(".")
    return text + "Z"



class RequestLog(collections.deque):
    """The last N requests. Iterating takes a snapshot under a lock: tests read it from their thread while the
    server thread appends (a plain deque would raise "mutated during iteration")."""

    def __init__(self, maxlen: int) -> None:
        super().__init__(maxlen=maxlen)
        self._lock = threading.Lock()

    def append(self, item) -> None:
        with self._lock:
            super().append(item)

    def __iter__(self):
        with self._lock:
            return iter(list(super().__iter__()))


class OllamaDouble:
    """Models on disk, knobs, the request log, and (while served) the scheduler and the shared compute."""

    def __init__(self, models: list[DoubleModel] | None = None, knobs: Knobs | None = None) -> None:
        self.models: list[DoubleModel] = list(models or [])
        self.knobs = knobs or Knobs()
        # the last ``request_log_limit`` requests (a ring: memory stays flat however long it runs)
        self.requests: RequestLog = RequestLog(maxlen=max(1, self.knobs.request_log_limit))
        self.request_count = 0  # every request that arrived, ever
        self.served = 0  # completions and embeddings answered in full
        self.base_url = ""
        self.sched = Scheduler(self)
        self.compute = ComputeShare()

    # --- test-facing helpers ---------------------------------------------------------------

    def model(self, name: str) -> DoubleModel:
        found = self.find(name, on_disk_only=False)
        if found is None:
            raise KeyError(name)
        return found

    def loaded(self) -> list[str]:
        """Names of models loaded and ready (/api/ps also lists those still loading)."""
        now = time.time()
        runners = list(self.sched.runners.values())  # read-only here: the server thread owns the dict
        return sorted(r.model.display for r in runners if r.ready.is_set() and (r.refs > 0 or r.expires_at > now))

    def record(self, request: RecordedRequest) -> None:
        self.requests.append(request)
        self.request_count += 1

    def stats(self) -> dict:
        """Counters for benchmarks: loads per model, evictions, requests, busy time (read from any thread)."""
        for _attempt in range(100):  # the server thread may be counting right now: copy again
            try:
                return self._stats()
            except RuntimeError:
                time.sleep(0.001)
        return self._stats()

    def _stats(self) -> dict:
        s = self.sched.stats
        return {
            "requests": self.request_count,
            "served": self.served,
            "loads": dict(s.loads),
            "load_total": sum(s.loads.values()),
            "evictions": dict(s.evictions),
            "eviction_total": sum(s.evictions.values()),
            "expiries": s.expiries,
            "aborted_loads": s.aborted_loads,
            "peak_loaded": s.peak_loaded,
            "peak_memory_bytes": s.peak_memory_bytes,
            "load_seconds": s.load_seconds,
            "busy_seconds": self.compute.busy_seconds,
            "slot_seconds": self.compute.slot_seconds,
        }

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

    # --- scheduler (runs on the server's event loop; see _ollama_sched) ---------------------------

    def runners(self, *, include_loading: bool = False) -> list[Runner]:
        self.sched.reap()
        return [r for r in self.sched.runners.values() if include_loading or r.ready.is_set()]

    async def acquire(self, model: DoubleModel, keep_alive: float | None) -> Runner:
        """Load ``model`` when needed and take a reference; raises MaxQueueError."""
        return await self.sched.acquire(model, keep_alive)

    def release(self, runner: Runner) -> None:
        self.sched.release(runner)

    def unload(self, model: DoubleModel) -> None:
        self.sched.unload(model)

    def remove_from_disk(self, model: DoubleModel) -> None:
        model.on_disk = False
        self.sched.remove(model)
