"""Semantic rules of a single leaf, beyond what the JSON Schema can say.

Rules are data in a registry: ``RULES`` maps a code to (description, function).
A rule receives a `LeafView` (the merged leaf with schema defaults on read and
positions for findings) and yields findings. They run only on leaves that
passed the schema, so they may trust types.

The two size rules ask `catalog_gen.plan` (the one place that knows model
sizes) and so load pydantic, on first use: about 0.15 s once per run, the price
of refusing at validate time what rendering would refuse later. Their answers
are memoised per model, since a catalog names the same few models many times.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Callable, Iterator

from catalog_gen import patterns
from catalog_gen.catalog import schema as schema_module
from catalog_gen.catalog.load import Document
from catalog_gen.errors import Finding, Severity
from catalog_gen.quantity import parse_quantity

RESERVED_NAMESPACES = {"kube-system", "kube-public", "kube-node-lease"}
MANAGED_ENV = {
    "OLLAMA_HOST": "the chart binds each Ollama process to its own port",
    "OLLAMA_MODELS": "the chart points it at the model cache volume",
    "OLLAMA_NUM_PARALLEL": "set `ollama.numParallel` instead",
    "OLLAMA_CONTEXT_LENGTH": "set `ollama.contextLength` instead",
    "OLLAMA_KEEP_ALIVE": "set `ollama.keepAlive` instead",
    "OLLAMA_FLASH_ATTENTION": "set `ollama.flashAttention` instead",
    "OLLAMA_NOPRUNE": "the chart sets it for shared caches",
    "OLLAMA_NO_CLOUD": "the chart sets it: cloud models would be proxied to ollama.com with the pod's key",
    "NVIDIA_VISIBLE_DEVICES": "the device plugin sets it for containers with GPUs; the chart sets `void` for the others",
    "HOME": "the chart points it at a writable volume",
}
_DEFAULTS: dict[tuple, object] = {}  # (schema $id, path) -> schema default
_HOST = re.compile(r"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS_LABEL = re.compile(patterns.DNS_LABEL)


@dataclasses.dataclass
class LeafView:
    doc: Document
    schema: dict
    sizing: list | None = None  # the planner's problems, computed on first use by the sizing rules
    quantities: list | None = None  # leaf.quantity's findings: sizing says nothing more about a quantity out of range
    partial: bool = False  # schema errors were taken out of this leaf: sizing would size something else

    def get(self, *path: str | int):
        """The value at a path, or the schema default when the leaf does not set it."""
        node = self.doc.data
        for token in path:
            if isinstance(node, dict) and token in node:
                node = node[token]
            elif isinstance(node, list) and isinstance(token, int) and token < len(node):
                node = node[token]
            else:
                return self.default(path)
        return node

    def default(self, path: tuple) -> object:
        """The schema default at a path, looked up once per schema and path."""
        key = (self.schema.get("$id"), path)
        if key not in _DEFAULTS:
            _DEFAULTS[key] = schema_module.subschema(self.schema, self.schema, [str(t) for t in path]).get("default")
        return _DEFAULTS[key]

    def has(self, *path: str) -> bool:
        """Whether the leaf sets a value here (`key: null` sets nothing)."""
        node = self.doc.data
        for token in path:
            if not isinstance(node, dict) or node.get(token) is None:
                return False
            node = node[token]
        return True

    def finding(self, pointer: str, code: str, message: str, hint: str, *, key: bool = False,
                severity: Severity = Severity.ERROR) -> Finding:
        pos = self.doc.where(pointer, key=key)
        return Finding(pos.file, pos.line, pos.column, pointer, code, severity, message, hint)

    def model_entries(self) -> list[tuple[str, dict]]:
        """(pointer, model mapping) for every model, with the `model` shorthand expanded."""
        if self.has("models"):
            return [(f"/models/{i}", m) for i, m in enumerate(self.doc.data["models"])]
        if self.has("model"):
            return [("/model", {"name": self.doc.data["model"]})]
        return []


Rule = Callable[[LeafView], Iterator[Finding]]
RULES: dict[str, tuple[str, Rule]] = {}


def rule(code: str, description: str):
    def register(fn: Rule) -> Rule:
        RULES[code] = (description, fn)
        return fn

    return register


def semantic_findings(doc: Document, schema: dict, *, partial: bool = False) -> list[Finding]:
    """Every rule's findings. `partial`: the leaf had schema errors and its wrong values were taken out, so the
    rules that size the whole service (which depend on nearly every value) stay quiet."""
    view = LeafView(doc, schema, partial=partial)
    return [finding for _, fn in RULES.values() for finding in fn(view)]


# --- the rules -----------------------------------------------------------------------------------


@rule("leaf.model-form", "Exactly one of `model` (shorthand) and `models` is set.")
def _model_form(v: LeafView):
    if v.has("model") and v.has("models"):
        yield v.finding("/models", "leaf.model-form", "both `model` and `models` are set",
                        "keep one: move the `model` value into `models` as `- name: ...`", key=True)
    elif not v.has("model") and not v.has("models"):
        yield v.finding("", "leaf.model-form", "no model: set `model` or `models`",
                        "add `model: llama3.2:1b` or a `models:` list")


def normalized_model_name(name: str) -> str:
    """Ollama's matching: case-insensitive, default host/namespace/tag filled in."""
    name = name.lower()
    parts = name.split("/")
    last = parts[-1]
    if ":" not in last:
        last += ":latest"
    parts[-1] = last
    if len(parts) == 1:
        parts = ["registry.ollama.ai", "library"] + parts
    elif len(parts) == 2:
        parts = ["registry.ollama.ai"] + parts
    return "/".join(parts)


@rule("leaf.model-duplicate", "A model appears once per leaf (Ollama matches names case-insensitively).")
def _model_duplicate(v: LeafView):
    seen: dict[str, str] = {}
    for pointer, model in v.model_entries():
        key = normalized_model_name(model["name"])
        where = pointer + "/name" if pointer != "/model" else pointer
        if key in seen:
            first = v.doc.where(seen[key])
            yield v.finding(where, "leaf.model-duplicate",
                            f"model {model['name']!r} is listed twice (also at {first.file}:{first.line})",
                            "remove one entry; Ollama matches names case-insensitively and `phi` is `phi:latest`")
        else:
            seen[key] = where


@rule("leaf.model-name", "A custom model is not built from itself (the form of every name is the schema's Ollama name pattern).")
def _model_name(v: LeafView):
    for pointer, model in v.model_entries():
        base = (model.get("modelfile") or {}).get("from")
        if base and normalized_model_name(base) == normalized_model_name(model["name"]):
            yield v.finding(pointer + "/modelfile/from", "leaf.model-name",
                            f"custom model {model['name']!r} is built from itself",
                            "give the custom model a name of its own and build it `from` a base model, e.g. `from: llama3.2:3b`")


@rule("leaf.image-tag", "Images are pinned: no `latest` tag.")
def _image_tag(v: LeafView):
    for path in (("ollama", "version"), ("router", "image", "tag")):
        value = v.get(*path)
        if isinstance(value, str) and value.lower() == "latest":
            yield v.finding("/" + "/".join(path), "leaf.image-tag", f"`{'.'.join(path)}` is `latest`, which moves under you",
                            "pin a version such as 0.32.15")


_LABEL_VALUE = re.compile(patterns.LABEL_VALUE)


@rule("leaf.version-label", "`ollama.version` is also the chart's appVersion, written into the label "
      "`app.kubernetes.io/version`: it is a valid label value (at most 63 characters, a letter or digit at each end).")
def _version_label(v: LeafView):
    version = v.get("ollama", "version")
    if isinstance(version, str) and (len(version) > 63 or not _LABEL_VALUE.match(version)):
        yield v.finding("/ollama/version", "leaf.version-label",
                        f"`ollama.version: {version}` becomes the label app.kubernetes.io/version, and is not a valid label value",
                        "use a release tag such as 0.33.0: at most 63 characters, starting and ending with a letter or digit")


@rule("leaf.gpu", "GPU count, vendor and Ollama processes per pod agree (one process per GPU).")
def _gpu(v: LeafView):
    count = v.get("gpu", "count")
    vendor = v.get("gpu", "vendor")
    processes = v.get("ollama", "processes")
    if vendor == "none" and count:
        yield v.finding("/gpu/vendor", "leaf.gpu", f"`gpu.vendor` is none but `gpu.count` is {count}",
                        "set `gpu.vendor: nvidia` (or amd), or `gpu.count: 0` for CPU")
    if processes > 1:
        if count and count % processes:
            yield v.finding("/ollama/processes", "leaf.gpu",
                            f"{processes} Ollama processes cannot share {count} GPU(s) evenly",
                            "run one process per GPU: set `ollama.processes` to `gpu.count` or a divisor of it")
        if not v.get("router", "enabled"):
            yield v.finding("/ollama/processes", "leaf.gpu",
                            f"{processes} Ollama processes need the router to balance between them",
                            "set `router.enabled: true` or `ollama.processes: 1`")
    if v.get("gpu", "product") and not count:
        yield v.finding("/gpu/product", "leaf.gpu", "`gpu.product` is set but `gpu.count` is 0",
                        "set `gpu.count`, or remove `gpu.product`", severity=Severity.WARNING)


@rule("leaf.resources", "Requests do not exceed limits.")
def _resources(v: LeafView):
    resources = v.get("container", "resources") or {}
    requests = resources.get("requests") or {}
    limits = resources.get("limits") or {}
    for name in ("cpu", "memory", "ephemeral-storage"):
        if name in requests and name in limits and requests[name] is not None and limits[name] is not None:
            if _quantity_or_none(requests[name]) is None or _quantity_or_none(limits[name]) is None:
                continue  # beyond any resource: leaf.quantity says so
            if parse_quantity(requests[name]) > parse_quantity(limits[name]):
                yield v.finding(f"/container/resources/requests/{name}", "leaf.resources",
                                f"`{name}` request {requests[name]} is above its limit {limits[name]}",
                                "raise the limit or lower the request; Kubernetes rejects the pod otherwise")


@rule("leaf.quantity", "Each quantity is within its field's range, in its unit (`memory: 4` is four bytes; "
      "`router.maxBodySize` below 1Ki refuses every request).")
def _quantity(v: LeafView):
    return iter(_quantity_findings(v))


def _quantity_findings(v: LeafView) -> list[Finding]:
    if v.quantities is None:
        v.quantities = list(_quantity_checks(v))
    return v.quantities


def _quantity_checks(v: LeafView):
    from catalog_gen.quantity import RANGES

    for spec in RANGES:
        for pointer, value in _walk(v.doc.data, spec.path, ""):
            if value is None:
                continue
            try:
                amount = parse_quantity(value)
            except ValueError as exc:  # the schema accepts the form; the number is beyond any resource
                yield v.finding(pointer, "leaf.quantity", f"`{pointer[1:].replace('/', '.')}`: {exc}",
                                f"write a size from {spec.words(spec.low)} to {spec.words(spec.high)}, e.g. `{_example(spec)}`")
                continue
            if spec.low <= amount <= spec.high:
                continue
            dotted = pointer[1:].replace("/", ".")
            bound = f"at least {spec.words(spec.low)}" if amount < spec.low else f"at most {spec.words(spec.high)}"
            yield v.finding(pointer, "leaf.quantity", f"`{dotted}: {value}` is {spec.words(amount)}; it must be {bound} ({spec.why})",
                            _quantity_hint(spec, value, amount))


def _walk(node, path: tuple[str, ...], pointer: str):
    """(pointer, value) of every place of the leaf matching a path with `*` wildcards."""
    if not path:
        yield pointer, node
        return
    if not isinstance(node, dict):
        return
    keys = sorted(node) if path[0] == "*" else [path[0]] if path[0] in node else []
    for key in keys:
        yield from _walk(node[key], path[1:], f"{pointer}/{key}")


def _quantity_hint(spec, value, amount) -> str:
    from decimal import Decimal

    if spec.unit == "cores":
        return "CPU is counted in cores: write `2` for two cores or `500m` for half a core"
    number = str(value)
    if number.replace(".", "", 1).isdigit():  # a bare number: bytes, but meant as GiB or MiB
        for suffix, size in (("Gi", 2**30), ("Mi", 2**20)):
            if spec.low <= Decimal(number) * size <= spec.high:
                return f"a bare number is bytes: did you mean `{number}{suffix}`?"
    return f"write a size from {spec.words(spec.low)} to {spec.words(spec.high)} with a suffix, e.g. `{_example(spec)}`"


def _example(spec) -> str:
    return {"cpu": "2", "memory": "8Gi", "ephemeral-storage": "10Gi", "vram": "24Gi", "size": "50Gi", "maxBodySize": "16Mi"}[spec.path[-1]]


# Words YAML 1.1 reads as booleans or null. Kubernetes' YAML reader (sigs.k8s.io/yaml over go-yaml v2), Helm and
# most tools around them still read YAML 1.1, so a chart line `name: y` reaches the API server as `name: true`.
YAML11_WORDS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null"}


@rule("leaf.yaml-word", "`serviceName` is not a word YAML 1.1 reads as a boolean or null (`y`, `no`, `on`, `null`...): "
      "Kubernetes' YAML reader would turn the object names into `true`.")
def _yaml_word(v: LeafView):
    name = v.get("serviceName")
    if isinstance(name, str) and name in YAML11_WORDS:
        yield v.finding("/serviceName", "leaf.yaml-word",
                        f"`serviceName: {name}` names every object, and YAML 1.1 (read by Kubernetes, Helm and kubectl) "
                        f"reads `{name}` as {'null' if name == 'null' else 'a boolean'}",
                        f"use a longer name, e.g. `{name}-svc`")


@rule("leaf.label-key", "Label keys (`container.nodeSelector`, `monitoring.labels`) fit Kubernetes' limits: "
      "a DNS subdomain prefix of at most 253 characters, each of its labels at most 63.")
def _label_key(v: LeafView):
    for section in (("container", "nodeSelector"), ("monitoring", "labels")):
        labels = v.get(*section)
        for key in sorted(labels) if isinstance(labels, dict) else []:
            prefix = key.rpartition("/")[0]
            if len(prefix) > 253 or any(len(part) > 63 for part in prefix.split(".")):
                yield v.finding(f"/{'/'.join(section)}/{key.replace('~', '~0').replace('/', '~1')}", "leaf.label-key",
                                f"label key prefix {prefix[:40]}... is {len(prefix)} characters long with a part longer "
                                "than 63" if len(prefix) <= 253 else f"label key prefix is {len(prefix)} characters long",
                                "a prefix is a DNS subdomain: at most 253 characters, each dot-separated part at most 63",
                                key=True)


MAX_DURATION_SECONDS = 366 * 24 * 3600  # no timeout, interval or keep-alive of a service is longer than a year
_DURATION_PART = re.compile(r"([0-9]+(?:\.[0-9]*)?)(ns|us|µs|ms|s|m|h|d|w|y)")
_DURATION_UNIT = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800,
                  "y": 31536000}
_DURATION_PATHS: dict[object, list[tuple[str, ...]]] = {}


def duration_seconds(text: str) -> float:
    return sum(float(number) * _DURATION_UNIT[unit] for number, unit in _DURATION_PART.findall(text))


def _duration_paths(schema: dict) -> list[tuple[str, ...]]:
    """Paths of every field written as a duration (Go, Flux, Gateway API, Prometheus), from the schema, once."""
    key = schema.get("$id")
    if key not in _DURATION_PATHS:
        wanted = {patterns.DURATION, patterns.FLUX_DURATION, patterns.GATEWAY_DURATION, patterns.PROMETHEUS_DURATION}
        found: list[tuple[str, ...]] = []

        def walk(node: dict, path: tuple[str, ...], depth: int) -> None:
            node = schema_module.resolve_ref(schema, node)
            if depth > 8:
                return
            if node.get("pattern") in wanted:
                found.append(path)
            for branch in node.get("anyOf", []):
                walk(branch, path, depth + 1)
            for name, child in node.get("properties", {}).items():
                walk(child, path + (name,), depth + 1)

        walk(schema, (), 0)
        _DURATION_PATHS[key] = sorted(set(found))
    return _DURATION_PATHS[key]


@rule("leaf.duration", "A duration is at most a year: Go, Flux and the router overflow or never fire on "
      "`69089707818m` (a duration field's form is the schema's).")
def _duration(v: LeafView):
    for path in _duration_paths(v.schema):
        for pointer, value in _walk(v.doc.data, path, ""):
            if isinstance(value, str) and duration_seconds(value) > MAX_DURATION_SECONDS:
                dotted = pointer[1:].replace("/", ".")
                yield v.finding(pointer, "leaf.duration", f"`{dotted}: {value}` is longer than a year",
                                "write a duration of at most a year, e.g. 30s, 10m or 24h")


def _quantity_or_none(value):
    try:
        return parse_quantity(value)
    except ValueError:
        return None


@rule("leaf.namespace", "Services do not go into Kubernetes' own namespaces.")
def _namespace(v: LeafView):
    namespace = v.get("namespace")
    if namespace in RESERVED_NAMESPACES:
        yield v.finding("/namespace", "leaf.namespace", f"namespace {namespace!r} is reserved for Kubernetes itself",
                        "use a namespace of your own, e.g. ml-workloads")


@rule("leaf.cache", "Cache settings fit the cache mode.")
def _cache(v: LeafView):
    mode = v.get("cache", "mode")
    if mode == "emptyDir":
        for key in ("existingClaim", "storageClass"):
            if v.has("cache", key):
                yield v.finding(f"/cache/{key}", "leaf.cache", f"`cache.{key}` has no effect with `cache.mode: emptyDir`",
                                "set `cache.mode: pvc` (or shared), or remove the key", key=True)
    if v.has("cache", "existingClaim") and v.has("cache", "storageClass"):
        yield v.finding("/cache/storageClass", "leaf.cache", "`cache.storageClass` is ignored with `cache.existingClaim`",
                        "remove one of them", key=True, severity=Severity.WARNING)


@rule("leaf.ingress", "Ingress has a valid RFC 1123 host (not an IP address); TLS names an issuer.")
def _ingress(v: LeafView):
    enabled = v.get("ingress", "enabled")
    host = v.get("ingress", "host")
    if enabled and not host:
        yield v.finding("/ingress", "leaf.ingress", "`ingress.enabled` is true but `ingress.host` is not set",
                        "add `host: llm.example.com` under `ingress`", key=True)
    if host and (not _HOST.match(host) or any(len(label) > 63 for label in host.split("."))):
        yield v.finding("/ingress/host", "leaf.ingress", f"`ingress.host` {host!r} is not a valid RFC 1123 host name",
                        "use lower-case letters, digits, '-' and '.', e.g. llm.example.com (a leading `*.` is allowed)")
    elif host and host.rsplit(".", 1)[-1].isdigit():
        yield v.finding("/ingress/host", "leaf.ingress", f"`ingress.host` {host!r} is an IP address, not a host name",
                        "Ingress and HTTPRoute hosts must be DNS names; use a name such as llm.example.com")
    if v.get("ingress", "tls", "enabled"):
        if not v.get("ingress", "tls", "issuer"):
            yield v.finding("/ingress/tls", "leaf.ingress", "TLS is enabled but no cert-manager issuer is named",
                            "add `issuer: letsencrypt-prod` under `ingress.tls`", key=True)
        if not enabled:
            yield v.finding("/ingress/tls", "leaf.ingress", "TLS is enabled but `ingress.enabled` is false",
                            "enable ingress or drop the TLS settings", key=True, severity=Severity.WARNING)
    if v.has("ingress", "gateway") and v.get("ingress", "api") == "ingress":
        yield v.finding("/ingress/gateway", "leaf.ingress", "`ingress.gateway` is ignored with `ingress.api: ingress`",
                        "remove `gateway`, or use `api: gateway`", key=True)


@rule("leaf.autoscaling", "Autoscaling bounds are coherent.")
def _autoscaling(v: LeafView):
    if not v.get("autoscaling", "enabled"):
        return
    low, high = v.get("autoscaling", "minReplicas"), v.get("autoscaling", "maxReplicas")
    if low > high:
        yield v.finding("/autoscaling/minReplicas", "leaf.autoscaling", f"`minReplicas` {low} is above `maxReplicas` {high}",
                        "make minReplicas <= maxReplicas")
    if low == 0 and not v.get("autoscaling", "scaleToZero"):
        yield v.finding("/autoscaling/minReplicas", "leaf.autoscaling", "`minReplicas` is 0 but `scaleToZero` is false",
                        "set `scaleToZero: true`, or `minReplicas: 1`")
    if v.get("autoscaling", "scaleToZero") and not v.get("router", "enabled"):
        yield v.finding("/autoscaling/scaleToZero", "leaf.autoscaling", "scale to zero needs the router to hold the first request",
                        "enable the router, or turn `scaleToZero` off")
    if v.get("autoscaling", "scaleToZero") and v.get("autoscaling", "engine") == "hpa":
        yield v.finding("/autoscaling/scaleToZero", "leaf.autoscaling", "a HorizontalPodAutoscaler cannot scale to zero",
                        "use `engine: keda`, or turn `scaleToZero` off")
    elif v.get("autoscaling", "scaleToZero") and not v.has("autoscaling", "activationQuery"):
        yield v.finding("/autoscaling/scaleToZero", "leaf.autoscaling",
                        "scale to zero needs `activationQuery`: at zero replicas no router exists to queue the first request or report it",
                        "set `autoscaling.activationQuery` to a PromQL query on your gateway's pending requests for this route, "
                        "or turn `scaleToZero` off")


@rule("leaf.router", "Router settings need the router, and its keep_alive bounds are in order.")
def _router(v: LeafView):
    if v.has("router", "apiKeySecret") and not v.get("router", "enabled"):
        yield v.finding("/router/apiKeySecret", "leaf.router", "API keys are set but the router is off, so nothing enforces them",
                        "set `router.enabled: true`", key=True)
    low, high = v.get("router", "keepAliveMin"), v.get("router", "keepAliveMax")
    if isinstance(low, str) and isinstance(high, str) and _go_seconds(low) > _go_seconds(high):
        yield v.finding("/router/keepAliveMin", "leaf.router",
                        f"`keepAliveMin` {low} is longer than `keepAliveMax` {high}: the router would refuse to start",
                        "lower `router.keepAliveMin` or raise `router.keepAliveMax`")


def _go_seconds(text: str) -> float:
    import re

    units = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
    return sum(float(n) * units[u] for n, u in re.findall(r"([0-9.]+)(ns|us|ms|s|m|h)", text))


@rule("leaf.env", "Extra environment does not override what the chart manages.")
def _env(v: LeafView):
    for name in sorted(v.get("ollama", "env") or {}):
        if name in MANAGED_ENV:
            yield v.finding(f"/ollama/env/{name}", "leaf.env", f"`ollama.env.{name}` is managed by the chart",
                            MANAGED_ENV[name], key=True)


# --- rules that need the model sizes (catalog_gen.plan, which needs pydantic: imported on first use) ---


@rule("leaf.model-size", "Every model's size is known (from its name, the family table or a `size` hint), so the pod can be sized.")
def _model_size(v: LeafView):
    for pointer, model in v.model_entries():
        problem = _size_problem(model)
        if problem:
            yield v.finding(pointer + "/name" if pointer != "/model" else pointer, "leaf.model-size", *problem)


_SIZE_PROBLEMS: dict[tuple, tuple[str, str] | None] = {}  # a catalog names the same few models a thousand times


def _size_problem(model: dict) -> tuple[str, str] | None:
    """(message, hint) when the model's size cannot be told; from what sizing reads: name, base, size hint."""
    size, base = model.get("size") or {}, (model.get("modelfile") or {}).get("from")
    key = (model["name"], base, size.get("parameters"), size.get("quantization"))
    if key not in _SIZE_PROBLEMS:
        from catalog_gen.catalog.model import ModelSpec
        from catalog_gen.plan.model_size import ModelSizeUnknown, weights_figure

        try:
            weights_figure(ModelSpec.model_validate(model))
            _SIZE_PROBLEMS[key] = None
        except ModelSizeUnknown as exc:
            _SIZE_PROBLEMS[key] = (exc.message, exc.hint)
    return _SIZE_PROBLEMS[key]


@rule("leaf.modelfile", "A custom model's settings can be written as a Modelfile Ollama reads back unchanged.")
def _modelfile(v: LeafView):
    for pointer, model in v.model_entries():
        if not model.get("modelfile"):
            continue
        from catalog_gen.catalog.model import ModelSpec
        from catalog_gen.plan.modelfile import modelfile_problems

        for problem in modelfile_problems(ModelSpec.model_validate(model)):
            yield v.finding(pointer + "/modelfile", "leaf.modelfile", problem,
                            "remove the character, or rephrase so no line ends in a quote", key=True)


# --- sizing: the planner's own problems (catalog_gen.plan.sizing), each kind a rule of its own -----------


def _sizing_problems(v: LeafView) -> list:
    """The planner's problems with this leaf, computed once per leaf for every sizing rule."""
    if v.sizing is None:
        v.sizing = []
        # sizing reads every quantity: with one out of its range (leaf.quantity says so) it would size nonsense
        if v.has("model") != v.has("models") and not v.partial and not _quantity_findings(v):  # otherwise leaf.model-form says what is wrong
            from catalog_gen.catalog.model import OllamaInferenceLoad
            from catalog_gen.plan.sizing import service_problems

            v.sizing = service_problems(OllamaInferenceLoad.model_validate(v.doc.data))
    return v.sizing


def _written_here(v: LeafView, pointer: str) -> bool:
    return pointer in v.doc.values and v.doc.values[pointer].file == v.doc.display


def _sizing_rule(code: str, description: str) -> None:
    def check(v: LeafView):
        out_of_range = {f.pointer for f in _quantity_findings(v)}
        for problem in _sizing_problems(v):
            if problem.code != code or problem.pointer in out_of_range:
                continue
            pointer, message = problem.pointer, problem.message
            if problem.fallback and not _written_here(v, pointer):
                # the setting is a default or inherited from a `_defaults.yaml`: report at the leaf's model entry
                if pointer in v.doc.values:
                    pos = v.doc.values[pointer]
                    message += f" (`{pointer[1:].replace('/', '.')}` from {pos.file}:{pos.line})"
                pointer = problem.fallback
            yield v.finding(pointer, code, message, problem.hint, severity=problem.severity)

    rule(code, description)(check)


_sizing_rule("leaf.gpu-memory", "The models fit the memory of the GPU the leaf names (`gpu.product` or `gpu.vram`): an error "
             "when they do not (or exceed the largest GPU), a warning when no GPU is named for models above 16 GiB per GPU.")
_sizing_rule("leaf.memory-limit", "An explicit memory limit holds the models: an error on CPU below their weights, "
             "a warning below the whole estimate (KV cache, buffers) or below 1 GiB beside a GPU.")
_sizing_rule("leaf.preset", "A named preset suits the GPUs (error) and is meant for the models' memory need (warning).")
_sizing_rule("leaf.cache-size", "An explicit `cache.size` holds every model on disk.")
_sizing_rule("leaf.model-context", "Models sharing one set of weights ask for one context length (Ollama reloads otherwise).")
_sizing_rule("leaf.pool-capacity", "A pool's models fit its workers: no model larger than one worker's memory (error), "
             "no more loaded models than fit (`pool.maxLoadedModels`, warning), a warm set (`minWorkers`) that fits the "
             "fewest workers (error, naming the models), room for on-demand models next to it (warning).")

from catalog_gen.catalog import deploy_rules  # noqa: E402,F401  (its rules register themselves in RULES)
from catalog_gen.catalog import pool_rules  # noqa: E402,F401  (likewise)
