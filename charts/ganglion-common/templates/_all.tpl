{{/* Everything a service chart renders, separated as YAML documents. */}}
{{- define "ganglion.all" -}}
{{ include "ganglion.serviceAccount" . }}
---
{{ include "ganglion.rbac" . }}
---
{{ include "ganglion.deployment" . }}
---
{{ include "ganglion.service" . }}
---
{{ include "ganglion.serviceMonitor" . }}
---
{{ include "ganglion.pdb" . }}
---
{{ include "ganglion.hpa" . }}
---
{{ include "ganglion.networkPolicy" . }}
{{- end -}}
