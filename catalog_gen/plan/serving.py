"""How requests reach Ollama inside the pod: the router sidecar, the Service and the probes."""

from __future__ import annotations

from catalog_gen.plan import probes
from catalog_gen.plan.context import PlanContext, byte_count, seconds
from catalog_gen.plan.workload import OLLAMA_BASE_PORT

ROUTER_PORT = 8080
SERVICE_PORT = 80
PRESTOP_DELAY_SECONDS = 5
TERMINATION_SLACK_SECONDS = 15


def slots_per_process(ctx: PlanContext) -> int:
    return ctx.leaf.router.concurrency_per_process or ctx.sizing.num_parallel


def add_router(ctx: PlanContext) -> None:
    leaf, v = ctx.leaf, ctx.values
    processes = leaf.ollama.processes
    v.section("router", "The model-aware router sidecar.")
    v.put("router.enabled", ctx.router, "Route through the router; Ollama then listens on loopback only.")
    v.section("router.image", "Router image, pinned.")
    v.put("router.image.repository", leaf.router.image.repository, "Router image repository (the catalog-gen image).")
    v.put("router.image.tag", leaf.router.image.tag, "Router image tag.")
    v.put("router.image.pullPolicy", "IfNotPresent", "Image pull policy.")
    v.put("router.port", ROUTER_PORT, "Router port: the API, /readyz, /livez and /metrics.")
    secret = leaf.router.api_key_secret
    v.put("router.apiKeySecret", {"name": secret.name, "key": secret.key} if secret else None,
          "Secret holding API keys (one per line); null disables keys.")
    slots = slots_per_process(ctx)
    v.section("router.config", "Settings written into router.json.")
    v.put("router.config.slotsPerBackend", slots, "Requests in flight per loaded model and Ollama process (OLLAMA_NUM_PARALLEL).")
    v.put("router.config.maxQueue", leaf.router.queue_limit, "Requests that may wait for a slot; past it, 429.")
    v.put("router.config.queueTimeoutSeconds", seconds(leaf.router.queue_timeout), "Longest wait for a slot; past it, 503.")
    v.put("router.config.idleUnloadSeconds", seconds(leaf.router.idle_unload), "Unload models not kept warm after this idle time.")
    if leaf.pool.enabled:
        v.put("router.config.warmUp", False, "Pool worker: ready once the models are on disk; the gateway decides what is loaded.")
    v.put("router.config.requestTimeoutSeconds", seconds(leaf.router.request_timeout),
          "Total limit of one exchange with Ollama.")
    v.put("router.config.idleTimeoutSeconds", seconds(leaf.router.idle_timeout),
          "Longest silence from Ollama between two chunks of a reply.")
    v.put("router.config.corsAllowedOrigins", list(leaf.router.cors_allowed_origins),
          "Origins browsers may call from (CORS); empty: same-origin only.")
    v.put("router.config.keepAliveMinSeconds", seconds(leaf.router.keep_alive_min),
          "Shortest keep_alive a caller may set on a model that is not required.")
    v.put("router.config.keepAliveMaxSeconds", seconds(leaf.router.keep_alive_max),
          "Longest keep_alive a caller may set on a model that is not required.")
    v.put("router.config.maxModelsPerBackend", ctx.sizing.max_loaded_models or max(len(leaf.model_specs), 1),
          "Models one Ollama process may hold (its OLLAMA_MAX_LOADED_MODELS), for spreading a busy model.")
    vram = ctx.sizing.vram_per_gpu_bytes * ctx.sizing.gpus_per_process
    v.put("router.config.backendMemoryBytes", vram or None,
          "GPU memory of one Ollama process: a busy model spreads only where its file fits next to the others (null on CPU).")
    v.put("router.config.connectTimeoutSeconds", 5, "Upstream connect timeout.")
    v.put("router.config.maxBodyBytes", byte_count(leaf.router.max_body_size), "Largest request body; larger gets 413.")
    v.put("router.config.shutdownGraceSeconds", longest_request_seconds(ctx),
          "On SIGTERM, time given to requests in flight: the longest request the router allows.")
    v.put("router.resources", {"requests": {"cpu": "100m", "memory": "96Mi"}, "limits": {"memory": "256Mi"}},
          "Resources of the router container.")
    if ctx.router:
        ports = f"{OLLAMA_BASE_PORT}{f'-{OLLAMA_BASE_PORT + processes - 1}' if processes > 1 else ''}"
        ctx.decide("router", f"on, {processes} backend(s) on 127.0.0.1:{ports}, {slots} slot(s) per loaded model each, "
                   f"queue {leaf.router.queue_limit}, API keys {'from Secret ' + secret.name if secret else 'off'}",
                   "Ollama listens on loopback only; the Service and probes go through the router")
    else:
        ctx.decide("router", "off", "the leaf turns it off: the Service targets Ollama directly, "
                   "readiness runs ready.sh in the Ollama container")


def longest_request_seconds(ctx: PlanContext) -> int:
    """The longest request the pod may be serving: the router's total limit, or the route's without the router."""
    return seconds(ctx.leaf.router.request_timeout if ctx.router else ctx.leaf.ingress.request_timeout)


def add_termination(ctx: PlanContext) -> None:
    """Ollama outlives the router's drain: it drops every connection at once on SIGTERM (ollama-api.md, Shutdown)."""
    v = ctx.values
    drain = longest_request_seconds(ctx)
    grace = PRESTOP_DELAY_SECONDS + drain + TERMINATION_SLACK_SECONDS
    v.put("preStopDelaySeconds", PRESTOP_DELAY_SECONDS,
          "Wait before shutdown starts, so gateways and Services stop sending new requests first.")
    v.put("terminationGracePeriodSeconds", grace,
          "Time a pod gets to stop: the pre-stop delay, the longest request, and slack.")
    who = "the router has drained (its listener closed and no connection left to the process)" if ctx.router \
        else "no connection is left to the process"
    ctx.decide("shutdown", f"pre-stop {PRESTOP_DELAY_SECONDS}s, grace {grace}s; each Ollama process waits until {who}",
               f"Ollama cuts every stream at once on SIGTERM; the longest request may take {drain}s "
               f"({'router.requestTimeout' if ctx.router else 'ingress.requestTimeout'})")


def add_service(ctx: PlanContext) -> None:
    ctx.values.section("service", "The Service in front of the pods.")
    ctx.values.put("service.port", SERVICE_PORT, "Service port (targets the router, or Ollama without it).")


def startup_budget(ctx: PlanContext) -> probes.Budget:
    """Time to start and warm the models; a pool worker warms none (its router runs with warmUp off)."""
    return probes.startup_budget(0 if ctx.leaf.pool.enabled else ctx.sizing.load_bytes)


def add_probes(ctx: PlanContext) -> None:
    v, router = ctx.values, ctx.router
    budget = startup_budget(ctx)
    v.section("probes", "Probe timing. Liveness never depends on a model.")
    v.put("probes.startup", budget.as_values(), "Startup probe: the server answers; budget from the models' size.")
    v.put("probes.readiness", {"periodSeconds": 10, "timeoutSeconds": 5 if router else 30, "failureThreshold": 3},
          "Readiness: every model on disk, pinned and answering.")
    v.put("probes.liveness", {"periodSeconds": 20, "timeoutSeconds": 5, "failureThreshold": 3},
          "Liveness: the process answers.")
    ctx.decide("probes", f"startup budget {budget.seconds}s", budget.reason)
    readiness = v.get("probes.readiness")
    ctx.decide("probes", f"readiness every {readiness['periodSeconds']}s, "
               f"{'the router /readyz' if router else 'ready.sh (exec)'}",
               ("ready when every model is on disk and matches its pin; a pool worker loads none at start "
                "(router warmUp off): the gateway decides which models are loaded where" if ctx.leaf.pool.enabled
                else "ready only when every model is on disk, matches its pin and answers"
                + (" (the router checks all processes)" if router else "")))
    ctx.decide("probes", "liveness: the server process answers (alive.sh), every "
               f"{v.get('probes.liveness.periodSeconds')}s",
               "never the model: a slow model load must not restart the pod")
