{{/* Name of the service: the chart name unless nameOverride is set. */}}
{{- define "ganglion.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Fully qualified name: <release>-<service>, or the service alone when the release already carries it. */}}
{{- define "ganglion.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := include "ganglion.name" . -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "ganglion.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ganglion.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "ganglion.labels" -}}
{{ include "ganglion.selectorLabels" . }}
app.kubernetes.io/part-of: ganglion
app.kubernetes.io/component: {{ .Values.component | default "data-plane" }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "ganglion.serviceAccountName" -}}
{{- default (include "ganglion.fullname" .) .Values.serviceAccount.name -}}
{{- end -}}

{{/* A value from the umbrella chart's `global` block, falling back to the chart's own. */}}
{{- define "ganglion.kafkaBrokers" -}}
{{- $g := .Values.global | default dict -}}
{{- required "kafka.brokers (or global.kafka.brokers) must be set to the Kafka bootstrap servers" (or (($g.kafka | default dict).brokers) .Values.kafka.brokers) -}}
{{- end -}}

{{/*
The Kafka settings of a service: the chart's own `kafka` block with the umbrella chart's
`global.kafka` over it (tls, sasl, topics; see docs/deployment.md, "Production Kafka").
*/}}
{{- define "ganglion.kafka" -}}
{{- $g := (.Values.global | default dict).kafka | default dict -}}
{{- toYaml (mergeOverwrite (deepCopy (.Values.kafka | default dict)) (deepCopy $g)) -}}
{{- end -}}

{{- define "ganglion.image" -}}
{{- $g := .Values.global | default dict -}}
{{- $registry := or (($g.image | default dict).registry) .Values.image.registry -}}
{{- $tag := or (($g.image | default dict).tag) .Values.image.tag .Chart.AppVersion -}}
{{- printf "%s/%s:%s" $registry .Values.image.repository $tag -}}
{{- end -}}

{{/* Image pull policy: `global.image.pullPolicy` (umbrella chart) or the chart's own. */}}
{{- define "ganglion.imagePullPolicy" -}}
{{- $g := .Values.global | default dict -}}
{{- or (($g.image | default dict).pullPolicy) .Values.image.pullPolicy -}}
{{- end -}}

{{/*
"true" when the chart's HPA is on: `autoscaling.enabled`, unless the umbrella chart's
`global.autoscaling.enabled` is false (a cluster without a metrics API).
*/}}
{{- define "ganglion.autoscaling" -}}
{{- $g := .Values.global | default dict -}}
{{- if and .Values.autoscaling .Values.autoscaling.enabled (ne (($g.autoscaling | default dict).enabled) false) -}}true{{- end -}}
{{- end -}}
