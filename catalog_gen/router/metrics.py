"""The router's Prometheus metrics: names, labels and buckets in one place.

These names are a contract: alerts, dashboards and the queue-depth autoscaler
of later issues read them, and docs/router.md lists each with its meaning.
Rename nothing without updating both. Label values are bounded: ``model`` is a
configured model or one some backend has on disk (anything else is
``other``), ``endpoint`` is a known route (else ``other``), ``backend`` is a
configured URL or a gateway's current worker (its series are dropped when it
goes); so a caller sending random model names cannot grow memory.
"""

from __future__ import annotations

from prometheus_client import (CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector,
                               disable_created_metrics, generate_latest)

# No `*_created` series: they double the exposition and nothing here reads them (process-wide switch).
disable_created_metrics()

PREFIX = "ollama_router_"
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)
TTFT_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60)
TPS_BUCKETS = (1, 2, 5, 10, 20, 30, 50, 75, 100, 150, 200, 300, 500, 1000)
LOAD_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600)
WAIT_BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)

# name (without prefix) -> meaning; docs/router.md is checked against this table by a test.
DESCRIPTIONS = {
    "requests_total": "Requests answered, by model, endpoint and HTTP status (499: the client went away first; a stream that failed after it started counts as 500, 502, 503 or 504).",
    "request_duration_seconds": "Time from the request's arrival to the last byte of the reply, by model and endpoint.",
    "time_to_first_token_seconds": "Time from arrival to the first body chunk of a streamed 200 reply, by model and endpoint.",
    "tokens_per_second": "Generation speed of each reply, eval_count / eval_duration from Ollama's final chunk, by model.",
    "inflight_requests": "Requests holding a slot on a backend right now.",
    "backend_slots": "Slots of a backend (its OLLAMA_NUM_PARALLEL): inflight / slots is its utilisation.",
    "queue_depth": "Requests waiting for a slot right now (the autoscaling signal).",
    "queue_wait_seconds": "Time requests waited in the queue before getting a slot.",
    "queue_rejections_total": "Requests refused by backpressure: reason full (429), timeout (503), no_backend (503).",
    "models_loaded": "Models in memory on a backend, per its /api/ps and the router's own traffic.",
    "model_ready": "1 when a required model is on disk, matches its pin and answered a warm-up on some backend.",
    "ready": "1 when /readyz answers 200.",
    "model_load_duration_seconds": "Wall time of warm-ups and of Ollama's load_duration on requests that loaded a model.",
    "backend_up": "1 when the backend answers and its circuit breaker is closed.",
    "upstream_failures_total": "Transport failures talking to a backend, by phase: connect, response (before the first byte), stream.",
    "upstream_retries_total": "Requests retried on another backend after a failure before the first byte.",
    "client_disconnects_total": "Requests whose caller went away before the reply ended (upstream request cancelled).",
    "idle_unloads_total": "Models unloaded by the router after the idle period, by backend and model.",
}


class Metrics:
    """All router metrics in one registry of their own (several routers can live in one process)."""

    def __init__(self) -> None:
        self.registry = r = CollectorRegistry(auto_describe=False)
        ProcessCollector(registry=r)

        def doc(name: str) -> str:
            return DESCRIPTIONS[name]

        self.requests = Counter(PREFIX + "requests", doc("requests_total"), ["model", "endpoint", "status"], registry=r)
        self.duration = Histogram(PREFIX + "request_duration_seconds", doc("request_duration_seconds"),
                                  ["model", "endpoint"], buckets=DURATION_BUCKETS, registry=r)
        self.ttft = Histogram(PREFIX + "time_to_first_token_seconds", doc("time_to_first_token_seconds"),
                              ["model", "endpoint"], buckets=TTFT_BUCKETS, registry=r)
        self.tps = Histogram(PREFIX + "tokens_per_second", doc("tokens_per_second"), ["model"], buckets=TPS_BUCKETS, registry=r)
        self.inflight = Gauge(PREFIX + "inflight_requests", doc("inflight_requests"), ["backend"], registry=r)
        self.slots = Gauge(PREFIX + "backend_slots", doc("backend_slots"), ["backend"], registry=r)
        self.queue_depth = Gauge(PREFIX + "queue_depth", doc("queue_depth"), registry=r)
        self.queue_wait = Histogram(PREFIX + "queue_wait_seconds", doc("queue_wait_seconds"), buckets=WAIT_BUCKETS, registry=r)
        self.rejections = Counter(PREFIX + "queue_rejections", doc("queue_rejections_total"), ["reason"], registry=r)
        self.models_loaded = Gauge(PREFIX + "models_loaded", doc("models_loaded"), ["backend"], registry=r)
        self.model_ready = Gauge(PREFIX + "model_ready", doc("model_ready"), ["model"], registry=r)
        self.ready = Gauge(PREFIX + "ready", doc("ready"), registry=r)
        self.load_duration = Histogram(PREFIX + "model_load_duration_seconds", doc("model_load_duration_seconds"),
                                       ["model", "backend"], buckets=LOAD_BUCKETS, registry=r)
        self.backend_up = Gauge(PREFIX + "backend_up", doc("backend_up"), ["backend"], registry=r)
        self.upstream_failures = Counter(PREFIX + "upstream_failures", doc("upstream_failures_total"),
                                         ["backend", "phase"], registry=r)
        self.retries = Counter(PREFIX + "upstream_retries", doc("upstream_retries_total"), registry=r)
        self.disconnects = Counter(PREFIX + "client_disconnects", doc("client_disconnects_total"), registry=r)
        self.unloads = Counter(PREFIX + "idle_unloads", doc("idle_unloads_total"), ["backend", "model"], registry=r)
        for reason in ("full", "timeout", "no_backend"):
            self.rejections.labels(reason)
        self._children: dict = {}

    def forget_backend(self, url: str) -> None:
        """Drop the series of a backend that is gone for good (a gateway's worker pod), so churn does not grow memory."""
        for gauge in (self.inflight, self.slots, self.models_loaded, self.backend_up):
            try:
                gauge.remove(url)
            except KeyError:
                pass
        for phase in ("connect", "response", "stream"):
            try:
                self.upstream_failures.remove(url, phase)
            except KeyError:
                pass
        for labels in list(self.unloads._metrics):
            if labels[0] == url:
                self.unloads.remove(*labels)
        for labels in list(self.load_duration._metrics):
            if labels[1] == url:
                self.load_duration.remove(*labels)

    def finished(self, model: str, endpoint: str, status: int, seconds: float) -> None:
        """Count one answered request (hot path: label children are cached)."""
        key = (model, endpoint, status)
        children = self._children.get(key)
        if children is None:
            children = (self.requests.labels(model, endpoint, str(status)), self.duration.labels(model, endpoint))
            self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def render(self) -> tuple[bytes, bytes]:
        return CONTENT_TYPE_LATEST.encode(), generate_latest(self.registry)
