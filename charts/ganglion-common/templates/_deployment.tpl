{{/*
Deployment of one Ganglion service. Rolling updates add one pod before removing one
(maxSurge 1, maxUnavailable 0); pods run as non-root with a read-only root filesystem.
*/}}
{{- define "ganglion.deployment" -}}
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
            {{- with .Values.extraVolumeMounts }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
      volumes:
        - name: tmp
          emptyDir: {}
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
