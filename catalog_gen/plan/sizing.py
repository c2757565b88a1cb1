"""Resources of the serving pods from the size of their models.

Memory of one Ollama process = runtime overhead (512 MiB: server, runner, CUDA
context) + for each set of weights it may hold: the weights (bytes on disk) + the
KV cache (2 x layers x KV width x bytes per element x context x parallel requests,
the element f16 unless `OLLAMA_KV_CACHE_TYPE` says q8_0/q4_0 with flash attention)
+ compute buffers (256 MiB + 5% of the weights). Every model counts, warm or not:
Ollama may hold them all at once. A custom model shares its base's weights (one
runner in Ollama) and counts once.

Decisions, each written to ``Sizing.reasons``:
* GPUs per pod: ``gpu.count`` (0 with ``vendor: none``); a named GPU preset with
  ``count: 0`` brings its own count. ``ollama.processes`` share them, one or more
  GPUs each; a process spanning several GPUs uses ``multi-gpu``.
* ``preset: auto`` takes the smallest preset of its class (`presets`) whose
  budget holds the need (per GPU on GPU, per process on CPU); a named preset is
  used as is, with a warning when the need exceeds it.
* Requests/limits are per Ollama container: the preset's, CPU memory raised to the
  need, ephemeral storage raised by the container's share of an ``emptyDir``
  cache (its usage counts against the pod's ephemeral storage), the GPU resource
  in both; explicit ``container.resources`` win key by key.
* Cache size: ``cache.size`` if set, else models on disk + headroom: 25% (at least
  2 GiB) for ``emptyDir``; the largest model (at least 2 GiB) for ``pvc``/``shared``,
  where a new version of a tag is pulled next to the old one.
"""

from __future__ import annotations

import dataclasses
import math

from catalog_gen.catalog.model import OllamaInferenceLoad
from catalog_gen.errors import CatalogGenError, Severity
from catalog_gen.plan import pool_capacity
from catalog_gen.plan.model_size import BITS_PER_WEIGHT, ModelSizeUnknown, WeightsFigure, normalized_name, weights_figure
from catalog_gen.plan.presets import CPU_ORDER, GPU_ORDER, GPU_RESOURCE, GPU_VRAM, PRESETS, PRODUCT_LABEL, GiB, MiB, Preset
from catalog_gen.quantity import parse_quantity

RUNTIME_OVERHEAD = 512 * MiB
GRAPH_FIXED = 256 * MiB
GRAPH_SHARE = 0.05
KV_ELEMENT_BYTES = {"f16": 2.0, "q8_0": 34 / 32, "q4_0": 18 / 32}
RESOURCE_KEYS = ("cpu", "memory", "ephemeral-storage")
GPU_HOST_MEMORY = 1 * 2**30  # RAM of one Ollama process beside its GPU


class SizingError(CatalogGenError):
    """The leaf's models or resources cannot be sized as asked."""


# The finding code of each kind of problem sizing reports; validate turns each into a finding through its
# rule registry (`catalog_gen.catalog.rules`), a test checks that every code here has a rule.
MODEL_SIZE = "leaf.model-size"  # a model that cannot be sized (or an absurd size)
PRESET = "leaf.preset"  # a named preset that does not fit the GPUs, or is meant for less than the models need
GPU_MEMORY = "leaf.gpu-memory"  # the models do not fit (error) or may not fit (warning) the GPUs named
MEMORY_LIMIT = "leaf.memory-limit"  # an explicit memory limit below what the models need
CACHE_SIZE = "leaf.cache-size"  # an explicit cache.size smaller than the models
MODEL_CONTEXT = "leaf.model-context"  # models sharing weights ask for different context lengths
POOL_CAPACITY = "leaf.pool-capacity"  # a pool whose models or warm set do not fit its workers
PROBLEM_CODES = (MODEL_SIZE, PRESET, GPU_MEMORY, MEMORY_LIMIT, CACHE_SIZE, MODEL_CONTEXT, POOL_CAPACITY)


@dataclasses.dataclass(frozen=True)
class Problem:
    pointer: str  # RFC 6901 pointer into the leaf
    severity: Severity
    message: str
    hint: str
    code: str = MODEL_SIZE
    # Where to report it when `pointer` is not written in the leaf file itself (inherited from a
    # `_defaults.yaml` shared by other leaves): the model entry the problem is about.
    fallback: str = ""
    # The numbers behind the message, in bytes: ("need", ...), ("gpu", ...), ("limit", ...).
    figures: tuple[tuple[str, int], ...] = ()


@dataclasses.dataclass(frozen=True)
class ModelSize:
    name: str
    parameters_b: float
    quantization: str
    disk_bytes: int  # the weights it needs on disk (a custom model: its base's)
    weights_bytes: int
    kv_cache_bytes: int
    memory_bytes: int  # weights + KV cache + compute buffers
    context_length: int  # tokens per request slot for this model
    shares_weights_with: str | None  # the base of a custom model
    keep_warm: bool
    source: str


@dataclasses.dataclass(frozen=True)
class Sizing:
    preset: str
    reasons: list[str]
    models: list[ModelSize]
    memory_estimate_bytes: int  # one Ollama process: VRAM on GPU, RAM on CPU
    vram_per_gpu_bytes: int  # 0 on CPU
    requests: dict[str, str]  # per Ollama container
    limits: dict[str, str]
    gpu_resource: str | None
    gpu_count: int  # per pod
    gpus_per_process: int
    processes: int
    node_selector: dict[str, str]
    tolerations: list[dict]
    num_parallel: int
    context_length: int
    kv_cache_type: str
    cache_size: str
    models_disk_bytes: int  # what the pull writes
    load_bytes: int  # what one process reads into memory at start (keep-warm models): startup budget input
    # A pool worker (`pool.enabled`): models it holds at once (OLLAMA_MAX_LOADED_MODELS), the memory it has for
    # models when known (bytes), and the units of weights it may load (plan/pool_capacity.py).
    max_loaded_models: int = 0
    worker_memory_bytes: int | None = None
    units: tuple = ()


def gib(n: float) -> str:
    return f"{n / GiB:.1f} GiB"


def ceil_gi(n: float) -> str:
    return f"{max(1, math.ceil(n / GiB))}Gi"


def quantity_text(value) -> str:
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


def _model_pointer(leaf: OllamaInferenceLoad, index: int) -> str:
    return "/model" if leaf.models is None else f"/models/{index}"


def _figures(leaf: OllamaInferenceLoad) -> tuple[list[WeightsFigure], list[Problem]]:
    figures, problems = [], []
    for i, spec in enumerate(leaf.model_specs):
        try:
            figures.append(weights_figure(spec))
        except ModelSizeUnknown as exc:
            problems.append(Problem(_model_pointer(leaf, i), Severity.ERROR, exc.message, exc.hint, MODEL_SIZE))
    return figures, problems


def service_problems(leaf: OllamaInferenceLoad) -> list[Problem]:
    """Everything sizing finds wrong or doubtful in a leaf, for the validator (errors and warnings)."""
    figures, problems = _figures(leaf)
    if problems:
        return problems
    return _compute(leaf, figures)[1]


def size_service(leaf: OllamaInferenceLoad) -> Sizing:
    """Size one service. Raises `SizingError` on an error `service_problems` would report."""
    figures, problems = _figures(leaf)  # a model that cannot be sized is always an error
    sizing = None
    if not problems:
        sizing, problems = _compute(leaf, figures)
    errors = [p for p in problems if p.severity is Severity.ERROR]
    if errors:
        first = errors[0]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise SizingError(f"{leaf.service_name}: {first.pointer}: {first.message}{more}", hint=first.hint)
    assert sizing is not None
    return sizing


def _gpus(leaf: OllamaInferenceLoad, reasons: list[str], problems: list[Problem]) -> int:
    """GPUs per Ollama process."""
    count = leaf.gpu.count if leaf.gpu.vendor != "none" else 0
    processes = leaf.ollama.processes
    if leaf.gpu.vendor == "none":
        reasons.append("gpu.vendor none: CPU only")
    named = leaf.container.preset
    if named in CPU_ORDER:
        if count:
            problems.append(Problem("/container/preset", Severity.ERROR, f"preset {named} is CPU only but `gpu.count` is {count}",
                                    "choose a GPU preset (or auto), or set `gpu.count: 0`", PRESET))
        return 0
    if named != "auto":
        if leaf.gpu.vendor == "none":
            problems.append(Problem("/container/preset", Severity.ERROR, f"preset {named} needs GPUs but `gpu.vendor` is none",
                                    "set `gpu.vendor: nvidia` (or amd), or choose a CPU preset", PRESET))
            return 0
        per_process = max(PRESETS[named].gpus_per_process, count // processes)
        if count < per_process * processes:
            reasons.append(f"preset {named}: {per_process} GPU(s) per process, {per_process * processes} per pod (gpu.count is {count})")
        return per_process
    return count // processes if count >= processes else (1 if count else 0)


def _model_sizes(leaf, figures, num_parallel, context_length, kv_bytes, reasons) -> list[ModelSize]:
    specs = leaf.model_specs
    listed = {normalized_name(s.name) for s in specs}
    sizes = []
    for spec, fig in zip(specs, figures):
        ctx = context_length
        params = spec.modelfile.parameters if spec.modelfile else {}
        if isinstance(params.get("num_ctx"), int) and not isinstance(params.get("num_ctx"), bool):
            ctx = params["num_ctx"]
        if fig.context_max and ctx > fig.context_max:
            reasons.append(f"{spec.name}: context capped at its trained {fig.context_max} tokens (asked {ctx})")
            ctx = fig.context_max
        kv = int(2 * fig.layers * fig.kv_dim * kv_bytes * ctx * num_parallel)
        graph = int(GRAPH_FIXED + GRAPH_SHARE * fig.disk_bytes)
        base = spec.modelfile.from_ if spec.modelfile else None
        shares = base if base is not None and normalized_name(base) in listed else None
        sizes.append(ModelSize(
            name=spec.name, parameters_b=fig.parameters_b, quantization=fig.quantization, disk_bytes=fig.disk_bytes,
            weights_bytes=fig.disk_bytes, kv_cache_bytes=kv, memory_bytes=fig.disk_bytes + kv + graph,
            context_length=ctx, shares_weights_with=shares, keep_warm=spec.keep_warm, source=fig.source,
        ))
        reasons.append(
            f"{spec.name}: {fig.parameters_b:g}B parameters, {fig.quantization}, {gib(fig.disk_bytes)} of weights "
            f"+ {gib(kv)} KV cache ({num_parallel} x {ctx} tokens) + {gib(graph)} buffers = {gib(fig.disk_bytes + kv + graph)}"
            f" [{fig.source}]")
    return sizes


def _groups(leaf, sizes: list[ModelSize], problems: list[Problem]) -> dict[str, list[ModelSize]]:
    """Models by the weights they load: a custom model joins its base."""
    groups: dict[str, list[ModelSize]] = {}
    for size in sizes:
        groups.setdefault(normalized_name(size.shares_weights_with or size.name), []).append(size)
    for members in groups.values():
        contexts = sorted({m.context_length for m in members})
        if len(members) > 1 and len(contexts) > 1:
            names = ", ".join(m.name for m in members)
            problems.append(Problem(
                "/models", Severity.WARNING,
                f"{names} share one set of weights but ask for different context lengths ({', '.join(map(str, contexts))}): "
                "Ollama reloads the model whenever requests alternate between them",
                "give the custom model the same `num_ctx` as `ollama.contextLength`, or drop `num_ctx`", MODEL_CONTEXT))
    return groups


def _compute(leaf: OllamaInferenceLoad, figures: list[WeightsFigure]) -> tuple[Sizing, list[Problem]]:
    reasons: list[str] = []
    problems: list[Problem] = []
    gpus_pp = _gpus(leaf, reasons, problems)
    processes = leaf.ollama.processes
    on_gpu = gpus_pp > 0
    class_default = PRESETS["gpu-small" if on_gpu else "cpu-small"]
    named = leaf.container.preset
    defaults = PRESETS[named] if named != "auto" else class_default
    num_parallel = leaf.ollama.num_parallel or defaults.num_parallel
    context_length = leaf.ollama.context_length or defaults.context_length
    reasons.append(f"{num_parallel} parallel request(s) x {context_length} tokens of context per process"
                   f" ({'leaf' if leaf.ollama.num_parallel else 'preset default'} / "
                   f"{'leaf' if leaf.ollama.context_length else 'preset default'})")
    kv_type = leaf.ollama.env.get("OLLAMA_KV_CACHE_TYPE", "f16").lower()
    if kv_type not in KV_ELEMENT_BYTES or not leaf.ollama.flash_attention:
        kv_type = "f16"
    sizes = _model_sizes(leaf, figures, num_parallel, context_length, KV_ELEMENT_BYTES[kv_type], reasons)
    groups = _groups(leaf, sizes, problems)

    need = RUNTIME_OVERHEAD + sum(max(m.memory_bytes for m in members) for members in groups.values())
    weights = RUNTIME_OVERHEAD + sum(max(m.weights_bytes for m in members) for members in groups.values())
    check_need, check_weights = need, weights  # what the memory limit must hold
    pool = _pool_worker(leaf, groups, gpus_pp) if leaf.pool.enabled else None
    if pool is not None:
        # a pool worker holds only its `max_loaded` largest models at once; each model alone must fit its memory
        top = sorted(groups.values(), key=lambda members: -max(m.memory_bytes for m in members))[: pool.max_loaded]
        need = RUNTIME_OVERHEAD + sum(max(m.memory_bytes for m in members) for members in top)
        weights = RUNTIME_OVERHEAD + sum(max(m.weights_bytes for m in members) for members in top)
        check_need = RUNTIME_OVERHEAD + max(m.memory_bytes for m in sizes)
        check_weights = RUNTIME_OVERHEAD + max(m.weights_bytes for m in sizes)
        reasons.append(f"pool worker: holds at most {pool.max_loaded} of the {len(groups)} model(s) at once "
                       f"(OLLAMA_MAX_LOADED_MODELS; {pool.why}), sized for the {pool.max_loaded} largest")
        problems.extend(_pool_problems(leaf, pool))
    per_gpu = RUNTIME_OVERHEAD + math.ceil((need - RUNTIME_OVERHEAD) / gpus_pp) if on_gpu else 0
    reasons.append(f"one Ollama process needs {gib(need)} ({'VRAM' if on_gpu else 'RAM'}; 0.5 GiB runtime + "
                   f"{'every model' if pool is None else 'the models it holds at once'}"
                   f"{', custom models counted with their base' if len(groups) < len(sizes) else ''})"
                   + (f", {gib(per_gpu)} on each of its {gpus_pp} GPUs" if gpus_pp > 1 else ""))
    largest = max(range(len(sizes)), key=lambda i: (sizes[i].memory_bytes, -i))
    model_pointer = _model_pointer(leaf, largest) + ("/name" if leaf.models is not None else "")
    fit = _Fit(leaf, sizes, largest, model_pointer, need, per_gpu, gpus_pp, num_parallel, context_length)

    preset = _choose_preset(leaf, on_gpu, gpus_pp, need, per_gpu, reasons, problems)
    if on_gpu and (pool is None or gpu_memory(leaf) is None):  # a pool's fit is the pool capacity rule's (plan/pool.py)
        _check_gpu_memory(fit, reasons, problems)
    disk = sum(members[0].disk_bytes for members in groups.values())
    cache_size = _cache_size(leaf, disk, groups, reasons, problems)
    requests, limits = _resources(leaf, preset, on_gpu, need, (check_need, check_weights), gpus_pp, cache_size,
                                  model_pointer, reasons, problems)
    vendor = leaf.gpu.vendor if leaf.gpu.vendor != "none" else "nvidia"
    node_selector: dict[str, str] = {}
    if on_gpu and leaf.gpu.product:
        node_selector[PRODUCT_LABEL[vendor]] = leaf.gpu.product
        reasons.append(f"node selector {PRODUCT_LABEL[vendor]}={leaf.gpu.product}")
    elif on_gpu:
        reasons.append(f"no gpu.product: any node with {GPU_RESOURCE[vendor]}; it must have {gib(per_gpu)} free on each GPU")
    node_selector.update(leaf.container.node_selector)
    resource = GPU_RESOURCE[vendor] if on_gpu else None
    tolerations = [{"key": resource, "operator": "Exists", "effect": "NoSchedule"}] if resource else []
    # at start the router warms every model it requires once (a pool worker: all of them, one after the other)
    load = sum(max(m.disk_bytes for m in members) for members in groups.values()
               if pool is not None or any(m.keep_warm for m in members))
    # `plan` shows what validate warns about, in the same words (errors stop the plan: validate shows them)
    reasons.extend(f"warning ({p.code}): {p.message}; {p.hint}" for p in problems if p.severity is Severity.WARNING)
    sizing = Sizing(
        preset=preset.name, reasons=reasons, models=sizes, memory_estimate_bytes=need,
        vram_per_gpu_bytes=per_gpu, requests=requests, limits=limits,
        gpu_resource=resource, gpu_count=gpus_pp * processes, gpus_per_process=gpus_pp, processes=processes,
        node_selector=node_selector, tolerations=tolerations, num_parallel=num_parallel, context_length=context_length,
        kv_cache_type=kv_type, cache_size=cache_size, models_disk_bytes=disk, load_bytes=load,
        max_loaded_models=pool.max_loaded if pool else 0, worker_memory_bytes=pool.usable if pool else None,
        units=pool.units if pool else (),
    )
    return sizing, problems


@dataclasses.dataclass(frozen=True)
class _PoolWorker:
    max_loaded: int
    why: str
    usable: int | None  # bytes one worker has for models, when known
    units: tuple[pool_capacity.Unit, ...]


def _pool_worker(leaf: OllamaInferenceLoad, groups: dict[str, list[ModelSize]], gpus_pp: int) -> _PoolWorker:
    """How many models a pool worker holds at once: the leaf's `pool.maxLoadedModels`, or what fits its memory."""
    min_workers = {normalized_name(spec.name): min_workers_of(spec) for spec in leaf.model_specs}
    units = tuple(pool_capacity.Unit(
        names=tuple(m.name for m in members), memory_bytes=max(m.memory_bytes for m in members),
        disk_bytes=max(m.disk_bytes for m in members),
        min_workers=max(min_workers[normalized_name(m.name)] for m in members)) for members in groups.values())
    usable = worker_memory(leaf, gpus_pp)
    if leaf.pool.max_loaded_models is not None:
        count = min(leaf.pool.max_loaded_models, len(units))
        why = "pool.maxLoadedModels" + (f" {leaf.pool.max_loaded_models}, but the leaf has {len(units)} model(s)"
                                        if count < leaf.pool.max_loaded_models else "")
        return _PoolWorker(count, why, usable, units)
    count, why = pool_capacity.default_max_loaded(units, usable, gpus_pp)
    return _PoolWorker(count, why, usable, units)


def _pool_problems(leaf: OllamaInferenceLoad, pool: _PoolWorker) -> list[Problem]:
    auto = leaf.autoscaling
    if auto.enabled:
        workers, at = (0 if auto.scale_to_zero else auto.min_replicas), "/autoscaling/minReplicas"
    else:
        workers, at = leaf.pool.workers, "/pool/workers"
    pointers = {spec.name: _model_pointer(leaf, i) + ("/name" if leaf.models is not None else "")
                for i, spec in enumerate(leaf.model_specs)}
    issues = pool_capacity.capacity_issues(pool.units, pointers, workers, at, pool.max_loaded,
                                           leaf.pool.max_loaded_models is not None, pool.usable)
    return [Problem(i.pointer, Severity.ERROR if i.error else Severity.WARNING, i.message, i.hint, POOL_CAPACITY,
                    i.fallback) for i in issues]


def min_workers_of(spec) -> int:
    """Workers that keep a pool model loaded: `minWorkers`, or 1 when it is kept warm, 0 when not."""
    if spec.min_workers is not None:
        return spec.min_workers
    return 1 if spec.keep_warm else 0


def worker_memory(leaf: OllamaInferenceLoad, gpus_pp: int) -> int | None:
    """Bytes one pool worker has for models: its GPUs' memory (known from `gpu.product` or `gpu.vram`) less the
    runtime on each, or on CPU the explicit memory limit less the runtime; None when not known."""
    if gpus_pp:
        known = gpu_memory(leaf)
        return gpus_pp * (known[0] - RUNTIME_OVERHEAD) if known else None
    given = _explicit(leaf)[1].get("memory")
    return int(parse_quantity(given)) - RUNTIME_OVERHEAD if given is not None else None


def _choose_preset(leaf, on_gpu, gpus_pp, need, per_gpu, reasons, problems) -> Preset:
    """The preset is a tier of hardware (requests, limits, concurrency defaults); whether the models fit the
    GPU the leaf names is `_check_gpu_memory`'s question, so no reason here says "fits" about a GPU."""
    named = leaf.container.preset
    measure = per_gpu if on_gpu else need
    what = "per GPU" if on_gpu else "of RAM"
    if named != "auto":
        preset = PRESETS[named]
        reasons.append(f"preset {named}: named by the leaf ({preset.tier})")
        if measure > preset.budget_bytes:
            problems.append(Problem("/container/preset", Severity.WARNING,
                                    f"preset {named} is meant for up to {gib(preset.budget_bytes)} {what}; the models need {gib(measure)}",
                                    "use `preset: auto`, or a larger preset", PRESET,
                                    figures=(("need", measure), ("preset", preset.budget_bytes))))
        return preset
    order = CPU_ORDER if not on_gpu else GPU_ORDER if gpus_pp == 1 else ("multi-gpu",)
    for name in order:
        preset = PRESETS[name]
        if measure <= preset.budget_bytes:
            reasons.append(f"preset {name} (auto): the smallest whose budget ({gib(preset.budget_bytes)} {what}) "
                           f"covers the {gib(measure)} needed ({preset.tier})")
            return preset
    preset = PRESETS[order[-1]]
    reasons.append(f"preset {preset.name} (auto): the largest of its class; {gib(measure)} {what} exceeds its "
                   f"{gib(preset.budget_bytes)}" + ("" if on_gpu else ", so the memory limit follows the estimate"))
    return preset


@dataclasses.dataclass(frozen=True)
class _Fit:
    """What the GPU fit check needs to say what to change."""

    leaf: OllamaInferenceLoad
    sizes: list[ModelSize]
    largest: int
    model_pointer: str
    need: int  # one process
    per_gpu: int
    gpus_pp: int
    num_parallel: int
    context_length: int


def gpu_memory(leaf: OllamaInferenceLoad) -> tuple[int, str, str] | None:
    """(bytes of one GPU, where that figure comes from, its leaf pointer), or None when the leaf names no known GPU."""
    if leaf.gpu.vram is not None:
        return int(parse_quantity(leaf.gpu.vram)), f"gpu.vram {quantity_text(leaf.gpu.vram)}", "/gpu/vram"
    if leaf.gpu.product in GPU_VRAM:
        return GPU_VRAM[leaf.gpu.product], f"{leaf.gpu.product}, per nvidia-smi", "/gpu/product"
    return None


def _check_gpu_memory(fit: _Fit, reasons: list[str], problems: list[Problem]) -> None:
    leaf, per_gpu = fit.leaf, fit.per_gpu
    known = gpu_memory(leaf)
    largest_gpu = max(GPU_VRAM.values())
    if known is None:
        if per_gpu > largest_gpu:
            problems.append(Problem(
                "/gpu/count", Severity.ERROR,
                f"the models need {gib(per_gpu)} per GPU, more than the largest GPU known ({gib(largest_gpu)}): "
                f"it cannot be loaded on {fit.gpus_pp} GPU(s) per process",
                _what_to_change(fit, largest_gpu), GPU_MEMORY, fit.model_pointer,
                (("need", per_gpu), ("gpu", largest_gpu))))
        elif per_gpu > PRESETS["gpu-medium"].budget_bytes:
            problems.append(Problem(
                "/gpu/count", Severity.WARNING,
                f"the models need {gib(per_gpu)} per GPU but the leaf names no GPU: on a node with a smaller GPU "
                "(16-24 GB cards are common) Ollama runs part of the model on the CPU, many times slower",
                "name the GPU with `gpu.product` (e.g. NVIDIA-A100-SXM4-80GB) or its memory with `gpu.vram` (e.g. 80Gi), "
                "so the fit is checked and the pod lands on such a node", GPU_MEMORY, fit.model_pointer,
                (("need", per_gpu),)))
        return
    vram, source, pointer = known
    if per_gpu > vram:
        problems.append(Problem(
            pointer, Severity.ERROR,
            f"the models need {gib(per_gpu)} per GPU ({_breakdown(fit)}) but one GPU has {gib(vram)} ({source}): "
            "they do not fit; Ollama would run most of the model on the CPU, if at all",
            _what_to_change(fit, vram), GPU_MEMORY, fit.model_pointer, (("need", per_gpu), ("gpu", vram))))
    else:
        reasons.append(f"fits: {gib(per_gpu)} per GPU of the {gib(vram)} of {source}")


def _breakdown(fit: _Fit) -> str:
    top = fit.sizes[fit.largest]
    others = len(fit.sizes) - 1
    buffers = top.memory_bytes - top.weights_bytes - top.kv_cache_bytes
    return (f"{top.name}: {gib(top.weights_bytes)} weights + {gib(top.kv_cache_bytes)} KV cache + {gib(buffers)} buffers"
            + (f", and {others} more model(s)" if others else "") + " + 0.5 GiB runtime"
            + (f", split over {fit.gpus_pp} GPUs" if fit.gpus_pp > 1 else ""))


def _what_to_change(fit: _Fit, vram: int) -> str:
    """Concrete changes, each with its number: a bigger GPU, more GPUs, a smaller quantization, fewer slots, a size hint."""
    leaf, options = fit.leaf, []
    bigger = sorted((size, name) for name, size in GPU_VRAM.items() if size >= fit.per_gpu)
    if bigger:
        options.append(f"a GPU with at least {gib(fit.per_gpu)} (`gpu.product: {bigger[0][1]}`, or `gpu.vram`)")
    usable = vram - RUNTIME_OVERHEAD
    gpus = math.ceil((fit.need - RUNTIME_OVERHEAD) / usable) if usable > 0 else 0
    if 1 < gpus <= 16 // leaf.ollama.processes and gpus > fit.gpus_pp:
        options.append(f"`gpu.count: {gpus * leaf.ollama.processes}` so each Ollama process spreads over {gpus} GPUs")
    top = fit.sizes[fit.largest]
    if top.quantization not in ("Q4_K_M", "Q4_0", "Q4_K_S") and BITS_PER_WEIGHT.get(top.quantization, 0) > BITS_PER_WEIGHT["Q4_K_M"]:
        smaller = int(top.weights_bytes * BITS_PER_WEIGHT["Q4_K_M"] / BITS_PER_WEIGHT[top.quantization])
        options.append(f"a Q4_K_M tag of {top.name} ({gib(smaller)} of weights instead of {gib(top.weights_bytes)})")
    elif top.kv_cache_bytes > GiB and (fit.num_parallel > 1 or fit.context_length > 4096):
        options.append(f"fewer parallel requests or a shorter context (the KV cache takes {gib(top.kv_cache_bytes)})")
    else:
        options.append("a smaller model or quantization")
    if top.source.startswith("size ") and "family table" not in top.source:
        options.append(f"a size hint on {top.name} if its size is not what the name says "
                       "(`size: {parameters: 8B, quantization: Q4_K_M}`)")
    return "; or ".join(options)


def _cache_size(leaf, disk, groups, reasons, problems) -> str:
    mode = leaf.cache.mode
    if leaf.cache.size is not None:
        size = quantity_text(leaf.cache.size)
        reasons.append(f"cache {mode}: {size} from cache.size; the models take {gib(disk)}")
        if parse_quantity(leaf.cache.size) < disk:
            problems.append(Problem("/cache/size", Severity.ERROR,
                                    f"cache.size {size} is smaller than the models ({gib(disk)} on disk)",
                                    f"set cache.size to at least {ceil_gi(disk * 1.25)}, or remove it to size the cache from the models",
                                    CACHE_SIZE, figures=(("need", disk), ("size", int(parse_quantity(leaf.cache.size))))))
        return size
    if mode == "emptyDir":
        headroom, why = max(2 * GiB, disk // 4), "25% (at least 2 GiB)"
    else:
        headroom = max(2 * GiB, max(members[0].disk_bytes for members in groups.values()))
        why = "the largest model (at least 2 GiB), for a new version pulled next to the old one"
    size = ceil_gi(disk + headroom)
    reasons.append(f"cache {mode}: {size} = {gib(disk)} of models + {why}")
    return size


def _explicit(leaf: OllamaInferenceLoad) -> tuple[dict[str, str], dict[str, str]]:
    """The leaf's own requests and limits, by resource key."""
    explicit = leaf.container.resources
    out: tuple[dict[str, str], dict[str, str]] = ({}, {})
    for side, given in zip(out, (explicit.requests if explicit else None, explicit.limits if explicit else None)):
        for key in RESOURCE_KEYS:
            value = getattr(given, key.replace("-", "_")) if given is not None else None
            if value is not None:
                side[key] = quantity_text(value)
    return out


def _resources(leaf, preset: Preset, on_gpu, need, check, gpus_pp, cache_size, model_pointer, reasons, problems):
    """Requests and limits of one Ollama container; `check` is (need, weights) the memory limit must hold."""
    requests, limits = dict(preset.requests), dict(preset.limits)
    given_req, given_lim = _explicit(leaf)
    if not on_gpu and need > parse_quantity(limits["memory"]) and "memory" not in given_lim:
        limits["memory"] = ceil_gi(need)
        reasons.append(f"memory limit raised to the estimate, {limits['memory']}")
    if not on_gpu and "memory" not in given_req:
        wanted = min(max(parse_quantity(requests["memory"]), need), parse_quantity(given_lim.get("memory", limits["memory"])))
        requests["memory"] = ceil_gi(wanted) if wanted > parse_quantity(requests["memory"]) else requests["memory"]
    if leaf.cache.mode == "emptyDir":
        share = parse_quantity(cache_size) / leaf.ollama.processes
        for side in (requests, limits):
            side["ephemeral-storage"] = ceil_gi(parse_quantity(side["ephemeral-storage"]) + share)
        reasons.append(f"ephemeral-storage includes {ceil_gi(share)} of the emptyDir cache (it counts against the pod's ephemeral storage)")
    requests.update(given_req)
    limits.update(given_lim)
    for key in RESOURCE_KEYS:
        req_set, lim_set = key in given_req, key in given_lim
        if req_set or lim_set:
            reasons.append(f"{key}: request {requests[key]} / limit {limits[key]} (explicit {'request' if req_set else ''}"
                           f"{' and ' if req_set and lim_set else ''}{'limit' if lim_set else ''} from the leaf)")
        if parse_quantity(requests[key]) > parse_quantity(limits[key]):
            if req_set and not lim_set:
                limits[key] = requests[key]
                reasons.append(f"{key} limit raised to the explicit request {requests[key]}")
            elif lim_set and not req_set:
                requests[key] = limits[key]
                reasons.append(f"{key} request lowered to the explicit limit {limits[key]}")
    _check_memory_limit(on_gpu, *check, limits["memory"], "memory" in given_lim, model_pointer, reasons, problems)
    if on_gpu:
        resource = GPU_RESOURCE[leaf.gpu.vendor if leaf.gpu.vendor != "none" else "nvidia"]
        requests[resource] = limits[resource] = str(gpus_pp)
    return requests, limits


def _check_memory_limit(on_gpu, need, weights, limit_text, explicit, model_pointer, reasons, problems) -> None:
    limit = parse_quantity(limit_text)
    pointer = "/container/resources/limits/memory"
    if on_gpu:
        if limit < GPU_HOST_MEMORY:
            problems.append(Problem(pointer, Severity.WARNING,
                                    f"memory limit {limit_text} is below the {gib(GPU_HOST_MEMORY)} an Ollama process needs beside "
                                    "its GPU (server, runner, the model file read into VRAM): the container may be OOM-killed",
                                    f"raise it to at least {ceil_gi(GPU_HOST_MEMORY)} or remove it", MEMORY_LIMIT, model_pointer,
                                    (("need", GPU_HOST_MEMORY), ("limit", int(limit)))))
        return
    if limit < weights:
        problems.append(Problem(pointer, Severity.ERROR,
                                f"memory limit {limit_text} cannot hold the models on CPU: their weights alone take {gib(weights)} "
                                f"of the {gib(need)} they need; the container is OOM-killed while loading",
                                f"raise it to at least {ceil_gi(need)} or remove it (the limit then follows the estimate), "
                                "or run on a GPU", MEMORY_LIMIT, model_pointer, (("need", need), ("limit", int(limit)))))
    elif limit < need:
        problems.append(Problem(pointer, Severity.WARNING,
                                f"memory limit {limit_text} is below the {gib(need)} the models need on CPU (weights {gib(weights)} "
                                "+ KV cache and buffers): the container will be OOM-killed under load",
                                f"raise it to at least {ceil_gi(need)} or remove it", MEMORY_LIMIT, model_pointer,
                                (("need", need), ("limit", int(limit)))))
    elif explicit:
        reasons.append(f"memory limit {limit_text} (explicit) holds the {gib(need)} estimate")
