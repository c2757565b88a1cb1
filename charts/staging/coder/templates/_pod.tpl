{{/*
The serving pod template, shared by the Deployment and the StatefulSet (workload.kind): the
pull or wait init container, one Ollama container per process, the router, their volumes.
Usage: template: {{- include "catalog-gen.podTemplate" . | nindent 4 }}
*/}}
{{- define "catalog-gen.podTemplate" -}}
{{- $fullname := include "catalog-gen.fullname" . -}}
{{- $router := .Values.router.enabled -}}
metadata:
  labels:
    {{- include "catalog-gen.workerSelectorLabels" . | nindent 4 }}
    {{- include "catalog-gen.backstageLabel" . | nindent 4 }}
  annotations:
    checksum/config: {{ include (print $.Template.BasePath "/configmap.yaml") . | sha256sum | quote }}
    {{- with .Values.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  automountServiceAccountToken: false
  enableServiceLinks: false
  terminationGracePeriodSeconds: {{ .Values.terminationGracePeriodSeconds }}
  securityContext:
    {{- if .Values.ollama.runAsRoot }}
    runAsNonRoot: false
    {{- else }}
    runAsNonRoot: true
    runAsUser: 1000
    runAsGroup: 1000
    fsGroup: 1000
    fsGroupChangePolicy: OnRootMismatch
    {{- end }}
    {{- with .Values.supplementalGroups }}
    # The groups that own the GPU device nodes (AMD: /dev/kfd and /dev/dri).
    supplementalGroups:
      {{- toYaml . | nindent 6 }}
    {{- end }}
    seccompProfile:
      type: RuntimeDefault
  {{- with .Values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.topologySpreadConstraints }}
  topologySpreadConstraints:
    {{- range . }}
    - topologyKey: {{ .topologyKey | quote }}
      maxSkew: {{ .maxSkew }}
      whenUnsatisfiable: {{ .whenUnsatisfiable | quote }}
      labelSelector:
        matchLabels:
          {{- include "catalog-gen.workerSelectorLabels" $ | nindent 10 }}
    {{- end }}
  {{- end }}
  {{- with .Values.runtimeClassName }}
  runtimeClassName: {{ . | quote }}
  {{- end }}
  {{- with .Values.priorityClassName }}
  priorityClassName: {{ . | quote }}
  {{- end }}
  {{- with .Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  initContainers:
    {{- if eq .Values.cache.mode "shared" }}
    # Shared cache: only the loader Job writes; wait for its models, with a deadline.
    - name: wait-models
      command: ["bash", "/etc/catalog-gen/wait-models.sh"]
    {{- else }}
    # Pull (or verify) every model before Ollama serves: blocking, logged, with deadlines.
    - name: pull-models
      command: ["bash", "/etc/catalog-gen/pull-models.sh"]
    {{- end }}
      image: {{ include "catalog-gen.ollamaImage" . }}
      imagePullPolicy: {{ .Values.image.pullPolicy | quote }}
      env:
        {{- include "catalog-gen.pullEnv" . | nindent 8 }}
      resources:
        {{- toYaml .Values.pull.resources | nindent 8 }}
      securityContext:
        {{- include "catalog-gen.containerSecurity" . | nindent 8 }}
      volumeMounts:
        - name: models
          mountPath: /models
        - name: config
          mountPath: /etc/catalog-gen
          readOnly: true
        - name: home
          mountPath: /home/ollama
        - name: tmp
          mountPath: /tmp
        {{- if and .Values.pull.registryKeySecret (ne .Values.cache.mode "shared") }}
        # The Ollama key the pull signs registry token requests with (docs/registry.md).
        - name: registry-key
          mountPath: /home/ollama/.ollama/id_ed25519
          subPath: {{ .Values.pull.registryKeySecret.key | quote }}
          readOnly: true
        {{- end }}
  containers:
    {{- range $i, $_ := until (int .Values.ollama.processes) }}
    - name: {{ printf "ollama-%d" $i }}
      image: {{ include "catalog-gen.ollamaImage" $ }}
      imagePullPolicy: {{ $.Values.image.pullPolicy | quote }}
      command: ["ollama", "serve"]
      env:
        - name: OLLAMA_HOST
          value: {{ printf "%s:%d" (ternary "127.0.0.1" "0.0.0.0" $router) (add $.Values.ollama.basePort $i) | quote }}
        - name: OLLAMA_MODELS
          value: /models
        - name: HOME
          value: /home/ollama
        - name: OLLAMA_NUM_PARALLEL
          value: {{ $.Values.ollama.numParallel | quote }}
        - name: OLLAMA_CONTEXT_LENGTH
          value: {{ $.Values.ollama.contextLength | quote }}
        - name: OLLAMA_KEEP_ALIVE
          value: {{ $.Values.ollama.keepAlive | quote }}
        - name: OLLAMA_FLASH_ATTENTION
          value: {{ ternary "1" "0" $.Values.ollama.flashAttention | quote }}
        - name: OLLAMA_MAX_LOADED_MODELS
          value: {{ $.Values.ollama.maxLoadedModels | quote }}
        # No egress to ollama.com: cloud models would be proxied there with the pod's key.
        - name: OLLAMA_NO_CLOUD
          value: "1"
        {{- if eq $.Values.cache.mode "shared" }}
        - name: OLLAMA_NOPRUNE
          value: "1"
        {{- end }}
        - name: PRESTOP_DELAY_SECONDS
          value: {{ $.Values.preStopDelaySeconds | quote }}
        - name: DRAIN_DEADLINE_SECONDS
          value: {{ $.Values.router.config.shutdownGraceSeconds | quote }}
        {{- if $router }}
        - name: ROUTER_PORT
          value: {{ $.Values.router.port | quote }}
        {{- end }}
        {{- if $.Values.hideGpus }}
        # No GPU requested: the image's NVIDIA_VISIBLE_DEVICES=all would expose every GPU of the node.
        - name: NVIDIA_VISIBLE_DEVICES
          value: void
        {{- end }}
        {{- range $name, $value := $.Values.ollama.extraEnv }}
        - name: {{ $name | quote }}
          value: {{ $value | quote }}
        {{- end }}
      {{- if not $router }}
      ports:
        - name: http
          containerPort: {{ $.Values.ollama.basePort }}
          protocol: TCP
      {{- end }}
      # Ollama drops every connection at once on SIGTERM: it waits until nothing is left to drain.
      lifecycle:
        preStop:
          exec:
            command: ["bash", "/etc/catalog-gen/drain-wait.sh", {{ add $.Values.ollama.basePort $i | toString | quote }}]
      # Startup: the server answers (budget from the models' size); liveness: the server
      # process answers, never a model; readiness belongs to the router when it is on.
      startupProbe:
        exec:
          command: ["bash", "/etc/catalog-gen/alive.sh"]
        periodSeconds: {{ $.Values.probes.startup.periodSeconds }}
        timeoutSeconds: {{ $.Values.probes.startup.timeoutSeconds }}
        failureThreshold: {{ $.Values.probes.startup.failureThreshold }}
      livenessProbe:
        exec:
          command: ["bash", "/etc/catalog-gen/alive.sh"]
        periodSeconds: {{ $.Values.probes.liveness.periodSeconds }}
        timeoutSeconds: {{ $.Values.probes.liveness.timeoutSeconds }}
        failureThreshold: {{ $.Values.probes.liveness.failureThreshold }}
      readinessProbe:
        exec:
          {{- if $router }}
          # The router's /readyz owns model readiness; this container is ready when it answers.
          command: ["bash", "/etc/catalog-gen/alive.sh"]
          {{- else }}
          command: ["bash", "/etc/catalog-gen/ready.sh"]
          {{- end }}
        periodSeconds: {{ $.Values.probes.readiness.periodSeconds }}
        timeoutSeconds: {{ $.Values.probes.readiness.timeoutSeconds }}
        failureThreshold: {{ $.Values.probes.readiness.failureThreshold }}
      resources:
        {{- toYaml $.Values.ollama.resources | nindent 8 }}
      securityContext:
        {{- include "catalog-gen.containerSecurity" $ | nindent 8 }}
      volumeMounts:
        - name: models
          mountPath: /models
        - name: config
          mountPath: /etc/catalog-gen
          readOnly: true
        - name: home
          mountPath: /home/ollama
          subPath: {{ printf "ollama-%d" $i | quote }}
        - name: tmp
          mountPath: /tmp
          subPath: {{ printf "ollama-%d" $i | quote }}
    {{- end }}
    {{- if $router }}
    - name: router
      image: {{ include "catalog-gen.routerImage" . }}
      imagePullPolicy: {{ .Values.router.image.pullPolicy | quote }}
      args: ["router", "--config", "/etc/catalog-gen/router.json"]
      env:
        - name: NVIDIA_VISIBLE_DEVICES
          value: void
      # Gateways and Services stop sending new requests before the router starts to drain.
      lifecycle:
        preStop:
          sleep:
            seconds: {{ .Values.preStopDelaySeconds }}
      ports:
        - name: http
          containerPort: {{ .Values.router.port }}
          protocol: TCP
      startupProbe:
        httpGet:
          path: /livez
          port: http
        periodSeconds: 2
        failureThreshold: 15
      livenessProbe:
        httpGet:
          path: /livez
          port: http
        periodSeconds: {{ .Values.probes.liveness.periodSeconds }}
        timeoutSeconds: {{ .Values.probes.liveness.timeoutSeconds }}
        failureThreshold: {{ .Values.probes.liveness.failureThreshold }}
      # Ready only when every required model is on disk, matches its pin and answers.
      readinessProbe:
        httpGet:
          path: /readyz
          port: http
        periodSeconds: {{ .Values.probes.readiness.periodSeconds }}
        timeoutSeconds: {{ .Values.probes.readiness.timeoutSeconds }}
        failureThreshold: {{ .Values.probes.readiness.failureThreshold }}
      resources:
        {{- toYaml .Values.router.resources | nindent 8 }}
      securityContext:
        {{- include "catalog-gen.routerSecurity" . | nindent 8 }}
      volumeMounts:
        - name: config
          mountPath: /etc/catalog-gen
          readOnly: true
        - name: tmp
          mountPath: /tmp
          subPath: router
        {{- with .Values.router.apiKeySecret }}
        - name: api-keys
          mountPath: /etc/catalog-gen-keys
          readOnly: true
        {{- end }}
    {{- end }}
  volumes:
    - name: config
      configMap:
        name: {{ printf "%s-config" $fullname }}
    - name: home
      emptyDir: {}
    - name: tmp
      emptyDir: {}
    {{- if and .Values.pull.registryKeySecret (ne .Values.cache.mode "shared") }}
    - name: registry-key
      secret:
        secretName: {{ .Values.pull.registryKeySecret.name | quote }}
        defaultMode: 0440
    {{- end }}
    {{- if ne .Values.workload.kind "StatefulSet" }}
    - name: models
      {{- if eq .Values.cache.mode "emptyDir" }}
      emptyDir:
        sizeLimit: {{ .Values.cache.size | quote }}
      {{- else }}
      persistentVolumeClaim:
        claimName: {{ include "catalog-gen.claimName" . }}
      {{- end }}
    {{- end }}
    {{- with .Values.router.apiKeySecret }}
    {{- if $router }}
    - name: api-keys
      secret:
        secretName: {{ .name | quote }}
        items:
          - key: {{ .key | quote }}
            path: api-keys
    {{- end }}
    {{- end }}
{{- end -}}
