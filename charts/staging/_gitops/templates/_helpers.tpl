{{/*
Labels of every GitOps object.
Usage: {{- include "gitops.labels" . | nindent 4 }}
*/}}
{{- define "gitops.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service | quote }}
app.kubernetes.io/part-of: catalog-gen
catalog-gen.io/environment: {{ .Values.environment | quote }}
{{- end -}}

{{/*
Argo CD sync policy: automated (prune, self-heal) as the catalog says, namespaces created,
pruning last, retries with backoff (a failed PostSync smoke Job fails the sync and is retried).
Usage: syncPolicy: {{- include "gitops.syncPolicy" .sync | nindent 6 }}
*/}}
{{- define "gitops.syncPolicy" -}}
{{- if .automated -}}
automated:
  prune: {{ .prune }}
  selfHeal: {{ .selfHeal }}
{{ end -}}
syncOptions:
  - CreateNamespace=true
  - PruneLast=true
retry:
  limit: 5
  backoff:
    duration: 10s
    factor: 2
    maxDuration: 5m
{{- end -}}
