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
{{- else if or .Values.s3.credentials.accessKeyId .Values.s3.credentials.perNamespace -}}
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
  # operate: the admission policy lets only holders of this verb create Tasks
  verbs: [get, list, watch, create, delete, operate]
- apiGroups: [""]
  resources: [pods]
  verbs: [get, list, watch, create, delete]
- apiGroups: ["", events.k8s.io]
  resources: [events]
  verbs: [create, patch, update]
- apiGroups: [authorization.k8s.io]
  resources: [localsubjectaccessreviews]
  verbs: [create]
{{- end -}}

{{/* The namespaces the admission policies bind to: watchNamespaces, or all. */}}
{{- define "podflow.policyNamespaces" -}}
{{- if .Values.watchNamespaces }}
matchResources:
  namespaceSelector:
    matchExpressions:
      - key: kubernetes.io/metadata.name
        operator: In
        values: {{ toJson .Values.watchNamespaces }}
{{- end }}
{{- end -}}

{{/* The settings a flow's pods get, as CEL variables: secretNames, serviceAccounts (distinct
names, from spec.defaults, the steps and the run's overrides) and placement (a nodeSelector,
tolerations or a priorityClassName anywhere: where pods go, and whom they may preempt). dict: root (a Flow spec), overrides (a StepSettings object, or ""). */}}
{{- define "podflow.settingsVariables" -}}
{{- $r := .root -}}
{{- $o := .overrides -}}
- name: hasSpec
  expression: has({{ $r }})
- name: secretNames
  expression: >-
    ((variables.hasSpec && has({{ $r }}.defaults) && has({{ $r }}.defaults.secrets) ? {{ $r }}.defaults.secrets : [])
    + (variables.hasSpec && has({{ $r }}.steps) ? {{ $r }}.steps.filter(st, has(st.secrets)).map(st, st.secrets).flatten() : [])
    {{- if $o }}
    + (has({{ $o }}) && has({{ $o }}.secrets) ? {{ $o }}.secrets : [])
    {{- end }}).distinct()
- name: serviceAccounts
  expression: >-
    ((variables.hasSpec && has({{ $r }}.defaults) && has({{ $r }}.defaults.serviceAccount) ? [{{ $r }}.defaults.serviceAccount] : [])
    + (variables.hasSpec && has({{ $r }}.steps) ? {{ $r }}.steps.filter(st, has(st.serviceAccount)).map(st, st.serviceAccount) : [])
    {{- if $o }}
    + (has({{ $o }}) && has({{ $o }}.serviceAccount) ? [{{ $o }}.serviceAccount] : [])
    {{- end }}).distinct()
- name: placement
  expression: >-
    (variables.hasSpec && has({{ $r }}.defaults) && ((has({{ $r }}.defaults.nodeSelector) && size({{ $r }}.defaults.nodeSelector) > 0) || (has({{ $r }}.defaults.tolerations) && size({{ $r }}.defaults.tolerations) > 0) || has({{ $r }}.defaults.priorityClassName)))
    || (variables.hasSpec && has({{ $r }}.steps) && {{ $r }}.steps.exists(st, (has(st.nodeSelector) && size(st.nodeSelector) > 0) || (has(st.tolerations) && size(st.tolerations) > 0) || has(st.priorityClassName)))
    {{- if $o }}
    || (has({{ $o }}) && ((has({{ $o }}.nodeSelector) && size({{ $o }}.nodeSelector) > 0) || (has({{ $o }}.tolerations) && size({{ $o }}.tolerations) > 0) || has({{ $o }}.priorityClassName)))
    {{- end }}
{{- end -}}

{{/* The checks of those variables as the requesting user. dict: what (for messages), placement
(bool: check it), placementRole (the ClusterRole that grants it), guard (a CEL condition under
which nothing is checked).
An authorizer check costs so much CEL budget that one expression affords two, and a policy about
thirty: so one expression per name, for the first admissionSecrets Secrets and
admissionServiceAccounts ServiceAccounts (distinct); a flow naming more is checked in full by the
operator when a run starts (docs/operations.md, "Security model"). A messageExpression cannot
call the authorizer, but it can name the one name its expression checked. */}}
{{- define "podflow.settingsValidations" -}}
{{- $guard := .guard -}}
{{- $what := .what -}}
{{- range $i := until (int .secrets) }}
- expression: >-
    {{ $guard }} || size(variables.secretNames) <= {{ $i }} ||
    authorizer.group('').resource('secrets').namespace(request.namespace).name(variables.secretNames[{{ $i }}]).check('get').allowed()
  reason: Forbidden
  messageExpression: >-
    'a step of {{ $what }} reads Secret ' + variables.secretNames[{{ $i }}] + ', which ' +
    request.userInfo.username + ' may not get in namespace ' + request.namespace + '; ask for
    `get` on it (a Role with resourceNames) or remove it from the flow'
{{- end }}
{{- range $i := until (int .serviceAccounts) }}
- expression: >-
    {{ $guard }} || size(variables.serviceAccounts) <= {{ $i }} ||
    authorizer.group('').resource('serviceaccounts').namespace(request.namespace).name(variables.serviceAccounts[{{ $i }}]).check('impersonate').allowed()
  reason: Forbidden
  messageExpression: >-
    'a step of {{ $what }} runs as ServiceAccount ' + variables.serviceAccounts[{{ $i }}] + ', which '
    + request.userInfo.username + ' may not impersonate in namespace ' + request.namespace + ';
    ask for `impersonate` on it (ClusterRole edit has it for the whole namespace) or remove
    serviceAccount from the flow'
{{- end }}
{{- if .placement }}
- expression: >-
    {{ $guard }} || !variables.placement ||
    authorizer.group('podflow.dev').resource('nodeplacements').namespace(request.namespace).check('use').allowed()
  reason: Forbidden
  messageExpression: >-
    'steps of {{ $what }} set a nodeSelector, tolerations or a priorityClassName, but ' + request.userInfo.username + '
    may not place pods in namespace ' + request.namespace + ' (it needs `use` on
    nodeplacements.podflow.dev); ask an admin for a RoleBinding to the ClusterRole
    {{ .placementRole }}, or remove nodeSelector, tolerations and priorityClassName from the flow'
{{- end }}
{{- end -}}

{{- /* The operator's IRSA role: s3.credentials.keyless.operatorRoleArn, else .roleArn. */}}
{{- define "podflow.operatorRoleArn" -}}
{{- $keyless := .Values.s3.credentials.keyless | default dict -}}
{{- default $keyless.roleArn $keyless.operatorRoleArn -}}
{{- end -}}

{{- define "podflow.taskServiceAccountName" -}}
{{- default (printf "%s-task" (include "podflow.fullname" .)) .Values.s3.credentials.keyless.taskServiceAccount.name -}}
{{- end -}}
