"""Rules of a model pool (`pool.enabled`): workers behind a gateway (docs/render.md, "Model pool").

Capacity (what fits the workers) is the planner's question and a sizing rule of its
own (`leaf.pool-capacity`, registered in rules.py); this module checks the shape:
what a pool needs (the router, two gateways, the KEDA trigger on the gateway's
queue) and the settings that mean nothing outside a pool.
"""

from __future__ import annotations

from catalog_gen.catalog.rules import LeafView, _written_here, rule
from catalog_gen.errors import Severity

MIN_GATEWAYS = 2


@rule("leaf.pool", "A pool has the router on its workers, at least 2 gateway replicas, one Ollama process per worker and "
      "KEDA (not an HPA) for autoscaling; `minWorkers` is set only in a pool and agrees with `keepWarm`; a worker count "
      "the leaf writes is not ignored (`container.replicas`, or `pool.workers` under autoscaling).")
def _pool(v: LeafView):
    enabled = v.get("pool", "enabled")
    if not enabled:
        for pointer, model in v.model_entries():
            if model.get("minWorkers") is not None:
                yield v.finding(f"{pointer}/minWorkers", "leaf.pool",
                                "`minWorkers` applies to a pool only: without `pool.enabled` every pod holds every model",
                                "remove `minWorkers`, or set `pool.enabled: true`", key=True)
        return
    where = "/pool/enabled"
    if not v.get("router", "enabled"):
        yield v.finding("/router/enabled" if v.has("router", "enabled") else where, "leaf.pool",
                        "a pool needs the router on its workers: the gateway learns each worker's models, memory and "
                        "queue from the worker's router (`/router/state`)",
                        "set `router.enabled: true`, or turn the pool off")
    replicas = v.get("pool", "gateway", "replicas")
    if isinstance(replicas, int) and replicas < MIN_GATEWAYS:
        yield v.finding("/pool/gateway/replicas", "leaf.pool",
                        f"`pool.gateway.replicas: {replicas}`: the gateway is the only way into the pool, and one "
                        "replica makes every node drain and every rollout an outage",
                        f"run at least {MIN_GATEWAYS} gateway replicas")
    processes = v.get("ollama", "processes")
    if isinstance(processes, int) and processes > 1:
        yield v.finding("/ollama/processes", "leaf.pool",
                        f"{processes} Ollama processes per worker: the gateway places models per worker, one Ollama "
                        "scheduler each, and would not know which process holds a model",
                        "run one process per worker (`ollama.processes: 1`) and more workers (`pool.workers`); a worker "
                        "may still span several GPUs")
    if v.get("autoscaling", "enabled") and v.get("autoscaling", "engine") == "hpa":
        yield v.finding("/autoscaling/engine", "leaf.pool",
                        "a pool scales its workers on the gateway's queue, which is not a metric of the worker pods an "
                        "HPA reads (requests wait in the gateway, not in the workers)",
                        "use `autoscaling.engine: keda` (a Prometheus trigger on the gateway's queue depth)")
    if _written_here(v, "/container/replicas") and not v.get("autoscaling", "enabled"):
        yield v.finding("/container/replicas", "leaf.pool",
                        "`container.replicas` is ignored in a pool: `pool.workers` sets the worker pods",
                        "move the count to `pool.workers`", key=True, severity=Severity.WARNING)
    if _written_here(v, "/pool/workers") and v.get("autoscaling", "enabled"):
        yield v.finding("/pool/workers", "leaf.pool",
                        "`pool.workers` is ignored with `autoscaling.enabled`: KEDA keeps the workers between "
                        "`autoscaling.minReplicas` and `maxReplicas`",
                        "remove `pool.workers`, or set the bounds under `autoscaling`", key=True, severity=Severity.WARNING)
    for pointer, model in v.model_entries():
        if model.get("keepWarm") is False and (model.get("minWorkers") or 0) > 0:
            yield v.finding(f"{pointer}/minWorkers", "leaf.pool",
                            f"model {model['name']!r} has `keepWarm: false` but `minWorkers: {model['minWorkers']}`",
                            "keep one: `minWorkers: 0` (or `keepWarm: false`) loads it on demand, `minWorkers: N` keeps "
                            "it loaded on N workers")
