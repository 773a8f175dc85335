{{- define "ganglion.serviceAccount" -}}
{{- if .Values.serviceAccount.create -}}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ include "ganglion.serviceAccountName" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "ganglion.labels" . | nindent 4 }}
automountServiceAccountToken: {{ .Values.serviceAccount.automountToken }}
{{- end -}}
{{- end -}}
