{{/* The release's base name: the release name if it says lockwarden, else <release>-lockwarden. */}}
{{- define "lockwarden.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "lockwarden.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ default .Chart.Name .Values.nameOverride }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: lockwarden
{{- end -}}

{{/* Selector labels of one component: (dict "root" $ "component" "operator") */}}
{{- define "lockwarden.selectorLabels" -}}
app.kubernetes.io/name: {{ default .root.Chart.Name .root.Values.nameOverride }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "lockwarden.componentLabels" -}}
{{ include "lockwarden.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "lockwarden.operatorName" -}}{{ include "lockwarden.fullname" . }}-operator{{- end -}}
{{- define "lockwarden.agentName" -}}{{ include "lockwarden.fullname" . }}-agent{{- end -}}

{{/* The agent's service account as the API server names it. */}}
{{- define "lockwarden.agentUser" -}}system:serviceaccount:{{ .Release.Namespace }}:{{ include "lockwarden.agentName" . }}{{- end -}}
{{- define "lockwarden.operatorUser" -}}system:serviceaccount:{{ .Release.Namespace }}:{{ include "lockwarden.operatorName" . }}{{- end -}}

{{/* An image reference: (dict "root" $ "image" .Values.operator.image) */}}
{{- define "lockwarden.image" -}}
{{- $tag := default .root.Chart.AppVersion .root.Values.image.tag -}}
{{- if .root.Values.image.registry -}}
{{- printf "%s/%s:%s" .root.Values.image.registry .image.repository $tag -}}
{{- else -}}
{{- printf "%s:%s" .image.repository $tag -}}
{{- end -}}
{{- end -}}

{{/* A duration (500ms, 10s, 2m; values.schema.json checks the form) in milliseconds. */}}
{{- define "lockwarden.millis" -}}
{{- $d := toString . -}}
{{- if hasSuffix "ms" $d -}}{{- trimSuffix "ms" $d | int64 -}}
{{- else if hasSuffix "s" $d -}}{{- mul (trimSuffix "s" $d | int64) 1000 -}}
{{- else if hasSuffix "m" $d -}}{{- mul (trimSuffix "m" $d | int64) 60000 -}}
{{- else -}}{{- fail (printf "%q is not a duration like 30s, 500ms or 2m" $d) -}}
{{- end -}}
{{- end -}}

{{/* docs/safety.md, TIME-2: a silent node must have stopped writing before the operator declares it dead. */}}
{{- define "lockwarden.checkTimeouts" -}}
{{- $dead := add (include "lockwarden.millis" .Values.operator.nodeTimeout | int64) (include "lockwarden.millis" .Values.operator.grace | int64) -}}
{{- $stopped := add (include "lockwarden.millis" .Values.agent.fenceTimeout | int64) 1000 -}}
{{- if ge (include "lockwarden.millis" .Values.agent.renewInterval | int64) (include "lockwarden.millis" .Values.agent.fenceTimeout | int64) -}}
{{- fail "agent.renewInterval must be shorter than agent.fenceTimeout: every renewal must land before the last one's deadline" -}}
{{- end -}}
{{- if ne (toString .Values.agent.runAsUid | empty) (toString .Values.agent.runAsGid | empty) -}}
{{- fail "agent.runAsUid and agent.runAsGid go together: set both or neither" -}}
{{- end -}}
{{- if lt $dead $stopped -}}
{{- fail (printf "operator.nodeTimeout + operator.grace (%dms) must be at least agent.fenceTimeout + 1s (%dms): otherwise a node cut off from the API server could still write when its disks are granted elsewhere (docs/safety.md, TIME-2)" $dead $stopped) -}}
{{- end -}}
{{- end -}}

{{/* CEL variables naming the writer, for the admission policies: (dict agentUser operatorUsers group prefix) */}}
{{- define "lockwarden.identityVariables" -}}
- name: isAgent
  expression: >-
    request.userInfo.username == '{{ .agentUser }}' ||
    (has(request.userInfo.groups) && '{{ .group }}' in request.userInfo.groups)
- name: isOperator
  expression: request.userInfo.username in [{{ range $i, $u := .operatorUsers }}{{ if $i }}, {{ end }}'{{ $u }}'{{ end }}]
# The agent's node: the service account's token claim (set by the API server for a token bound to a pod), or the
# name of a certificate identity in the agents' group. Anything else: no node, and every write is refused.
- name: node
  expression: >-
    request.userInfo.username == '{{ .agentUser }}'
    ? (has(request.userInfo.extra) && 'authentication.kubernetes.io/node-name' in request.userInfo.extra
       && size(request.userInfo.extra['authentication.kubernetes.io/node-name']) == 1
       ? request.userInfo.extra['authentication.kubernetes.io/node-name'][0] : '')
    : (request.userInfo.username.startsWith('{{ .prefix }}') && size(request.userInfo.username) > size('{{ .prefix }}')
       ? request.userInfo.username.substring(size('{{ .prefix }}')) : '')
{{- end -}}
