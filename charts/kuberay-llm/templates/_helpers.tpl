{{/*
Named templates of the kuberay-llm chart. Cross-field checks live in _validate.tpl.
*/}}

{{/* Chart name, overridable with nameOverride. */}}
{{- define "kuberay-llm.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Resource name prefix and RayService name: fullnameOverride, the release name, or <release>-<chart name>. */}}
{{- define "kuberay-llm.fullname" -}}
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
{{- define "kuberay-llm.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Selector labels: name, instance and (when given) component; args: dict ctx, component. Never user labels. */}}
{{- define "kuberay-llm.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kuberay-llm.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
{{- with .component }}
app.kubernetes.io/component: {{ . }}
{{- end }}
{{- end -}}

{{/* Full labels: selector labels, version, managed-by, part-of, helm.sh/chart, then commonLabels (chart labels win); args as selectorLabels. */}}
{{- define "kuberay-llm.labels" -}}
{{- $labels := include "kuberay-llm.selectorLabels" . | fromYaml -}}
{{- $_ := set $labels "helm.sh/chart" (include "kuberay-llm.chart" .ctx) -}}
{{- $_ := set $labels "app.kubernetes.io/version" (.ctx.Chart.AppVersion | replace "+" "_" | trunc 63 | trimSuffix "-") -}}
{{- $_ := set $labels "app.kubernetes.io/managed-by" .ctx.Release.Service -}}
{{- $_ := set $labels "app.kubernetes.io/part-of" (include "kuberay-llm.name" .ctx) -}}
{{- toYaml (merge $labels .ctx.Values.commonLabels) -}}
{{- end -}}

{{/*
Labels of a Ray pod template: selector labels, managed-by, part-of, commonLabels and the
group's podLabels (chart labels win); args: dict ctx, component, podLabels. Without
helm.sh/chart and app.kubernetes.io/version on purpose: KubeRay replaces the whole Ray
cluster when rayClusterConfig changes, and a chart version bump must not do that.
*/}}
{{- define "kuberay-llm.podLabels" -}}
{{- $labels := include "kuberay-llm.selectorLabels" . | fromYaml -}}
{{- $_ := set $labels "app.kubernetes.io/managed-by" .ctx.Release.Service -}}
{{- $_ := set $labels "app.kubernetes.io/part-of" (include "kuberay-llm.name" .ctx) -}}
{{- toYaml (merge $labels .ctx.Values.commonLabels (.podLabels | default dict)) -}}
{{- end -}}

{{/* Name of the ServiceAccount of the Ray pods. */}}
{{- define "kuberay-llm.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "kuberay-llm.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* Image reference repository:tag[@digest] of an image map. */}}
{{- define "kuberay-llm.imageRef" -}}
{{- $ref := printf "%s:%s" .repository .tag -}}
{{- with .digest -}}
{{- $ref = printf "%s@%s" $ref . -}}
{{- end -}}
{{- $ref -}}
{{- end -}}

{{/* serve_app image of the selected variant (image.gpu or image.cpu). */}}
{{- define "kuberay-llm.image" -}}
{{- include "kuberay-llm.imageRef" (get .Values.image .Values.image.variant) -}}
{{- end -}}

{{/* Name of the chart's stable OpenAI Service. */}}
{{- define "kuberay-llm.openaiServiceName" -}}
{{- printf "%s-openai" (include "kuberay-llm.fullname" .) -}}
{{- end -}}

{{/* Secret and key of the API key, as JSON {"name","key"}; empty name when auth is off. */}}
{{- define "kuberay-llm.apiKeySecret" -}}
{{- $name := "" -}}
{{- if .Values.auth.enabled -}}
{{- $name = .Values.auth.existingSecret | default (printf "%s-api-key" (include "kuberay-llm.fullname" .)) -}}
{{- end -}}
{{- toJson (dict "name" $name "key" .Values.auth.secretKey) -}}
{{- end -}}

{{/* Secret and key of the Hugging Face token, as JSON {"name","key"}; empty name when no token is configured. */}}
{{- define "kuberay-llm.hfTokenSecret" -}}
{{- $t := .Values.huggingface.token -}}
{{- $name := "" -}}
{{- if $t.existingSecret -}}
{{- $name = $t.existingSecret -}}
{{- else if $t.value -}}
{{- $name = printf "%s-hf-token" (include "kuberay-llm.fullname" .) -}}
{{- end -}}
{{- toJson (dict "name" $name "key" $t.secretKey) -}}
{{- end -}}

{{/* Name of the model cache claim (existing or chart-created). */}}
{{- define "kuberay-llm.modelCacheClaim" -}}
{{- .Values.modelCache.existingClaim | default (printf "%s-model-cache" (include "kuberay-llm.fullname" .)) -}}
{{- end -}}

{{/* HF_HOME: huggingface.home, the model cache when mounted read-write, else the pod's /tmp scratch volume. */}}
{{- define "kuberay-llm.hfHome" -}}
{{- if .Values.huggingface.home -}}
{{- .Values.huggingface.home -}}
{{- else if and .Values.modelCache.enabled (not .Values.modelCache.readOnly) -}}
{{- printf "%s/huggingface" (trimSuffix "/" .Values.modelCache.mountPath) -}}
{{- else -}}
/tmp/huggingface
{{- end -}}
{{- end -}}

{{/*
Ray's ports, pinned so that the NetworkPolicy can list them; as JSON {"rayStartParamKey": port}.
gcs (`port`), client and dashboard are head-only; Serve's 8000 is not a ray start parameter.
*/}}
{{- define "kuberay-llm.rayPorts" -}}
{{- toJson (dict
  "port" 6379
  "ray-client-server-port" 10001
  "dashboard-port" 8265
  "dashboard-agent-listen-port" 52365
  "dashboard-agent-grpc-port" 52366
  "metrics-export-port" 8080
  "node-manager-port" 6380
  "object-manager-port" 6381
  "runtime-env-agent-port" 6382
  "min-worker-port" 10002
  "max-worker-port" 19999
) -}}
{{- end -}}

{{/* Serve's HTTP port (the `serve` container port KubeRay's Services and probes use). */}}
{{- define "kuberay-llm.servePort" -}}8000{{- end -}}

{{/* rayStartParams of a Ray node as a YAML map of strings; args: dict ctx, head (bool), params (user map), extra (chart-managed map). */}}
{{- define "kuberay-llm.rayStartParams" -}}
{{- $ports := include "kuberay-llm.rayPorts" .ctx | fromJson -}}
{{- $out := dict -}}
{{- range $k, $v := .params -}}
{{- $_ := set $out $k (toString $v) -}}
{{- end -}}
{{- range $k, $v := $ports -}}
{{- if or $.head (not (has $k (list "port" "ray-client-server-port" "dashboard-port"))) -}}
{{- $_ := set $out $k (toString (int $v)) -}}
{{- end -}}
{{- end -}}
{{- range $k, $v := .extra -}}
{{- $_ := set $out $k (toString $v) -}}
{{- end -}}
{{- toYaml $out -}}
{{- end -}}

{{/*
Deep-merge map src into map dst in place (src wins; maps merge key by key, lists and
scalars replace, and unlike sprig's merge a false/0/"" in src does replace); args: list dst src.
*/}}
{{- define "kuberay-llm.deepMerge" -}}
{{- $dst := index . 0 -}}
{{- $src := index . 1 -}}
{{- range $key, $value := $src -}}
{{- $current := get $dst $key -}}
{{- if and (kindIs "map" $value) (kindIs "map" $current) -}}
{{- include "kuberay-llm.deepMerge" (list $current $value) -}}
{{- else -}}
{{- $_ := set $dst $key $value -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
Every entry of workerGroups deep-merged over workerDefaults, as JSON {"groups": [...]}.
Spot groups also get spot.nodeSelector, spot.tolerations and spot.priorityClassName,
`preStopSleepSeconds`, and by default a terminationGracePeriodSeconds covering the
preStop pause plus the longest Serve graceful shutdown of the models.
*/}}
{{- define "kuberay-llm.workerGroups" -}}
{{- $groups := list -}}
{{- $spot := .Values.spot -}}
{{- range .Values.workerGroups -}}
{{- $group := deepCopy $.Values.workerDefaults -}}
{{- include "kuberay-llm.deepMerge" (list $group (deepCopy .)) -}}
{{- if $group.spot -}}
{{- $_ := set $group "nodeSelector" (merge (deepCopy $spot.nodeSelector) ($group.nodeSelector | default dict)) -}}
{{- $_ := set $group "tolerations" (concat ($group.tolerations | default list) $spot.tolerations) -}}
{{- with $spot.priorityClassName -}}
{{- $_ := set $group "priorityClassName" . -}}
{{- end -}}
{{- $_ := set $group "preStopSleepSeconds" (int $spot.preStopSleepSeconds) -}}
{{- if kindIs "invalid" $group.terminationGracePeriodSeconds -}}
{{- $_ := set $group "terminationGracePeriodSeconds" (include "kuberay-llm.spotDrainSeconds" $ | int) -}}
{{- end -}}
{{- end -}}
{{- $groups = append $groups $group -}}
{{- end -}}
{{- toJson (dict "groups" $groups) -}}
{{- end -}}

{{/*
The Ray CPUs of one worker of a (merged) worker group, as KubeRay starts it: rayStartParams
num-cpus, else the container's CPU limit, else its request, each rounded up to a whole CPU
("500m" is 1). Empty when none is set (Ray then counts the node's CPUs, unknown here).
*/}}
{{- define "kuberay-llm.rayCpus" -}}
{{- $q := dig "rayStartParams" "num-cpus" "" . | toString -}}
{{- if not $q -}}
{{- $q = dig "resources" "limits" "cpu" (dig "resources" "requests" "cpu" "" .) . | toString -}}
{{- end -}}
{{- if hasSuffix "m" $q -}}
{{- divf (trimSuffix "m" $q | float64) 1000.0 | ceil | int -}}
{{- else if $q -}}
{{- float64 $q | ceil | int -}}
{{- end -}}
{{- end -}}

{{/* Seconds a spot worker needs to drain: spot.preStopSleepSeconds + the largest models[].gracefulShutdownTimeoutS (serve_app's default 120), rounded up. */}}
{{- define "kuberay-llm.spotDrainSeconds" -}}
{{- $longest := 0.0 -}}
{{- range .Values.models -}}
{{- $longest = maxf $longest (float64 (.gracefulShutdownTimeoutS | default 120)) -}}
{{- end -}}
{{- add (int .Values.spot.preStopSleepSeconds) (int (ceil $longest)) -}}
{{- end -}}

{{/* Names of the worker groups with spot: true, as a JSON list. */}}
{{- define "kuberay-llm.spotGroupNames" -}}
{{- $names := list -}}
{{- range .Values.workerGroups -}}
{{- if (hasKey . "spot" | ternary .spot $.Values.workerDefaults.spot) -}}
{{- $names = append $names .groupName -}}
{{- end -}}
{{- end -}}
{{- toJson $names -}}
{{- end -}}

{{/* The head's scheduling fields: head.* plus, when some worker group is spot, a required node affinity term per spot label (NotIn) in every nodeSelectorTerm, so the head never lands on a spot node. */}}
{{- define "kuberay-llm.headScheduling" -}}
{{- $head := deepCopy .Values.head -}}
{{- if include "kuberay-llm.spotGroupNames" . | fromJsonArray -}}
{{- $avoid := list -}}
{{- range $key, $value := .Values.spot.nodeSelector -}}
{{- $avoid = append $avoid (dict "key" $key "operator" "NotIn" "values" (list (toString $value))) -}}
{{- end -}}
{{- $affinity := $head.affinity | default dict -}}
{{- $nodeAffinity := $affinity.nodeAffinity | default dict -}}
{{- $required := $nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution | default dict -}}
{{- $terms := list -}}
{{- range ($required.nodeSelectorTerms | default (list dict)) -}}
{{- $terms = append $terms (merge (dict "matchExpressions" (concat (.matchExpressions | default list) $avoid)) .) -}}
{{- end -}}
{{- $_ := set $required "nodeSelectorTerms" $terms -}}
{{- $_ := set $nodeAffinity "requiredDuringSchedulingIgnoredDuringExecution" $required -}}
{{- $_ := set $affinity "nodeAffinity" $nodeAffinity -}}
{{- $_ := set $head "affinity" $affinity -}}
{{- end -}}
{{- include "kuberay-llm.scheduling" $head -}}
{{- end -}}

{{/*
A camelCase values map with its keys in snake_case, recursively, as JSON. The maps
under `env` and `extra` are user data (environment variables, vLLM keyword
arguments) and pass through unchanged.
*/}}
{{- define "kuberay-llm.snakeKeys" -}}
{{- $out := dict -}}
{{- range $key, $value := . -}}
{{- if and (kindIs "map" $value) (not (has $key (list "env" "extra"))) -}}
{{- $value = include "kuberay-llm.snakeKeys" $value | fromJson -}}
{{- end -}}
{{- $_ := set $out (snakecase $key) $value -}}
{{- end -}}
{{- toJson $out -}}
{{- end -}}

{{/* serve_app's AppConfig (the application's args) as JSON: models, auth, the ingress deployment, aliases and tracing, in snake_case. */}}
{{- define "kuberay-llm.appConfig" -}}
{{- $models := list -}}
{{- range .Values.models -}}
{{- $models = append $models (include "kuberay-llm.snakeKeys" . | fromJson) -}}
{{- end -}}
{{- $app := dict
  "models" $models
  "auth" (dict "enabled" .Values.auth.enabled "api_key_env" .Values.auth.apiKeyEnv)
  "ingress_replicas" .Values.serveIngress.replicas
  "ingress_max_ongoing_requests" .Values.serveIngress.maxOngoingRequests
  "ingress_placement" .Values.serveIngress.placement
  "request_limits" (include "kuberay-llm.snakeKeys" .Values.serveIngress.requestLimits | fromJson)
-}}
{{- with .Values.aliases -}}
{{- $_ := set $app "aliases" . -}}
{{- end -}}
{{- if kindIs "map" .Values.prefillDecode -}}
{{- $_ := set $app "prefill_decode" (include "kuberay-llm.snakeKeys" .Values.prefillDecode | fromJson) -}}
{{- end -}}
{{- if .Values.tracing.enabled -}}
{{- $_ := set $app "tracing" (include "kuberay-llm.snakeKeys" .Values.tracing | fromJson) -}}
{{- end -}}
{{- toJson $app -}}
{{- end -}}

{{/* serveConfigV2: one application `llm` at route / running serve_app:build_app (or serve_app:build_pd_app with prefillDecode) with the AppConfig as args. */}}
{{- define "kuberay-llm.serveConfig" -}}
{{- $builder := ternary "serve_app:build_pd_app" "serve_app:build_app" (kindIs "map" .Values.prefillDecode) -}}
{{- $app := dict "name" "llm" "route_prefix" "/" "import_path" $builder "args" (include "kuberay-llm.appConfig" . | fromJson) -}}
{{- toYaml (dict "applications" (list $app)) -}}
{{- end -}}

{{/* Environment of every Ray container: HF_HOME, the Hugging Face token and the API key (secretKeyRef only), extraEnv. */}}
{{- define "kuberay-llm.env" -}}
- name: HF_HOME
  value: {{ include "kuberay-llm.hfHome" . | quote }}
{{- if .Values.huggingface.offline }}
- name: HF_HUB_OFFLINE
  value: "1"
{{- end }}
{{- $hf := include "kuberay-llm.hfTokenSecret" . | fromJson }}
{{- if $hf.name }}
- name: HF_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ $hf.name }}
      key: {{ $hf.key }}
{{- end }}
{{- $api := include "kuberay-llm.apiKeySecret" . | fromJson }}
{{- if $api.name }}
- name: {{ .Values.auth.apiKeyEnv }}
  valueFrom:
    secretKeyRef:
      name: {{ $api.name }}
      key: {{ $api.key }}
{{- end }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Volume mounts of every Ray container: /dev/shm, /tmp, the model cache, extraVolumeMounts. */}}
{{- define "kuberay-llm.volumeMounts" -}}
- name: shm
  mountPath: /dev/shm
- name: tmp
  mountPath: /tmp
{{- if .Values.modelCache.enabled }}
- name: model-cache
  mountPath: {{ .Values.modelCache.mountPath }}
  readOnly: {{ .Values.modelCache.readOnly }}
{{- end }}
{{- with .Values.extraVolumeMounts }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Volumes of a Ray pod; args: dict ctx, shmSize, tmpSizeLimit. */}}
{{- define "kuberay-llm.volumes" -}}
- name: shm
  emptyDir:
    medium: Memory
    sizeLimit: {{ .shmSize }}
- name: tmp
  emptyDir:
    {{- if .tmpSizeLimit }}
    sizeLimit: {{ .tmpSizeLimit }}
    {{- else }} {}
    {{- end }}
{{- if .ctx.Values.modelCache.enabled }}
- name: model-cache
  persistentVolumeClaim:
    claimName: {{ include "kuberay-llm.modelCacheClaim" .ctx }}
    readOnly: {{ .ctx.Values.modelCache.readOnly }}
{{- end }}
{{- with .ctx.Values.extraVolumes }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Scheduling fields of a Ray pod spec (node selector, tolerations, affinity, runtime and priority class); args: a head or worker group map. */}}
{{- define "kuberay-llm.scheduling" -}}
{{- $out := dict -}}
{{- range $key := list "nodeSelector" "tolerations" "affinity" "runtimeClassName" "priorityClassName" -}}
{{- with get $ $key -}}
{{- $_ := set $out $key . -}}
{{- end -}}
{{- end -}}
{{- with $out -}}
{{- toYaml . -}}
{{- end -}}
{{- end -}}

{{/* Probes of a Ray container when the values override KubeRay's; args: a head or worker group map. */}}
{{- define "kuberay-llm.probes" -}}
{{- $out := dict -}}
{{- range $key := list "readinessProbe" "livenessProbe" -}}
{{- with get $ $key -}}
{{- $_ := set $out $key . -}}
{{- end -}}
{{- end -}}
{{- with $out -}}
{{- toYaml . -}}
{{- end -}}
{{- end -}}

{{/* LabelSelector of every Ray pod (head and workers) of the release, of every cluster an upgrade creates. */}}
{{- define "kuberay-llm.rayPodSelector" -}}
matchLabels:
  {{- include "kuberay-llm.selectorLabels" (dict "ctx" .) | nindent 2 }}
matchExpressions:
  - key: app.kubernetes.io/component
    operator: In
    values:
      - ray-head
      - ray-worker
{{- end -}}

{{/* The served model ids, as a JSON list. */}}
{{- define "kuberay-llm.modelIds" -}}
{{- $ids := list -}}
{{- range .Values.models -}}
{{- $ids = append $ids (toString .id) -}}
{{- end -}}
{{- toJson $ids -}}
{{- end -}}

{{/* The sizing plan (see _sizing.tpl) of every GPU model, as JSON {"<index>": plan}; a model's accelerator.gpuType names its GPU. */}}
{{- define "kuberay-llm.sizingPlans" -}}
{{- $plans := dict -}}
{{- range $i, $m := .Values.models -}}
{{- $acc := $m.accelerator | default dict -}}
{{- if ne ($acc.kind | default "GPU") "CPU" -}}
{{- $s := $m.sizing | default dict -}}
{{- $e := $m.engine | default dict -}}
{{- $_ := set $plans (toString $i) (dict
  "id" (toString $m.id)
  "enforce" (ternary true $s.enforce (kindIs "invalid" $s.enforce))
  "parametersB" $s.parametersB "weightsGb" $s.weightsGb "gpuMemoryGb" $s.gpuMemoryGb
  "numLayers" $s.numLayers "hiddenSize" $s.hiddenSize "numAttentionHeads" $s.numAttentionHeads "numKvHeads" $s.numKvHeads
  "gpuType" $acc.gpuType "dtype" $e.dtype "quantization" $e.quantization
  "tp" $e.tensorParallelSize "pp" $e.pipelineParallelSize "util" $e.gpuMemoryUtilization "maxModelLen" $e.maxModelLen
) -}}
{{- end -}}
{{- end -}}
{{- toJson $plans -}}
{{- end -}}

{{/* The RayService annotation value with the sizing estimate of every sized model, as JSON {"<model id>": estimate}; empty when no model is sized. */}}
{{- define "kuberay-llm.sizingAnnotation" -}}
{{- $out := dict -}}
{{- range $i, $plan := include "kuberay-llm.sizingPlans" . | fromJson -}}
{{- $e := include "llmstack.sizing.estimate" $plan | fromJson -}}
{{- if and $e.declared $e.memoryKnown -}}
{{- $_ := set $out $plan.id (omit $e "declared" "memoryKnown") -}}
{{- end -}}
{{- end -}}
{{- with $out -}}
{{- toJson . -}}
{{- end -}}
{{- end -}}

{{/*
Milliseconds in a Prometheus duration (`1m30s`, `15s`, `500ms`), for comparing two of
them (Prometheus refuses a scrape config whose timeout exceeds its interval). Input must already match the schema's duration pattern.
*/}}
{{- define "kuberay-llm.durationMs" -}}
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
{{- define "kuberay-llm.scrapeTimeoutError" -}}
{{- $m := .m -}}
{{- if and $m.interval $m.scrapeTimeout -}}
{{- if gt (include "kuberay-llm.durationMs" $m.scrapeTimeout | int64) (include "kuberay-llm.durationMs" $m.interval | int64) -}}
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
{{- define "kuberay-llm.requireApi" -}}
{{- $apis := .ctx.Capabilities.APIVersions -}}
{{- if and ($apis.Has "apiregistration.k8s.io/v1") (not ($apis.Has .api)) -}}
{{- $off := ternary (printf ", or set %s to false" .value) "" (not (empty .value)) -}}
{{- fail (printf "%sthe cluster does not serve %s: install %s first%s" (ternary (printf "%s: " .value) "" (not (empty .value))) .api .install $off) -}}
{{- end -}}
{{- end -}}
