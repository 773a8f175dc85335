{{/*
Deployment of one Ganglion service. Rolling updates add one pod before removing one
(maxSurge 1, maxUnavailable 0); pods run as non-root with a read-only root filesystem.
*/}}
{{- define "ganglion.deployment" -}}
{{- $kafka := include "ganglion.kafka" . | fromYaml -}}
{{- $tls := $kafka.tls | default dict -}}
{{- $sasl := $kafka.sasl | default dict -}}
{{- $topics := $kafka.topics | default dict -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "ganglion.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "ganglion.labels" . | nindent 4 }}
spec:
  {{- if not (include "ganglion.autoscaling" .) }}
  replicas: {{ .Values.replicaCount }}
  {{- end }}
  revisionHistoryLimit: 5
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxSurge: {{ .Values.rollingUpdate.maxSurge }}
      maxUnavailable: {{ .Values.rollingUpdate.maxUnavailable }}
  selector:
    matchLabels:
      {{- include "ganglion.selectorLabels" . | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "ganglion.labels" . | nindent 8 }}
      {{- with .Values.podAnnotations }}
      annotations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
    spec:
      serviceAccountName: {{ include "ganglion.serviceAccountName" . }}
      automountServiceAccountToken: {{ .Values.serviceAccount.automountToken }}
      {{- with .Values.priorityClassName }}
      priorityClassName: {{ . }}
      {{- end }}
      terminationGracePeriodSeconds: {{ .Values.terminationGracePeriodSeconds }}
      securityContext:
        runAsNonRoot: true
        runAsUser: 10001
        fsGroup: 10001
        seccompProfile:
          type: RuntimeDefault
      containers:
        - name: {{ include "ganglion.name" . }}
          image: {{ include "ganglion.image" . }}
          imagePullPolicy: {{ include "ganglion.imagePullPolicy" . }}
          args: [{{ .Values.service | quote }}]
          env:
            {{- if ne .Values.needsKafka false }}
            - name: KAFKA_BROKERS
              value: {{ include "ganglion.kafkaBrokers" . | quote }}
            {{- /* Topics are durable by default in a cluster: 3 replicas, min.insync.replicas 2. */}}
            - name: GANGLION_TOPIC_REPLICATION
              value: {{ $topics.replicationFactor | default 3 | quote }}
            - name: GANGLION_TOPIC_MIN_INSYNC_REPLICAS
              value: {{ $topics.minInsyncReplicas | default 2 | quote }}
            {{- if $tls.enabled }}
            - name: KAFKA_TLS
              value: "true"
            {{- with $tls.caKey }}
            - name: KAFKA_TLS_CA_FILE
              value: /etc/ganglion/kafka-tls/{{ . }}
            {{- end }}
            {{- if $tls.certKey }}
            - name: KAFKA_TLS_CERT_FILE
              value: /etc/ganglion/kafka-tls/{{ $tls.certKey }}
            - name: KAFKA_TLS_KEY_FILE
              value: /etc/ganglion/kafka-tls/{{ required "kafka.tls.keyKey must be set with kafka.tls.certKey" $tls.keyKey }}
            {{- end }}
            {{- with $tls.serverName }}
            - name: KAFKA_TLS_SERVER_NAME
              value: {{ . | quote }}
            {{- end }}
            {{- if $tls.insecureSkipVerify }}
            - name: KAFKA_TLS_INSECURE_SKIP_VERIFY
              value: "true"
            {{- end }}
            {{- end }}
            {{- if $sasl.mechanism }}
            - name: KAFKA_SASL_MECHANISM
              value: {{ $sasl.mechanism | quote }}
            - name: KAFKA_SASL_USERNAME
              value: {{ required "kafka.sasl.username must be set with kafka.sasl.mechanism" $sasl.username | quote }}
            - name: KAFKA_SASL_PASSWORD_FILE
              value: /etc/ganglion/kafka-sasl/{{ ($sasl.passwordSecret | default dict).key | default "password" }}
            {{- end }}
            {{- end }}
            - name: GANGLION_INSTANCE_ID
              valueFrom:
                fieldRef:
                  fieldPath: metadata.name
            - name: GANGLION_HEALTH_PORT
              value: "8081"
            - name: GANGLION_METRICS_PORT
              value: {{ .Values.metrics.port | quote }}
            - name: LOG_LEVEL
              value: {{ .Values.logLevel | quote }}
            - name: OTEL_SERVICE_NAME
              value: {{ printf "ganglion-%s" (include "ganglion.name" .) | quote }}
            {{- with (or ((.Values.global | default dict).otlpEndpoint) .Values.otlpEndpoint) }}
            - name: OTEL_EXPORTER_OTLP_ENDPOINT
              value: {{ . | quote }}
            {{- end }}
            - name: POD_NAMESPACE
              valueFrom:
                fieldRef:
                  fieldPath: metadata.namespace
            {{- if and .Values.rbac .Values.rbac.create (not .Values.rbac.clusterWide) }}
            - name: GANGLION_NAMESPACE
              value: {{ .Release.Namespace | quote }}
            {{- end }}
            {{- /* The V8 heap limit under the container's memory limit (values.yaml nodeOptions). */}}
            {{- with .Values.nodeOptions }}
            - name: NODE_OPTIONS
              value: {{ . | quote }}
            {{- end }}
            {{- range $k, $v := .Values.env }}
            - name: {{ $k }}
              value: {{ $v | quote }}
            {{- end }}
          ports:
            - name: health
              containerPort: 8081
            - name: metrics
              containerPort: {{ .Values.metrics.port }}
            {{- range .Values.extraPorts }}
            - name: {{ .name }}
              containerPort: {{ .port }}
            {{- end }}
          # Liveness only counts once the service has started: a slow start (a busy node, a CPU
          # limit) must not end in a restart loop.
          startupProbe:
            httpGet:
              path: /healthz
              port: health
            periodSeconds: 2
            timeoutSeconds: 5
            failureThreshold: 150
          livenessProbe:
            httpGet:
              path: /healthz
              port: health
            periodSeconds: 10
            timeoutSeconds: 5
            failureThreshold: 3
          readinessProbe:
            httpGet:
              path: /readyz
              port: health
            periodSeconds: 5
            timeoutSeconds: 5
          resources:
            {{- required "resources (requests and limits) must be set" .Values.resources | toYaml | nindent 12 }}
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities:
              drop: ["ALL"]
          volumeMounts:
            - name: tmp
              mountPath: /tmp
            {{- if and (ne .Values.needsKafka false) $tls.enabled $tls.secretName }}
            - name: kafka-tls
              mountPath: /etc/ganglion/kafka-tls
              readOnly: true
            {{- end }}
            {{- if and (ne .Values.needsKafka false) $sasl.mechanism }}
            - name: kafka-sasl
              mountPath: /etc/ganglion/kafka-sasl
              readOnly: true
            {{- end }}
            {{- with .Values.extraVolumeMounts }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
      volumes:
        - name: tmp
          emptyDir: {}
        {{- if and (ne .Values.needsKafka false) $tls.enabled $tls.secretName }}
        - name: kafka-tls
          secret:
            secretName: {{ $tls.secretName }}
        {{- end }}
        {{- if and (ne .Values.needsKafka false) $sasl.mechanism }}
        - name: kafka-sasl
          secret:
            secretName: {{ required "kafka.sasl.passwordSecret.name must be set with kafka.sasl.mechanism" ($sasl.passwordSecret | default dict).name }}
        {{- end }}
        {{- with .Values.extraVolumes }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- with .Values.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .Values.affinity }}
      affinity:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .Values.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
{{- end -}}
