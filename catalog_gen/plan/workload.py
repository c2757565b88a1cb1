"""The pods: image, models, Ollama processes, pulls and the model cache.

Leaf data lands in values only; the Go templates read `.Values` and nothing else.
"""

from __future__ import annotations

import math

from catalog_gen.plan import probes
from catalog_gen.plan.context import PlanContext, byte_count
from catalog_gen.plan.model_size import normalized_name
from catalog_gen.plan.modelfile import render_modelfile

OLLAMA_BASE_PORT = 11434
PROGRESS_SLACK_SECONDS = 300


def add_identity(ctx: PlanContext) -> None:
    leaf, v = ctx.leaf, ctx.values
    v.put("serviceCatalog", leaf.service_catalog, "Catalog group of the service (label app.kubernetes.io/part-of).")
    v.put("environment", leaf.environment, "Environment this chart was rendered for.")
    v.put("fullnameOverride", "", "Name of every object; default the release name (at most 40 characters are used).")
    if leaf.pool.enabled:
        v.put("replicaCount", leaf.pool.workers, "Worker pods of the pool (ignored when autoscaling is enabled).")
    else:
        v.put("replicaCount", leaf.container.replicas, "Pod replicas (ignored when autoscaling is enabled).")


def add_image(ctx: PlanContext) -> None:
    leaf, v = ctx.leaf, ctx.values
    v.section("image", "The Ollama image, pinned (never `latest`).")
    v.put("image.repository", leaf.ollama.image, "Ollama image repository.")
    v.put("image.tag", ollama_image_tag(ctx), "Ollama image tag (`-rocm` for AMD GPUs); the version is the chart's appVersion.")
    v.put("image.digest", leaf.ollama.digest or "", "Image digest pin (`sha256:...`); empty: the tag alone.")
    v.put("image.pullPolicy", "IfNotPresent", "Image pull policy.")
    if amd(ctx):
        ctx.decide("image", f"{leaf.ollama.image}:{ollama_image_tag(ctx)}",
                   "AMD GPUs need Ollama's ROCm build: the standard image has no ROCm runners and would run on CPU")


def amd(ctx: PlanContext) -> bool:
    return ctx.leaf.gpu.vendor == "amd" and ctx.leaf.gpu.count > 0


def ollama_image_tag(ctx: PlanContext) -> str:
    return f"{ctx.leaf.ollama.version}-rocm" if amd(ctx) else ctx.leaf.ollama.version


def add_models(ctx: PlanContext) -> None:
    models = [
        {
            "name": spec.name,
            "digest": spec.digest,
            "keepWarm": spec.keep_warm and not ctx.leaf.pool.enabled,  # a pool's gateway keeps models warm
            "kind": spec.kind,
            "insecure": spec.insecure,
            "modelfile": render_modelfile(spec) if spec.modelfile else "",
        }
        for spec in ctx.leaf.model_specs
    ]
    warm = "keepWarm (never on a pool's workers: the gateway keeps `minWorkers` copies warm)" if ctx.leaf.pool.enabled \
        else "keepWarm"
    ctx.values.put("models", models, f"Models served: name, digest pin (64 hex or null), {warm}, kind (text|embedding), "
                   "insecure (plain-HTTP registry) and the Modelfile of a custom model (empty for pulled models).")
    ctx.values.put("modelBases", model_bases(ctx.leaf.model_specs),
                   "Bases of custom models the leaf does not serve itself (name, digest pin from modelfile.fromDigest, insecure): "
                   "pulled first, with the pull's deadlines and through the registry mirror, so `ollama create` never pulls.")


def model_bases(specs) -> list[dict]:
    """Each custom model's base that is not served itself, once, in the leaf's order (issue 15)."""
    listed = {normalized_name(s.name) for s in specs}
    bases: list[dict] = []
    for spec in specs:
        base = spec.modelfile.from_ if spec.modelfile else None
        if base is not None and normalized_name(base) not in listed:
            listed.add(normalized_name(base))
            bases.append({"name": base, "digest": spec.modelfile.from_digest, "insecure": spec.insecure})
    return bases


def add_ollama(ctx: PlanContext) -> None:
    leaf, v, sizing = ctx.leaf, ctx.values, ctx.sizing
    processes = leaf.ollama.processes
    v.section("ollama", "The Ollama server processes (one per GPU, each on its own port).")
    v.put("ollama.processes", processes, "Ollama processes (containers) per pod.")
    v.put("ollama.basePort", OLLAMA_BASE_PORT, "Port of the first process; process i listens on basePort+i.")
    v.put("ollama.numParallel", sizing.num_parallel, "OLLAMA_NUM_PARALLEL: parallel requests per loaded model.")
    v.put("ollama.contextLength", sizing.context_length, "OLLAMA_CONTEXT_LENGTH: context window per request.")
    v.put("ollama.keepAlive", leaf.ollama.keep_alive, "OLLAMA_KEEP_ALIVE; negative keeps models loaded (the router unloads idle ones).")
    v.put("ollama.flashAttention", leaf.ollama.flash_attention, "OLLAMA_FLASH_ATTENTION.")
    if leaf.pool.enabled:
        v.put("ollama.maxLoadedModels", sizing.max_loaded_models,
              "OLLAMA_MAX_LOADED_MODELS: the models one pool worker holds at once.")
    else:
        v.put("ollama.maxLoadedModels", max(len(leaf.model_specs), 1),
              "OLLAMA_MAX_LOADED_MODELS: every model of the leaf may stay loaded.")
    v.put("ollama.runAsRoot", leaf.ollama.run_as_root, "Run Ollama as root (only for images that need it).")
    v.put("ollama.extraEnv", dict(sorted(leaf.ollama.env.items())), "Extra environment variables of the Ollama containers.")
    v.put("ollama.resources", {"requests": sizing.requests, "limits": sizing.limits},
          "Resources of each Ollama container (from the preset; explicit leaf values win).")
    ctx.decide("ollama", f"{processes} process(es), OLLAMA_NUM_PARALLEL={sizing.num_parallel}, context {sizing.context_length}",
               "one process per GPU; parallelism and context from the preset unless the leaf sets them")


def pull_deadline_seconds(ctx: PlanContext) -> int:
    return probes.pull_job_deadline_seconds(ctx.sizing.models_disk_bytes)


def add_pull(ctx: PlanContext) -> None:
    v, sizing, mode = ctx.values, ctx.sizing, ctx.leaf.cache.mode
    deadline = pull_deadline_seconds(ctx)
    v.section("pull", "Model pulls in the init container (or the loader Job for a shared cache).")
    v.put("pull.serverDeadlineSeconds", 60, "Deadline for the temporary `ollama serve` to answer.")
    v.put("pull.attemptTimeoutSeconds", probes.pull_attempt_timeout_seconds(sizing.models_disk_bytes),
          "Timeout of one pull attempt (a stalled pull is retried).")
    v.put("pull.retries", 4, "Retries of a model's pull after its first attempt.")
    v.put("pull.backoffSeconds", 5, "First wait between attempts; doubles each time.")
    v.put("pull.jobBackoffLimit", 2, "Retries of the loader Job (shared cache).")
    v.put("pull.jobDeadlineSeconds", deadline, "Deadline of the loader Job (shared cache).")
    v.put("pull.resources", {"requests": {"cpu": "250m", "memory": "512Mi"}, "limits": {"memory": "2Gi"}},
          "Resources of the pull/wait container.")
    registry = ctx.leaf.registry  # issue 15, docs/registry.md
    v.put("pull.registryMirror", registry.mirror or "",
          "Registry host[:port] every model is pulled from instead of its own (PULL_REGISTRY_MIRROR); empty: each model's own registry.")
    v.put("pull.registryInsecure", registry.insecure, "Reach the mirror over plain HTTP (PULL_REGISTRY_INSECURE).")
    key = registry.credentials_secret
    v.put("pull.registryKeySecret", {"name": key.name, "key": key.key} if key else None,
          "Secret (name, key) with the Ollama ed25519 key mounted at ~/.ollama/id_ed25519 of the pulls; null: none.")
    pull = v.get("pull")
    writer = "a loader Job (the one writer of the shared claim); serving pods wait for its models" if mode == "shared" \
        else "an init container of each pod, before Ollama serves"
    ctx.decide("pull", f"by {writer}; {pull['attemptTimeoutSeconds']}s per attempt, "
               f"{pull['retries']} retries, backoff from {pull['backoffSeconds']}s doubling",
               f"{sizing.models_disk_bytes / 10**9:.1f} GB to download at {probes.NETWORK_BYTES_PER_SECOND // 10**6} MB/s "
               "at worst, plus slack" + (f"; the loader Job and the waiting pods give up after {deadline}s"
                                         if mode == "shared" else ""))


def add_cache(ctx: PlanContext) -> None:
    leaf, v, sizing = ctx.leaf, ctx.values, ctx.sizing
    mode = leaf.cache.mode
    v.section("cache", "The model cache volume.")
    v.put("cache.mode", mode, "emptyDir (per pod), pvc (one ReadWriteOnce claim) or shared (one ReadWriteMany claim, one writer).")
    size = cache_size(ctx)
    v.put("cache.size", size, "Size of the cache: the models on disk plus headroom.")
    v.put("cache.storageClass", leaf.cache.storage_class or "", "StorageClass of the claim (empty: the cluster default).")
    v.put("cache.existingClaim", leaf.cache.existing_claim or "", "Use this existing claim instead of creating one.")
    v.put("cache.fixOwnership", leaf.cache.fix_ownership and mode == "shared",
          "Shared cache: a root step of the loader Job gives the volume's top folder to uid/gid 1000 (exports that ignore fsGroup).")
    v.put("cache.waitDeadlineSeconds", pull_deadline_seconds(ctx), "Shared cache: how long serving pods wait for the loader Job's models.")
    ctx.decide("cache", f"{mode}, {size}", "leaf size" if leaf.cache.size is not None else
               f"models need {sizing.models_disk_bytes / 2**30:.1f} GiB on disk, plus headroom ({sizing.cache_size})"
               + (", rounded up to a power of two: a StatefulSet's claim template cannot change in place, so a model "
                  "change within the bracket keeps it" if size != sizing.cache_size else ""))
    if mode == "shared":
        ctx.decide("cache", "the loader Job chowns the volume's top folder to 1000:1000 first (cache.fixOwnership)"
                   if leaf.cache.fix_ownership else "the storage must let uid/gid 1000 write the volume's top folder",
                   "ReadWriteMany exports (NFS, CephFS) usually ignore fsGroup, and the loader runs as uid 1000")


def cache_size(ctx: PlanContext) -> str:
    """The claim size: the sizing's, except a derived per-replica claim, rounded up to a power-of-two GiB (at least 8)."""
    size = ctx.sizing.cache_size
    if ctx.leaf.cache.size is not None or not uses_stateful_set(ctx):
        return size
    gib = max(8, 1 << max(0, math.ceil(math.log2(max(1, byte_count(size)) / 2**30))))
    return f"{gib}Gi"


def uses_stateful_set(ctx: PlanContext) -> bool:
    """A `pvc` cache gives every replica its own ReadWriteOnce claim: a StatefulSet's volumeClaimTemplates."""
    return ctx.leaf.cache.mode == "pvc" and not ctx.leaf.cache.existing_claim


def add_workload(ctx: PlanContext, startup_seconds: int) -> None:
    v, leaf = ctx.values, ctx.leaf
    kind = "StatefulSet" if uses_stateful_set(ctx) else "Deployment"
    deadline = pull_deadline_seconds(ctx) + startup_seconds + PROGRESS_SLACK_SECONDS
    v.section("workload", "The serving pods' controller.")
    v.put("workload.kind", kind, "Deployment, or StatefulSet for a `pvc` cache (a ReadWriteOnce claim per replica).")
    v.put("workload.progressDeadlineSeconds", deadline,
          "Deployment: how long a rollout may take before it counts as failed: the model pulls, the startup budget and slack.")
    if kind == "StatefulSet":
        ctx.decide("workload", "StatefulSet, one ReadWriteOnce claim per replica (volumeClaimTemplates), kept on scale-in "
                   "and uninstall", "a ReadWriteOnce claim attaches to one node: replicas sharing one claim would hang "
                   "(Multi-Attach) or write one models folder from two servers; each pod keeps its warm cache across restarts")
        ctx.decide("workload", f"rollout: no progress deadline on StatefulSets (Argo CD shows Progressing, never Degraded); "
                   f"allow `helm --wait --timeout {deadline}s`",
                   "model pulls and the startup budget can take longer than Helm's default 5 minutes")
    else:
        reason = ("an existing claim (`cache.existingClaim`) is one volume: one replica, stopped before the next starts"
                  if leaf.cache.mode == "pvc" else "pods hold no state of their own (emptyDir, or the shared claim)")
        ctx.decide("workload", f"Deployment, progressDeadlineSeconds {deadline}", f"{reason}; the deadline covers the "
                   f"pull budget ({pull_deadline_seconds(ctx)}s), the startup budget ({startup_seconds}s) and "
                   f"{PROGRESS_SLACK_SECONDS}s, so a first rollout of a big model is not reported failed")


def add_placement(ctx: PlanContext, replicas_at_most: int) -> None:
    v, sizing, container = ctx.values, ctx.sizing, ctx.leaf.container
    v.put("nodeSelector", dict(sorted({**sizing.node_selector}.items())),
          "Node selector (GPU product from the leaf, plus extra labels).")
    tolerations = list(sizing.tolerations) + [
        t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in container.tolerations]
    v.put("tolerations", tolerations, "Tolerations (GPU taints, plus the leaf's).")
    v.put("affinity", container.affinity or {}, "Pod affinity, as the leaf writes it.")
    spread = default_spread(replicas_at_most) if container.topology_spread is None else [
        s.model_dump(mode="json", by_alias=True) for s in container.topology_spread]
    v.put("topologySpreadConstraints", spread,
          "Spread of the replicas (the chart adds the label selector); default over nodes and zones when there is more than one.")
    if spread:
        ctx.decide("placement", "spread over " + ", ".join(f"{s['topologyKey']} ({s['whenUnsatisfiable']})" for s in spread),
                   f"up to {replicas_at_most} replicas: one node or zone going down must not take them all"
                   if container.topology_spread is None else "the leaf's topologySpread")
    v.put("runtimeClassName", container.runtime_class_name or "", "RuntimeClass of the pods (empty: the node's default).")
    v.put("priorityClassName", container.priority_class_name or "", "PriorityClass of the serving pods.")
    v.put("imagePullSecrets", [{"name": n} for n in container.image_pull_secrets], "Secrets to pull the images with.")
    v.put("podAnnotations", {}, "Extra pod annotations.")
    groups = (list(ctx.leaf.gpu.device_groups) if ctx.leaf.gpu.device_groups is not None else [44]) if amd(ctx) else []
    v.put("supplementalGroups", groups, "Extra groups of the pods' processes (AMD: the owners of /dev/kfd and /dev/dri).")
    if groups:
        ctx.decide("gpu", f"AMD devices through supplemental groups {groups}",
                   "non-root Ollama needs the groups that own /dev/kfd and /dev/dri (video, render) to see the GPU")
    ctx.decide("gpu", "NVIDIA_VISIBLE_DEVICES=void in every container that requests no GPU"
               + (" (the Ollama containers too: CPU only)" if ctx.leaf.gpu.count == 0 else ""),
               "the ollama/ollama image sets NVIDIA_VISIBLE_DEVICES=all: the NVIDIA runtime would hand every GPU of the node "
               "to the pull, wait and loader containers and the router")
    v.put("hideGpus", ctx.leaf.gpu.count == 0,
          "The Ollama containers request no GPU: NVIDIA_VISIBLE_DEVICES=void so the image's `all` does not expose the node's GPUs.")


def default_spread(replicas_at_most: int) -> list[dict]:
    if replicas_at_most <= 1:
        return []
    return [{"topologyKey": key, "maxSkew": 1, "whenUnsatisfiable": "ScheduleAnyway"}
            for key in ("kubernetes.io/hostname", "topology.kubernetes.io/zone")]
