"""Charts broken on purpose: each case is the good fixture chart with a few edits.

A case names the check it is about, whether that check must fire, and where:
the finding must name ``file`` (chart-relative) and, when the edited file
holds the marker ``# here``, that line; without a marker the template line
cannot be located and must be 0 (the message then states the rendered line).
Edits replace text that occurs exactly once in the good chart's file, or
create a file (``old=None``), so a drifting fixture fails loudly.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"
GOOD = FIXTURES / "good"
SHARED_CRDS = Path(__file__).resolve().parents[2] / ".." / "shared" / "crds"
MARK = "# here"
DEPLOY = "templates/deployment.yaml"
ROUTER_SC = "              memory: 256Mi\n          securityContext:\n"
ROUTER_SC_HERE = "              memory: 256Mi\n          securityContext:  # here\n"
POD_SC = "    spec:\n      securityContext:\n"


@dataclasses.dataclass(frozen=True)
class Edit:
    file: str
    old: str | None
    new: str


@dataclasses.dataclass(frozen=True)
class Case:
    name: str
    check: str
    edits: tuple[Edit, ...]
    fires: bool = True
    file: str = ""  # the file the finding names; default: the first edit's file
    pointer: str | None = None
    kube_version: str = "1.31"
    message: str = ""  # a substring the message must contain

    @property
    def expected_file(self) -> str:
        return self.file or self.edits[0].file


def E(file: str, old: str | None, new: str) -> Edit:
    return Edit(file, old, new)


def C(name: str, check: str, *edits: Edit, **kw) -> Case:
    return Case(name, check, tuple(edits), **kw)


def _pod(field: str) -> Edit:
    return E(DEPLOY, POD_SC, f"    spec:\n      {field}: true  # here\n      securityContext:\n")


def _router_volume(path: str) -> tuple[Edit, Edit]:
    return (
        E(DEPLOY, "            - name: router-config\n              mountPath: /etc/router\n",
          "            - name: router-config\n              mountPath: /etc/router\n            - name: host\n              mountPath: /host\n"),
        E(DEPLOY, "            name: {{ include \"ollama.fullname\" . }}-router\n",
          f"            name: {{{{ include \"ollama.fullname\" . }}}}-router\n        - name: host\n          hostPath:\n            path: {path}  # here\n"),
    )


NEW_CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ include \"ollama.fullname\" . }}-router  # here\ndata: {}\n"
WIDGET = "apiVersion: example.com/v1  # here\nkind: Widget\nmetadata:\n  name: w\nspec: {}\n"
ENDPOINTS = "apiVersion: v1  # here\nkind: Endpoints\nmetadata:\n  name: legacy\nsubsets: []\n"
SC = "/spec/template/spec/containers"

CASES: list[Case] = [
    # --- Helm and parsing
    C("invalid icon url", "helm-lint", E("Chart.yaml", "icon: https://ollama.com/public/ollama.png", "icon: not a url")),
    C("required value missing", "helm-render",
      E(DEPLOY, "  replicas: {{ .Values.replicas }}", '  replicas: {{ required "replicaCount is required" .Values.replicaCount }}  # here'),
      message="replicaCount is required"),
    C("required only in the hpa scenario", "helm-render",
      E("templates/hpa.yaml", "  minReplicas: {{ .Values.autoscaling.minReplicas }}",
        '  minReplicas: {{ required "autoscaling.hpaMin is required" .Values.autoscaling.hpaMin }}  # here'),
      message="[values: ci/hpa-values.yaml]"),
    C("chart lacks files its manifest lists (a killed render)", "chart-files",
      E(".catalog-gen-manifest.json", None, '{"files": {"templates/gone.yaml": "0"}}\n'), message="missing 1 file(s)"),
    C("ci values not yaml", "helm-render", E("ci/hpa-values.yaml", "  mode: hpa", "  mode: hpa: keda  # here")),
    C("broken yaml", "yaml-invalid", E("templates/service.yaml", "  type: ClusterIP\n", "  type: ClusterIP\n  key: value: other  # here\n")),
    C("indented first line", "yaml-invalid", E("templates/extra.yaml", None, "  # here\n  apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: x\n")),
    C("duplicate key", "duplicate-key",
      E(DEPLOY, "          image: {{ .Values.router.image }}\n", "          image: {{ .Values.router.image }}\n          image: busybox:1.36.1  # here\n"),
      pointer=f"{SC}/1/image"),
    C("list document", "object-invalid", E("templates/extra.yaml", None, "- a  # here\n- b\n")),
    C("no metadata.name", "object-invalid", E("templates/extra.yaml", None, "apiVersion: v1  # here\nkind: ConfigMap\nmetadata: {}\n")),
    C("same object twice", "duplicate-object", E("templates/extra.yaml", None, NEW_CONFIGMAP), pointer="/metadata/name"),
    # --- schemas and APIs
    C("unknown container field", "kube-schema",
      E(DEPLOY, "          args: [\"--config\"", "          bogus: 1  # here\n          args: [\"--config\""), pointer=f"{SC}/1/bogus"),
    C("wrong type in hpa scenario only", "kube-schema",
      E("templates/hpa.yaml", "          averageUtilization: 80", '          averageUtilization: "eighty"  # here'),
      pointer="/spec/metrics/0/resource/target/averageUtilization", message="[values: ci/hpa-values.yaml]"),
    C("unknown certificate field", "crd-schema", E("templates/certificate.yaml", "  secretName:", "  secretNam:  # here\n  secretName:"),
      pointer="/spec/secretNam"),
    C("crd without schema", "schema-missing", E("templates/extra.yaml", None, WIDGET), pointer="/apiVersion",
      message="widgets.example.com"),
    C("removed built-in api", "api-removed", E("templates/pdb.yaml", "apiVersion: policy/v1\n", "apiVersion: policy/v1beta1  # here\n"),
      pointer="/apiVersion", message="removed in Kubernetes 1.25"),
    C("version the crd does not serve", "api-removed",
      E("templates/httproute.yaml", "apiVersion: gateway.networking.k8s.io/v1\n", "apiVersion: gateway.networking.k8s.io/v1alpha9  # here\n"),
      pointer="/apiVersion"),
    C("deprecated endpoints on 1.33", "api-deprecated", E("templates/extra.yaml", None, ENDPOINTS), kube_version="1.33"),
    C("endpoints on 1.31", "api-deprecated", E("templates/extra.yaml", None, ENDPOINTS), fires=False),
    # --- semantic
    C("null replicas", "null-value", E("values.yaml", "replicas: 1", "replicas: null"),
      E(DEPLOY, "  replicas: {{ .Values.replicas }}", "  replicas: {{ .Values.replicas }}  # here"), file=DEPLOY, pointer="/spec/replicas"),
    C("null marked", "null-value", E(DEPLOY, "  strategy:\n    type: Recreate\n", "  strategy:\n    type:  # here\n"),
      pointer="/spec/strategy/type"),
    C("cpu lots literal", "quantity-invalid", E(DEPLOY, "              cpu: 100m", "              cpu: lots  # here"),
      pointer=f"{SC}/1/resources/requests/cpu"),
    C("cpu lots through toYaml", "quantity-invalid", E("values.yaml", '    cpu: "2"', "    cpu: lots"), file=DEPLOY,
      pointer=f"{SC}/0/resources/requests/cpu", message="rendered manifest line"),
    C("numbers are quantities", "quantity-invalid", E("values.yaml", '    cpu: "2"', "    cpu: 1.5"), file=DEPLOY, fires=False),
    C("container name", "name-invalid", E(DEPLOY, "        - name: router\n", "        - name: Router_1  # here\n"),
      pointer=f"{SC}/1/name"),
    C("port name too long", "name-invalid", E(DEPLOY, "            - name: http\n", "            - name: http-router-sidecar  # here\n"),
      pointer=f"{SC}/1/ports/0/name"),
    C("service name", "name-invalid", E("templates/extra.yaml", None, "apiVersion: v1\nkind: Service\nmetadata:\n  name: 9lives  # here\nspec:\n  ports: [{port: 80}]\n"),
      pointer="/metadata/name"),
    C("selector not in template", "selector-mismatch",
      E(DEPLOY, "  selector:\n    matchLabels:\n", "  selector:  # here\n    matchLabels:\n      tier: gpu\n"), pointer="/spec/selector"),
    C("service selects nothing", "dangling-service",
      E("templates/service.yaml", "  selector:\n", "  selector:  # here\n    tier: gpu\n"), pointer="/spec/selector"),
    C("service for another release, with a reason", "dangling-service",
      E("templates/service.yaml", "  selector:\n", "  selector:\n    tier: gpu\n"),
      E("templates/service.yaml", "spec:\n  type: ClusterIP\n",
        "  annotations:\n    catalog-gen.io/ignore-dangling-service: \"selects the pods of the shared gpu pool release\"\n"
        "spec:\n  type: ClusterIP\n"),
      fires=False),
    C("service without selector", "dangling-service",
      E("templates/service.yaml", "  selector:\n    {{- include \"ollama.selectorLabels\" . | nindent 4 }}\n", ""), fires=False),
    C("probe on unknown port name", "probe-port-unknown",
      E(DEPLOY, "              path: /readyz\n              port: http", "              path: /readyz\n              port: metrics  # here"),
      pointer=f"{SC}/1/readinessProbe/httpGet/port"),
    C("probe on undeclared port number", "probe-port-unknown",
      E(DEPLOY, "              path: /livez\n              port: http", "              path: /livez\n              port: 9090  # here"),
      pointer=f"{SC}/1/livenessProbe/httpGet/port"),
    C("probe on declared port number", "probe-port-unknown",
      E(DEPLOY, "              path: /livez\n              port: http", "              path: /livez\n              port: 8080"), fires=False),
    C("route to missing port", "route-backend-missing", E("templates/httproute.yaml", "          port: 80", "          port: 81  # here"),
      pointer="/spec/rules/0/backendRefs/0/port"),
    C("route to missing service", "route-backend-missing",
      E("templates/httproute.yaml", "          name: {{ include \"ollama.fullname\" . }}\n", "          name: other  # here\n"),
      pointer="/spec/rules/0/backendRefs/0/name"),
    C("route to another namespace", "route-backend-missing",
      E("templates/httproute.yaml", "          name: {{ include \"ollama.fullname\" . }}\n", "          name: other\n          namespace: shared\n"),
      fires=False),
    # --- kube-linter's set
    C("root user", "run-as-non-root", E(DEPLOY, "        runAsNonRoot: true\n        runAsUser: 1000\n", "        runAsUser: 0\n"),
      E(DEPLOY, "              memory: 1Gi\n          securityContext:\n", "              memory: 1Gi\n          securityContext:  # here\n"),
      pointer="/spec/template/spec/initContainers/0/securityContext"),
    C("root user with a reason", "run-as-non-root",
      E(DEPLOY, "        runAsNonRoot: true\n        runAsUser: 1000\n", "        runAsUser: 0\n"),
      E(DEPLOY, "  labels:\n    {{- include \"ollama.labels\" . | nindent 4 }}\nspec:\n",
        "  labels:\n    {{- include \"ollama.labels\" . | nindent 4 }}\n  annotations:\n"
        "    catalog-gen.io/ignore-run-as-non-root: \"leaf option runAsRoot: the model volume is owned by root\"\nspec:\n"),
      fires=False),
    C("writable root fs", "no-read-only-root-fs",
      E(DEPLOY, ROUTER_SC + "            allowPrivilegeEscalation: false\n            readOnlyRootFilesystem: true\n",
        ROUTER_SC_HERE + "            allowPrivilegeEscalation: false\n            readOnlyRootFilesystem: false\n"),
      pointer=f"{SC}/1/securityContext"),
    C("privilege escalation", "privilege-escalation-container",
      E(DEPLOY, ROUTER_SC + "            allowPrivilegeEscalation: false\n", ROUTER_SC_HERE + "            allowPrivilegeEscalation: true\n"),
      pointer=f"{SC}/1/securityContext"),
    C("privileged", "privileged-container",
      E(DEPLOY, ROUTER_SC, ROUTER_SC + "            privileged: true  # here\n"), pointer=f"{SC}/1/securityContext/privileged"),
    C("host network", "host-network", _pod("hostNetwork"), pointer="/spec/template/spec/hostNetwork"),
    C("host pid", "host-pid", _pod("hostPID"), pointer="/spec/template/spec/hostPID"),
    C("host ipc", "host-ipc", _pod("hostIPC"), pointer="/spec/template/spec/hostIPC"),
    C("net admin", "dangerous-capabilities",
      E(DEPLOY, ROUTER_SC + "            allowPrivilegeEscalation: false\n            readOnlyRootFilesystem: true\n            capabilities:\n",
        ROUTER_SC + "            allowPrivilegeEscalation: false\n            readOnlyRootFilesystem: true\n            capabilities:\n"
        "              add: [\"NET_ADMIN\"]  # here\n"),
      pointer=f"{SC}/1/securityContext/capabilities/add"),
    C("image without tag", "latest-tag", E(DEPLOY, "          image: {{ .Values.router.image }}\n", "          image: ghcr.io/catalog-gen/router  # here\n"),
      pointer=f"{SC}/1/image"),
    C("latest tag", "latest-tag", E(DEPLOY, "          image: {{ .Values.router.image }}\n", "          image: ghcr.io/catalog-gen/router:latest  # here\n"),
      pointer=f"{SC}/1/image"),
    C("pinned by digest", "latest-tag",
      E(DEPLOY, "          image: {{ .Values.router.image }}\n", "          image: ghcr.io/catalog-gen/router@sha256:" + "a" * 64 + "\n"), fires=False),
    C("no cpu request", "unset-cpu-requirements",
      E(DEPLOY, "          resources:\n            requests:\n              cpu: 100m\n", "          resources:  # here\n            requests:\n"),
      pointer=f"{SC}/1/resources"),
    C("no memory limit", "unset-memory-requirements",
      E(DEPLOY, "          resources:\n            requests:\n              cpu: 100m\n              memory: 128Mi\n            limits:\n              memory: 256Mi\n",
        "          resources:  # here\n            requests:\n              cpu: 100m\n              memory: 128Mi\n"),
      pointer=f"{SC}/1/resources"),
    C("no liveness probe", "no-liveness-probe",
      E(DEPLOY, "        - name: router\n", "        - name: router  # here\n"),
      E(DEPLOY, "          livenessProbe:\n            httpGet:\n              path: /livez\n              port: http\n", ""), pointer=f"{SC}/1"),
    C("docker socket", "docker-sock", *_router_volume("/var/run/docker.sock"), pointer="/spec/template/spec/volumes/3/hostPath/path"),
    C("host etc", "sensitive-host-mounts", *_router_volume("/etc"), pointer="/spec/template/spec/volumes/3/hostPath/path"),
    C("host data dir", "sensitive-host-mounts", *_router_volume("/data/models"), fires=False),
    C("token in plain text", "env-var-secret",
      E(DEPLOY, "          args: [\"--config\"", "          env:\n            - name: API_TOKEN\n              value: abc123  # here\n          args: [\"--config\""),
      pointer=f"{SC}/1/env/0/value"),
    C("token from a secret", "env-var-secret",
      E(DEPLOY, "          args: [\"--config\"",
        "          env:\n            - name: API_TOKEN\n              valueFrom:\n                secretKeyRef: {name: api, key: token}\n          args: [\"--config\""),
      fires=False),
    # --- our own rules
    C("no readiness probe", "no-readiness-probe",
      E(DEPLOY, "        - name: router\n", "        - name: router  # here\n"),
      E(DEPLOY, "          readinessProbe:\n            httpGet:\n              path: /readyz\n              port: http\n", ""), pointer=f"{SC}/1"),
    C("liveness on readiness endpoint", "liveness-model-dependent",
      E(DEPLOY, "          livenessProbe:\n            httpGet:\n              path: /livez", "          livenessProbe:  # here\n            httpGet:\n              path: /readyz"),
      pointer=f"{SC}/1/livenessProbe"),
    C("liveness runs ollama list", "liveness-model-dependent",
      E(DEPLOY, "          livenessProbe:\n            exec:\n              command: [\"/bin/bash\", \"-c\", \"exec 3<>/dev/tcp/127.0.0.1/11434\"]",
        "          livenessProbe:  # here\n            exec:\n              command: [\"/bin/bash\", \"-c\", \"ollama list | grep -q phi\"]"),
      pointer=f"{SC}/0/livenessProbe"),
    C("liveness on api version", "liveness-model-dependent",
      E(DEPLOY, "              path: /livez", "              path: /api/version"), fires=False),
    C("ollama on all interfaces", "ollama-bypasses-router",
      E(DEPLOY, "          env:\n            - name: OLLAMA_HOST\n              value: \"127.0.0.1:11434\"\n            - name: HOME\n              value: /data\n            - name: OLLAMA_KEEP_ALIVE",
        "          env:  # here\n            - name: OLLAMA_HOST\n              value: \"0.0.0.0:11434\"\n            - name: HOME\n              value: /data\n            - name: OLLAMA_KEEP_ALIVE"),
      pointer=f"{SC}/0/env"),
    C("service straight to ollama", "ollama-bypasses-router",
      E("templates/service.yaml", "      targetPort: http\n", "      targetPort: http\n    - name: direct\n      port: 11434\n      targetPort: 11434  # here\n"),
      pointer="/spec/ports/1/targetPort"),
    C("no router, ollama on all interfaces", "ollama-bypasses-router",
      E(DEPLOY, "        - name: router\n", "        - name: proxy\n"),
      E(DEPLOY, "              value: \"127.0.0.1:11434\"\n            - name: HOME\n              value: /data\n            - name: OLLAMA_KEEP_ALIVE",
        "              value: \"0.0.0.0:11434\"\n            - name: HOME\n              value: /data\n            - name: OLLAMA_KEEP_ALIVE"),
      fires=False),
    C("pvc deleted on uninstall", "pvc-not-kept",
      E("templates/pvc.yaml", "  annotations:\n    helm.sh/resource-policy: keep", "  annotations:  # here\n    example.com/owner: ml"),
      pointer="/metadata/annotations"),
    # --- suppression annotations
    C("empty reason", "ignore-reason-missing",
      E("templates/pvc.yaml", "    helm.sh/resource-policy: keep", "    catalog-gen.io/ignore-pvc-not-kept: \"\"  # here"),
      pointer="/metadata/annotations/catalog-gen.io~1ignore-pvc-not-kept"),
    C("unknown check id", "ignore-unknown-check",
      E("templates/pvc.yaml", "    helm.sh/resource-policy: keep", "    helm.sh/resource-policy: keep\n    catalog-gen.io/ignore-no-such-check: \"x\"  # here"),
      pointer="/metadata/annotations/catalog-gen.io~1ignore-no-such-check"),
    C("schema errors cannot be ignored", "ignore-unknown-check",
      E("templates/pvc.yaml", "    helm.sh/resource-policy: keep", "    helm.sh/resource-policy: keep\n    catalog-gen.io/ignore-kube-schema: \"x\"  # here"),
      message="cannot be suppressed"),
]


def build_chart(case: Case, root: Path) -> Path:
    """The good chart with the case's edits, under ``root``; returns the chart directory."""
    import shutil

    chart = root / "ollama-phi"
    shutil.copytree(GOOD, chart)
    for edit in case.edits:
        path = chart / edit.file
        if edit.old is None:
            path.write_text(edit.new, encoding="utf-8")
            continue
        text = path.read_text(encoding="utf-8")
        assert text.count(edit.old) == 1, f"case {case.name!r}: {edit.old!r} must occur once in {edit.file}"
        path.write_text(text.replace(edit.old, edit.new), encoding="utf-8")
    return chart


def marked_line(chart: Path, file: str) -> int:
    """1-based line of the ``# here`` marker in a chart file, 0 when it has none."""
    lines = (chart / file).read_text(encoding="utf-8").splitlines()
    hits = [i + 1 for i, line in enumerate(lines) if MARK in line]
    assert len(hits) <= 1, f"{file} has more than one {MARK!r} marker"
    return hits[0] if hits else 0
