{{/* The chart's name, shortened to fit a DNS label. */}}
{{- define "push-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The prefix of every object's name. A release called "push-operator" gives the same names
as `kustomize build config/default`, which the install tests rely on to compare the two.
*/}}
{{- define "push-operator.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "push-operator.serviceAccountName" -}}
{{- printf "%s-controller-manager" (include "push-operator.fullname" .) }}
{{- end }}

{{/* Labels on every object. */}}
{{- define "push-operator.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "push-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Labels that select the manager's pods; never change them in an upgrade. */}}
{{- define "push-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "push-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "push-operator.managerSelectorLabels" -}}
{{ include "push-operator.selectorLabels" . }}
app.kubernetes.io/component: manager
{{- end }}

{{/* repository:tag or repository@digest; tag defaults to the chart's appVersion. */}}
{{- define "push-operator.image" -}}
{{- if .digest }}
{{- printf "%s@%s" .repository .digest }}
{{- else }}
{{- printf "%s:%s" .repository (.tag | default .appVersion) }}
{{- end }}
{{- end }}
