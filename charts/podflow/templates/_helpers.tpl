{{/* The chart name (nameOverride). */}}
{{- define "podflow.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The prefix of every object name. */}}
{{- define "podflow.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Cluster-scoped objects are named after the release and its namespace (two releases in two
namespaces must not collide). */}}
{{- define "podflow.clusterName" -}}
{{- printf "%s-%s" (include "podflow.fullname" .) .Release.Namespace | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "podflow.selectorLabels" -}}
app.kubernetes.io/name: {{ include "podflow.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end -}}

{{- define "podflow.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "podflow.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: podflow
{{- end -}}

{{- define "podflow.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "podflow.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* repository:tag, or repository@digest */}}
{{- define "podflow.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag | toString) -}}
{{- end -}}
{{- end -}}

{{- define "podflow.leaderElect" -}}
{{- if or .Values.leaderElection.enabled (gt (int .Values.replicas) 1) -}}true{{- end -}}
{{- end -}}

{{- define "podflow.leaseName" -}}
{{- default (include "podflow.fullname" .) .Values.leaderElection.id -}}
{{- end -}}

{{/* The tasks' S3 credentials Secret: the existing one, the one the chart creates, or none. */}}
{{- define "podflow.createS3Secret" -}}
{{- if and (not .Values.s3.credentials.existingSecret) .Values.s3.credentials.accessKeyId -}}true{{- end -}}
{{- end -}}

{{- define "podflow.s3SecretName" -}}
{{- if .Values.s3.credentials.existingSecret -}}
{{- .Values.s3.credentials.existingSecret -}}
{{- else if .Values.s3.credentials.accessKeyId -}}
{{- default (printf "%s-s3" (include "podflow.fullname" .)) .Values.s3.credentials.secretName -}}
{{- end -}}
{{- end -}}

{{- define "podflow.datastore" -}}
{{- $bucket := required "s3.bucket is required (the datastore is s3://<bucket>/<prefix>)" .Values.s3.bucket -}}
{{- $prefix := trimAll "/" (.Values.s3.prefix | default "") -}}
{{- if $prefix -}}s3://{{ $bucket }}/{{ $prefix }}{{- else -}}s3://{{ $bucket }}{{- end -}}
{{- end -}}

{{/* The rules of docs/operations.md ("What it needs from the cluster"), leases apart. */}}
{{- define "podflow.rules" -}}
- apiGroups: [podflow.dev]
  resources: [flows, flowruns]
  verbs: [get, list, watch]
- apiGroups: [podflow.dev]
  resources: [flows/status, flowruns/status, tasks/status]
  verbs: [update, patch]
- apiGroups: [podflow.dev]
  resources: [flowruns/finalizers, tasks/finalizers]
  verbs: [update]
- apiGroups: [podflow.dev]
  resources: [tasks]
  verbs: [get, list, watch, create, delete]
- apiGroups: [""]
  resources: [pods]
  verbs: [get, list, watch, create, delete]
- apiGroups: ["", events.k8s.io]
  resources: [events]
  verbs: [create, patch, update]
{{- end -}}
