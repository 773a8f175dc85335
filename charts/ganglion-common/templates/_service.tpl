{{/* ClusterIP Service exposing metrics (for the ServiceMonitor) and any extra ports. */}}
{{- define "ganglion.service" -}}
apiVersion: v1
kind: Service
metadata:
  name: {{ include "ganglion.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "ganglion.labels" . | nindent 4 }}
spec:
  type: ClusterIP
  selector:
    {{- include "ganglion.selectorLabels" . | nindent 4 }}
  ports:
    - name: metrics
      port: {{ .Values.metrics.port }}
      targetPort: metrics
    {{- range .Values.extraPorts }}
    - name: {{ .name }}
      port: {{ .port }}
      targetPort: {{ .name }}
    {{- end }}
{{- end -}}
