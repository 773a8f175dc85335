{{/*
Least-privilege RBAC for one service (deploy/rbac/ holds the same grants as plain manifests):
`rbac.rules` are granted in the release namespace (Role), or cluster-wide (ClusterRole) when
`rbac.clusterWide` is true; `rbac.namespacedRules` always stay a Role in the release namespace
(e.g. the reconciler's Lease). `global.rbac.eventBusSecrets` (or `rbac.eventBusSecrets`) adds
`get` on Secrets to a service that has no such grant: every data-plane service reads the Secrets
an EventBus's own `spec.kafka.tls` / `sasl` names (docs/deployment.md, "Production Kafka").
*/}}
{{- define "ganglion.rbac" -}}
{{- if and .Values.rbac .Values.rbac.create -}}
{{- $name := include "ganglion.fullname" . -}}
{{- $kind := ternary "ClusterRole" "Role" (.Values.rbac.clusterWide | default false) -}}
{{- $rules := .Values.rbac.rules | default list -}}
{{- $global := (.Values.global | default dict).rbac | default dict -}}
{{- if and (or .Values.rbac.eventBusSecrets $global.eventBusSecrets) (not (has "secrets" (include "ganglion.rbacResources" $rules | splitList ","))) -}}
{{- $rules = append $rules (dict "apiGroups" (list "") "resources" (list "secrets") "verbs" (list "get")) -}}
{{- end -}}
{{- with $rules }}
apiVersion: rbac.authorization.k8s.io/v1
kind: {{ $kind }}
metadata:
  name: {{ $name }}
  {{- if eq $kind "Role" }}
  namespace: {{ $.Release.Namespace }}
  {{- end }}
  labels:
    {{- include "ganglion.labels" $ | nindent 4 }}
rules:
  {{- toYaml . | nindent 2 }}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: {{ $kind }}Binding
metadata:
  name: {{ $name }}
  {{- if eq $kind "Role" }}
  namespace: {{ $.Release.Namespace }}
  {{- end }}
  labels:
    {{- include "ganglion.labels" $ | nindent 4 }}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: {{ $kind }}
  name: {{ $name }}
subjects:
  - kind: ServiceAccount
    name: {{ include "ganglion.serviceAccountName" $ }}
    namespace: {{ $.Release.Namespace }}
{{- end }}
{{- with .Values.rbac.namespacedRules }}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: {{ $name }}-local
  namespace: {{ $.Release.Namespace }}
  labels:
    {{- include "ganglion.labels" $ | nindent 4 }}
rules:
  {{- toYaml . | nindent 2 }}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: {{ $name }}-local
  namespace: {{ $.Release.Namespace }}
  labels:
    {{- include "ganglion.labels" $ | nindent 4 }}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: {{ $name }}-local
subjects:
  - kind: ServiceAccount
    name: {{ include "ganglion.serviceAccountName" $ }}
    namespace: {{ $.Release.Namespace }}
{{- end }}
{{- end -}}
{{- end -}}

{{/* The resources a rule list names, comma-separated (for the eventBusSecrets check). */}}
{{- define "ganglion.rbacResources" -}}
{{- $names := list -}}
{{- range . }}{{- range .resources }}{{- $names = append $names . -}}{{- end }}{{- end -}}
{{- join "," $names -}}
{{- end -}}
