{{/*
Named templates of the vllm-standalone chart. Per-model helpers take
`dict "ctx" $ "model" <merged model>`; the merged models come from
"vllm-standalone.models".
*/}}

{{/* Chart name, overridable with nameOverride. */}}
{{- define "vllm-standalone.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Resource name prefix: fullnameOverride, the release name, or <release>-<chart name>. */}}
{{- define "vllm-standalone.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Chart name and version, the value of the helm.sh/chart label. */}}
{{- define "vllm-standalone.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Selector labels (name, instance, component, and the model when given); args: dict ctx, component, model (name or ""). */}}
{{- define "vllm-standalone.selectorLabels" -}}
app.kubernetes.io/name: {{ include "vllm-standalone.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- with .model }}
llmstack.io/model: {{ . }}
{{- end }}
{{- end -}}

{{/* Full labels: selector labels, version, managed-by, helm.sh/chart, then commonLabels (chart labels win); args as selectorLabels. */}}
{{- define "vllm-standalone.labels" -}}
{{- $labels := include "vllm-standalone.selectorLabels" . | fromYaml -}}
{{- $_ := set $labels "helm.sh/chart" (include "vllm-standalone.chart" .ctx) -}}
{{- $_ := set $labels "app.kubernetes.io/version" (.ctx.Chart.AppVersion | replace "+" "_" | trunc 63 | trimSuffix "-") -}}
{{- $_ := set $labels "app.kubernetes.io/managed-by" .ctx.Release.Service -}}
{{- toYaml (merge $labels .ctx.Values.commonLabels) -}}
{{- end -}}

{{/* Deep-merge map src into map dst in place (src wins; maps merge key by key, lists and scalars replace); args: list dst src. */}}
{{- define "vllm-standalone.deepMerge" -}}
{{- $dst := index . 0 -}}
{{- $src := index . 1 -}}
{{- range $key, $value := $src -}}
{{- $current := get $dst $key -}}
{{- if and (kindIs "map" $value) (kindIs "map" $current) -}}
{{- include "vllm-standalone.deepMerge" (list $current $value) -}}
{{- else -}}
{{- $_ := set $dst $key $value -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Every entry of `models` deep-merged over `defaults`, as JSON {"models": [...]}, each with its list position in `index`. */}}
{{- define "vllm-standalone.models" -}}
{{- $models := list -}}
{{- range $i, $entry := .Values.models -}}
{{- $model := deepCopy $.Values.defaults -}}
{{- include "vllm-standalone.deepMerge" (list $model (deepCopy $entry)) -}}
{{- $_ := set $model "index" $i -}}
{{- $models = append $models $model -}}
{{- end -}}
{{- toJson (dict "models" $models) -}}
{{- end -}}

{{/* Name of one model's objects: <fullname>-<model name>; args: dict ctx, model. */}}
{{- define "vllm-standalone.modelFullname" -}}
{{- printf "%s-%s" (include "vllm-standalone.fullname" .ctx) .model.name -}}
{{- end -}}

{{/* Image reference repository:tag[@digest] of an image map. */}}
{{- define "vllm-standalone.imageRef" -}}
{{- $ref := printf "%s:%s" .repository .tag -}}
{{- if .digest -}}
{{- $ref = printf "%s@%s" $ref .digest -}}
{{- end -}}
{{- $ref -}}
{{- end -}}

{{/* Engine image of the selected variant (image.gpu or image.cpu). */}}
{{- define "vllm-standalone.image" -}}
{{- include "vllm-standalone.imageRef" (get .Values.image .Values.image.variant) -}}
{{- end -}}

{{/* Image of the Hugging Face download initContainer: huggingface.image, or the engine image. */}}
{{- define "vllm-standalone.hfDownloadImage" -}}
{{- if .Values.huggingface.image.repository -}}
{{- include "vllm-standalone.imageRef" .Values.huggingface.image -}}
{{- else -}}
{{- include "vllm-standalone.image" . -}}
{{- end -}}
{{- end -}}

{{/* GPUs per replica of one model: gpu.count, or TP x PP when `auto` (always 0 with the CPU image); args: dict ctx, model. */}}
{{- define "vllm-standalone.gpuCount" -}}
{{- if eq .ctx.Values.image.variant "cpu" -}}
0
{{- else if eq (toString .model.gpu.count) "auto" -}}
{{- mul .model.engine.tensorParallelSize .model.engine.pipelineParallelSize -}}
{{- else -}}
{{- int .model.gpu.count -}}
{{- end -}}
{{- end -}}

{{/* Names a model is served under, as a JSON list: engine.servedModelName, or the entry's `model`. */}}
{{- define "vllm-standalone.servedNames" -}}
{{- if .engine.servedModelName -}}
{{- toJson .engine.servedModelName -}}
{{- else -}}
{{- toJson (list .model) -}}
{{- end -}}
{{- end -}}

{{/* Directory the download initContainer fills: <storage.mountPath>/<download.localDir or name>. */}}
{{- define "vllm-standalone.downloadDir" -}}
{{- printf "%s/%s" (trimSuffix "/" .storage.mountPath) (default .name .download.localDir) -}}
{{- end -}}

{{/* What `vllm serve` loads: the downloaded directory when download is enabled, else `model`. */}}
{{- define "vllm-standalone.modelPath" -}}
{{- if .download.enabled -}}
{{- include "vllm-standalone.downloadDir" . -}}
{{- else -}}
{{- .model -}}
{{- end -}}
{{- end -}}

{{/* HF_HOME of the engine: on the model volume when writable, else on the writable HOME emptyDir (a read-only cache breaks hub lock files). */}}
{{- define "vllm-standalone.hfHome" -}}
{{- if .storage.readOnly -}}
/home/vllm/.cache/huggingface
{{- else -}}
{{- printf "%s/.cache/huggingface" (trimSuffix "/" .storage.mountPath) -}}
{{- end -}}
{{- end -}}

{{/* `vllm serve` arguments of one model, as a YAML list; args: dict ctx, model. */}}
{{- define "vllm-standalone.engineArgs" -}}
{{- $m := .model -}}
{{- $e := $m.engine -}}
- {{ include "vllm-standalone.modelPath" $m | quote }}
- "--host=0.0.0.0"
- "--port=8000"
- "--served-model-name"
{{- range include "vllm-standalone.servedNames" $m | fromJsonArray }}
- {{ . | quote }}
{{- end }}
- {{ printf "--tensor-parallel-size=%d" (int $e.tensorParallelSize) | quote }}
- {{ printf "--pipeline-parallel-size=%d" (int $e.pipelineParallelSize) | quote }}
{{- if ne .ctx.Values.image.variant "cpu" }}
- {{ printf "--gpu-memory-utilization=%v" $e.gpuMemoryUtilization | quote }}
{{- end }}
{{- if $e.maxModelLen }}
- {{ printf "--max-model-len=%d" (int $e.maxModelLen) | quote }}
{{- end }}
{{- if $e.maxNumSeqs }}
- {{ printf "--max-num-seqs=%d" (int $e.maxNumSeqs) | quote }}
{{- end }}
{{- if $e.maxNumBatchedTokens }}
- {{ printf "--max-num-batched-tokens=%d" (int $e.maxNumBatchedTokens) | quote }}
{{- end }}
- {{ ternary "--enable-prefix-caching" "--no-enable-prefix-caching" $e.enablePrefixCaching | quote }}
- {{ printf "--dtype=%s" $e.dtype | quote }}
{{- with $e.quantization }}
- {{ printf "--quantization=%s" . | quote }}
{{- end }}
{{- if $e.trustRemoteCode }}
- "--trust-remote-code"
{{- end }}
{{- if $e.enforceEager }}
- "--enforce-eager"
{{- end }}
{{- with $e.lora.modules }}
- "--enable-lora"
- "--lora-modules"
{{- range . }}
- {{ printf "%s=%s" .name .path | quote }}
{{- end }}
{{- if $e.lora.maxLoras }}
- {{ printf "--max-loras=%d" (int $e.lora.maxLoras) | quote }}
{{- end }}
{{- if $e.lora.maxLoraRank }}
- {{ printf "--max-lora-rank=%d" (int $e.lora.maxLoraRank) | quote }}
{{- end }}
{{- end }}
{{- if .ctx.Values.tracing.enabled }}
- {{ printf "--otlp-traces-endpoint=%s" .ctx.Values.tracing.otlpEndpoint | quote }}
{{- end }}
{{- range $e.extraArgs }}
- {{ . | quote }}
{{- end }}
{{- end -}}

{{/* Claim mounted as one model's volume: the chart-created one or storage.pvc.existingClaim; args: dict ctx, model. */}}
{{- define "vllm-standalone.pvcName" -}}
{{- if .model.storage.pvc.create -}}
{{- printf "%s-models" (include "vllm-standalone.modelFullname" .) -}}
{{- else -}}
{{- .model.storage.pvc.existingClaim -}}
{{- end -}}
{{- end -}}

{{/* Name of the ServiceAccount the pods run as. */}}
{{- define "vllm-standalone.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "vllm-standalone.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* Secret holding the API key: apiKey.existingSecret or the chart-created one. */}}
{{- define "vllm-standalone.apiKeySecretName" -}}
{{- if .Values.apiKey.useExisting -}}
{{- .Values.apiKey.existingSecret -}}
{{- else -}}
{{- printf "%s-api-key" (include "vllm-standalone.fullname" .) -}}
{{- end -}}
{{- end -}}

{{/* Secret holding the Hugging Face token: huggingface.token.existingSecret or the chart-created one. */}}
{{- define "vllm-standalone.hfTokenSecretName" -}}
{{- if .Values.huggingface.token.useExisting -}}
{{- .Values.huggingface.token.existingSecret -}}
{{- else -}}
{{- printf "%s-hf-token" (include "vllm-standalone.fullname" .) -}}
{{- end -}}
{{- end -}}

{{/* Secret holding the S3 access keys: s3.credentials.existingSecret or the chart-created one. */}}
{{- define "vllm-standalone.s3SecretName" -}}
{{- if .Values.s3.credentials.useExisting -}}
{{- .Values.s3.credentials.existingSecret -}}
{{- else -}}
{{- printf "%s-s3" (include "vllm-standalone.fullname" .) -}}
{{- end -}}
{{- end -}}

{{/* True ("true"/"") when some model downloads from S3. */}}
{{- define "vllm-standalone.usesS3" -}}
{{- range (include "vllm-standalone.models" . | fromJson).models -}}
{{- if and .download.enabled (eq .download.source "s3") -}}true{{- end -}}
{{- end -}}
{{- end -}}

{{/* Affinity of one model: `affinity` plus the podAntiAffinityPreset term (unless `affinity` has a podAntiAffinity of its own, which wins), as YAML (empty when none); args: dict ctx, model. */}}
{{- define "vllm-standalone.affinity" -}}
{{- $affinity := deepCopy .model.affinity -}}
{{- with and (not (hasKey $affinity "podAntiAffinity")) .model.podAntiAffinityPreset -}}
{{- $selector := include "vllm-standalone.selectorLabels" (dict "ctx" $.ctx "component" "engine" "model" $.model.name) | fromYaml -}}
{{- $term := dict "topologyKey" $.model.podAntiAffinityTopologyKey "labelSelector" (dict "matchLabels" $selector) -}}
{{- if eq . "hard" -}}
{{- $_ := set $affinity "podAntiAffinity" (dict "requiredDuringSchedulingIgnoredDuringExecution" (list $term)) -}}
{{- else -}}
{{- $_ := set $affinity "podAntiAffinity" (dict "preferredDuringSchedulingIgnoredDuringExecution" (list (dict "weight" 100 "podAffinityTerm" $term))) -}}
{{- end -}}
{{- end -}}
{{- if $affinity -}}
{{- toYaml $affinity -}}
{{- end -}}
{{- end -}}

{{/* Default PromQL of a KEDA trigger: the metric summed over the model's pods in the namespace (one series); args: dict ctx, model, metric. */}}
{{- define "vllm-standalone.kedaQuery" -}}
{{- $served := include "vllm-standalone.servedNames" .model | fromJsonArray | first -}}
{{- printf "sum(%s{namespace=%q, model_name=%q})" .metric .ctx.Release.Namespace $served -}}
{{- end -}}

{{/* Fail on an unset Secret reference: <field>.existingSecret with useExisting, <field>.<valueKeys> without; args: dict field, values, valueKeys. */}}
{{- define "vllm-standalone.validateSecretRef" -}}
{{- if .values.useExisting -}}
{{- if not .values.existingSecret -}}
{{- fail (printf "%s.existingSecret is required when %s.useExisting is true (or set %s.useExisting=false and provide the value)" .field .field .field) -}}
{{- end -}}
{{- else -}}
{{- range .valueKeys -}}
{{- if not (get $.values .) -}}
{{- fail (printf "%s.%s is required when %s.useExisting is false (or set %s.existingSecret)" $.field . $.field $.field) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Cross-field checks the schema cannot express; each failure names the offending field. */}}
{{- define "vllm-standalone.validate" -}}
{{- $v := .Values -}}
{{- if and $v.tracing.enabled (not $v.tracing.otlpEndpoint) -}}
{{- fail "tracing.otlpEndpoint: tracing.enabled needs the collector's OTLP/HTTP traces URL" -}}
{{- end -}}
{{- $names := list -}}
{{- range $i, $entry := $v.models -}}
{{- if has $entry.name $names -}}
{{- fail (printf "models[%d].name: %q is already used by another entry; model names must be unique" $i $entry.name) -}}
{{- end -}}
{{- $names = append $names $entry.name -}}
{{- end -}}
{{- $managedFlags := list "--model" "--host" "--port" "--served-model-name" "--tensor-parallel-size" "-tp" "--pipeline-parallel-size" "-pp" "--api-key" "--max-model-len" "--gpu-memory-utilization" "--max-num-seqs" "--max-num-batched-tokens" "--enable-prefix-caching" "--no-enable-prefix-caching" "--dtype" "--quantization" "-q" "--trust-remote-code" "--enforce-eager" "--enable-lora" "--lora-modules" "--max-loras" "--max-lora-rank" "--otlp-traces-endpoint" -}}
{{- $sumQuery := "^\\s*sum(\\s+by\\s*\\([^)]*\\))?\\s*\\(" -}}
{{- range $m := (include "vllm-standalone.models" . | fromJson).models -}}
{{- $at := printf "models[%d] (%s)" (int $m.index) $m.name -}}
{{- $ctx := dict "ctx" $ "model" $m -}}
{{- $resourceName := include "vllm-standalone.modelFullname" $ctx -}}
{{- if gt (len $resourceName) 63 -}}
{{- fail (printf "%s: models[].name: resource name %q is longer than 63 characters; shorten the model name or set fullnameOverride" $at $resourceName) -}}
{{- end -}}
{{- if not (regexMatch "^[a-z]([-a-z0-9]*[a-z0-9])?$" $resourceName) -}}
{{- fail (printf "%s: fullnameOverride: the Deployment and Service name %q must be a DNS-1035 label (lowercase letters, digits and '-', starting with a letter; a release name with dots or a leading digit cannot name a Service); set fullnameOverride or rename the release" $at $resourceName) -}}
{{- end -}}
{{- /* GPUs */ -}}
{{- $tpPp := mul $m.engine.tensorParallelSize $m.engine.pipelineParallelSize -}}
{{- if ne (toString $m.gpu.count) "auto" -}}
{{- if eq $v.image.variant "cpu" -}}
{{- if gt (int $m.gpu.count) 0 -}}
{{- fail (printf "%s: gpu.count must be auto or 0 with image.variant=cpu (the CPU image uses no GPU), got %d" $at (int $m.gpu.count)) -}}
{{- end -}}
{{- else if lt (int $m.gpu.count) (int $tpPp) -}}
{{- fail (printf "%s: gpu.count %d is less than engine.tensorParallelSize x engine.pipelineParallelSize = %d" $at (int $m.gpu.count) (int $tpPp)) -}}
{{- end -}}
{{- end -}}
{{- range $kind := list "requests" "limits" -}}
{{- if hasKey (get $m.resources $kind | default dict) $m.gpu.resourceName -}}
{{- fail (printf "%s: resources.%s must not list %s; the chart requests GPUs from gpu.count" $at $kind $m.gpu.resourceName) -}}
{{- end -}}
{{- end -}}
{{- /* GPU memory sizing (see _sizing.tpl) */ -}}
{{- with include "vllm-standalone.sizingPlan" $ctx | fromJson -}}
{{- $e := include "llmstack.sizing.estimate" . | fromJson -}}
{{- if and .enforce $e.declared (not $e.memoryKnown) -}}
{{- fail (printf "%s: sizing.gpuMemoryGb: GPU memory unknown for sizing.gpuType %q; set sizing.gpuMemoryGb (or sizing.enforce: false)" $at .gpuType) -}}
{{- end -}}
{{- if .enforce -}}
{{- with include "llmstack.sizing.misfit" . -}}
{{- fail (printf "%s: sizing: %s %s" $at $m.name .) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- /* Engine arguments */ -}}
{{- range $arg := $m.engine.extraArgs -}}
{{- $flag := splitList "=" $arg | first -}}
{{- if and (hasPrefix "-" $flag) (regexMatch "\\s" $flag) -}}
{{- fail (printf "%s: engine.extraArgs entry %q holds a flag and its value in one string, which vLLM reads as one unknown flag; give them as two entries or as %s=<value>" $at $arg (regexSplit "\\s+" $flag -1 | first)) -}}
{{- end -}}
{{- /* vLLM's parser reads --max_model_len as --max-model-len */ -}}
{{- if hasPrefix "--" $flag -}}
{{- $flag = replace "_" "-" $flag -}}
{{- end -}}
{{- if has $flag $managedFlags -}}
{{- fail (printf "%s: engine.extraArgs must not contain %s; use the structured engine keys (and apiKey for --api-key)" $at $flag) -}}
{{- end -}}
{{- end -}}
{{- $loraNames := list -}}
{{- range $j, $lora := $m.engine.lora.modules -}}
{{- if has $lora.name $loraNames -}}
{{- fail (printf "%s: engine.lora.modules[%d].name %q is duplicated" $at $j $lora.name) -}}
{{- end -}}
{{- $loraNames = append $loraNames $lora.name -}}
{{- end -}}
{{- /* Storage and download */ -}}
{{- if and (eq $m.storage.type "pvc") (not $m.storage.pvc.create) (not $m.storage.pvc.existingClaim) -}}
{{- fail (printf "%s: storage.pvc.existingClaim is required when storage.pvc.create is false" $at) -}}
{{- end -}}
{{- include "vllm-standalone.lock.validate" (dict "ctx" $ "model" $m "at" $at) -}}
{{- include "vllm-standalone.startup.validate" (dict "model" $m "at" $at) -}}
{{- $emptyVolume := or (eq $m.storage.type "emptyDir") (and (eq $m.storage.type "pvc") $m.storage.pvc.create) -}}
{{- if and $m.storage.readOnly $emptyVolume (not $m.download.enabled) -}}
{{- fail (printf "%s: storage.readOnly needs download.enabled when the volume starts empty (storage.type=%s); use an existing claim or hostPath holding the model otherwise" $at $m.storage.type) -}}
{{- end -}}
{{- if and $m.download.enabled (eq $m.download.source "s3") (not $m.download.s3.uri) -}}
{{- fail (printf "%s: download.s3.uri is required when download.source is s3" $at) -}}
{{- end -}}
{{- /* Probes and shutdown */ -}}
{{- if le (int $m.terminationGracePeriodSeconds) (int $m.preStopSleepSeconds) -}}
{{- fail (printf "%s: terminationGracePeriodSeconds (%d) must be greater than preStopSleepSeconds (%d)" $at (int $m.terminationGracePeriodSeconds) (int $m.preStopSleepSeconds)) -}}
{{- end -}}
{{- if eq $m.strategy.type "RollingUpdate" -}}
{{- $surge := toString $m.strategy.rollingUpdate.maxSurge -}}
{{- $unavailable := toString $m.strategy.rollingUpdate.maxUnavailable -}}
{{- if and (has $surge (list "0" "0%")) (has $unavailable (list "0" "0%")) -}}
{{- fail (printf "%s: strategy.rollingUpdate.maxSurge and strategy.rollingUpdate.maxUnavailable cannot both be 0" $at) -}}
{{- end -}}
{{- end -}}
{{- /* Autoscaling */ -}}
{{- $hpa := $m.autoscaling.hpa -}}
{{- $keda := $m.autoscaling.keda -}}
{{- if and $hpa.enabled $keda.enabled -}}
{{- fail (printf "%s: autoscaling.hpa.enabled and autoscaling.keda.enabled are mutually exclusive; enable one" $at) -}}
{{- end -}}
{{- if $hpa.enabled -}}
{{- if gt (int $hpa.minReplicas) (int $hpa.maxReplicas) -}}
{{- fail (printf "%s: autoscaling.hpa.minReplicas (%d) must not exceed autoscaling.hpa.maxReplicas (%d)" $at (int $hpa.minReplicas) (int $hpa.maxReplicas)) -}}
{{- end -}}
{{- if not (or $hpa.numRequestsWaiting.enabled $hpa.kvCacheUsage.enabled $hpa.extraMetrics) -}}
{{- fail (printf "%s: autoscaling.hpa needs a metric: enable numRequestsWaiting or kvCacheUsage, or set extraMetrics" $at) -}}
{{- end -}}
{{- end -}}
{{- if $keda.enabled -}}
{{- if gt (int $keda.minReplicaCount) (int $keda.maxReplicaCount) -}}
{{- fail (printf "%s: autoscaling.keda.minReplicaCount (%d) must not exceed autoscaling.keda.maxReplicaCount (%d)" $at (int $keda.minReplicaCount) (int $keda.maxReplicaCount)) -}}
{{- end -}}
{{- if not (or $keda.numRequestsWaiting.enabled $keda.kvCacheUsage.enabled $keda.extraTriggers) -}}
{{- fail (printf "%s: autoscaling.keda needs a trigger: enable numRequestsWaiting or kvCacheUsage, or set extraTriggers" $at) -}}
{{- end -}}
{{- if and (eq (int $keda.minReplicaCount) 0) (not $keda.extraTriggers) (not (or $keda.numRequestsWaiting.query $keda.kvCacheUsage.query)) -}}
{{- fail (printf "%s: autoscaling.keda.minReplicaCount is 0, but the only triggers read the engine's own metrics, which no pod exports at zero replicas, so it would never scale back up; add an autoscaling.keda.extraTriggers entry on a metric that exists without pods (the ingress or gateway request rate), or set minReplicaCount to 1" $at) -}}
{{- end -}}
{{- range $trigger := list "numRequestsWaiting" "kvCacheUsage" -}}
{{- $query := (get $keda $trigger).query -}}
{{- if and $query (not (regexMatch $sumQuery $query)) -}}
{{- fail (printf "%s: autoscaling.keda.%s.query must aggregate to one series with sum(...) or sum by (...) (got %q)" $at $trigger $query) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- /* Disruption budget */ -}}
{{- if $m.pdb.enabled -}}
{{- $min := toString $m.pdb.minAvailable -}}
{{- $max := toString $m.pdb.maxUnavailable -}}
{{- if and $min $max -}}
{{- fail (printf "%s: pdb.minAvailable and pdb.maxUnavailable are both set; set one (the other to \"\")" $at) -}}
{{- end -}}
{{- if not (or $min $max) -}}
{{- fail (printf "%s: pdb.enabled needs pdb.minAvailable or pdb.maxUnavailable" $at) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- /* Secrets */ -}}
{{- if $v.apiKey.enabled -}}
{{- include "vllm-standalone.validateSecretRef" (dict "field" "apiKey" "values" $v.apiKey "valueKeys" (list "value")) -}}
{{- end -}}
{{- if $v.huggingface.token.enabled -}}
{{- include "vllm-standalone.validateSecretRef" (dict "field" "huggingface.token" "values" $v.huggingface.token "valueKeys" (list "value")) -}}
{{- end -}}
{{- if and (include "vllm-standalone.usesS3" .) $v.s3.credentials.enabled -}}
{{- include "vllm-standalone.validateSecretRef" (dict "field" "s3.credentials" "values" $v.s3.credentials "valueKeys" (list "accessKeyId" "secretAccessKey")) -}}
{{- end -}}
{{- if and $v.huggingface.image.repository (not $v.huggingface.image.tag) -}}
{{- fail "huggingface.image.tag is required when huggingface.image.repository is set (pin the download image)" -}}
{{- end -}}
{{- /* Routing */ -}}
{{- if $v.ingress.enabled -}}
{{- range $i, $host := $v.ingress.hosts -}}
{{- if $host.model -}}
{{- if not (has $host.model $names) -}}
{{- fail (printf "ingress.hosts[%d].model: %q is not the name of an entry of models (%s)" $i $host.model (join ", " $names)) -}}
{{- end -}}
{{- else if gt (len $names) 1 -}}
{{- fail (printf "ingress.hosts[%d].model is required when more than one model is defined (one of: %s)" $i (join ", " $names)) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if $v.httpRoute.enabled -}}
{{- if not $v.httpRoute.parentRefs -}}
{{- fail "httpRoute.parentRefs must name at least one Gateway when httpRoute.enabled is true" -}}
{{- end -}}
{{- $splitNames := list -}}
{{- $merged := dict -}}
{{- range (include "vllm-standalone.models" . | fromJson).models -}}
{{- $_ := set $merged .name . -}}
{{- end -}}
{{- range $i, $split := $v.httpRoute.splits -}}
{{- $at := printf "httpRoute.splits[%d]" $i -}}
{{- if or (has $split.name $names) (has $split.name $splitNames) -}}
{{- fail (printf "%s.name: %q is already the name of a model or an earlier split (each gets its own route)" $at $split.name) -}}
{{- end -}}
{{- $splitNames = append $splitNames $split.name -}}
{{- $total := 0 -}}
{{- $seen := list -}}
{{- range $j, $backend := $split.backends -}}
{{- if not (has $backend.model $names) -}}
{{- fail (printf "%s.backends[%d].model: %q is not the name of an entry of models (%s)" $at $j $backend.model (join ", " $names)) -}}
{{- end -}}
{{- if has $backend.model $seen -}}
{{- fail (printf "%s.backends[%d].model: %q is listed twice" $at $j $backend.model) -}}
{{- end -}}
{{- $seen = append $seen $backend.model -}}
{{- $total = add $total (int $backend.weight) -}}
{{- $served := include "vllm-standalone.servedNames" (get $merged $backend.model) | fromJsonArray -}}
{{- if not (has $split.name $served) -}}
{{- fail (printf "%s.backends[%d].model: %q must serve %q (add it to that model's engine.servedModelName; it serves %s), so requests naming the split work on every version" $at $j $backend.model $split.name (join ", " $served)) -}}
{{- end -}}
{{- end -}}
{{- if eq $total 0 -}}
{{- fail (printf "%s.backends: the weights sum to 0; give at least one backend a weight" $at) -}}
{{- end -}}
{{- end -}}
{{- if and $v.httpRoute.defaultModel (not (has $v.httpRoute.defaultModel (concat $names $splitNames))) -}}
{{- fail (printf "httpRoute.defaultModel: %q is not the name of an entry of models or httpRoute.splits (%s)" $v.httpRoute.defaultModel (join ", " (concat $names $splitNames))) -}}
{{- end -}}
{{- if gt (add (len $names) (len $splitNames) (ternary 1 0 $v.httpRoute.catchAll)) 16 -}}
{{- fail "httpRoute: an HTTPRoute holds at most 16 rules (one per model and split, plus the catch-all); split the models over several releases" -}}
{{- end -}}
{{- else if $v.httpRoute.splits -}}
{{- fail "httpRoute.splits: needs httpRoute.enabled (the weighted split is a Gateway API HTTPRoute)" -}}
{{- end -}}
{{- /* Monitoring */ -}}
{{- range $kind := list "serviceMonitor" "podMonitor" -}}
{{- with include "vllm-standalone.scrapeTimeoutError" (dict "at" (printf "monitoring.%s" $kind) "m" (get $v.monitoring $kind)) -}}
{{- fail . -}}
{{- end -}}
{{- end -}}
{{- if and $v.monitoring.serviceMonitor.enabled $v.monitoring.podMonitor.enabled -}}
{{- fail "monitoring.serviceMonitor.enabled and monitoring.podMonitor.enabled are mutually exclusive (each would scrape every engine); enable one" -}}
{{- end -}}
{{- end -}}

{{/* The sizing plan (see _sizing.tpl) of one merged model, as JSON; args: dict ctx, model. GPU models only: empty with the CPU image. */}}
{{- define "vllm-standalone.sizingPlan" -}}
{{- if ne .ctx.Values.image.variant "cpu" -}}
{{- $s := .model.sizing -}}
{{- $e := .model.engine -}}
{{- toJson (dict
  "enforce" $s.enforce
  "parametersB" $s.parametersB "weightsGb" $s.weightsGb "gpuType" $s.gpuType "gpuMemoryGb" $s.gpuMemoryGb
  "numLayers" $s.numLayers "hiddenSize" $s.hiddenSize "numAttentionHeads" $s.numAttentionHeads "numKvHeads" $s.numKvHeads
  "dtype" $e.dtype "quantization" $e.quantization
  "tp" $e.tensorParallelSize "pp" $e.pipelineParallelSize "util" $e.gpuMemoryUtilization "maxModelLen" $e.maxModelLen
) -}}
{{- end -}}
{{- end -}}

{{/* The sizing estimate of one model as the `llmstack.io/sizing` annotation value (JSON); empty when the model is not sized; args: dict ctx, model. */}}
{{- define "vllm-standalone.sizingAnnotation" -}}
{{- with include "vllm-standalone.sizingPlan" . -}}
{{- $e := include "llmstack.sizing.estimate" (fromJson .) | fromJson -}}
{{- if and $e.declared $e.memoryKnown -}}
{{- toJson (omit $e "declared" "memoryKnown") -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
Milliseconds in a Prometheus duration (`1m30s`, `15s`, `500ms`), for comparing two of
them (Prometheus refuses a scrape config whose timeout exceeds its interval). Input must already match the schema's duration pattern.
*/}}
{{- define "vllm-standalone.durationMs" -}}
{{- $units := dict "ms" 1 "s" 1000 "m" 60000 "h" 3600000 "d" 86400000 "w" 604800000 "y" 31536000000 -}}
{{- $ms := 0 -}}
{{- range $part := regexFindAll "[0-9]+(ms|s|m|h|d|w|y)" (toString .) -1 -}}
{{- $ms = add $ms (mul (regexFind "^[0-9]+" $part | int64) (get $units (regexReplaceAll "^[0-9]+" $part ""))) -}}
{{- end -}}
{{- $ms -}}
{{- end -}}

{{/*
"" when a monitor's scrapeTimeout fits its interval (or either is left to Prometheus'
global setting), else the error naming both. Call with (dict "at" "<values path>" "m" <monitor values>).
*/}}
{{- define "vllm-standalone.scrapeTimeoutError" -}}
{{- $m := .m -}}
{{- if and $m.interval $m.scrapeTimeout -}}
{{- if gt (include "vllm-standalone.durationMs" $m.scrapeTimeout | int64) (include "vllm-standalone.durationMs" $m.interval | int64) -}}
{{- printf "%s.scrapeTimeout (%s) must not exceed %s.interval (%s): Prometheus refuses such a scrape config" .at $m.scrapeTimeout .at $m.interval -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
Fail when the cluster Helm installs into does not serve an API a template needs: the
install would otherwise stop at "no matches for kind" without naming the value that
asked for it. Offline (`helm template`, Argo CD) there is no cluster to ask; Helm's
built-in API list lacks apiregistration.k8s.io, which every real API server serves,
so the check only runs when Helm has discovered the cluster's APIs.
Call with (dict "ctx" $ "api" "<group/version/Kind>" "install" "<what serves it>" "value" "<value that turns it off, or empty>").
*/}}
{{- define "vllm-standalone.requireApi" -}}
{{- $apis := .ctx.Capabilities.APIVersions -}}
{{- if and ($apis.Has "apiregistration.k8s.io/v1") (not ($apis.Has .api)) -}}
{{- $off := ternary (printf ", or set %s to false" .value) "" (not (empty .value)) -}}
{{- fail (printf "%sthe cluster does not serve %s: install %s first%s" (ternary (printf "%s: " .value) "" (not (empty .value))) .api .install $off) -}}
{{- end -}}
{{- end -}}

{{/*
Bytes in a Kubernetes quantity (`20Gi`, `500M`, `1e9`); the input matches the schema's
quantity pattern.
*/}}
{{- define "vllm-standalone.quantityBytes" -}}
{{- $q := toString . -}}
{{- $units := dict "Ki" 1024.0 "Mi" 1048576.0 "Gi" 1073741824.0 "Ti" 1099511627776.0 "Pi" 1125899906842624.0 "Ei" 1152921504606846976.0 "k" 1000.0 "M" 1000000.0 "G" 1000000000.0 "T" 1000000000000.0 "P" 1000000000000000.0 "E" 1000000000000000000.0 "m" 0.001 -}}
{{- $unit := regexFind "[A-Za-z]+$" $q -}}
{{- mulf (trimSuffix $unit $q | float64) (get $units $unit | default 1.0) | ceil | int64 -}}
{{- end -}}

{{/*
The ephemeral storage an engine pod writes on its node, as a quantity in Mi: the size
limits of its pod-local volumes (the HOME cache, /tmp and an emptyDir model volume)
plus 1Gi for container logs; "" when one of them has no limit. The engine and download
containers request it, so the scheduler places a pod that downloads tens of GB of
weights only on a node with that much disk, and take it as their limit, so the kubelet
evicts a pod that outgrows it instead of letting it fill the node. Call with (dict "model" <model>).
*/}}
{{- define "vllm-standalone.podLocalStorage" -}}
{{- $m := .model -}}
{{- $sizes := list $m.cacheSizeLimit $m.tmpSizeLimit "1Gi" -}}
{{- if eq $m.storage.type "emptyDir" -}}
{{- $sizes = append $sizes $m.storage.emptyDir.sizeLimit -}}
{{- end -}}
{{- $bytes := 0 -}}
{{- $bounded := true -}}
{{- range $sizes -}}
{{- if empty (toString .) -}}
{{- $bounded = false -}}
{{- else -}}
{{- $bytes = add $bytes (include "vllm-standalone.quantityBytes" .) -}}
{{- end -}}
{{- end -}}
{{- if $bounded -}}
{{- printf "%dMi" (div (add $bytes 1048575) 1048576) -}}
{{- end -}}
{{- end -}}
