"""``GET /router/state``: what one worker (this router and its Ollama processes) holds and does, for a gateway.

Format (version 1, docs/router.md "Worker state"): ``slots.perModel`` is the
slots one loaded model has in one process (OLLAMA_NUM_PARALLEL), ``slots.total``
that times the processes; ``maxLoadedModels`` and ``memory.totalBytes`` add up
the processes (memory is null when the router was not told it); ``usedBytes``
is the on-disk size of the models held. ``models.loaded`` lists what is in
memory or being loaded/served, with the requests holding its slots
(``inflight``), waiting for one (``queued``), and seconds since its last use.
"""

from __future__ import annotations

import time

STATE_VERSION = 1


def worker_state(config, backends, balancer, draining: bool) -> dict:
    now = time.monotonic()
    processes = len(backends) or 1
    on_disk: set[str] = set()
    held: dict[str, dict] = {}
    for backend in backends:
        on_disk.update(backend.on_disk or ())
        if not backend.up:
            continue
        for model in backend.held_models():
            entry = held.setdefault(model, {"name": model, "sizeBytes": 0, "inflight": 0, "queued": 0, "last": 0.0})
            entry["sizeBytes"] = entry["sizeBytes"] or backend.size_of(model)
            entry["inflight"] += backend.busy.get(model, 0)
            entry["last"] = max(entry["last"], backend.last_used.get(model, now))
            if backend.inflight_by_model.get(model):
                entry["last"] = now
    loaded = []
    for model in sorted(held):
        entry = held[model]
        loaded.append({"name": model, "sizeBytes": entry["sizeBytes"], "inflight": entry["inflight"],
                       "queued": balancer.waiting.get(model, 0), "idleSeconds": round(max(0.0, now - entry["last"]), 3)})
    memory = None
    if config.backend_memory_bytes is not None:
        memory = {"totalBytes": config.backend_memory_bytes * processes, "usedBytes": sum(e["sizeBytes"] for e in loaded)}
    return {
        "version": STATE_VERSION,
        "draining": draining,
        "slots": {"perModel": config.slots_per_backend, "total": config.slots_per_backend * processes},
        "maxLoadedModels": config.max_models_per_backend * processes,
        "memory": memory,
        "queue": len(balancer.queue),
        "inflight": sum(b.inflight for b in backends),
        "models": {"onDisk": sorted(on_disk), "loaded": loaded},
    }
