{{/*
A model's declared start time (startup.expectedSeconds: pod start to serving) and what
follows from it: the startup probe's budget, and the autoscaler windows the chart
refuses. An autoscaler that can remove a replica sooner than one can start makes load
that comes back within that time wait for a cold start, the flapping users of every LLM
chart report. Undeclared (0), the probe keeps probes.startup.failureThreshold and no
window is checked.
*/}}

{{/* failureThreshold of the startup probe; args: a merged model. */}}
{{- define "vllm-standalone.startup.failureThreshold" -}}
{{- $expected := int (.startup.expectedSeconds | default 0) -}}
{{- if gt $expected 0 -}}
{{- divf (mulf .startup.budgetFactor $expected) .probes.startup.periodSeconds | ceil | int -}}
{{- else -}}
{{- int .probes.startup.failureThreshold -}}
{{- end -}}
{{- end -}}

{{/* Fails on an autoscaler window shorter than the declared start time; args: dict model, at. */}}
{{- define "vllm-standalone.startup.validate" -}}
{{- $m := .model -}}
{{- $expected := int ($m.startup.expectedSeconds | default 0) -}}
{{- if gt $expected 0 -}}
{{- $windows := list -}}
{{- if $m.autoscaling.hpa.enabled -}}
{{- $windows = append $windows (list "autoscaling.hpa.behavior.scaleDownStabilizationWindowSeconds" $m.autoscaling.hpa.behavior.scaleDownStabilizationWindowSeconds) -}}
{{- end -}}
{{- if $m.autoscaling.keda.enabled -}}
{{- $windows = append $windows (list "autoscaling.keda.behavior.scaleDownStabilizationWindowSeconds" $m.autoscaling.keda.behavior.scaleDownStabilizationWindowSeconds) -}}
{{- if eq (int $m.autoscaling.keda.minReplicaCount) 0 -}}
{{- $windows = append $windows (list "autoscaling.keda.cooldownPeriod" $m.autoscaling.keda.cooldownPeriod) -}}
{{- end -}}
{{- end -}}
{{- range $windows -}}
{{- if lt (int (last .)) $expected -}}
{{- fail (printf "%s: %s (%d) is shorter than startup.expectedSeconds (%d): the autoscaler could remove a replica sooner than one starts, and load that comes back within that time would wait for a cold start; raise it to at least %d" $.at (first .) (int (last .)) $expected $expected) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
