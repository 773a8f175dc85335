{{/* Prometheus Operator ServiceMonitor, labelled for the platform's kube-prometheus. */}}
{{- define "ganglion.serviceMonitor" -}}
{{- if .Values.metrics.serviceMonitor.enabled -}}
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
