{{/*
NetworkPolicy of one service (docs/deployment.md "NetworkPolicy"): on by default
(`networkPolicy.enabled`), it admits only what the service needs.
Ingress: metrics scrapes (`metricsFrom` peers, any when empty), and, with `ingressFromAnywhere`,
every client on `ingressPorts` (all ports when empty: push sources listen on the ports their
EventSources name; admission: the API server calling the webhook).
Egress: DNS; Kafka on the ports of the brokers value plus `kafkaPorts` (to `kafkaTo` peers, any
address when empty: brokers usually sit outside the cluster's pod network); the Kubernetes API
server (`apiServer`, on `apiServerPorts`, to `apiServerTo`); the OTLP collector (`otlpPorts`,
to `otlpTo`); `egressPorts` to any address (provider APIs); everything with `egressToAnywhere`
(the trigger, whose targets are wherever Sensors point). `extraIngress`/`extraEgress`: more rules.
*/}}
{{- define "ganglion.networkPolicy" -}}
{{- $np := .Values.networkPolicy | default dict -}}
{{- if $np.enabled -}}
{{- $kafkaPorts := list -}}
{{- if ne .Values.needsKafka false -}}
{{- range splitList "," (include "ganglion.kafkaBrokers" .) -}}
{{- $parts := splitList ":" (trim .) -}}
{{- if gt (len $parts) 1 -}}
{{- $kafkaPorts = append $kafkaPorts (last $parts | int) -}}
{{- end -}}
{{- end -}}
{{- $kafkaPorts = concat $kafkaPorts ($np.kafkaPorts | default list) | uniq -}}
{{- end -}}
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {{ include "ganglion.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "ganglion.labels" . | nindent 4 }}
spec:
  podSelector:
    matchLabels:
      {{- include "ganglion.selectorLabels" . | nindent 6 }}
  policyTypes: [Ingress, Egress]
  ingress:
    - ports:
        - port: {{ .Values.metrics.port }}
          protocol: TCP
      {{- with $np.metricsFrom }}
      from:
        {{- toYaml . | nindent 8 }}
      {{- end }}
    {{- if $np.ingressFromAnywhere }}
    {{- if $np.ingressPorts }}
    - ports:
        {{- range $np.ingressPorts }}
        - port: {{ . }}
          protocol: TCP
        {{- end }}
    {{- else }}
    - {}
    {{- end }}
    {{- end }}
    {{- with $np.extraIngress }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  egress:
    {{- if $np.egressToAnywhere }}
    - {}
    {{- else }}
    - ports:
        - port: 53
          protocol: UDP
        - port: 53
          protocol: TCP
    {{- with $kafkaPorts }}
    - ports:
        {{- range . }}
        - port: {{ . }}
          protocol: TCP
        {{- end }}
      {{- with $np.kafkaTo }}
      to:
        {{- toYaml . | nindent 8 }}
      {{- end }}
    {{- end }}
    {{- if $np.apiServer }}
    - ports:
        {{- range ($np.apiServerPorts | default (list 443 6443)) }}
        - port: {{ . }}
          protocol: TCP
        {{- end }}
      {{- with $np.apiServerTo }}
      to:
        {{- toYaml . | nindent 8 }}
      {{- end }}
    {{- end }}
    {{- with $np.otlpPorts }}
    - ports:
        {{- range . }}
        - port: {{ . }}
          protocol: TCP
        {{- end }}
      {{- with $np.otlpTo }}
      to:
        {{- toYaml . | nindent 8 }}
      {{- end }}
    {{- end }}
    {{- with $np.egressPorts }}
    - ports:
        {{- range . }}
        - port: {{ . }}
          protocol: TCP
        {{- end }}
    {{- end }}
    {{- end }}
    {{- with $np.extraEgress }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
{{- end -}}
{{- end -}}
