{{/*
Model locks (models[].lock, written by `python -m serve_app.models lock`): the revision a
model's files come from and the sha256 of each file. The `model-verify` initContainer
checks the directory `vllm serve` loads against the lock (files/verify-model-lock.sh)
before the engine starts, so the files must be on the pod's volume by then: downloaded
by the `model-download` initContainer, or already at a local `model` path.
*/}}

{{/* The lock as `sha256sum` lines ("<sha256>  <path>"), the verify script's input; args: a merged model. */}}
{{- define "vllm-standalone.lock.sums" -}}
{{- range .lock.files -}}
{{ .sha256 }}  {{ .path }}
{{ end -}}
{{- end -}}

{{/* The commit a model's files come from: lock.revision, else a download.revision that is a commit; "" when it floats. */}}
{{- define "vllm-standalone.lock.commit" -}}
{{- $lock := .lock | default dict -}}
{{- if $lock.revision -}}
{{- $lock.revision -}}
{{- else if regexMatch "^[0-9a-f]{40}$" (.download.revision | default "") -}}
{{- .download.revision -}}
{{- end -}}
{{- end -}}

{{/* Whether the engine's files come from the Hugging Face Hub (downloaded by the chart or by vLLM itself), where a revision can float. */}}
{{- define "vllm-standalone.lock.fromHub" -}}
{{- if .download.enabled -}}
{{- if eq .download.source "huggingface" }}true{{ end -}}
{{- else if not (hasPrefix "/" .model) -}}
true
{{- end -}}
{{- end -}}

{{/* Names of the models whose Hub revision floats (no lock revision, no commit), for NOTES.txt. */}}
{{- define "vllm-standalone.lock.floating" -}}
{{- $floating := list -}}
{{- range (include "vllm-standalone.models" . | fromJson).models -}}
{{- if and (include "vllm-standalone.lock.fromHub" .) (not (include "vllm-standalone.lock.commit" .)) -}}
{{- $floating = append $floating .name -}}
{{- end -}}
{{- end -}}
{{- join ", " $floating -}}
{{- end -}}

{{/* Fails on a lock the pod could not verify or that is malformed; args: dict ctx, model, at. */}}
{{- define "vllm-standalone.lock.validate" -}}
{{- $m := .model -}}
{{- $at := .at -}}
{{- $lock := $m.lock -}}
{{- if and .ctx.Values.modelLocks.required (not $lock) -}}
{{- fail (printf "%s: lock is required (modelLocks.required): pin the model's files with a lock written by python -m serve_app.models lock" $at) -}}
{{- end -}}
{{- if and .ctx.Values.modelLocks.required (include "vllm-standalone.lock.fromHub" $m) (not (include "vllm-standalone.lock.commit" $m)) -}}
{{- fail (printf "%s: lock.revision is required (modelLocks.required): the model comes from the Hugging Face Hub, where revision %q floats; set the commit the lock's files come from" $at ($m.download.revision | default "main")) -}}
{{- end -}}
{{- if $lock -}}
{{- if not (or $m.download.enabled (hasPrefix "/" $m.model)) -}}
{{- fail (printf "%s: lock: the files must be on the pod's volume before the engine starts to be verified: set download.enabled, or a local path in model (got %q, which vLLM would download itself)" $at $m.model) -}}
{{- end -}}
{{- if and $lock.revision $m.download.enabled $m.download.revision (ne $lock.revision $m.download.revision) -}}
{{- fail (printf "%s: lock.revision %s and download.revision %s differ; the download takes lock.revision, leave download.revision empty" $at $lock.revision $m.download.revision) -}}
{{- end -}}
{{- $paths := list -}}
{{- range $j, $f := $lock.files -}}
{{- $segments := splitList "/" $f.path -}}
{{- if or (hasPrefix "/" $f.path) (has ".." $segments) (has "." $segments) (has "" $segments) (contains "\\" $f.path) -}}
{{- fail (printf "%s: lock.files[%d].path %q must be a relative path inside the model directory, without '..', '.' or empty segments" $at $j $f.path) -}}
{{- end -}}
{{- if has $f.path $paths -}}
{{- fail (printf "%s: lock.files[%d].path %q is listed twice" $at $j $f.path) -}}
{{- end -}}
{{- $paths = append $paths $f.path -}}
{{- end -}}
{{- end -}}
{{- end -}}
