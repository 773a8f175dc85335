{{- define "ganglion.pdb" -}}
{{- if gt (int .Values.replicaCount) 1 -}}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "ganglion.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "ganglion.labels" . | nindent 4 }}
spec:
  maxUnavailable: 1
  selector:
    matchLabels:
      {{- include "ganglion.selectorLabels" . | nindent 6 }}
{{- end -}}
{{- end -}}
