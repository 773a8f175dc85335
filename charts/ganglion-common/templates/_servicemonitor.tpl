{{/*
Prometheus Operator ServiceMonitor, labelled for the platform's kube-prometheus. Needs the
ServiceMonitor CRD: `metrics.serviceMonitor.enabled=false` (or `global.serviceMonitor.enabled=false`
in the umbrella chart) leaves it out on a cluster without the Prometheus Operator.
*/}}
{{- define "ganglion.serviceMonitor" -}}
{{- $g := .Values.global | default dict -}}
{{- if and .Values.metrics.serviceMonitor.enabled (ne (($g.serviceMonitor | default dict).enabled) false) -}}
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata:
  name: {{ include "ganglion.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "ganglion.labels" . | nindent 4 }}
    {{- toYaml .Values.metrics.serviceMonitor.labels | nindent 4 }}
spec:
  selector:
    matchLabels:
      {{- include "ganglion.selectorLabels" . | nindent 6 }}
  endpoints:
    - port: metrics
      path: /metrics
      interval: {{ .Values.metrics.serviceMonitor.interval }}
{{- end -}}
{{- end -}}
