"""Leaf -> ChartPlan: every derived decision, with its reason.

The plan is plain data. All leaf data lands in ``values`` (rendered to
values.yaml); the chart's Go templates read only ``.Values``, so a leaf string
holding `{{ .Release.Name }}`, quotes or `$(reboot)` comes out of Helm
literally. ``docs`` documents every value (dotted path -> sentence) for the
`# --` comments, values.schema.json and the chart README.
"""

from __future__ import annotations

import dataclasses
import math

from catalog_gen import __version__
from catalog_gen.catalog.index import chart_path
from catalog_gen.catalog.model import OllamaInferenceLoad
from catalog_gen.plan import observability, probes
from catalog_gen.plan.modelfile import render_modelfile
from catalog_gen.plan.sizing import Sizing, size_service

ROUTER_PORT = 8080
OLLAMA_BASE_PORT = 11434
SERVICE_PORT = 80


@dataclasses.dataclass(frozen=True)
class ChartPlan:
    source: str  # the leaf file, as shown in Chart.yaml
    chart_dir: str  # <environment>/<serviceName> under the charts folder
    name: str
    app_version: str
    description: str
    values: dict
    docs: dict[str, str]
    decisions: list[tuple[str, str, str]]  # (topic, decision, why)
    sizing: Sizing
    leaf: OllamaInferenceLoad | None = None  # the leaf, defaults applied (GitOps and Backstage files read it)


class _Values:
    """Builds the values tree and its documentation side by side, in insertion order."""

    def __init__(self) -> None:
        self.tree: dict = {}
        self.docs: dict[str, str] = {}

    def put(self, path: str, value, doc: str) -> None:
        node = self.tree
        parts = path.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
        self.docs[path] = doc

    def section(self, path: str, doc: str) -> None:
        self.put(path, {}, doc)


def _seconds(duration: str) -> int:
    units = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}
    total, number = 0.0, ""
    i = 0
    while i < len(duration):
        ch = duration[i]
        if ch.isdigit() or ch == ".":
            number += ch
            i += 1
            continue
        unit = duration[i : i + 2] if duration[i : i + 2] in units else ch
        total += float(number) * units[unit]
        number = ""
        i += len(unit)
    return int(math.ceil(total))


def _bytes(quantity) -> int:
    from catalog_gen.quantity import parse_quantity

    return int(parse_quantity(quantity))


def build_plan(leaf: OllamaInferenceLoad, source: str) -> ChartPlan:
    sizing = size_service(leaf)
    decisions: list[tuple[str, str, str]] = [("sizing", sizing.preset, reason) for reason in sizing.reasons]
    v = _Values()
    router = leaf.router.enabled

    v.put("serviceCatalog", leaf.service_catalog, "Catalog group of the service (label app.kubernetes.io/part-of).")
    v.put("environment", leaf.environment, "Environment this chart was rendered for.")
    v.put("fullnameOverride", "", "Name of every object; default the release name (at most 40 characters are used).")
    replicas = leaf.container.replicas
    v.put("replicaCount", replicas, "Pod replicas (ignored when autoscaling is enabled).")

    v.section("image", "The Ollama image, pinned (never `latest`).")
    v.put("image.repository", leaf.ollama.image, "Ollama image repository.")
    v.put("image.tag", leaf.ollama.version, "Ollama image tag; also the chart's appVersion.")
    v.put("image.pullPolicy", "IfNotPresent", "Image pull policy.")

    models = []
    for spec in leaf.model_specs:
        models.append(
            {
                "name": spec.name,
                "digest": spec.digest,
                "keepWarm": spec.keep_warm,
                "kind": spec.kind,
                "insecure": spec.insecure,
                "modelfile": render_modelfile(spec) if spec.modelfile else "",
            }
        )
    v.put("models", models, "Models served: name, digest pin (64 hex or null), keepWarm, kind (text|embedding), "
          "insecure (plain-HTTP registry) and the Modelfile of a custom model (empty for pulled models).")

    processes = leaf.ollama.processes
    v.section("ollama", "The Ollama server processes (one per GPU, each on its own port).")
    v.put("ollama.processes", processes, "Ollama processes (containers) per pod.")
    v.put("ollama.basePort", OLLAMA_BASE_PORT, "Port of the first process; process i listens on basePort+i.")
    v.put("ollama.numParallel", sizing.num_parallel, "OLLAMA_NUM_PARALLEL: parallel requests per loaded model.")
    v.put("ollama.contextLength", sizing.context_length, "OLLAMA_CONTEXT_LENGTH: context window per request.")
    v.put("ollama.keepAlive", leaf.ollama.keep_alive, "OLLAMA_KEEP_ALIVE; negative keeps models loaded (the router unloads idle ones).")
    v.put("ollama.flashAttention", leaf.ollama.flash_attention, "OLLAMA_FLASH_ATTENTION.")
    max_loaded = max(len(models), 1)
    v.put("ollama.maxLoadedModels", max_loaded, "OLLAMA_MAX_LOADED_MODELS: every model of the leaf may stay loaded.")
    v.put("ollama.runAsRoot", leaf.ollama.run_as_root, "Run Ollama as root (only for images that need it).")
    v.put("ollama.extraEnv", dict(sorted(leaf.ollama.env.items())), "Extra environment variables of the Ollama containers.")
    v.put("ollama.resources", {"requests": sizing.requests, "limits": sizing.limits},
          "Resources of each Ollama container (from the preset; explicit leaf values win).")
    decisions.append(("ollama", f"{processes} process(es), OLLAMA_NUM_PARALLEL={sizing.num_parallel}, context {sizing.context_length}",
                      "one process per GPU; parallelism and context from the preset unless the leaf sets them"))

    mode = leaf.cache.mode
    cache_size = sizing.cache_size
    pull_deadline = probes.pull_job_deadline_seconds(sizing.models_disk_bytes)
    v.section("pull", "Model pulls in the init container (or the loader Job for a shared cache).")
    v.put("pull.serverDeadlineSeconds", 60, "Deadline for the temporary `ollama serve` to answer.")
    v.put("pull.attemptTimeoutSeconds", probes.pull_attempt_timeout_seconds(sizing.models_disk_bytes),
          "Timeout of one pull attempt (a stalled pull is retried).")
    v.put("pull.retries", 4, "Retries of a model's pull after its first attempt.")
    v.put("pull.backoffSeconds", 5, "First wait between attempts; doubles each time.")
    v.put("pull.jobBackoffLimit", 2, "Retries of the loader Job (shared cache).")
    v.put("pull.jobDeadlineSeconds", pull_deadline, "Deadline of the loader Job (shared cache).")
    v.put("pull.resources", {"requests": {"cpu": "250m", "memory": "512Mi"}, "limits": {"memory": "2Gi"}},
          "Resources of the pull/wait container.")
    writer = "a loader Job (the one writer of the shared claim); serving pods wait for its models" if mode == "shared" \
        else "an init container of each pod, before Ollama serves"
    decisions.append(("pull", f"by {writer}; {v.tree['pull']['attemptTimeoutSeconds']}s per attempt, "
                      f"{v.tree['pull']['retries']} retries, backoff from {v.tree['pull']['backoffSeconds']}s doubling",
                      f"{sizing.models_disk_bytes / 10**9:.1f} GB to download at {probes.NETWORK_BYTES_PER_SECOND // 10**6} MB/s "
                      "at worst, plus slack" + (f"; the loader Job and the waiting pods give up after {pull_deadline}s"
                                                if mode == "shared" else "")))

    v.section("cache", "The model cache volume.")
    v.put("cache.mode", mode, "emptyDir (per pod), pvc (one ReadWriteOnce claim) or shared (one ReadWriteMany claim, one writer).")
    v.put("cache.size", cache_size, "Size of the cache: the models on disk plus headroom.")
    v.put("cache.storageClass", leaf.cache.storage_class or "", "StorageClass of the claim (empty: the cluster default).")
    v.put("cache.existingClaim", leaf.cache.existing_claim or "", "Use this existing claim instead of creating one.")
    v.put("cache.waitDeadlineSeconds", pull_deadline, "Shared cache: how long serving pods wait for the loader Job's models.")
    decisions.append(("cache", f"{mode}, {cache_size}", "leaf size" if leaf.cache.size is not None else
                      f"models need {sizing.models_disk_bytes / 2**30:.1f} GiB on disk, plus headroom"))

    v.section("router", "The model-aware router sidecar.")
    v.put("router.enabled", router, "Route through the router; Ollama then listens on loopback only.")
    v.section("router.image", "Router image, pinned.")
    v.put("router.image.repository", leaf.router.image.repository, "Router image repository (the catalog-gen image).")
    v.put("router.image.tag", leaf.router.image.tag, "Router image tag.")
    v.put("router.image.pullPolicy", "IfNotPresent", "Image pull policy.")
    v.put("router.port", ROUTER_PORT, "Router port: the API, /readyz, /livez and /metrics.")
    secret = leaf.router.api_key_secret
    v.put("router.apiKeySecret", {"name": secret.name, "key": secret.key} if secret else None,
          "Secret holding API keys (one per line); null disables keys.")
    slots = leaf.router.concurrency_per_process or sizing.num_parallel
    v.section("router.config", "Settings written into router.json.")
    v.put("router.config.slotsPerBackend", slots, "Requests in flight per Ollama process.")
    v.put("router.config.maxQueue", leaf.router.queue_limit, "Requests that may wait for a slot; past it, 429.")
    v.put("router.config.queueTimeoutSeconds", _seconds(leaf.router.queue_timeout), "Longest wait for a slot; past it, 503.")
    v.put("router.config.idleUnloadSeconds", _seconds(leaf.router.idle_unload), "Unload models not kept warm after this idle time.")
    v.put("router.config.requestTimeoutSeconds", _seconds(leaf.ingress.request_timeout), "Upstream request timeout.")
    v.put("router.config.connectTimeoutSeconds", 5, "Upstream connect timeout.")
    v.put("router.config.maxBodyBytes", _bytes(leaf.router.max_body_size), "Largest request body; larger gets 413.")
    v.put("router.config.shutdownGraceSeconds", 30, "On SIGTERM, time given to requests in flight.")
    v.put("router.resources", {"requests": {"cpu": "100m", "memory": "96Mi"}, "limits": {"memory": "256Mi"}},
          "Resources of the router container.")
    if router:
        decisions.append(("router", f"on, {processes} backend(s) on 127.0.0.1:{OLLAMA_BASE_PORT}"
                          f"{f'-{OLLAMA_BASE_PORT + processes - 1}' if processes > 1 else ''}, {slots} slot(s) each, "
                          f"queue {leaf.router.queue_limit}, API keys {'from Secret ' + secret.name if secret else 'off'}",
                          "Ollama listens on loopback only; the Service and probes go through the router"))
    else:
        decisions.append(("router", "off", "the leaf turns it off: the Service targets Ollama directly, "
                          "readiness runs ready.sh in the Ollama container"))

    v.section("service", "The Service in front of the pods.")
    v.put("service.port", SERVICE_PORT, "Service port (targets the router, or Ollama without it).")

    budget = probes.startup_budget(sizing.load_bytes)
    v.section("probes", "Probe timing. Liveness never depends on a model.")
    v.put("probes.startup", budget.as_values(), "Startup probe: the server answers; budget from the models' size.")
    v.put("probes.readiness", {"periodSeconds": 10, "timeoutSeconds": 5 if router else 30, "failureThreshold": 3},
          "Readiness: every model on disk, pinned and answering.")
    v.put("probes.liveness", {"periodSeconds": 20, "timeoutSeconds": 5, "failureThreshold": 3},
          "Liveness: the process answers.")
    decisions.append(("probes", f"startup budget {budget.seconds}s", budget.reason))
    readiness = v.tree["probes"]["readiness"]
    decisions.append(("probes", f"readiness every {readiness['periodSeconds']}s, "
                      f"{'the router /readyz' if router else 'ready.sh (exec)'}",
                      "ready only when every model is on disk, matches its pin and answers"
                      + (" (the router checks all processes)" if router else "")))
    decisions.append(("probes", "liveness: the server process answers (alive.sh), every "
                      f"{v.tree['probes']['liveness']['periodSeconds']}s",
                      "never the model: a slow model load must not restart the pod"))

    ingress = leaf.ingress
    gateway = ingress.gateway
    v.section("ingress", "External access through Gateway API (or a plain Ingress).")
    v.put("ingress.enabled", ingress.enabled, "Expose the service outside the cluster.")
    v.put("ingress.api", ingress.api, "gateway (HTTPRoute) or ingress.")
    v.put("ingress.host", ingress.host or "", "Host name.")
    v.put("ingress.paths", list(ingress.paths), "Path prefixes routed to the service.")
    v.put("ingress.requestTimeout", ingress.request_timeout, "Route timeout, long enough for streamed answers.")
    v.section("ingress.gateway", "The Gateway the route attaches to.")
    v.put("ingress.gateway.create", gateway is None, "Create a Gateway for this service (else attach to an existing one).")
    v.put("ingress.gateway.className", ingress.gateway_class_name, "GatewayClass of the created Gateway.")
    v.put("ingress.gateway.name", gateway.name if gateway else "", "Existing Gateway to attach to.")
    v.put("ingress.gateway.namespace", (gateway.namespace or "") if gateway else "", "Namespace of the existing Gateway.")
    v.put("ingress.gateway.sectionName", (gateway.section_name or "") if gateway else "", "Listener of the existing Gateway.")
    v.section("ingress.tls", "TLS through cert-manager.")
    v.put("ingress.tls.enabled", ingress.tls.enabled, "HTTPS with a cert-manager Certificate.")
    v.put("ingress.tls.issuer", ingress.tls.issuer or "", "cert-manager issuer.")
    v.put("ingress.tls.issuerKind", ingress.tls.issuer_kind, "ClusterIssuer or Issuer.")
    v.put("ingress.ingressClassName", ingress.ingress_class_name or "", "IngressClass (api ingress).")
    if not ingress.enabled:
        decisions.append(("ingress", "none", "ingress.enabled is false: reachable inside the cluster only"))
    elif ingress.api == "ingress":
        decisions.append(("ingress", f"Ingress {ingress.host}{' with TLS' if ingress.tls.enabled else ''}",
                          "api: ingress, for clusters without Gateway API"))
    else:
        attach = (f"existing Gateway {gateway.namespace or leaf.namespace}/{gateway.name}"
                  f"{'/' + gateway.section_name if gateway.section_name else ''}") if gateway \
            else f"a Gateway of class {ingress.gateway_class_name} made by the chart"
        decisions.append(("ingress", f"HTTPRoute {ingress.host} on {attach}, timeout {ingress.request_timeout}"
                          f"{', HTTPS with a cert-manager Certificate' if ingress.tls.enabled and not gateway else ''}",
                          "Gateway API v1; backendRefs written in full so Argo CD sees no drift"))

    allow = list(ingress.allow_from_namespaces)
    if not allow and ingress.enabled:
        allow = [(gateway.namespace or leaf.namespace) if gateway else leaf.namespace]
    v.section("networkPolicy", "NetworkPolicy of the service port.")
    v.put("networkPolicy.enabled", True, "Admit traffic to the service port only from the listed namespaces and this one.")
    v.put("networkPolicy.allowFromNamespaces", sorted(set(allow)), "Namespaces allowed in (the gateway's by default).")
    decisions.append(("security", f"NetworkPolicy: service port from {', '.join(sorted(set(allow))) or 'no other namespace'} "
                      f"and this namespace; Ollama as {'root (ollama.runAsRoot)' if leaf.ollama.run_as_root else 'uid 1000'}",
                      "every container: no privilege escalation, no capabilities, RuntimeDefault seccomp, "
                      "read-only root file system; no service-account token in serving pods"))

    most = leaf.autoscaling.max_replicas if leaf.autoscaling.enabled else replicas
    v.section("podDisruptionBudget", "PodDisruptionBudget.")
    v.put("podDisruptionBudget.enabled", most > 1, "PodDisruptionBudget (when more than one replica).")
    v.put("podDisruptionBudget.maxUnavailable", 1, "Pods that may be disrupted at once.")
    decisions.append(("pdb", f"maxUnavailable 1" if most > 1 else "none",
                      f"up to {most} replica(s)" + ("" if most > 1 else ": a budget would block node drains")))

    auto = leaf.autoscaling
    v.section("autoscaling", "Scaling on the router's queue depth.")
    v.put("autoscaling.enabled", auto.enabled, "Scale on queue depth (KEDA or HPA).")
    v.put("autoscaling.minReplicas", auto.min_replicas, "Fewest replicas.")
    v.put("autoscaling.maxReplicas", auto.max_replicas, "Most replicas.")
    v.put("autoscaling.targetQueueDepth", auto.target_queue_depth, "Queue depth per replica that triggers a scale-up.")

    smoke = leaf.smoke
    deadline = smoke.warmup_seconds + 4 * smoke.timeout_seconds + 300
    v.section("smoke", "Post-deploy smoke checks: an Argo CD PostSync Job and the `helm test` Pod run `catalog-gen smoke`.")
    v.put("smoke.enabled", True, "Create the PostSync Job, the test Pod and their read-only RBAC.")
    v.put("smoke.activeDeadlineSeconds", deadline, "Deadline of the smoke Job: warm-up wait, the checks, and slack.")
    v.put("smoke.leaf", leaf.model_dump(mode="json", by_alias=True, exclude_none=True),
          "The resolved leaf (defaults applied) the checks are derived from.")
    decisions.append(("smoke", f"PostSync Job, deadline {deadline}s",
                      f"warm-up {smoke.warmup_seconds}s + 4 x {smoke.timeout_seconds}s request timeout + 300s"))
    observability.add_values(v, leaf, slots, budget.seconds, decisions)  # monitoring, autoscaling, Backstage

    v.put("nodeSelector", dict(sorted(sizing.node_selector.items())),
          "Node selector (GPU product from the leaf, plus extra labels).")
    v.put("tolerations", list(sizing.tolerations), "Tolerations (GPU taints).")
    v.put("podAnnotations", {}, "Extra pod annotations.")
    v.put("terminationGracePeriodSeconds", 45, "Time for the router to drain on shutdown.")

    name = leaf.service_name
    models_text = ", ".join(m["name"] for m in models)
    return ChartPlan(
        source=source,
        chart_dir=chart_path({"environment": leaf.environment, "serviceName": name}),
        name=name,
        app_version=leaf.ollama.version,
        description=f"Ollama inference service {name} ({leaf.environment}): {models_text}",
        values=v.tree,
        docs=v.docs,
        decisions=decisions,
        sizing=sizing,
        leaf=leaf,
    )


GENERATOR = f"catalog-gen {__version__}"
