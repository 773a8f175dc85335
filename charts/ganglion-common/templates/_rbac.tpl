{{/*
Least-privilege RBAC for one service (deploy/rbac/ holds the same grants as plain manifests):
`rbac.rules` are granted in the release namespace (Role), or cluster-wide (ClusterRole) when
`rbac.clusterWide` is true; `rbac.namespacedRules` always stay a Role in the release namespace
(e.g. the reconciler's Lease).
*/}}
{{- define "ganglion.rbac" -}}
{{- if and .Values.rbac .Values.rbac.create -}}
{{- $name := include "ganglion.fullname" . -}}
{{- $kind := ternary "ClusterRole" "Role" (.Values.rbac.clusterWide | default false) -}}
{{- with .Values.rbac.rules }}
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
