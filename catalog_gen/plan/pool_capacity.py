"""How many models one pool worker holds, and where the warm set goes: plain arithmetic, no leaf types.

A *unit* is one set of weights a worker loads: a model, or a custom model together
with its base (one runner in Ollama). The rules follow Ollama's scheduler
(../shared/ollama-api.md, "Environment and scheduling"):

* a worker holds at most ``OLLAMA_MAX_LOADED_MODELS`` models;
* next to loaded models, a new one loads only when its estimate is at most 80% of
  the memory still free; otherwise an idle model is evicted first. A model alone
  always loads, but one larger than the worker's memory spills onto the CPU.

``fits`` loads the largest first, the order that lets the most through. The estimate
is the sizing's (weights + KV cache + buffers), close to Ollama's own (weights + f16
KV + 768 MiB or 2 GiB of batch buffers).
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

from catalog_gen.plan.probes import DISK_BYTES_PER_SECOND

LOAD_SHARE = 0.8  # Ollama loads next to others only what takes at most 80% of the free memory
OLLAMA_DEFAULT_PER_GPU = 3  # OLLAMA_MAX_LOADED_MODELS=0 means 3 x GPUs (3 without a GPU)
TYPICAL_LOAD_BYTES_PER_SECOND = 1_000_000_000  # local NVMe (or the page cache) into VRAM
SLOW_LOAD_BYTES_PER_SECOND = DISK_BYTES_PER_SECOND  # a network volume: the startup budget's figure


@dataclasses.dataclass(frozen=True)
class Unit:
    names: tuple[str, ...]  # the models sharing these weights, in the leaf's order
    memory_bytes: int  # loaded: weights + KV cache + buffers
    disk_bytes: int  # read from disk on a cold load
    min_workers: int  # workers that keep it loaded (0: on demand)

    @property
    def label(self) -> str:
        return " + ".join(self.names)


def fits(memories: Sequence[int], usable: int) -> bool:
    """Whether Ollama holds these models at once in `usable` bytes (largest loaded first)."""
    used = 0
    for memory in sorted(memories, reverse=True):
        free = usable - used
        if memory > free or (used and memory > LOAD_SHARE * free):
            return False
        used += memory
    return True


def largest_that_fit(units: Sequence[Unit], usable: int) -> int:
    """How many of the largest units fit one worker at once (at least 1: a lone model always loads)."""
    memories = sorted((u.memory_bytes for u in units), reverse=True)
    count = 1
    while count < len(memories) and fits(memories[: count + 1], usable):
        count += 1
    return count


def default_max_loaded(units: Sequence[Unit], usable: int | None, gpus: int) -> tuple[int, str]:
    """OLLAMA_MAX_LOADED_MODELS of a worker when the leaf does not say it, and why."""
    if usable is not None:
        count = largest_that_fit(units, usable)
        return count, f"the {count} largest model(s) fit one worker's {usable / 2**30:.1f} GiB for models"
    count = min(len(units), OLLAMA_DEFAULT_PER_GPU * max(1, gpus))
    return count, (f"the worker's memory is not known (name `gpu.product` or `gpu.vram`): Ollama's default, "
                   f"{OLLAMA_DEFAULT_PER_GPU} per GPU ({OLLAMA_DEFAULT_PER_GPU} on CPU), at most the {len(units)} model(s)")


@dataclasses.dataclass(frozen=True)
class Placement:
    workers: tuple[tuple[Unit, ...], ...]  # the warm units of each worker
    unplaced: tuple[tuple[Unit, int], ...]  # (unit, copies) that found no worker

    @property
    def feasible(self) -> bool:
        return not self.unplaced


def place_warm(units: Sequence[Unit], workers: int, max_loaded: int, usable: int | None) -> Placement:
    """Put `min_workers` copies of each unit on distinct workers: largest first, each copy on the worker with
    the fewest models (then the most memory free) that still has a slot and room. First-fit decreasing: a
    heuristic, so an infeasible answer means none was found this way; it is exact when memory is not the limit."""
    held: list[list[Unit]] = [[] for _ in range(workers)]
    unplaced: list[tuple[Unit, int]] = []
    for unit in sorted(units, key=lambda u: (-u.memory_bytes, u.names)):
        missing = 0
        for _ in range(unit.min_workers):
            choices = [i for i in range(workers) if unit not in held[i] and len(held[i]) < max_loaded
                       and (usable is None or fits([u.memory_bytes for u in held[i]] + [unit.memory_bytes], usable))]
            if not choices:
                missing += 1
                continue
            best = min(choices, key=lambda i: (len(held[i]), sum(u.memory_bytes for u in held[i]), i))
            held[best].append(unit)
        if missing:
            unplaced.append((unit, missing))
    return Placement(tuple(tuple(h) for h in held), tuple(unplaced))


def cold_load_seconds(disk_bytes: int) -> tuple[float, float]:
    """(typical, slow) seconds to load a model that is not in memory: its file read into the GPU or RAM."""
    return disk_bytes / TYPICAL_LOAD_BYTES_PER_SECOND, disk_bytes / SLOW_LOAD_BYTES_PER_SECOND


@dataclasses.dataclass(frozen=True)
class Issue:
    """A capacity problem, for validate (sizing wraps it in its Problem, code leaf.pool-capacity)."""

    pointer: str
    error: bool
    message: str
    hint: str
    fallback: str = ""  # where to report it when `pointer` is not written in the leaf (a default)


def _gib(n: float) -> str:
    return f"{n / 2**30:.1f} GiB"


def capacity_issues(units: Sequence[Unit], pointers: dict[str, str], workers: int, workers_pointer: str,
                    max_loaded: int, explicit_max: bool, usable: int | None) -> list[Issue]:
    """What cannot work in a pool: a model larger than a worker, more loaded models than fit (warning), a warm set
    that does not fit the fewest workers, on-demand models with no room left next to the warm set (warning).
    `pointers`: the leaf pointer of each model name; `workers`: the fewest workers the pool runs with."""
    issues: list[Issue] = []
    if usable is not None:
        for unit in units:
            if unit.memory_bytes > usable:
                issues.append(Issue(pointers[unit.names[0]], True,
                                    f"model {unit.label} needs {_gib(unit.memory_bytes)} loaded, more than one worker has "
                                    f"for models ({_gib(usable)}): no worker can hold it",
                                    "give each worker a bigger GPU (`gpu.product`, `gpu.vram`) or more GPUs (`gpu.count`), "
                                    "or serve a smaller model or quantization"))
        if explicit_max and max_loaded > 1:
            fit = largest_that_fit(units, usable)
            if max_loaded > fit:
                issues.append(Issue("/pool/maxLoadedModels", False,
                                    f"`pool.maxLoadedModels: {max_loaded}` but only the {fit} largest model(s) fit one "
                                    f"worker's {_gib(usable)} at once: Ollama evicts a model to load another before "
                                    "the limit is reached, and the gateway counts on slots that are not there",
                                    f"set `pool.maxLoadedModels: {fit}`, or remove it to follow the memory"))
    if any(issue.error for issue in issues):
        return issues
    for unit in units:
        if unit.min_workers > workers:
            name_at = pointers[unit.names[0]]
            at = name_at[: -len("/name")] + "/minWorkers" if name_at.endswith("/name") else name_at
            issues.append(Issue(at, True,
                                f"model {unit.label} should stay loaded on {unit.min_workers} workers, but the pool "
                                f"runs with {workers} at times",
                                f"lower its `minWorkers` to at most {workers}, or run more workers "
                                f"({workers_pointer[1:].replace('/', '.')})", fallback=name_at))
    if any(issue.error for issue in issues):
        return issues
    warm = [u for u in units if u.min_workers]
    slots = workers * max_loaded
    wanted = sum(u.min_workers for u in warm)
    placement = place_warm(warm, workers, max_loaded, usable)
    if not placement.feasible:
        names = ", ".join(f"{u.label} x{u.min_workers}" for u in sorted(warm, key=lambda u: u.names))
        left = ", ".join(f"{u.label} ({n} cop{'y' if n == 1 else 'ies'})" for u, n in placement.unplaced)
        why = (f"{wanted} warm copies for {slots} model slots ({workers} worker(s) x {max_loaded} model(s))"
               if wanted > slots else
               f"{workers} worker(s) of {_gib(usable or 0)} for models, {max_loaded} model(s) each, cannot hold them together")
        issues.append(Issue(workers_pointer, True,
                            f"the warm set does not fit the pool: {names}; {why}; no worker left for {left}",
                            "set `minWorkers: 0` (on demand) on some models, run more workers, or give workers more "
                            "memory; `catalog-gen plan` shows the placement"))
    elif len(warm) < len(units) and workers and all(len(held) >= max_loaded for held in placement.workers):
        cold = ", ".join(u.label for u in units if not u.min_workers)
        issues.append(Issue(workers_pointer, False,
                            f"the warm set fills every worker ({wanted} of {slots} model slots), so each load of an "
                            f"on-demand model ({cold}) evicts a warm one, which the gateway then loads again",
                            "leave a slot free: lower some `minWorkers` or run more workers"))
    return issues
