"""The catalog leaf model for ``workloadType: OLLAMA_INFERENCE_LOAD``.

This pydantic model is the single source of truth: ``schemas/*.schema.json`` is
generated from it (``catalog-gen schema --write``) and a test fails when the
committed file drifts. Validation of user files runs against the JSON Schema
(with positions); this model is built only from leaves that already passed, so
its own errors are internal errors, not user findings.

YAML keys are camelCase (as in the seed leaf); Python attributes are snake_case.
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

from catalog_gen import patterns

WORKLOAD_TYPE = "OLLAMA_INFERENCE_LOAD"
SCHEMA_ID = "https://catalog-gen.dev/schemas/ollama-inference-load.schema.json"

Quantity = Annotated[
    Union[Annotated[str, Field(pattern=patterns.QUANTITY)], Annotated[int, Field(ge=0)], Annotated[float, Field(ge=0)]],
    Field(description="A Kubernetes quantity such as `500m`, `2`, `4Gi`.", examples=["500m", "4Gi"]),
]
# Per-field quantities: each has its unit, its examples and a range (`catalog_gen.quantity.RANGES`, checked by
# validate's `leaf.quantity` rule, since a JSON Schema cannot compare `4Gi` with `16Mi`).
CpuQuantity = Annotated[
    Union[Annotated[str, Field(pattern=patterns.QUANTITY)], Annotated[int, Field(ge=0)], Annotated[float, Field(ge=0)]],
    Field(description="CPU cores: `500m` is half a core, `2` two cores.", examples=["500m", "2"]),
]
ByteQuantity = Annotated[
    Union[Annotated[str, Field(pattern=patterns.BYTES)], Annotated[int, Field(ge=0)]],
    Field(description="Bytes with a suffix: `512Mi`, `4Gi` (a bare number is bytes; no `m`: `500m` would be half a byte).",
          examples=["4Gi"]),
]
Duration = Annotated[
    str,
    Field(pattern=patterns.DURATION, description="A Go duration such as `30s`, `5m`, `1h30m`.", examples=["5m"]),
]
DNSLabel = Annotated[str, Field(pattern=patterns.DNS_LABEL, max_length=63)]


class Strict(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
        frozen=True,
        use_attribute_docstrings=False,
    )


class SizeHint(Strict):
    """Model size, for tags whose size cannot be inferred from the name (e.g. `phi:latest`)."""

    parameters: str = Field(
        pattern=patterns.PARAMETER_COUNT,
        description="Parameter count: `8B`, `0.5B`, `8x7B` (mixture of experts), `350M`.",
        examples=["8B", "8x7B"],
    )
    quantization: str | None = Field(
        default=None,
        pattern=patterns.QUANTIZATION,
        description="Quantization level as Ollama reports it (`Q4_K_M`, `Q8_0`, `F16`). Default `Q4_K_M`.",
        examples=["Q4_K_M"],
    )


class Modelfile(Strict):
    """Settings of a custom model, created with `ollama create` as a Modelfile would."""

    from_: str = Field(
        alias="from",
        pattern=patterns.MODEL_NAME,
        max_length=500,
        description="Base model the custom model is built from; it is pulled first.",
        examples=["llama3.1:8b"],
    )
    from_digest: str | None = Field(
        default=None,
        pattern=patterns.DIGEST,
        description="Pin of the base model: the 64-hex digest `/api/tags` must report for `from` (written by `catalog-gen pin`).",
    )
    system: str | None = Field(default=None, max_length=32768, description="System prompt (`SYSTEM`).")
    template: str | None = Field(default=None, max_length=32768, description="Prompt template (`TEMPLATE`).")
    parameters: dict[str, Union[str, int, float, bool, list[str]]] = Field(
        default_factory=dict,
        description="Model parameters (`PARAMETER`), e.g. `temperature`, `num_ctx`, `stop`.",
        examples=[{"temperature": 0.2, "num_ctx": 8192}],
    )


class ModelSpec(Strict):
    """One model the service serves."""

    name: str = Field(
        pattern=patterns.MODEL_NAME,
        max_length=500,
        description="Ollama model name `[host[:port]/][namespace/]model[:tag]`. For a custom model, the name it is created under.",
        examples=["llama3.1:8b", "registry.internal:5000/team/coder:1.2"],
    )
    digest: str | None = Field(
        default=None,
        pattern=patterns.DIGEST,
        description="Pin: the 64-hex digest `/api/tags` must report for this model. Ollama cannot pull by digest, so the pull is verified after the fact and refused on mismatch.",
        examples=["a2af6cc3eb7fa8be8504abaf9b04e88f17a119ec3f04a3addf55f92841195f5a"],
    )
    keep_warm: bool = Field(
        default=True,
        description="Keep the model loaded: loaded at start, re-warmed if evicted, never idle-unloaded.",
    )
    kind: Literal["text", "embedding"] = Field(
        default="text",
        description="`text` models are warmed and smoke-tested with generate/chat, `embedding` models with embed.",
    )
    insecure: bool = Field(default=False, description="Pull over plain HTTP (private registries only).")
    size: SizeHint | None = Field(default=None, description="Size hint when the tag does not say it.")
    modelfile: Modelfile | None = Field(default=None, description="Create this model from a base model with these settings.")
    min_workers: int | None = Field(
        default=None,
        ge=0,
        le=100,
        description="Pool only (`pool.enabled`): keep the model loaded on at least this many workers; 0 loads it on "
        "demand. Default 1 when `keepWarm` (the default), 0 with `keepWarm: false`.",
        examples=[1],
    )


class GPU(Strict):
    """Accelerators per pod."""

    count: int = Field(default=0, ge=0, le=16, description="GPUs per pod; 0 runs on CPU.", examples=[1])
    vendor: Literal["nvidia", "amd", "none"] = Field(
        default="nvidia",
        description="GPU vendor: decides the resource name (`nvidia.com/gpu`, `amd.com/gpu`). `none` means CPU only.",
    )
    product: str | None = Field(
        default=None,
        max_length=63,
        pattern=patterns.LABEL_VALUE,
        description="GPU product for node selection (`nvidia.com/gpu.product` / `amd.com/gpu.product-name` label value).",
        examples=["NVIDIA-A10G", "NVIDIA-GeForce-RTX-5070-Ti"],
    )
    vram: ByteQuantity | None = Field(
        default=None, description="Memory of one GPU, when it cannot be inferred from the product (1Gi to 1Ti).", examples=["24Gi"]
    )
    device_groups: list[Annotated[int, Field(ge=0, le=2147483647)]] | None = Field(
        default=None,
        max_length=8,
        description="AMD only: group IDs that own `/dev/kfd` and `/dev/dri` on the nodes (`video`, `render`), added to the "
        "non-root pods' supplemental groups. Default `[44]` (video); the render group's ID differs between distributions "
        "(`getent group render` on a node), so add it here.",
        examples=[[44, 110]],
    )


IMAGE_DIGEST = r"^sha256:[a-f0-9]{64}$"
LABEL_KEY = r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$"


class Toleration(Strict):
    """A toleration of a node taint, as in a pod spec."""

    key: str | None = Field(default=None, pattern=LABEL_KEY, max_length=316, description="Taint key; unset with `Exists` tolerates every taint.")
    operator: Literal["Exists", "Equal"] = Field(default="Equal", description="`Equal` matches `value`; `Exists` any value.")
    value: str | None = Field(default=None, pattern=patterns.LABEL_VALUE, max_length=63, description="Taint value (with `Equal`).")
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] | None = Field(
        default=None, description="Taint effect to tolerate; unset tolerates every effect."
    )
    toleration_seconds: int | None = Field(
        default=None, ge=0, le=31536000, description="With `NoExecute`: how long the pod stays bound after the taint appears."
    )


class SpreadConstraint(Strict):
    """Spread the replicas over a topology domain (nodes, zones); the chart fills in the selector."""

    topology_key: str = Field(
        pattern=LABEL_KEY, max_length=316, description="Node label naming the domain.", examples=["topology.kubernetes.io/zone"]
    )
    max_skew: int = Field(default=1, ge=1, le=100, description="Largest allowed difference in replicas between two domains.")
    when_unsatisfiable: Literal["ScheduleAnyway", "DoNotSchedule"] = Field(
        default="ScheduleAnyway", description="`ScheduleAnyway` prefers spreading; `DoNotSchedule` leaves pods Pending rather than stack them."
    )


class ResourceList(Strict):
    cpu: CpuQuantity | None = Field(default=None, description="CPU cores (1m to 1024).", examples=["500m", "2"])
    memory: ByteQuantity | None = Field(default=None, description="Memory in bytes (16Mi to 4Ti).", examples=["8Gi"])
    ephemeral_storage: ByteQuantity | None = Field(
        default=None, alias="ephemeral-storage", description="Local scratch storage in bytes (16Mi to 64Ti).", examples=["10Gi"]
    )


class Resources(Strict):
    requests: ResourceList | None = Field(default=None, description="Resource requests; explicit values win over the preset.")
    limits: ResourceList | None = Field(default=None, description="Resource limits; explicit values win over the preset.")


PresetName = Literal["auto", "cpu-small", "cpu-large", "gpu-small", "gpu-medium", "gpu-large", "multi-gpu"]


class Container(Strict):
    """The serving pods."""

    replicas: int = Field(default=1, ge=0, le=100, description="Pod replicas (ignored when autoscaling is on).")
    preset: PresetName = Field(
        default="auto",
        description="Resource preset. `auto` picks one from the models' estimated memory; explicit `resources` still win.",
    )
    resources: Resources | None = Field(default=None, description="Explicit requests/limits of the Ollama container.")
    node_selector: dict[
        Annotated[str, Field(pattern=patterns.LABEL_KEY, max_length=316)],
        Annotated[str, Field(pattern=patterns.LABEL_VALUE, max_length=63)],
    ] = Field(
        default_factory=dict,
        description="Extra node selector labels (label keys and values as Kubernetes checks them).",
        examples=[{"node-pool": "gpu"}],
        json_schema_extra={"additionalProperties": False},
    )
    tolerations: list[Toleration] = Field(
        default_factory=list, max_length=32, description="Extra tolerations (the GPU taints are tolerated already)."
    )
    affinity: dict | None = Field(
        default=None,
        description="Pod `affinity` as in a pod spec (nodeAffinity, podAffinity, podAntiAffinity), checked against the "
        "Kubernetes schema at validate time.",
        examples=[{"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": "node.kubernetes.io/instance-type", "operator": "In", "values": ["g5.xlarge"]}]}]}}}],
    )
    topology_spread: list[SpreadConstraint] | None = Field(
        default=None,
        max_length=8,
        description="Spread replicas over nodes or zones. Default with more than one replica: at most one more pod per node "
        "and per zone than elsewhere, preferred (`ScheduleAnyway`). An empty list turns spreading off.",
    )
    runtime_class_name: str | None = Field(
        default=None,
        pattern=patterns.DNS_SUBDOMAIN,
        max_length=253,
        description="RuntimeClass of the pods, e.g. `nvidia` where the NVIDIA runtime is not the node's default (k3s, RKE2).",
        examples=["nvidia"],
    )
    priority_class_name: str | None = Field(
        default=None, pattern=patterns.DNS_SUBDOMAIN, max_length=253, description="PriorityClass of the serving pods."
    )
    image_pull_secrets: list[Annotated[str, Field(pattern=patterns.DNS_SUBDOMAIN, max_length=253)]] = Field(
        default_factory=list, max_length=16, description="Secrets (in the service's namespace) to pull the images with."
    )


class Ollama(Strict):
    """The Ollama server processes."""

    image: str = Field(
        default="ollama/ollama",
        pattern=patterns.IMAGE_REPOSITORY,
        description="Ollama image repository (no tag). With `gpu.vendor: amd` the tag gets Ollama's `-rocm` suffix.",
    )
    digest: str | None = Field(
        default=None,
        pattern=IMAGE_DIGEST,
        description="Pin the Ollama image by digest (`sha256:...`); the tag stays for people, the digest decides.",
        examples=["sha256:0d5c1ea4f5b2f0a4e5c3b3f5e0a8b9c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1"],
    )
    version: str = Field(
        default="0.32.15",
        pattern=patterns.IMAGE_TAG,
        description="Ollama image tag. `latest` is refused: pin a version. Also the chart's appVersion.",
        examples=["0.32.15"],
    )
    processes: int = Field(
        default=1, ge=1, le=16, description="Ollama processes per pod, one per GPU (each its own port, behind the router)."
    )
    num_parallel: int | None = Field(
        default=None, ge=1, le=64, description="`OLLAMA_NUM_PARALLEL`: parallel requests per process. Default from the preset."
    )
    context_length: int | None = Field(
        default=None, ge=256, le=1048576, description="`OLLAMA_CONTEXT_LENGTH`. Default from the preset."
    )
    keep_alive: str = Field(
        default="-1",
        pattern=patterns.KEEP_ALIVE,
        description="`OLLAMA_KEEP_ALIVE`: a Go duration or seconds; negative keeps models loaded (the router unloads idle ones).",
    )
    flash_attention: bool = Field(default=True, description="`OLLAMA_FLASH_ATTENTION`.")
    run_as_root: bool = Field(
        default=False, description="Run Ollama as root (only for images that need it); otherwise uid 1000 with HOME on a volume."
    )
    env: dict[Annotated[str, Field(pattern=patterns.ENV_NAME)], str] = Field(
        default_factory=dict,
        description="Extra environment variables of the Ollama containers.",
        examples=[{"OLLAMA_DEBUG": "1"}],
        # pydantic emits only `patternProperties`, which lets other names through; close it
        json_schema_extra={"additionalProperties": False},
    )


class Cache(Strict):
    """Where models live on disk."""

    mode: Literal["emptyDir", "pvc", "shared"] = Field(
        default="emptyDir",
        description="`emptyDir`: per pod, re-downloaded on restart. `pvc`: a ReadWriteOnce claim per replica (a StatefulSet), "
        "kept on uninstall and scale-in. `shared`: one ReadWriteMany claim written only by a loader Job.",
    )
    size: ByteQuantity | None = Field(
        default=None, description="Volume size (256Mi to 1Pi); default the models' size plus headroom.", examples=["50Gi"]
    )
    storage_class: str | None = Field(default=None, pattern=patterns.DNS_SUBDOMAIN, description="StorageClass of the claim.")
    existing_claim: str | None = Field(
        default=None,
        pattern=patterns.DNS_SUBDOMAIN,
        description="Use this existing PersistentVolumeClaim instead of creating one (with `pvc`, one replica only: "
        "a ReadWriteOnce claim cannot serve two pods).",
    )
    fix_ownership: bool = Field(
        default=False,
        description="`shared` only: before the loader pulls, a root step gives the volume's top folder to uid/gid 1000 "
        "(capability CHOWN only). For ReadWriteMany storage that ignores `fsGroup` (NFS, CephFS exports) and whose root "
        "folder belongs to root; otherwise the export must already be writable by uid 1000.",
    )


class SecretRef(Strict):
    name: str = Field(pattern=patterns.DNS_SUBDOMAIN, description="Secret name.")
    key: str = Field(default="api-keys", pattern=patterns.SECRET_KEY, description="Key holding one API key per line.")


class Image(Strict):
    repository: str = Field(pattern=patterns.IMAGE_REPOSITORY, description="Image repository (no tag).")
    tag: str = Field(pattern=patterns.IMAGE_TAG, description="Image tag; `latest` is refused.")
    digest: str | None = Field(default=None, pattern=IMAGE_DIGEST, description="Pin the image by digest (`sha256:...`).")


class Router(Strict):
    """The model-aware router sidecar in front of the Ollama processes."""

    enabled: bool = Field(default=True, description="Put the router in front of Ollama; Ollama then listens on loopback only.")
    image: Image = Field(
        default_factory=lambda: Image(repository="ghcr.io/catalog-gen/catalog-gen", tag="0.1.0"),
        description="Router image (the catalog-gen image); usually set in `_defaults.yaml`.",
    )
    queue_limit: int = Field(default=32, ge=0, le=10000, description="Requests that may wait for a slot; past it, 429.")
    queue_timeout: Duration = Field(default="30s", description="Longest wait for a slot; past it, 503.")
    concurrency_per_process: int | None = Field(
        default=None, ge=1, le=64, description="Slots per Ollama process; default `ollama.numParallel`."
    )
    idle_unload: Duration = Field(default="15m", description="Unload models that are not kept warm after this idle time.")
    api_key_secret: SecretRef | None = Field(default=None, description="Secret with API keys; requests then need `Authorization: Bearer`.")
    max_body_size: ByteQuantity = Field(
        default="16Mi", description="Largest request body (1Ki to 256Mi: the router holds bodies in memory); larger gets 413.",
        examples=["16Mi"],
    )
    cors_allowed_origins: list[Annotated[str, Field(pattern=r"^(\*|[A-Za-z][A-Za-z0-9+.-]*://[^\s/*]*(\*[^\s/*]*)?)$", max_length=253)]] = Field(
        default_factory=list, max_length=64,
        description="Origins whose web pages may call the service from a browser (CORS), in Ollama's OLLAMA_ORIGINS syntax: "
                    "`https://app.example.com`, one `*` as a wildcard (`https://*.example.com`), or `*` for any. "
                    "Default: none beyond pages served from the service's own host.",
        examples=[["https://chat.example.com"]],
    )
    keep_alive_min: Duration = Field(
        default="0s", description="Shortest `keep_alive` a caller may ask for on a model that is not required (shorter is raised).")
    keep_alive_max: Duration = Field(
        default="1h", description="Longest `keep_alive` a caller may ask for on a model that is not required; \"forever\" "
                                  "becomes this. Required models ignore a caller's `keep_alive`.")
    idle_timeout: Duration = Field(
        default="2m", description="Longest silence from Ollama between two chunks of a reply once it started; then the "
                                  "stream ends with an error.")
    request_timeout: Duration = Field(
        default="1h", description="Total limit of one exchange with Ollama (a non-streamed reply comes only when it is "
                                  "generated). Long enough not to cut healthy long generations.")


GatewayController = Literal[
    "auto", "cilium", "envoy-gateway", "istio", "nginx-gateway-fabric", "kgateway", "traefik", "ingress-nginx", "other"
]


class GatewayRef(Strict):
    name: str = Field(pattern=patterns.DNS_SUBDOMAIN, description="Gateway name.")
    namespace: str | None = Field(default=None, pattern=patterns.DNS_LABEL, description="Gateway namespace; default the service's.")
    section_name: str | None = Field(default=None, pattern=patterns.DNS_SUBDOMAIN, description="Listener to attach to.")


class TLS(Strict):
    enabled: bool = Field(default=False, description="Serve HTTPS with a certificate from cert-manager.")
    issuer: str | None = Field(default=None, pattern=patterns.DNS_SUBDOMAIN, description="cert-manager issuer name.")
    issuer_kind: Literal["ClusterIssuer", "Issuer"] = Field(default="ClusterIssuer", description="cert-manager issuer kind.")


class Ingress(Strict):
    """How traffic reaches the service from outside the cluster."""

    enabled: bool = Field(default=False, description="Expose the service outside the cluster.")
    host: str | None = Field(default=None, max_length=253, description="Host name (RFC 1123).", examples=["llm.example.com"])
    api: Literal["gateway", "ingress"] = Field(default="gateway", description="Gateway API (HTTPRoute) or a plain Ingress.")
    paths: list[Annotated[str, Field(pattern=patterns.HTTP_PATH)]] = Field(
        default_factory=lambda: ["/"], min_length=1, description="Path prefixes routed to the service."
    )
    gateway: GatewayRef | None = Field(default=None, description="Attach to this existing Gateway instead of creating one.")
    gateway_class_name: str = Field(
        default="default", pattern=patterns.DNS_SUBDOMAIN, description="Class of the Gateway the chart creates (when `gateway` is unset)."
    )
    ingress_class_name: str | None = Field(default=None, pattern=patterns.DNS_SUBDOMAIN, description="IngressClass (api `ingress`).")
    tls: TLS = Field(default_factory=TLS, description="TLS through cert-manager.")
    request_timeout: str = Field(
        default="600s", pattern=patterns.GATEWAY_DURATION,
        description="Route timeout, as Gateway API writes durations (`600s`, `1h`); long enough for streamed answers.",
        examples=["600s"],
    )
    controller: GatewayController = Field(
        default="auto",
        description="The gateway or ingress controller that carries the traffic: the NetworkPolicy admits its data plane "
        "where that implementation runs it. `auto` reads it from `gatewayClassName` / `ingressClassName` (cilium, eg, "
        "istio, nginx, kgateway, traefik); an unknown class admits the proxies of every known implementation but Cilium's. "
        "`cilium`: its traffic carries an identity no NetworkPolicy can select, so the service port stays open to the "
        "cluster (validate warns when that was only read from the class name). `other`: set `allowFromNamespaces`.",
    )
    allow_from_namespaces: list[Annotated[str, Field(pattern=patterns.DNS_LABEL)]] = Field(
        default_factory=list,
        description="Namespaces allowed by the NetworkPolicy to reach the service port; default the namespace of the "
        "controller's data plane (see `controller`).",
    )
    annotations: dict[Annotated[str, Field(pattern=LABEL_KEY, max_length=317)], Annotated[str, Field(max_length=4096)]] = Field(
        default_factory=dict,
        description="Annotations of the HTTPRoute or Ingress (e.g. controller settings). With `api: ingress` the chart "
        "sets ingress-nginx's timeouts, body size and buffering from the leaf; these win over them.",
        examples=[{"nginx.ingress.kubernetes.io/proxy-buffering": "off"}],
        json_schema_extra={"additionalProperties": False},
    )
    public_model_management: bool = Field(
        default=False,
        description="Only with `router.enabled: false`: Ollama itself answers the public route, including pull, delete, "
        "create and push of models. Validation refuses that unless this says it is meant.",
    )


class Autoscaling(Strict):
    """Scale on the router's queue depth, not CPU."""

    enabled: bool = Field(default=False, description="Create a KEDA ScaledObject (or HPA).")
    min_replicas: int = Field(default=1, ge=0, le=100, description="Fewest replicas; 0 only with `scaleToZero`.")
    max_replicas: int = Field(default=3, ge=1, le=100, description="Most replicas.")
    target_queue_depth: int = Field(default=4, ge=1, le=1000, description="Queue depth per replica that triggers a scale-up.")
    scale_to_zero: bool = Field(
        default=False,
        description="Allow 0 replicas when idle (KEDA only). With no pod there is no router to queue the first request, "
        "so this needs `activationQuery`: a signal that exists at zero, such as the gateway's pending requests for the route.",
    )
    engine: Literal["keda", "hpa"] = Field(
        default="keda",
        description="KEDA ScaledObject (Prometheus trigger) or a plain HPA on the same per-pod metrics (needs prometheus-adapter).",
    )
    target_inflight: int | None = Field(
        default=None,
        ge=1,
        le=1000,
        description="Requests in flight per replica that trigger a scale-up; default 80% of the pod's slots "
        "(processes x slots per process), at least 1.",
    )
    cooldown_seconds: int = Field(
        default=300, ge=0, le=86400, description="Wait after the last busy moment before scaling down (KEDA cooldown and HPA stabilization)."
    )
    polling_seconds: int = Field(default=15, ge=1, le=3600, description="How often KEDA reads the metrics.")
    fallback_replicas: int | None = Field(
        default=None,
        ge=1,
        le=100,
        description="Replicas KEDA keeps while Prometheus cannot be read (3 failed polls in a row); default `minReplicas`, at least 1.",
    )
    activation_query: str | None = Field(
        default=None,
        max_length=2000,
        description="PromQL that is above 0 when requests wait for a pod that is not there yet (scale from zero). "
        "Required by `scaleToZero`; read by KEDA, never by a template.",
        examples=['sum(rate(envoy_cluster_upstream_rq_total{envoy_cluster_name=~".*tiny-cpu.*"}[1m]))'],
    )


class PoolGateway(Strict):
    """The pool's gateway: `catalog-gen router` in its gateway role, its own Deployment in front of the workers."""

    replicas: int = Field(
        default=2, ge=1, le=20,
        description="Gateway replicas; at least 2 (with a PodDisruptionBudget and spread over nodes), so one node or "
        "rollout never takes the service down.",
    )
    prefix_affinity: bool = Field(
        default=True,
        description="Send requests that share a conversation prefix to the same worker (consistent hashing with bounded "
        "loads), so they reuse its KV cache; off: least outstanding requests only.",
    )
    hash_load_factor: float = Field(
        default=1.25, gt=1.0, le=4.0,
        description="Bound `c` of consistent hashing with bounded loads (above 1): a worker takes a prefix's request only "
        "while it holds at most `c` times the average load; higher keeps more affinity, lower spreads more.",
    )


class Pool(Strict):
    """A model pool: more models than one worker holds at once, on several workers behind a gateway that routes by model."""

    enabled: bool = Field(
        default=False,
        description="Deploy the service as a pool: worker pods (Ollama + the router sidecar) behind a gateway Deployment "
        "that routes each request to a worker holding its model and keeps `minWorkers` copies of each model warm.",
    )
    workers: int = Field(
        default=2, ge=1, le=100,
        description="Worker pods (each with the leaf's GPUs, cache and resources). With `autoscaling.enabled`, the "
        "autoscaling bounds apply to the workers instead.",
        examples=[4],
    )
    max_loaded_models: int | None = Field(
        default=None, ge=1, le=32,
        description="Models one worker's Ollama may hold at once (`OLLAMA_MAX_LOADED_MODELS`). Default: as many of the "
        "largest models as fit the worker's memory (`gpu.product`/`gpu.vram`, or the memory limit on CPU); when the "
        "memory is not known, Ollama's own default (3 per GPU, 3 on CPU).",
        examples=[2],
    )
    gateway: PoolGateway = Field(default_factory=PoolGateway, description="The gateway in front of the workers.")


class Objectives(Strict):
    ttft_ms: int | None = Field(default=None, ge=1, description="Time to first token objective (ms).")
    e2e_ms: int | None = Field(default=None, alias="e2eMs", ge=1, description="End-to-end latency objective (ms).")
    itl_ms: int | None = Field(default=None, ge=1, description="Inter-token latency objective (ms, p95).")
    tokens_per_second: float | None = Field(default=None, gt=0, description="Lowest acceptable output tokens/s.")


class Smoke(Strict):
    """Post-deploy checks run by `catalog-gen smoke` and the PostSync Job."""

    prompt: str = Field(default="Reply with one word: hello.", max_length=4096, description="Prompt sent to each text model.")
    timeout_seconds: int = Field(default=120, ge=1, le=3600, description="Timeout of one request.")
    warmup_seconds: int = Field(default=600, ge=0, le=7200, description="How long to wait for the service to report ready.")
    concurrency: int = Field(default=4, ge=1, le=256, description="Requests sent at once in the concurrency check.")
    objectives: Objectives = Field(default_factory=Objectives, description="Latency objectives checked by the streaming check.")


class Ownership(Strict):
    """Service-catalog ownership (Backstage)."""

    owner: str | None = Field(default=None, max_length=253, description="Owning team (`group:ml-platform`).")
    lifecycle: Literal["experimental", "production", "deprecated"] = Field(
        default="experimental", description="Backstage lifecycle."
    )
    system: str | None = Field(default=None, max_length=253, description="Backstage system the service belongs to.")


GIT_REF = r"^[A-Za-z0-9_][A-Za-z0-9_./-]{0,243}$"
REPO_URL = r"^((https?|ssh)://[^\s]+|git@[^\s:]+:[^\s]+)$"
REPO_PATH = r"^[A-Za-z0-9_][A-Za-z0-9_.-]*(/[A-Za-z0-9_][A-Za-z0-9_.-]*)*$"
HTTP_URL = r"^https?://[^\s]+$"


class SyncPolicy(Strict):
    """Argo CD sync policy of the service's Application."""

    automated: bool = Field(default=True, description="Sync automatically when Git changes.")
    prune: bool = Field(default=True, description="Delete objects that left the chart (with `automated`).")
    self_heal: bool = Field(default=True, description="Undo changes made in the cluster by hand (with `automated`).")


class Destination(Strict):
    """The cluster Argo CD deploys an environment's services to."""

    server: str = Field(
        default="https://kubernetes.default.svc",
        pattern=HTTP_URL,
        max_length=2048,
        description="API server URL of the cluster, as registered in Argo CD; default the cluster Argo CD runs in. "
        "Environments with different servers go to different clusters: validate then lets them reuse namespaces and names.",
        examples=["https://prod.k8s.example.com:6443"],
    )


class ArgoCD(Strict):
    """How Argo CD picks up the rendered chart."""

    mode: Literal["applicationset", "application", "none"] = Field(
        default="applicationset",
        description="`applicationset`: one ApplicationSet per environment, a Git files generator over the rendered charts. "
        "`application`: one Application per leaf. `none`: no Argo CD objects. The whole environment uses one mode.",
    )
    namespace: str = Field(
        default="argocd", pattern=patterns.DNS_LABEL, max_length=63, description="Namespace Argo CD runs in (where its objects go)."
    )
    project: str = Field(
        default="default", pattern=patterns.DNS_SUBDOMAIN, max_length=253, description="Argo CD project (AppProject) of the service."
    )
    sync_policy: SyncPolicy = Field(
        default_factory=SyncPolicy, description="Sync policy; one per environment with `applicationset`."
    )
    destination: Destination = Field(
        default_factory=Destination, description="Cluster the environment deploys to (one per environment)."
    )


class Flux(Strict):
    """A Flux HelmRelease per leaf, for clusters run by Flux instead of Argo CD."""

    enabled: bool = Field(default=False, description="Write a Flux GitRepository per environment and a HelmRelease per leaf.")
    namespace: str = Field(
        default="flux-system", pattern=patterns.DNS_LABEL, max_length=63, description="Namespace of the Flux objects."
    )
    interval: str = Field(default="5m", pattern=patterns.FLUX_DURATION, description="How often Flux reconciles.", examples=["5m"])


class GitOps(Strict):
    """Where the rendered charts live in Git and how a GitOps controller deploys them. Set it in `_defaults.yaml`."""

    repo_url: str | None = Field(
        default=None,
        alias="repoURL",
        pattern=REPO_URL,
        max_length=2048,
        description="Git repository holding the rendered charts. Unset: no GitOps objects are written.",
        examples=["https://github.com/example/llm-catalog.git"],
    )
    target_revision: str = Field(
        default="main",
        pattern=GIT_REF,
        description="Branch, tag or commit the controllers deploy (Flux needs a branch).",
        examples=["main"],
    )
    charts_path: str = Field(
        default="charts",
        pattern=REPO_PATH,
        max_length=512,
        description="Folder of the rendered charts inside the repository (what `render --out` writes).",
    )
    argocd: ArgoCD = Field(default_factory=ArgoCD, description="Argo CD ApplicationSet or Applications.")
    flux: Flux = Field(default_factory=Flux, description="Flux HelmReleases.")


class Alerts(Strict):
    """Alert thresholds (seed 002's production alerts)."""

    error_ratio: float = Field(default=0.01, gt=0, lt=1, description="Alert when more than this share of requests fail with 5xx (5 min).")
    model_load_p99_seconds: float = Field(
        default=5, gt=0, le=3600, description="Alert when the p99 of model load time is above this (15 min)."
    )
    queue_depth: int = Field(default=15, ge=1, le=10000, description="Alert when a pod's queue stays above this (5 min).")


class Monitoring(Strict):
    """Prometheus and Grafana objects for the router's metrics (they need the router)."""

    service_monitor: bool = Field(default=True, description="A prometheus-operator ServiceMonitor for the router's `/metrics`.")
    prometheus_rule: bool = Field(default=True, description="A PrometheusRule with the service's alerts.")
    dashboard: bool = Field(default=True, description="A Grafana dashboard in a ConfigMap labelled `grafana_dashboard: \"1\"`.")
    namespace: str = Field(
        default="monitoring",
        pattern=patterns.DNS_LABEL,
        max_length=63,
        description="Namespace Prometheus scrapes from: the NetworkPolicy admits it to the router port.",
    )
    dashboard_namespace: str | None = Field(
        default=None,
        pattern=patterns.DNS_LABEL,
        max_length=63,
        description="Namespace of the dashboard ConfigMap (where Grafana's sidecar looks); default the service's.",
    )
    labels: dict[Annotated[str, Field(pattern=LABEL_KEY)], Annotated[str, Field(pattern=patterns.LABEL_VALUE, max_length=63)]] = Field(
        default_factory=dict,
        description="Labels your Prometheus selects ServiceMonitors and PrometheusRules by.",
        examples=[{"release": "kube-prometheus-stack"}],
        json_schema_extra={"additionalProperties": False},
    )
    interval: str = Field(
        default="30s", pattern=patterns.PROMETHEUS_DURATION, min_length=1, description="Scrape interval (a Prometheus duration).",
        examples=["30s"],
    )
    runbook_url: str = Field(
        default="https://github.com/catalog-gen/catalog-gen/blob/main/docs/runbooks.md",
        pattern=HTTP_URL,
        max_length=2048,
        description="Runbook page; each alert links to its section (`#<alert name in lower case>`).",
    )
    prometheus_url: str = Field(
        default="http://prometheus-operated.monitoring.svc:9090",
        pattern=HTTP_URL,
        max_length=2048,
        description="Prometheus the KEDA trigger queries.",
    )
    alerts: Alerts = Field(default_factory=Alerts, description="Alert thresholds.")


class KeySecretRef(Strict):
    name: str = Field(pattern=patterns.DNS_SUBDOMAIN, description="Secret name.")
    key: str = Field(default="id_ed25519", pattern=patterns.SECRET_KEY, description="Key holding the OpenSSH ed25519 private key.")


class RegistrySettings(Strict):
    """Where pods pull models from (issue 15). Usually set once in `_defaults.yaml`; see docs/registry.md."""

    mirror: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,252}(:[0-9]{1,5})?$",
        description="Internal registry `host[:port]` that replaces every model's registry host for pulls: "
        "`phi:latest` is pulled as `<mirror>/library/phi:latest` and copied to its own name. Fill it with `catalog-gen mirror`.",
        examples=["registry.internal:5000"],
    )
    insecure: bool = Field(
        default=False,
        description="Reach the mirror over plain HTTP (Ollama's `insecure`: every registry request of the pull uses http://). "
        "There is no skip-verify: a private CA must be in the image's trust store.",
    )
    credentials_secret: KeySecretRef | None = Field(
        default=None,
        description="Secret holding the Ollama key (`id_ed25519`) the pulls sign registry token requests with; "
        "Ollama has no user/password for registries.",
    )


class OllamaInferenceLoad(Strict):
    """A catalog leaf: one Ollama inference service in one environment."""

    model_config = ConfigDict(
        title="OLLAMA_INFERENCE_LOAD catalog leaf",
        json_schema_extra={"$id": SCHEMA_ID, "$schema": "https://json-schema.org/draft/2020-12/schema"},
    )

    workload_type: Literal["OLLAMA_INFERENCE_LOAD"] = Field(description="Kind of workload this leaf describes.")
    service_name: str = Field(
        pattern=patterns.DNS_1035_LABEL,
        max_length=40,
        description="Service name: the Helm release, the Service and the prefix of every object name (RFC 1035 label: "
        "starts with a letter; at most 40 characters so derived names fit).",
        examples=["ollama-phi"],
    )
    service_catalog: str = Field(
        pattern=patterns.DNS_LABEL, max_length=63, description="Catalog group the service belongs to.", examples=["ml-inference"]
    )
    namespace: str = Field(pattern=patterns.DNS_LABEL, max_length=63, description="Kubernetes namespace.", examples=["ml-workloads"])
    environment: str = Field(
        pattern=patterns.DNS_LABEL, max_length=20, description="Environment (`dev`, `staging`, `prod`).", examples=["dev"]
    )
    model: str | None = Field(
        default=None,
        pattern=patterns.MODEL_NAME,
        max_length=500,
        description="Shorthand for one model: `model: phi:latest` is `models: [{name: phi:latest}]`. Use either, not both.",
        examples=["phi:latest"],
    )
    models: list[ModelSpec] | None = Field(default=None, min_length=1, max_length=32, description="Models the service serves.")
    gpu: GPU = Field(default_factory=GPU, description="Accelerators per pod.")
    container: Container = Field(default_factory=Container, description="Replicas, preset and resources.")
    ollama: Ollama = Field(default_factory=Ollama, description="Ollama image, version and server settings.")
    cache: Cache = Field(default_factory=Cache, description="Model cache volume.")
    router: Router = Field(default_factory=Router, description="Router sidecar.")
    ingress: Ingress = Field(default_factory=Ingress, description="External access.")
    autoscaling: Autoscaling = Field(default_factory=Autoscaling, description="Autoscaling on queue depth.")
    pool: Pool = Field(default_factory=Pool, description="Model pool: workers behind a model-aware gateway.")
    smoke: Smoke = Field(default_factory=Smoke, description="Post-deploy smoke checks.")
    ownership: Ownership = Field(default_factory=Ownership, description="Service-catalog ownership.")
    gitops: GitOps = Field(default_factory=GitOps, description="GitOps delivery (Argo CD, Flux); usually set in `_defaults.yaml`.")
    monitoring: Monitoring = Field(default_factory=Monitoring, description="ServiceMonitor, alerts and dashboard.")
    registry: RegistrySettings = Field(
        default_factory=RegistrySettings, description="Registry mirror the pods pull models from; usually set in `_defaults.yaml`."
    )

    @model_validator(mode="after")
    def _one_model_form(self) -> "OllamaInferenceLoad":
        if (self.model is None) == (self.models is None):
            raise ValueError("set exactly one of `model` and `models`")
        return self

    @property
    def model_specs(self) -> list[ModelSpec]:
        """The models, with the `model` shorthand expanded."""
        if self.models is not None:
            return list(self.models)
        return [ModelSpec(name=self.model)]

