{{/*
Names. Every object is named after the release; the leaf keeps serviceName at
most 40 characters so "<name>-loader-<hash>" and friends stay within 63.
Usage: {{ include "catalog-gen.fullname" . | quote }}
*/}}
{{- define "catalog-gen.fullname" -}}
{{- .Values.fullnameOverride | default .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}

{{/*
Selector labels: stable for the life of the release, never helm.sh/chart or a version.
Usage: {{- include "catalog-gen.selectorLabels" . | nindent 6 }}
*/}}
{{- define "catalog-gen.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name | quote }}
app.kubernetes.io/instance: {{ .Release.Name | quote }}
{{- end -}}

{{/*
Standard labels for metadata: selector labels plus chart, version and ownership.
Usage: {{- include "catalog-gen.labels" . | nindent 4 }}
*/}}
{{- define "catalog-gen.labels" -}}
{{- include "catalog-gen.componentLabels" (dict "ctx" . "component" "inference") -}}
{{- end -}}

{{/*
Standard labels with a component of its own (the pool's gateway objects say `gateway`).
Usage: {{- include "catalog-gen.componentLabels" (dict "ctx" $ "component" "gateway") | nindent 4 }}
*/}}
{{- define "catalog-gen.componentLabels" -}}
{{- $ctx := .ctx -}}
helm.sh/chart: {{ printf "%s-%s" $ctx.Chart.Name $ctx.Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" | quote }}
{{ include "catalog-gen.selectorLabels" $ctx }}
app.kubernetes.io/version: {{ $ctx.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ $ctx.Release.Service | quote }}
app.kubernetes.io/component: {{ .component }}
app.kubernetes.io/part-of: {{ $ctx.Values.serviceCatalog | quote }}
{{ include "catalog-gen.backstageLabel" $ctx }}
{{- end -}}

{{/*
A model pool (values `pool`, docs/render.md "Model pool"): the serving pods are the workers, and a
gateway Deployment stands in front of them. The role label keeps their selectors apart; a chart
without a pool has no role label anywhere.
Usage: {{- include "catalog-gen.workerSelectorLabels" . | nindent 6 }}  (the serving pods)
       {{- include "catalog-gen.gatewaySelectorLabels" . | nindent 6 }} (the gateway pods)
       {{- include "catalog-gen.publicSelectorLabels" . | nindent 6 }}  (the pods behind the public Service)
*/}}
{{- define "catalog-gen.workerSelectorLabels" -}}
{{ include "catalog-gen.selectorLabels" . }}
{{- if .Values.pool }}
catalog-gen.io/pool-role: worker
{{- end }}
{{- end -}}

{{- define "catalog-gen.gatewaySelectorLabels" -}}
{{ include "catalog-gen.selectorLabels" . }}
catalog-gen.io/pool-role: gateway
{{- end -}}

{{- define "catalog-gen.publicSelectorLabels" -}}
{{- if .Values.pool -}}
{{ include "catalog-gen.gatewaySelectorLabels" . }}
{{- else -}}
{{ include "catalog-gen.selectorLabels" . }}
{{- end -}}
{{- end -}}

{{/*
Metadata labels of the pool's gateway objects, and of the objects in front of the workers.
Usage: {{- include "catalog-gen.gatewayLabels" . | nindent 4 }}
*/}}
{{- define "catalog-gen.gatewayLabels" -}}
{{ include "catalog-gen.componentLabels" (dict "ctx" . "component" "gateway") }}
catalog-gen.io/pool-role: gateway
{{- end -}}

{{- define "catalog-gen.workersLabels" -}}
{{ include "catalog-gen.labels" . }}
catalog-gen.io/pool-role: worker
{{- end -}}

{{/*
Labels of the public Service: the gateway's in a pool, the standard ones otherwise.
Usage: {{- include "catalog-gen.publicLabels" . | nindent 4 }}
*/}}
{{- define "catalog-gen.publicLabels" -}}
{{- if .Values.pool -}}
{{ include "catalog-gen.gatewayLabels" . }}
{{- else -}}
{{ include "catalog-gen.labels" . }}
{{- end -}}
{{- end -}}

{{/*
The Backstage label: ties every object and pod to the Component in catalog-info.yaml. Not a
selector label (it may change without replacing the Deployment); pod templates add it beside
the selector labels.
Usage: {{- include "catalog-gen.backstageLabel" . | nindent 8 }}
*/}}
{{- define "catalog-gen.backstageLabel" -}}
backstage.io/kubernetes-id: {{ .Values.backstage.kubernetesId | quote }}
{{- end -}}

{{/*
PromQL label matchers selecting this release's router series: the job the ServiceMonitor
gives them (the Service name) and the namespace. Both are RFC 1123 labels, checked here so
that no value can change the query.
Usage: expr: sum(rate(ollama_router_requests_total{ {{- include "catalog-gen.promSelector" . -}} }[5m]))
*/}}
{{- define "catalog-gen.promSelector" -}}
{{- $fullname := include "catalog-gen.fullname" . -}}
{{- if not (regexMatch "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$" $fullname) -}}
{{- fail (printf "the release name %q is not an RFC 1123 label; metric queries need one" $fullname) -}}
{{- end -}}
{{- if not (regexMatch "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$" .Release.Namespace) -}}
{{- fail (printf "the namespace %q is not an RFC 1123 label" .Release.Namespace) -}}
{{- end -}}
{{- printf "job=\"%s\",namespace=\"%s\"" $fullname .Release.Namespace -}}
{{- end -}}

{{/*
PromQL label matchers of the series about models on disk and model loads: the workers' job in a
model pool (`<release>-workers`; the gateway's job is the release's), the release's job otherwise.
Usage: expr: min(ollama_router_model_ready{ {{- include "catalog-gen.workersPromSelector" . -}} })
*/}}
{{- define "catalog-gen.workersPromSelector" -}}
{{- $sel := include "catalog-gen.promSelector" . -}}
{{- if .Values.pool -}}
{{- $sel = replace (printf "job=\"%s\"," (include "catalog-gen.fullname" .)) (printf "job=\"%s-workers\"," (include "catalog-gen.fullname" .)) $sel -}}
{{- end -}}
{{- $sel -}}
{{- end -}}

{{/*
An image reference: repository:tag, and @digest when the digest is pinned (the digest decides).
Usage: image: {{ include "catalog-gen.imageRef" .Values.image }}
*/}}
{{- define "catalog-gen.imageRef" -}}
{{- if .digest -}}
{{- printf "%s:%s@%s" .repository .tag .digest | quote -}}
{{- else -}}
{{- printf "%s:%s" .repository .tag | quote -}}
{{- end -}}
{{- end -}}

{{/*
The Ollama image reference. Usage: image: {{ include "catalog-gen.ollamaImage" . }}
*/}}
{{- define "catalog-gen.ollamaImage" -}}
{{- include "catalog-gen.imageRef" .Values.image -}}
{{- end -}}

{{/*
The router image reference. Usage: image: {{ include "catalog-gen.routerImage" . }}
*/}}
{{- define "catalog-gen.routerImage" -}}
{{- include "catalog-gen.imageRef" .Values.router.image -}}
{{- end -}}

{{/*
Container security context shared by every container: no privilege escalation,
no capabilities, read-only root file system.
Usage: securityContext: {{- include "catalog-gen.containerSecurity" . | nindent 12 }}
*/}}
{{- define "catalog-gen.containerSecurity" -}}
allowPrivilegeEscalation: false
privileged: false
readOnlyRootFilesystem: true
capabilities:
  drop: ["ALL"]
{{- if .Values.ollama.runAsRoot }}
runAsNonRoot: false
{{- else }}
runAsNonRoot: true
runAsUser: 1000
runAsGroup: 1000
{{- end }}
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/*
Annotations of a workload whose Ollama containers run as root because the leaf says so
(ollama.runAsRoot): `catalog-gen lint` accepts it, with the reason.
Usage: {{- include "catalog-gen.rootAnnotations" . | nindent 2 }} (under metadata:)
*/}}
{{- define "catalog-gen.rootAnnotations" -}}
{{- if .Values.ollama.runAsRoot -}}
annotations:
  catalog-gen.io/ignore-run-as-non-root: "the leaf sets ollama.runAsRoot: its Ollama image needs root"
{{- end -}}
{{- end -}}

{{/*
Security context of the router container: always non-root (the catalog-gen image's own user,
10001), whatever ollama.runAsRoot says; otherwise as catalog-gen.containerSecurity.
Usage: securityContext: {{- include "catalog-gen.routerSecurity" . | nindent 12 }}
*/}}
{{- define "catalog-gen.routerSecurity" -}}
allowPrivilegeEscalation: false
privileged: false
readOnlyRootFilesystem: true
capabilities:
  drop: ["ALL"]
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/*
Name of the model cache claim (created or existing).
Usage: claimName: {{ include "catalog-gen.claimName" . }}
*/}}
{{- define "catalog-gen.claimName" -}}
{{- if .Values.cache.existingClaim -}}
{{- .Values.cache.existingClaim | quote -}}
{{- else -}}
{{- printf "%s-models" (include "catalog-gen.fullname" .) | quote -}}
{{- end -}}
{{- end -}}

{{/*
Name of the loader Job: changes whenever the model set changes, because Jobs are immutable.
Usage: name: {{ include "catalog-gen.loaderName" . }}
*/}}
{{- define "catalog-gen.loaderName" -}}
{{- printf "%s-loader-%s" (include "catalog-gen.fullname" .) (list .Values.models (.Values.modelBases | default list) | toJson | sha256sum | trunc 8) -}}
{{- end -}}

{{/*
The models file read by the pull/wait/ready scripts: one model per line,
name<TAB>digest<TAB>insecure<TAB>modelfile. Names are validated by values.schema.json
and travel only as data.
Usage: {{ include "catalog-gen.modelsFile" . | quote }}
*/}}
{{- define "catalog-gen.modelsFile" -}}
{{- range .Values.modelBases -}}
{{- printf "%s\t%s\t%s\t-\n" .name (.digest | default "-") (ternary "1" "0" (default false .insecure)) -}}
{{- end -}}
{{- range $i, $m := .Values.models -}}
{{- printf "%s\t%s\t%s\t%s\n" $m.name ($m.digest | default "-") (ternary "1" "0" (default false $m.insecure)) (ternary (printf "model-%d.Modelfile" $i) "-" (ne (default "" $m.modelfile) "")) -}}
{{- end -}}
{{- end -}}

{{/*
Environment of the pull/wait init containers and the loader Job.
Usage: env: {{- include "catalog-gen.pullEnv" . | nindent 12 }}
*/}}
{{- define "catalog-gen.pullEnv" -}}
- name: HOME
  value: /home/ollama
- name: OLLAMA_MODELS
  value: /models
- name: MODELS_FILE
  value: /etc/catalog-gen/models.tsv
- name: PULL_SERVER_DEADLINE_SECONDS
  value: {{ .Values.pull.serverDeadlineSeconds | quote }}
- name: PULL_ATTEMPT_TIMEOUT_SECONDS
  value: {{ .Values.pull.attemptTimeoutSeconds | quote }}
- name: PULL_RETRIES
  value: {{ .Values.pull.retries | quote }}
- name: PULL_BACKOFF_SECONDS
  value: {{ .Values.pull.backoffSeconds | quote }}
- name: WAIT_DEADLINE_SECONDS
  value: {{ .Values.cache.waitDeadlineSeconds | quote }}
# This container requests no GPU: the image's NVIDIA_VISIBLE_DEVICES=all would expose the node's GPUs.
- name: NVIDIA_VISIBLE_DEVICES
  value: void
{{- with .Values.pull.registryMirror }}
# Models come from this registry mirror (docs/registry.md); the script copies each to the leaf's name.
- name: PULL_REGISTRY_MIRROR
  value: {{ . | quote }}
- name: PULL_REGISTRY_INSECURE
  value: {{ ternary "1" "0" $.Values.pull.registryInsecure | quote }}
{{- end }}
{{- if eq .Values.cache.mode "shared" }}
- name: OLLAMA_NOPRUNE
  value: "1"
{{- end }}
{{- end -}}

{{/*
The readiness data file (router off): name<TAB>kind per model.
Usage: {{ include "catalog-gen.readyFile" . | quote }}
*/}}
{{- define "catalog-gen.readyFile" -}}
{{- range .Values.models -}}
{{- printf "%s\t%s\n" .name (.kind | default "text") -}}
{{- end -}}
{{- end -}}

{{/*
The smoke pod spec shared by the Argo CD PostSync Job and the Helm test Pod: `catalog-gen smoke`
against this release's Service, with the resolved leaf from the config map.
Usage: {{- include "catalog-gen.smokePodSpec" . | nindent 6 }}
*/}}
{{- define "catalog-gen.smokePodSpec" -}}
{{- $fullname := include "catalog-gen.fullname" . -}}
restartPolicy: Never
serviceAccountName: {{ printf "%s-smoke" $fullname }}
automountServiceAccountToken: true
enableServiceLinks: false
securityContext:
  runAsNonRoot: true
  runAsUser: 10001
  runAsGroup: 10001
  seccompProfile:
    type: RuntimeDefault
containers:
  - name: smoke
    image: {{ include "catalog-gen.routerImage" . }}
    imagePullPolicy: {{ .Values.router.image.pullPolicy | quote }}
    args:
      - smoke
      - /etc/catalog-gen/smoke/leaf.yaml
      - --url
      - {{ printf "http://%s.%s.svc:%d" $fullname .Release.Namespace (int .Values.service.port) | quote }}
      {{- if and .Values.router.enabled .Values.router.apiKeySecret }}
      - --api-key-file
      - /etc/catalog-gen-keys/api-keys
      {{- end }}
    resources:
      requests:
        cpu: 50m
        memory: 96Mi
      limits:
        memory: 256Mi
    securityContext:
      allowPrivilegeEscalation: false
      privileged: false
      readOnlyRootFilesystem: true
      runAsNonRoot: true
      runAsUser: 10001
      runAsGroup: 10001
      capabilities:
        drop: ["ALL"]
      seccompProfile:
        type: RuntimeDefault
    volumeMounts:
      - name: leaf
        mountPath: /etc/catalog-gen/smoke
        readOnly: true
      - name: tmp
        mountPath: /tmp
      {{- if and .Values.router.enabled .Values.router.apiKeySecret }}
      - name: api-keys
        mountPath: /etc/catalog-gen-keys
        readOnly: true
      {{- end }}
volumes:
  - name: leaf
    configMap:
      name: {{ printf "%s-config" $fullname }}
      items:
        - key: smoke-leaf.yaml
          path: leaf.yaml
  - name: tmp
    emptyDir: {}
  {{- if and .Values.router.enabled .Values.router.apiKeySecret }}
  - name: api-keys
    secret:
      secretName: {{ .Values.router.apiKeySecret.name | quote }}
      items:
        - key: {{ .Values.router.apiKeySecret.key | quote }}
          path: api-keys
  {{- end }}
{{- end -}}
