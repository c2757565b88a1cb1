"""A model pool (`pool.enabled`): worker pods behind a gateway Deployment (docs/render.md, "Model pool").

The workers are the ordinary pods (Ollama + the router sidecar), `pool.workers` of
them (or the autoscaling bounds), each allowed `OLLAMA_MAX_LOADED_MODELS` models at
once; their routers keep nothing warm on their own. The gateway (`catalog-gen router`
in its gateway role, at least two replicas) finds the workers through the
EndpointSlices of the `<release>-workers` Service, learns each worker's models and
load from its `/router/state`, routes by model and prefix, and keeps `minWorkers`
copies of each model loaded. Its config file is rendered from `pool.gateway.config`
(data, never template text); the chart adds only what the release decides: the
worker Service's name and namespace.

Plan decisions: what one worker holds, where the warm set goes, what a cold load of an
on-demand model costs, the gateway's replicas and disruption budget, and the RBAC of
the EndpointSlice watch.
"""

from __future__ import annotations

from catalog_gen.plan import pool_capacity
from catalog_gen.plan.context import PlanContext, byte_count, seconds
from catalog_gen.plan.sizing import min_workers_of
from catalog_gen.plan.serving import longest_request_seconds

WORKER_PORT_NAME = "router"
GATEWAY_RESOURCES = {"requests": {"cpu": "250m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}}


def enabled(ctx: PlanContext) -> bool:
    return ctx.leaf.pool.enabled


def workers_at_most(ctx: PlanContext) -> int:
    auto = ctx.leaf.autoscaling
    return auto.max_replicas if auto.enabled else ctx.leaf.pool.workers


def workers_at_least(ctx: PlanContext) -> int:
    auto = ctx.leaf.autoscaling
    if not auto.enabled:
        return ctx.leaf.pool.workers
    return 0 if auto.scale_to_zero else auto.min_replicas


def gateway_models(ctx: PlanContext) -> list[dict]:
    return [{"name": spec.name, "digest": spec.digest, "keepWarm": min_workers_of(spec) > 0, "kind": spec.kind,
             "minWorkers": min_workers_of(spec)} for spec in ctx.leaf.model_specs]


def gateway_config(ctx: PlanContext, port: int) -> dict:
    """gateway.json, but for `workerDiscovery` (the chart adds the release's Service and namespace) and `apiKeysFile`."""
    leaf, router = ctx.leaf, ctx.leaf.router
    return {
        "role": "gateway",
        "listen": {"host": "0.0.0.0", "port": port},
        "models": gateway_models(ctx),
        "maxQueue": router.queue_limit,
        "queueTimeoutSeconds": seconds(router.queue_timeout),
        "requestTimeoutSeconds": seconds(router.request_timeout),
        "idleTimeoutSeconds": seconds(router.idle_timeout),
        "connectTimeoutSeconds": 5,
        "maxBodyBytes": byte_count(router.max_body_size),
        "shutdownGraceSeconds": longest_request_seconds(ctx),
        "corsAllowedOrigins": list(router.cors_allowed_origins),
        "keepAliveMinSeconds": seconds(router.keep_alive_min),
        "keepAliveMaxSeconds": seconds(router.keep_alive_max),
        "idleUnloadSeconds": seconds(router.idle_unload),
        "prefixAffinity": leaf.pool.gateway.prefix_affinity,
        "hashLoadFactor": leaf.pool.gateway.hash_load_factor,
    }


def add_pool(ctx: PlanContext) -> None:
    """The `pool` values and decisions; nothing at all for a leaf without a pool (its chart stays as it was)."""
    if not enabled(ctx):
        return
    leaf, v, sizing = ctx.leaf, ctx.values, ctx.sizing
    gateway = leaf.pool.gateway
    port = v.get("router.port")
    v.section("pool", "Model pool: the workers (this chart's pods) behind a gateway Deployment that routes by model.")
    v.put("pool.maxLoadedModels", sizing.max_loaded_models, "Models one worker holds at once (OLLAMA_MAX_LOADED_MODELS).")
    v.put("pool.workerPortName", WORKER_PORT_NAME,
          "Port name of the `<release>-workers` Service, which the gateway reads from its EndpointSlices.")
    v.section("pool.gateway", "The gateway: `catalog-gen router --role gateway`, its own Deployment.")
    v.put("pool.gateway.replicas", gateway.replicas, "Gateway replicas (at least 2; a PodDisruptionBudget keeps all but one).")
    v.put("pool.gateway.resources", GATEWAY_RESOURCES, "Resources of the gateway container.")
    v.put("pool.gateway.config", gateway_config(ctx, port),
          "gateway.json as data (the router's keys, docs/router.md; the leaf's router settings, spread copies unloaded "
          "after idleUnloadSeconds; workers are polled at the gateway's default pace); the chart adds workerDiscovery (this "
          "release's `<release>-workers` Service and namespace) and apiKeysFile (with router.apiKeySecret).")
    _decide(ctx)


def _decide(ctx: PlanContext) -> None:
    leaf, sizing = ctx.leaf, ctx.sizing
    units = list(sizing.units)
    most, least = workers_at_most(ctx), workers_at_least(ctx)
    count = f"{least}..{most} workers (KEDA)" if leaf.autoscaling.enabled else f"{most} workers"
    memory = sizing.worker_memory_bytes
    ctx.decide("pool", f"{count}, each holds at most {sizing.max_loaded_models} of the {len(units)} model(s) at once "
               f"(OLLAMA_MAX_LOADED_MODELS={sizing.max_loaded_models})",
               (f"{memory / 2**30:.1f} GiB for models per worker; loaded sizes: "
                if memory is not None else "worker memory not known; loaded sizes: ")
               + ", ".join(f"{u.label} {u.memory_bytes / 2**30:.1f} GiB" for u in units)
               + "; Ollama loads a model next to others only if it takes at most 80% of the free memory")
    warm = [u for u in units if u.min_workers]
    placement = pool_capacity.place_warm(warm, least, sizing.max_loaded_models, memory)
    slots = least * sizing.max_loaded_models
    for i, held in enumerate(placement.workers):
        ctx.decide("pool", f"worker {i}: warm " + (", ".join(u.label for u in held) or "nothing")
                   + f" ({sizing.max_loaded_models - len(held)} slot(s) left for other models)",
                   "an example placement of the warm set on the fewest workers; the gateway places and moves "
                   "copies at run time")
    if warm:
        ctx.decide("pool", "kept warm: " + ", ".join(f"{u.label} on {u.min_workers} worker(s)" for u in warm),
                   f"{sum(u.min_workers for u in warm)} of {slots} model slots on the fewest ({least}) workers; "
                   "`minWorkers` (default 1 with keepWarm, 0 without)")
    for unit in (u for u in units if not u.min_workers):
        typical, slow = pool_capacity.cold_load_seconds(unit.disk_bytes)
        ctx.decide("pool", f"on demand: {unit.label}, a cold load takes about {typical:.0f}s (up to {slow:.0f}s)",
                   f"{unit.disk_bytes / 10**9:.1f} GB read into memory at about "
                   f"{pool_capacity.TYPICAL_LOAD_BYTES_PER_SECOND // 10**6} MB/s from a local disk or the page cache, "
                   f"{pool_capacity.SLOW_LOAD_BYTES_PER_SECOND // 10**6} MB/s from a network volume; the request "
                   "waits; on a full worker Ollama first evicts an idle model (shortest keep-alive first)")
    gateway = leaf.pool.gateway
    ctx.decide("gateway", f"Deployment {leaf.service_name}-gateway, {gateway.replicas} replicas, PodDisruptionBudget "
               "maxUnavailable 1, spread over kubernetes.io/hostname (ScheduleAnyway)",
               "the gateway is the only way in: a node drain or a rollout must leave one serving")
    ctx.decide("gateway", "routes by model (least outstanding requests among the workers holding it)"
               + (f", then by prompt prefix (consistent hashing with bounded loads, c={gateway.hash_load_factor:g})"
                  if gateway.prefix_affinity else ", no prefix affinity"),
               "a worker that holds the model answers without a load; a repeated prefix reuses its KV cache")
    ctx.decide("gateway", f"finds workers in the EndpointSlices of Service {leaf.service_name}-workers (port "
               f"`{WORKER_PORT_NAME}`), watched through the API; Role {leaf.service_name}-gateway: get, list, watch "
               "on endpointslices (discovery.k8s.io) in this namespace",
               "EndpointSlices carry each endpoint's ready, serving and terminating conditions: a terminating worker "
               "is drained, no DNS polling")
    ctx.decide("gateway", f"public Service {leaf.service_name} and the route point at the gateway; the workers "
               "admit only the gateway pods (and Prometheus) on the router port",
               "nothing reaches a worker around the gateway's queue, keys and model placement")
