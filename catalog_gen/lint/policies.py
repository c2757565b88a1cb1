"""The registry of every check `catalog-gen lint` runs: data, not code.

Each entry says what a finding with that id means (``description``), how to
fix it (``remediation``, the finding's hint, ending in a period), how bad it
is (``severity``), which object kinds it looks at (``kinds``; "*" for any
object, "chart" for the chart as a whole) and its tunable ``params``. The
code of a check looks its params up here, `catalog-gen checks` and the
README table are generated from here, and a meta-test makes sure every entry
has a fixture that fires and one that does not.

Policy checks, and the semantic checks that are judgement calls (a Service
may select pods of another chart), can be switched off for one object with
the annotation ``catalog-gen.io/ignore-<check-id>: "<reason>"``
(``suppressible``); checks about what Helm or the API server would reject
cannot.
"""

from __future__ import annotations

import dataclasses
from types import MappingProxyType
from typing import Any, Mapping

from catalog_gen.errors import Severity

IGNORE_PREFIX = "catalog-gen.io/ignore-"
WORKLOADS = ("Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job", "CronJob")
LONG_RUNNING = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController")


@dataclasses.dataclass(frozen=True)
class Check:
    id: str
    severity: Severity
    category: str  # helm, parse, schema, semantic, policy, platform, suppression
    description: str
    remediation: str
    kinds: tuple[str, ...]
    params: Mapping[str, Any] = dataclasses.field(default_factory=lambda: MappingProxyType({}))
    suppressible: bool = False


def _c(id, severity, category, kinds, description, remediation, params=None, suppressible=False) -> Check:
    return Check(
        id=id,
        severity=Severity(severity),
        category=category,
        description=description,
        remediation=remediation,
        kinds=tuple(kinds) if not isinstance(kinds, str) else (kinds,),
        params=MappingProxyType(dict(params or {})),
        suppressible=suppressible,
    )


CHECKS: tuple[Check, ...] = (
    # --- Helm and parsing --------------------------------------------------------------------------
    _c(
        "helm-lint", "error", "helm", "chart",
        "`helm lint --strict` (Helm's own SDK) reports a problem; warnings count as errors.",
        "Fix what Helm reports in the named chart file.",
    ),
    _c(
        "helm-render", "error", "helm", "chart",
        "The chart does not load or a template fails to render with its default values or a `ci/*-values.yaml` scenario.",
        "Fix the template or values at the reported position; `required` messages name the missing value.",
    ),
    _c(
        "chart-files", "error", "helm", "chart",
        "A chart file cannot be read safely (a FIFO, device or socket, a symlink out of the chart, over the size limit) "
        "and the chart is not loaded; or the chart lacks files its catalog-gen manifest lists (a render was interrupted).",
        "Replace the file with a regular file inside the chart; for missing files run `catalog-gen render` again.",
    ),
    _c(
        "yaml-invalid", "error", "parse", "chart",
        "A rendered template is not valid YAML (Helm's render returns it without complaint) or starts indented.",
        "Fix the indentation or quoting at the reported line, e.g. use `nindent` and `quote` in the template.",
    ),
    _c(
        "duplicate-key", "error", "parse", "*",
        "A key appears twice in one mapping: Helm keeps the last silently and the API server rejects it.",
        "Remove one of the two keys, often a block written both literally and through `toYaml`.",
    ),
    _c(
        "object-invalid", "error", "parse", "*",
        "A rendered document is not a Kubernetes object (no apiVersion, kind or metadata.name).",
        "Render one complete object per document, separated by `---`.",
    ),
    _c(
        "duplicate-object", "error", "parse", "*",
        "Two objects of the chart share apiVersion group, kind, namespace and name; the install fails.",
        "Give each object a unique name, e.g. with a suffix after the fullname helper.",
    ),
    # --- Schemas and APIs --------------------------------------------------------------------------
    _c(
        "kube-schema", "error", "schema", "*",
        "The object does not match the strict Kubernetes schema of `--kube-version` (unknown fields included).",
        "Fix the field at the reported pointer; `kubectl explain <kind>.<field>` shows the schema.",
    ),
    _c(
        "crd-schema", "error", "schema", "*",
        "The custom resource does not match the `openAPIV3Schema` of its CRD version (CEL rules are not checked).",
        "Fix the field at the reported pointer against the CRD's documentation for that version.",
    ),
    _c(
        "schema-missing", "warning", "schema", "*",
        "No schema is known for the kind: its CRD was not passed with `--crds`; an error with `--require-schemas`.",
        "Pass the directory holding the CRD YAML with `--crds DIR`.",
    ),
    _c(
        "api-removed", "error", "schema", "*",
        "The apiVersion is not served by `--kube-version` (removed built-in API, or a version the CRD does not serve).",
        "Move to the replacement apiVersion named in the message.",
    ),
    _c(
        "api-deprecated", "warning", "schema", "*",
        "The apiVersion is deprecated in `--kube-version` and will be removed.",
        "Move to the replacement apiVersion named in the message before the removal release.",
    ),
    # --- Semantic checks beyond schemas ------------------------------------------------------------
    _c(
        "null-value", "error", "semantic", "*",
        "A field is `null` (often an unset value): Kubernetes drops it or rejects the object.",
        "Set the value in values.yaml or leave the key out with `{{- with }}`.",
        suppressible=True,
    ),
    _c(
        "quantity-invalid", "error", "semantic", "*",
        "A resource quantity does not parse (e.g. `cpu: lots`); schemas accept any string.",
        "Write a Kubernetes quantity such as `500m`, `2`, `512Mi` or `4Gi`.",
    ),
    _c(
        "name-invalid", "error", "semantic", "*",
        "A name breaks RFC 1123 (object, container, volume and port names; label keys and values).",
        "Use lower-case letters, digits and `-` (port names at most 15 characters, label values at most 63).",
    ),
    _c(
        "selector-mismatch", "error", "semantic", WORKLOADS[1:],
        "The workload's `spec.selector` does not match its pod template labels; the API server rejects it.",
        "Use the same selector labels helper in `spec.selector.matchLabels` and the pod template labels.",
    ),
    _c(
        "dangling-service", "error", "semantic", ('Service',),
        "The Service's selector matches no pod template in the chart, so it has no endpoints.",
        "Use the pod template's selector labels as the Service selector.",
        suppressible=True,
    ),
    _c(
        "probe-port-unknown", "error", "semantic", WORKLOADS,
        "A probe uses a named port the container does not define, or a port number no container of the pod declares.",
        "Probe a port listed under the container's `ports`, by its name.",
        suppressible=True,
    ),
    _c(
        "route-backend-missing", "error", "semantic", ('HTTPRoute', 'GRPCRoute'),
        "A route's backendRef names a Service (or a Service port) that the chart does not create.",
        "Point backendRefs at a Service of the chart and one of its ports.",
        suppressible=True,
    ),
    # --- kube-linter's default policy set ----------------------------------------------------------
    _c(
        "run-as-non-root", "error", "policy", WORKLOADS,
        "A container may run as root: neither `runAsNonRoot: true` nor a non-zero `runAsUser` applies to it.",
        "Set `securityContext.runAsNonRoot: true` and a non-zero `runAsUser` on the pod or container.",
        suppressible=True,
    ),
    _c(
        "no-read-only-root-fs", "warning", "policy", WORKLOADS,
        "A container's root filesystem is writable (`readOnlyRootFilesystem` is not true).",
        "Set `securityContext.readOnlyRootFilesystem: true` and mount writable paths as volumes.",
        suppressible=True,
    ),
    _c(
        "privilege-escalation-container", "error", "policy", WORKLOADS,
        "A container allows privilege escalation (explicitly, or by being privileged or adding SYS_ADMIN).",
        "Set `securityContext.allowPrivilegeEscalation: false`.",
        suppressible=True,
    ),
    _c(
        "privileged-container", "error", "policy", WORKLOADS,
        "A container runs privileged, with full access to the node.",
        "Remove `securityContext.privileged: true`; add only the capabilities it needs.",
        suppressible=True,
    ),
    _c(
        "host-network", "error", "policy", WORKLOADS,
        "The pod shares the node's network namespace.",
        "Remove `hostNetwork: true`; expose the pod through a Service.",
        suppressible=True,
    ),
    _c(
        "host-pid", "error", "policy", WORKLOADS,
        "The pod shares the node's process ID namespace.",
        "Remove `hostPID: true`.",
        suppressible=True,
    ),
    _c(
        "host-ipc", "error", "policy", WORKLOADS,
        "The pod shares the node's IPC namespace.",
        "Remove `hostIPC: true`.",
        suppressible=True,
    ),
    _c(
        "dangerous-capabilities", "error", "policy", WORKLOADS,
        "A container adds a dangerous Linux capability.",
        "Drop the capability from `securityContext.capabilities.add`; start from `drop: [ALL]`.",
        params={
            "capabilities": ("ALL", "SYS_ADMIN", "NET_ADMIN", "SYS_PTRACE", "SYS_MODULE", "NET_RAW", "DAC_READ_SEARCH", "BPF", "SYS_RAWIO"),
        },
        suppressible=True,
    ),
    _c(
        "latest-tag", "error", "policy", WORKLOADS,
        "An image has no tag or the mutable `latest` tag, so what runs changes without a chart change.",
        "Pin the image to a version tag (or a digest).",
        params={"mutableTags": ("latest",)},
        suppressible=True,
    ),
    _c(
        "unset-cpu-requirements", "error", "policy", WORKLOADS,
        "A container has no CPU request, so the scheduler cannot place it sensibly.",
        "Set `resources.requests.cpu`.",
        suppressible=True,
    ),
    _c(
        "unset-memory-requirements", "error", "policy", WORKLOADS,
        "A container lacks a memory request or a memory limit.",
        "Set `resources.requests.memory` and `resources.limits.memory`.",
        suppressible=True,
    ),
    _c(
        "no-liveness-probe", "warning", "policy", LONG_RUNNING,
        "A container of a long-running workload has no liveness probe.",
        "Add a `livenessProbe` that checks only that the process answers (e.g. Ollama's `GET /`).",
        suppressible=True,
    ),
    _c(
        "docker-sock", "error", "policy", WORKLOADS,
        "The pod mounts a container runtime socket from the host, which gives root on the node.",
        "Remove the hostPath volume of the runtime socket.",
        params={
            "sockets": (
                "/var/run/docker.sock",
                "/run/docker.sock",
                "/var/run/containerd/containerd.sock",
                "/run/containerd/containerd.sock",
                "/var/run/crio/crio.sock",
            ),
        },
        suppressible=True,
    ),
    _c(
        "sensitive-host-mounts", "error", "policy", WORKLOADS,
        "The pod mounts a sensitive host directory.",
        "Use a PersistentVolumeClaim, ConfigMap or emptyDir instead of the hostPath volume.",
        params={"paths": ("/", "/boot", "/dev", "/etc", "/lib", "/proc", "/sys", "/usr", "/var/lib/kubelet", "/var/run", "/run", "/root")},
        suppressible=True,
    ),
    _c(
        "env-var-secret", "error", "policy", WORKLOADS,
        "An environment variable whose name looks secret has a literal value in the chart.",
        "Read it from a Secret with `valueFrom.secretKeyRef`.",
        params={"namePattern": "(?i)(secret|passw(or)?d|token|api_?key|private_?key|credential|access_?key)"},
        suppressible=True,
    ),
    # --- Our own platform rules --------------------------------------------------------------------
    _c(
        "no-readiness-probe", "error", "platform", LONG_RUNNING,
        "A container of a long-running workload has no readiness probe, so it gets traffic before it can serve.",
        "Add a `readinessProbe` (for Ollama: one that checks the required models are present).",
        suppressible=True,
    ),
    _c(
        "liveness-model-dependent", "error", "platform", WORKLOADS,
        "A liveness probe depends on a model (model API paths, `ollama run/show/list/ps/pull`, readiness endpoints): "
        "a long pull or load gets the pod killed.",
        "Probe liveness with `GET /` or `GET /api/version`; put model checks in the readiness probe.",
        params={
            "paths": ("/api/tags", "/api/ps", "/api/show", "/api/generate", "/api/chat", "/api/embed", "/api/embeddings", "/api/pull", "/v1/"),
            "pathWords": ("ready",),
            "commands": ("run", "show", "list", "ps", "pull"),
        },
        suppressible=True,
    ),
    _c(
        "ollama-bypasses-router", "error", "platform", WORKLOADS + ("Service",),
        "With the router sidecar on, Ollama is reachable without it: it listens beyond loopback, uses a hostPort, "
        "or a Service targets its port.",
        "Set `OLLAMA_HOST=127.0.0.1:11434` on the Ollama container and point Services at the router's port only.",
        params={
            "ollamaImages": ("ollama/ollama",),
            "ollamaContainerNames": ("ollama",),
            "routerContainerNames": ("router",),
            "ollamaPort": 11434,
        },
        suppressible=True,
    ),
    _c(
        "pvc-not-kept", "error", "platform", ('PersistentVolumeClaim', 'StatefulSet'),
        "A PersistentVolumeClaim (the model cache) is deleted by `helm uninstall`.",
        "Annotate the PVC with `helm.sh/resource-policy: keep` (StatefulSets: keep `whenDeleted: Retain`).",
        suppressible=True,
    ),
    # --- Suppression annotations -------------------------------------------------------------------
    _c(
        "ignore-reason-missing", "error", "suppression", "*",
        "A `catalog-gen.io/ignore-<check-id>` annotation has an empty reason; the check is not suppressed.",
        "Write why the check does not apply as the annotation's value.",
    ),
    _c(
        "ignore-unknown-check", "warning", "suppression", "*",
        "A `catalog-gen.io/ignore-<check-id>` annotation names no suppressible check.",
        "Use an id from `catalog-gen checks` marked suppressible, or remove the annotation.",
    ),
)

CHECK_BY_ID: Mapping[str, Check] = MappingProxyType({check.id: check for check in CHECKS})


def params(check_id: str) -> Mapping[str, Any]:
    return CHECK_BY_ID[check_id].params
